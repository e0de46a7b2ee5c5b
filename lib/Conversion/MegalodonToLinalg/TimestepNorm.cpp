//===- TimestepNorm.cpp - timestep_norm as a scan over time ---------------===//
//
// Lowers megalodon.timestep_norm (MODEL.md section 4) to an scf.for over the
// time steps that carries the Welford statistics (count [B], mean [B, G],
// var [B, G]) in its iter_args. Each step works on the slice x[:, t, :],
// viewed as [B, G, S] (S = D / G features per group), with linalg.generic ops
// that are parallel over batch rows, groups and features, so that the work of
// a step vectorizes over the channels:
//
//   scf.for %t iter_args(%n, %m, %v, %y) {
//     %xt   = tensor.extract_slice %x4[0, %t, 0, 0] [B, 1, G, S]
//     %n1   = n + 1                                    (parallel over B)
//     %sum  = sum_s xt                                 (reduction over S)
//     %dev  = sum_s (xt - sum / S)^2                   (reduction over S)
//     %m1, %v1, %inv = Welford update, 1/sqrt(v1+eps)  (parallel over B, G)
//     %yt   = (xt - m1) * inv * (w + 1) + b            (into a slice of %y)
//     %y1   = tensor.insert_slice %yt into %y[0, %t, 0, 0]
//   }
//
// The statistics stay in f32 whatever the loop length: the Welford update
// never forms E[x^2] - m^2, whose cancellation would lose the variance.
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

/// Static sizes of one timestep_norm: x is [batch, steps, groups * groupSize].
struct TsnShape {
  int64_t batch;
  int64_t steps;
  int64_t groups;
  int64_t groupSize;
};

/// `dest` with every element set to `value`.
Value fill(OpBuilder &b, Location loc, TypedAttr value, Value dest) {
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, scalar, dest).getResult(0);
}

/// Per-step [B, G] temporaries. They are created once, before the loop: each
/// step overwrites them before reading, so bufferization reuses one buffer
/// each instead of allocating per step.
struct StepScratch {
  Value sums, devs, invStd;
};

/// `weight + 1` as [G, S]: the scale is computed once, outside the loop.
Value buildScale(OpBuilder &b, Location loc, Value weight) {
  auto type = cast<RankedTensorType>(weight.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value empty = createEmptyF32(b, loc, type.getShape());
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{weight}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id}, parallelThenReduction(2),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value one = createF32Constant(nb, nloc, 1.0);
               Value scale = arith::AddFOp::create(nb, nloc, args[0], one);
               linalg::YieldOp::create(nb, nloc, scale);
             })
      .getResult(0);
}

/// Counts one more time step per batch row. The count is in steps, not in
/// elements, and is shared by all groups of the row.
Value incrementCount(OpBuilder &b, Location loc, Value count) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return linalg::GenericOp::create(
             b, loc, count.getType(), ValueRange{}, ValueRange{count},
             ArrayRef<AffineMap>{id}, parallelThenReduction(1),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value one =
                   arith::ConstantOp::create(nb, nloc, nb.getI64IntegerAttr(1));
               Value next = arith::AddIOp::create(nb, nloc, args[0], one);
               linalg::YieldOp::create(nb, nloc, next);
             })
      .getResult(0);
}

