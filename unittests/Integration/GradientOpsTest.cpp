//===- GradientOpsTest.cpp - Gradient ops against finite differences ------===//
//
// The Gradients.h kernels are checked against finite differences on their
// own (unittests/Reference/*GradTest.cpp); this file checks the wiring of the
// gradient ops of the dialect end to end: operand order, optional operands,
// result order, shapes and attributes. Each case is a tiny function, parsed
// from text, that applies a forward op and its `<op>_grad` to the function's
// arguments (the forward inputs and random cotangents) and returns the
// forward results followed by the gradients. The reference interpreter runs
// it; the loss is the sum of the forward results projected on their
// cotangents, and every gradient the op returns must match central finite
// differences of that loss (fp64, relative error <= 1e-6 per tensor, the
// harness of GradientCheck.h).
//
//===----------------------------------------------------------------------===//

#include "Reference/GradientCheck.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Reference/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <map>
#include <random>
#include <string>
#include <vector>

using namespace megalodon;
using namespace megalodon::ref::test;
using ref::RefValue;

namespace {

/// A gradient whose value is compared with finite differences: of argument
/// `arg`, returned as result `result`.
struct Gradient {
  unsigned arg, result;
  const char *name;
};

/// One function and how to read it.
struct GradCase {
  std::string ir;
  /// (forward result, argument holding its cotangent): the terms of the loss.
  std::vector<std::pair<unsigned, unsigned>> projections;
  std::vector<Gradient> gradients;
  /// Arguments that a uniform draw in [-1, 1) would not fit: integer tokens,
  /// targets, counts and offsets, positive variances.
  std::map<unsigned, RefValue> fixed;
};

class GradientOpsTest : public ::testing::Test {
protected:
  GradientOpsTest() {
    context.loadDialect<mlir::func::FuncDialect,
                        mlir::megalodon::MegalodonDialect>();
  }

  /// Parses `c.ir`, draws the arguments, and compares every listed gradient
  /// with finite differences of the projected forward results.
  void check(const GradCase &c, uint64_t seed) {
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(c.ir, &context);
    ASSERT_TRUE(module) << "the test IR does not parse or verify";
    auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
    ASSERT_TRUE(func);

    std::mt19937_64 rng(seed);
    std::vector<RefValue> args;
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
      auto it = c.fixed.find(i);
      if (it != c.fixed.end()) {
        args.push_back(it->second);
        continue;
      }
      auto tensor = llvm::cast<mlir::RankedTensorType>(type);
      std::vector<int64_t> shape(tensor.getShape().begin(),
                                 tensor.getShape().end());
      size_t n = tensor.getNumElements();
      if (llvm::isa<mlir::ComplexType>(tensor.getElementType()))
        args.push_back(RefValue::complexTensor(shape, complexVector(n, rng)));
      else
        args.push_back(
            RefValue::realTensor(shape, uniformVector(n, rng, -1.0, 1.0)));
    }

    auto run = [&]() -> std::vector<RefValue> {
      llvm::Expected<std::vector<RefValue>> results =
          ref::interpret(func, args);
      if (!results) {
        ADD_FAILURE() << llvm::toString(results.takeError());
        return {};
      }
      return std::move(*results);
    };
    auto loss = [&] {
      std::vector<RefValue> results = run();
      double sum = 0.0;
      for (auto [result, cotangent] : c.projections) {
        if (result >= results.size())
          return 0.0;
        const RefValue &y = results[result];
        const RefValue &g = args[cotangent];
        sum += y.kind == RefValue::Kind::Complex ? dot(g.complex, y.complex)
                                                 : dot(g.real, y.real);
      }
      return sum;
    };

    std::vector<RefValue> results = run();
    ASSERT_FALSE(results.empty());
    for (const Gradient &g : c.gradients) {
      ASSERT_LT(g.result, results.size()) << g.name;
      RefValue &input = args[g.arg];
      const RefValue &analytic = results[g.result];
      ASSERT_EQ(analytic.shape, input.shape) << g.name;
      if (input.kind == RefValue::Kind::Complex)
        expectGradient(g.name, flatten(analytic.complex),
                       numericGradient(input.complex, loss));
      else
        expectGradient(g.name, analytic.real,
                       numericGradient(input.real, loss));
    }
  }

