//===- TimestepNormGrad.cpp - timestep_norm_grad as scans over time -------===//
//
// Lowers megalodon.timestep_norm_grad (MODEL.md section 9). Only the
// statistics are sequential in time, and they are per (batch, step, group):
// S = D / G times smaller than x. So the work on x and gy is row-wise and
// parallel, on x viewed as rows [B * L, G, S], and the scans over time run
// on [B, L, G] tensors only:
//
//   1. Row sums, in blocks of rows (buildRowBlocks, an scf.forall): per
//      (b, t, g) sum(x), then sum((x - mu)^2), sum(G) and sum(G (x - mu)),
//      G = gy * (weight + 1); two passes over a block that stays in cache,
//      as in the forward.
//   2. The forward scan (scf.for over t, the Welford update of the forward
//      lowering on [B, G] slices, statistics carried) overwrites the sums
//      with m_t, v_t and sum(G (x - m_t)). One parallel generic over
//      [B, L, G] then forms r_t = 1/sqrt(v_t + eps), gm_t, gv_t and the
//      prefix-sum terms P_t, Q_t. The reverse scan (scf.for from L-1 down to
//      0, the cotangent sums A, Bq carried, seeded by the final cotangents)
//      turns P_t, Q_t into the per-row coefficients of gx.
//   3. In blocks of rows again: gx = G r + alpha + (x - m) beta, and each
//      block's partial weight and bias gradients (a reduction over its rows).
//      The partial sums are added in block order: the result does not depend
//      on the number of threads.
//
// x and gy are thus read twice from memory and gx written once.
//
// Sums of cotangents are shifted by the final mean c = m_{L-1}: with
// A'_t = sum_{t' >= t} (gm - 2 (m - c) gv) / n (= A + 2 c Bq), the gradient
// (A + 2 x Bq) / s is (A' + 2 (m_t - c) Bq + 2 (x - m_t) Bq) / s, whose terms
// are of the size of the spread of x rather than of its mean: when the mean
// is large, they do not cancel each other, and their rounding stays small.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

using Indexing = RowwiseIndexing;
using BodyValues = SmallVector<Value>;

/// Static sizes of one timestep_norm_grad: x is [batch, steps, groups *
/// groupSize].
struct TsnShape {
  int64_t batch;
  int64_t steps;
  int64_t groups;
  int64_t groupSize;

  int64_t rows() const { return batch * steps; }
  int64_t width() const { return groups * groupSize; }
};

/// The state the forward started from: count [B] (i64), mean and var
/// [B, G].
struct TsnState {
  Value count, mean, var;
};

/// Phase 2a: the statistics after every step, [B, L, G], and the final mean
/// [B, G].
struct ForwardStats {
  Value finalMean, means, vars, centeredG;
};

/// Phase 2b: per step, 1/sqrt(v + eps) and the prefix-sum terms P, Q.
struct CotangentTerms {
  Value invStd, p, q;
};

/// Phase 2c: the sums A'_0, Bq_0 [B, G] and the per-step coefficients of gx
/// [B, L, G].
struct ReverseSums {
  Value a0, bq0, alpha, beta;
};

Value constant(OpBuilder &b, Location loc, double value) {
  return createF32Constant(b, loc, value);
}
Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}
Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value div(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::DivFOp::create(b, loc, x, y);
}

/// The step count n_t = n0 + t + 1 after absorbing step t, as f32, from the
/// carried count `n0` (i64) and `stepsPlusOne` = t + 1 (i64).
Value stepCount(OpBuilder &b, Location loc, Value n0, Value stepsPlusOne) {
  Value n = arith::AddIOp::create(b, loc, n0, stepsPlusOne);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), n);
}

/// `value` with `shape`, a reshape that merges or splits the leading
/// dimensions ([B, L, ...] <-> [B * L, ...]) or the features ([D] <->
/// [G, S]).
Value reshape(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> shape,
              ArrayRef<ReassociationIndices> reassociation) {
  auto type = cast<RankedTensorType>(value.getType());
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (target.getRank() > type.getRank())
    return tensor::ExpandShapeOp::create(b, loc, target, value, reassociation);
  return tensor::CollapseShapeOp::create(b, loc, target, value, reassociation);
}