/// Per (batch, group) sums over the S features of one step, [B, G, S] ->
/// [B, G], accumulated into `scratch` after zeroing it. When `center` is
/// given ([B, G] sums), the reduction adds the squared deviations from the
/// group mean `center / S` instead; two passes keep the step variance free
/// of cancellation.
Value reduceGroups(OpBuilder &b, Location loc, Value xt, Value center,
                   Value scratch, const TsnShape &shape) {
  MLIRContext *ctx = b.getContext();
  Value init = fill(b, loc, b.getF32FloatAttr(0.0), scratch);
  AffineMap full = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perGroup = leadingDimsMap(3, 2, ctx);
  SmallVector<Value> inputs{xt};
  SmallVector<AffineMap> maps{full};
  if (center) {
    inputs.push_back(center);
    maps.push_back(perGroup);
  }
  maps.push_back(perGroup);
  double groupSize = double(shape.groupSize);
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, ValueRange{init}, maps,
             parallelThenReduction(2, 1),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value term = args[0];
               if (center) {
                 Value size = createF32Constant(nb, nloc, groupSize);
                 Value mean = arith::DivFOp::create(nb, nloc, args[1], size);
                 Value dev = arith::SubFOp::create(nb, nloc, term, mean);
                 term = arith::MulFOp::create(nb, nloc, dev, dev);
               }
               Value acc = arith::AddFOp::create(nb, nloc, args.back(), term);
               linalg::YieldOp::create(nb, nloc, acc);
             })
      .getResult(0);
}

/// The statistics after absorbing one step, written into `mean` and `var`
/// (the loop-carried tensors), plus the inverse standard deviation that
/// normalizes the step:
///   mu = sum / S, sigma2 = dev / S, c = 1 / n, delta = mu - m,
///   m <- m + c delta, v <- (1 - c) v + c sigma2 + c (1 - c) delta^2.
/// Returns {mean, var, invStd}, each [B, G]; invStd is written into
/// `invStdInit`.
SmallVector<Value> absorbStep(OpBuilder &b, Location loc, Value sums,
                              Value devs, Value count, Value mean, Value var,
                              Value invStdInit, const TsnShape &shape,
                              double eps) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap perRow = leadingDimsMap(2, 1, ctx);
  Type statType = mean.getType();
  double groupSize = double(shape.groupSize);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{statType, statType, statType},
      ValueRange{sums, devs, count}, ValueRange{mean, var, invStdInit},
      ArrayRef<AffineMap>{id, id, perRow, id, id, id}, parallelThenReduction(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value sum = args[0], dev = args[1], n = args[2];
        Value m = args[3], v = args[4];
        Value size = createF32Constant(nb, nloc, groupSize);
        Value one = createF32Constant(nb, nloc, 1.0);
        Value mu = arith::DivFOp::create(nb, nloc, sum, size);
        Value sigma2 = arith::DivFOp::create(nb, nloc, dev, size);
        Value nf = arith::SIToFPOp::create(nb, nloc, nb.getF32Type(), n);
        Value c = arith::DivFOp::create(nb, nloc, one, nf);
        Value oneMinusC = arith::SubFOp::create(nb, nloc, one, c);
        Value delta = arith::SubFOp::create(nb, nloc, mu, m);
        Value newMean = arith::AddFOp::create(
            nb, nloc, m, arith::MulFOp::create(nb, nloc, c, delta));
        // (1 - c) v + c sigma2 + c (1 - c) delta^2: the pooled variance of
        // the old statistics and the step, each about its own mean, plus the
        // spread between the two means.
        Value decayed = arith::MulFOp::create(nb, nloc, oneMinusC, v);
        Value fresh = arith::MulFOp::create(nb, nloc, c, sigma2);
        Value cross = arith::MulFOp::create(
            nb, nloc, arith::MulFOp::create(nb, nloc, c, oneMinusC),
            arith::MulFOp::create(nb, nloc, delta, delta));
        Value newVar = arith::AddFOp::create(
            nb, nloc, arith::AddFOp::create(nb, nloc, decayed, fresh), cross);
        Value shifted = arith::AddFOp::create(nb, nloc, newVar,
                                              createF32Constant(nb, nloc, eps));
        Value invStd = arith::DivFOp::create(
            nb, nloc, one, math::SqrtOp::create(nb, nloc, shifted));
        linalg::YieldOp::create(nb, nloc, ValueRange{newMean, newVar, invStd});
      });
  return SmallVector<Value>(generic.getResults());
}