  mlir::MLIRContext context;
};

RefValue integers(std::vector<int64_t> shape, std::vector<int64_t> values) {
  return RefValue::integerTensor(std::move(shape), std::move(values));
}

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

TEST_F(GradientOpsTest, Embedding) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%table: tensor<5x3xf32>, %tokens: tensor<2x3xi64>,
                 %gy: tensor<2x3x3xf32>) -> (tensor<2x3x3xf32>, tensor<5x3xf32>) {
      %y = megalodon.embedding %table[%tokens] {scale = 2.5 : f64}
          : tensor<5x3xf32>, tensor<2x3xi64> -> tensor<2x3x3xf32>
      %gt = megalodon.embedding_grad %table[%tokens] grad(%gy) {scale = 2.5 : f64}
          : tensor<5x3xf32>, tensor<2x3xi64>, tensor<2x3x3xf32> -> tensor<5x3xf32>
      return %y, %gt : tensor<2x3x3xf32>, tensor<5x3xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "embedding table"}};
  // Token 4 occurs twice (the scatter adds) and token 2 never (a zero row).
  c.fixed[1] = integers({2, 3}, {4, 0, 1, 3, 4, 1});
  check(c, 1);
}

TEST_F(GradientOpsTest, CrossEntropy) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%logits: tensor<2x3x5xf32>, %targets: tensor<2x3xi32>,
                 %g: tensor<f32>) -> (tensor<f32>, tensor<2x3x5xf32>) {
      %loss = megalodon.cross_entropy %logits, %targets
          : tensor<2x3x5xf32>, tensor<2x3xi32> -> tensor<f32>
      %gl = megalodon.cross_entropy_grad %logits, %targets grad(%g)
          : tensor<2x3x5xf32>, tensor<2x3xi32>, tensor<f32> -> tensor<2x3x5xf32>
      return %loss, %gl : tensor<f32>, tensor<2x3x5xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "cross_entropy logits"}};
  c.fixed[1] = integers({2, 3}, {0, 4, 2, 2, 1, 3});
  check(c, 2);
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

/// Replaces every `key` in `text` by `value`.
std::string substitute(std::string text, const std::string &key,
                       const std::string &value) {
  for (size_t at = text.find(key); at != std::string::npos;
       at = text.find(key, at + value.size()))
    text.replace(at, key.size(), value);
  return text;
}

/// Timestep norm with or without a carried state and final cotangents. The
/// arguments are always x, w, b, count, mean, var, gy, g_mean_out and
/// g_var_out; a variant passes the ones it does not use all the same.
GradCase timestepNormCase(bool state, bool finalGrads) {
  std::string ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>,
                 %n: tensor<2xi64>, %m: tensor<2x2xf32>, %v: tensor<2x2xf32>,
                 %gy: tensor<2x3x4xf32>, %gm: tensor<2x2xf32>, %gv: tensor<2x2xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>, GRAD_TYPES) {
      %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b STATE
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32> STATE_TYPES)
          -> (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2x2xf32>, tensor<2x2xf32>)
      GRADS = megalodon.timestep_norm_grad %x, %w STATE grad(%gy FINAL)
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32> STATE_TYPES, tensor<2x3x4xf32> FINAL_TYPES)
          -> (GRAD_TYPES)
      return %y, %m1, %v1, GRADS
          : tensor<2x3x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>, GRAD_TYPES
    })mlir";
  const std::string stats = ", tensor<2x2xf32>, tensor<2x2xf32>";
  ir = substitute(ir, "STATE_TYPES", state ? ", tensor<2xi64>" + stats : "");
  ir = substitute(ir, "STATE", state ? "state(%n, %m, %v)" : "");
  ir = substitute(ir, "FINAL_TYPES", finalGrads ? stats : "");
  ir = substitute(ir, "FINAL", finalGrads ? ", %gm, %gv" : "");
  ir = substitute(ir, "GRAD_TYPES",
                  "tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>" +
                      (state ? stats : ""));
  ir = substitute(ir, "GRADS",
                  state ? "%gx, %gw, %gb, %gm0, %gv0" : "%gx, %gw, %gb");

  GradCase c;
  c.ir = ir;
  c.projections = {{0, 6}};
  if (finalGrads)
    c.projections.insert(c.projections.end(), {{1, 7}, {2, 8}});
  c.gradients = {{0, 3, "timestep_norm x"},
                 {1, 4, "timestep_norm weight"},
                 {2, 5, "timestep_norm bias"}};
  if (state)
    c.gradients.insert(c.gradients.end(),
                       {{4, 6, "timestep_norm carried mean"},
                        {5, 7, "timestep_norm carried var"}});
  c.fixed[3] = integers({2}, {3, 7});
  // The carried variance is a variance: positive.
  std::mt19937_64 rng(30);
  c.fixed[5] = RefValue::realTensor({2, 2}, uniformVector(4, rng, 0.5, 2.0));
  return c;
}

