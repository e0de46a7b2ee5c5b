//===- OptimizerOpsTest.cpp - global_norm and adamw -----------------------===//
//
// Two AdamW steps of a three-element parameter, once with the clipping
// active (the gradient's norm exceeds the limit) and once inactive, checked
// against torch's algorithm written out by hand (fp64, 1e-15), and the
// compiled ops against the reference interpreter (f32, relative 1e-6).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Reference/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

#include <cmath>

using namespace megalodon;
using ref::RefValue;

namespace {

/// One step of a [3] parameter with a second [2] gradient in the norm.
constexpr const char *kStepIR = R"mlir(
  func.func @f(%p: tensor<3xf32>, %g: tensor<3xf32>, %other: tensor<2xf32>,
               %m: tensor<3xf32>, %v: tensor<3xf32>, %t: tensor<i64>,
               %lr: tensor<f32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
    %n = megalodon.global_norm %g, %other : tensor<3xf32>, tensor<2xf32> -> tensor<f32>
    %p1, %m1, %v1 = megalodon.adamw %p, %g moments(%m, %v) step(%t) lr(%lr) grad_norm(%n)
        {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
         weight_decay = 0.1 : f64, max_grad_norm = MAX_NORM : f64}
        : tensor<3xf32>, tensor<i64>, tensor<f32>
    return %n, %p1, %m1, %v1 : tensor<f32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  })mlir";

struct Hand {
  std::vector<double> p, m, v;
};

/// torch.optim.AdamW.step after torch.nn.utils.clip_grad_norm_, by hand.
Hand handStep(Hand s, const std::vector<double> &g, double otherSq,
              int64_t t, double lr, double maxNorm) {
  double sq = otherSq;
  for (double x : g)
    sq += x * x;
  double norm = std::sqrt(sq);
  double coef = maxNorm > 0 ? std::min(1.0, maxNorm / (norm + 1e-6)) : 1.0;
  double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.98, t);
  for (size_t i = 0; i < g.size(); ++i) {
    double gi = g[i] * coef;
    s.p[i] *= 1 - lr * 0.1;
    s.m[i] = s.m[i] * 0.9 + gi * (1 - 0.9);
    s.v[i] = s.v[i] * 0.98 + gi * gi * (1 - 0.98);
    double denom = std::sqrt(s.v[i]) / std::sqrt(bc2) + 1e-8;
    s.p[i] -= lr / bc1 * s.m[i] / denom;
  }
  return s;
}

class OptimizerOpsTest : public ::testing::TestWithParam<double> {
protected:
  OptimizerOpsTest() {
    context.loadDialect<mlir::func::FuncDialect,
                        mlir::megalodon::MegalodonDialect>();
    std::string ir = kStepIR;
    std::string maxNorm = std::to_string(GetParam());
    ir.replace(ir.find("MAX_NORM"), 8, maxNorm);
    module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  }

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

const std::vector<double> kGrads[2] = {{0.3, -0.4, 1.2}, {-0.5, 0.25, 0.1}};
const std::vector<double> kOther = {0.6, -0.8};

TEST_P(OptimizerOpsTest, ReferenceMatchesHandComputation) {
  ASSERT_TRUE(module);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  Hand hand{{0.5, -1.0, 2.0}, {0, 0, 0}, {0, 0, 0}};
  RefValue p = RefValue::realTensor({3}, hand.p);
  RefValue m = RefValue::realTensor({3}, hand.m);
  RefValue v = RefValue::realTensor({3}, hand.v);
  for (int64_t t = 1; t <= 2; ++t) {
    const double lr = 0.01 * t;
    auto results = ref::interpret(
        func, {p, RefValue::realTensor({3}, kGrads[t - 1]),
               RefValue::realTensor({2}, kOther), m, v,
               RefValue::integerTensor({}, {t}),
               RefValue::realTensor({}, {lr})});
    ASSERT_TRUE(static_cast<bool>(results))
        << llvm::toString(results.takeError());
    hand = handStep(hand, kGrads[t - 1], 1.0, t, lr, GetParam());
    p = (*results)[1];
    m = (*results)[2];
    v = (*results)[3];
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(p.real[i], hand.p[i], 1e-15) << "step " << t;
      EXPECT_NEAR(m.real[i], hand.m[i], 1e-15) << "step " << t;
      EXPECT_NEAR(v.real[i], hand.v[i], 1e-15) << "step " << t;
    }
  }
}