/// `(xt - mean) * invStd * scale + bias` over [B, G, S], written into `dest`
/// (the step's slice of the output). The statistics are those after
/// absorbing the step itself.
Value normalizeStep(OpBuilder &b, Location loc, Value xt, Value mean,
                    Value invStd, Value scale, Value bias, Value dest) {
  MLIRContext *ctx = b.getContext();
  AffineMap full = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perGroup = leadingDimsMap(3, 2, ctx);
  AffineMap perFeature = trailingDimsMap(3, 2, ctx);
  return linalg::GenericOp::create(
             b, loc, dest.getType(), ValueRange{xt, mean, invStd, scale, bias},
             ValueRange{dest},
             ArrayRef<AffineMap>{full, perGroup, perGroup, perFeature,
                                 perFeature, full},
             parallelThenReduction(3),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value centered =
                   arith::SubFOp::create(nb, nloc, args[0], args[1]);
               Value normalized =
                   arith::MulFOp::create(nb, nloc, centered, args[2]);
               Value scaled =
                   arith::MulFOp::create(nb, nloc, normalized, args[3]);
               Value shifted = arith::AddFOp::create(nb, nloc, scaled, args[4]);
               linalg::YieldOp::create(nb, nloc, shifted);
             })
      .getResult(0);
}

/// Offsets, sizes and strides of the step-`t` slice [B, 1, G, S] of a
/// [B, L, G, S] tensor.
struct StepSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};

StepSlice stepSlice(OpBuilder &b, Value t, const TsnShape &shape) {
  StepSlice s;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  s.offsets = {zero, t, zero, zero};
  s.sizes = {b.getIndexAttr(shape.batch), one, b.getIndexAttr(shape.groups),
             b.getIndexAttr(shape.groupSize)};
  s.strides = {one, one, one, one};
  return s;
}

/// A [B, L, D] tensor viewed as [B, L, G, S], or a [D] tensor as [G, S].
Value splitGroups(OpBuilder &b, Location loc, Value v, const TsnShape &shape) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() == 1) {
    auto split = RankedTensorType::get({shape.groups, shape.groupSize},
                                       type.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, split, v, ArrayRef<ReassociationIndices>{{0, 1}});
  }
  auto split = RankedTensorType::get(
      {shape.batch, shape.steps, shape.groups, shape.groupSize},
      type.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, split, v, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
}

struct TimestepNormLowering : OpConversionPattern<TimestepNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TimestepNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSupported(op, rewriter)))
      return failure();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    int64_t groups = op.getNumGroups();
    TsnShape shape{xType.getDimSize(0), xType.getDimSize(1), groups,
                   xType.getDimSize(2) / groups};
    double eps = op.getEps().convertToDouble();
    Location loc = op.getLoc();

    // Loop-invariant operands: x and the affine parameters viewed per group,
    // and the scale weight + 1.
    Value x4 = splitGroups(rewriter, loc, adaptor.getX(), shape);
    Value scale = buildScale(
        rewriter, loc, splitGroups(rewriter, loc, adaptor.getWeight(), shape));
    Value bias = splitGroups(rewriter, loc, adaptor.getBias(), shape);

    SmallVector<Value> init = initialState(rewriter, loc, adaptor, shape);
    init.push_back(createEmptyF32(
        rewriter, loc,
        {shape.batch, shape.steps, shape.groups, shape.groupSize}));
    SmallVector<int64_t> statShape{shape.batch, shape.groups};
    StepScratch scratch{createEmptyF32(rewriter, loc, statShape),
                        createEmptyF32(rewriter, loc, statShape),
                        createEmptyF32(rewriter, loc, statShape)};

    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, shape.steps);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, lb, ub, step, init,
        [&](OpBuilder &b, Location bloc, Value t, ValueRange carried) {
          SmallVector<Value> next = buildStep(b, bloc, t, carried, x4, scale,
                                              bias, scratch, shape, eps);
          scf::YieldOp::create(b, bloc, next);
        });

    Value y = tensor::CollapseShapeOp::create(
        rewriter, loc, xType, loop.getResult(3),
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    rewriter.replaceOp(
        op, {y, loop.getResult(0), loop.getResult(1), loop.getResult(2)});
    return success();
  }

