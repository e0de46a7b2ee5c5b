//===- CemaGradMatrixForm.cpp - cema_grad in the block (matrix) form ------===//
//
// The gradient of the block form (CemaMatrixForm.cpp), for a cema_grad whose
// tile config is `matrix_block = T`. Per block m of T steps (in-block steps
// tau, s, r), with H the state entering the block (from the forward's
// scan over blocks) and zeta the adjoint arriving at its last step from the
// future (the cotangent of h_last for the last block), the adjoint of
// MODEL.md section 8 (A) is
//
//   lambda_tau = conj(gamma) sum_{s >= tau} conj(q)^(s-tau) gy_s
//                + conj(q)^(T-1-tau) zeta.
//
// It is the forward's recurrence transposed, so the forward's matrices
// serve again, transposed and conjugated:
//
//   gx[tau]      = omega gy + sum_s K[s, tau] gy_s + Re sum_n conj(V[tau]) zeta
//   zeta_{m-1}   = conj(q^T) zeta_m + conj(gamma Y_m),  Y = sum_s q^(s+1) gy_s
//   g_hx         = zeta after block 0.
//
// The parameter gradients sum lambda_t conj(h_{t-1}), u_t Re(lambda_t) and
// gy_t conj(h_t) over time. Inside a block each splits into a part that
// depends only on the lag between an input u_r and an output gradient gy_s,
// through the lag correlation G[j] = sum_{b, m, tau} gy_tau u_(tau-j)
// (j = 0..T-1, MODEL.md's kernel-form gradient within blocks), and parts
// that pair a block's H or zeta with a contraction of its u or gy:
//
//   grad gamma = p S1 + sum_{b,m} conj(H Y)
//   grad p     = Re(conj(gamma) S1) + sum_{b,m} Re(zeta conj(W))
//   grad q     = p conj(gamma) S2 + sum_{b,m} [conj(gamma H Z)
//                + p zeta conj(X) + T conj(q^(T-1) H) zeta]
//
// with S1 = sum_j conj(q^j) G[j], S2 = sum_{j >= 1} j conj(q^(j-1)) G[j],
// W = sum_r q^(T-1-r) u_r, Z = sum_s (s+1) q^s gy_s and
// X = sum_r (T-1-r) q^(T-2-r) u_r. The chain rule to the stored parameters
// is the one the other cema_grad lowerings use.
//
//===----------------------------------------------------------------------===//

#include "CemaGradBuilders.h"
#include "CemaMatrixFormBuilder.h"
#include "CemaTiling.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// The gradient's own pieces, on top of the forward's builders.
struct GradientBuilder : MatrixFormBuilder {
  /// Rows w(r) q^e(r) ([T, N, D] as {re, im}) for the block contractions Z
  /// and X: with `reversed`, w = T - 1 - r and e = T - 2 - r (row T - 1 is
  /// zero); otherwise w = r + 1 and e = r.
  SmallVector<Value> weightedPowers(ValueRange pow, bool reversed) {
    SmallVector<int64_t> tnd{block, shape.states, shape.channels};
    int64_t count = reversed ? block - 1 : block;
    if (count == 0)
      return {createFilledF32(b, loc, tnd, 0.0),
              createFilledF32(b, loc, tnd, 0.0)};
    SmallVector<int64_t> rowsShape{count, shape.states, shape.channels};
    AffineMap source = reversed ? map(3, {(count - 1) - dim(0), dim(1), dim(2)})
                                : map(3, {dim(0), dim(1), dim(2)});
    AffineMap id = map(3, {dim(0), dim(1), dim(2)});
    SmallVector<Value> weighted = generic(
        {rows(pow[0], b.getIndexAttr(0), count),
         rows(pow[1], b.getIndexAttr(0), count)},
        {createEmptyF32(b, loc, rowsShape), createEmptyF32(b, loc, rowsShape)},
        {source, source, id, id}, "ppp", [&](BodyArithmetic &f, ValueRange a) {
          // T - 1 - r, or r + 1.
          Value r = f.loopIndex(0);
          Value w = reversed ? f.sub(f.constant(count), r)
                             : f.add(r, f.constant(1.0));
          return SmallVector<Value>{f.mul(w, a[0]), f.mul(w, a[1])};
        });
    if (!reversed)
      return weighted;
    SmallVector<Value> padded;
    for (Value part : weighted)
      padded.push_back(tensor::InsertSliceOp::create(
          b, loc, part, createFilledF32(b, loc, tnd, 0.0),
          ArrayRef<OpFoldResult>(
              SmallVector<OpFoldResult>(3, b.getIndexAttr(0))),
          ArrayRef<OpFoldResult>{b.getIndexAttr(count),
                                 b.getIndexAttr(shape.states),
                                 b.getIndexAttr(shape.channels)},
          ArrayRef<OpFoldResult>(
              SmallVector<OpFoldResult>(3, b.getIndexAttr(1)))));
    return padded;
  }

