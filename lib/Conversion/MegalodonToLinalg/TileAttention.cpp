//===- TileAttention.cpp - chunk attention in blocks, online softmax ------===//
//
// The untiled lowerings (Attention.cpp, AttentionGrad.cpp) materialize each
// chunk's [C, C] scores per head, half of them masked. For ops that carry a
// tile config (TileSizesAttention.cpp says what the sizes mean) this pass
// computes them in blocks instead, per (batch, head, chunk) in parallel:
//
//   scf.for q0 over query blocks of Bq rows
//     m = -inf, l = 0, acc = 0                      [Bq], [Bq], [Bq, dv]
//     scf.for k0 over key blocks of Bk rows, up to the block's last query
//       S = Q[q0] K[k0]^T                           [Bq, Bk]
//       m' = max(m, rowmax(S masked))
//       P = masked ? 0 : exp(S - m')
//       l = l exp(m - m') + rowsum(P);  acc = acc exp(m - m') + P V[k0]
//     out[q0] = acc / l
//
// Key blocks that lie wholly after the query block are never visited, and
// only one block pair's scores are live. The first key block holds key 0,
// which every query sees, so m is finite after it.
//
// The backward recomputes per query block: the forward above gives m, l and
// the output O, hence D = rowsum(gO * O) (= rowsum(P * gP), the softmax
// backward's row term); when the op has the forward's output, the key loop
// computes m and l alone and O is read instead, which saves the P V
// products. Then, per key block, P = exp(S - m) / l,
// gP = gO V^T, gS = P (gP - D), and gQ[q0] += gS K, gK[k0] += gS^T Q,
// gV[k0] += P^T gO.
//
// Ragged edges keep static shapes: a last block that would run past the
// chunk starts at rows - B instead, overlapping the block before. Keys of
// the overlap were already counted and are masked out; in the backward the
// overlapping queries are masked too (their gradients are complete), so
// every (query, key) pair contributes exactly once. The forward rewrites the
// overlapping output rows with the same softmax.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/Passes.h"

#include "AttentionBuilders.h"
#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::megalodon {
#define GEN_PASS_DEF_TILEATTENTION
#include "megalodon/Conversion/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;
using attention::matmulAccumulate;
using attention::queryKeyGeneric;

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct BlockSizes {
  int64_t queries, keys;
};

/// One chunk's rows and the per-head widths.
struct ChunkShape {
  int64_t rows, dz, dv;
};

//===----------------------------------------------------------------------===//
// Index arithmetic and masks
//===----------------------------------------------------------------------===//

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value addIndex(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return arith::AddIOp::create(b, loc, lhs, rhs);
}

/// The first row of the block that the loop reaches at `start`: `start`, or
/// rows - size for a last block that would run past the chunk.
Value blockStart(OpBuilder &b, Location loc, Value start, int64_t size,
                 int64_t rows) {
  return arith::MinUIOp::create(b, loc, start,
                                indexConstant(b, loc, rows - size));
}

/// Where a [queries, keys] block sits in its chunk. Rows of the block below
/// `firstNewQuery` (null: none) and keys below `firstNewKey` belong to the
/// block before and are masked.
struct BlockOrigin {
  Value query0, firstNewQuery, key0, firstNewKey;
};

/// Inside a linalg.generic over [queries, keys]: whether key j counts for
/// query i (causal, and not counted by an earlier block).
Value counts(OpBuilder &b, Location loc, const BlockOrigin &origin) {
  Value query =
      addIndex(b, loc, origin.query0, linalg::IndexOp::create(b, loc, 0));
  Value key = addIndex(b, loc, origin.key0, linalg::IndexOp::create(b, loc, 1));
  Value visible =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, key, query);
  Value fresh = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, key,
                                      origin.firstNewKey);
  Value result = arith::AndIOp::create(b, loc, visible, fresh);
  if (!origin.firstNewQuery)
    return result;
  Value freshQuery = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                           query, origin.firstNewQuery);
  return arith::AndIOp::create(b, loc, result, freshQuery);
}

//===----------------------------------------------------------------------===//
// Block builders
//===----------------------------------------------------------------------===//

