//===- DifferentiableOpInterface.h - reverse-mode VJPs ----------*- C++ -*-===//
//
// Declares DifferentiableOpInterface (see DifferentiableOpInterface.td) and
// the helpers its implementations share.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_H
#define MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::megalodon {

/// A tensor of zeros of `type` (static shape; float, complex or integer
/// elements), as an arith.constant: the cotangent a VJP needs where a result
/// it must pass on has none. Returns null for a dynamic shape.
Value buildZeroCotangent(OpBuilder &builder, Location loc, Type type);

/// `cotangent` itself, or zeros of `type` when it is null (see
/// buildZeroCotangent). Emits an error on `op` and returns null when zeros of
/// `type` cannot be built.
Value cotangentOrZero(OpBuilder &builder, Operation *op, Value cotangent,
                      Type type);

} // namespace mlir::megalodon

#include "megalodon/Interfaces/DifferentiableOpInterface.h.inc"

#endif // MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_H
