//===- DistributedTrainer.cpp - Data- and chunk-parallel training ---------===//

#include "megalodon/Driver/DistributedTrainer.h"

#include "megalodon/Model/ModelBuilder.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace megalodon;

namespace {

llvm::Error fromStatus(const rt::Status &status) {
  if (status.ok())
    return llvm::Error::success();
  return llvm::createStringError(status.message());
}

/// Float and complex state has a gradient; step counts do not.
bool hasGradient(const StateSpec &spec) { return spec.elementType != "i64"; }

/// The carried state of a sequence's first part.
void resetToFresh(const std::vector<StateSpec> &specs, rt::TensorMap &into) {
  for (const StateSpec &spec : specs)
    into[spec.name] = freshStateTensor(spec);
}

/// 64-bit FNV-1a, to compare replicas without sending them.
uint64_t hashBytes(uint64_t h, const void *data, size_t size) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

} // namespace

llvm::Expected<std::unique_ptr<DistributedTrainer>>
DistributedTrainer::create(const ModelConfig &config, int64_t batch,
                           int64_t seqLen, ParallelDegrees degrees,
                           const OptimizerOptions &optimizer,
                           const CpuCompileOptions &compile,
                           rt::Communicator &comm) {
  int dp = degrees.dataParallel, cp = degrees.chunkParallel;
  if (dp < 1 || cp < 1 || dp * cp != comm.size())
    return llvm::createStringError(
        "--dp " + std::to_string(dp) + " times --cp " + std::to_string(cp) +
        " must equal the number of processes, " + std::to_string(comm.size()));
  if (batch % dp != 0)
    return llvm::createStringError(
        "the global batch " + std::to_string(batch) +
        " does not split evenly over " + std::to_string(dp) +
        " data-parallel replicas");
  int64_t C = config.chunk_size;
  if (seqLen % cp != 0 || (cp > 1 && (seqLen / cp) % C != 0))
    return llvm::createStringError(
        "the sequence length " + std::to_string(seqLen) +
        " does not split into " + std::to_string(cp) +
        " chunk-parallel parts that are multiples of chunk_size " +
        std::to_string(C) + " (attention never crosses processes)");

  std::unique_ptr<DistributedTrainer> trainer(new DistributedTrainer(comm));
  trainer->cfg = config;
  trainer->degrees = degrees;
  trainer->localBatch = batch / dp;
  trainer->localLength = seqLen / cp;
  // A chain runs one row at a time, so that the parts work on different
  // rows at once instead of waiting for each other.
  trainer->callBatch = cp > 1 ? 1 : trainer->localBatch;
  trainer->dpIndex = comm.rank() / cp;
  trainer->cpIndex = comm.rank() % cp;

  // With one part per sequence the plain loss does; parts of a chain carry
  // state in and out.
  const char *lossName = cp > 1 ? "segment_loss" : "loss";
  mlir::MLIRContext context;
  loadModelDialects(context);
  BuildOptions build;
  build.batch = trainer->callBatch;
  build.seqLen = trainer->localLength;
  build.emitForward = build.emitDecode = false;
  build.emitLoss = cp == 1;
  build.emitSegmentLoss = cp > 1;
  auto module = buildModelModule(context, config, build);
  if (!module)
    return module.takeError();
  if (llvm::Error err = addTrainingFunctions(**module, optimizer, lossName,
                                             /*applyGradients=*/true))
    return std::move(err);

  // Every process compiles the same module: the first one compiles, the
  // others wait and then load it from the artifact cache.
  if (comm.rank() != 0)
    if (llvm::Error err = fromStatus(comm.barrier("compilation by rank 0")))
      return std::move(err);
  llvm::Expected<std::string> dir = compileCpuArtifact(**module, compile);
  if (comm.rank() == 0) {
    // Release the others even when compiling failed: they then fail alike.
    if (llvm::Error err = fromStatus(comm.barrier("compilation by rank 0")))
      return std::move(err);
  }
  if (!dir)
    return dir.takeError();
  if (llvm::Error err = fromStatus(rt::Artifact::load(*dir, trainer->artifact)))
    return std::move(err);
  trainer->lossEntry = trainer->artifact->entryPoint(lossName);
  trainer->gradEntry =
      trainer->artifact->entryPoint(std::string(lossName) + "_grad");
  trainer->applyEntry = trainer->artifact->entryPoint("apply_gradients");
  if (!trainer->lossEntry || !trainer->gradEntry || !trainer->applyEntry)
    return llvm::createStringError("artifact " + *dir + " lacks @" + lossName +
                                   ", its _grad or @apply_gradients");
  trainer->lossResults = rt::allocateResults(*trainer->lossEntry);
  trainer->gradResults = rt::allocateResults(*trainer->gradEntry);
  trainer->applyResults = rt::allocateResults(*trainer->applyEntry);
  if (cp > 1)
    trainer->stateSpecs = segmentStateSpecs(config, trainer->callBatch);
  for (const rt::TensorSpec &spec : trainer->gradEntry->arguments)
    if (spec.kind == rt::TensorKind::Param) {
      int64_t n = 1;
      for (int64_t d : spec.shape)
        n *= d;
      trainer->gradientElements += n;
    }
  return trainer;
}

