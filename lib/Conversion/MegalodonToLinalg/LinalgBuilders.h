//===- LinalgBuilders.h - Helpers for the dense lowerings -------*- C++ -*-===//
//
// Small builders shared by the elementwise, norm and dense lowerings: type
// checks that turn unsupported ops into match failures, filled accumulators,
// the indexing maps of row-wise reductions, the reshapes that view an N-d
// tensor as rows, and the loop over blocks of rows of the norm gradients.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <numeric>
#include <utility>

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

/// A reduction over the vocabulary of logits [R, V] into a per-row f32
/// accumulator initialized to `init`; `perRow` are [R] inputs the body may
/// read. `combine` gets the loaded elements (logit, per-row values...,
/// accumulator) and returns the new accumulator. cross_entropy and its
/// gradient share it, so that both see the same row maxima and sums.
inline Value buildVocabReduction(
    OpBuilder &builder, Location loc, Value logits, ValueRange perRow,
    double init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> combine) {
  auto type = cast<RankedTensorType>(logits.getType());
  MLIRContext *context = builder.getContext();
  AffineMap rowMap = leadingDimsMap(2, 1, context);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(2, context)};
  maps.append(perRow.size() + 1, rowMap);
  SmallVector<Value> inputs = {logits};
  llvm::append_range(inputs, perRow);
  Value acc = createFilledF32(builder, loc, type.getDimSize(0), init);
  auto generic = linalg::GenericOp::create(
      builder, loc, acc.getType(), inputs, acc, maps,
      parallelThenReduction(1, 1),
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, combine(b, l, args));
      });
  return generic.getResult(0);
}

/// The row statistics of a softmax over logits [R, V]: the row maximum m and
/// the sum of shifted exponentials s = sum exp(x - m), each [R]. Shared by
/// cross_entropy and its gradient, so that both divide by the same sums.
inline std::pair<Value, Value> buildSoftmaxRowStats(OpBuilder &builder,
                                                    Location loc,
                                                    Value logits) {
  Value rowMax = buildVocabReduction(
      builder, loc, logits, /*perRow=*/{},
      -std::numeric_limits<double>::infinity(),
      [](OpBuilder &b, Location l, ValueRange args) -> Value {
        return arith::MaximumFOp::create(b, l, args[0], args[1]);
      });
  Value sumExp = buildVocabReduction(
      builder, loc, logits, rowMax, 0.0,
      [](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
        Value exp = math::ExpOp::create(b, l, shifted);
        return arith::AddFOp::create(b, l, args[2], exp);
      });
  return {rowMax, sumExp};
}

//===----------------------------------------------------------------------===//
// Row blocks
//===----------------------------------------------------------------------===//

/// Elements of one block of rows (see rowBlockSize). A block of x, of its
/// cotangent and of the result (128 KiB each) stays in L2 while several
/// generics pass over it, and is large enough that the per-block costs of the
/// loop and its temporaries vanish next to the work.
constexpr int64_t kRowBlockElements = 32768;

/// Rows per block for rows of `rowElements` elements: at least one, at most
/// all of them.
inline int64_t rowBlockSize(int64_t rows, int64_t rowElements) {
  int64_t perBlock = std::max<int64_t>(
      1, kRowBlockElements / std::max<int64_t>(rowElements, 1));
  return std::max<int64_t>(1, std::min(rows, perBlock));
}

/// The number of blocks of buildRowBlocks, the last one possibly short.
inline int64_t numRowBlocks(int64_t rows, int64_t blockRows) {
  return (rows + blockRows - 1) / blockRows;
}

/// How a destination of buildRowBlocks is divided among the blocks.
enum class BlockSlicing {
  /// Dimension 0 is the row dimension: a block owns its rows.
  Rows,
  /// Dimension 0 has numRowBlocks entries: a block owns its entry, which it
  /// sees without that dimension. Per-block partial sums live here, so that
  /// summing them afterwards in block order gives a result that does not
  /// depend on how the blocks were spread over threads.
  PerBlock,
};

/// One block of rows [start, start + size), the `index`-th.
struct RowBlock {
  Value index, start;
  int64_t size;
};