/// Rows [row0, row0 + count) of a rank-2 tensor.
Value rowsOf(OpBuilder &b, Location loc, Value matrix, Value row0,
             int64_t count) {
  int64_t width = cast<RankedTensorType>(matrix.getType()).getDimSize(1);
  auto type = RankedTensorType::get({count, width}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {row0, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(count),
                                     b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, matrix, offsets, sizes,
                                        strides);
}

/// `matrix` with rows [row0, ...) replaced by `block`.
Value withRows(OpBuilder &b, Location loc, Value block, Value matrix,
               Value row0) {
  auto type = cast<RankedTensorType>(block.getType());
  SmallVector<OpFoldResult> offsets = {row0, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(type.getDimSize(0)),
                                     b.getIndexAttr(type.getDimSize(1))};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, block, matrix, offsets, sizes,
                                       strides);
}

/// A parallel linalg.generic over the rows of rank-1 tensors.
Value rowwise(OpBuilder &b, Location loc, ValueRange inputs, Value init,
              function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, b.getContext());
  SmallVector<AffineMap> maps(inputs.size() + 1, id);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
             parallelThenReduction(1),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       ValueRange{body(nb, nloc, args)});
             })
      .getResult(0);
}

/// The running statistics of one query block's online softmax.
struct OnlineSoftmax {
  Value rowMax, rowSum, acc;
};

/// One key block's step of the online softmax: the scores `scores` [Bq, Bk]
/// of the block at `origin`, against values `values` [Bk, dv]; without an
/// accumulator in `state`, the statistics alone. Each new statistic is
/// written over the old one: the loop that carries them needs its yields in
/// place.
OnlineSoftmax accumulateKeyBlock(OpBuilder &b, Location loc, Value scores,
                                 Value values, const BlockOrigin &origin,
                                 const OnlineSoftmax &state) {
  auto scoresType = cast<RankedTensorType>(scores.getType());
  int64_t queries = scoresType.getDimSize(0);

  Value blockMax = queryKeyGeneric(
      b, loc, scores, {}, createFilledF32(b, loc, {queries}, kNegInf),
      /*reduceKeys=*/true, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value masked =
            arith::SelectOp::create(nb, nloc, counts(nb, nloc, origin), args[0],
                                    createF32Constant(nb, nloc, kNegInf));
        return arith::MaximumFOp::create(nb, nloc, masked, args[1]);
      });
  // The new maximum m' = max(m, block max), written over m, and exp(m - m'),
  // the rescaling of what was accumulated so far (0 before the first block,
  // m = -inf, stated rather than left to exp(-inf)), in one generic that
  // reads the old m as its destination: no later op reads the old m, so the
  // in-place update stays in place whatever fusion does with the rescaling.
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, b.getContext());
  auto maxAndRescale = linalg::GenericOp::create(
      b, loc, TypeRange{state.rowMax.getType(), blockMax.getType()},
      ValueRange{blockMax},
      ValueRange{state.rowMax, createEmptyF32(b, loc, {queries})},
      SmallVector<AffineMap>(3, id), parallelThenReduction(1),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value oldMax = args[1];
        Value newMax = arith::MaximumFOp::create(nb, nloc, oldMax, args[0]);
        Value none =
            arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ, oldMax,
                                  createF32Constant(nb, nloc, kNegInf));
        Value e = math::ExpOp::create(
            nb, nloc, arith::SubFOp::create(nb, nloc, oldMax, newMax));
        Value rescale = arith::SelectOp::create(
            nb, nloc, none, createF32Constant(nb, nloc, 0.0), e);
        linalg::YieldOp::create(nb, nloc, ValueRange{newMax, rescale});
      });
  Value rowMax = maxAndRescale.getResult(0);
  Value rescale = maxAndRescale.getResult(1);
  Value weights = queryKeyGeneric(
      b, loc, scores, {rowMax}, createEmptyF32(b, loc, scoresType.getShape()),
      /*reduceKeys=*/false, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value e = math::ExpOp::create(
            nb, nloc, arith::SubFOp::create(nb, nloc, args[0], args[1]));
        return arith::SelectOp::create(nb, nloc, counts(nb, nloc, origin), e,
                                       createF32Constant(nb, nloc, 0.0));
      });
  auto scale = [](OpBuilder &nb, Location nloc, ValueRange args) {
    return arith::MulFOp::create(nb, nloc, args[0], args[1]).getResult();
  };
  Value scaledSum = rowwise(b, loc, {rescale}, state.rowSum, scale);
  Value rowSum = queryKeyGeneric(
      b, loc, weights, {}, scaledSum, /*reduceKeys=*/true,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        return arith::AddFOp::create(nb, nloc, args[0], args[1]);
      });
  if (!state.acc)
    return {rowMax, rowSum, Value()};
  Value scaledAcc = queryKeyGeneric(b, loc, {}, {rescale}, state.acc,
                                    /*reduceKeys=*/false, scale);
  Value acc = matmulAccumulate(b, loc, weights, values, scaledAcc,
                               /*transposeRhs=*/false);
  return {rowMax, rowSum, acc};
}

