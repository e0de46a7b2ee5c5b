//===- AutodiffTest.cpp - megalodon-autodiff against finite differences ---===//
//
// Builds @loss of the tiny configuration (batch 2, two attention chunks),
// runs megalodon-autodiff, evaluates @loss_grad with the fp64 reference
// interpreter and compares the gradient of every parameter with central
// finite differences of @loss (relative error <= 1e-6 by norm per tensor,
// the tolerance of GradientCheck.h; the step is larger, see kStep).
//
// Every entry of a small tensor is checked. Of a large one, a fixed sample:
// entries drawn uniformly (most embedding rows get no gradient, and zeros
// must stay zeros) plus the entries of largest analytic magnitude (so that
// the norm criterion has something to measure where the gradient is
// sparse). MEGALODON_FD_REPORT=1 prints the error of every tensor.
//
// A hand-written two-piece stream covers the carried-state paths (final
// statistics and CEMA states feeding the next piece) that @loss never takes.
//
//===----------------------------------------------------------------------===//

#include "ModelTestUtils.h"
#include "Reference/GradientCheck.h"

#include "megalodon/Transforms/Passes.h"

#include "mlir/IR/Threading.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

/// The finite-difference step. GradientCheck.h's 1e-6 suits single ops; the
/// loss of a whole model rounds at about 1e-14 after thousands of fp64 sums,
/// which a 1e-6 step turns into relative errors of ~1e-5 on the smallest
/// gradients (the attention's gamma and beta, norm ~1e-3). At 1e-4 both the
/// rounding and the O(step^2) truncation stay below 1e-7.
constexpr double kStep = 1e-4;
/// Tensors up to this many entries are checked entry by entry.
constexpr int64_t kAllEntries = 32;
/// A large tensor is checked on this many uniformly drawn entries plus as
/// many of its largest analytic entries.
constexpr int64_t kUniformSamples = 10;
constexpr int64_t kLargestSamples = 10;

/// A model with its @loss and the @loss_grad the pass built.
struct DifferentiatedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp loss, grad;
};

/// Builds @loss for `cfg` with batch 2 and two chunks (attention and RoPE
/// cross a chunk boundary) and differentiates it.
void buildAndDifferentiate(mlir::MLIRContext &context, const ModelConfig &cfg,
                           DifferentiatedModel &model) {
  BuildOptions options;
  options.batch = 2;
  options.seqLen = 2 * cfg.chunk_size;
  options.emitForward = false;
  options.emitDecode = false;
  model.loss = buildFunc(context, cfg, options, "loss", model.module);
  ASSERT_TRUE(model.loss);
  mlir::PassManager pm(&context);
  pm.addPass(mlir::megalodon::createAutodiff());
  ASSERT_TRUE(mlir::succeeded(pm.run(*model.module)));
  model.loss = model.module->lookupSymbol<mlir::func::FuncOp>("loss");
  model.grad = model.module->lookupSymbol<mlir::func::FuncOp>("loss_grad");
  ASSERT_TRUE(model.loss && model.grad);
}

/// Tokens and next-token targets, then the parameters in argument order.
std::vector<RefValue> modelArgs(mlir::func::FuncOp loss, const ModelConfig &cfg,
                                const rt::TensorMap &weights, uint64_t seed) {
  const int64_t B = 2, L = 2 * cfg.chunk_size;
  std::vector<int64_t> stream = randomTokens(B * (L + 1), cfg.vocab_size, seed);
  std::vector<int64_t> tokens, targets;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      tokens.push_back(stream[b * (L + 1) + t]);
      targets.push_back(stream[b * (L + 1) + t + 1]);
    }
  std::vector<RefValue> args = {RefValue::integerTensor({B, L}, tokens),
                                RefValue::integerTensor({B, L}, targets)};
  for (RefValue &p : parameterArgs(loss, weights))
    args.push_back(std::move(p));
  return args;
}

