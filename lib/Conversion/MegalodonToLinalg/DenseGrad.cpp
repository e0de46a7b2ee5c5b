//===- DenseGrad.cpp - Lowering of the dense and elementwise gradients ----===//
//
// linear_grad is matmuls in the plain form C[M, N] += A[M, K] * B[K, N] that
// the register-tiled kernel of TileAndVectorize accepts, with one operand of
// the weight gradient transposed in 16 x 16 blocks, plus a column sum for the
// bias. embedding_grad is a sequential scatter-add of rows in token order.
// cross_entropy_grad is the two row-wise reductions of the forward, a per-row
// generic and one [R, V] generic. silu_grad, swiglu_grad and the gx of
// scale_channels_grad are all-parallel generics; g_scale is a column sum.
//
// Every sum runs in an order fixed at compile time and independent of the
// thread count (threads only ever split independent outputs), so a training
// step is bit-reproducible.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>
#include <optional>
#include <utility>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// An integer token or target loaded from a tensor, as an index.
Value castToIndex(OpBuilder &builder, Location loc, Value integer) {
  return arith::IndexCastOp::create(builder, loc, builder.getIndexType(),
                                    integer);
}

/// sigmoid(x) = 1 / (1 + exp(-x)). For very negative x, exp(-x) overflows to
/// +inf and the quotient is the correct 0 rather than a NaN.
Value buildSigmoid(OpBuilder &builder, Location loc, Value x) {
  Value one = createF32Constant(builder, loc, 1.0);
  Value negated = arith::NegFOp::create(builder, loc, x);
  Value exp = math::ExpOp::create(builder, loc, negated);
  Value denominator = arith::AddFOp::create(builder, loc, one, exp);
  return arith::DivFOp::create(builder, loc, one, denominator);
}

/// silu'(x) = sig * (1 + x * (1 - sig)) for sig = sigmoid(x), the form of the
/// reference kernel. Where sig saturates to 0 or 1 the factor stays finite.
Value buildSiluDerivative(OpBuilder &builder, Location loc, Value x,
                          Value sig) {
  Value one = createF32Constant(builder, loc, 1.0);
  Value complement = arith::SubFOp::create(builder, loc, one, sig);
  Value slope = arith::MulFOp::create(builder, loc, x, complement);
  Value factor = arith::AddFOp::create(builder, loc, one, slope);
  return arith::MulFOp::create(builder, loc, sig, factor);
}

/// An all-parallel linalg.generic with one result per entry of `resultTypes`,
/// all of the same shape, whose operands are all indexed by the identity map;
/// `body` maps the input elements to the result elements.
SmallVector<Value> buildElementwiseGeneric(
    OpBuilder &builder, Location loc, ArrayRef<RankedTensorType> resultTypes,
    ValueRange inputs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  unsigned rank = resultTypes.front().getRank();
  SmallVector<AffineMap> maps(
      inputs.size() + resultTypes.size(),
      AffineMap::getMultiDimIdentityMap(rank, builder.getContext()));
  SmallVector<Value> inits;
  SmallVector<Type> types;
  for (RankedTensorType type : resultTypes) {
    inits.push_back(createEmptyF32(builder, loc, type.getShape()));
    types.push_back(type);
  }
  auto generic = linalg::GenericOp::create(
      builder, loc, types, inputs, inits, maps, parallelThenReduction(rank),
      [&](OpBuilder &b, Location l, ValueRange args) {
        SmallVector<Value> results = body(b, l, args.take_front(inputs.size()));
        linalg::YieldOp::create(b, l, results);
      });
  return SmallVector<Value>(generic.getResults());
}

/// Column sums of the rows `inputs` (each [R, W]) into a zero-filled [W]
/// accumulator: `term` gets the loaded elements of one row position and
/// returns what is added. The loops are (rows, columns) with the reduction
/// outermost, so that the innermost loop is contiguous in every operand and
/// vectorizes across columns while each column sums its rows first to last.
Value buildColumnSum(
    OpBuilder &builder, Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  MLIRContext *context = builder.getContext();
  SmallVector<AffineMap> maps(inputs.size(),
                              AffineMap::getMultiDimIdentityMap(2, context));
  maps.push_back(trailingDimsMap(2, 1, context));
  Value acc = createFilledF32(builder, loc, type.getDimSize(1), 0.0);
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::reduction,
                                                utils::IteratorType::parallel};
  auto generic = linalg::GenericOp::create(
      builder, loc, acc.getType(), inputs, acc, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value value = term(b, l, args.drop_back());
        Value sum = arith::AddFOp::create(b, l, args.back(), value);
        linalg::YieldOp::create(b, l, sum);
      });
  return generic.getResult(0);
}