/// The attention of the query block `q` [Bq, dz] at row `query0` over the
/// chunk's `keys` [rows, dz] and `values` [rows, dv]: the final statistics,
/// with `acc` normalized to the block's output. Without `values`, the row
/// maximum and sum alone (acc null).
OnlineSoftmax attendQueryBlock(OpBuilder &b, Location loc, Value q, Value keys,
                               Value values, Value query0,
                               const BlockSizes &sizes,
                               const ChunkShape &shape) {
  int64_t queries = sizes.queries;
  Value keyEnd = addIndex(b, loc, query0, indexConstant(b, loc, queries));
  SmallVector<Value> inits = {createFilledF32(b, loc, {queries}, kNegInf),
                              createFilledF32(b, loc, {queries}, 0.0)};
  if (values)
    inits.push_back(createFilledF32(b, loc, {queries, shape.dv}, 0.0));
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), keyEnd,
      indexConstant(b, loc, sizes.keys), inits,
      [&](OpBuilder &nb, Location nloc, Value start, ValueRange state) {
        Value key0 = blockStart(nb, nloc, start, sizes.keys, shape.rows);
        BlockOrigin origin{query0, Value(), key0, start};
        Value scores = attention::matmul(
            nb, nloc, q, rowsOf(nb, nloc, keys, key0, sizes.keys),
            /*transposeRhs=*/true);
        Value valueBlock =
            values ? rowsOf(nb, nloc, values, key0, sizes.keys) : Value();
        OnlineSoftmax next = accumulateKeyBlock(
            nb, nloc, scores, valueBlock, origin,
            {state[0], state[1], values ? state[2] : Value()});
        SmallVector<Value> yields = {next.rowMax, next.rowSum};
        if (values)
          yields.push_back(next.acc);
        scf::YieldOp::create(nb, nloc, yields);
      });
  Value rowSum = loop.getResult(1);
  if (!values)
    return {loop.getResult(0), rowSum, Value()};
  Value out = queryKeyGeneric(
      b, loc, loop.getResult(2), {rowSum},
      createEmptyF32(b, loc, {queries, shape.dv}), /*reduceKeys=*/false,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        return arith::DivFOp::create(nb, nloc, args[0], args[1]);
      });
  return {loop.getResult(0), rowSum, out};
}

/// The forward of one head of one chunk: q, k [rows, dz], v [rows, dv] ->
/// [rows, dv].
Value attendChunk(OpBuilder &b, Location loc, Value q, Value k, Value v,
                  const BlockSizes &sizes, const ChunkShape &shape) {
  Value init = createEmptyF32(b, loc, {shape.rows, shape.dv});
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, shape.rows),
      indexConstant(b, loc, sizes.queries), ValueRange{init},
      [&](OpBuilder &nb, Location nloc, Value start, ValueRange out) {
        Value query0 = blockStart(nb, nloc, start, sizes.queries, shape.rows);
        OnlineSoftmax block = attendQueryBlock(
            nb, nloc, rowsOf(nb, nloc, q, query0, sizes.queries), k, v, query0,
            sizes, shape);
        scf::YieldOp::create(nb, nloc,
                             withRows(nb, nloc, block.acc, out[0], query0));
      });
  return loop.getResult(0);
}

