//===- NormsGrad.cpp - Lowering of rms_norm_grad and layer_norm_grad ------===//
//
// Both gradients are row-wise except for the weight and bias gradients,
// which sum over all rows. x and gy are viewed as rows (the leading
// dimensions merged; for the grouped RMS norm [R, G, S], for the layer norm
// [R, W]) and processed in blocks of rows (buildRowBlocks: an scf.forall over
// the full blocks, then the short last one), each of which
//
//   - reduces its rows to per-row sums (linalg.generic, innermost loop a
//     reduction over the features of a group),
//   - turns the sums into per-row coefficients (a small parallel generic),
//   - writes its slice of gx (one parallel generic), and
//   - adds its rows' contributions to the weight and bias gradients into its
//     own partial sums (a generic reducing over its rows).
//
// A block fits in L2, so x and gy are read from memory once. The partial
// sums of the blocks are added in block order at the end: the weight and
// bias gradients do not depend on the number of threads. The formulas are
// those of the reference kernels: with G = gy * (weight + 1),
//
//   rms_norm:   r = 1/sqrt(sum(x^2)/s + eps),
//               gx = G r - x r^3 sum(G x)/s,       g_weight = sum_rows gy x r
//   layer_norm: mu = sum(x)/W, r = 1/sqrt(sum((x - mu)^2)/W + eps),
//               gx = r (G - sum(G)/W - (x - mu) r^2 sum(G (x - mu))/W),
//               g_weight = sum_rows gy (x - mu) r, g_bias = sum_rows gy
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

using Indexing = RowwiseIndexing;
using BodyValues = SmallVector<Value>;

/// Fails the match unless every named value is a static f32 tensor.
LogicalResult
requireAllStaticF32(PatternRewriter &rewriter, Operation *op,
                    ArrayRef<std::pair<Value, StringRef>> values) {
  for (auto [value, name] : values)
    if (value && failed(requireStaticF32(rewriter, op, value, name)))
      return failure();
  return success();
}

/// `value` ([R, W]) viewed as [R, groups, W / groups].
Value splitGroups(OpBuilder &b, Location loc, Value value, int64_t groups) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape().drop_back());
  shape.append({groups, type.getShape().back() / groups});
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    reassociation.push_back({d});
  reassociation.push_back({type.getRank() - 1, type.getRank()});
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      reassociation);
}

/// The inverse of splitGroups: [..., G, S] -> [..., G * S].
Value mergeGroups(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape().drop_back(2));
  shape.push_back(type.getDimSize(rank - 2) * type.getDimSize(rank - 1));
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t d = 0; d + 2 < rank; ++d)
    reassociation.push_back({d});
  reassociation.push_back({rank - 2, rank - 1});
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      reassociation);
}

/// Zero-filled per-row accumulators for a block ([rows, features...] minus
/// the innermost dimension).
Value rowAccumulator(OpBuilder &b, Location loc, Value block) {
  auto type = cast<RankedTensorType>(block.getType());
  return createFilledF32(b, loc, type.getShape().drop_back(), 0.0);
}

/// `dest` (a per-block partial sum) set to zero.
Value zeroed(OpBuilder &b, Location loc, Value dest) {
  return linalg::FillOp::create(b, loc, createF32Constant(b, loc, 0.0), dest)
      .getResult(0);
}

/// weight + 1, the scale of the norms (weights are stored as offsets).
Value offsetScale(OpBuilder &b, Location loc, Value weight) {
  return arith::AddFOp::create(b, loc, weight, createF32Constant(b, loc, 1.0));
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
Value div(OpBuilder &b, Location loc, Value x, double y) {
  return arith::DivFOp::create(b, loc, x, createF32Constant(b, loc, y));
}

/// 1 / sqrt(sum / count + eps), as in the forward lowering.
Value inverseRoot(OpBuilder &b, Location loc, Value sum, int64_t count,
                  double eps) {
  Value shifted = add(b, loc, div(b, loc, sum, double(count)),
                      createF32Constant(b, loc, eps));
  return math::RsqrtOp::create(b, loc, shifted);
}

SmallVector<utils::IteratorType> rowReduction(unsigned rank) {
  return parallelThenReduction(rank - 1, 1);
}
SmallVector<utils::IteratorType> elementwise(unsigned rank) {
  return parallelThenReduction(rank);
}
/// Reduction over the rows of a block, parallel over the features.
SmallVector<utils::IteratorType> columnReduction(unsigned rank) {
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  return iterators;
}

/// rms_norm_grad on rows [R, G, S]: per block, one reduction for sum(x^2)
/// and sum(G x), the coefficients r and r^3 sum(G x) / s, gx, and the partial
/// weight gradient.
struct RMSNormGradLowering : OpConversionPattern<RMSNormGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RMSNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireAllStaticF32(rewriter, op,
                                   {{op.getX(), "x"},
                                    {op.getWeight(), "weight"},
                                    {op.getGy(), "gy"}})))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getX().getType());
    int64_t groups = op.getNumGroups();
    int64_t width = type.getShape().back();
    int64_t groupSize = width / groups;
    double eps = op.getEps().convertToDouble();
    bool hasWeight = bool(adaptor.getWeight());

    Value x = splitGroups(rewriter, loc,
                          collapseLeadingDims(rewriter, loc, adaptor.getX(), 1),
                          groups);
    Value gy = splitGroups(
        rewriter, loc, collapseLeadingDims(rewriter, loc, adaptor.getGy(), 1),
        groups);
    Value weight;
    if (hasWeight)
      weight = tensor::ExpandShapeOp::create(
          rewriter, loc,
          RankedTensorType::get({groups, groupSize}, rewriter.getF32Type()),
          adaptor.getWeight(), ArrayRef<ReassociationIndices>{{0, 1}});
    int64_t rows = cast<RankedTensorType>(x.getType()).getDimSize(0);
    int64_t blockRows = rowBlockSize(rows, width);
    int64_t numBlocks = numRowBlocks(rows, blockRows);

    SmallVector<Value> dests = {
        createEmptyF32(rewriter, loc, {rows, groups, groupSize})};
    SmallVector<BlockSlicing> slicing = {BlockSlicing::Rows};
    if (hasWeight) {
      dests.push_back(
          createEmptyF32(rewriter, loc, {numBlocks, groups, groupSize}));
      slicing.push_back(BlockSlicing::PerBlock);
    }
    SmallVector<Value> results = buildRowBlocks(
        rewriter, loc, rows, blockRows, dests, slicing,
        [&](OpBuilder &b, Location l, const RowBlock &block,
            ValueRange slices) {
          return buildBlock(b, l, block, slices, x, gy, weight, groupSize, eps);
        });

    SmallVector<Value> replacements = {restoreLeadingDims(
        rewriter, loc, mergeGroups(rewriter, loc, results[0]), type)};
    if (hasWeight)
      replacements.push_back(mergeGroups(
          rewriter, loc, sumBlockPartials(rewriter, loc, results[1])));
    rewriter.replaceOp(op, replacements);
    return success();
  }