TEST_F(GradientOpsTest, TimestepNormFresh) {
  check(timestepNormCase(/*state=*/false, /*finalGrads=*/false), 3);
}

TEST_F(GradientOpsTest, TimestepNormFreshWithFinalCotangents) {
  check(timestepNormCase(/*state=*/false, /*finalGrads=*/true), 4);
}

TEST_F(GradientOpsTest, TimestepNormCarried) {
  check(timestepNormCase(/*state=*/true, /*finalGrads=*/false), 5);
}

TEST_F(GradientOpsTest, TimestepNormCarriedWithFinalCotangents) {
  check(timestepNormCase(/*state=*/true, /*finalGrads=*/true), 6);
}

TEST_F(GradientOpsTest, RMSNorm) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %gy: tensor<2x3x4xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>) {
      %y = megalodon.rms_norm %x weight(%w) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
      %gx, %gw = megalodon.rms_norm_grad %x weight(%w) grad(%gy)
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<2x3x4xf32>)
          -> (tensor<2x3x4xf32>, tensor<4xf32>)
      return %y, %gx, %gw : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "rms_norm x"}, {1, 2, "rms_norm weight"}};
  check(c, 7);
}

TEST_F(GradientOpsTest, RMSNormWithoutWeight) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<3x8xf32>, %gy: tensor<3x8xf32>)
        -> (tensor<3x8xf32>, tensor<3x8xf32>) {
      %y = megalodon.rms_norm %x {num_groups = 4 : i64, eps = 1.0e-5 : f64}
          : (tensor<3x8xf32>) -> tensor<3x8xf32>
      %gx = megalodon.rms_norm_grad %x grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
          : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
      return %y, %gx : tensor<3x8xf32>, tensor<3x8xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "rms_norm x (no weight)"}};
  check(c, 8);
}

TEST_F(GradientOpsTest, LayerNorm) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x5xf32>, %w: tensor<5xf32>, %b: tensor<5xf32>,
                 %gy: tensor<2x3x5xf32>)
        -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>) {
      %y = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
          : (tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %gx, %gw, %gb = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
          : (tensor<2x3x5xf32>, tensor<5xf32>, tensor<2x3x5xf32>)
          -> (tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>)
      return %y, %gx, %gw, %gb
          : tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {{0, 1, "layer_norm x"},
                 {1, 2, "layer_norm weight"},
                 {2, 3, "layer_norm bias"}};
  check(c, 9);
}

TEST_F(GradientOpsTest, LayerNormWithoutAffine) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<4x6xf32>, %gy: tensor<4x6xf32>)
        -> (tensor<4x6xf32>, tensor<4x6xf32>) {
      %y = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
          : (tensor<4x6xf32>) -> tensor<4x6xf32>
      %gx = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-5 : f64}
          : (tensor<4x6xf32>, tensor<4x6xf32>) -> (tensor<4x6xf32>)
      return %y, %gx : tensor<4x6xf32>, tensor<4x6xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "layer_norm x (no affine)"}};
  check(c, 10);
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