/// The entries of a tensor of `analytic` gradient that are compared.
std::vector<size_t> sampledEntries(const std::vector<double> &analytic,
                                   uint64_t seed) {
  std::vector<size_t> all(analytic.size());
  std::iota(all.begin(), all.end(), 0);
  if (static_cast<int64_t>(analytic.size()) <= kAllEntries)
    return all;
  std::mt19937_64 rng(seed);
  std::vector<size_t> picked;
  std::sample(all.begin(), all.end(), std::back_inserter(picked),
              kUniformSamples, rng);
  std::partial_sort(all.begin(),
                    all.begin() + kLargestSamples + kUniformSamples, all.end(),
                    [&](size_t a, size_t b) {
                      return std::abs(analytic[a]) > std::abs(analytic[b]);
                    });
  for (size_t i :
       llvm::ArrayRef(all).take_front(kLargestSamples + kUniformSamples)) {
    if (static_cast<int64_t>(picked.size()) ==
        kUniformSamples + kLargestSamples)
      break;
    if (!llvm::is_contained(picked, i))
      picked.push_back(i);
  }
  llvm::sort(picked);
  return picked;
}

/// The largest per-tensor relative error of one model, and where.
struct Worst {
  double rel = 0.0;
  std::string name;
};

/// Runs `func` on `args`; returns its first result's first entry, or NaN
/// (and a test failure) when the interpreter fails.
double firstResult(mlir::func::FuncOp func, std::vector<RefValue> args,
                   std::vector<RefValue> *all = nullptr) {
  llvm::Expected<std::vector<RefValue>> results =
      ref::interpret(func, std::move(args));
  if (!results) {
    ADD_FAILURE() << llvm::toString(results.takeError());
    return std::nan("");
  }
  double first = results->at(0).real.at(0);
  if (all)
    *all = std::move(*results);
  return first;
}

/// Checks every parameter gradient of @loss_grad against finite differences
/// of @loss; returns the worst relative error.
Worst checkGradients(DifferentiatedModel &model,
                     const std::vector<RefValue> &args) {
  Worst worst;
  std::vector<RefValue> grads;
  double loss = firstResult(model.loss, args);
  // The gradient function returns the loss itself first, unchanged.
  EXPECT_EQ(firstResult(model.grad, args, &grads), loss);
  // Result 1 + k is the gradient of the k-th parameter argument.
  std::vector<unsigned> params;
  for (unsigned i = 0; i < model.loss.getNumArguments(); ++i)
    if (model.loss.getArgAttr(i, kParamAttr))
      params.push_back(i);
  if (grads.size() != 1 + params.size()) {
    ADD_FAILURE() << "@loss_grad returned " << grads.size() << " results for "
                  << params.size() << " parameters";
    return worst;
  }

  // Every (parameter, entry) pair to difference, then all of them in
  // parallel: each forward evaluation is independent.
  struct Probe {
    unsigned param;
    size_t entry;
    double numeric = 0.0;
  };
  std::vector<Probe> probes;
  for (auto [k, arg] : llvm::enumerate(params)) {
    const std::vector<double> &analytic = grads[1 + k].real;
    if (analytic.size() != args[arg].real.size()) {
      ADD_FAILURE() << "the gradient of argument #" << arg
                    << " has the wrong size";
      return worst;
    }
    for (size_t i : sampledEntries(analytic, arg))
      probes.push_back({static_cast<unsigned>(k), i});
  }
  mlir::parallelFor(model.loss->getContext(), 0, probes.size(), [&](size_t n) {
    Probe &probe = probes[n];
    std::vector<RefValue> shifted = args;
    double &value = shifted[params[probe.param]].real[probe.entry];
    const double saved = value;
    value = saved + kStep;
    double up = firstResult(model.loss, shifted);
    value = saved - kStep;
    double down = firstResult(model.loss, shifted);
    probe.numeric = (up - down) / (2.0 * kStep);
  });

  for (auto [k, arg] : llvm::enumerate(params)) {
    std::string name =
        model.grad.getArgAttrOfType<mlir::StringAttr>(arg, kParamAttr).str();
    auto tag = model.grad.getResultAttrOfType<mlir::StringAttr>(
        1 + k, "megalodon.grad");
    EXPECT_TRUE(tag && tag.getValue() == name) << "result " << 1 + k;
    const std::vector<double> &analytic = grads[1 + k].real;
    double diff = 0.0, norm = 0.0;
    for (const Probe &probe : probes) {
      if (probe.param != k)
        continue;
      double error = analytic[probe.entry] - probe.numeric;
      diff += error * error;
      norm += probe.numeric * probe.numeric;
    }
    diff = std::sqrt(diff);
    norm = std::sqrt(norm);
    EXPECT_GT(norm, 1e-8) << name << ": the numeric gradient vanishes";
    double rel = diff / norm;
    if (std::getenv("MEGALODON_FD_REPORT"))
      std::printf("  [fd] %-36s rel %.3e (norm %.3e)\n", name.c_str(), rel,
                  norm);
    EXPECT_LE(rel, ref::test::kTolerance) << name;
    if (!(rel <= worst.rel))
      worst = {rel, name};
  }
  return worst;
}