  /// The adjoint's scan over the blocks, last to first: the block scan
  /// backward with decay conj(q^T) and inputs conj(gamma Y). Returns {re,
  /// im} of zeta after block 0 (g_hx, [B, N, D]) and of zeta arriving at
  /// each block ([B, M, N, D]).
  SmallVector<Value> adjointScan(ValueRange initial, ValueRange y,
                                 const CemaCoefficients &c, ValueRange pow) {
    SmallVector<Value> decay = blockDecay(pow);
    AffineMap nd = map(2, {dim(0), dim(1)});
    decay[1] = generic({decay[1]},
                       {createEmptyF32(b, loc, {shape.states, shape.channels})},
                       {nd, nd}, "pp", [&](BodyArithmetic &f, ValueRange a) {
                         return SmallVector<Value>{f.neg(a[0])};
                       })[0];
    // conj(gamma Y), loops (b, m, n, d).
    SmallVector<int64_t> bmnd{shape.batch, numBlocks, shape.states,
                              shape.channels};
    AffineMap id = map(4, {dim(0), dim(1), dim(2), dim(3)});
    AffineMap perState = map(4, {dim(2), dim(3)});
    SmallVector<Value> inputs =
        generic({c.gammaRe, c.gammaIm, y[0], y[1]},
                {createEmptyF32(b, loc, bmnd), createEmptyF32(b, loc, bmnd)},
                {perState, perState, id, id, id, id}, "pppp",
                [&](BodyArithmetic &f, ValueRange a) {
                  auto [re, im] = f.cmul(a[0], a[1], a[2], a[3]);
                  return SmallVector<Value>{re, f.neg(im)};
                });
    return blockScan(initial, inputs, decay, /*backward=*/true);
  }