/// C[M, N] = A[M, K] * B[K, N] into a zero-filled accumulator: the plain
/// matmul form of the register-tiled kernel.
Value buildMatmul(OpBuilder &builder, Location loc, Value lhs, Value rhs) {
  int64_t numRows = cast<RankedTensorType>(lhs.getType()).getDimSize(0);
  int64_t numColumns = cast<RankedTensorType>(rhs.getType()).getDimSize(1);
  Value init = createFilledF32(builder, loc, {numRows, numColumns}, 0.0);
  auto matmul =
      linalg::MatmulOp::create(builder, loc, TypeRange{init.getType()},
                               ValueRange{lhs, rhs}, ValueRange{init});
  return matmul.getResult(0);
}

//===----------------------------------------------------------------------===//
// linear_grad
//===----------------------------------------------------------------------===//

/// On rows x [M, K] and gy [M, N] with the weight W [N, K]:
///   gx = gy * W      a plain matmul (B = W, reducing over N),
///   gW = gy^T * x    a matmul reading gy as a transposed A (the kernel reads
///                    A in place either way: no transpose is materialized),
///   gb = the column sums of gy.
/// Every element of gW sums its products over the rows in order.
struct LinearGradLowering : OpConversionPattern<LinearGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")) ||
        failed(requireStaticF32(rewriter, op, op.getWeight(), "weight")) ||
        failed(requireStaticF32(rewriter, op, op.getGy(), "gy")))
      return failure();
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(op.getX().getType());

    Value xRows = collapseLeadingDims(rewriter, loc, adaptor.getX(), 1);
    Value gyRows = collapseLeadingDims(rewriter, loc, adaptor.getGy(), 1);
    int64_t numIn = xType.getShape().back();
    int64_t numOut =
        cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);

    Value gxRows = buildMatmul(rewriter, loc, gyRows, adaptor.getWeight());
    Value gx = restoreLeadingDims(rewriter, loc, gxRows, xType);

    Value gWeightInit = createFilledF32(rewriter, loc, {numOut, numIn}, 0.0);
    Value gWeight = linalg::MatmulTransposeAOp::create(
                        rewriter, loc, TypeRange{gWeightInit.getType()},
                        ValueRange{gyRows, xRows}, ValueRange{gWeightInit})
                        .getResult(0);

    Value gBias = buildColumnSum(
        rewriter, loc, gyRows,
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });

    rewriter.replaceOp(op, {gx, gWeight, gBias});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// embedding_grad
//===----------------------------------------------------------------------===//

/// g_table starts at zero; an scf.for over the token positions, in order,
/// adds gy[i, :] * scale into row tokens[i] through an extract_slice /
/// insert_slice pair at the same offsets (in place after bufferization). The
/// loop is sequential so that repeated tokens always sum in the same order;
/// the row update is a parallel generic the vectorizer handles. Tokens are
/// not clamped: the runtime validates them before any call.
struct EmbeddingGradLowering : OpConversionPattern<EmbeddingGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbeddingGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getGTable(), "g_table")) ||
        failed(requireStaticIndices(rewriter, op, op.getTokens(), "tokens")) ||
        failed(requireStaticF32(rewriter, op, op.getGy(), "gy")))
      return failure();
    Location loc = op.getLoc();
    auto tableType = cast<RankedTensorType>(op.getGTable().getType());
    int64_t width = tableType.getDimSize(1);
    std::optional<double> scale;
    if (FloatAttr attr = op.getScaleAttr();
        attr && attr.getValueAsDouble() != 1)
      scale = attr.getValueAsDouble();

    Value tokens = collapseLeadingDims(rewriter, loc, adaptor.getTokens(), 0);
    Value gyRows = collapseLeadingDims(rewriter, loc, adaptor.getGy(), 1);
    int64_t numTokens = cast<RankedTensorType>(tokens.getType()).getDimSize(0);
    Value zeros = createFilledF32(rewriter, loc, tableType.getShape(), 0.0);

    Value lower = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value upper = arith::ConstantIndexOp::create(rewriter, loc, numTokens);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, lower, upper, step, ValueRange{zeros},
        [&](OpBuilder &b, Location l, Value i, ValueRange args) {
          Value token = tensor::ExtractOp::create(b, l, tokens, ValueRange{i});
          Value row = castToIndex(b, l, token);
          auto rowType = RankedTensorType::get({width}, b.getF32Type());
          SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                             b.getIndexAttr(width)};
          SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
          SmallVector<OpFoldResult> tableOffsets = {row, b.getIndexAttr(0)};
          SmallVector<OpFoldResult> gyOffsets = {i, b.getIndexAttr(0)};
          Value target = tensor::ExtractSliceOp::create(
              b, l, rowType, args[0], tableOffsets, sizes, strides);
          Value source = tensor::ExtractSliceOp::create(
              b, l, rowType, gyRows, gyOffsets, sizes, strides);
          AffineMap identity =
              AffineMap::getMultiDimIdentityMap(1, b.getContext());
          auto update = linalg::GenericOp::create(
              b, l, rowType, source, target,
              ArrayRef<AffineMap>{identity, identity}, parallelThenReduction(1),
              [&](OpBuilder &nb, Location nl, ValueRange elems) {
                Value value = elems[0];
                if (scale)
                  value = arith::MulFOp::create(
                      nb, nl, value, createF32Constant(nb, nl, *scale));
                Value sum = arith::AddFOp::create(nb, nl, elems[1], value);
                linalg::YieldOp::create(nb, nl, sum);
              });
          Value updated = tensor::InsertSliceOp::create(
              b, l, update.getResult(0), args[0], tableOffsets, sizes, strides);
          scf::YieldOp::create(b, l, updated);
        });
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// cross_entropy_grad
//===----------------------------------------------------------------------===//

