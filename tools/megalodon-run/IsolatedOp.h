//===- IsolatedOp.h - One op compiled and timed alone -----------*- C++ -*-===//
//
// `tune` and `bench --profile` time ops of a model one at a time: the op is
// cloned into a function of its own (its operands become arguments, its
// results the results), compiled, and called on random inputs. The median
// of repeated calls is the measure everywhere `bench` and `tune` time code.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_TOOLS_MEGALODON_RUN_ISOLATEDOP_H
#define MEGALODON_TOOLS_MEGALODON_RUN_ISOLATEDOP_H

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Target/CPU/CpuArtifact.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace megalodon::tool {

/// `op` alone in a module: @f takes its operands and returns its results.
/// With `sizes`, the clone's tile config is set to them (source "user").
mlir::OwningOpRef<mlir::ModuleOp>
isolateOp(mlir::Operation *op, mlir::DictionaryAttr sizes = nullptr);

/// `sizes` ("block_time=128,lanes=16,state_group=4") as the entry of an
/// op's attribute dictionary that sets its tile config (source "user"), or
/// "" for none.
std::string tileConfigEntry(llvm::StringRef sizes);

/// The median seconds of `calls` calls of `fn` on `inputs`, after one
/// warm-up call; results go to buffers allocated once.
llvm::Expected<double>
medianCallSeconds(const CompiledFunction &fn,
                  const std::vector<const rt::HostTensor *> &inputs, int calls);

/// Compiles @f of `module` and returns the median seconds of `calls` calls
/// (after one warm-up call) on uniform random inputs in [-1, 1); integer
/// inputs are zeros.
llvm::Expected<double> timeFunction(mlir::ModuleOp module,
                                    const CpuCompileOptions &options,
                                    int calls);

/// Compiles `op` alone and returns the median seconds of `calls` calls
/// (after one warm-up call) on uniform random inputs in [-1, 1); integer
/// inputs are zeros.
llvm::Expected<double> timeIsolatedOp(mlir::Operation *op,
                                      mlir::DictionaryAttr sizes,
                                      const CpuCompileOptions &options,
                                      int calls);

} // namespace megalodon::tool

#endif // MEGALODON_TOOLS_MEGALODON_RUN_ISOLATEDOP_H
