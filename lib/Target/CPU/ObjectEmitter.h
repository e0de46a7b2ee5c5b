//===- ObjectEmitter.h - LLVM dialect to a shared library -------*- C++ -*-===//
#ifndef MEGALODON_LIB_TARGET_CPU_OBJECTEMITTER_H
#define MEGALODON_LIB_TARGET_CPU_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace megalodon {

/// Triple, CPU and feature string of the host, as code generation uses them.
struct HostTarget {
  std::string triple, cpu, features;
};
HostTarget detectHostTarget();
/// The host's triple with the baseline CPU of its architecture: for host
/// code that must run on other machines (GPU artifacts, whose host part
/// only launches kernels).
HostTarget portableHostTarget();

/// Translates an LLVM-dialect module (GPU binaries and launches included) to
/// LLVM IR, optimizes it at O3 for `target`, emits an object file in-process
/// and links it into the shared library `libraryPath` with the system linker
/// (ld.lld, else cc).
llvm::Error emitSharedLibrary(mlir::ModuleOp llvmDialectModule,
                              llvm::StringRef libraryPath,
                              const HostTarget &target);

} // namespace megalodon

#endif // MEGALODON_LIB_TARGET_CPU_OBJECTEMITTER_H