/// The gradients {gq, gk, gv} of one head of one chunk; `out` [rows, dv],
/// the forward's output, when the op has it (else it is recomputed).
std::array<Value, 3> attendChunkGrad(OpBuilder &b, Location loc, Value q,
                                     Value k, Value v, Value gOut, Value out,
                                     const BlockSizes &sizes,
                                     const ChunkShape &shape) {
  SmallVector<Value> inits = {
      createFilledF32(b, loc, {shape.rows, shape.dz}, 0.0),
      createFilledF32(b, loc, {shape.rows, shape.dz}, 0.0),
      createFilledF32(b, loc, {shape.rows, shape.dv}, 0.0)};
  auto queryLoop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, shape.rows),
      indexConstant(b, loc, sizes.queries), inits,
      [&](OpBuilder &nb, Location nloc, Value queryStart, ValueRange grads) {
        Value query0 =
            blockStart(nb, nloc, queryStart, sizes.queries, shape.rows);
        Value qBlock = rowsOf(nb, nloc, q, query0, sizes.queries);
        Value gOutBlock = rowsOf(nb, nloc, gOut, query0, sizes.queries);
        OnlineSoftmax forward = attendQueryBlock(
            nb, nloc, qBlock, k, out ? Value() : v, query0, sizes, shape);
        Value outBlock =
            out ? rowsOf(nb, nloc, out, query0, sizes.queries) : forward.acc;
        // D = rowsum(gO * O).
        Value rowTerm = queryKeyGeneric(
            nb, nloc, {gOutBlock, outBlock}, {},
            createFilledF32(nb, nloc, {sizes.queries}, 0.0),
            /*reduceKeys=*/true,
            [](OpBuilder &bb, Location bloc, ValueRange args) {
              Value product = arith::MulFOp::create(bb, bloc, args[0], args[1]);
              return arith::AddFOp::create(bb, bloc, args[2], product)
                  .getResult();
            });

        Value keyEnd =
            addIndex(nb, nloc, query0, indexConstant(nb, nloc, sizes.queries));
        SmallVector<Value> keyInits = {
            rowsOf(nb, nloc, grads[0], query0, sizes.queries), grads[1],
            grads[2]};
        auto keyLoop = scf::ForOp::create(
            nb, nloc, indexConstant(nb, nloc, 0), keyEnd,
            indexConstant(nb, nloc, sizes.keys), keyInits,
            [&](OpBuilder &kb, Location kloc, Value keyStart, ValueRange acc) {
              Value key0 =
                  blockStart(kb, kloc, keyStart, sizes.keys, shape.rows);
              BlockOrigin origin{query0, queryStart, key0, keyStart};
              Value kBlock = rowsOf(kb, kloc, k, key0, sizes.keys);
              Value vBlock = rowsOf(kb, kloc, v, key0, sizes.keys);
              Value scores = attention::matmul(kb, kloc, qBlock, kBlock,
                                               /*transposeRhs=*/true);
              auto blockShape =
                  cast<RankedTensorType>(scores.getType()).getShape();
              Value weights = queryKeyGeneric(
                  kb, kloc, scores, {forward.rowMax, forward.rowSum},
                  createEmptyF32(kb, kloc, blockShape), /*reduceKeys=*/false,
                  [&](OpBuilder &bb, Location bloc, ValueRange args) {
                    Value e = math::ExpOp::create(
                        bb, bloc,
                        arith::SubFOp::create(bb, bloc, args[0], args[1]));
                    Value p = arith::DivFOp::create(bb, bloc, e, args[2]);
                    return arith::SelectOp::create(
                        bb, bloc, counts(bb, bloc, origin), p,
                        createF32Constant(bb, bloc, 0.0));
                  });
              Value gWeights = attention::matmul(kb, kloc, gOutBlock, vBlock,
                                                 /*transposeRhs=*/true);
              Value gScores = queryKeyGeneric(
                  kb, kloc, {weights, gWeights}, {rowTerm},
                  createEmptyF32(kb, kloc, blockShape), /*reduceKeys=*/false,
                  [](OpBuilder &bb, Location bloc, ValueRange args) {
                    Value centered =
                        arith::SubFOp::create(bb, bloc, args[1], args[2]);
                    return arith::MulFOp::create(bb, bloc, args[0], centered)
                        .getResult();
                  });
              Value gq = matmulAccumulate(kb, kloc, gScores, kBlock, acc[0],
                                          /*transposeRhs=*/false);
              Value gk = matmulAccumulate(
                  kb, kloc, attention::transpose(kb, kloc, gScores), qBlock,
                  rowsOf(kb, kloc, acc[1], key0, sizes.keys),
                  /*transposeRhs=*/false);
              Value gv = matmulAccumulate(
                  kb, kloc, attention::transpose(kb, kloc, weights), gOutBlock,
                  rowsOf(kb, kloc, acc[2], key0, sizes.keys),
                  /*transposeRhs=*/false);
              scf::YieldOp::create(
                  kb, kloc,
                  ValueRange{gq, withRows(kb, kloc, gk, acc[1], key0),
                             withRows(kb, kloc, gv, acc[2], key0)});
            });
        scf::YieldOp::create(nb, nloc,
                             ValueRange{withRows(nb, nloc, keyLoop.getResult(0),
                                                 grads[0], query0),
                                        keyLoop.getResult(1),
                                        keyLoop.getResult(2)});
      });
  return {queryLoop.getResult(0), queryLoop.getResult(1),
          queryLoop.getResult(2)};
}

