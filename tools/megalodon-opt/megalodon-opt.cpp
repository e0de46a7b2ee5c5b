//===- megalodon-opt.cpp - Compile and inspect megalodon IR ---------------===//
//
// The MLIR optimizer driver with the megalodon dialect and passes, and only
// the upstream dialects and passes that megalodon's pipelines use.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/Passes.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::megalodon::MegalodonDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::complex::ComplexDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  mlir::megalodon::registerMegalodonConversionPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "megalodon optimizer driver\n", registry));
}
