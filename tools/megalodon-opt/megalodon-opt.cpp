//===- megalodon-opt.cpp - Compile and inspect megalodon IR ---------------===//
//
// The MLIR optimizer driver with the megalodon dialect, its passes and named
// pipelines, and only the upstream dialects and passes those pipelines use;
// plus the transform interpreter with the structured (tiling) transform ops,
// which apply upstream's tile-and-fuse drivers to any op with
// TilingInterface, the megalodon ops included.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/Passes.h"
#include "megalodon/Pipelines/Pipelines.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/TransformOps/DialectExtension.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::megalodon::registerGpuPipelineDialects(registry);
  mlir::megalodon::registerMegalodonConversionPasses();
  mlir::megalodon::registerMegalodonTransformsPasses();
  mlir::megalodon::registerCpuPipeline();
  mlir::megalodon::registerGpuPipeline();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  registry.insert<mlir::transform::TransformDialect>();
  mlir::linalg::registerTransformDialectExtension(registry);
  mlir::transform::registerInterpreterPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "megalodon optimizer driver\n", registry));
}