/// g[r, c] = exp(x[r, c] - m[r]) * coef[r] - [c == t[r]] * share, where
/// share = g_loss / R is each row's part of the loss cotangent and
/// coef[r] = share / s[r] folds the softmax normalization into one multiply
/// per element. m and s are the row maximum and the sum of shifted
/// exponentials, computed as in the forward.
struct CrossEntropyGradLowering : OpConversionPattern<CrossEntropyGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CrossEntropyGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getLogits(), "logits")) ||
        failed(
            requireStaticIndices(rewriter, op, op.getTargets(), "targets")) ||
        failed(requireStaticF32(rewriter, op, op.getGLoss(), "g_loss")))
      return failure();
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getGLogits().getType());
    Value logits = collapseLeadingDims(rewriter, loc, adaptor.getLogits(), 1);
    Value targets = collapseLeadingDims(rewriter, loc, adaptor.getTargets(), 0);
    int64_t numRows = cast<RankedTensorType>(logits.getType()).getDimSize(0);

    auto [rowMax, sumExp] = buildSoftmaxRowStats(rewriter, loc, logits);
    auto [coef, share] =
        buildRowFactors(rewriter, loc, sumExp, adaptor.getGLoss(), numRows);
    Value grad =
        buildGradient(rewriter, loc, logits, rowMax, coef, share, targets);
    rewriter.replaceOp(op, restoreLeadingDims(rewriter, loc, grad, resultType));
    return success();
  }

private:
  /// coef[r] = share / s[r] and share[r] = g_loss / R, from one [R] generic.
  /// Having two results also keeps elementwise fusion (which only folds
  /// producers with a single use) from moving the divisions into the [R, V]
  /// generic, where they would run once per element instead of once per row.
  static std::pair<Value, Value> buildRowFactors(OpBuilder &builder,
                                                 Location loc, Value sumExp,
                                                 Value gLoss, int64_t numRows) {
    auto type = cast<RankedTensorType>(sumExp.getType());
    MLIRContext *context = builder.getContext();
    AffineMap row = AffineMap::getMultiDimIdentityMap(1, context);
    SmallVector<AffineMap> maps = {row, leadingDimsMap(1, 0, context), row,
                                   row};
    Value coefInit = createEmptyF32(builder, loc, type.getShape());
    Value shareInit = createEmptyF32(builder, loc, type.getShape());
    auto generic = linalg::GenericOp::create(
        builder, loc, TypeRange{type, type}, ValueRange{sumExp, gLoss},
        ValueRange{coefInit, shareInit}, maps, parallelThenReduction(1),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value count = createF32Constant(b, l, double(numRows));
          Value share = arith::DivFOp::create(b, l, args[1], count);
          Value coef = arith::DivFOp::create(b, l, share, args[0]);
          linalg::YieldOp::create(b, l, ValueRange{coef, share});
        });
    return {generic.getResult(0), generic.getResult(1)};
  }

  /// The [R, V] gradient. The target column is found by comparing the column
  /// index with the row's target, which vectorizes, rather than by a scatter
  /// afterwards.
  static Value buildGradient(OpBuilder &builder, Location loc, Value logits,
                             Value rowMax, Value coef, Value share,
                             Value targets) {
    auto type = cast<RankedTensorType>(logits.getType());
    MLIRContext *context = builder.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, context);
    AffineMap row = leadingDimsMap(2, 1, context);
    SmallVector<AffineMap> maps = {identity, row, row, row, row, identity};
    Value empty = createEmptyF32(builder, loc, type.getShape());
    auto generic = linalg::GenericOp::create(
        builder, loc, type, ValueRange{logits, rowMax, coef, share, targets},
        empty, maps, parallelThenReduction(2),
        [](OpBuilder &b, Location l, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
          Value exp = math::ExpOp::create(b, l, shifted);
          Value prob = arith::MulFOp::create(b, l, exp, args[2]);
          Value column = linalg::IndexOp::create(b, l, 1);
          Value target = castToIndex(b, l, args[4]);
          Value isTarget = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                                 column, target);
          Value hit = arith::SubFOp::create(b, l, prob, args[3]);
          Value grad = arith::SelectOp::create(b, l, isTarget, hit, prob);
          linalg::YieldOp::create(b, l, grad);
        });
    return generic.getResult(0);
  }
};

