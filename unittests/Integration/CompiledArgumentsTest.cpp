//===- CompiledArgumentsTest.cpp - Compiled code only reads arguments -----===//
//
// The runtime reuses argument buffers across calls (bound parameters, a
// decoding state the caller keeps), so a compiled entry point must leave its
// arguments as they were. Scans seeded with a carried state are where
// bufferization would otherwise update an argument in place: the carried
// count, mean and variance of timestep_norm and the state of cema, each the
// last use of its argument here.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Driver/CompiledFunction.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

using namespace megalodon;

namespace {

constexpr const char *kCarriedStateIR = R"mlir(
  func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>,
               %n: tensor<2xi64>, %m: tensor<2x2xf32>, %v: tensor<2x2xf32>,
               %a: tensor<4x2x1xf32>, %d: tensor<4x2x1xf32>, %t: tensor<4x1x1xf32>,
               %g: tensor<4x2x2xf32>, %o: tensor<4x1xf32>,
               %h: tensor<2x4x2xcomplex<f32>>)
      -> (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2x2xf32>, tensor<2x2xf32>,
          tensor<2x3x4xf32>, tensor<2x4x2xcomplex<f32>>) {
    %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v)
        {num_groups = 2 : i64, eps = 1.0e-5 : f64}
        : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2xi64>,
           tensor<2x2xf32>, tensor<2x2xf32>)
        -> (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2x2xf32>, tensor<2x2xf32>)
    %e, %h1 = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%h)
        : (tensor<2x3x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>, tensor<4x1x1xf32>,
           tensor<4x2x2xf32>, tensor<4x1xf32>, tensor<2x4x2xcomplex<f32>>)
        -> (tensor<2x3x4xf32>, tensor<2x4x2xcomplex<f32>>)
    return %y, %n1, %m1, %v1, %e, %h1 : tensor<2x3x4xf32>, tensor<2xi64>,
        tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x3x4xf32>, tensor<2x4x2xcomplex<f32>>
  })mlir";

TEST(CompiledArgumentsTest, CarriedStatesAreNotWritten) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kCarriedStateIR,
                                                        &context);
  ASSERT_TRUE(module);
  CpuCompileOptions options;
  options.cacheDir = ::testing::TempDir() + "megalodon-arguments-artifacts";
  auto compiled = CompiledFunction::create(*module, "f", {}, options);
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());

  std::vector<rt::HostTensor> inputs;
  float next = 0.25f;
  for (const rt::TensorSpec &spec : (*compiled)->entry().arguments) {
    rt::HostTensor t = rt::HostTensor::zeros(spec.dtype, spec.shape);
    if (spec.dtype == rt::DType::I64) {
      for (int64_t i = 0; i < t.numel(); ++i)
        reinterpret_cast<int64_t *>(t.bytes.data())[i] = 2 + i;
    } else {
      // f32 and the (re, im) pairs of complex<f32>: positive, varied.
      size_t floats = t.bytes.size() / sizeof(float);
      for (size_t i = 0; i < floats; ++i, next += 0.125f)
        t.f32()[i] = next + static_cast<float>(i % 7) * 0.1f;
    }
    inputs.push_back(std::move(t));
  }
  std::vector<const rt::HostTensor *> pointers;
  for (const rt::HostTensor &t : inputs)
    pointers.push_back(&t);
  const std::vector<rt::HostTensor> before = inputs;
  auto results = (*compiled)->call(pointers);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(inputs[i].toF64(), before[i].toF64())
        << "argument " << (*compiled)->entry().arguments[i].name
        << " was written";
  // The carried count did advance in the result.
  EXPECT_EQ((*results)[1].toF64(), (std::vector<double>{5, 6}));
}

} // namespace
