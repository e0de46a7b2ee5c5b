//===- LinalgBuilders.h - Helpers for the dense lowerings -------*- C++ -*-===//
//
// Small builders shared by the elementwise, norm and dense lowerings: type
// checks that turn unsupported ops into match failures, filled accumulators,
// the indexing maps of row-wise reductions, and the reshapes that view an
// N-d tensor as rows.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/Twine.h"

#include <numeric>

namespace mlir::megalodon::detail {

/// Fails the match unless `value` is a statically shaped tensor of f32. The
/// compiled pipelines compute in f32 and size every buffer at compile time;
/// anything else is left for the conversion to report.
inline LogicalResult requireStaticF32(PatternRewriter &rewriter, Operation *op,
                                      Value value, StringRef name) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.getElementType().isF32())
    return rewriter.notifyMatchFailure(
        op, llvm::Twine(name) + " must have element type f32 (compiled code "
                                "computes in f32)");
  if (!type.hasStaticShape())
    return rewriter.notifyMatchFailure(
        op, llvm::Twine(name) + " has a dynamic shape, which the lowering "
                                "does not support");
  return success();
}

/// Fails the match unless `value` is a statically shaped tensor of indices
/// (tokens or targets); the verifier already restricts them to i32/i64.
inline LogicalResult requireStaticIndices(PatternRewriter &rewriter,
                                          Operation *op, Value value,
                                          StringRef name) {
  if (cast<RankedTensorType>(value.getType()).hasStaticShape())
    return success();
  return rewriter.notifyMatchFailure(
      op, llvm::Twine(name) +
              " has a dynamic shape, which the lowering does not support");
}

/// An f32 scalar constant.
inline Value createF32Constant(OpBuilder &builder, Location loc, double value) {
  return arith::ConstantOp::create(builder, loc,
                                   builder.getF32FloatAttr(value));
}

/// An uninitialized f32 tensor of `shape`: the destination of an op that
/// overwrites every element.
inline Value createEmptyF32(OpBuilder &builder, Location loc,
                            ArrayRef<int64_t> shape) {
  return tensor::EmptyOp::create(builder, loc, shape, builder.getF32Type());
}

/// An f32 tensor of `shape` filled with `value`: the accumulator of a
/// reduction.
inline Value createFilledF32(OpBuilder &builder, Location loc,
                             ArrayRef<int64_t> shape, double value) {
  Value empty = createEmptyF32(builder, loc, shape);
  Value init = createF32Constant(builder, loc, value);
  return linalg::FillOp::create(builder, loc, init, empty).getResult(0);
}

/// `numParallel` parallel loops followed by `numReduction` reduction loops,
/// the order every row-wise reduction here uses.
inline SmallVector<utils::IteratorType>
parallelThenReduction(unsigned numParallel, unsigned numReduction = 0) {
  SmallVector<utils::IteratorType> iterators(numParallel,
                                             utils::IteratorType::parallel);
  iterators.append(numReduction, utils::IteratorType::reduction);
  return iterators;
}

/// The map from a `numDims` loop nest to the loops [first, first + count).
inline AffineMap dimRangeMap(unsigned numDims, unsigned first, unsigned count,
                             MLIRContext *context) {
  SmallVector<AffineExpr> results;
  for (unsigned d = first; d < first + count; ++d)
    results.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(numDims, /*symbolCount=*/0, results, context);
}

/// The map from a `numDims` loop nest to its leading `numKept` loops: how a
/// reduction over the trailing loops addresses its per-row accumulator.
inline AffineMap leadingDimsMap(unsigned numDims, unsigned numKept,
                                MLIRContext *context) {
  return dimRangeMap(numDims, 0, numKept, context);
}

/// The map from a `numDims` loop nest to its trailing `numKept` loops: how a
/// per-feature vector (a norm weight, a channel scale) is broadcast over the
/// rows.
inline AffineMap trailingDimsMap(unsigned numDims, unsigned numKept,
                                 MLIRContext *context) {
  return dimRangeMap(numDims, numDims - numKept, numKept, context);
}

/// The reassociation that merges the dimensions [0, numMerged) of a tensor
/// of rank `rank` into one and keeps the others.
inline SmallVector<ReassociationIndices>
mergeLeadingReassociation(int64_t rank, int64_t numMerged) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices leading(numMerged);
  std::iota(leading.begin(), leading.end(), 0);
  groups.push_back(leading);
  for (int64_t d = numMerged; d < rank; ++d)
    groups.push_back({d});
  return groups;
}

/// Views `value` (shape [lead..., trail...] with `numTrailing` trailing
/// dimensions) as [R, trail...], R the product of the leading dimensions, so
/// that a lowering sees rows of a fixed rank. Without leading dimensions R is
/// a new unit dimension. Static shapes only; the reshapes cost nothing after
/// bufferization.
inline Value collapseLeadingDims(OpBuilder &builder, Location loc, Value value,
                                 int64_t numTrailing) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t numLeading = type.getRank() - numTrailing;
  if (numLeading == 1)
    return value;
  ArrayRef<int64_t> trailing = type.getShape().drop_front(numLeading);
  SmallVector<int64_t> shape;
  shape.push_back(
      ShapedType::getNumElements(type.getShape().take_front(numLeading)));
  shape.append(trailing.begin(), trailing.end());
  auto rowsType = RankedTensorType::get(shape, type.getElementType());
  if (numLeading == 0) {
    // [trail...] -> [1, trail...]: the unit joins the first trailing
    // dimension, or nothing at all for a 0-d tensor.
    SmallVector<ReassociationIndices> groups;
    if (numTrailing > 0)
      groups = mergeLeadingReassociation(rowsType.getRank(), 2);
    return tensor::ExpandShapeOp::create(builder, loc, rowsType, value, groups);
  }
  return tensor::CollapseShapeOp::create(
      builder, loc, rowsType, value,
      mergeLeadingReassociation(type.getRank(), numLeading));
}

/// The inverse of collapseLeadingDims: reshapes the rows `value` ([R,
/// trail...]) to `type` ([lead..., trail...]).
inline Value restoreLeadingDims(OpBuilder &builder, Location loc, Value value,
                                RankedTensorType type) {
  auto rowsType = cast<RankedTensorType>(value.getType());
  int64_t numTrailing = rowsType.getRank() - 1;
  int64_t numLeading = type.getRank() - numTrailing;
  if (numLeading == 1)
    return value;
  if (numLeading == 0) {
    SmallVector<ReassociationIndices> groups;
    if (numTrailing > 0)
      groups = mergeLeadingReassociation(rowsType.getRank(), 2);
    return tensor::CollapseShapeOp::create(builder, loc, type, value, groups);
  }
  return tensor::ExpandShapeOp::create(
      builder, loc, type, value,
      mergeLeadingReassociation(type.getRank(), numLeading));
}

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H