//===----------------------------------------------------------------------===//
// silu_grad, swiglu_grad
//===----------------------------------------------------------------------===//

/// gx = gy * silu'(x), one generic.
struct SiluGradLowering : OpConversionPattern<SiluGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SiluGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")))
      return failure();
    auto type = cast<RankedTensorType>(op.getX().getType());
    SmallVector<Value> results = buildElementwiseGeneric(
        rewriter, op.getLoc(), {type},
        ValueRange{adaptor.getX(), adaptor.getGy()},
        [](OpBuilder &b, Location l, ValueRange args) {
          Value sig = buildSigmoid(b, l, args[0]);
          Value derivative = buildSiluDerivative(b, l, args[0], sig);
          return SmallVector<Value>{
              arith::MulFOp::create(b, l, args[1], derivative)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// g_gate = (gy * up) * silu'(gate) and g_up = gy * silu(gate) from one
/// generic with two results, so the sigmoid is computed once per element.
struct SwigluGradLowering : OpConversionPattern<SwigluGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SwigluGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getGate(), "gate")))
      return failure();
    auto type = cast<RankedTensorType>(op.getGate().getType());
    SmallVector<Value> results = buildElementwiseGeneric(
        rewriter, op.getLoc(), {type, type},
        ValueRange{adaptor.getGate(), adaptor.getUp(), adaptor.getGy()},
        [](OpBuilder &b, Location l, ValueRange args) {
          Value gate = args[0], up = args[1], gy = args[2];
          Value sig = buildSigmoid(b, l, gate);
          Value derivative = buildSiluDerivative(b, l, gate, sig);
          Value gyUp = arith::MulFOp::create(b, l, gy, up);
          Value gGate = arith::MulFOp::create(b, l, gyUp, derivative);
          Value silu = arith::MulFOp::create(b, l, gate, sig);
          Value gUp = arith::MulFOp::create(b, l, silu, gy);
          return SmallVector<Value>{gGate, gUp};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// scale_channels_grad
//===----------------------------------------------------------------------===//

/// gx = gy * scale (the forward's generic with gy in place of x) and
/// g_scale = column sums of gy * x over the rows.
struct ScaleChannelsGradLowering : OpConversionPattern<ScaleChannelsGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ScaleChannelsGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getX(), "x")) ||
        failed(requireStaticF32(rewriter, op, op.getScale(), "scale")) ||
        failed(requireStaticF32(rewriter, op, op.getGy(), "gy")))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getGx().getType());
    unsigned rank = type.getRank();
    MLIRContext *context = rewriter.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
    SmallVector<AffineMap> maps = {
        identity, trailingDimsMap(rank, /*numKept=*/1, context), identity};
    Value empty = createEmptyF32(rewriter, loc, type.getShape());
    auto gx = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{adaptor.getGy(), adaptor.getScale()},
        empty, maps, parallelThenReduction(rank),
        [](OpBuilder &b, Location l, ValueRange args) {
          Value scaled = arith::MulFOp::create(b, l, args[0], args[1]);
          linalg::YieldOp::create(b, l, scaled);
        });

    Value gyRows = collapseLeadingDims(rewriter, loc, adaptor.getGy(), 1);
    Value xRows = collapseLeadingDims(rewriter, loc, adaptor.getX(), 1);
    Value gScale =
        buildColumnSum(rewriter, loc, ValueRange{gyRows, xRows},
                       [](OpBuilder &b, Location l, ValueRange args) -> Value {
                         return arith::MulFOp::create(b, l, args[0], args[1]);
                       });
    rewriter.replaceOp(op, {gx.getResult(0), gScale});
    return success();
  }
};

} // namespace

void mlir::megalodon::populateDenseGradToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<LinearGradLowering, EmbeddingGradLowering, CrossEntropyGradLowering,
           SiluGradLowering, SwigluGradLowering, ScaleChannelsGradLowering>(
          patterns.getContext());
}