TEST_F(GradientOpsTest, CemaWithState) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x4x3xf32>, %a: tensor<3x2x1xf32>, %d: tensor<3x2x1xf32>,
                 %t: tensor<3x1x1xf32>, %g: tensor<3x2x2xf32>, %o: tensor<3x1xf32>,
                 %hx: tensor<2x3x2xcomplex<f32>>, %gy: tensor<2x4x3xf32>,
                 %gh: tensor<2x3x2xcomplex<f32>>)
        -> (tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>, tensor<2x4x3xf32>,
            tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
            tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
          : (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
             tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>)
          -> (tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>)
      %gx, %ga, %gd, %gt, %gg, %go, %ghx = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
          : (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
             tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>,
             tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>)
          -> (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
              tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>)
      return %y, %h, %gx, %ga, %gd, %gt, %gg, %go, %ghx
          : tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>, tensor<2x4x3xf32>,
            tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
            tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>
    })mlir";
  c.projections = {{0, 7}, {1, 8}};
  c.gradients = {{0, 2, "cema x"},     {1, 3, "cema alpha"},
                 {2, 4, "cema delta"}, {3, 5, "cema theta"},
                 {4, 6, "cema gamma"}, {5, 7, "cema omega"},
                 {6, 8, "cema hx"}};
  check(c, 11);
}

TEST_F(GradientOpsTest, CemaFresh) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<1x5x2xf32>, %a: tensor<2x3x1xf32>, %d: tensor<2x3x1xf32>,
                 %t: tensor<2x1x1xf32>, %g: tensor<2x3x2xf32>, %o: tensor<2x1xf32>,
                 %gy: tensor<1x5x2xf32>)
        -> (tensor<1x5x2xf32>, tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
          : (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>)
          -> (tensor<1x5x2xf32>, tensor<1x2x3xcomplex<f32>>)
      %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) grad(%gy)
          : (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>, tensor<1x5x2xf32>)
          -> (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
              tensor<2x3x2xf32>, tensor<2x1xf32>)
      return %y, %gx, %ga, %gd, %gt, %gg, %go
          : tensor<1x5x2xf32>, tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>
    })mlir";
  c.projections = {{0, 6}};
  c.gradients = {{0, 1, "cema x (fresh)"},     {1, 2, "cema alpha (fresh)"},
                 {2, 3, "cema delta (fresh)"}, {3, 4, "cema theta (fresh)"},
                 {4, 5, "cema gamma (fresh)"}, {5, 6, "cema omega (fresh)"}};
  check(c, 12);
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

TEST_F(GradientOpsTest, Linear) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<5x4xf32>, %b: tensor<5xf32>,
                 %gy: tensor<2x3x5xf32>)
        -> (tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>) {
      %y = megalodon.linear %x, %w bias(%b)
          : (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
          : (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<2x3x5xf32>)
          -> (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>)
      return %y, %gx, %gw, %gb
          : tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {
      {0, 1, "linear x"}, {1, 2, "linear weight"}, {2, 3, "linear bias"}};
  check(c, 13);
}

TEST_F(GradientOpsTest, Silu) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<3x4xf32>, %gy: tensor<3x4xf32>)
        -> (tensor<3x4xf32>, tensor<3x4xf32>) {
      %y = megalodon.silu %x : tensor<3x4xf32>
      %gx = megalodon.silu_grad %x grad(%gy) : tensor<3x4xf32>
      return %y, %gx : tensor<3x4xf32>, tensor<3x4xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "silu x"}};
  check(c, 14);
}

TEST_F(GradientOpsTest, Swiglu) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%g: tensor<3x4xf32>, %u: tensor<3x4xf32>, %gy: tensor<3x4xf32>)
        -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
      %y = megalodon.swiglu %g, %u : tensor<3x4xf32>
      %gg, %gu = megalodon.swiglu_grad %g, %u grad(%gy) : tensor<3x4xf32>
      return %y, %gg, %gu : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "swiglu gate"}, {1, 2, "swiglu up"}};
  check(c, 15);
}