  /// G [T, D]: G[j, d] = sum_{b, m, tau >= j} gy[b, m, tau, d] u[b, m, tau -
  /// j, d]. Lag j reads the blocked u below T - 1 rows of zeros from row
  /// T - 1 - j on, a static slice, so each lag is one vectorized reduction.
  Value lagCorrelation(Value u4, Value gy4) {
    int64_t t = block, d = shape.channels;
    SmallVector<int64_t> paddedShape{shape.batch, numBlocks, 2 * t - 1, d};
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> strides(4, one);
    Value padded = tensor::InsertSliceOp::create(
        b, loc, u4, createFilledF32(b, loc, paddedShape, 0.0),
        ArrayRef<OpFoldResult>{zero, zero, b.getIndexAttr(t - 1), zero},
        ArrayRef<OpFoldResult>{b.getIndexAttr(shape.batch),
                               b.getIndexAttr(numBlocks), b.getIndexAttr(t),
                               b.getIndexAttr(d)},
        strides);
    auto blockType = cast<RankedTensorType>(u4.getType());
    auto loop = scf::ForOp::create(
        b, loc, constantIndex(0), constantIndex(t), constantIndex(1),
        ValueRange{createEmptyF32(b, loc, {t, d})},
        [&](OpBuilder &lb, Location lloc, Value j, ValueRange g) {
          GradientBuilder inner{{lb, lloc, shape, block, numBlocks}};
          Value first =
              arith::SubIOp::create(lb, lloc, inner.constantIndex(t - 1), j);
          Value shifted = tensor::ExtractSliceOp::create(
              lb, lloc, blockType, padded,
              ArrayRef<OpFoldResult>{zero, zero, first, zero},
              ArrayRef<OpFoldResult>{lb.getIndexAttr(shape.batch),
                                     lb.getIndexAttr(numBlocks),
                                     lb.getIndexAttr(t), lb.getIndexAttr(d)},
              strides);
          AffineMap bmtd = inner.map(
              4, {inner.dim(0), inner.dim(1), inner.dim(2), inner.dim(3)});
          Value lag = inner.generic(
              {gy4, shifted}, {createFilledF32(lb, lloc, {d}, 0.0)},
              {bmtd, bmtd, inner.map(4, {inner.dim(3)})}, "rrrp",
              [&](BodyArithmetic &f, ValueRange a) {
                return SmallVector<Value>{f.add(a[2], f.mul(a[0], a[1]))};
              })[0];
          Value next = tensor::InsertSliceOp::create(
              lb, lloc, lag, g[0], ArrayRef<OpFoldResult>{j, zero},
              ArrayRef<OpFoldResult>{one, lb.getIndexAttr(d)},
              ArrayRef<OpFoldResult>{one, one});
          scf::YieldOp::create(lb, lloc, next);
        });
    return loop.getResult(0);
  }

  /// S1 = sum_j conj(q^j) G[j] and S2 = sum_{j >= 1} j conj(q^(j-1)) G[j],
  /// as {S1 re, S1 im, S2 re, S2 im}, each [N, D].
  SmallVector<Value> lagSums(Value g, ValueRange pow) {
    SmallVector<int64_t> nd{shape.states, shape.channels};
    // Loops (j, n, d).
    AffineMap jd = map(3, {dim(0), dim(2)});
    AffineMap jnd = map(3, {dim(0), dim(1), dim(2)});
    AffineMap out = map(3, {dim(1), dim(2)});
    auto weightedSum = [&](Value lags, int64_t first, int64_t count,
                           bool weighted) {
      return generic(
          {lags, rows(pow[0], b.getIndexAttr(0), count),
           rows(pow[1], b.getIndexAttr(0), count)},
          {createFilledF32(b, loc, nd, 0.0), createFilledF32(b, loc, nd, 0.0)},
          {jd, jnd, jnd, out, out}, "rpp",
          [&](BodyArithmetic &f, ValueRange a) {
            Value gj = a[0];
            if (weighted) {
              // Row j of these lags is lag j + first.
              gj = f.mul(f.add(f.loopIndex(0), f.constant(first)), gj);
            }
            // conj(q^j) g: (re g, -im g).
            return SmallVector<Value>{f.add(a[3], f.mul(gj, a[1])),
                                      f.sub(a[4], f.mul(gj, a[2]))};
          });
    };
    SmallVector<Value> sums = weightedSum(g, 0, block, false);
    if (block == 1) {
      sums.push_back(createFilledF32(b, loc, nd, 0.0));
      sums.push_back(createFilledF32(b, loc, nd, 0.0));
      return sums;
    }
    Value shifted = tensor::ExtractSliceOp::create(
        b, loc,
        RankedTensorType::get({block - 1, shape.channels}, b.getF32Type()), g,
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(block - 1),
                               b.getIndexAttr(shape.channels)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    llvm::append_range(sums, weightedSum(shifted, 1, block - 1, true));
    return sums;
  }
};

} // namespace

