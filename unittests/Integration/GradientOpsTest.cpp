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

#include "GradientCases.h"
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
using namespace megalodon::testing;
using ref::RefValue;

namespace {

class GradientOpsTest : public ::testing::TestWithParam<NamedGradCase> {
protected:
  GradientOpsTest() {
    context.loadDialect<mlir::func::FuncDialect,
                        mlir::megalodon::MegalodonDialect>();
  }

  /// Parses `c.ir`, draws the arguments, and compares every listed gradient
  /// with finite differences of the projected forward results.
  void check(const GradCase &c) {
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(c.ir, &context);
    ASSERT_TRUE(module) << "the test IR does not parse or verify";
    auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
    ASSERT_TRUE(func);

    std::vector<RefValue> args = drawArguments(func, c);

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

std::string caseName(const ::testing::TestParamInfo<NamedGradCase> &info) {
  return info.param.name;
}

TEST_P(GradientOpsTest, MatchesFiniteDifferences) { check(GetParam().c); }

INSTANTIATE_TEST_SUITE_P(Ops, GradientOpsTest,
                         ::testing::ValuesIn(gradientCases()), caseName);

} // namespace
