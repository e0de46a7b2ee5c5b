//===- EntryPoints.h - Artifact entry points --------------------*- C++ -*-===//
//
// The calling convention between compiled code and the runtime: every public
// function `f` of the module is exported as `void megalodon_entry_f(void **)`
// whose argument points to one memref descriptor per argument followed by
// one per result (results are caller-allocated out-parameters after
// bufferization).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_TARGET_CPU_ENTRYPOINTS_H
#define MEGALODON_LIB_TARGET_CPU_ENTRYPOINTS_H

#include "megalodon/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace megalodon {

/// The exported symbol of entry point `name`.
std::string entrySymbol(llvm::StringRef name);

/// Describes the public functions of a megalodon (tensor-level) module for
/// the manifest, from the megalodon.param/state/input names the model
/// builder attaches. Fails on element types the runtime cannot hold.
llvm::Expected<std::vector<rt::EntryPoint>>
describeEntryPoints(mlir::ModuleOp module);

/// Marks the public functions so that function lowering emits
/// `_mlir_ciface_` wrappers taking one descriptor pointer per memref.
void requestCInterfaces(mlir::ModuleOp module);

/// Adds `megalodon_entry_<name>(ptr)` to a module lowered to the LLVM
/// dialect, unpacking the descriptor array into a call of
/// `_mlir_ciface_<name>`. Fails if a wrapper is missing or its arity differs
/// from the manifest's.
llvm::Error addPackedEntryPoints(mlir::ModuleOp llvmModule,
                                 const std::vector<rt::EntryPoint> &entries);

} // namespace megalodon

#endif // MEGALODON_LIB_TARGET_CPU_ENTRYPOINTS_H