/// The rows of `block` of `rows` ([R, ...]), e.g. of an input of the loop.
inline Value extractBlockRows(OpBuilder &builder, Location loc, Value rows,
                              const RowBlock &block) {
  auto type = cast<RankedTensorType>(rows.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = block.size;
  SmallVector<OpFoldResult> offsets(type.getRank(), builder.getIndexAttr(0));
  offsets[0] = block.start;
  SmallVector<OpFoldResult> sizes;
  for (int64_t size : shape)
    sizes.push_back(builder.getIndexAttr(size));
  SmallVector<OpFoldResult> strides(type.getRank(), builder.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      builder, loc, RankedTensorType::get(shape, type.getElementType()), rows,
      offsets, sizes, strides);
}

/// Builds one block from its slices of the destinations and returns their
/// new values, in the same order.
using RowBlockBody = function_ref<SmallVector<Value>(
    OpBuilder &, Location, const RowBlock &, ValueRange)>;

/// Runs `body` over the rows [0, rows) in blocks of `blockRows`: an
/// scf.forall over the full blocks, whose iterations write disjoint slices of
/// `dests` (sliced as `slicing` says) and may run on different threads, then
/// the short last block, if any. A single full block is built without a loop.
/// Returns the final values of `dests`.
inline SmallVector<Value> buildRowBlocks(OpBuilder &builder, Location loc,
                                         int64_t rows, int64_t blockRows,
                                         ValueRange dests,
                                         ArrayRef<BlockSlicing> slicing,
                                         RowBlockBody body) {
  assert(dests.size() == slicing.size() && "one slicing per destination");
  // The slice of destination `i` owned by block (index, start, size).
  struct Slice {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    RankedTensorType type;
  };
  auto sliceOf = [&](OpBuilder &b, unsigned i, const RowBlock &block) {
    auto type = cast<RankedTensorType>(dests[i].getType());
    Slice s;
    s.strides.assign(type.getRank(), b.getIndexAttr(1));
    s.offsets.assign(type.getRank(), b.getIndexAttr(0));
    SmallVector<int64_t> shape(type.getShape());
    if (slicing[i] == BlockSlicing::Rows) {
      s.offsets[0] = block.start;
      shape[0] = block.size;
    } else {
      s.offsets[0] = block.index;
      shape[0] = 1;
    }
    for (int64_t size : shape)
      s.sizes.push_back(b.getIndexAttr(size));
    if (slicing[i] == BlockSlicing::PerBlock)
      shape.erase(shape.begin());
    s.type = RankedTensorType::get(shape, type.getElementType());
    return s;
  };
  // Extracts the block's slices of `current`, runs the body on them and
  // returns the new slices with where they go.
  auto runBlock = [&](OpBuilder &b, const RowBlock &block, ValueRange current,
                      SmallVector<Slice> &slices) {
    SmallVector<Value> inputs;
    for (unsigned i = 0; i < dests.size(); ++i) {
      slices.push_back(sliceOf(b, i, block));
      const Slice &s = slices.back();
      inputs.push_back(tensor::ExtractSliceOp::create(
          b, loc, s.type, current[i], s.offsets, s.sizes, s.strides));
    }
    SmallVector<Value> results = body(b, loc, block, inputs);
    assert(results.size() == dests.size() && "one result per destination");
    return results;
  };

  // A block outside the forall: its slices are inserted in sequence.
  auto runSequentialBlock = [&](int64_t index, int64_t size,
                                SmallVector<Value> &current) {
    RowBlock block{
        arith::ConstantIndexOp::create(builder, loc, index),
        arith::ConstantIndexOp::create(builder, loc, index * blockRows), size};
    SmallVector<Slice> slices;
    SmallVector<Value> results = runBlock(builder, block, current, slices);
    for (auto [i, result] : llvm::enumerate(results))
      current[i] = tensor::InsertSliceOp::create(
          builder, loc, result, current[i], slices[i].offsets, slices[i].sizes,
          slices[i].strides);
  };

  SmallVector<Value> current(dests);
  int64_t numFull = rows / blockRows;
  if (numFull == 1) {
    runSequentialBlock(0, blockRows, current);
  } else if (numFull > 1) {
    auto forall = scf::ForallOp::create(
        builder, loc, ArrayRef<OpFoldResult>{builder.getIndexAttr(numFull)},
        current, std::nullopt);
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(forall.getBody());
    Value index = forall.getInductionVars()[0];
    Value start = arith::MulIOp::create(
        builder, loc, index,
        arith::ConstantIndexOp::create(builder, loc, blockRows));
    SmallVector<Slice> slices;
    SmallVector<Value> results =
        runBlock(builder, RowBlock{index, start, blockRows},
                 forall.getRegionIterArgs(), slices);
    builder.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [i, result] : llvm::enumerate(results))
      tensor::ParallelInsertSliceOp::create(
          builder, loc, result, forall.getRegionIterArgs()[i],
          slices[i].offsets, slices[i].sizes, slices[i].strides);
    current.assign(forall.getResults().begin(), forall.getResults().end());
  }
  if (int64_t rest = rows - numFull * blockRows; rest > 0)
    runSequentialBlock(numFull, rest, current);
  return current;
}

