//===- CemaMatrixForm.cpp - cema as products of small matrices ------------===//
//
// The block (matrix) form of megalodon.cema, which megalodon-tile-cema
// builds for a tile config that names `matrix_block` (T). Time is cut into
// M = L / T blocks. Inside block m, with H_m the state entering it (the
// state after block m - 1, or hx), step tau of the block is
//
//   h = q^(tau+1) H_m + sum_{s <= tau} q^(tau-s) p u_s
//   y = sum_{s <= tau} k[tau - s] u_s + Re sum_n gamma q^(tau+1) H_m + omega u
//
// with the kernel k[j] = Re sum_n gamma p q^j (MODEL.md section 5). So a
// block's output is three contractions with matrices shared by every block
// and batch row:
//
//   y_intra[b, m, t, d] = sum_s K[t, s, d] x[b, m, s, d]       (T x T per d)
//   U[b, m, d, n]       = sum_s V[s, d, n] x[b, m, s, d]       (T x N per d)
//   y_carry[b, m, t, d] = Re sum_n C[t, d, n] H[b, m, d, n]    (T x N per d)
//
// with the lower-triangular Toeplitz K[t, s] = k[t - s] (s <= t), the
// Vandermonde rows V[s] = p q^(T-1-s) and C[t] = gamma q^(t+1); the states
// entering the blocks come from a scan over the M blocks only,
// H_{m+1} = q^T H_m + U_m. The recurrence's L sequential steps become M
// steps and dense products that a matrix unit (tensor cores) or wide
// vectors run at full rate; the cost is T / 2 + 4 N multiply-adds per step
// and channel against the recurrence's 6 N, and T x T x D floats for K.
//
// The powers q^j, j = 0..T, come from repeated complex multiplication (an
// error of about j ulps), not from exp(j log q), whose f32 angle j phi
// loses digits as j grows.
//
//===----------------------------------------------------------------------===//

#include "CemaMatrixFormBuilder.h"
#include "CemaTiling.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

LogicalResult mlir::megalodon::detail::buildCemaMatrixForm(
    RewriterBase &rewriter, CemaOp op, const CemaShape &shape, int64_t block) {
  if (failed(requireDividingBlock(op, shape, block)))
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  MatrixFormBuilder form{rewriter, loc, shape, block, shape.steps / block};

  MatrixFormBuilder::ForwardPieces p = form.forwardPieces(op);
  Value y4 = form.readOut(
      form.carryRows(p.c, p.pow), {p.scan[2], p.scan[3]},
      form.toeplitzProduct(p.k, p.x4, form.skipTerm(p.x4, p.omega), false),
      false);
  Value y = form.fromBlocks(y4, op.getX().getType());
  Value hLast =
      form.complexState({p.scan[0], p.scan[1]}, op.getHLast().getType());
  rewriter.replaceOp(op, {y, hLast});
  return success();
}
