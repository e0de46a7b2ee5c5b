//===- Interpreter.h - fp64 reference interpreter ---------------*- C++ -*-===//
//
// Runs a function of megalodon IR op by op in fp64 with the reference
// kernels. It is the oracle every compiled lowering is checked against and is
// never on a user's hot path.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_REFERENCE_INTERPRETER_H
#define MEGALODON_REFERENCE_INTERPRETER_H

#include "megalodon/Reference/Kernels.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace megalodon::ref {

/// A tensor value of the interpreter: real (any float type, held in fp64),
/// complex (complex<f32> state, held as complex<double>) or integer.
struct RefValue {
  enum class Kind { Real, Complex, Integer };
  Kind kind = Kind::Real;
  std::vector<int64_t> shape;
  std::vector<double> real;
  std::vector<cdouble> complex;
  std::vector<int64_t> integer;

  int64_t numel() const;
  static RefValue realTensor(std::vector<int64_t> shape,
                             std::vector<double> values);
  static RefValue complexTensor(std::vector<int64_t> shape,
                                std::vector<cdouble> values);
  static RefValue integerTensor(std::vector<int64_t> shape,
                                std::vector<int64_t> values);
};

/// Runs `func` on `args` (one per argument, shapes as declared) and returns
/// its results. Fails with a message on a shape mismatch, an out-of-range
/// token or an op the interpreter does not know.
llvm::Expected<std::vector<RefValue>> interpret(mlir::func::FuncOp func,
                                                std::vector<RefValue> args);

} // namespace megalodon::ref

#endif // MEGALODON_REFERENCE_INTERPRETER_H
