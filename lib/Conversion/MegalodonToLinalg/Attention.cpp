//===- Attention.cpp - Lowering of the attention op family ----------------===//
//
// shared_qk and rotary become elementwise linalg.generic ops. chunk_attention
// becomes an scf.forall over (batch, head, chunk): the chunks are independent
// (MODEL.md section 6), so each iteration slices one head of one chunk,
// computes the scores with a matmul, applies the causal mask and a softmax
// made safe by subtracting the row maximum, and multiplies by the values with
// a second matmul. With a KV cache (decoding, MODEL.md section 7) the keys and
// values are the stream [cache rows 0..len-1 ; new rows], assembled with
// slices at the dynamic offset len. kv_cache_update keeps the tail of that
// stream with the same kind of slices.
//
// The builders that the gradient lowerings (AttentionGrad.cpp) reuse are
// declared in AttentionBuilders.h.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "AttentionBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::attention;

using utils::IteratorType;

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

/// Whether every type is a statically shaped tensor of f32: the only kind of
/// data the compiled code handles.
static bool allStaticF32(TypeRange types) {
  return llvm::all_of(types, [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.hasStaticShape() && tensor.getElementType().isF32();
  });
}

static Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

static Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// A static f32 tensor of `shape` filled with `value`.
static Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                          double value) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
  return linalg::FillOp::create(b, loc, f32Constant(b, loc, value), empty)
      .getResult(0);
}

/// The single element of a 0-d i64 tensor as an index.
static Value readIndex(OpBuilder &b, Location loc, Value scalarTensor) {
  Value raw = tensor::ExtractOp::create(b, loc, scalarTensor, ValueRange{});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
}

/// The single element of a 0-d i64 tensor as an index, clamped to
/// [0, maxValue]. The op contracts already keep lengths and offsets in range;
/// the clamp makes sure that a value breaking them cannot turn the dynamic
/// slices built from it into out-of-bounds accesses.
static Value readClampedIndex(OpBuilder &b, Location loc, Value scalarTensor,
                              int64_t maxValue) {
  Value raw = tensor::ExtractOp::create(b, loc, scalarTensor, ValueRange{});
  Type i64 = b.getI64Type();
  Value lo = arith::ConstantIntOp::create(b, loc, i64, 0);
  Value hi = arith::ConstantIntOp::create(b, loc, i64, maxValue);
  Value clamped = arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, raw, lo), hi);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), clamped);
}

/// The [rows, cols] block of `src` [B, T, W] that starts at (batch, row0,
/// col0), as a rank-2 tensor (dynamic first dimension when `rows` is a
/// value).
Value attention::sliceRows(OpBuilder &b, Location loc, Value src,
                           OpFoldResult batch, OpFoldResult row0,
                           OpFoldResult rows, OpFoldResult col0, int64_t cols) {
  int64_t staticRows = getConstantIntValue(rows).value_or(ShapedType::kDynamic);
  auto type = RankedTensorType::get({staticRows, cols}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {batch, row0, col0};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), rows,
                                     b.getIndexAttr(cols)};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, src, offsets, sizes,
                                        strides);
}

/// `acc` [M, N] plus `lhs` [M, K] times `rhs` [K, N], or times the
/// transpose of `rhs` [N, K] when `transposeRhs`: the matmul kernels
/// accumulate into their destination.
Value attention::matmulAccumulate(OpBuilder &b, Location loc, Value lhs,
                                  Value rhs, Value acc, bool transposeRhs) {
  if (transposeRhs)
    return linalg::MatmulTransposeBOp::create(b, loc, acc.getType(),
                                              ValueRange{lhs, rhs}, acc)
        .getResult(0);
  return linalg::MatmulOp::create(b, loc, acc.getType(), ValueRange{lhs, rhs},
                                  acc)
      .getResult(0);
}

/// `lhs` [M, K] times `rhs` [K, N], or times the transpose of `rhs` [N, K]
/// when `transposeRhs`, accumulated into a zero-filled [M, N] tensor.
Value attention::matmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                        bool transposeRhs) {
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  int64_t m = lhsType.getDimSize(0);
  int64_t n = rhsType.getDimSize(transposeRhs ? 0 : 1);
  return matmulAccumulate(b, loc, lhs, rhs, filledTensor(b, loc, {m, n}, 0.0),
                          transposeRhs);
}

