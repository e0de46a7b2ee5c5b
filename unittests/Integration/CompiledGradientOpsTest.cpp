//===- CompiledGradientOpsTest.cpp - Compiled gradient ops vs reference ---===//
//
// Every case of GradientCases.h compiled through the CPU pipeline (f32) and
// run on the same arguments as the fp64 reference interpreter. Every result,
// forward values and gradients alike, must agree per tensor:
// |compiled - reference|_2 <= 1e-4 * |reference|_2 + 1e-6 (the absolute term
// covers results that are exactly zero), and the call must leave its
// arguments as they were.
//
//===----------------------------------------------------------------------===//

#include "GradientCases.h"
#include "ReferenceToHost.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Driver/CompiledFunction.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLExtras.h"
#include "gtest/gtest.h"

#include <cmath>
#include <complex>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

constexpr double kRelativeTolerance = 1e-4;
constexpr double kAbsoluteTolerance = 1e-6;

class CompiledGradientOpsTest
    : public ::testing::TestWithParam<NamedGradCase> {};

TEST_P(CompiledGradientOpsTest, MatchesReference) {
  const GradCase &c = GetParam().c;
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(c.ir, &context);
  ASSERT_TRUE(module) << "the test IR does not parse or verify";
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  ASSERT_TRUE(func);

  std::vector<RefValue> args = drawArguments(func, c);
  llvm::Expected<std::vector<RefValue>> expected = ref::interpret(func, args);
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());

  std::vector<rt::HostTensor> inputs;
  for (auto [arg, type] : llvm::zip(args, func.getArgumentTypes()))
    inputs.push_back(toHostTensor(arg, type));
  std::vector<const rt::HostTensor *> inputPointers;
  for (const rt::HostTensor &t : inputs)
    inputPointers.push_back(&t);

  CpuCompileOptions options;
  options.cacheDir = ::testing::TempDir() + "megalodon-grad-artifacts";
  auto compiled = CompiledFunction::create(*module, "f", {}, options);
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());
  const std::vector<rt::HostTensor> before = inputs;
  auto results = (*compiled)->call(inputPointers);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(inputs[i].toF64(), before[i].toF64())
        << "argument " << i << " was written";
  ASSERT_EQ(results->size(), expected->size());

  for (size_t r = 0; r < results->size(); ++r) {
    std::vector<double> got = (*results)[r].toF64();
    std::vector<double> want = flattenReference((*expected)[r]);
    ASSERT_EQ(got.size(), want.size()) << "result " << r;
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff += (got[i] - want[i]) * (got[i] - want[i]);
      norm += want[i] * want[i];
    }
    diff = std::sqrt(diff);
    norm = std::sqrt(norm);
    EXPECT_LE(diff, kRelativeTolerance * norm + kAbsoluteTolerance)
        << "result " << r << ": |compiled - reference| = " << diff
        << ", |reference| = " << norm;
  }
}

std::string caseName(const ::testing::TestParamInfo<NamedGradCase> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Ops, CompiledGradientOpsTest,
                         ::testing::ValuesIn(gradientCases()), caseName);

} // namespace
