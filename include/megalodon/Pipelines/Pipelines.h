//===- Pipelines.h - Named compilation pipelines ----------------*- C++ -*-===//
//
// The pipelines megalodon-opt and megalodon-run share, so that any
// compilation can be replayed and stopped at a named stage.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_PIPELINES_PIPELINES_H
#define MEGALODON_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace mlir::megalodon {

/// Options of --megalodon-cpu-pipeline.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse producer/consumer elementwise linalg ops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> lowerToLLVM{
      *this, "lower-to-llvm",
      llvm::cl::desc("Continue past bufferization to the LLVM dialect"),
      llvm::cl::init(true)};
};

/// megalodon ops -> linalg/scf -> bufferized memrefs (results become
/// caller-provided out-parameters) -> loops -> LLVM dialect.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers --megalodon-cpu-pipeline.
void registerCpuPipeline();

/// Dialects and external interface models the CPU pipeline needs.
void registerCpuPipelineDialects(DialectRegistry &registry);

} // namespace mlir::megalodon

#endif // MEGALODON_PIPELINES_PIPELINES_H