/// [B * L, G] per-row statistics <-> [B, L, G].
Value splitRows(OpBuilder &b, Location loc, Value rows, const TsnShape &s) {
  return reshape(b, loc, rows, {s.batch, s.steps, s.groups}, {{0, 1}, {2}});
}
Value mergeRows(OpBuilder &b, Location loc, Value stats, const TsnShape &s) {
  return reshape(b, loc, stats, {s.rows(), s.groups}, {{0, 1}, {2}});
}

/// `dest` with every element zero.
Value zeroed(OpBuilder &b, Location loc, Value dest) {
  return linalg::FillOp::create(b, loc, constant(b, loc, 0.0), dest)
      .getResult(0);
}

/// The [B, G] slice of step `t` of a [B, L, G] tensor.
struct StepSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  RankedTensorType type;

  StepSlice(OpBuilder &b, Value t, const TsnShape &s) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    offsets = {zero, t, zero};
    sizes = {b.getIndexAttr(s.batch), one, b.getIndexAttr(s.groups)};
    strides = {one, one, one};
    type = RankedTensorType::get({s.batch, s.groups}, b.getF32Type());
  }
  Value extract(OpBuilder &b, Location loc, Value stats) const {
    return tensor::ExtractSliceOp::create(b, loc, type, stats, offsets, sizes,
                                          strides);
  }
  Value insert(OpBuilder &b, Location loc, Value step, Value stats) const {
    return tensor::InsertSliceOp::create(b, loc, step, stats, offsets, sizes,
                                         strides);
  }
};

/// A parallel generic over [B, G]: `rowInputs` are per batch row ([B],
/// the counts), `inputs` and `outputs` are [B, G].
SmallVector<Value> buildStatGeneric(
    OpBuilder &b, Location loc, ValueRange rowInputs, ValueRange inputs,
    ValueRange outputs,
    function_ref<BodyValues(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  SmallVector<AffineMap> maps(rowInputs.size(), leadingDimsMap(2, 1, ctx));
  maps.append(inputs.size() + outputs.size(), id);
  SmallVector<Value> allInputs(rowInputs);
  llvm::append_range(allInputs, inputs);
  auto generic = linalg::GenericOp::create(
      b, loc, outputs.getTypes(), allInputs, outputs, maps,
      parallelThenReduction(2),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args));
      });
  return SmallVector<Value>(generic.getResults());
}