/// The transpose of a rank-2 tensor, materialized so that the products with
/// a transposed left operand become plain matmuls (the vector kernels take
/// A as [M, K] only).
Value attention::transpose(OpBuilder &b, Location loc, Value matrix) {
  auto type = cast<RankedTensorType>(matrix.getType());
  Value empty = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{type.getDimSize(1), type.getDimSize(0)},
      b.getF32Type());
  return linalg::TransposeOp::create(b, loc, matrix, empty,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()
      .front();
}

//===----------------------------------------------------------------------===//
// shared_qk
//===----------------------------------------------------------------------===//

/// Row `row` of a [2, Z] parameter as a rank-1 [Z] tensor.
static Value parameterRow(OpBuilder &b, Location loc, Value param,
                          int64_t row) {
  int64_t width = cast<RankedTensorType>(param.getType()).getDimSize(1);
  auto type = RankedTensorType::get({width}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(row), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, param, offsets, sizes,
                                        strides);
}

namespace {
/// q and k from one linalg.generic with two results, so that z is read once.
struct SharedQKLowering : OpConversionPattern<SharedQKOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SharedQKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!allStaticF32(op->getOperandTypes()) ||
        !allStaticF32(op->getResultTypes()))
      return rewriter.notifyMatchFailure(
          op, "shared_qk lowers only statically shaped f32 tensors");
    Location loc = op.getLoc();
    auto zType = cast<RankedTensorType>(adaptor.getZ().getType());
    int64_t width = zType.getDimSize(2);
    // 1/sqrt(dz) is folded into one f32 constant instead of a division per
    // element.
    double scale = 1.0 / std::sqrt(double(width / op.getNumHeads()));

    SmallVector<Value> inputs = {adaptor.getZ()};
    for (Value param : {adaptor.getGamma(), adaptor.getBeta()})
      for (int64_t row : {0, 1})
        inputs.push_back(parameterRow(rewriter, loc, param, row));
    Value empty = tensor::EmptyOp::create(rewriter, loc, zType.getShape(),
                                          rewriter.getF32Type());

    MLIRContext *ctx = rewriter.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap channel = AffineMap::get(3, 0, getAffineDimExpr(2, ctx));
    SmallVector<AffineMap> maps = {identity, channel,  channel, channel,
                                   channel,  identity, identity};
    SmallVector<IteratorType> iterators(3, IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{zType, zType}, inputs,
        ValueRange{empty, empty}, maps, iterators,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value z = args[0];
          Value one = f32Constant(b, loc, 1.0);
          Value scaleV = f32Constant(b, loc, scale);
          // Same association as the reference: (z * (gamma + 1)) * scale.
          auto project = [&](Value gamma, Value beta) {
            Value gain = arith::AddFOp::create(b, loc, gamma, one);
            Value scaled = arith::MulFOp::create(
                b, loc, arith::MulFOp::create(b, loc, z, gain), scaleV);
            return arith::AddFOp::create(b, loc, scaled, beta).getResult();
          };
          linalg::YieldOp::create(
              b, loc,
              ValueRange{project(args[1], args[3]), project(args[2], args[4])});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// rotary
//===----------------------------------------------------------------------===//

/// inv_freq_j = base^(-2j/dh), computed in double and rounded to f32 once.
static Value inverseFrequencies(OpBuilder &b, Location loc, double base,
                                int64_t headDim) {
  SmallVector<float> freqs;
  for (int64_t j = 0; j < headDim / 2; ++j)
    freqs.push_back(
        static_cast<float>(std::pow(base, -2.0 * double(j) / double(headDim))));
  auto type = RankedTensorType::get({headDim / 2}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(freqs)));
}

/// pos * inv_freq in f32 with pos = (offset + i) mod chunk, i the token
/// index (loop 1): positions restart at 0 in every chunk.
static Value rotationAngle(OpBuilder &b, Location loc, Value offset,
                           int64_t chunk, Value invFreq) {
  Value token = linalg::IndexOp::create(b, loc, 1);
  Value pos = arith::RemUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, offset, token),
      indexConstant(b, loc, chunk));
  Value pos64 = arith::IndexCastUIOp::create(b, loc, b.getI64Type(), pos);
  Value posF = arith::UIToFPOp::create(b, loc, b.getF32Type(), pos64);
  return arith::MulFOp::create(b, loc, posF, invFreq);
}

