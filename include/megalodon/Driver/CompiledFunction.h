//===- CompiledFunction.h - Compile, load and call an entry point -*- C++ -*-===//
//
// Joins the compiler and the runtime for one entry point: compiles the module
// to a (cached) CPU artifact, loads it, binds the parameters by name once,
// and calls it with the remaining arguments (inputs and state) in order.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_DRIVER_COMPILEDFUNCTION_H
#define MEGALODON_DRIVER_COMPILEDFUNCTION_H

#include "megalodon/Target/CPU/CpuArtifact.h"
#include "megalodon/runtime/Artifact.h"
#include "megalodon/runtime/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace megalodon {

class CompiledFunction {
public:
  /// Compiles `module`, loads the artifact and binds every parameter of
  /// entry point `name` from `weights` (converted to the compiled dtype).
  static llvm::Expected<std::unique_ptr<CompiledFunction>>
  create(mlir::ModuleOp module, llvm::StringRef name,
         const rt::TensorMap &weights, const CpuCompileOptions &options);

  /// Calls the entry point. `inputs` are the non-parameter arguments in
  /// declaration order; each is checked against the manifest before the call.
  llvm::Expected<std::vector<rt::HostTensor>>
  call(const std::vector<const rt::HostTensor *> &inputs) const;

  /// Like call(), but writes into `results`, which must come from
  /// allocateResults() (or an earlier call): no allocation per call, for
  /// token-by-token decoding.
  llvm::Error callInto(const std::vector<const rt::HostTensor *> &inputs,
                       std::vector<rt::HostTensor> &results) const;

  /// Result buffers of the declared dtypes and shapes.
  std::vector<rt::HostTensor> allocateResults() const {
    return rt::allocateResults(*entryPoint);
  }

  const rt::EntryPoint &entry() const { return *entryPoint; }
  const std::string &artifactDirectory() const {
    return artifact->directory();
  }

private:
  CompiledFunction() = default;

  std::unique_ptr<rt::Artifact> artifact;
  const rt::EntryPoint *entryPoint = nullptr;
  /// Parameters converted to their compiled dtype, by argument position.
  std::vector<std::pair<size_t, rt::HostTensor>> parameters;
};

} // namespace megalodon

#endif // MEGALODON_DRIVER_COMPILEDFUNCTION_H
