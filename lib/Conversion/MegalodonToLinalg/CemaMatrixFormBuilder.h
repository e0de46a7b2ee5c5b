//===- CemaMatrixFormBuilder.h - Builders of cema's block form -*- C++ -*-===//
//
// The pieces of the block (matrix) form of cema (CemaMatrixForm.cpp) that
// its gradient (CemaGradMatrixForm.cpp) builds again: the powers of q, the
// Toeplitz, Vandermonde and read-out matrices of a block, the contractions
// of blocked [B, M, T, D] tensors with them, and the scan over blocks.
// Everything per state is state-major ([.., N, D]), so that the innermost
// loop of every contraction runs over contiguous channels, which is what
// the CPU pipeline vectorizes.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAMATRIXFORMBUILDER_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAMATRIXFORMBUILDER_H

#include "CemaBuilders.h"
#include "CemaTiling.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::megalodon::detail {

/// The block form needs blocks that divide the sequence; the verify pass
/// says so first in the pipeline, this guards direct uses of the pass.
inline LogicalResult requireDividingBlock(Operation *op, const CemaShape &shape,
                                          int64_t block) {
  if (block >= 1 && shape.steps % block == 0)
    return success();
  return op->emitOpError("tile config: matrix_block (")
         << block << ") must divide the " << shape.steps
         << " time steps (run megalodon-verify-tile-configs)";
}

/// Scalar f32 arithmetic in the body of a generic.
struct BodyArithmetic {
  OpBuilder &b;
  Location loc;
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value constant(double value) { return createF32Constant(b, loc, value); }
  /// The index of loop `dim` as an f32.
  Value loopIndex(unsigned dim) {
    Value index = arith::IndexCastOp::create(
        b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, dim));
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), index);
  }
  /// (xRe + i xIm) (yRe + i yIm) as {re, im}.
  std::pair<Value, Value> cmul(Value xRe, Value xIm, Value yRe, Value yIm) {
    return {sub(mul(xRe, yRe), mul(xIm, yIm)),
            add(mul(xRe, yIm), mul(xIm, yRe))};
  }
};

using BodyBuilder =
    function_ref<SmallVector<Value>(BodyArithmetic &, ValueRange)>;

/// Builders of the form's linalg.generic ops, which all index with maps
/// that pick loops (or affine combinations of them) of one nest.
struct MatrixFormBuilder {
  OpBuilder &b;
  Location loc;
  CemaShape shape;
  int64_t block;     // T
  int64_t numBlocks; // M

  /// The map from a nest of `numDims` loops to `results`.
  AffineMap map(unsigned numDims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(numDims, 0, results, b.getContext());
  }
  AffineExpr dim(unsigned i) { return b.getAffineDimExpr(i); }