private:
  /// One block: `slices` are its gx rows and, with a weight, its partial
  /// weight gradient.
  static SmallVector<Value> buildBlock(OpBuilder &b, Location loc,
                                       const RowBlock &block, ValueRange slices,
                                       Value xRows, Value gyRows, Value weight,
                                       int64_t groupSize, double eps) {
    Value x = extractBlockRows(b, loc, xRows, block);
    Value gy = extractBlockRows(b, loc, gyRows, block);
    // G = gy * (weight + 1), or gy without a weight.
    SmallVector<RowwiseOperand> gyInputs = {{gy, Indexing::Element}};
    if (weight)
      gyInputs.push_back({weight, Indexing::Feature});
    auto scaled = [&](OpBuilder &nb, Location l, ValueRange args) {
      return weight ? mul(nb, l, args[0], offsetScale(nb, l, args[1]))
                    : args[0];
    };

    // sum(x^2) and sum(G x) per group.
    SmallVector<RowwiseOperand> statInputs = {{x, Indexing::Element}};
    llvm::append_range(statInputs, gyInputs);
    SmallVector<Value> sums = buildRowwiseGeneric(
        b, loc, 3, rowReduction(3), statInputs,
        {{rowAccumulator(b, loc, x), Indexing::Row},
         {rowAccumulator(b, loc, x), Indexing::Row}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value xv = args[0];
          Value g = scaled(nb, l, args.slice(1, statInputs.size() - 1));
          Value sumSq = args[statInputs.size()];
          Value dot = args[statInputs.size() + 1];
          return {add(nb, l, sumSq, mul(nb, l, xv, xv)),
                  add(nb, l, dot, mul(nb, l, g, xv))};
        });

    // In place: r = 1/sqrt(sum(x^2)/s + eps), k = r^3 sum(G x)/s.
    SmallVector<Value> coefficients = buildRowwiseGeneric(
        b, loc, 2, elementwise(2), {},
        {{sums[0], Indexing::Element}, {sums[1], Indexing::Element}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value r = inverseRoot(nb, l, args[0], groupSize, eps);
          Value cubed = mul(nb, l, mul(nb, l, r, r), r);
          return {r, div(nb, l, mul(nb, l, cubed, args[1]), groupSize)};
        });
    Value r = coefficients[0], k = coefficients[1];

    // gx = G r - x k.
    SmallVector<RowwiseOperand> gxInputs = {
        {x, Indexing::Element}, {r, Indexing::Row}, {k, Indexing::Row}};
    llvm::append_range(gxInputs, gyInputs);
    SmallVector<Value> results = buildRowwiseGeneric(
        b, loc, 3, elementwise(3), gxInputs, {{slices[0], Indexing::Element}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value g = scaled(nb, l, args.slice(3, gyInputs.size()));
          return {
              sub(nb, l, mul(nb, l, g, args[1]), mul(nb, l, args[0], args[2]))};
        });
    if (!weight)
      return results;

    // The block's weight gradient: sum over its rows of gy x r.
    results.push_back(buildRowwiseGeneric(
        b, loc, 3, columnReduction(3),
        {{x, Indexing::Element}, {gy, Indexing::Element}, {r, Indexing::Row}},
        {{zeroed(b, loc, slices[1]), Indexing::Feature}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value term = mul(nb, l, mul(nb, l, args[1], args[0]), args[2]);
          return {add(nb, l, args[3], term)};
        })[0]);
    return results;
  }
};

/// layer_norm_grad on rows [R, W]: per block, a reduction for sum(x), one
/// for sum((x - mu)^2), sum(G) and sum(G (x - mu)) (two passes, like the
/// forward, so that the variance is free of cancellation), the per-row
/// coefficients, gx, and the partial affine gradients.
struct LayerNormGradLowering : OpConversionPattern<LayerNormGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireAllStaticF32(rewriter, op,
                                   {{op.getX(), "x"},
                                    {op.getWeight(), "weight"},
                                    {op.getGy(), "gy"}})))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getX().getType());
    int64_t width = type.getShape().back();
    double eps = op.getEps().convertToDouble();
    Value weight = adaptor.getWeight();

    Value x = collapseLeadingDims(rewriter, loc, adaptor.getX(), 1);
    Value gy = collapseLeadingDims(rewriter, loc, adaptor.getGy(), 1);
    int64_t rows = cast<RankedTensorType>(x.getType()).getDimSize(0);
    int64_t blockRows = rowBlockSize(rows, width);
    int64_t numBlocks = numRowBlocks(rows, blockRows);

    SmallVector<Value> dests = {createEmptyF32(rewriter, loc, {rows, width})};
    SmallVector<BlockSlicing> slicing = {BlockSlicing::Rows};
    if (weight) {
      for (int i = 0; i < 2; ++i) {
        dests.push_back(createEmptyF32(rewriter, loc, {numBlocks, width}));
        slicing.push_back(BlockSlicing::PerBlock);
      }
    }
    SmallVector<Value> results = buildRowBlocks(
        rewriter, loc, rows, blockRows, dests, slicing,
        [&](OpBuilder &b, Location l, const RowBlock &block,
            ValueRange slices) {
          return buildBlock(b, l, block, slices, x, gy, weight, width, eps);
        });

    SmallVector<Value> replacements = {
        restoreLeadingDims(rewriter, loc, results[0], type)};
    if (weight) {
      replacements.push_back(sumBlockPartials(rewriter, loc, results[1]));
      replacements.push_back(sumBlockPartials(rewriter, loc, results[2]));
    }
    rewriter.replaceOp(op, replacements);
    return success();
  }

