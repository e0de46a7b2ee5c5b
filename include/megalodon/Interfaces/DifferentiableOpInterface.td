//===- DifferentiableOpInterface.td - reverse-mode VJPs ----*- tablegen -*-===//
//
// The op interface that reverse-mode autodiff (megalodon-autodiff) builds
// backward code with. Each differentiable op emits its own vector-Jacobian
// product, so the pass itself knows no op.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD
#define MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let description = [{
    An op whose vector-Jacobian product (VJP) can be built as IR. Given the
    cotangent of each result, `buildVjp` emits, at the builder's insertion
    point, ops computing the cotangent of each operand and returns them, one
    per operand.

    Conventions:
    * A null result cotangent stands for zero (the result is unused or does
      not depend on what is differentiated). At least one is non-null.
    * A null operand cotangent means "none": the operand is not
      differentiable (tokens, targets, step counts, offsets) or receives no
      gradient. Every non-null cotangent has its operand's type.
    * The returned cotangents are those of this one use of each operand;
      callers add them up over all uses. When the same value appears twice
      among the operands, it gets one cotangent per position.
    * Ops whose VJP is not supported (e.g. the decoding-only cache ops)
      emit an error on the op and return failure.
  }];
  let cppNamespace = "::mlir::megalodon";

  let methods = [
    InterfaceMethod<[{
        Builds the VJP of this op with `builder` (its insertion point is where
        the backward ops go; every forward value of the op dominates it) from
        `resultCotangents` (one per result, null = zero). Returns one
        cotangent per operand (null = none), or failure after emitting an
        error on the op.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>", "buildVjp",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultCotangents)>,
  ];
}

#endif // MEGALODON_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD
