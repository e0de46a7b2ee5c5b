//===- DistributedTrainer.h - Data- and chunk-parallel training -*- C++ -*-===//
//
// Training over dp * cp processes. Process `rank` is data-parallel replica
// rank / cp and chunk-parallel part rank % cp: of every global batch
// [batch, seqLen] it takes the rows of its replica (batch / dp of them) and
// the columns of its part (seqLen / cp of them, a multiple of chunk_size,
// so that attention never crosses processes).
//
// With cp = 1 each process runs @loss_grad on its rows. With cp > 1 the
// parts of a sequence run @segment_loss_grad in a chain: part p starts from
// the timestep-norm and CEMA state part p-1 ended with (sent forward after
// a forward-only @segment_loss), and sends back the gradient of that state
// after its own backward. Then the gradients of all processes are summed
// with one all-reduce (and divided by dp * cp: every process's loss is the
// mean over an equal share of the positions), and every process applies
// the same update with @apply_gradients. All of it is compiled code; the
// driver only moves tensors between processes.
//
// A chain works one row of the local batch at a time: a part with a
// successor runs the forward of all its rows first, sending each row's
// final state as soon as it has it, so that the successor's backward of row
// r overlaps the forward of row r+1; then the backward of each row as its
// state gradient comes back. Such a part runs its forward twice (once to
// send its state early, once inside @segment_loss_grad): the price of
// keeping the chain free of saved activations.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_DISTRIBUTEDTRAINER_H
#define MEGALODON_DRIVER_DISTRIBUTEDTRAINER_H

#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/DecodeState.h"
#include "megalodon/runtime/Communicator.h"

#include <deque>

namespace megalodon {

struct ParallelDegrees {
  int dataParallel = 1;
  int chunkParallel = 1;
};

class DistributedTrainer {
public:
  /// Checks that dp * cp is the communicator's size and that the global
  /// batch and length split evenly (segments a multiple of chunk_size),
  /// then builds and compiles this process's functions. Process 0 compiles
  /// first and the others then find the artifact in the cache.
  static llvm::Expected<std::unique_ptr<DistributedTrainer>>
  create(const ModelConfig &config, int64_t batch, int64_t seqLen,
         ParallelDegrees degrees, const OptimizerOptions &optimizer,
         const CpuCompileOptions &compile, rt::Communicator &comm);

  /// One optimizer step on the global batch (every process passes the same
  /// [batch, seqLen] tokens and targets): returns the global mean loss
  /// before the update and the gradient norm, equal on every process.
  llvm::Expected<CompiledTrainer::StepResult>
  step(TrainState &state, const rt::HostTensor &tokens,
       const rt::HostTensor &targets, double lr);

  /// The global mean loss of a batch.
  llvm::Expected<double> loss(const TrainState &state,
                              const rt::HostTensor &tokens,
                              const rt::HostTensor &targets);

  /// The global mean loss and the gradient of every parameter, averaged
  /// over all processes (what @loss_grad of one process would give for the
  /// whole batch).
  llvm::Expected<double> gradients(const TrainState &state,
                                   const rt::HostTensor &tokens,
                                   const rt::HostTensor &targets,
                                   rt::TensorMap &grads);

  /// An error unless every process holds the same step, parameters and
  /// moments, bit for bit.
  llvm::Error checkReplicasAgree(const TrainState &state);

  /// Bytes this process sends per step: gradients all-reduced, and carried
  /// state plus its gradient sent to neighbours.
  int64_t allReduceBytesPerStep() const { return gradientElements * 4; }
  int64_t pointToPointBytesPerStep() const;

  rt::Communicator &communicator() { return comm; }
  const std::string &artifactDirectory() const {
    return artifact->directory();
  }

private:
  DistributedTrainer(rt::Communicator &comm) : comm(comm) {}

  /// The rows of call `call` among this process's rows, and this process's
  /// columns, of a global [batch, seqLen] tensor.
  rt::HostTensor localPart(const rt::HostTensor &global, int64_t call) const;
  /// Runs this process's backward (the chain with cp > 1) and leaves its
  /// local loss and parameter gradients in `reduced`, unreduced.
  llvm::Error localGradients(const TrainState &state,
                             const rt::HostTensor &tokens,
                             const rt::HostTensor &targets);
  /// Receives the carried state (or, with `gradients`, the cotangents of
  /// its float and complex tensors, named "cotangent.<name>") from `peer`
  /// into `into`.
  llvm::Error receiveState(int peer, bool gradients, rt::TensorMap &into);
  /// The state a call of this part starts from: fresh for the first part,
  /// else received from the previous one.
  llvm::Error startingState(rt::TensorMap &into);
  /// Starts sending the state results of `entry` (or their gradients) to
  /// `peer`; finishSends() waits for all of them.
  llvm::Error sendState(int peer, const rt::EntryPoint &entry,
                        std::vector<rt::HostTensor> &results, bool gradients);
  llvm::Error finishSends();
  /// Copies the averaged parameter gradients from `reduced` into `into` as
  /// "<prefix><name>" (reusing tensors of the right shape); returns the
  /// averaged loss.
  float unpackAveraged(rt::TensorMap &into, const std::string &prefix) const;
  /// Sums `reduced` over all processes and divides by their number.
  llvm::Error averageGradients();
  /// Calls `entry` with arguments from the parameters, the moments,
  /// `carried` and `inputs`, by name.
  llvm::Error call(const rt::EntryPoint &entry, const TrainState &state,
                   std::vector<rt::HostTensor> &results,
                   const rt::TensorMap &carried = rt::TensorMap());

  rt::Communicator &comm;
  ModelConfig cfg;
  ParallelDegrees degrees;
  int64_t localBatch = 0, localLength = 0;
  /// Rows per call: all local rows, or one in a chain (cp > 1).
  int64_t callBatch = 0;
  int dpIndex = 0, cpIndex = 0;
  std::unique_ptr<rt::Artifact> artifact;
  const rt::EntryPoint *lossEntry = nullptr, *gradEntry = nullptr,
                       *applyEntry = nullptr;
  std::vector<rt::HostTensor> lossResults, gradResults, applyResults;
  /// Named inputs of the next call: tokens, targets, gradients for
  /// @apply_gradients, step and lr.
  rt::TensorMap inputs;
  /// The segment state specs (cp > 1), and the messages being sent.
  std::vector<StateSpec> stateSpecs;
  std::deque<std::vector<char>> outgoing;
  /// The parameter gradients in argument order, then the loss: one buffer
  /// for one all-reduce.
  std::vector<float> reduced;
  int64_t gradientElements = 0;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_DISTRIBUTEDTRAINER_H
