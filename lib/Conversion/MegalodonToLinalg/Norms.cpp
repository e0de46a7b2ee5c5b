//===- Norms.cpp - Lowering of rms_norm and layer_norm --------------------===//
//
// Both norms are row-wise: reductions over the normalized axis into a
// per-row accumulator (a linalg.generic with the trailing loop a reduction),
// then one all-parallel generic that normalizes every element with the
// finished statistics and applies the optional affine transform. Statistics
// are f32 sums; the division by the group width happens when they are used,
// as in the reference kernels.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// The per-row sum over the innermost dimension of `input`, with `term`
/// giving each element's contribution from the loaded input elements (the
/// first being `input`'s). `extraInputs` are per-row values (indexed like the
/// accumulator) that the term may use.
Value buildRowSum(OpBuilder &builder, Location loc, Value input,
                  ValueRange extraInputs,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  auto type = cast<RankedTensorType>(input.getType());
  unsigned rank = type.getRank();
  MLIRContext *context = builder.getContext();
  AffineMap rowMap = leadingDimsMap(rank, rank - 1, context);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context)};
  maps.append(extraInputs.size(), rowMap);
  maps.push_back(rowMap);
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, extraInputs);
  Value init = createFilledF32(builder, loc, type.getShape().drop_back(), 0.0);
  auto generic = linalg::GenericOp::create(
      builder, loc, init.getType(), inputs, init, maps,
      parallelThenReduction(rank - 1, 1),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value contribution = term(b, l, args.drop_back());
        Value sum = arith::AddFOp::create(b, l, args.back(), contribution);
        linalg::YieldOp::create(b, l, sum);
      });
  return generic.getResult(0);
}

/// 1 / sqrt(sum / count + eps): the inverse standard deviation (or RMS) from
/// a sum of squares over `count` elements.
Value buildInverseRoot(OpBuilder &builder, Location loc, Value sum,
                       int64_t count, double eps) {
  Value mean = arith::DivFOp::create(
      builder, loc, sum, createF32Constant(builder, loc, double(count)));
  Value shifted = arith::AddFOp::create(builder, loc, mean,
                                        createF32Constant(builder, loc, eps));
  return math::RsqrtOp::create(builder, loc, shifted);
}

/// value * (weight + 1): the norm weights are stored as offsets from 1.
Value applyOffsetWeight(OpBuilder &builder, Location loc, Value value,
                        Value weight) {
  Value one = createF32Constant(builder, loc, 1.0);
  Value scale = arith::AddFOp::create(builder, loc, weight, one);
  return arith::MulFOp::create(builder, loc, value, scale);
}

/// An all-parallel generic over the shape of `input` whose operands are
/// `input` itself (identity map), the per-row `rowInputs` and the
/// per-feature `featureInputs` covering the trailing `numFeatureDims`
/// dimensions. `body` receives the loaded elements in that order.
Value buildNormalizeGeneric(
    OpBuilder &builder, Location loc, Value input, ValueRange rowInputs,
    ValueRange featureInputs, unsigned numFeatureDims,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto type = cast<RankedTensorType>(input.getType());
  unsigned rank = type.getRank();
  MLIRContext *context = builder.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  SmallVector<AffineMap> maps = {identity};
  maps.append(rowInputs.size(), leadingDimsMap(rank, rank - 1, context));
  maps.append(featureInputs.size(),
              trailingDimsMap(rank, numFeatureDims, context));
  maps.push_back(identity);
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, rowInputs);
  llvm::append_range(inputs, featureInputs);
  Value empty = createEmptyF32(builder, loc, type.getShape());
  auto generic = linalg::GenericOp::create(
      builder, loc, type, inputs, empty, maps, parallelThenReduction(rank),
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, body(b, l, args.drop_back()));
      });
  return generic.getResult(0);
}

