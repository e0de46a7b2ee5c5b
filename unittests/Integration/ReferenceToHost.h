//===- ReferenceToHost.h - Reference values as compiled-code tensors -*- C++
//-*-===//
//
// The tests that run compiled code on the reference interpreter's arguments
// convert between the interpreter's fp64 values and the runtime's tensors.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_UNITTESTS_INTEGRATION_REFERENCETOHOST_H
#define MEGALODON_UNITTESTS_INTEGRATION_REFERENCETOHOST_H

#include "megalodon/Reference/Interpreter.h"
#include "megalodon/runtime/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Types.h"
#include "llvm/Support/Error.h"

#include <string>

#include <vector>

namespace megalodon::testing {

/// `value` as the host tensor that compiled code takes for `type`.
rt::HostTensor toHostTensor(const ref::RefValue &value, mlir::Type type);

/// The values of a reference result in the layout of HostTensor::toF64().
std::vector<double> flattenReference(const ref::RefValue &value);

/// |got - want|_2 / |want|_2 (|got - want|_2 when want is zero).
double relativeL2Error(const std::vector<double> &got,
                       const std::vector<double> &want);

/// Expects each of `results` within a relative L2 error of `tolerance` of
/// the reference's value at the same position (and as many of them).
void expectCloseToReference(const std::vector<rt::HostTensor> &results,
                            const std::vector<ref::RefValue> &expected,
                            double tolerance);

/// Compiles @`name` of `module` for the host (artifacts cached under
/// `cacheDir`) and calls it on `args`, the reference interpreter's
/// arguments.
llvm::Expected<std::vector<rt::HostTensor>>
compileAndCall(mlir::ModuleOp module, llvm::StringRef name,
               const std::vector<ref::RefValue> &args,
               const std::string &cacheDir);

} // namespace megalodon::testing

#endif // MEGALODON_UNITTESTS_INTEGRATION_REFERENCETOHOST_H
