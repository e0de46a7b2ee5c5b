//===- StreamingModel.cpp - Constant-memory streaming inference -----------===//

#include "megalodon/Driver/StreamingModel.h"

#include "megalodon/Model/DecodeState.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/runtime/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"

#include <cstring>

namespace megalodon {

namespace {
/// The state of an empty stream (cache length 0 included).
std::vector<rt::HostTensor> freshState(const ModelConfig &cfg) {
  std::vector<rt::HostTensor> state;
  for (const StateSpec &spec : decodeStateSpecs(cfg, 1))
    state.push_back(freshStateTensor(spec));
  return state;
}
} // namespace

llvm::Expected<std::unique_ptr<StreamingModel>>
StreamingModel::create(const ModelConfig &config, const rt::TensorMap &weights,
                       const CpuCompileOptions &options) {
  mlir::MLIRContext context;
  BuildOptions build;
  build.emitForward = build.emitLoss = false;
  build.emitDecode = build.emitPrefill = true;
  build.decodeLen = 1;
  build.prefillLen = config.chunk_size;
  build.emitStreamingLoss = true;
  auto module = buildModelModule(context, config, build);
  if (!module)
    return module.takeError();
  std::unique_ptr<StreamingModel> model(new StreamingModel());
  model->cfg = config;
  auto prefill = CompiledFunction::create(**module, "prefill", weights, options);
  if (!prefill)
    return prefill.takeError();
  auto decode =
      CompiledFunction::create(**module, "decode_step", weights, options);
  if (!decode)
    return decode.takeError();
  model->prefill = std::move(*prefill);
  model->decode = std::move(*decode);
  for (auto [name, slot] :
       {std::pair("prefill_loss", &model->prefillLoss),
        std::pair("decode_step_loss", &model->decodeLoss)}) {
    auto fn = CompiledFunction::create(**module, name, weights, options);
    if (!fn)
      return fn.takeError();
    *slot = std::move(*fn);
  }
  model->prefillOut = model->prefill->allocateResults();
  model->decodeOut = model->decode->allocateResults();
  model->tokenBuffer1 = rt::HostTensor::zeros(rt::DType::I32, {1, 1});
  model->tokenBufferChunk =
      rt::HostTensor::zeros(rt::DType::I32, {1, config.chunk_size});
  model->reset();
  return model;
}

void StreamingModel::reset() {
  state = freshState(cfg);
  last.clear();
  pos = 0;
}

llvm::Error StreamingModel::run(const CompiledFunction &fn,
                                std::vector<rt::HostTensor> &out,
                                llvm::ArrayRef<int32_t> tokens) {
  rt::HostTensor &buffer =
      tokens.size() == 1 ? tokenBuffer1 : tokenBufferChunk;
  std::memcpy(buffer.bytes.data(), tokens.data(),
              tokens.size() * sizeof(int32_t));
  std::vector<const rt::HostTensor *> inputs = {&buffer};
  for (const rt::HostTensor &t : state)
    inputs.push_back(&t);
  if (llvm::Error err = fn.callInto(inputs, out))
    return err;
  // The new state now sits in `out`; swapping hands the old buffers to the
  // next call's results, so no state is ever copied or reallocated.
  for (size_t i = 0; i < state.size(); ++i)
    std::swap(state[i], out[i + 1]);
  pos += static_cast<int64_t>(tokens.size());
  return llvm::Error::success();
}

llvm::Error StreamingModel::feed(llvm::ArrayRef<int32_t> tokens,
                                 const LogitsCallback &onLogits) {
  int64_t C = cfg.chunk_size, V = cfg.outputSize();
  for (int32_t t : tokens)
    if (t < 0 || t >= cfg.vocab_size)
      return llvm::createStringError("token %d is outside the vocabulary [0, "
                                     "%lld)",
                                     t, static_cast<long long>(cfg.vocab_size));
  size_t done = 0;
  while (done < tokens.size()) {
    bool wholeChunk = pos % C == 0 && tokens.size() - done >= size_t(C);
    size_t n = wholeChunk ? C : 1;
    const CompiledFunction &fn = wholeChunk ? *prefill : *decode;
    std::vector<rt::HostTensor> &out = wholeChunk ? prefillOut : decodeOut;
    if (llvm::Error err = run(fn, out, tokens.slice(done, n)))
      return err;
    const float *logits = out[0].f32();
    if (onLogits)
      if (llvm::Error err = onLogits(logits, n, done))
        return err;
    last.assign(logits + (n - 1) * V, logits + n * V);
    done += n;
  }
  return llvm::Error::success();
}

llvm::Expected<double> StreamingModel::pieceLoss(const float *logits,
                                                 int64_t n,
                                                 const int32_t *targets) {
  if (n != 1 && n != cfg.chunk_size)
    return llvm::createStringError("pieces have 1 or chunk_size tokens");
  int64_t V = cfg.outputSize();
  rt::HostTensor logitTensor = rt::HostTensor::fromF32(
      {1, n, V}, std::vector<float>(logits, logits + n * V));
  rt::HostTensor targetTensor = rt::HostTensor::zeros(rt::DType::I32, {1, n});
  std::memcpy(targetTensor.bytes.data(), targets, n * sizeof(int32_t));
  const CompiledFunction &fn = n == 1 ? *decodeLoss : *prefillLoss;
  auto result = fn.call({&logitTensor, &targetTensor});
  if (!result)
    return result.takeError();
  return static_cast<double>((*result)[0].f32()[0]) * n;
}

llvm::Error StreamingModel::saveState(const std::string &path) const {
  rt::TensorMap tensors;
  std::vector<StateSpec> specs = decodeStateSpecs(cfg, 1);
  for (size_t i = 0; i < specs.size(); ++i)
    tensors[specs[i].name] = state[i];
  tensors["last_logits"] = rt::HostTensor::fromF32(
      {static_cast<int64_t>(last.size())}, last);
  rt::Status status =
      rt::writeSafetensors(path, tensors, decodeStateMetadata(cfg, pos));
  if (!status.ok())
    return llvm::createStringError(status.message());
  return llvm::Error::success();
}

llvm::Error StreamingModel::loadState(const std::string &path) {
  rt::TensorMap tensors;
  std::map<std::string, std::string> metadata;
  rt::Status status = rt::readSafetensors(path, tensors, &metadata);
  if (!status.ok())
    return llvm::createStringError(status.message());
  DecodeState loaded;
  if (llvm::Error err =
          validateDecodeState(cfg, tensors, metadata, path, loaded))
    return err;
  state = std::move(loaded.tensors);
  last = std::move(loaded.lastLogits);
  pos = loaded.position;
  return llvm::Error::success();
}

} // namespace megalodon