private:
  /// One block: `slices` are its gx rows and, for an affine norm, its
  /// partial weight and bias gradients.
  static SmallVector<Value> buildBlock(OpBuilder &b, Location loc,
                                       const RowBlock &block, ValueRange slices,
                                       Value xRows, Value gyRows, Value weight,
                                       int64_t width, double eps) {
    Value x = extractBlockRows(b, loc, xRows, block);
    Value gy = extractBlockRows(b, loc, gyRows, block);
    SmallVector<RowwiseOperand> gyInputs = {{gy, Indexing::Element}};
    if (weight)
      gyInputs.push_back({weight, Indexing::Feature});
    auto scaled = [&](OpBuilder &nb, Location l, ValueRange args) {
      return weight ? mul(nb, l, args[0], offsetScale(nb, l, args[1]))
                    : args[0];
    };

    Value sum = buildRowwiseGeneric(
        b, loc, 2, rowReduction(2), {{x, Indexing::Element}},
        {{rowAccumulator(b, loc, x), Indexing::Row}},
        [](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          return {add(nb, l, args[1], args[0])};
        })[0];

    // sum((x - mu)^2), sum(G), sum(G (x - mu)).
    SmallVector<RowwiseOperand> statInputs = {{x, Indexing::Element},
                                              {sum, Indexing::Row}};
    llvm::append_range(statInputs, gyInputs);
    unsigned numInputs = statInputs.size();
    SmallVector<Value> sums = buildRowwiseGeneric(
        b, loc, 2, rowReduction(2), statInputs,
        {{rowAccumulator(b, loc, x), Indexing::Row},
         {rowAccumulator(b, loc, x), Indexing::Row},
         {rowAccumulator(b, loc, x), Indexing::Row}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value centered = sub(nb, l, args[0], div(nb, l, args[1], width));
          Value g = scaled(nb, l, args.slice(2, gyInputs.size()));
          return {add(nb, l, args[numInputs], mul(nb, l, centered, centered)),
                  add(nb, l, args[numInputs + 1], g),
                  add(nb, l, args[numInputs + 2], mul(nb, l, g, centered))};
        });

    // In place: mu, r = 1/sqrt(var + eps), a = sum(G)/W and
    // k = r^2 sum(G (x - mu))/W.
    SmallVector<Value> coefficients = buildRowwiseGeneric(
        b, loc, 1, elementwise(1), {},
        {{sum, Indexing::Element},
         {sums[0], Indexing::Element},
         {sums[1], Indexing::Element},
         {sums[2], Indexing::Element}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value r = inverseRoot(nb, l, args[1], width, eps);
          Value k = div(nb, l, mul(nb, l, mul(nb, l, r, r), args[3]), width);
          return {div(nb, l, args[0], width), r, div(nb, l, args[2], width), k};
        });
    Value mean = coefficients[0], r = coefficients[1];
    Value a = coefficients[2], k = coefficients[3];

    // gx = r (G - a - (x - mu) k).
    SmallVector<RowwiseOperand> gxInputs = {{x, Indexing::Element},
                                            {mean, Indexing::Row},
                                            {r, Indexing::Row},
                                            {a, Indexing::Row},
                                            {k, Indexing::Row}};
    llvm::append_range(gxInputs, gyInputs);
    SmallVector<Value> results = buildRowwiseGeneric(
        b, loc, 2, elementwise(2), gxInputs, {{slices[0], Indexing::Element}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value centered = sub(nb, l, args[0], args[1]);
          Value g = scaled(nb, l, args.slice(5, gyInputs.size()));
          Value inner =
              sub(nb, l, sub(nb, l, g, args[3]), mul(nb, l, centered, args[4]));
          return {mul(nb, l, args[2], inner)};
        });
    if (!weight)
      return results;

    // The block's affine gradients: sums over its rows of gy (x - mu) r and
    // of gy.
    SmallVector<Value> partials = buildRowwiseGeneric(
        b, loc, 2, columnReduction(2),
        {{x, Indexing::Element},
         {gy, Indexing::Element},
         {mean, Indexing::Row},
         {r, Indexing::Row}},
        {{zeroed(b, loc, slices[1]), Indexing::Feature},
         {zeroed(b, loc, slices[2]), Indexing::Feature}},
        [&](OpBuilder &nb, Location l, ValueRange args) -> BodyValues {
          Value normalized = mul(nb, l, sub(nb, l, args[0], args[2]), args[3]);
          return {add(nb, l, args[4], mul(nb, l, args[1], normalized)),
                  add(nb, l, args[5], args[1])};
        });
    llvm::append_range(results, partials);
    return results;
  }
};

} // namespace

void mlir::megalodon::populateNormsGradToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RMSNormGradLowering, LayerNormGradLowering>(
      patterns.getContext());
}