LogicalResult mlir::megalodon::detail::buildCemaGradMatrixForm(
    RewriterBase &rewriter, CemaGradOp op, const CemaShape &shape,
    int64_t block) {
  if (failed(requireDividingBlock(op, shape, block)))
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  GradientBuilder form{{rewriter, loc, shape, block, shape.steps / block}};

  // The forward's pieces; its scan gives the states entering the blocks.
  MatrixFormBuilder::ForwardPieces fwd = form.forwardPieces(op);
  const CemaCoefficients &c = fwd.c;
  ArrayRef<Value> pow = fwd.pow, v = fwd.v;
  Value x4 = fwd.x4, gy4 = form.toBlocks(op.getGy());
  SmallVector<Value> entering{fwd.scan[2], fwd.scan[3]};

  // Y = sum_s q^(s+1) gy_s per block, and the adjoint's scan.
  SmallVector<Value> powersFromOne{
      form.rows(pow[0], rewriter.getIndexAttr(1), block),
      form.rows(pow[1], rewriter.getIndexAttr(1), block)};
  SmallVector<Value> y = form.blockInputs(gy4, powersFromOne);
  SmallVector<Value> adjoint =
      form.adjointScan(form.stateParts(op.getGHLast()), y, c, pow);
  SmallVector<Value> zeta{adjoint[2], adjoint[3]};

  Value gx4 = form.readOut(
      v, zeta,
      form.toeplitzProduct(fwd.k, gy4, form.skipTerm(gy4, fwd.omega), true),
      /*conjugate=*/true);

  // The parameter gradients' per-block pieces.
  SmallVector<Value> w =
      form.blockInputs(x4, form.vandermonde(c, pow, /*withGain=*/false));
  SmallVector<Value> z =
      form.blockInputs(gy4, form.weightedPowers(pow, /*reversed=*/false));
  SmallVector<Value> xr =
      form.blockInputs(x4, form.weightedPowers(pow, /*reversed=*/true));
  SmallVector<Value> lag = form.lagSums(form.lagCorrelation(x4, gy4), pow);
  Value qLastRe = form.row(pow[0], rewriter.getIndexAttr(block - 1));
  Value qLastIm = form.row(pow[1], rewriter.getIndexAttr(block - 1));

  // The five sums over (b, m) of the per-block terms, [N, D] each (loops
  // (n, b, m, d), so that they vectorize over the channels).
  AffineMap perBlock =
      form.map(4, {form.dim(1), form.dim(2), form.dim(0), form.dim(3)});
  AffineMap perState = form.map(4, {form.dim(0), form.dim(3)});
  SmallVector<Value> blockIns{
      entering[0], entering[1], y[0],      y[1],    w[0],    w[1],
      z[0],        z[1],        xr[0],     xr[1],   zeta[0], zeta[1],
      c.p,         c.gammaRe,   c.gammaIm, qLastRe, qLastIm};
  SmallVector<AffineMap> blockMaps(12, perBlock);
  blockMaps.append(10, perState);
  SmallVector<Value> blockOuts;
  for (int i = 0; i < 5; ++i)
    blockOuts.push_back(
        createFilledF32(rewriter, loc, {shape.states, shape.channels}, 0.0));
  SmallVector<Value> blockSums = form.generic(
      blockIns, blockOuts, blockMaps, "prrp",
      [&](BodyArithmetic &f, ValueRange a) {
        Value hRe = a[0], hIm = a[1], yRe = a[2], yIm = a[3], wRe = a[4],
              wIm = a[5], zRe = a[6], zIm = a[7], xRe = a[8], xIm = a[9],
              zetaRe = a[10], zetaIm = a[11], p = a[12], gRe = a[13],
              gIm = a[14], lRe = a[15], lIm = a[16];
        // grad p += Re(zeta conj(W)).
        Value gp = f.add(a[17], f.add(f.mul(zetaRe, wRe), f.mul(zetaIm, wIm)));
        // grad gamma += conj(H Y).
        auto [hyRe, hyIm] = f.cmul(hRe, hIm, yRe, yIm);
        Value gGammaRe = f.add(a[20], hyRe);
        Value gGammaIm = f.sub(a[21], hyIm);
        // grad q += conj(gamma H Z) + p zeta conj(X) + T conj(q^(T-1) H) zeta.
        auto [hzRe, hzIm] = f.cmul(hRe, hIm, zRe, zIm);
        auto [ghzRe, ghzIm] = f.cmul(gRe, gIm, hzRe, hzIm);
        Value zxRe = f.mul(p, f.add(f.mul(zetaRe, xRe), f.mul(zetaIm, xIm)));
        Value zxIm = f.mul(p, f.sub(f.mul(zetaIm, xRe), f.mul(zetaRe, xIm)));
        auto [qhRe, qhIm] = f.cmul(lRe, lIm, hRe, hIm);
        Value steps = f.constant(double(block));
        Value lastRe =
            f.mul(steps, f.add(f.mul(qhRe, zetaRe), f.mul(qhIm, zetaIm)));
        Value lastIm =
            f.mul(steps, f.sub(f.mul(qhRe, zetaIm), f.mul(qhIm, zetaRe)));
        Value gqRe = f.add(a[18], f.add(ghzRe, f.add(zxRe, lastRe)));
        Value gqIm = f.add(a[19], f.add(f.sub(zxIm, ghzIm), lastIm));
        return SmallVector<Value>{gp, gqRe, gqIm, gGammaRe, gGammaIm};
      });

  // Plus the lag sums: grad p += Re(conj(gamma) S1), grad q += p conj(gamma)
  // S2, grad gamma += p S1; written [D, N] for the chain rule. Loops (d, n).
  AffineMap dn = form.map(2, {form.dim(0), form.dim(1)});
  AffineMap nd = form.map(2, {form.dim(1), form.dim(0)});
  SmallVector<Value> totalIns{c.p,    c.gammaRe, c.gammaIm, lag[0],
                              lag[1], lag[2],    lag[3]};
  llvm::append_range(totalIns, blockSums);
  SmallVector<AffineMap> totalMaps(12, nd);
  totalMaps.append(5, dn);
  SmallVector<Value> totalOuts;
  for (int i = 0; i < 5; ++i)
    totalOuts.push_back(
        createEmptyF32(rewriter, loc, {shape.channels, shape.states}));
  SmallVector<Value> totals = form.generic(
      totalIns, totalOuts, totalMaps, "pp",
      [&](BodyArithmetic &f, ValueRange a) {
        Value p = a[0], gRe = a[1], gIm = a[2], s1Re = a[3], s1Im = a[4],
              s2Re = a[5], s2Im = a[6];
        Value gp = f.add(a[7], f.add(f.mul(gRe, s1Re), f.mul(gIm, s1Im)));
        Value gqRe =
            f.add(a[8], f.mul(p, f.add(f.mul(gRe, s2Re), f.mul(gIm, s2Im))));
        Value gqIm =
            f.add(a[9], f.mul(p, f.sub(f.mul(gRe, s2Im), f.mul(gIm, s2Re))));
        Value gGammaRe = f.add(a[10], f.mul(p, s1Re));
        Value gGammaIm = f.add(a[11], f.mul(p, s1Im));
        return SmallVector<Value>{gp, gqRe, gqIm, gGammaRe, gGammaIm};
      });

  SmallVector<Value> replacements{form.fromBlocks(gx4, op.getX().getType())};
  llvm::append_range(replacements,
                     storedParameterGradients(
                         rewriter, loc, op, op.getAlpha(), op.getDelta(),
                         op.getTheta(), totals, op.getX(), op.getGy(), shape));
  if (op.getHx())
    replacements.push_back(
        form.complexState({adjoint[0], adjoint[1]}, op.getGHx().getType()));
  rewriter.replaceOp(op, replacements);
  return success();
}