int64_t DistributedTrainer::pointToPointBytesPerStep() const {
  // Forward: the whole state to the next part; backward: the gradient of
  // its float and complex tensors to the previous one.
  int64_t forward = 0, backward = 0;
  for (const StateSpec &spec : stateSpecs) {
    int64_t n = static_cast<int64_t>(rt::dtypeSize(stateDType(spec)));
    for (int64_t d : spec.shape)
      n *= d;
    forward += n;
    if (hasGradient(spec))
      backward += n;
  }
  int64_t bytes = 0;
  if (cpIndex + 1 < degrees.chunkParallel)
    bytes += forward;
  if (cpIndex > 0)
    bytes += backward;
  return bytes * (localBatch / callBatch);
}

rt::HostTensor DistributedTrainer::localPart(const rt::HostTensor &global,
                                             int64_t call) const {
  int64_t columns = global.shape.at(1);
  size_t elem = rt::dtypeSize(global.dtype);
  rt::HostTensor local =
      rt::HostTensor::zeros(global.dtype, {callBatch, localLength});
  for (int64_t r = 0; r < callBatch; ++r) {
    int64_t row = dpIndex * localBatch + call * callBatch + r;
    int64_t column = cpIndex * localLength;
    std::memcpy(local.bytes.data() + r * localLength * elem,
                global.bytes.data() + (row * columns + column) * elem,
                localLength * elem);
  }
  return local;
}

llvm::Error DistributedTrainer::call(const rt::EntryPoint &entry,
                                     const TrainState &state,
                                     std::vector<rt::HostTensor> &results,
                                     const rt::TensorMap &carried) {
  std::vector<const rt::HostTensor *> args;
  for (const rt::TensorSpec &spec : entry.arguments) {
    const rt::HostTensor *found = nullptr;
    for (const rt::TensorMap *map :
         {&state.params, &state.moments, &carried,
          static_cast<const rt::TensorMap *>(&inputs)})
      if (auto it = map->find(spec.name); it != map->end()) {
        found = &it->second;
        break;
      }
    if (!found)
      return llvm::createStringError("@" + entry.name + " needs '" +
                                     spec.name + "', which is missing");
    args.push_back(found);
  }
  return fromStatus(artifact->call(entry, args, results));
}

namespace {
/// The tensors a message between neighbouring parts carries: the whole
/// state forward, the gradients of its float and complex tensors backward.
bool carried(const StateSpec &spec, bool gradients) {
  return !gradients || hasGradient(spec);
}

rt::HostTensor &resultNamed(const rt::EntryPoint &entry,
                            std::vector<rt::HostTensor> &results,
                            const std::string &name) {
  for (size_t i = 0; i < entry.results.size(); ++i)
    if (entry.results[i].name == name)
      return results[i];
  llvm::report_fatal_error(
      ("@" + entry.name + " has no result " + name).c_str());
}
} // namespace

llvm::Error DistributedTrainer::receiveState(int peer, bool gradients,
                                             rt::TensorMap &into) {
  const char *prefix = gradients ? "cotangent." : "";
  size_t bytes = 0;
  for (const StateSpec &spec : stateSpecs)
    if (carried(spec, gradients)) {
      rt::HostTensor &t = into[prefix + spec.name];
      if (t.shape != spec.shape)
        t = rt::HostTensor::zeros(stateDType(spec), spec.shape);
      bytes += t.bytes.size();
    }
  std::vector<char> message(bytes);
  const char *what =
      gradients ? "the gradient of the carried state" : "the carried state";
  if (llvm::Error err =
          fromStatus(comm.receive(peer, message.data(), message.size(), what)))
    return err;
  size_t offset = 0;
  for (const StateSpec &spec : stateSpecs)
    if (carried(spec, gradients)) {
      rt::HostTensor &t = into[prefix + spec.name];
      std::memcpy(t.bytes.data(), message.data() + offset, t.bytes.size());
      offset += t.bytes.size();
    }
  return llvm::Error::success();
}