//===----------------------------------------------------------------------===//
// The rewrites
//===----------------------------------------------------------------------===//

/// The op's block sizes, or a located error when its config does not fit
/// (megalodon-verify-tile-configs says why in detail).
FailureOr<BlockSizes> readBlockSizes(Operation *op, const ChunkShape &shape) {
  auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
  auto size = [&](StringRef name) {
    return getTileSize(config.getSizes(), name).value_or(0);
  };
  BlockSizes sizes{size("query_block"), size("key_block")};
  if (sizes.queries < 1 || sizes.keys < 1 || sizes.queries > shape.rows ||
      sizes.keys > shape.rows)
    return op->emitOpError("tile config does not fit the op: ")
           << config << " (run megalodon-verify-tile-configs)";
  return sizes;
}

/// The shapes of an op on q [B, L, H dz] and v [B, L, H dv], all of its
/// tensors static f32.
FailureOr<ChunkShape> readChunkShape(Operation *op, Value q, Value v,
                                     int64_t heads, int64_t chunk) {
  for (Type type :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape())
      return op->emitOpError("tile-attention needs static shapes");
  }
  for (Value value : {q, v})
    if (!cast<RankedTensorType>(value.getType()).getElementType().isF32())
      return op->emitOpError("tile-attention needs f32 q, k and v");
  auto qType = cast<RankedTensorType>(q.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  return ChunkShape{std::min(qType.getDimSize(1), chunk),
                    qType.getDimSize(2) / heads, vType.getDimSize(2) / heads};
}

/// An scf.forall over (batch, head, chunk) with one [B, L, W] result per
/// entry of `widths` (dz or dv per head); `body` gets the iteration's slices
/// of `inputs` (their per-head widths in `inputWidths`) and returns its
/// [rows, width] blocks of the results.
SmallVector<Value>
forEachChunk(RewriterBase &rewriter, Location loc, ValueRange inputs,
             ArrayRef<int64_t> inputWidths,
             ArrayRef<RankedTensorType> resultTypes, ArrayRef<int64_t> widths,
             int64_t heads, int64_t rows,
             function_ref<SmallVector<Value>(ArrayRef<Value>)> body) {
  auto qType = cast<RankedTensorType>(inputs[0].getType());
  int64_t batch = qType.getDimSize(0);
  int64_t numChunks = qType.getDimSize(1) / rows;
  SmallVector<Value> inits;
  for (RankedTensorType type : resultTypes)
    inits.push_back(createEmptyF32(rewriter, loc, type.getShape()));
  auto forall = scf::ForallOp::create(
      rewriter, loc,
      ArrayRef<OpFoldResult>{rewriter.getIndexAttr(batch),
                             rewriter.getIndexAttr(heads),
                             rewriter.getIndexAttr(numChunks)},
      inits, std::nullopt);

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(forall.getBody());
  Value b = forall.getInductionVars()[0], h = forall.getInductionVars()[1];
  Value row0 =
      arith::MulIOp::create(rewriter, loc, forall.getInductionVars()[2],
                            indexConstant(rewriter, loc, rows));
  auto column = [&](int64_t width) {
    return arith::MulIOp::create(rewriter, loc, h,
                                 indexConstant(rewriter, loc, width))
        .getResult();
  };
  SmallVector<Value> slices;
  for (auto [input, width] : llvm::zip(inputs, inputWidths))
    slices.push_back(attention::sliceRows(rewriter, loc, input, b, row0,
                                          rewriter.getIndexAttr(rows),
                                          column(width), width));
  SmallVector<Value> blocks = body(slices);
  // The terminator holds only the inserts.
  SmallVector<Value> columns;
  for (int64_t width : widths)
    columns.push_back(column(width));

  rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
  for (auto [block, dest, width, col] :
       llvm::zip(blocks, forall.getRegionIterArgs(), widths, columns)) {
    SmallVector<OpFoldResult> offsets = {b, row0, col};
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1),
                                       rewriter.getIndexAttr(rows),
                                       rewriter.getIndexAttr(width)};
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, block, dest, offsets, sizes,
        SmallVector<OpFoldResult>(3, rewriter.getIndexAttr(1)));
  }
  return SmallVector<Value>(forall.getResults());
}