TEST_P(OptimizerOpsTest, CompiledMatchesReference) {
  ASSERT_TRUE(module);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  std::vector<double> p = {0.5, -1.0, 2.0}, m = {0.01, -0.02, 0.03},
                      v = {1e-4, 2e-4, 3e-4};
  const int64_t t = 3;
  const double lr = 0.02;
  auto expected = ref::interpret(
      func, {RefValue::realTensor({3}, p),
             RefValue::realTensor({3}, kGrads[0]),
             RefValue::realTensor({2}, kOther), RefValue::realTensor({3}, m),
             RefValue::realTensor({3}, v), RefValue::integerTensor({}, {t}),
             RefValue::realTensor({}, {lr})});
  ASSERT_TRUE(static_cast<bool>(expected));

  auto f32 = [](const std::vector<double> &x) {
    return rt::HostTensor::fromF32({static_cast<int64_t>(x.size())},
                                   std::vector<float>(x.begin(), x.end()));
  };
  std::vector<rt::HostTensor> inputs = {
      f32(p), f32(kGrads[0]), f32(kOther), f32(m), f32(v),
      rt::HostTensor::fromI64({}, {t}), rt::HostTensor::fromF32({}, {0.02f})};
  std::vector<const rt::HostTensor *> pointers;
  for (const rt::HostTensor &in : inputs)
    pointers.push_back(&in);
  CpuCompileOptions options;
  options.cacheDir = ::testing::TempDir() + "megalodon-optimizer-artifacts";
  auto compiled = CompiledFunction::create(*module, "f", {}, options);
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());
  auto results = (*compiled)->call(pointers);
  ASSERT_TRUE(static_cast<bool>(results));
  for (size_t r = 0; r < results->size(); ++r) {
    std::vector<double> got = (*results)[r].toF64();
    const std::vector<double> &want = (*expected)[r].real;
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-6 * std::abs(want[i]) + 1e-12)
          << "result " << r << " element " << i;
  }
}

// A NaN or an infinity among the gradients skips the step: parameter and
// moments come back unchanged, from the reference and from compiled code.
TEST(OptimizerSkipTest, NonFiniteGradientsLeaveEverythingUnchanged) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  std::string ir = kStepIR;
  ir.replace(ir.find("MAX_NORM"), 8, "1.0");
  auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  ASSERT_TRUE(module);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  CpuCompileOptions options;
  options.cacheDir = ::testing::TempDir() + "megalodon-optimizer-artifacts";
  auto compiled = CompiledFunction::create(*module, "f", {}, options);
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());
  const std::vector<double> p = {0.5, -1.0, 2.0}, m = {0.1, 0.2, 0.3},
                            v = {0.4, 0.5, 0.6};
  for (double bad : {std::nan(""), HUGE_VAL}) {
    const std::vector<double> other = {bad, 0.0};
    auto expected = ref::interpret(
        func, {RefValue::realTensor({3}, p), RefValue::realTensor({3}, kGrads[0]),
               RefValue::realTensor({2}, other), RefValue::realTensor({3}, m),
               RefValue::realTensor({3}, v), RefValue::integerTensor({}, {1}),
               RefValue::realTensor({}, {0.1})});
    ASSERT_TRUE(static_cast<bool>(expected));
    EXPECT_EQ((*expected)[1].real, p);
    EXPECT_EQ((*expected)[2].real, m);
    EXPECT_EQ((*expected)[3].real, v);

    auto f32 = [](const std::vector<double> &x) {
      return rt::HostTensor::fromF32({static_cast<int64_t>(x.size())},
                                     std::vector<float>(x.begin(), x.end()));
    };
    std::vector<rt::HostTensor> inputs = {
        f32(p), f32(kGrads[0]), f32(other), f32(m), f32(v),
        rt::HostTensor::fromI64({}, {1}), rt::HostTensor::fromF32({}, {0.1f})};
    std::vector<const rt::HostTensor *> pointers;
    for (const rt::HostTensor &in : inputs)
      pointers.push_back(&in);
    auto results = (*compiled)->call(pointers);
    ASSERT_TRUE(static_cast<bool>(results));
    EXPECT_FALSE(std::isfinite((*results)[0].f32()[0]));
    EXPECT_EQ((*results)[1].toF64(), f32(p).toF64());
    EXPECT_EQ((*results)[2].toF64(), f32(m).toF64());
    EXPECT_EQ((*results)[3].toF64(), f32(v).toF64());
  }
}

// A limit of 1.0 clips (the norm is about 1.8); 0 disables clipping.
INSTANTIATE_TEST_SUITE_P(Clipping, OptimizerOpsTest,
                         ::testing::Values(1.0, 0.0),
                         [](const ::testing::TestParamInfo<double> &info) {
                           return info.param > 0 ? "Clipped" : "Unclipped";
                         });

} // namespace