TEST_F(GradientOpsTest, ScaleChannels) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>, %gy: tensor<2x3x4xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>) {
      %y = megalodon.scale_channels %x, %s
          : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
      %gx, %gs = megalodon.scale_channels_grad %x, %s grad(%gy)
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<2x3x4xf32>)
          -> (tensor<2x3x4xf32>, tensor<4xf32>)
      return %y, %gx, %gs : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "scale_channels x"}, {1, 2, "scale_channels scale"}};
  check(c, 16);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

TEST_F(GradientOpsTest, SharedQK) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%z: tensor<2x3x8xf32>, %gamma: tensor<2x8xf32>, %beta: tensor<2x8xf32>,
                 %gq: tensor<2x3x8xf32>, %gk: tensor<2x3x8xf32>)
        -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>,
            tensor<2x8xf32>, tensor<2x8xf32>) {
      %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
          : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
          -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>)
      %gz, %gg, %gb = megalodon.shared_qk_grad %z, %gamma grad(%gq, %gk)
          {num_heads = 2 : i64}
          : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>)
          -> (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
      return %q, %k, %gz, %gg, %gb : tensor<2x3x8xf32>, tensor<2x3x8xf32>,
          tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
    })mlir";
  c.projections = {{0, 3}, {1, 4}};
  c.gradients = {{0, 2, "shared_qk z"},
                 {1, 3, "shared_qk gamma"},
                 {2, 4, "shared_qk beta"}};
  check(c, 17);
}

TEST_F(GradientOpsTest, Rotary) {
  // Positions restart every 4 tokens, so the 6 tokens cross a chunk.
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x6x8xf32>, %gy: tensor<2x6x8xf32>)
        -> (tensor<2x6x8xf32>, tensor<2x6x8xf32>) {
      %y = megalodon.rotary %x {num_heads = 2 : i64, base = 100.0 : f64, chunk_size = 4 : i64}
          : (tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
      %gx = megalodon.rotary_grad %gy {num_heads = 2 : i64, base = 100.0 : f64, chunk_size = 4 : i64}
          : (tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
      return %y, %gx : tensor<2x6x8xf32>, tensor<2x6x8xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "rotary x"}};
  check(c, 18);
}

TEST_F(GradientOpsTest, RotaryWithOffset) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<1x3x4xf32>, %off: tensor<i64>, %gy: tensor<1x3x4xf32>)
        -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>) {
      %y = megalodon.rotary %x offset(%off)
          {num_heads = 1 : i64, base = 50.0 : f64, chunk_size = 8 : i64}
          : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x3x4xf32>
      %gx = megalodon.rotary_grad %gy offset(%off)
          {num_heads = 1 : i64, base = 50.0 : f64, chunk_size = 8 : i64}
          : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x3x4xf32>
      return %y, %gx : tensor<1x3x4xf32>, tensor<1x3x4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "rotary x (offset)"}};
  c.fixed[1] = integers({}, {6});
  check(c, 19);
}

TEST_F(GradientOpsTest, ChunkAttention) {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%q: tensor<2x4x4xf32>, %k: tensor<2x4x4xf32>, %v: tensor<2x4x6xf32>,
                 %ga: tensor<2x4x6xf32>)
        -> (tensor<2x4x6xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>) {
      %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 2 : i64}
          : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>) -> tensor<2x4x6xf32>
      %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga)
          {num_heads = 2 : i64, chunk_size = 2 : i64}
          : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>, tensor<2x4x6xf32>)
          -> (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>)
      return %a, %gq, %gk, %gv
          : tensor<2x4x6xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {{0, 1, "chunk_attention q"},
                 {1, 2, "chunk_attention k"},
                 {2, 3, "chunk_attention v"}};
  check(c, 20);
}

} // namespace