struct TimestepNormGradLowering : OpConversionPattern<TimestepNormGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TimestepNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSupported(op, rewriter)))
      return failure();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    int64_t groups = op.getNumGroups();
    TsnShape shape{xType.getDimSize(0), xType.getDimSize(1), groups,
                   xType.getDimSize(2) / groups};
    double eps = op.getEps().convertToDouble();
    Location loc = op.getLoc();
    bool hasState = bool(adaptor.getCount());

    if (shape.rows() == 0) {
      rewriter.replaceOp(op, withoutSteps(rewriter, loc, adaptor, shape));
      return success();
    }

    // x and gy as rows [B * L, G, S]; the scale weight + 1 as [G, S].
    SmallVector<int64_t> splitShape{shape.batch, shape.steps, shape.groups,
                                    shape.groupSize};
    SmallVector<int64_t> rowShape{shape.rows(), shape.groups, shape.groupSize};
    auto asRows = [&](Value v) {
      Value split = reshape(rewriter, loc, v, splitShape, {{0}, {1}, {2, 3}});
      return reshape(rewriter, loc, split, rowShape, {{0, 1}, {2}, {3}});
    };
    Value x = asRows(adaptor.getX());
    Value gy = asRows(adaptor.getGy());
    Value scale =
        buildScale(rewriter, loc,
                   reshape(rewriter, loc, adaptor.getWeight(),
                           {shape.groups, shape.groupSize}, {{0, 1}}));

    SmallVector<Value> sums = buildRowSums(rewriter, loc, x, gy, scale, shape);
    SmallVector<Value> stats;
    for (Value rowSums : sums)
      stats.push_back(splitRows(rewriter, loc, rowSums, shape));
    TsnState initial = initialState(rewriter, loc, adaptor, shape);
    ForwardStats forward =
        forwardScan(rewriter, loc, initial, stats, hasState, shape);
    CotangentTerms terms =
        cotangentTerms(rewriter, loc, initial.count, forward, stats[2], eps);
    ReverseSums reverse = reverseScan(
        rewriter, loc, forward,
        finalCotangents(rewriter, loc, adaptor, initial.count, shape), terms,
        shape);

    auto rows = [&](Value stepStats) {
      return mergeRows(rewriter, loc, stepStats, shape);
    };
    SmallVector<Value> grads = buildGradients(
        rewriter, loc, x, gy, scale, rows(forward.means), rows(terms.invStd),
        rows(reverse.alpha), rows(reverse.beta), shape);

    Value gx = reshape(rewriter, loc, grads[0], splitShape, {{0, 1}, {2}, {3}});
    SmallVector<Value> results = {
        reshape(rewriter, loc, gx, xType.getShape(), {{0}, {1}, {2, 3}}),
        reshape(rewriter, loc, grads[1], {shape.width()}, {{0, 1}}),
        reshape(rewriter, loc, grads[2], {shape.width()}, {{0, 1}})};
    if (hasState)
      llvm::append_range(results, stateGradients(rewriter, loc, initial,
                                                 forward.finalMean, reverse));
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// The compiled code computes in f32 on static shapes; anything else is
  /// left for the pass to report.
  static LogicalResult checkSupported(TimestepNormGradOp op,
                                      ConversionPatternRewriter &rewriter) {
    SmallVector<std::pair<Value, StringRef>> floats = {
        {op.getX(), "x"},
        {op.getWeight(), "weight"},
        {op.getGy(), "gy"},
        {op.getMean(), "mean"},
        {op.getVar(), "var"},
        {op.getGMeanOut(), "g_mean_out"},
        {op.getGVarOut(), "g_var_out"}};
    for (auto [value, name] : floats) {
      if (value && failed(requireStaticF32(rewriter, op, value, name)))
        return failure();
    }
    if (op.getCount())
      return requireStaticIndices(rewriter, op, op.getCount(), "count");
    return success();
  }

  /// Without any step (L = 0, or no batch rows) the returned state is the
  /// carried one: its cotangents pass through, and the other gradients are
  /// zero or empty.
  static SmallVector<Value> withoutSteps(OpBuilder &b, Location loc,
                                         OpAdaptor adaptor,
                                         const TsnShape &shape) {
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    SmallVector<Value> results = {
        createEmptyF32(b, loc, xType.getShape()),
        createFilledF32(b, loc, {shape.width()}, 0.0),
        createFilledF32(b, loc, {shape.width()}, 0.0)};
    if (!adaptor.getCount())
      return results;
    for (Value cotangent : {adaptor.getGMeanOut(), adaptor.getGVarOut()})
      results.push_back(
          cotangent
              ? cotangent
              : createFilledF32(b, loc, {shape.batch, shape.groups}, 0.0));
    return results;
  }

  /// `weight + 1` as [G, S], computed once.
  static Value buildScale(OpBuilder &b, Location loc, Value weight) {
    auto type = cast<RankedTensorType>(weight.getType());
    return buildRowwiseGeneric(
        b, loc, 2, parallelThenReduction(2), {{weight, Indexing::Element}},
        {{createEmptyF32(b, loc, type.getShape()), Indexing::Element}},
        [](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          return {add(nb, l, args[0], constant(nb, l, 1.0))};
        })[0];
  }

  /// The carried state, or the fresh state (0, 0, 1) as in the forward.
  static TsnState initialState(OpBuilder &b, Location loc, OpAdaptor adaptor,
                               const TsnShape &shape) {
    if (adaptor.getCount())
      return {adaptor.getCount(), adaptor.getMean(), adaptor.getVar()};
    Value zeroCount =
        tensor::EmptyOp::create(b, loc, {shape.batch}, b.getI64Type());
    Value zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
    return {linalg::FillOp::create(b, loc, zero, zeroCount).getResult(0),
            createFilledF32(b, loc, {shape.batch, shape.groups}, 0.0),
            createFilledF32(b, loc, {shape.batch, shape.groups}, 1.0)};
  }

  /// Phase 1: per (row, group), sum(x), sum((x - mu)^2), sum(G) and
  /// sum(G (x - mu)), each [B * L, G].
  static SmallVector<Value> buildRowSums(OpBuilder &b, Location loc, Value x,
                                         Value gy, Value scale,
                                         const TsnShape &shape) {
    SmallVector<Value> dests;
    for (int i = 0; i < 4; ++i)
      dests.push_back(createEmptyF32(b, loc, {shape.rows(), shape.groups}));
    SmallVector<BlockSlicing> slicing(4, BlockSlicing::Rows);
    double groupSize = double(shape.groupSize);
    return buildRowBlocks(
        b, loc, shape.rows(), rowBlockSize(shape.rows(), shape.width()), dests,
        slicing,
        [&](OpBuilder &nb, Location l, const RowBlock &block,
            ValueRange slices) -> SmallVector<Value> {
          Value xb = extractBlockRows(nb, l, x, block);
          Value gyb = extractBlockRows(nb, l, gy, block);
          Value sum = buildRowwiseGeneric(
              nb, l, 3, parallelThenReduction(2, 1), {{xb, Indexing::Element}},
              {{zeroed(nb, l, slices[0]), Indexing::Row}},
              [](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                return {add(bb, bl, args[1], args[0])};
              })[0];
          SmallVector<Value> centered = buildRowwiseGeneric(
              nb, l, 3, parallelThenReduction(2, 1),
              {{xb, Indexing::Element},
               {sum, Indexing::Row},
               {gyb, Indexing::Element},
               {scale, Indexing::Feature}},
              {{zeroed(nb, l, slices[1]), Indexing::Row},
               {zeroed(nb, l, slices[2]), Indexing::Row},
               {zeroed(nb, l, slices[3]), Indexing::Row}},
              [&](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                Value mu = div(bb, bl, args[1], constant(bb, bl, groupSize));
                Value dev = sub(bb, bl, args[0], mu);
                Value g = mul(bb, bl, args[2], args[3]);
                return {add(bb, bl, args[4], mul(bb, bl, dev, dev)),
                        add(bb, bl, args[5], g),
                        add(bb, bl, args[6], mul(bb, bl, g, dev))};
              });
          return {sum, centered[0], centered[1], centered[2]};
        });
  }

  /// Phase 2a: the Welford scan of the forward. `stats` are the [B, L, G]
  /// row sums {sum(x), sum((x - mu)^2), sum(G), sum(G (x - mu))}; step t
  /// overwrites the first two with m_t and v_t and the last with
  /// sum(G (x - m_t)) = sum(G (x - mu)) + (mu - m_t) sum(G).
  static ForwardStats forwardScan(OpBuilder &b, Location loc,
                                  const TsnState &initial,
                                  ArrayRef<Value> stats, bool copyState,
                                  const TsnShape &shape) {
    // The scan updates the mean and variance in place; a carried state is
    // copied first, since compiled code must not write into its arguments.
    auto copyOf = [&](Value v) {
      auto type = cast<RankedTensorType>(v.getType());
      return linalg::CopyOp::create(b, loc, v,
                                    createEmptyF32(b, loc, type.getShape()))
          .getResult(0);
    };
    Value n0 = initial.count;
    double groupSize = double(shape.groupSize);
    Value lb = arith::ConstantIndexOp::create(b, loc, 0);
    Value ub = arith::ConstantIndexOp::create(b, loc, shape.steps);
    Value step = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> init = {copyState ? copyOf(initial.mean) : initial.mean,
                               copyState ? copyOf(initial.var) : initial.var,
                               stats[0], stats[1], stats[3]};
    auto loop = scf::ForOp::create(
        b, loc, lb, ub, step, init,
        [&](OpBuilder &nb, Location l, Value t, ValueRange carried) {
          StepSlice slice(nb, t, shape);
          Value tPlusOne = arith::IndexCastOp::create(
              nb, l, nb.getI64Type(),
              arith::AddIOp::create(nb, l, t, step).getResult());
          Value sumG = slice.extract(nb, l, stats[2]);
          SmallVector<Value> outs = {carried[0], carried[1]};
          for (Value s : carried.drop_front(2))
            outs.push_back(slice.extract(nb, l, s));
          SmallVector<Value> next = buildStatGeneric(
              nb, l, {n0}, {sumG}, outs,
              [&](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                Value n = stepCount(bb, bl, args[0], tPlusOne);
                Value g = args[1], m = args[2], v = args[3];
                Value sum = args[4], dev = args[5], centeredG = args[6];
                Value size = constant(bb, bl, groupSize);
                Value one = constant(bb, bl, 1.0);
                Value mu = div(bb, bl, sum, size);
                Value sigma2 = div(bb, bl, dev, size);
                Value c = div(bb, bl, one, n);
                Value oneMinusC = sub(bb, bl, one, c);
                Value delta = sub(bb, bl, mu, m);
                Value newMean = add(bb, bl, m, mul(bb, bl, c, delta));
                // The forward's update, operation for operation, so that
                // the statistics are those the forward normalized with.
                Value decayed = mul(bb, bl, oneMinusC, v);
                Value fresh = mul(bb, bl, c, sigma2);
                Value cross = mul(bb, bl, mul(bb, bl, c, oneMinusC),
                                  mul(bb, bl, delta, delta));
                Value newVar = add(bb, bl, add(bb, bl, decayed, fresh), cross);
                Value recentered =
                    add(bb, bl, centeredG,
                        mul(bb, bl, sub(bb, bl, mu, newMean), g));
                return {newMean, newVar, newMean, newVar, recentered};
              });
          SmallVector<Value> yielded = {next[0], next[1]};
          for (auto [value, full] : llvm::zip(
                   ArrayRef<Value>(next).drop_front(2), carried.drop_front(2)))
            yielded.push_back(slice.insert(nb, l, value, full));
          scf::YieldOp::create(nb, l, yielded);
        });
    return {loop.getResult(0), loop.getResult(2), loop.getResult(3),
            loop.getResult(4)};
  }

  /// Phase 2b: per (b, t, g), in place of v_t, sum(G) and sum(G (x - m_t)):
  ///   r = 1/sqrt(v + eps), gm = -r sum(G), gv = -r^3 sum(G (x - m)) / 2,
  ///   P = (gm - 2 (m - c) gv) / n, Q = gv / n
  /// with c the final mean.
  static CotangentTerms cotangentTerms(OpBuilder &b, Location loc, Value n0,
                                       const ForwardStats &forward, Value sumG,
                                       double eps) {
    Value vars = forward.vars, centeredG = forward.centeredG;
    MLIRContext *ctx = b.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap perBatch = leadingDimsMap(3, 1, ctx);
    AffineMap perGroup = AffineMap::get(
        3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(2, ctx)}, ctx);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{vars.getType(), sumG.getType(), centeredG.getType()},
        ValueRange{n0, forward.finalMean, forward.means},
        ValueRange{vars, sumG, centeredG},
        ArrayRef<AffineMap>{perBatch, perGroup, id, id, id, id},
        parallelThenReduction(3),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value t = linalg::IndexOp::create(nb, l, 1);
          Value tPlusOne = arith::IndexCastOp::create(
              nb, l, nb.getI64Type(),
              arith::AddIOp::create(nb, l, t,
                                    arith::ConstantIndexOp::create(nb, l, 1))
                  .getResult());
          Value n = stepCount(nb, l, args[0], tPlusOne);
          Value c = args[1], m = args[2], v = args[3];
          Value g = args[4], centered = args[5];
          Value one = constant(nb, l, 1.0);
          Value r = div(
              nb, l, one,
              math::SqrtOp::create(nb, l, add(nb, l, v, constant(nb, l, eps))));
          Value gm = mul(nb, l, arith::NegFOp::create(nb, l, r), g);
          Value r3 = mul(nb, l, mul(nb, l, r, r), r);
          Value gv =
              mul(nb, l, mul(nb, l, constant(nb, l, -0.5), r3), centered);
          Value twiceShift = mul(nb, l, constant(nb, l, 2.0), sub(nb, l, m, c));
          Value p = div(nb, l, sub(nb, l, gm, mul(nb, l, twiceShift, gv)), n);
          Value q = div(nb, l, gv, n);
          linalg::YieldOp::create(nb, l, ValueRange{r, p, q});
        });
    return {generic.getResult(0), generic.getResult(1), generic.getResult(2)};
  }

  /// The sums A', Bq before the last step: the final cotangents' terms
  /// (gm_f - 2 (m_{L-1} - c) gv_f) / n_{L-1} = gm_f / n_{L-1} and
  /// gv_f / n_{L-1}, or zero without them.
  static SmallVector<Value> finalCotangents(OpBuilder &b, Location loc,
                                            OpAdaptor adaptor, Value n0,
                                            const TsnShape &shape) {
    SmallVector<int64_t> statShape{shape.batch, shape.groups};
    if (!adaptor.getGMeanOut())
      return {createFilledF32(b, loc, statShape, 0.0),
              createFilledF32(b, loc, statShape, 0.0)};
    Value steps =
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(shape.steps));
    return buildStatGeneric(
        b, loc, {n0}, {adaptor.getGMeanOut(), adaptor.getGVarOut()},
        {createEmptyF32(b, loc, statShape), createEmptyF32(b, loc, statShape)},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value n = stepCount(nb, l, args[0], steps);
          return {div(nb, l, args[1], n), div(nb, l, args[2], n)};
        });
  }

  /// Phase 2c: the reverse scan from `seed`, t = L-1 down to 0:
  ///   A' += P_t, Bq += Q_t,
  ///   alpha_t = (A' + 2 (m_t - c) Bq) / s, beta_t = 2 Bq / s
  /// written in place of P_t and Q_t.
  static ReverseSums reverseScan(OpBuilder &b, Location loc,
                                 const ForwardStats &forward,
                                 ArrayRef<Value> seed,
                                 const CotangentTerms &terms,
                                 const TsnShape &shape) {
    Value finalMean = forward.finalMean, means = forward.means;
    double groupSize = double(shape.groupSize);
    Value lb = arith::ConstantIndexOp::create(b, loc, 0);
    Value ub = arith::ConstantIndexOp::create(b, loc, shape.steps);
    Value step = arith::ConstantIndexOp::create(b, loc, 1);
    Value last = arith::ConstantIndexOp::create(b, loc, shape.steps - 1);
    SmallVector<Value> init = {seed[0], seed[1], terms.p, terms.q};
    auto loop = scf::ForOp::create(
        b, loc, lb, ub, step, init,
        [&](OpBuilder &nb, Location l, Value i, ValueRange carried) {
          Value t = arith::SubIOp::create(nb, l, last, i);
          StepSlice slice(nb, t, shape);
          Value mt = slice.extract(nb, l, means);
          SmallVector<Value> next = buildStatGeneric(
              nb, l, {}, {mt, finalMean},
              {carried[0], carried[1], slice.extract(nb, l, carried[2]),
               slice.extract(nb, l, carried[3])},
              [&](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                Value m = args[0], c = args[1];
                Value a = add(bb, bl, args[2], args[4]);
                Value bq = add(bb, bl, args[3], args[5]);
                Value size = constant(bb, bl, groupSize);
                Value twiceBq = mul(bb, bl, constant(bb, bl, 2.0), bq);
                Value alpha =
                    div(bb, bl,
                        add(bb, bl, a, mul(bb, bl, sub(bb, bl, m, c), twiceBq)),
                        size);
                return {a, bq, alpha, div(bb, bl, twiceBq, size)};
              });
          scf::YieldOp::create(
              nb, l,
              ValueRange{next[0], next[1],
                         slice.insert(nb, l, next[2], carried[2]),
                         slice.insert(nb, l, next[3], carried[3])});
        });
    return {loop.getResult(0), loop.getResult(1), loop.getResult(2),
            loop.getResult(3)};
  }

  /// The cotangents of the carried mean and variance, which enter as n0
  /// pseudo-steps of mean m0 and second moment v0 + m0^2:
  ///   g_mean = n0 (A'_0 + 2 (m0 - c) Bq_0), g_var = n0 Bq_0.
  static SmallVector<Value> stateGradients(OpBuilder &b, Location loc,
                                           const TsnState &initial,
                                           Value finalMean,
                                           const ReverseSums &reverse) {
    Value m0 = initial.mean;
    auto type = cast<RankedTensorType>(m0.getType());
    return buildStatGeneric(
        b, loc, {initial.count}, {m0, finalMean, reverse.a0, reverse.bq0},
        {createEmptyF32(b, loc, type.getShape()),
         createEmptyF32(b, loc, type.getShape())},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value n = arith::SIToFPOp::create(nb, l, nb.getF32Type(), args[0]);
          Value m = args[1], c = args[2], a = args[3], bq = args[4];
          Value shift = mul(nb, l, constant(nb, l, 2.0), sub(nb, l, m, c));
          Value gMean = mul(nb, l, n, add(nb, l, a, mul(nb, l, shift, bq)));
          return {gMean, mul(nb, l, n, bq)};
        });
  }

  /// Phase 3: gx = G r + alpha + (x - m) beta per element, and the partial
  /// weight and bias gradients sum(gy (x - m) r) and sum(gy) of each block.
  /// The per-row inputs are [B * L, G]. Returns {gx [B * L, G, S],
  /// g_weight [G, S], g_bias [G, S]}.
  static SmallVector<Value> buildGradients(OpBuilder &b, Location loc, Value x,
                                           Value gy, Value scale, Value means,
                                           Value invStd, Value alpha,
                                           Value beta, const TsnShape &shape) {
    int64_t blockRows = rowBlockSize(shape.rows(), shape.width());
    int64_t numBlocks = numRowBlocks(shape.rows(), blockRows);
    SmallVector<Value> dests = {
        createEmptyF32(b, loc, {shape.rows(), shape.groups, shape.groupSize}),
        createEmptyF32(b, loc, {numBlocks, shape.groups, shape.groupSize}),
        createEmptyF32(b, loc, {numBlocks, shape.groups, shape.groupSize})};
    SmallVector<BlockSlicing> slicing = {
        BlockSlicing::Rows, BlockSlicing::PerBlock, BlockSlicing::PerBlock};
    SmallVector<Value> results = buildRowBlocks(
        b, loc, shape.rows(), blockRows, dests, slicing,
        [&](OpBuilder &nb, Location l, const RowBlock &block,
            ValueRange slices) -> SmallVector<Value> {
          Value xb = extractBlockRows(nb, l, x, block);
          Value gyb = extractBlockRows(nb, l, gy, block);
          Value mb = extractBlockRows(nb, l, means, block);
          Value rb = extractBlockRows(nb, l, invStd, block);
          Value gx = buildRowwiseGeneric(
              nb, l, 3, parallelThenReduction(3),
              {{xb, Indexing::Element},
               {gyb, Indexing::Element},
               {scale, Indexing::Feature},
               {mb, Indexing::Row},
               {rb, Indexing::Row},
               {extractBlockRows(nb, l, alpha, block), Indexing::Row},
               {extractBlockRows(nb, l, beta, block), Indexing::Row}},
              {{slices[0], Indexing::Element}},
              [](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                Value g = mul(bb, bl, args[1], args[2]);
                Value centered = sub(bb, bl, args[0], args[3]);
                Value direct = mul(bb, bl, g, args[4]);
                Value viaStats =
                    add(bb, bl, args[5], mul(bb, bl, centered, args[6]));
                return {add(bb, bl, direct, viaStats)};
              })[0];
          SmallVector<Value> partials = buildRowwiseGeneric(
              nb, l, 3,
              {utils::IteratorType::reduction, utils::IteratorType::parallel,
               utils::IteratorType::parallel},
              {{xb, Indexing::Element},
               {gyb, Indexing::Element},
               {mb, Indexing::Row},
               {rb, Indexing::Row}},
              {{zeroed(nb, l, slices[1]), Indexing::Feature},
               {zeroed(nb, l, slices[2]), Indexing::Feature}},
              [](OpBuilder &bb, Location bl, ValueRange args) -> BodyValues {
                Value normalized =
                    mul(bb, bl, sub(bb, bl, args[0], args[2]), args[3]);
                return {add(bb, bl, args[4], mul(bb, bl, args[1], normalized)),
                        add(bb, bl, args[5], args[1])};
              });
          return {gx, partials[0], partials[1]};
        });
    return {results[0], sumBlockPartials(b, loc, results[1]),
            sumBlockPartials(b, loc, results[2])};
  }
};

} // namespace

void mlir::megalodon::populateTimestepNormGradToLoopsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TimestepNormGradLowering>(patterns.getContext());
}
