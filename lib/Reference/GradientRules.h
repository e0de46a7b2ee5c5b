//===- GradientRules.h - Reference rules of the gradient ops ----*- C++ -*-===//
//
// The reference interpreter evaluates the megalodon gradient ops
// (`<op>_grad`) with the vector-Jacobian-product kernels of Gradients.h.
// Private to the reference library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_REFERENCE_GRADIENTRULES_H
#define MEGALODON_LIB_REFERENCE_GRADIENTRULES_H

#include "ValueStore.h"

namespace megalodon::ref::detail {

/// Evaluates the gradient op `op` on the operand values in `store` and
/// defines its results there. Fails for an op that is not a gradient op and
/// for operand values that the op's contract excludes (tokens or targets out
/// of range).
llvm::Error evaluateGradient(mlir::Operation *op, ValueStore &store);

} // namespace megalodon::ref::detail

#endif // MEGALODON_LIB_REFERENCE_GRADIENTRULES_H