struct Variant {
  const char *name;
  void (*apply)(ModelConfig &);
};

/// Lets gtest name the variant instead of dumping its bytes.
void PrintTo(const Variant &variant, std::ostream *os) { *os << variant.name; }

const Variant kVariants[] = {
    {"Baseline", [](ModelConfig &) {}},
    {"ShareEmb", [](ModelConfig &c) { c.share_emb = true; }},
    {"Swiglu", [](ModelConfig &c) { c.swiglu = true; }},
    {"RescaleNffn", [](ModelConfig &c) { c.rescale_nffn = true; }},
    {"ScaleEmb", [](ModelConfig &c) { c.scale_emb = true; }},
    {"NoNormAffine", [](ModelConfig &c) { c.norm_affine = false; }},
};

class AutodiffTest : public ::testing::TestWithParam<Variant> {
protected:
  ModelConfig config() const {
    ModelConfig cfg = tinyConfig();
    GetParam().apply(cfg);
    return cfg;
  }
  mlir::MLIRContext context;
};

TEST_P(AutodiffTest, GradientsMatchFiniteDifferences) {
  ModelConfig cfg = config();
  DifferentiatedModel model;
  buildAndDifferentiate(context, cfg, model);
  if (::testing::Test::HasFatalFailure())
    return;
  rt::TensorMap weights = perturbedWeights(cfg, 41);
  Worst worst =
      checkGradients(model, modelArgs(model.loss, cfg, weights, /*seed=*/5));
  std::printf("  %s: max relative error %.3e (%s)\n", GetParam().name,
              worst.rel, worst.name.c_str());
}

TEST_P(AutodiffTest, KeepsTheLossAndTagsOneGradientPerParameter) {
  ModelConfig cfg = config();
  DifferentiatedModel model;
  buildAndDifferentiate(context, cfg, model);
  if (::testing::Test::HasFatalFailure())
    return;
  mlir::func::FuncOp loss = model.loss, grad = model.grad;
  EXPECT_EQ(grad.getFunctionType().getInputs(),
            loss.getFunctionType().getInputs());
  std::vector<std::string> params;
  for (unsigned i = 0; i < loss.getNumArguments(); ++i)
    if (auto name = loss.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr)) {
      params.push_back(name.str());
      EXPECT_EQ(grad.getResultTypes()[params.size()],
                loss.getArgumentTypes()[i]);
    }
  ASSERT_EQ(grad.getNumResults(), 1 + params.size());
  EXPECT_EQ(grad.getResultTypes()[0], loss.getResultTypes()[0]);
  for (auto [i, name] : llvm::enumerate(params)) {
    auto tag =
        grad.getResultAttrOfType<mlir::StringAttr>(1 + i, "megalodon.grad");
    ASSERT_TRUE(tag);
    EXPECT_EQ(tag.getValue(), name);
  }
  // With share_emb the table is one parameter whose two uses (gather and
  // output projection) are summed into a single gradient.
  EXPECT_EQ(llvm::count(params, "embed.weight"), 1);
  EXPECT_EQ(llvm::count(params, "output.output.weight"), cfg.share_emb ? 0 : 1);
}

