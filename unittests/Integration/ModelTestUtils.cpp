//===- ModelTestUtils.cpp - Running built models in tests -----------------===//

#include "ModelTestUtils.h"

#include "megalodon/Model/Parameters.h"

#include "gtest/gtest.h"

namespace megalodon::testing {

namespace {
/// A small linear congruential stream: enough for test inputs.
struct Lcg {
  uint64_t state;
  double uniform() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0);
  }
};
} // namespace

rt::HostTensor tokenTensor(const std::vector<int64_t> &tokens, int64_t B,
                           int64_t L) {
  rt::HostTensor t = rt::HostTensor::zeros(rt::DType::I32, {B, L});
  auto *out = reinterpret_cast<int32_t *>(t.bytes.data());
  for (int64_t i = 0; i < B * L; ++i)
    out[i] = static_cast<int32_t>(tokens[i]);
  return t;
}

rt::TensorMap perturbedWeights(const ModelConfig &config, uint64_t seed) {
  rt::TensorMap weights = initializeParameters(config, seed);
  Lcg rng{seed * 7919 + 17};
  for (const ParamSpec &spec : parameterSpecs(config)) {
    if (!spec.trainable || !spec.aliasOf.empty())
      continue;
    rt::HostTensor &t = weights[spec.name];
    std::vector<double> values = t.toF64();
    bool allZero = true;
    for (double v : values)
      allZero &= v == 0.0;
    if (!allZero)
      continue;
    std::vector<float> perturbed(values.size());
    for (float &v : perturbed)
      v = static_cast<float>(0.2 * (rng.uniform() - 0.5));
    t = rt::HostTensor::fromF32(spec.shape, perturbed);
  }
  if (config.share_emb)
    weights["output.output.weight"] = weights["embed.weight"];
  return weights;
}

std::vector<int64_t> randomTokens(int64_t count, int64_t vocab,
                                  uint64_t seed) {
  Lcg rng{seed + 1};
  std::vector<int64_t> tokens(count);
  for (int64_t &t : tokens)
    t = static_cast<int64_t>(rng.uniform() * vocab) % vocab;
  return tokens;
}

std::vector<ref::RefValue> parameterArgs(mlir::func::FuncOp func,
                                         const rt::TensorMap &weights) {
  std::vector<ref::RefValue> args;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    if (!name)
      continue;
    const rt::HostTensor &t = weights.at(name.str());
    args.push_back(ref::RefValue::realTensor(t.shape, t.toF64()));
  }
  return args;
}

mlir::func::FuncOp buildFunc(mlir::MLIRContext &context,
                             const ModelConfig &config,
                             const BuildOptions &options,
                             const std::string &name,
                             mlir::OwningOpRef<mlir::ModuleOp> &holder) {
  auto module = buildModelModule(context, config, options);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  holder = std::move(*module);
  return holder->lookupSymbol<mlir::func::FuncOp>(name);
}

} // namespace megalodon::testing
