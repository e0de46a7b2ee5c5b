//===- Trainer.cpp - Compiled training steps ------------------------------===//

#include "megalodon/Driver/Trainer.h"

#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Model/Parameters.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

using namespace megalodon;

TrainState TrainState::fresh(const ModelConfig &config,
                             const rt::TensorMap &weights) {
  TrainState state;
  for (const ParamSpec &spec : parameterSpecs(config)) {
    auto it = weights.find(spec.name);
    if (it == weights.end() || !spec.aliasOf.empty())
      continue;
    const rt::HostTensor &tensor = it->second;
    if (!spec.trainable) {
      state.buffers[spec.name] = tensor;
      continue;
    }
    if (tensor.dtype == rt::DType::F32) {
      state.params[spec.name] = tensor;
    } else {
      std::vector<double> values = tensor.toF64();
      state.params[spec.name] = rt::HostTensor::fromF32(
          tensor.shape, std::vector<float>(values.begin(), values.end()));
    }
    for (const char *prefix : {"exp_avg.", "exp_avg_sq."})
      state.moments[prefix + spec.name] =
          rt::HostTensor::zeros(rt::DType::F32, tensor.shape);
  }
  return state;
}

rt::TensorMap TrainState::weights(const ModelConfig &config) const {
  rt::TensorMap all = params;
  all.insert(buffers.begin(), buffers.end());
  for (const ParamSpec &spec : parameterSpecs(config))
    if (!spec.aliasOf.empty() && all.count(spec.aliasOf))
      all[spec.name] = all.at(spec.aliasOf);
  return all;
}

llvm::Error megalodon::addTrainingFunctions(mlir::ModuleOp module,
                                            const OptimizerOptions &optimizer,
                                            llvm::StringRef lossName,
                                            bool applyGradients) {
  mlir::PassManager pm(module->getContext());
  mlir::megalodon::AutodiffOptions autodiff;
  autodiff.functions = {lossName.str()};
  pm.addPass(mlir::megalodon::createAutodiff(autodiff));
  mlir::megalodon::BuildTrainStepOptions options;
  options.lossName = lossName.str();
  options.applyGradients = applyGradients;
  options.beta1 = optimizer.beta1;
  options.beta2 = optimizer.beta2;
  options.eps = optimizer.eps;
  options.weightDecay = optimizer.weightDecay;
  options.maxGradNorm = optimizer.maxGradNorm;
  pm.addPass(mlir::megalodon::createBuildTrainStep(options));
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError(
        "building the training step failed (see the diagnostics above)");
  return llvm::Error::success();
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
megalodon::buildTrainingModule(mlir::MLIRContext &context,
                               const ModelConfig &config,
                    int64_t batch, int64_t seqLen,
                    const OptimizerOptions &optimizer, bool withGradients) {
  loadModelDialects(context);
  BuildOptions options;
  options.batch = batch;
  options.seqLen = seqLen;
  options.emitForward = options.emitDecode = false;
  auto module = buildModelModule(context, config, options);
  if (!module)
    return module.takeError();
  if (llvm::Error err = addTrainingFunctions(**module, optimizer))
    return std::move(err);
  if (!withGradients)
    if (auto grad = (**module).lookupSymbol<mlir::func::FuncOp>("loss_grad"))
      grad.erase();
  return std::move(*module);
}

llvm::Expected<std::unique_ptr<CompiledTrainer>>
CompiledTrainer::create(const ModelConfig &config, int64_t batch,
                        int64_t seqLen, const OptimizerOptions &optimizer,
                        const CpuCompileOptions &compile, bool withGradients) {
  mlir::MLIRContext context;
  auto module = buildTrainingModule(context, config, batch, seqLen, optimizer,
                                    withGradients);
  if (!module)
    return module.takeError();
  llvm::Expected<std::string> dir = compileCpuArtifact(**module, compile);
  if (!dir)
    return dir.takeError();

  std::unique_ptr<CompiledTrainer> trainer(new CompiledTrainer());
  rt::Status status = rt::Artifact::load(*dir, trainer->artifact);
  if (!status.ok())
    return llvm::createStringError(status.message());
  trainer->lossEntry = trainer->artifact->entryPoint("loss");
  trainer->gradEntry = trainer->artifact->entryPoint("loss_grad");
  trainer->stepEntry = trainer->artifact->entryPoint("train_step");
  if (!trainer->lossEntry || !trainer->stepEntry ||
      (withGradients && !trainer->gradEntry))
    return llvm::createStringError("artifact " + *dir +
                                   " lacks @loss, @loss_grad or @train_step");
  trainer->stepResults = rt::allocateResults(*trainer->stepEntry);
  trainer->batchSize = batch;
  trainer->length = seqLen;
  return trainer;
}

llvm::Expected<std::vector<const rt::HostTensor *>>
CompiledTrainer::bind(const rt::EntryPoint &entry, const TrainState &state,
                      const rt::TensorMap &inputs) const {
  std::vector<const rt::HostTensor *> args;
  for (const rt::TensorSpec &spec : entry.arguments) {
    const rt::TensorMap &from = spec.kind == rt::TensorKind::Param ? state.params
                                : spec.kind == rt::TensorKind::State
                                    ? state.moments
                                    : inputs;
    auto it = from.find(spec.name);
    if (it == from.end())
      return llvm::createStringError("@" + entry.name + " needs '" +
                                     spec.name + "', which is missing");
    args.push_back(&it->second);
  }
  return args;
}

namespace {
rt::HostTensor scalarF32(double value) {
  return rt::HostTensor::fromF32({}, {static_cast<float>(value)});
}
} // namespace

llvm::Expected<CompiledTrainer::StepResult>
CompiledTrainer::step(TrainState &state, const rt::HostTensor &tokens,
                      const rt::HostTensor &targets, double lr) {
  rt::TensorMap inputs;
  inputs["tokens"] = tokens;
  inputs["targets"] = targets;
  inputs["step"] = rt::HostTensor::fromI64({}, {state.step + 1});
  inputs["lr"] = scalarF32(lr);
  auto args = bind(*stepEntry, state, inputs);
  if (!args)
    return args.takeError();
  rt::Status status = artifact->call(*stepEntry, *args, stepResults);
  if (!status.ok())
    return llvm::createStringError(status.message());

  StepResult result{0.0, 0.0};
  for (auto [spec, tensor] : llvm::zip(stepEntry->results, stepResults)) {
    switch (spec.kind) {
    case rt::TensorKind::Param:
      std::swap(state.params.at(spec.name), tensor);
      break;
    case rt::TensorKind::State:
      std::swap(state.moments.at(spec.name), tensor);
      break;
    default:
      if (spec.name == "loss")
        result.loss = tensor.f32()[0];
      else if (spec.name == "grad_norm")
        result.gradNorm = tensor.f32()[0];
      break;
    }
  }
  ++state.step;
  return result;
}

llvm::Expected<double> CompiledTrainer::loss(const TrainState &state,
                                             const rt::HostTensor &tokens,
                                             const rt::HostTensor &targets) const {
  rt::TensorMap inputs;
  inputs["tokens"] = tokens;
  inputs["targets"] = targets;
  auto args = bind(*lossEntry, state, inputs);
  if (!args)
    return args.takeError();
  std::vector<rt::HostTensor> results = rt::allocateResults(*lossEntry);
  rt::Status status = artifact->call(*lossEntry, *args, results);
  if (!status.ok())
    return llvm::createStringError(status.message());
  return results.at(0).f32()[0];
}

llvm::Expected<double> CompiledTrainer::gradients(const TrainState &state,
                                                  const rt::HostTensor &tokens,
                                                  const rt::HostTensor &targets,
                                                  rt::TensorMap &grads) const {
  if (!gradEntry)
    return llvm::createStringError(
        "this trainer was created without @loss_grad");
  rt::TensorMap inputs;
  inputs["tokens"] = tokens;
  inputs["targets"] = targets;
  auto args = bind(*gradEntry, state, inputs);
  if (!args)
    return args.takeError();
  std::vector<rt::HostTensor> results = rt::allocateResults(*gradEntry);
  rt::Status status = artifact->call(*gradEntry, *args, results);
  if (!status.ok())
    return llvm::createStringError(status.message());
  // Results: the loss, then one gradient per parameter in the order of the
  // parameter arguments.
  size_t next = 1;
  for (const rt::TensorSpec &spec : gradEntry->arguments)
    if (spec.kind == rt::TensorKind::Param)
      grads[spec.name] = std::move(results.at(next++));
  return results.at(0).f32()[0];
}