/// x [B, L, H*dh] is viewed as [B, L, H, dh/2, 2] so that both members of
/// the pair (x[2j], x[2j+1]) are affine accesses of one linalg.generic; the
/// last loop picks which member of the rotated pair an element is.
Value attention::rotatePairs(OpBuilder &b, Location loc, Value x,
                             Value offsetTensor, int64_t heads, double base,
                             int64_t chunk, bool inverse) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t headDim = xType.getDimSize(2) / heads;
  SmallVector<int64_t> pairShape = {xType.getDimSize(0), xType.getDimSize(1),
                                    heads, headDim / 2, 2};
  auto pairType = RankedTensorType::get(pairShape, b.getF32Type());
  SmallVector<ReassociationIndices> reassociation = {{0}, {1}, {2, 3, 4}};

  Value pairs =
      tensor::ExpandShapeOp::create(b, loc, pairType, x, reassociation);
  Value freqs = inverseFrequencies(b, loc, base, headDim);
  // The offset only enters arithmetic, never an access: no clamp.
  Value offset =
      offsetTensor ? readIndex(b, loc, offsetTensor) : indexConstant(b, loc, 0);
  Value empty = tensor::EmptyOp::create(b, loc, pairShape, b.getF32Type());

  MLIRContext *ctx = b.getContext();
  auto dim = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto member = [&](int64_t m) {
    return AffineMap::get(
        5, 0, {dim(0), dim(1), dim(2), dim(3), getAffineConstantExpr(m, ctx)},
        ctx);
  };
  SmallVector<AffineMap> maps = {member(0), member(1),
                                 AffineMap::get(5, 0, dim(3)),
                                 AffineMap::getMultiDimIdentityMap(5, ctx)};
  SmallVector<IteratorType> iterators(5, IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{pairType}, ValueRange{pairs, pairs, freqs},
      ValueRange{empty}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value angle = rotationAngle(nb, nloc, offset, chunk, args[2]);
        Value cos = math::CosOp::create(nb, nloc, angle);
        Value sin = math::SinOp::create(nb, nloc, angle);
        Value x0 = args[0], x1 = args[1];
        auto mul = [&](Value lhs, Value rhs) {
          return arith::MulFOp::create(nb, nloc, lhs, rhs).getResult();
        };
        Value x0c = mul(x0, cos);
        Value x1s = mul(x1, sin);
        Value re, im;
        if (inverse) {
          // (x0 + i x1) * (cos - i sin).
          re = arith::AddFOp::create(nb, nloc, x0c, x1s);
          Value x1c = mul(x1, cos);
          Value x0s = mul(x0, sin);
          im = arith::SubFOp::create(nb, nloc, x1c, x0s);
        } else {
          // (x0 + i x1) * (cos + i sin).
          re = arith::SubFOp::create(nb, nloc, x0c, x1s);
          Value x0s = mul(x0, sin);
          Value x1c = mul(x1, cos);
          im = arith::AddFOp::create(nb, nloc, x0s, x1c);
        }
        Value isRe = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::eq,
                                           linalg::IndexOp::create(nb, nloc, 4),
                                           indexConstant(nb, nloc, 0));
        linalg::YieldOp::create(
            nb, nloc,
            ValueRange{arith::SelectOp::create(nb, nloc, isRe, re, im)});
      });
  return tensor::CollapseShapeOp::create(b, loc, xType, generic.getResult(0),
                                         reassociation);
}

namespace {
struct RotaryLowering : OpConversionPattern<RotaryOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RotaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!allStaticF32({op.getX().getType(), op.getResult().getType()}))
      return rewriter.notifyMatchFailure(
          op, "rotary lowers only statically shaped f32 tensors");
    rewriter.replaceOp(op, rotatePairs(rewriter, op.getLoc(), adaptor.getX(),
                                       adaptor.getOffset(), op.getNumHeads(),
                                       op.getBase().convertToDouble(),
                                       op.getChunkSize(),
                                       /*inverse=*/false));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// chunk_attention
//===----------------------------------------------------------------------===//

/// Whether key j (loop 1) is visible to query i (loop 0) inside a
/// linalg.generic over [queries, keys]: j <= i + keyOffset, where keyOffset
/// is the number of keys before the first query (null means 0).
static Value isVisible(OpBuilder &b, Location loc, Value keyOffset) {
  Value query = linalg::IndexOp::create(b, loc, 0);
  Value key = linalg::IndexOp::create(b, loc, 1);
  Value last =
      keyOffset ? arith::AddIOp::create(b, loc, query, keyOffset) : query;
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, key, last);
}

/// A linalg.generic over [queries, keys] of the [queries, keys] tensors
/// `blocks`, plus per-query inputs `rowInputs` [queries]; `body` gets the
/// block arguments and yields.
Value attention::queryKeyGeneric(
    OpBuilder &b, Location loc, ValueRange blocks, ValueRange rowInputs,
    Value init, bool reduceKeys,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  AffineMap full = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, getAffineDimExpr(0, ctx));
  SmallVector<AffineMap> maps(blocks.size(), full);
  maps.append(rowInputs.size(), row);
  maps.push_back(reduceKeys ? row : full);
  SmallVector<Value> inputs(blocks);
  llvm::append_range(inputs, rowInputs);
  SmallVector<IteratorType> iterators = {IteratorType::parallel,
                                         reduceKeys ? IteratorType::reduction
                                                    : IteratorType::parallel};
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       ValueRange{body(nb, nloc, args)});
             })
      .getResult(0);
}

/// Causal softmax of `scores` [T, S] over keys: hidden keys (see isVisible)
/// get weight exactly 0. The row maximum over visible keys is subtracted
/// before exp so that exp never overflows; key j = i + keyOffset is always
/// visible, so the maximum is finite.
Value attention::maskedSoftmax(OpBuilder &b, Location loc, Value scores,
                               Value keyOffset) {
  auto type = cast<RankedTensorType>(scores.getType());
  int64_t rows = type.getDimSize(0);
  double negInf = -std::numeric_limits<double>::infinity();

  Value rowMax = queryKeyGeneric(
      b, loc, scores, {}, filledTensor(b, loc, {rows}, negInf),
      /*reduceKeys=*/true, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value masked =
            arith::SelectOp::create(nb, nloc, isVisible(nb, nloc, keyOffset),
                                    args[0], f32Constant(nb, nloc, negInf));
        return arith::MaximumFOp::create(nb, nloc, masked, args[1]);
      });

  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), b.getF32Type());
  Value exps = queryKeyGeneric(
      b, loc, scores, {rowMax}, empty, /*reduceKeys=*/false,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value e = math::ExpOp::create(
            nb, nloc, arith::SubFOp::create(nb, nloc, args[0], args[1]));
        return arith::SelectOp::create(nb, nloc, isVisible(nb, nloc, keyOffset),
                                       e, f32Constant(nb, nloc, 0.0));
      });

  Value rowSum = queryKeyGeneric(
      b, loc, exps, {}, filledTensor(b, loc, {rows}, 0.0),
      /*reduceKeys=*/true, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        return arith::AddFOp::create(nb, nloc, args[0], args[1]);
      });

  Value normalizedInit =
      tensor::EmptyOp::create(b, loc, type.getShape(), b.getF32Type());
  return queryKeyGeneric(
      b, loc, exps, {rowSum}, normalizedInit,
      /*reduceKeys=*/false, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        return arith::DivFOp::create(nb, nloc, args[0], args[1]);
      });
}

/// softmax(Q K^T, causal) V for one head of one chunk: q [T, dz],
/// keys [S, dz], values [S, dv] -> [T, dv]. No score scale: it is folded
/// into shared_qk.
static Value attendBlock(OpBuilder &b, Location loc, Value q, Value keys,
                         Value values, Value keyOffset) {
  Value scores = matmul(b, loc, q, keys, /*transposeRhs=*/true);
  Value weights = maskedSoftmax(b, loc, scores, keyOffset);
  return matmul(b, loc, weights, values, /*transposeRhs=*/false);
}

/// The [C, w] block of stream rows for one (batch, column block): rows
/// 0..len-1 from `cache` [B, C, W], rows len..len+L-1 from `fresh` [B, L, W],
/// the rest zero. The zeros matter: hidden keys get weight 0, and 0 times a
/// stale cache row could still be NaN.
static Value streamBlock(OpBuilder &b, Location loc, Value cache, Value fresh,
                         Value batch, Value col0, Value len, int64_t width) {
  auto cacheType = cast<RankedTensorType>(cache.getType());
  int64_t chunk = cacheType.getDimSize(1);
  int64_t length = cast<RankedTensorType>(fresh.getType()).getDimSize(1);
  Value block = filledTensor(b, loc, {chunk, width}, 0.0);
  SmallVector<OpFoldResult> unit(2, b.getIndexAttr(1));

  Value cached =
      sliceRows(b, loc, cache, batch, b.getIndexAttr(0), len, col0, width);
  block = tensor::InsertSliceOp::create(
      b, loc, cached, block,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{len, b.getIndexAttr(width)}, unit);
  Value added = sliceRows(b, loc, fresh, batch, b.getIndexAttr(0),
                          b.getIndexAttr(length), col0, width);
  return tensor::InsertSliceOp::create(
      b, loc, added, block, ArrayRef<OpFoldResult>{len, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(length), b.getIndexAttr(width)},
      unit);
}