llvm::Error DistributedTrainer::sendState(int peer, const rt::EntryPoint &entry,
                                          std::vector<rt::HostTensor> &results,
                                          bool gradients) {
  std::vector<char> &message = outgoing.emplace_back();
  for (const StateSpec &spec : stateSpecs)
    if (carried(spec, gradients)) {
      const rt::HostTensor &t =
          resultNamed(entry, results, (gradients ? "grad." : "") + spec.name);
      message.insert(message.end(), t.bytes.begin(), t.bytes.end());
    }
  const char *what =
      gradients ? "the gradient of the carried state" : "the carried state";
  return fromStatus(comm.sendAsync(peer, message.data(), message.size(), what));
}

llvm::Error DistributedTrainer::finishSends() {
  llvm::Error err = fromStatus(comm.waitForSends());
  outgoing.clear();
  return err;
}

llvm::Error DistributedTrainer::startingState(rt::TensorMap &into) {
  if (cpIndex == 0) {
    resetToFresh(stateSpecs, into);
    return llvm::Error::success();
  }
  return receiveState(comm.rank() - 1, /*gradients=*/false, into);
}

llvm::Error DistributedTrainer::localGradients(const TrainState &state,
                                               const rt::HostTensor &tokens,
                                               const rt::HostTensor &targets) {
  int64_t calls = localBatch / callBatch;
  int prev = comm.rank() - 1, next = comm.rank() + 1;
  bool chain = degrees.chunkParallel > 1;
  bool first = cpIndex == 0, last = cpIndex + 1 == degrees.chunkParallel;
  std::vector<rt::TensorMap> startStates(static_cast<size_t>(calls));

  // A part with a successor runs every row's forward first, sending each
  // row's final state on as soon as it has it; the successor meanwhile
  // works on the rows it already got.
  if (chain && !last)
    for (int64_t c = 0; c < calls; ++c) {
      if (llvm::Error err = startingState(startStates[c]))
        return err;
      inputs["tokens"] = localPart(tokens, c);
      inputs["targets"] = localPart(targets, c);
      if (llvm::Error err = call(*lossEntry, state, lossResults, startStates[c]))
        return err;
      if (llvm::Error err = sendState(next, *lossEntry, lossResults, false))
        return err;
    }

  reduced.assign(static_cast<size_t>(gradientElements) + 1, 0.0f);
  for (int64_t c = 0; c < calls; ++c) {
    inputs["tokens"] = localPart(tokens, c);
    inputs["targets"] = localPart(targets, c);
    if (chain) {
      // The last part takes each row's state as it arrives; the others got
      // theirs above. The gradient of the final state comes back from the
      // successor (zero for the last part).
      if (last) {
        if (llvm::Error err = startingState(startStates[c]))
          return err;
        for (const StateSpec &spec : stateSpecs)
          if (hasGradient(spec))
            startStates[c]["cotangent." + spec.name] =
                rt::HostTensor::zeros(stateDType(spec), spec.shape);
      } else if (llvm::Error err =
                     receiveState(next, /*gradients=*/true, startStates[c])) {
        return err;
      }
    }
    if (llvm::Error err = call(*gradEntry, state, gradResults, startStates[c]))
      return err;
    if (chain && !first)
      if (llvm::Error err = sendState(prev, *gradEntry, gradResults, true))
        return err;

    // Sum the rows' parameter gradients (in argument order), then the loss.
    size_t offset = 0;
    for (const rt::TensorSpec &spec : gradEntry->arguments)
      if (spec.kind == rt::TensorKind::Param) {
        const rt::HostTensor &g =
            resultNamed(*gradEntry, gradResults, "grad." + spec.name);
        const float *values = g.f32();
        float *sum = reduced.data() + offset;
        for (int64_t i = 0, n = g.numel(); i < n; ++i)
          sum[i] += values[i];
        offset += static_cast<size_t>(g.numel());
      }
    reduced[offset] += resultNamed(*gradEntry, gradResults, "loss").f32()[0];
  }
  if (llvm::Error err = finishSends())
    return err;
  // Every call's loss is a mean over its rows: the process's loss is the
  // mean over its calls.
  if (calls > 1) {
    float scale = 1.0f / static_cast<float>(calls);
    for (float &v : reduced)
      v *= scale;
  }
  return llvm::Error::success();
}

llvm::Error DistributedTrainer::averageGradients() {
  if (llvm::Error err = fromStatus(
          comm.allReduceSum(reduced.data(), reduced.size(), "the gradients")))
    return err;
  float scale = 1.0f / static_cast<float>(comm.size());
  for (float &v : reduced)
    v *= scale;
  return llvm::Error::success();
}

llvm::Expected<double> DistributedTrainer::gradients(
    const TrainState &state, const rt::HostTensor &tokens,
    const rt::HostTensor &targets, rt::TensorMap &grads) {
  if (llvm::Error err = localGradients(state, tokens, targets))
    return std::move(err);
  if (llvm::Error err = averageGradients())
    return std::move(err);
  return unpackAveraged(grads, "");
}

float DistributedTrainer::unpackAveraged(rt::TensorMap &into,
                                         const std::string &prefix) const {
  size_t offset = 0;
  for (const rt::TensorSpec &spec : gradEntry->arguments)
    if (spec.kind == rt::TensorKind::Param) {
      rt::HostTensor &g = into[prefix + spec.name];
      if (g.shape != spec.shape || g.dtype != rt::DType::F32)
        g = rt::HostTensor::zeros(rt::DType::F32, spec.shape);
      std::memcpy(g.f32(), reduced.data() + offset, g.bytes.size());
      offset += static_cast<size_t>(g.numel());
    }
  return reduced[offset];
}

llvm::Expected<CompiledTrainer::StepResult>
DistributedTrainer::step(TrainState &state, const rt::HostTensor &tokens,
                         const rt::HostTensor &targets, double lr) {
  if (llvm::Error err = localGradients(state, tokens, targets))
    return std::move(err);
  if (llvm::Error err = averageGradients())
    return std::move(err);
  // The averaged gradients become @apply_gradients' inputs.
  CompiledTrainer::StepResult result{unpackAveraged(inputs, "grad."), 0.0};
  inputs["step"] = rt::HostTensor::fromI64({}, {state.step + 1});
  inputs["lr"] = rt::HostTensor::fromF32({}, {static_cast<float>(lr)});
  if (llvm::Error err = call(*applyEntry, state, applyResults))
    return std::move(err);
  for (auto [spec, tensor] : llvm::zip(applyEntry->results, applyResults)) {
    if (spec.kind == rt::TensorKind::Param)
      std::swap(state.params.at(spec.name), tensor);
    else if (spec.kind == rt::TensorKind::State)
      std::swap(state.moments.at(spec.name), tensor);
    else if (spec.name == "grad_norm")
      result.gradNorm = tensor.f32()[0];
  }
  ++state.step;
  return result;
}

llvm::Expected<double> DistributedTrainer::loss(const TrainState &state,
                                                const rt::HostTensor &tokens,
                                                const rt::HostTensor &targets) {
  int64_t calls = localBatch / callBatch;
  bool chain = degrees.chunkParallel > 1;
  float total = 0.0f;
  rt::TensorMap start;
  for (int64_t c = 0; c < calls; ++c) {
    inputs["tokens"] = localPart(tokens, c);
    inputs["targets"] = localPart(targets, c);
    if (chain)
      if (llvm::Error err = startingState(start))
        return std::move(err);
    if (llvm::Error err = call(*lossEntry, state, lossResults, start))
      return std::move(err);
    if (chain && cpIndex + 1 < degrees.chunkParallel)
      if (llvm::Error err =
              sendState(comm.rank() + 1, *lossEntry, lossResults, false))
        return std::move(err);
    total += lossResults.at(0).f32()[0] / static_cast<float>(calls);
  }
  if (llvm::Error err = finishSends())
    return std::move(err);
  if (llvm::Error err =
          fromStatus(comm.allReduceSum(&total, 1, "the validation loss")))
    return std::move(err);
  return total / static_cast<double>(comm.size());
}

llvm::Error DistributedTrainer::checkReplicasAgree(const TrainState &state) {
  uint64_t h = 1469598103934665603ull;
  h = hashBytes(h, &state.step, sizeof(state.step));
  for (const rt::TensorMap *map : {&state.params, &state.moments})
    for (const auto &[name, tensor] : *map) {
      h = hashBytes(h, name.data(), name.size());
      h = hashBytes(h, tensor.bytes.data(), tensor.bytes.size());
    }
  std::vector<uint64_t> all(static_cast<size_t>(comm.size()));
  if (llvm::Error err = fromStatus(
          comm.allGather(&h, sizeof(h), all.data(), "the replica checksums")))
    return err;
  for (size_t r = 0; r < all.size(); ++r)
    if (all[r] != all[0])
      return llvm::createStringError(
          "rank " + std::to_string(r) +
          " holds a different step, parameters or moments than rank 0 at "
          "step " + std::to_string(state.step) +
          " (the replicas diverged)");
  return llvm::Error::success();
}