  /// A generic whose loops are `loops`, one letter each: 'p' parallel,
  /// 'r' reduction; `outs` are the initial values of its results. The
  /// contractions keep the loop of contiguous elements innermost, which is
  /// what the CPU pipeline vectorizes.
  SmallVector<Value> generic(ValueRange ins, ValueRange outs,
                             ArrayRef<AffineMap> maps, StringRef loops,
                             BodyBuilder body) {
    SmallVector<utils::IteratorType> iterators;
    for (char loop : loops)
      iterators.push_back(loop == 'r' ? utils::IteratorType::reduction
                                      : utils::IteratorType::parallel);
    auto op = linalg::GenericOp::create(
        b, loc, outs.getTypes(), ins, outs, maps, iterators,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          BodyArithmetic f{nb, nloc};
          linalg::YieldOp::create(nb, nloc, body(f, args));
        });
    return SmallVector<Value>(op.getResults());
  }

  /// Rows [first, first + count) of a [rows, N, D] tensor; as [N, D] with
  /// `dropRow` (count 1).
  Value rows(Value source, OpFoldResult first, int64_t count,
             bool dropRow = false) {
    SmallVector<int64_t> shapeOut{shape.states, shape.channels};
    if (!dropRow)
      shapeOut.insert(shapeOut.begin(), count);
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shapeOut, b.getF32Type()), source,
        ArrayRef<OpFoldResult>{first, b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(count),
                               b.getIndexAttr(shape.states),
                               b.getIndexAttr(shape.channels)},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
  }

  /// Row `index` of a [rows, N, D] tensor, as [N, D].
  Value row(Value source, OpFoldResult index) {
    return rows(source, index, 1, /*dropRow=*/true);
  }

  /// `value` [N, D] written as row `row` of `dest` [rows, N, D].
  Value insertRow(Value value, Value dest, OpFoldResult row) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    return tensor::InsertSliceOp::create(
        b, loc, value, dest, ArrayRef<OpFoldResult>{row, zero, zero},
        ArrayRef<OpFoldResult>{one, b.getIndexAttr(shape.states),
                               b.getIndexAttr(shape.channels)},
        ArrayRef<OpFoldResult>{one, one, one});
  }

  /// q^j for j = 0..T as {re, im}, each [T + 1, N, D]: row j is row j - 1
  /// times q, one complex multiplication per row.
  SmallVector<Value> powers(const CemaCoefficients &c) {
    SmallVector<int64_t> dn{shape.states, shape.channels};
    SmallVector<int64_t> rows{block + 1, shape.states, shape.channels};
    Value re = insertRow(createFilledF32(b, loc, dn, 1.0),
                         createEmptyF32(b, loc, rows), b.getIndexAttr(0));
    Value im = insertRow(createFilledF32(b, loc, dn, 0.0),
                         createEmptyF32(b, loc, rows), b.getIndexAttr(0));
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value end = arith::ConstantIndexOp::create(b, loc, block + 1);
    auto loop = scf::ForOp::create(
        b, loc, one, end, one, ValueRange{re, im},
        [&](OpBuilder &lb, Location lloc, Value j, ValueRange parts) {
          MatrixFormBuilder inner{lb, lloc, shape, block, numBlocks};
          Value previous =
              arith::SubIOp::create(lb, lloc, j, inner.constantIndex(1));
          AffineMap id = inner.map(2, {inner.dim(0), inner.dim(1)});
          SmallVector<Value> next = inner.generic(
              {inner.row(parts[0], previous), inner.row(parts[1], previous),
               c.qRe, c.qIm},
              {createEmptyF32(lb, lloc, dn), createEmptyF32(lb, lloc, dn)},
              {id, id, id, id, id, id}, "pp",
              [&](BodyArithmetic &f, ValueRange a) {
                auto [re, im] = f.cmul(a[0], a[1], a[2], a[3]);
                return SmallVector<Value>{re, im};
              });
          scf::YieldOp::create(
              lb, lloc,
              ValueRange{inner.insertRow(next[0], parts[0], j),
                         inner.insertRow(next[1], parts[1], j)});
        });
    return SmallVector<Value>(loop.getResults());
  }

  Value constantIndex(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

  /// The Toeplitz matrices K [T, T, D]: K[t, s, d] = k[t - s, d] for
  /// s <= t and 0 above the diagonal. The kernel reversed, k[T-1-s] =
  /// sum_n Re(gamma V[s]), followed by T - 1 rows of zeros, holds every row
  /// of K as a slice: row t is rows [T-1-t, 2T-1-t). K is built from those
  /// T slice copies rather than by a generic indexing with t - s, which
  /// elementwise fusion would fold into the product and keep it from
  /// vectorizing.
  Value toeplitz(const CemaCoefficients &c, ValueRange v) {
    int64_t t = block, d = shape.channels;
    // Loops (s, n, d).
    AffineMap snd = map(3, {dim(0), dim(1), dim(2)});
    AffineMap nd = map(3, {dim(1), dim(2)});
    AffineMap sd = map(3, {dim(0), dim(2)});
    Value reversed =
        generic({v[0], v[1], c.gammaRe, c.gammaIm},
                {createFilledF32(b, loc, {t, d}, 0.0)}, {snd, snd, nd, nd, sd},
                "prp", [&](BodyArithmetic &f, ValueRange a) {
                  Value re = f.sub(f.mul(a[2], a[0]), f.mul(a[3], a[1]));
                  return SmallVector<Value>{f.add(a[4], re)};
                })[0];
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value padded = tensor::InsertSliceOp::create(
        b, loc, reversed, createFilledF32(b, loc, {2 * t - 1, d}, 0.0),
        ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{b.getIndexAttr(t), b.getIndexAttr(d)},
        ArrayRef<OpFoldResult>{one, one});
    auto rowType = RankedTensorType::get({t, d}, b.getF32Type());
    auto loop = scf::ForOp::create(
        b, loc, constantIndex(0), constantIndex(t), constantIndex(1),
        ValueRange{createEmptyF32(b, loc, {t, t, d})},
        [&](OpBuilder &lb, Location lloc, Value row, ValueRange k) {
          Value first = arith::SubIOp::create(
              lb, lloc, arith::ConstantIndexOp::create(lb, lloc, t - 1), row);
          Value slice = tensor::ExtractSliceOp::create(
              lb, lloc, rowType, padded, ArrayRef<OpFoldResult>{first, zero},
              ArrayRef<OpFoldResult>{lb.getIndexAttr(t), lb.getIndexAttr(d)},
              ArrayRef<OpFoldResult>{one, one});
          Value next = tensor::InsertSliceOp::create(
              lb, lloc, slice, k[0], ArrayRef<OpFoldResult>{row, zero, zero},
              ArrayRef<OpFoldResult>{one, lb.getIndexAttr(t),
                                     lb.getIndexAttr(d)},
              ArrayRef<OpFoldResult>{one, one, one});
          scf::YieldOp::create(lb, lloc, next);
        });
    return loop.getResult(0);
  }

  /// V [T, N, D] as {re, im}: V[s] = p q^(T-1-s), what input step s of a
  /// block adds to the state at the block's end; without `withGain`,
  /// q^(T-1-s).
  SmallVector<Value> vandermonde(const CemaCoefficients &c, ValueRange pow,
                                 bool withGain = true) {
    SmallVector<int64_t> tdn{block, shape.states, shape.channels};
    AffineMap reversed = map(3, {(block - 1) - dim(0), dim(1), dim(2)});
    AffineMap dn = map(3, {dim(1), dim(2)});
    AffineMap id = map(3, {dim(0), dim(1), dim(2)});
    OpFoldResult first = b.getIndexAttr(0);
    return generic(
        {rows(pow[0], first, block), rows(pow[1], first, block), c.p},
        {createEmptyF32(b, loc, tdn), createEmptyF32(b, loc, tdn)},
        {reversed, reversed, dn, id, id}, "ppp",
        [&](BodyArithmetic &f, ValueRange a) {
          if (!withGain)
            return SmallVector<Value>{a[0], a[1]};
          return SmallVector<Value>{f.mul(a[2], a[0]), f.mul(a[2], a[1])};
        });
  }

  /// C [T, N, D] as {re, im}: C[t] = gamma q^(t+1), what the state entering
  /// a block adds to the output of its step t.
  SmallVector<Value> carryRows(const CemaCoefficients &c, ValueRange pow) {
    SmallVector<int64_t> tdn{block, shape.states, shape.channels};
    AffineMap dn = map(3, {dim(1), dim(2)});
    AffineMap id = map(3, {dim(0), dim(1), dim(2)});
    OpFoldResult first = b.getIndexAttr(1);
    return generic({rows(pow[0], first, block), rows(pow[1], first, block),
                    c.gammaRe, c.gammaIm},
                   {createEmptyF32(b, loc, tdn), createEmptyF32(b, loc, tdn)},
                   {id, id, dn, dn, id, id}, "ppp",
                   [&](BodyArithmetic &f, ValueRange a) {
                     auto [re, im] = f.cmul(a[2], a[3], a[0], a[1]);
                     return SmallVector<Value>{re, im};
                   });
  }

  /// U [B, M, N, D] as {re, im}: each block's input summed into the state
  /// at its end, from a zero state.
  SmallVector<Value> blockInputs(Value x4, ValueRange v) {
    SmallVector<int64_t> bmdn{shape.batch, numBlocks, shape.states,
                              shape.channels};
    // Loops (b, m, s, n, d).
    AffineMap xs = map(5, {dim(0), dim(1), dim(2), dim(4)});
    AffineMap vs = map(5, {dim(2), dim(3), dim(4)});
    AffineMap out = map(5, {dim(0), dim(1), dim(3), dim(4)});
    return generic({x4, v[0], v[1]},
                   {createFilledF32(b, loc, bmdn, 0.0),
                    createFilledF32(b, loc, bmdn, 0.0)},
                   {xs, vs, vs, out, out}, "pprpp",
                   [&](BodyArithmetic &f, ValueRange a) {
                     return SmallVector<Value>{f.add(a[3], f.mul(a[0], a[1])),
                                               f.add(a[4], f.mul(a[0], a[2]))};
                   });
  }

  /// The scan over blocks, H' = decay H + u_m, from `initial` ([B, N, D]),
  /// over blocks m = 0..M-1 or, `backward`, M-1..0; every value is {re, im}
  /// and `decay` is [N, D], `u` [B, M, N, D]. Returns the final H and the
  /// H that entered each block ([B, M, N, D]).
  SmallVector<Value> blockScan(ValueRange initial, ValueRange u,
                               ValueRange decay, bool backward = false) {
    SmallVector<int64_t> bmnd{shape.batch, numBlocks, shape.states,
                              shape.channels};
    SmallVector<int64_t> bnd{shape.batch, shape.states, shape.channels};
    auto loop = scf::ForOp::create(
        b, loc, constantIndex(0), constantIndex(numBlocks), constantIndex(1),
        ValueRange{initial[0], initial[1], createEmptyF32(b, loc, bmnd),
                   createEmptyF32(b, loc, bmnd)},
        [&](OpBuilder &lb, Location lloc, Value i, ValueRange carried) {
          MatrixFormBuilder inner{lb, lloc, shape, block, numBlocks};
          Value m = backward
                        ? arith::SubIOp::create(
                              lb, lloc, inner.constantIndex(numBlocks - 1), i)
                              .getResult()
                        : i;
          OpFoldResult zero = lb.getIndexAttr(0), one = lb.getIndexAttr(1);
          SmallVector<OpFoldResult> offsets{zero, m, zero, zero};
          SmallVector<OpFoldResult> sizes{lb.getIndexAttr(shape.batch), one,
                                          lb.getIndexAttr(shape.states),
                                          lb.getIndexAttr(shape.channels)};
          SmallVector<OpFoldResult> strides(4, one);
          auto stateType = RankedTensorType::get(bnd, lb.getF32Type());
          SmallVector<Value> entering, um;
          for (int part = 0; part < 2; ++part) {
            entering.push_back(tensor::InsertSliceOp::create(
                lb, lloc, carried[part], carried[2 + part], offsets, sizes,
                strides));
            um.push_back(tensor::ExtractSliceOp::create(
                lb, lloc, stateType, u[part], offsets, sizes, strides));
          }
          AffineMap id =
              inner.map(3, {inner.dim(0), inner.dim(1), inner.dim(2)});
          AffineMap nd = inner.map(3, {inner.dim(1), inner.dim(2)});
          // Written over H (the loop's own state), as bufferization needs
          // for the loop to update it in place.
          SmallVector<Value> next = inner.generic(
              {decay[0], decay[1], um[0], um[1]}, {carried[0], carried[1]},
              {nd, nd, id, id, id, id}, "ppp",
              [&](BodyArithmetic &f, ValueRange a) {
                auto [re, im] = f.cmul(a[0], a[1], a[4], a[5]);
                return SmallVector<Value>{f.add(re, a[2]), f.add(im, a[3])};
              });
          scf::YieldOp::create(
              lb, lloc, ValueRange{next[0], next[1], entering[0], entering[1]});
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// q^T ({re, im}, [N, D]), by which a state decays over a block.
  SmallVector<Value> blockDecay(ValueRange pow) {
    return {row(pow[0], b.getIndexAttr(block)),
            row(pow[1], b.getIndexAttr(block))};
  }

  /// omega[d] v[b, m, t, d] for blocked `v` [B, M, T, D].
  Value skipTerm(Value v, Value omega) {
    SmallVector<int64_t> bmtd{shape.batch, numBlocks, block, shape.channels};
    AffineMap bmtd4 = map(4, {dim(0), dim(1), dim(2), dim(3)});
    return generic({v, omega}, {createEmptyF32(b, loc, bmtd)},
                   {bmtd4, map(4, {dim(3)}), bmtd4}, "pppp",
                   [&](BodyArithmetic &f, ValueRange a) {
                     return SmallVector<Value>{f.mul(a[1], a[0])};
                   })[0];
  }

  /// acc[b, m, t, d] + sum_s K[t, s, d] v[b, m, s, d], or with
  /// `transposed` K[s, t, d] (the adjoint's upper-triangular product).
  Value toeplitzProduct(Value k, Value v, Value acc, bool transposed) {
    // Loops (b, m, t, s, d).
    AffineMap kMap = transposed ? map(5, {dim(3), dim(2), dim(4)})
                                : map(5, {dim(2), dim(3), dim(4)});
    return generic({k, v}, {acc},
                   {kMap, map(5, {dim(0), dim(1), dim(3), dim(4)}),
                    map(5, {dim(0), dim(1), dim(2), dim(4)})},
                   "ppprp", [&](BodyArithmetic &f, ValueRange a) {
                     return SmallVector<Value>{f.add(a[2], f.mul(a[0], a[1]))};
                   })[0];
  }

  /// acc[b, m, t, d] + Re sum_n R[t, n, d] S[b, m, n, d] for rows R
  /// [T, N, D] and per-block states S [B, M, N, D], each as {re, im}; with
  /// `conjugate`, Re sum_n conj(R) S.
  Value readOut(ValueRange r, ValueRange states, Value acc, bool conjugate) {
    // Loops (b, m, t, n, d).
    AffineMap tnd = map(5, {dim(2), dim(3), dim(4)});
    AffineMap bmnd = map(5, {dim(0), dim(1), dim(3), dim(4)});
    return generic(
        {r[0], r[1], states[0], states[1]}, {acc},
        {tnd, tnd, bmnd, bmnd, map(5, {dim(0), dim(1), dim(2), dim(4)})},
        "ppprp", [&](BodyArithmetic &f, ValueRange a) {
          Value reRe = f.mul(a[0], a[2]);
          Value imIm = f.mul(a[1], a[3]);
          Value re = conjugate ? f.add(reRe, imIm) : f.sub(reRe, imIm);
          return SmallVector<Value>{f.add(a[4], re)};
        })[0];
  }
  /// What the forward and the gradient both build first.
  struct ForwardPieces {
    CemaCoefficients c;
    Value omega;             // [D]
    SmallVector<Value> pow;  // q^0..q^T
    SmallVector<Value> v;    // the Vandermonde rows
    Value k;                 // the Toeplitz matrices
    Value x4;                // x in blocks
    SmallVector<Value> scan; // blockScan from hx over the blocks' inputs
  };

  /// The pieces of `op`, a cema or cema_grad (the same operand names).
  template <typename CemaLikeOp> ForwardPieces forwardPieces(CemaLikeOp op) {
    ForwardPieces f;
    f.c = coefficients(op.getAlpha(), op.getDelta(), op.getTheta(),
                       op.getGamma());
    f.omega = parameterView(b, loc, op.getOmega(), {shape.channels});
    f.pow = powers(f.c);
    f.v = vandermonde(f.c, f.pow);
    f.k = toeplitz(f.c, f.v);
    f.x4 = toBlocks(op.getX());
    f.scan = blockScan(stateParts(op.getHx()), blockInputs(f.x4, f.v),
                       blockDecay(f.pow));
    return f;
  }

  /// `value` [B, L, D] as [B, M, T, D] (blocks of T steps), and back.
  Value toBlocks(Value value) {
    auto type = RankedTensorType::get(
        {shape.batch, numBlocks, block, shape.channels}, b.getF32Type());
    return tensor::ExpandShapeOp::create(b, loc, type, value, blockSplit());
  }
  Value fromBlocks(Value value, Type type) {
    return tensor::CollapseShapeOp::create(b, loc, type, value, blockSplit());
  }
  static SmallVector<ReassociationIndices> blockSplit() {
    return {{0}, {1, 2}, {3}};
  }

  /// The coefficients p, q and gamma / sqrt(N), each [N, D].
  CemaCoefficients coefficients(Value alpha, Value delta, Value theta,
                                Value gamma) {
    SmallVector<Value> c =
        stateMajorCoefficients(b, loc, alpha, delta, theta, gamma, shape);
    return {c[0], c[1], c[2], c[3], c[4]};
  }

  /// The parts {re, im} ([B, N, D] each) of a complex state [B, D, N], or
  /// zeros when `state` is null.
  SmallVector<Value> stateParts(Value state) {
    Value parts = initialStateMajor(b, loc, state, shape);
    auto partType = RankedTensorType::get(
        {shape.batch, shape.states, shape.channels}, b.getF32Type());
    SmallVector<Value> result;
    for (int64_t part = 0; part < 2; ++part)
      result.push_back(tensor::ExtractSliceOp::create(
          b, loc, partType, parts, partOffsets(part), partSizes(),
          SmallVector<OpFoldResult>(4, b.getIndexAttr(1))));
    return result;
  }

  /// The complex state of `type` ([B, D, N]) from its parts {re, im}.
  Value complexState(ValueRange parts, Type type) {
    Value joined =
        createEmptyF32(b, loc, {shape.batch, 2, shape.states, shape.channels});
    for (int64_t part = 0; part < 2; ++part)
      joined = tensor::InsertSliceOp::create(
          b, loc, parts[part], joined, partOffsets(part), partSizes(),
          SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
    return lastState(b, loc, joined, type);
  }

  SmallVector<OpFoldResult> partOffsets(int64_t part) {
    OpFoldResult zero = b.getIndexAttr(0);
    return {zero, b.getIndexAttr(part), zero, zero};
  }
  SmallVector<OpFoldResult> partSizes() {
    return {b.getIndexAttr(shape.batch), b.getIndexAttr(1),
            b.getIndexAttr(shape.states), b.getIndexAttr(shape.channels)};
  }
};

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAMATRIXFORMBUILDER_H
