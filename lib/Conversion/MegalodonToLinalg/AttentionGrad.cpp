//===- AttentionGrad.cpp - Lowering of the attention gradient ops ---------===//
//
// Lowers shared_qk_grad, rotary_grad and chunk_attention_grad.
//
// shared_qk_grad is one elementwise linalg.generic for gz and one generic
// that reduces over the rows for the gamma and beta gradients. rotary_grad is
// the forward rotation by -angle (the transpose of a rotation).
// chunk_attention_grad is, like the training form of chunk_attention, an
// scf.forall over (batch, head, chunk) whose iterations own disjoint blocks
// of gq, gk and gv: each recomputes the chunk's softmax weights P from q and
// k with the forward's IR, then
//   gv = P^T gO,  gP = gO V^T,  gS = P * (gP - rowsum(P * gP)),
//   gq = gS K,    gk = gS^T Q
// (no score scale: it is folded into shared_qk). Only one chunk's [C, C]
// blocks per head are live in an iteration.
//
// Every reduction has a fixed order: matmuls become the register-tiled
// kernels of TileAndVectorize, row sums run over one row in order, and the
// rows of shared_qk_grad are accumulated one after the other, so results do
// not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "AttentionBuilders.h"
#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <array>
#include <cmath>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// Fails the match unless every value is a statically shaped f32 tensor.
LogicalResult requireAllStaticF32(PatternRewriter &rewriter, Operation *op,
                                  ValueRange values, StringRef name) {
  for (Value value : values)
    if (failed(requireStaticF32(rewriter, op, value, name)))
      return failure();
  return success();
}

/// The [1, width] row `row` of a [2, width] tensor, as a [width] tensor.
Value extractRow(OpBuilder &b, Location loc, Value matrix, int64_t row) {
  int64_t width = cast<RankedTensorType>(matrix.getType()).getDimSize(1);
  auto type = RankedTensorType::get({width}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(row), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, matrix, offsets, sizes,
                                        strides);
}

/// `matrix` [2, width] with row `row` replaced by `values` [width].
Value insertRow(OpBuilder &b, Location loc, Value values, Value matrix,
                int64_t row) {
  int64_t width = cast<RankedTensorType>(matrix.getType()).getDimSize(1);
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(row), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, values, matrix, offsets, sizes,
                                       strides);
}

//===----------------------------------------------------------------------===//
// shared_qk_grad
//===----------------------------------------------------------------------===//

/// With s = 1/sqrt(dz), q = z (gamma0 + 1) s + beta0 and k likewise:
///   gz = gq (gamma0 + 1) s + gk (gamma1 + 1) s,
///   g_gamma = [sum gq z s ; sum gk z s],  g_beta = [sum gq ; sum gk],
/// the sums over every (batch, token) row.
struct SharedQKGradLowering : OpConversionPattern<SharedQKGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SharedQKGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireAllStaticF32(rewriter, op, op->getOperands(),
                                   "every operand")) ||
        failed(requireAllStaticF32(rewriter, op, op->getResults(),
                                   "every result")))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto zType = cast<RankedTensorType>(adaptor.getZ().getType());
    int64_t width = zType.getDimSize(2);
    double scale = 1.0 / std::sqrt(double(width / op.getNumHeads()));
    Value gamma0 = extractRow(rewriter, loc, adaptor.getGamma(), 0);
    Value gamma1 = extractRow(rewriter, loc, adaptor.getGamma(), 1);

    AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap channel = trailingDimsMap(3, 1, ctx);

    // gz, in the forward's association: (g * (gamma + 1)) * s per term.
    auto gz = linalg::GenericOp::create(
        rewriter, loc, TypeRange{zType},
        ValueRange{adaptor.getGq(), adaptor.getGk(), gamma0, gamma1},
        ValueRange{createEmptyF32(rewriter, loc, zType.getShape())},
        SmallVector<AffineMap>{identity, identity, channel, channel, identity},
        parallelThenReduction(3),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value one = createF32Constant(b, loc, 1.0);
          Value scaleV = createF32Constant(b, loc, scale);
          auto term = [&](Value g, Value gamma) {
            Value gain = arith::AddFOp::create(b, loc, gamma, one);
            Value scaled = arith::MulFOp::create(b, loc, g, gain);
            return arith::MulFOp::create(b, loc, scaled, scaleV).getResult();
          };
          Value q = term(args[0], args[2]);
          Value k = term(args[1], args[3]);
          linalg::YieldOp::create(
              b, loc, ValueRange{arith::AddFOp::create(b, loc, q, k)});
        });

    // The parameter gradients: the channel loop is innermost (contiguous, so
    // it vectorizes) and the rows are reduction loops outside it, so each
    // channel's sum runs over the rows in order.
    Value zeros = createFilledF32(rewriter, loc, {width}, 0.0);
    SmallVector<Value> inits(4, zeros);
    SmallVector<AffineMap> maps = {identity, identity, identity};
    maps.append(4, channel);
    SmallVector<utils::IteratorType> iterators = {
        utils::IteratorType::reduction, utils::IteratorType::reduction,
        utils::IteratorType::parallel};
    auto sums = linalg::GenericOp::create(
        rewriter, loc, ValueRange(inits).getTypes(),
        ValueRange{adaptor.getZ(), adaptor.getGq(), adaptor.getGk()}, inits,
        maps, iterators, [&](OpBuilder &b, Location loc, ValueRange args) {
          Value z = args[0], gq = args[1], gk = args[2];
          Value scaleV = createF32Constant(b, loc, scale);
          auto weighted = [&](Value g) {
            Value product = arith::MulFOp::create(b, loc, g, z);
            return arith::MulFOp::create(b, loc, product, scaleV).getResult();
          };
          Value gGamma0 = arith::AddFOp::create(b, loc, args[3], weighted(gq));
          Value gGamma1 = arith::AddFOp::create(b, loc, args[4], weighted(gk));
          Value gBeta0 = arith::AddFOp::create(b, loc, args[5], gq);
          Value gBeta1 = arith::AddFOp::create(b, loc, args[6], gk);
          linalg::YieldOp::create(b, loc,
                                  ValueRange{gGamma0, gGamma1, gBeta0, gBeta1});
        });

    // Row 0 belongs to the queries, row 1 to the keys.
    auto stackRows = [&](Value row0, Value row1) {
      Value matrix = createEmptyF32(rewriter, loc, {2, width});
      matrix = insertRow(rewriter, loc, row0, matrix, 0);
      return insertRow(rewriter, loc, row1, matrix, 1);
    };
    Value gGamma = stackRows(sums.getResult(0), sums.getResult(1));
    Value gBeta = stackRows(sums.getResult(2), sums.getResult(3));
    rewriter.replaceOp(op, {gz.getResult(0), gGamma, gBeta});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// rotary_grad
//===----------------------------------------------------------------------===//

/// The rotation is orthogonal: its transpose is the rotation by -angle, with
/// the forward's pair view, positions and frequencies.
struct RotaryGradLowering : OpConversionPattern<RotaryGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RotaryGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticF32(rewriter, op, op.getGy(), "gy")) ||
        failed(requireStaticF32(rewriter, op, op.getGx(), "gx")))
      return failure();
    rewriter.replaceOp(
        op, attention::rotatePairs(rewriter, op.getLoc(), adaptor.getGy(),
                                   adaptor.getOffset(), op.getNumHeads(),
                                   op.getBase().convertToDouble(),
                                   op.getChunkSize(), /*inverse=*/true));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// chunk_attention_grad
//===----------------------------------------------------------------------===//

/// The gradients of one head of one chunk: q, k [T, dz], v, gOut [T, dv].
/// Returns {gq, gk, gv}.
std::array<Value, 3> attendBlockGrad(OpBuilder &b, Location loc, Value q,
                                     Value k, Value v, Value gOut) {
  using attention::matmul;
  auto blockType =
      RankedTensorType::get({cast<RankedTensorType>(q.getType()).getDimSize(0),
                             cast<RankedTensorType>(k.getType()).getDimSize(0)},
                            b.getF32Type());
  int64_t rows = blockType.getDimSize(0);

  // The forward's weights, recomputed: hidden keys get exactly 0, so they
  // receive no gradient below.
  Value scores = matmul(b, loc, q, k, /*transposeRhs=*/true);
  Value weights =
      attention::maskedSoftmax(b, loc, scores, /*keyOffset=*/Value());

  // out = P V: gv = P^T gO and gP = gO V^T.
  Value gv = matmul(b, loc, attention::transpose(b, loc, weights), gOut,
                    /*transposeRhs=*/false);
  Value gWeights = matmul(b, loc, gOut, v, /*transposeRhs=*/true);

  // Softmax backward: gS = P * (gP - sum_keys P * gP).
  Value weighted = attention::queryKeyGeneric(
      b, loc, {weights, gWeights}, {}, createFilledF32(b, loc, {rows}, 0.0),
      /*reduceKeys=*/true, [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value product = arith::MulFOp::create(nb, nloc, args[0], args[1]);
        return arith::AddFOp::create(nb, nloc, args[2], product).getResult();
      });
  Value gScores = attention::queryKeyGeneric(
      b, loc, {weights, gWeights}, {weighted},
      createEmptyF32(b, loc, blockType.getShape()), /*reduceKeys=*/false,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, nloc, args[1], args[2]);
        return arith::MulFOp::create(nb, nloc, args[0], centered).getResult();
      });

  // scores = Q K^T: gq = gS K and gk = gS^T Q.
  Value gq = matmul(b, loc, gScores, k, /*transposeRhs=*/false);
  Value gk = matmul(b, loc, attention::transpose(b, loc, gScores), q,
                    /*transposeRhs=*/false);
  return {gq, gk, gv};
}

/// An scf.forall over (batch, head, chunk), as the training form of
/// chunk_attention; each iteration writes the [1, T, dz] blocks of gq and gk
/// and the [1, T, dv] block of gv that its chunk and head own.
struct ChunkAttentionGradLowering : OpConversionPattern<ChunkAttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ChunkAttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireAllStaticF32(rewriter, op, op->getOperands(),
                                   "every operand")) ||
        failed(requireAllStaticF32(rewriter, op, op->getResults(),
                                   "every result")))
      return failure();

    Location loc = op.getLoc();
    auto qType = cast<RankedTensorType>(adaptor.getQ().getType());
    auto vType = cast<RankedTensorType>(adaptor.getV().getType());
    int64_t batch = qType.getDimSize(0), length = qType.getDimSize(1);
    int64_t heads = op.getNumHeads(), chunk = op.getChunkSize();
    int64_t dz = qType.getDimSize(2) / heads;
    int64_t dv = vType.getDimSize(2) / heads;
    // One chunk of length L when L < C (MODEL.md section 6).
    int64_t block = std::min(length, chunk);
    int64_t numChunks = length / block;

    SmallVector<Value> inits = {
        createEmptyF32(rewriter, loc, qType.getShape()),
        createEmptyF32(rewriter, loc, qType.getShape()),
        createEmptyF32(rewriter, loc, vType.getShape())};
    SmallVector<OpFoldResult> bounds = {rewriter.getIndexAttr(batch),
                                        rewriter.getIndexAttr(heads),
                                        rewriter.getIndexAttr(numChunks)};
    auto forall =
        scf::ForallOp::create(rewriter, loc, bounds, inits, std::nullopt);

    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    SmallVector<Value> ivs = forall.getInductionVars();
    Value b = ivs[0], h = ivs[1], c = ivs[2];
    auto times = [&](Value index, int64_t factor) {
      return arith::MulIOp::create(
                 rewriter, loc, index,
                 arith::ConstantIndexOp::create(rewriter, loc, factor))
          .getResult();
    };
    Value row0 = times(c, block);
    Value qCol = times(h, dz);
    Value vCol = times(h, dv);
    OpFoldResult rows = rewriter.getIndexAttr(block);
    auto slice = [&](Value src, Value col, int64_t width) {
      return attention::sliceRows(rewriter, loc, src, b, row0, rows, col,
                                  width);
    };
    Value q = slice(adaptor.getQ(), qCol, dz);
    Value k = slice(adaptor.getK(), qCol, dz);
    Value v = slice(adaptor.getV(), vCol, dv);
    Value gOut = slice(adaptor.getGOut(), vCol, dv);
    auto [gq, gk, gv] = attendBlockGrad(rewriter, loc, q, k, v, gOut);

    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
    auto insert = [&](Value blockValue, BlockArgument dest, Value col,
                      int64_t width) {
      SmallVector<OpFoldResult> offsets = {b, row0, col};
      SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1), rows,
                                         rewriter.getIndexAttr(width)};
      tensor::ParallelInsertSliceOp::create(rewriter, loc, blockValue, dest,
                                            offsets, sizes, strides);
    };
    ArrayRef<BlockArgument> outs = forall.getRegionIterArgs();
    insert(gq, outs[0], qCol, dz);
    insert(gk, outs[1], qCol, dz);
    insert(gv, outs[2], vCol, dv);
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }
};

} // namespace

void mlir::megalodon::populateAttentionGradToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SharedQKGradLowering, RotaryGradLowering,
               ChunkAttentionGradLowering>(patterns.getContext());
}