/// How an operand of buildRowwiseGeneric is indexed by its loops
/// [rows, features...], the innermost loop running over the features of one
/// normalized group.
enum class RowwiseIndexing {
  /// By every loop.
  Element,
  /// By all loops but the innermost: one value per normalized group (the
  /// statistics of a row).
  Row,
  /// By all loops but the first: one value per feature (a norm weight),
  /// shared by the rows.
  Feature,
};

/// An operand of buildRowwiseGeneric.
struct RowwiseOperand {
  Value value;
  RowwiseIndexing indexing;
};

/// A linalg.generic over `rank` loops [rows, features...] with `iterators`,
/// indexing each operand as it says. `body` gets the loaded elements (inputs,
/// then outputs) and returns the values to yield, one per output.
inline SmallVector<Value> buildRowwiseGeneric(
    OpBuilder &builder, Location loc, unsigned rank,
    ArrayRef<utils::IteratorType> iterators, ArrayRef<RowwiseOperand> inputs,
    ArrayRef<RowwiseOperand> outputs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *context = builder.getContext();
  auto mapOf = [&](RowwiseIndexing indexing) {
    switch (indexing) {
    case RowwiseIndexing::Element:
      return AffineMap::getMultiDimIdentityMap(rank, context);
    case RowwiseIndexing::Row:
      return leadingDimsMap(rank, rank - 1, context);
    case RowwiseIndexing::Feature:
      return trailingDimsMap(rank, rank - 1, context);
    }
    llvm_unreachable("unknown indexing");
  };
  SmallVector<Value> inputValues, outputValues;
  SmallVector<AffineMap> maps;
  for (const RowwiseOperand &operand : inputs) {
    inputValues.push_back(operand.value);
    maps.push_back(mapOf(operand.indexing));
  }
  SmallVector<Type> resultTypes;
  for (const RowwiseOperand &operand : outputs) {
    outputValues.push_back(operand.value);
    resultTypes.push_back(operand.value.getType());
    maps.push_back(mapOf(operand.indexing));
  }
  auto generic = linalg::GenericOp::create(
      builder, loc, resultTypes, inputValues, outputValues, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, body(b, l, args));
      });
  return SmallVector<Value>(generic.getResults());
}

/// The sum over blocks of per-block partial sums [numBlocks, rest...] (see
/// BlockSlicing::PerBlock), taken in block order: [rest...].
inline Value sumBlockPartials(OpBuilder &builder, Location loc,
                              Value partials) {
  auto type = cast<RankedTensorType>(partials.getType());
  ArrayRef<int64_t> rest = type.getShape().drop_front();
  auto resultType = RankedTensorType::get(rest, type.getElementType());
  if (type.getDimSize(0) == 1)
    return tensor::CollapseShapeOp::create(
        builder, loc, resultType, partials,
        rest.empty() ? SmallVector<ReassociationIndices>{}
                     : mergeLeadingReassociation(type.getRank(), 2));
  unsigned rank = type.getRank();
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  Value init = createFilledF32(builder, loc, rest, 0.0);
  return buildRowwiseGeneric(
      builder, loc, rank, iterators, {{partials, RowwiseIndexing::Element}},
      {{init, RowwiseIndexing::Feature}},
      [](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
        return {arith::AddFOp::create(b, l, args[1], args[0])};
      })[0];
}

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_LINALGBUILDERS_H