namespace {
/// An scf.forall over (batch, head, chunk) whose iterations write disjoint
/// [1, T, dv] blocks of the [B, L, H*dv] result with
/// tensor.parallel_insert_slice.
struct ChunkAttentionLowering : OpConversionPattern<ChunkAttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ChunkAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Type> dataTypes = {op.getQ().getType(), op.getK().getType(),
                                   op.getV().getType(),
                                   op.getResult().getType()};
    if (op.getKCache()) {
      dataTypes.push_back(op.getKCache().getType());
      dataTypes.push_back(op.getVCache().getType());
    }
    if (!allStaticF32(dataTypes))
      return rewriter.notifyMatchFailure(
          op, "chunk_attention lowers only statically shaped f32 tensors");

    Location loc = op.getLoc();
    auto qType = cast<RankedTensorType>(adaptor.getQ().getType());
    auto vType = cast<RankedTensorType>(adaptor.getV().getType());
    int64_t batch = qType.getDimSize(0), length = qType.getDimSize(1);
    int64_t heads = op.getNumHeads(), chunk = op.getChunkSize();
    int64_t dz = qType.getDimSize(2) / heads;
    int64_t dv = vType.getDimSize(2) / heads;
    int64_t block = std::min(length, chunk);
    int64_t numChunks = length / block;
    // A call of one or more whole chunks is only legal with an empty cache
    // (MODEL.md section 7: len > 0 needs len + L <= C), where it is the same
    // computation as training; the cache is then never read, and the static
    // shapes keep the per-chunk matmuls on the vector kernels.
    bool readCache = adaptor.getKCache() && length < chunk;
    // Clamping to chunk - L keeps the slices in bounds; the contract
    // (len == 0 or len + L <= chunk) already implies it.
    Value cacheLen =
        readCache ? readClampedIndex(rewriter, loc, adaptor.getCacheLen(),
                                     chunk - length)
                  : Value();

    Value init = tensor::EmptyOp::create(rewriter, loc, vType.getShape(),
                                         rewriter.getF32Type());
    SmallVector<OpFoldResult> bounds = {rewriter.getIndexAttr(batch),
                                        rewriter.getIndexAttr(heads),
                                        rewriter.getIndexAttr(numChunks)};
    auto forall = scf::ForallOp::create(rewriter, loc, bounds, ValueRange{init},
                                        std::nullopt);

    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    SmallVector<Value> ivs = forall.getInductionVars();
    Value b = ivs[0], h = ivs[1], c = ivs[2];
    Value row0 = arith::MulIOp::create(rewriter, loc, c,
                                       indexConstant(rewriter, loc, block));
    Value qCol = arith::MulIOp::create(rewriter, loc, h,
                                       indexConstant(rewriter, loc, dz));
    Value vCol = arith::MulIOp::create(rewriter, loc, h,
                                       indexConstant(rewriter, loc, dv));
    OpFoldResult rows = rewriter.getIndexAttr(block);

