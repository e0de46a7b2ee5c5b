//===- CompiledFunction.cpp - Compile, load and call an entry point -------===//

#include "megalodon/Driver/CompiledFunction.h"

namespace megalodon {

namespace {
/// The parameter in the dtype the compiled code takes (f32, or bf16 for
/// parameters stored that way): other checkpoints are converted once, at
/// bind time (to bf16 by rounding to nearest even).
llvm::Expected<rt::HostTensor> convertParameter(const rt::HostTensor &tensor,
                                                const rt::TensorSpec &spec) {
  if (tensor.shape != spec.shape)
    return llvm::createStringError("parameter '" + spec.name + "' has shape " +
                                   rt::shapeToString(tensor.shape) +
                                   ", the compiled code expects " +
                                   rt::shapeToString(spec.shape));
  if (tensor.dtype == spec.dtype)
    return tensor;
  if (spec.dtype != rt::DType::F32 && spec.dtype != rt::DType::BF16)
    return llvm::createStringError(
        std::string("parameter '") + spec.name + "' is " +
        rt::dtypeName(tensor.dtype) + ", the compiled code expects " +
        rt::dtypeName(spec.dtype));
  std::vector<double> values = tensor.toF64();
  std::vector<float> narrowed(values.begin(), values.end());
  if (spec.dtype == rt::DType::F32)
    return rt::HostTensor::fromF32(tensor.shape, narrowed);
  rt::HostTensor bf16 = rt::HostTensor::zeros(rt::DType::BF16, tensor.shape);
  auto *bits = reinterpret_cast<uint16_t *>(bf16.bytes.data());
  for (size_t i = 0; i < narrowed.size(); ++i)
    bits[i] = rt::floatToBF16(narrowed[i]);
  return bf16;
}
} // namespace

llvm::Expected<std::unique_ptr<CompiledFunction>>
CompiledFunction::create(mlir::ModuleOp module, llvm::StringRef name,
                         const rt::TensorMap &weights,
                         const CpuCompileOptions &options) {
  llvm::Expected<std::string> dir = compileCpuArtifact(module, options);
  if (!dir)
    return dir.takeError();
  std::unique_ptr<CompiledFunction> fn(new CompiledFunction());
  rt::Status status = rt::Artifact::load(*dir, fn->artifact);
  if (!status.ok())
    return llvm::createStringError(status.message());
  fn->entryPoint = fn->artifact->entryPoint(name.str());
  if (!fn->entryPoint)
    return llvm::createStringError("artifact " + *dir + " has no entry point '" +
                                   name.str() + "'");
  const std::vector<rt::TensorSpec> &args = fn->entryPoint->arguments;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].kind != rt::TensorKind::Param)
      continue;
    auto it = weights.find(args[i].name);
    if (it == weights.end())
      return llvm::createStringError("weights lack parameter '" +
                                     args[i].name + "'");
    llvm::Expected<rt::HostTensor> converted =
        convertParameter(it->second, args[i]);
    if (!converted)
      return converted.takeError();
    fn->parameters.emplace_back(i, std::move(*converted));
  }
  return fn;
}

llvm::Expected<std::vector<rt::HostTensor>>
CompiledFunction::call(const std::vector<const rt::HostTensor *> &inputs) const {
  std::vector<rt::HostTensor> results = allocateResults();
  if (llvm::Error err = callInto(inputs, results))
    return std::move(err);
  return results;
}

llvm::Error
CompiledFunction::callInto(const std::vector<const rt::HostTensor *> &inputs,
                           std::vector<rt::HostTensor> &results) const {
  const std::vector<rt::TensorSpec> &specs = entryPoint->arguments;
  std::vector<const rt::HostTensor *> args(specs.size(), nullptr);
  for (const auto &[index, tensor] : parameters)
    args[index] = &tensor;
  size_t next = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (args[i])
      continue;
    if (next == inputs.size())
      return llvm::createStringError(
          "@" + entryPoint->name + " takes " +
          std::to_string(specs.size() - parameters.size()) +
          " non-parameter arguments, got " + std::to_string(inputs.size()));
    args[i] = inputs[next++];
  }
  if (next != inputs.size())
    return llvm::createStringError(
        "@" + entryPoint->name + " takes " + std::to_string(next) +
        " non-parameter arguments, got " + std::to_string(inputs.size()));
  rt::Status status = artifact->call(*entryPoint, args, results);
  if (!status.ok())
    return llvm::createStringError(status.message());
  return llvm::Error::success();
}

} // namespace megalodon