LogicalResult tileForward(RewriterBase &rewriter, ChunkAttentionOp op) {
  int64_t heads = op.getNumHeads(), chunk = op.getChunkSize();
  FailureOr<ChunkShape> shape =
      readChunkShape(op, op.getQ(), op.getV(), heads, chunk);
  if (failed(shape))
    return failure();
  if (op.getKCache() &&
      cast<RankedTensorType>(op.getQ().getType()).getDimSize(1) < chunk)
    return op.emitOpError("tile-attention: the decoding form (a KV cache "
                          "that is read) has no tiled lowering");
  FailureOr<BlockSizes> sizes = readBlockSizes(op, *shape);
  if (failed(sizes))
    return failure();

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> results = forEachChunk(
      rewriter, loc, {op.getQ(), op.getK(), op.getV()},
      {shape->dz, shape->dz, shape->dv}, {resultType}, {shape->dv}, heads,
      shape->rows, [&](ArrayRef<Value> s) -> SmallVector<Value> {
        return {attendChunk(rewriter, loc, s[0], s[1], s[2], *sizes, *shape)};
      });
  rewriter.replaceOp(op, results);
  return success();
}

LogicalResult tileGradient(RewriterBase &rewriter, ChunkAttentionGradOp op) {
  int64_t heads = op.getNumHeads(), chunk = op.getChunkSize();
  FailureOr<ChunkShape> shape =
      readChunkShape(op, op.getQ(), op.getV(), heads, chunk);
  if (failed(shape))
    return failure();
  FailureOr<BlockSizes> sizes = readBlockSizes(op, *shape);
  if (failed(sizes))
    return failure();

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  auto gqType = cast<RankedTensorType>(op.getGq().getType());
  auto gvType = cast<RankedTensorType>(op.getGv().getType());
  SmallVector<Value> inputs = {op.getQ(), op.getK(), op.getV(), op.getGOut()};
  SmallVector<int64_t> widths = {shape->dz, shape->dz, shape->dv, shape->dv};
  if (op.getOut()) {
    inputs.push_back(op.getOut());
    widths.push_back(shape->dv);
  }
  SmallVector<Value> results = forEachChunk(
      rewriter, loc, inputs, widths, {gqType, gqType, gvType},
      {shape->dz, shape->dz, shape->dv}, heads, shape->rows,
      [&](ArrayRef<Value> s) -> SmallVector<Value> {
        Value out = s.size() > 4 ? s[4] : Value();
        auto grads = attendChunkGrad(rewriter, loc, s[0], s[1], s[2], s[3],
                                     out, *sizes, *shape);
        return {grads[0], grads[1], grads[2]};
      });
  rewriter.replaceOp(op, results);
  return success();
}

struct TileAttention
    : public megalodon::impl::TileAttentionBase<TileAttention> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<ChunkAttentionOp, ChunkAttentionGradOp>(op) &&
          op->hasAttr(kTileConfigAttrName))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      LogicalResult result =
          isa<ChunkAttentionOp>(op)
              ? tileForward(rewriter, cast<ChunkAttentionOp>(op))
              : tileGradient(rewriter, cast<ChunkAttentionGradOp>(op));
      if (failed(result))
        return signalPassFailure();
    }
  }
};

} // namespace
