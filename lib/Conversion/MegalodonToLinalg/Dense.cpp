//===- Dense.cpp - Lowering of linear, embedding and cross_entropy --------===//
//
// linear is a named linalg.matmul with a transposed B operand (the weight
// stays in its torch [N, K] layout, so no transpose is materialized) on the
// input collapsed to rows. embedding is a parallel gather generic.
// cross_entropy is three row-wise generics (max, sum of shifted exponentials,
// per-row loss summed into a scalar) and a 0-d generic taking the mean.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// An integer token or target loaded from a tensor, as an index.
Value castToIndex(OpBuilder &builder, Location loc, Value integer) {
  return arith::IndexCastOp::create(builder, loc, builder.getIndexType(),
                                    integer);
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

/// x [..., K] -> rows [M, K]; the matmul accumulates into the bias broadcast
/// over the rows (or a zero fill), then the rows are reshaped to [..., N].
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")) ||
        failed(requireStaticF32(rewriter, op, op.getWeight(), "weight")) ||
        failed(requireStaticF32(rewriter, op, op.getResult(), "result")))
      return failure();
    if (op.getBias() &&
        failed(requireStaticF32(rewriter, op, op.getBias(), "bias")))
      return failure();
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());

    Value rows = collapseLeadingDims(rewriter, loc, adaptor.getX(), 1);
    int64_t numRows = cast<RankedTensorType>(rows.getType()).getDimSize(0);
    int64_t numOut = resultType.getShape().back();
    SmallVector<int64_t> accShape = {numRows, numOut};
    Value init = adaptor.getBias()
                     ? broadcastBias(rewriter, loc, adaptor.getBias(), accShape)
                     : createFilledF32(rewriter, loc, accShape, 0.0);
    auto matmul = linalg::MatmulTransposeBOp::create(
        rewriter, loc, TypeRange{init.getType()},
        ValueRange{rows, adaptor.getWeight()}, ValueRange{init});
    rewriter.replaceOp(
        op, restoreLeadingDims(rewriter, loc, matmul.getResult(0), resultType));
    return success();
  }

private:
  /// bias [N] repeated for every row of the [M, N] accumulator.
  static Value broadcastBias(OpBuilder &builder, Location loc, Value bias,
                             ArrayRef<int64_t> accShape) {
    Value empty = createEmptyF32(builder, loc, accShape);
    return linalg::BroadcastOp::create(builder, loc, bias, empty,
                                       ArrayRef<int64_t>{0})
        .getResult()
        .front();
  }
};

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

/// result[i..., d] = table[tokens[i...], d] * scale: a parallel generic over
/// the result that reads the token through its indexing map and the table
/// row through tensor.extract at (token, linalg.index of the last loop).
/// Tokens are not clamped: the runtime validates them before any call.
struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getTable(), "table")) ||
        failed(requireStaticIndices(rewriter, op, op.getTokens(), "tokens")) ||
        failed(requireStaticF32(rewriter, op, op.getResult(), "result")))
      return failure();
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    unsigned rank = resultType.getRank();
    MLIRContext *context = rewriter.getContext();
    SmallVector<AffineMap> maps = {
        leadingDimsMap(rank, rank - 1, context),
        AffineMap::getMultiDimIdentityMap(rank, context)};
    std::optional<double> scale;
    if (FloatAttr attr = op.getScaleAttr();
        attr && attr.getValueAsDouble() != 1)
      scale = attr.getValueAsDouble();
    Value table = adaptor.getTable();

    Value empty = createEmptyF32(rewriter, loc, resultType.getShape());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, adaptor.getTokens(), empty, maps,
        parallelThenReduction(rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value row = castToIndex(b, l, args[0]);
          Value column = linalg::IndexOp::create(b, l, rank - 1);
          Value value =
              tensor::ExtractOp::create(b, l, table, ValueRange{row, column});
          if (scale)
            value = arith::MulFOp::create(b, l, value,
                                          createF32Constant(b, l, *scale));
          linalg::YieldOp::create(b, l, value);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// cross_entropy
//===----------------------------------------------------------------------===//

/// loss = mean_r (logsumexp(logits[r]) - logits[r, target[r]]), with the
/// row maximum m factored out of the log-sum-exp, m + log(sum exp(x - m)), so
/// that no exponential overflows. All leading dimensions are collapsed into
/// the rows R first.
struct CrossEntropyLowering : OpConversionPattern<CrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getLogits(), "logits")) ||
        failed(requireStaticIndices(rewriter, op, op.getTargets(), "targets")))
      return failure();
    Location loc = op.getLoc();
    Value logits = collapseLeadingDims(rewriter, loc, adaptor.getLogits(), 1);
    Value targets = collapseLeadingDims(rewriter, loc, adaptor.getTargets(), 0);
    int64_t numRows = cast<RankedTensorType>(logits.getType()).getDimSize(0);

    auto [rowMax, sumExp] = buildSoftmaxRowStats(rewriter, loc, logits);
    Value total = buildLossSum(rewriter, loc, logits, targets, rowMax, sumExp);
    rewriter.replaceOp(op, buildMean(rewriter, loc, total, numRows));
    return success();
  }

private:
  /// sum_r (m[r] - logits[r, target[r]] + log(s[r])) as a 0-d tensor: a
  /// reduction over the rows that gathers each target logit with
  /// tensor.extract.
  static Value buildLossSum(OpBuilder &builder, Location loc, Value logits,
                            Value targets, Value rowMax, Value sumExp) {
    MLIRContext *context = builder.getContext();
    AffineMap row = AffineMap::getMultiDimIdentityMap(1, context);
    SmallVector<AffineMap> maps = {row, row, row,
                                   leadingDimsMap(1, 0, context)};
    Value acc = createFilledF32(builder, loc, {}, 0.0);
    auto generic = linalg::GenericOp::create(
        builder, loc, acc.getType(), ValueRange{targets, rowMax, sumExp}, acc,
        maps, parallelThenReduction(0, 1),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value r = linalg::IndexOp::create(b, l, 0);
          Value target = castToIndex(b, l, args[0]);
          Value picked =
              tensor::ExtractOp::create(b, l, logits, ValueRange{r, target});
          // (m - x_t) + log(s) rather than (m + log(s)) - x_t: the
          // difference of two logits is exact when they are close, so a
          // large common offset of the row costs no precision.
          Value margin = arith::SubFOp::create(b, l, args[1], picked);
          Value loss = arith::AddFOp::create(
              b, l, margin, math::LogOp::create(b, l, args[2]));
          Value sum = arith::AddFOp::create(b, l, args[3], loss);
          linalg::YieldOp::create(b, l, sum);
        });
    return generic.getResult(0);
  }

  /// total / R on a 0-d tensor.
  static Value buildMean(OpBuilder &builder, Location loc, Value total,
                         int64_t numRows) {
    AffineMap scalar = AffineMap::get(builder.getContext());
    Value empty = createEmptyF32(builder, loc, {});
    auto generic = linalg::GenericOp::create(
        builder, loc, empty.getType(), total, empty,
        ArrayRef<AffineMap>{scalar, scalar}, parallelThenReduction(0),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value count = createF32Constant(b, l, double(numRows));
          Value mean = arith::DivFOp::create(b, l, args[0], count);
          linalg::YieldOp::create(b, l, mean);
        });
    return generic.getResult(0);
  }
};

} // namespace

void mlir::megalodon::populateDenseToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LinearLowering, EmbeddingLowering, CrossEntropyLowering>(
      patterns.getContext());
}
