//===- Elementwise.cpp - Lowering of the elementwise ops ------------------===//
//
// add and mul become the named linalg.add / linalg.mul; silu, swiglu and
// scale_channels become all-parallel linalg.generic ops whose bodies hold the
// scalar formula. Every result is written into a tensor.empty destination.
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

/// silu(x) = x * sigmoid(x), written as x / (1 + exp(-x)). For very negative
/// x, exp(-x) overflows to +inf and the quotient is the correct -0 rather
/// than a NaN, so no branch is needed.
Value buildSilu(OpBuilder &builder, Location loc, Value x) {
  Value one = createF32Constant(builder, loc, 1.0);
  Value negated = arith::NegFOp::create(builder, loc, x);
  Value exp = math::ExpOp::create(builder, loc, negated);
  Value denominator = arith::AddFOp::create(builder, loc, one, exp);
  return arith::DivFOp::create(builder, loc, x, denominator);
}

/// An all-parallel linalg.generic over the shape of `resultType` whose
/// operands are all indexed by the identity map; `body` maps the operands'
/// elements to the result element.
Value buildElementwiseGeneric(
    OpBuilder &builder, Location loc, RankedTensorType resultType,
    ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  unsigned rank = resultType.getRank();
  SmallVector<AffineMap> maps(
      inputs.size() + 1,
      AffineMap::getMultiDimIdentityMap(rank, builder.getContext()));
  Value empty = createEmptyF32(builder, loc, resultType.getShape());
  auto generic =
      linalg::GenericOp::create(builder, loc, resultType, inputs, empty, maps,
                                parallelThenReduction(rank),
                                [&](OpBuilder &b, Location l, ValueRange args) {
                                  Value result = body(b, l, args.drop_back());
                                  linalg::YieldOp::create(b, l, result);
                                });
  return generic.getResult(0);
}

/// add and mul: an elementwise generic whose body is the arith op. Not the
/// named linalg.add / linalg.mul: elementwise fusion, the vectorizer and the
/// epilogue fusion into matmuls all work on generics, and a named op would be
/// left to a scalar loop of its own.
template <typename SourceOp, typename ArithOp>
struct BinaryToGeneric : OpConversionPattern<SourceOp> {
  using OpConversionPattern<SourceOp>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SourceOp op, typename SourceOp::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getResult(), "result")))
      return failure();
    Value result = buildElementwiseGeneric(
        rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
        ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return ArithOp::create(b, l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SiluLowering : OpConversionPattern<SiluOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SiluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")))
      return failure();
    Value result = buildElementwiseGeneric(
        rewriter, op.getLoc(), op.getType(), adaptor.getX(),
        [](OpBuilder &b, Location loc, ValueRange args) {
          return buildSilu(b, loc, args[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// swiglu(gate, up) = silu(gate) * up, in one generic so the activation is
/// never materialized.
struct SwigluLowering : OpConversionPattern<SwigluOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SwigluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getLhs(), "gate")))
      return failure();
    Value result = buildElementwiseGeneric(
        rewriter, op.getLoc(), op.getType(),
        ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        [](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value silu = buildSilu(b, loc, args[0]);
          return arith::MulFOp::create(b, loc, silu, args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// x[..., w] * scale[w]: a generic whose scale operand is indexed by the
/// innermost loop only, i.e. broadcast over the rows.
struct ScaleChannelsLowering : OpConversionPattern<ScaleChannelsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ScaleChannelsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")) ||
        failed(requireStaticF32(rewriter, op, op.getScale(), "scale")))
      return failure();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    MLIRContext *context = rewriter.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
    SmallVector<AffineMap> maps = {
        identity, trailingDimsMap(rank, /*numKept=*/1, context), identity};
    Value empty = createEmptyF32(rewriter, loc, type.getShape());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{adaptor.getX(), adaptor.getScale()},
        empty, maps, parallelThenReduction(rank),
        [](OpBuilder &b, Location l, ValueRange args) {
          Value scaled = arith::MulFOp::create(b, l, args[0], args[1]);
          linalg::YieldOp::create(b, l, scaled);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void mlir::megalodon::populateElementwiseToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<BinaryToGeneric<AddOp, arith::AddFOp>,
               BinaryToGeneric<MulOp, arith::MulFOp>, SiluLowering,
               SwigluLowering, ScaleChannelsLowering>(patterns.getContext());
}