private:
  /// The compiled code computes in f32 on static shapes; anything else is
  /// left for the pass to report.
  static LogicalResult checkSupported(TimestepNormOp op,
                                      ConversionPatternRewriter &rewriter) {
    SmallVector<std::pair<Value, StringRef>> floats = {
        {op.getX(), "x"}, {op.getWeight(), "weight"}, {op.getBias(), "bias"}};
    if (op.getCount())
      floats.append({{op.getMean(), "mean"}, {op.getVar(), "var"}});
    for (auto [value, name] : floats) {
      if (failed(requireStaticF32(rewriter, op, value, name)))
        return failure();
    }
    if (op.getCount())
      return requireStaticIndices(rewriter, op, op.getCount(), "count");
    return success();
  }

  /// {count, mean, var}: the carried state, or the fresh state (0, 0, 1)
  /// when the op has none. With count 0 the first step sets c = 1, so the
  /// fresh mean and variance drop out entirely.
  static SmallVector<Value> initialState(OpBuilder &b, Location loc,
                                         OpAdaptor adaptor,
                                         const TsnShape &shape) {
    if (adaptor.getCount())
      return {adaptor.getCount(), adaptor.getMean(), adaptor.getVar()};
    SmallVector<int64_t> statShape{shape.batch, shape.groups};
    Value zeroCount =
        tensor::EmptyOp::create(b, loc, {shape.batch}, b.getI64Type());
    return {fill(b, loc, b.getI64IntegerAttr(0), zeroCount),
            createFilledF32(b, loc, statShape, 0.0),
            createFilledF32(b, loc, statShape, 1.0)};
  }

  /// One time step: absorbs x[:, t, :] into the statistics and writes the
  /// normalized step into the output. `carried` is {count, mean, var, y};
  /// returns their next values.
  static SmallVector<Value> buildStep(OpBuilder &b, Location loc, Value t,
                                      ValueRange carried, Value x4, Value scale,
                                      Value bias, const StepScratch &scratch,
                                      const TsnShape &shape, double eps) {
    Value count = carried[0], mean = carried[1], var = carried[2];
    Value y = carried[3];
    StepSlice slice = stepSlice(b, t, shape);
    auto stepType = RankedTensorType::get(
        {shape.batch, shape.groups, shape.groupSize}, b.getF32Type());
    Value xt = tensor::ExtractSliceOp::create(
        b, loc, stepType, x4, slice.offsets, slice.sizes, slice.strides);
    Value nextCount = incrementCount(b, loc, count);
    Value sums =
        reduceGroups(b, loc, xt, /*center=*/Value(), scratch.sums, shape);
    Value devs = reduceGroups(b, loc, xt, sums, scratch.devs, shape);
    SmallVector<Value> stats = absorbStep(b, loc, sums, devs, nextCount, mean,
                                          var, scratch.invStd, shape, eps);
    // The step's output slice is the destination, so that bufferization
    // writes the normalized step in place into the output buffer.
    Value dest = tensor::ExtractSliceOp::create(
        b, loc, stepType, y, slice.offsets, slice.sizes, slice.strides);
    Value yt = normalizeStep(b, loc, xt, stats[0], stats[2], scale, bias, dest);
    Value nextY = tensor::InsertSliceOp::create(b, loc, yt, y, slice.offsets,
                                                slice.sizes, slice.strides);
    return {nextCount, stats[0], stats[1], nextY};
  }
};

} // namespace

void mlir::megalodon::populateTimestepNormToLoopsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TimestepNormLowering>(patterns.getContext());
}