/// Two pieces of a stream: the second timestep_norm and cema continue from
/// the first ones' final statistics and last state, so cotangents flow into
/// returned statistics and states (g_mean_out/g_var_out, g_h_last) and out of
/// carried ones (g_mean/g_var, g_hx), paths that @loss never takes.
TEST(AutodiffStreamTest, CarriedStatesGetCotangents) {
  mlir::MLIRContext context;
  loadModelDialects(context);
  DifferentiatedModel model;
  model.module = mlir::parseSourceString<mlir::ModuleOp>(R"mlir(
    func.func @loss(%targets: tensor<1x3xi32>,
        %x0: tensor<1x3x8xf32> {megalodon.param = "x0"},
        %x1: tensor<1x3x8xf32> {megalodon.param = "x1"},
        %tw: tensor<8xf32> {megalodon.param = "tw"},
        %tb: tensor<8xf32> {megalodon.param = "tb"},
        %alpha: tensor<8x2x1xf32> {megalodon.param = "alpha"},
        %delta: tensor<8x2x1xf32> {megalodon.param = "delta"},
        %theta: tensor<8x1x1xf32> {megalodon.param = "theta"},
        %gamma: tensor<8x2x2xf32> {megalodon.param = "gamma"},
        %omega: tensor<8x1xf32> {megalodon.param = "omega"},
        %w: tensor<5x8xf32> {megalodon.param = "w"}) -> tensor<f32> {
      %y0, %n0, %m0, %v0 = megalodon.timestep_norm %x0, %tw, %tb
          {num_groups = 2 : i64, eps = 1.0e-05 : f64}
          : (tensor<1x3x8xf32>, tensor<8xf32>, tensor<8xf32>)
          -> (tensor<1x3x8xf32>, tensor<1xi64>, tensor<1x2xf32>,
              tensor<1x2xf32>)
      %y1, %n1, %m1, %v1 = megalodon.timestep_norm %x1, %tw, %tb
          state(%n0, %m0, %v0) {num_groups = 2 : i64, eps = 1.0e-05 : f64}
          : (tensor<1x3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1xi64>,
             tensor<1x2xf32>, tensor<1x2xf32>)
          -> (tensor<1x3x8xf32>, tensor<1xi64>, tensor<1x2xf32>,
              tensor<1x2xf32>)
      %c0, %h0 = megalodon.cema %y0
          params(%alpha, %delta, %theta, %gamma, %omega)
          : (tensor<1x3x8xf32>, tensor<8x2x1xf32>, tensor<8x2x1xf32>,
             tensor<8x1x1xf32>, tensor<8x2x2xf32>, tensor<8x1xf32>)
          -> (tensor<1x3x8xf32>, tensor<1x8x2xcomplex<f32>>)
      %c1, %h1 = megalodon.cema %y1
          params(%alpha, %delta, %theta, %gamma, %omega) state(%h0)
          : (tensor<1x3x8xf32>, tensor<8x2x1xf32>, tensor<8x2x1xf32>,
             tensor<8x1x1xf32>, tensor<8x2x2xf32>, tensor<8x1xf32>,
             tensor<1x8x2xcomplex<f32>>)
          -> (tensor<1x3x8xf32>, tensor<1x8x2xcomplex<f32>>)
      %s = megalodon.add %c0, %c1 : tensor<1x3x8xf32>
      %logits = megalodon.linear %s, %w
          : (tensor<1x3x8xf32>, tensor<5x8xf32>) -> tensor<1x3x5xf32>
      %loss = megalodon.cross_entropy %logits, %targets
          : tensor<1x3x5xf32>, tensor<1x3xi32> -> tensor<f32>
      return %loss : tensor<f32>
    })mlir",
                                                         &context);
  ASSERT_TRUE(model.module);
  mlir::PassManager pm(&context);
  pm.addPass(mlir::megalodon::createAutodiff());
  ASSERT_TRUE(mlir::succeeded(pm.run(*model.module)));
  model.loss = model.module->lookupSymbol<mlir::func::FuncOp>("loss");
  model.grad = model.module->lookupSymbol<mlir::func::FuncOp>("loss_grad");
  ASSERT_TRUE(model.loss && model.grad);

  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<RefValue> args = {RefValue::integerTensor({1, 3}, {4, 0, 2})};
  for (unsigned i = 1; i < model.loss.getNumArguments(); ++i) {
    auto type =
        mlir::cast<mlir::RankedTensorType>(model.loss.getArgumentTypes()[i]);
    std::vector<double> values(type.getNumElements());
    for (double &v : values)
      v = uniform(rng);
    args.push_back(RefValue::realTensor(
        {type.getShape().begin(), type.getShape().end()}, values));
  }
  Worst worst = checkGradients(model, args);
  std::printf("  stream: max relative error %.3e (%s)\n", worst.rel,
              worst.name.c_str());
}

INSTANTIATE_TEST_SUITE_P(Configs, AutodiffTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