/// rms_norm: with G > 1 groups, x [..., W] is viewed as [..., G, W/G] (and
/// the weight as [G, W/G]) so that every group is an innermost row; one
/// reduction generic sums the squares per row, one parallel generic divides
/// by the RMS and applies the weight.
struct RMSNormLowering : OpConversionPattern<RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")))
      return failure();
    if (op.getWeight() &&
        failed(requireStaticF32(rewriter, op, op.getWeight(), "weight")))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t groups = op.getNumGroups();
    int64_t groupSize = type.getShape().back() / groups;
    double eps = op.getEps().convertToDouble();

    Value x = adaptor.getX();
    Value weight = adaptor.getWeight();
    unsigned numFeatureDims = 1;
    if (groups > 1) {
      x = splitLastDim(rewriter, loc, x, groups, groupSize);
      if (weight)
        weight = splitLastDim(rewriter, loc, weight, groups, groupSize);
      numFeatureDims = 2;
    }

    Value sumSquares =
        buildRowSum(rewriter, loc, x, /*extraInputs=*/{},
                    [](OpBuilder &b, Location l, ValueRange args) -> Value {
                      return arith::MulFOp::create(b, l, args[0], args[0]);
                    });
    SmallVector<Value> featureInputs;
    if (weight)
      featureInputs.push_back(weight);
    Value normalized = buildNormalizeGeneric(
        rewriter, loc, x, sumSquares, featureInputs, numFeatureDims,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value invRms = buildInverseRoot(b, l, args[1], groupSize, eps);
          Value y = arith::MulFOp::create(b, l, args[0], invRms);
          return weight ? applyOffsetWeight(b, l, y, args[2]) : y;
        });
    if (groups > 1)
      normalized = tensor::CollapseShapeOp::create(
          rewriter, loc, type, normalized, lastDimGroups(type.getRank()));
    rewriter.replaceOp(op, normalized);
    return success();
  }

private:
  /// The reassociation between [..., W] (rank `rank`) and [..., G, W/G].
  static SmallVector<ReassociationIndices> lastDimGroups(int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < rank - 1; ++d)
      groups.push_back({d});
    groups.push_back({rank - 1, rank});
    return groups;
  }

  /// Views [..., W] as [..., groups, groupSize].
  static Value splitLastDim(OpBuilder &builder, Location loc, Value value,
                            int64_t groups, int64_t groupSize) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<int64_t> shape(type.getShape().drop_back());
    shape.append({groups, groupSize});
    return tensor::ExpandShapeOp::create(
        builder, loc, RankedTensorType::get(shape, type.getElementType()),
        value, lastDimGroups(type.getRank()));
  }
};

/// layer_norm: two reductions per row (the sum, then the sum of squared
/// deviations from the mean, like the reference's two-pass moments, which
/// avoid the cancellation of E[x^2] - mean^2) and one parallel generic.
struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")))
      return failure();
    if (op.getWeight() &&
        (failed(requireStaticF32(rewriter, op, op.getWeight(), "weight")) ||
         failed(requireStaticF32(rewriter, op, op.getBias(), "bias"))))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t width = type.getShape().back();
    double eps = op.getEps().convertToDouble();
    Value x = adaptor.getX();

    auto mean = [width](OpBuilder &b, Location l, Value sum) -> Value {
      return arith::DivFOp::create(b, l, sum,
                                   createF32Constant(b, l, double(width)));
    };
    Value sum = buildRowSum(
        rewriter, loc, x, /*extraInputs=*/{},
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    Value sumSquaredDeviations =
        buildRowSum(rewriter, loc, x, sum,
                    [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                      Value deviation = arith::SubFOp::create(
                          b, l, args[0], mean(b, l, args[1]));
                      return arith::MulFOp::create(b, l, deviation, deviation);
                    });

    SmallVector<Value> featureInputs;
    if (adaptor.getWeight())
      featureInputs = {adaptor.getWeight(), adaptor.getBias()};
    Value normalized = buildNormalizeGeneric(
        rewriter, loc, x, ValueRange{sum, sumSquaredDeviations}, featureInputs,
        /*numFeatureDims=*/1,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value deviation =
              arith::SubFOp::create(b, l, args[0], mean(b, l, args[1]));
          Value invStd = buildInverseRoot(b, l, args[2], width, eps);
          Value y = arith::MulFOp::create(b, l, deviation, invStd);
          if (featureInputs.empty())
            return y;
          y = applyOffsetWeight(b, l, y, args[3]);
          return arith::AddFOp::create(b, l, y, args[4]);
        });
    rewriter.replaceOp(op, normalized);
    return success();
  }
};

} // namespace

void mlir::megalodon::populateNormsToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RMSNormLowering, LayerNormLowering>(patterns.getContext());
}