    Value q = sliceRows(rewriter, loc, adaptor.getQ(), b, row0, rows, qCol, dz);
    auto [keys, values] = keysAndValues(rewriter, loc, adaptor, b, row0, rows,
                                        qCol, vCol, dz, dv, cacheLen);
    Value out = attendBlock(rewriter, loc, q, keys, values, cacheLen);

    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> offsets = {b, row0, vCol};
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1), rows,
                                       rewriter.getIndexAttr(dv)};
    SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
    tensor::ParallelInsertSliceOp::create(rewriter, loc, out,
                                          forall.getRegionIterArgs()[0],
                                          offsets, sizes, strides);
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }

  /// The keys [S, dz] and values [S, dv] of one head (columns qCol / vCol)
  /// for the chunk at row0: the stream [cache ; new] when `cacheLen` is set,
  /// the chunk's own rows otherwise.
  static std::pair<Value, Value>
  keysAndValues(OpBuilder &b, Location loc, OpAdaptor adaptor, Value batch,
                Value row0, OpFoldResult rows, Value qCol, Value vCol,
                int64_t dz, int64_t dv, Value cacheLen) {
    if (cacheLen)
      return {streamBlock(b, loc, adaptor.getKCache(), adaptor.getK(), batch,
                          qCol, cacheLen, dz),
              streamBlock(b, loc, adaptor.getVCache(), adaptor.getV(), batch,
                          vCol, cacheLen, dv)};
    return {sliceRows(b, loc, adaptor.getK(), batch, row0, rows, qCol, dz),
            sliceRows(b, loc, adaptor.getV(), batch, row0, rows, vCol, dv)};
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// kv_cache_update
//===----------------------------------------------------------------------===//

/// The new [B, C, W] cache: rows first..first+kept-1 of the stream
/// [cache rows 0..len-1 ; fresh rows] at the front, zeros after them.
static Value keepStreamTail(OpBuilder &b, Location loc, Value cache,
                            Value fresh, Value len, Value first, Value kept) {
  auto cacheType = cast<RankedTensorType>(cache.getType());
  int64_t batch = cacheType.getDimSize(0), chunk = cacheType.getDimSize(1);
  int64_t width = cacheType.getDimSize(2);
  int64_t length = cast<RankedTensorType>(fresh.getType()).getDimSize(1);
  OpFoldResult zero = b.getIndexAttr(0);
  OpFoldResult batchSize = b.getIndexAttr(batch);
  OpFoldResult widthSize = b.getIndexAttr(width);
  SmallVector<OpFoldResult> unit(3, b.getIndexAttr(1));

  // Rows 0..len+L-1 are all written before any is read: no fill needed.
  Value stream = tensor::EmptyOp::create(b, loc, {batch, chunk + length, width},
                                         b.getF32Type());
  SmallVector<OpFoldResult> cachedSizes = {batchSize, len, widthSize};
  Value cached = tensor::ExtractSliceOp::create(
      b, loc, cache, SmallVector<OpFoldResult>{zero, zero, zero}, cachedSizes,
      unit);
  stream = tensor::InsertSliceOp::create(
      b, loc, cached, stream, SmallVector<OpFoldResult>{zero, zero, zero},
      cachedSizes, unit);
  stream = tensor::InsertSliceOp::create(
      b, loc, fresh, stream, SmallVector<OpFoldResult>{zero, len, zero},
      SmallVector<OpFoldResult>{batchSize, b.getIndexAttr(length), widthSize},
      unit);

  SmallVector<OpFoldResult> keptSizes = {batchSize, kept, widthSize};
  Value tail = tensor::ExtractSliceOp::create(
      b, loc, stream, SmallVector<OpFoldResult>{zero, first, zero}, keptSizes,
      unit);
  Value result = filledTensor(b, loc, cacheType.getShape(), 0.0);
  return tensor::InsertSliceOp::create(
      b, loc, tail, result, SmallVector<OpFoldResult>{zero, zero, zero},
      keptSizes, unit);
}

namespace {
/// Both caches keep the last (len + L) mod C rows of their stream; the new
/// length is returned as a 0-d i64 tensor.
struct KVCacheUpdateLowering : OpConversionPattern<KVCacheUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(KVCacheUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!allStaticF32({op.getKCache().getType(), op.getVCache().getType(),
                       op.getK().getType(), op.getV().getType()}))
      return rewriter.notifyMatchFailure(
          op, "kv_cache_update lowers only statically shaped f32 tensors");
    Location loc = op.getLoc();
    int64_t chunk = op.getChunkSize();
    int64_t length = cast<RankedTensorType>(op.getK().getType()).getDimSize(1);

    Value len = readClampedIndex(rewriter, loc, adaptor.getCacheLen(), chunk);
    Value total = arith::AddIOp::create(rewriter, loc, len,
                                        indexConstant(rewriter, loc, length));
    Value kept = arith::RemUIOp::create(rewriter, loc, total,
                                        indexConstant(rewriter, loc, chunk));
    Value first = arith::SubIOp::create(rewriter, loc, total, kept);

    Value keys = keepStreamTail(rewriter, loc, adaptor.getKCache(),
                                adaptor.getK(), len, first, kept);
    Value values = keepStreamTail(rewriter, loc, adaptor.getVCache(),
                                  adaptor.getV(), len, first, kept);
    Value kept64 = arith::IndexCastUIOp::create(rewriter, loc,
                                                rewriter.getI64Type(), kept);
    Value newLen = tensor::FromElementsOp::create(
        rewriter, loc, RankedTensorType::get({}, rewriter.getI64Type()),
        ValueRange{kept64});
    rewriter.replaceOp(op, {keys, values, newLen});
    return success();
  }
};
} // namespace

void mlir::megalodon::populateAttentionToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SharedQKLowering, RotaryLowering, ChunkAttentionLowering,
               KVCacheUpdateLowering>(patterns.getContext());
}
