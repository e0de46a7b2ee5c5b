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

/// `value` as the host tensor that compiled code takes for `type`.
rt::HostTensor toHost(const RefValue &value, mlir::Type type) {
  auto tensor = llvm::cast<mlir::RankedTensorType>(type);
  mlir::Type element = tensor.getElementType();
  switch (value.kind) {
  case RefValue::Kind::Real: {
    std::vector<float> data(value.real.begin(), value.real.end());
    return rt::HostTensor::fromF32(value.shape, data);
  }
  case RefValue::Kind::Complex: {
    rt::HostTensor t = rt::HostTensor::zeros(rt::DType::C64, value.shape);
    float *out = t.f32();
    for (size_t i = 0; i < value.complex.size(); ++i) {
      out[2 * i] = static_cast<float>(value.complex[i].real());
      out[2 * i + 1] = static_cast<float>(value.complex[i].imag());
    }
    return t;
  }
  case RefValue::Kind::Integer:
    if (element.isInteger(32)) {
      rt::HostTensor t = rt::HostTensor::zeros(rt::DType::I32, value.shape);
      auto *out = reinterpret_cast<int32_t *>(t.bytes.data());
      for (size_t i = 0; i < value.integer.size(); ++i)
        out[i] = static_cast<int32_t>(value.integer[i]);
      return t;
    }
    return rt::HostTensor::fromI64(value.shape, value.integer);
  }
  return {};
}

/// The values of a reference result in the layout of HostTensor::toF64().
std::vector<double> flatten(const RefValue &value) {
  switch (value.kind) {
  case RefValue::Kind::Real:
    return value.real;
  case RefValue::Kind::Complex: {
    std::vector<double> out;
    for (const auto &c : value.complex) {
      out.push_back(c.real());
      out.push_back(c.imag());
    }
    return out;
  }
  case RefValue::Kind::Integer:
    return std::vector<double>(value.integer.begin(), value.integer.end());
  }
  return {};
}

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
    inputs.push_back(toHost(arg, type));
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
    std::vector<double> want = flatten((*expected)[r]);
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
