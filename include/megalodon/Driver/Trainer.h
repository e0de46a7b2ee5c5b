//===- Trainer.h - Compiled training steps ----------------------*- C++ -*-===//
//
// Builds one module with @loss and @train_step (megalodon-autodiff, then
// megalodon-build-train-step), and @loss_grad when gradients are asked for,
// for a fixed batch and sequence length, compiles it to one CPU artifact,
// and runs it on a TrainState: the parameters and AdamW moments in f32,
// which each step replaces with the ones the compiled code returns (buffers
// are swapped, not copied).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_TRAINER_H
#define MEGALODON_DRIVER_TRAINER_H

#include "megalodon/Model/Config.h"
#include "megalodon/Target/CPU/CpuArtifact.h"
#include "megalodon/runtime/Artifact.h"
#include "megalodon/runtime/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace megalodon {

/// AdamW and clipping hyper-parameters (defaults: MODEL.md section 11). They
/// are compiled into @train_step; the learning rate is not.
struct OptimizerOptions {
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-8;
  double weightDecay = 0.1;
  /// Global gradient-norm limit; 0 disables clipping.
  double maxGradNorm = 1.0;
};

/// What training carries from step to step.
struct TrainState {
  /// The trainable parameters by official name, f32; a weight shared with
  /// another (share_emb) appears once, under the name it aliases.
  rt::TensorMap params;
  /// "exp_avg.<name>" and "exp_avg_sq.<name>" for every parameter, f32.
  rt::TensorMap moments;
  /// The non-trainable tensors of the weights (buffers), kept as given.
  rt::TensorMap buffers;
  /// Steps taken so far.
  int64_t step = 0;

  /// The trainable parameters of `weights` converted to f32, zero moments,
  /// step 0.
  static TrainState fresh(const ModelConfig &config,
                          const rt::TensorMap &weights);
  /// A complete weights map for `config`: parameters, buffers, and the
  /// shared aliases.
  rt::TensorMap weights(const ModelConfig &config) const;
};

/// Adds @<lossName>_grad and @train_step to `module`, which must have
/// @<lossName>; with `applyGradients`, @apply_gradients (the update alone)
/// instead of @train_step.
llvm::Error addTrainingFunctions(mlir::ModuleOp module,
                                 const OptimizerOptions &optimizer,
                                 llvm::StringRef lossName = "loss",
                                 bool applyGradients = false);

/// The module CompiledTrainer compiles: @loss and @train_step for `config`
/// at [batch, seqLen], and @loss_grad with `withGradients`.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildTrainingModule(mlir::MLIRContext &context, const ModelConfig &config,
                    int64_t batch, int64_t seqLen,
                    const OptimizerOptions &optimizer, bool withGradients);

class CompiledTrainer {
public:
  /// With `withGradients`, @loss_grad is compiled too, for gradients();
  /// training needs only @train_step and @loss, and compiles faster without.
  static llvm::Expected<std::unique_ptr<CompiledTrainer>>
  create(const ModelConfig &config, int64_t batch, int64_t seqLen,
         const OptimizerOptions &optimizer, const CpuCompileOptions &compile,
         bool withGradients = false);

  struct StepResult {
    double loss;
    /// The global gradient norm before clipping.
    double gradNorm;
  };

  /// One optimizer step on `tokens` and `targets` ([batch, seqLen] i32) at
  /// learning rate `lr`: updates `state` and returns the batch's loss
  /// before the update.
  llvm::Expected<StepResult> step(TrainState &state,
                                  const rt::HostTensor &tokens,
                                  const rt::HostTensor &targets, double lr);

  /// The mean loss of a batch under `state`'s parameters.
  llvm::Expected<double> loss(const TrainState &state,
                              const rt::HostTensor &tokens,
                              const rt::HostTensor &targets) const;

  /// The loss and the gradient of every parameter, by name (needs
  /// `withGradients` at creation).
  llvm::Expected<double> gradients(const TrainState &state,
                                   const rt::HostTensor &tokens,
                                   const rt::HostTensor &targets,
                                   rt::TensorMap &grads) const;

  int64_t batch() const { return batchSize; }
  int64_t seqLen() const { return length; }
  const std::string &artifactDirectory() const {
    return artifact->directory();
  }

private:
  CompiledTrainer() = default;

  /// The arguments of `entry`: parameters and moments from `state`, inputs
  /// by name from `inputs`.
  llvm::Expected<std::vector<const rt::HostTensor *>>
  bind(const rt::EntryPoint &entry, const TrainState &state,
       const rt::TensorMap &inputs) const;

  std::unique_ptr<rt::Artifact> artifact;
  const rt::EntryPoint *lossEntry = nullptr;
  const rt::EntryPoint *gradEntry = nullptr;
  const rt::EntryPoint *stepEntry = nullptr;
  /// @train_step's result buffers, reused: after a step they hold the
  /// previous parameters and moments, which the next step overwrites.
  std::vector<rt::HostTensor> stepResults;
  int64_t batchSize = 0, length = 0;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_TRAINER_H
