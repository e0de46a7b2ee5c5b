//===- CemaTiling.h - Pieces shared by the vector cema scans ----*- C++ -*-===//
//
// megalodon-tile-cema rewrites cema (TileCema.cpp) and cema_grad
// (TileCemaGrad.cpp) into scans over vectors of `lanes` channels. Both lay
// states out state-major ([.., N, D], so that a row of lanes channels of one
// state is one vector), and both build the same kind of vector arithmetic.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMATILING_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMATILING_H

#include "CemaBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::megalodon::detail {

/// [D, N] -> [N, D], so that `lanes` consecutive channels of one state are
/// one vector.
Value toStateMajor(OpBuilder &b, Location loc, Value dn);

/// The initial state [B, 2, N, D] (part 0 real, part 1 imaginary): the parts
/// of the complex state `hx` [B, D, N], or zeros when it is null.
Value initialStateMajor(OpBuilder &b, Location loc, Value hx,
                        const CemaShape &shape);

/// The complex state [B, D, N] of `resultType` from [B, 2, N, D] parts.
Value lastState(OpBuilder &b, Location loc, Value parts, Type resultType);

/// The shape of a cema or cema_grad (x [B, L, D], alpha [D, N, 1]); an
/// error on `op` unless every value of `floats` is a static f32 tensor.
FailureOr<CemaShape> readScanShape(Operation *op, ValueRange floats, Value x,
                                   Value alpha);

/// p, Re q, Im q, Re gamma and Im gamma, each state-major [N, D].
SmallVector<Value> stateMajorCoefficients(OpBuilder &b, Location loc,
                                          Value alpha, Value delta, Value theta,
                                          Value gamma, const CemaShape &shape);

/// megalodon-tile-cema's rewrite of a cema whose tile config names
/// `matrix_block`: the block (matrix) form of CemaMatrixForm.cpp, with
/// blocks of `block` steps, which must divide the sequence.
LogicalResult buildCemaMatrixForm(RewriterBase &rewriter, CemaOp op,
                                  const CemaShape &shape, int64_t block);

/// The same for a cema_grad (CemaGradMatrixForm.cpp).
LogicalResult buildCemaGradMatrixForm(RewriterBase &rewriter, CemaGradOp op,
                                      const CemaShape &shape, int64_t block);

/// megalodon-tile-cema's rewrite of a cema_grad with a tile config.
LogicalResult tileCemaGrad(RewriterBase &rewriter, CemaGradOp op);

/// Builders of vector<lanes x f32> arithmetic on rows of f32 tensors.
class LaneVectors {
public:
  LaneVectors(OpBuilder &b, Location loc, int64_t lanes)
      : b(b), loc(loc), type(VectorType::get({lanes}, b.getF32Type())),
        zero(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0))) {}

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

  /// The vector at `indices` (the last one the first lane) of `source`.
  Value read(Value source, ValueRange indices) {
    return vector::TransferReadOp::create(b, loc, type, source, indices, zero,
                                          ArrayRef<bool>{true});
  }

  /// `dest` with `value` written at `indices`.
  Value write(Value value, Value dest, ValueRange indices) {
    return vector::TransferWriteOp::create(b, loc, value, dest, indices,
                                           ArrayRef<bool>{true})
        .getResult();
  }

  Value mul(Value a, Value m) { return arith::MulFOp::create(b, loc, a, m); }

  /// a m + acc.
  Value fma(Value a, Value m, Value acc) {
    return vector::FMAOp::create(b, loc, a, m, acc);
  }

  /// acc - a m, with both operations marked contractible so that LLVM forms
  /// one negated FMA (vfnmadd) without a negated copy of `a` in a register.
  Value fnma(Value a, Value m, Value acc) {
    auto contract = arith::FastMathFlagsAttr::get(
        b.getContext(), arith::FastMathFlags::contract);
    Value product = arith::MulFOp::create(b, loc, a, m, contract);
    return arith::SubFOp::create(b, loc, acc, product, contract);
  }

private:
  OpBuilder &b;
  Location loc;
  VectorType type;
  Value zero;
};

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMATILING_H
