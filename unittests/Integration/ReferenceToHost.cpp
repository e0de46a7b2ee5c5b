//===- ReferenceToHost.cpp - Reference values as compiled-code tensors ----===//

#include "ReferenceToHost.h"

#include "megalodon/Driver/CompiledFunction.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "gtest/gtest.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cmath>

using namespace megalodon;
using ref::RefValue;

/// `value` as the host tensor that compiled code takes for `type`.
rt::HostTensor megalodon::testing::toHostTensor(const RefValue &value,
                                                mlir::Type type) {
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
std::vector<double>
megalodon::testing::flattenReference(const RefValue &value) {
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

double megalodon::testing::relativeL2Error(const std::vector<double> &got,
                                           const std::vector<double> &want) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

llvm::Expected<std::vector<rt::HostTensor>>
megalodon::testing::compileAndCall(mlir::ModuleOp module, llvm::StringRef name,
                                   const std::vector<RefValue> &args,
                                   const std::string &cacheDir) {
  auto func = module.lookupSymbol<mlir::func::FuncOp>(name);
  if (!func)
    return llvm::createStringError("no function @" + name.str());
  CpuCompileOptions options;
  options.cacheDir = cacheDir;
  auto compiled = CompiledFunction::create(module, name, {}, options);
  if (!compiled)
    return compiled.takeError();
  std::vector<rt::HostTensor> inputs;
  for (auto [arg, type] : llvm::zip(args, func.getArgumentTypes()))
    inputs.push_back(toHostTensor(arg, type));
  std::vector<const rt::HostTensor *> pointers;
  for (const rt::HostTensor &t : inputs)
    pointers.push_back(&t);
  return (*compiled)->call(pointers);
}

void megalodon::testing::expectCloseToReference(
    const std::vector<rt::HostTensor> &results,
    const std::vector<RefValue> &expected, double tolerance) {
  ASSERT_EQ(results.size(), expected.size());
  for (size_t r = 0; r < results.size(); ++r)
    EXPECT_LE(
        relativeL2Error(results[r].toF64(), flattenReference(expected[r])),
        tolerance)
        << "result " << r;
}
