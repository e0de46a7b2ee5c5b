//===- TilingModels.cpp - TilingInterface of the megalodon forward ops ----===//
//
// Makes the forward compute ops tileable by upstream drivers
// (scf::tileUsingSCF, scf::tileConsumerAndFuseProducersUsingSCF) while they
// are still megalodon ops, before any lowering. Every op here is a map over
// independent slices: rows of tokens for the row-wise ops, (batch, channel)
// pairs for the CEMA scan, (batch, whole chunks of tokens, head) for chunked
// attention, (batch, group) pairs for the timestep norm. What runs along the
// other axes (a reduction over features, a scan over time) stays inside one
// tile, so these ops have no reduction loops in their iteration domain.
//
// One table per op (`TilingLayout`) says, for every dimension of every
// operand and result, which loop of the domain it follows and with what
// stride (a head of attention is `dz` columns wide), or that the tile takes
// the dimension whole. One generic model derives the interface from it:
// slices of the operands, the op cloned onto them, where its results go and,
// for producer fusion, which domain tile a consumer's slice needs.
//
// A tile must have static sizes: the ops verify static shapes and some
// attributes follow the tile (`num_groups`, `num_heads`), so a ragged edge
// is refused rather than tiled; drivers should use sizes that divide the
// domain.
//
//===----------------------------------------------------------------------===//

#include "TilingModels.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::megalodon;

namespace {

/// Where a tensor dimension comes from: `stride` elements per step of domain
/// loop `loop`, or (loop < 0) the whole dimension in every tile.
struct DimSource {
  int64_t loop;
  int64_t stride;
};
constexpr DimSource kWhole{-1, 1};
using TensorLayout = SmallVector<DimSource, 4>;

struct TilingLayout {
  SmallVector<int64_t, 4> domain;        // static extent of each loop
  SmallVector<TensorLayout, 8> operands; // one per operand, in order
  SmallVector<TensorLayout, 4> results;  // one per result
  /// Attributes that count the tile's extent along a loop (num_groups,
  /// num_heads): the tiled op gets the tile size.
  SmallVector<std::pair<StringRef, int64_t>, 2> countAttrs;
  /// Loops whose tiles must be a multiple of a number of steps (attention
  /// and rotary positions restart every chunk). Tiles must also start at a
  /// multiple of it; tiles that start at multiples of their own size (the
  /// loops the drivers build) do.
  SmallVector<std::pair<int64_t, int64_t>, 1> tileMultiples;
};

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Leading dimensions follow loops 0..n-1 with stride 1; the last `whole`
/// dimensions are taken whole.
TensorLayout leading(int64_t n, int64_t whole) {
  TensorLayout layout;
  for (int64_t i = 0; i < n; ++i)
    layout.push_back({i, 1});
  layout.append(whole, kWhole);
  return layout;
}

/// The domain of a row-wise op: one loop per leading dimension of `x`.
SmallVector<int64_t, 4> rowDomain(Value x) {
  ArrayRef<int64_t> shape = shapeOf(x);
  return SmallVector<int64_t, 4>(shape.drop_back());
}

//===----------------------------------------------------------------------===//
// The layouts, one per op
//===----------------------------------------------------------------------===//

/// silu, swiglu, add, mul: every dimension is a loop.
TilingLayout elementwiseLayout(Operation *op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op->getResult(0));
  t.domain.assign(shape.begin(), shape.end());
  for (unsigned i = 0; i < op->getNumOperands(); ++i)
    t.operands.push_back(leading(shape.size(), 0));
  t.results.push_back(leading(shape.size(), 0));
  return t;
}

TilingLayout layout(ScaleChannelsOp op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op.getX());
  int64_t rank = shape.size();
  t.domain.assign(shape.begin(), shape.end());
  t.operands = {leading(rank, 0), TensorLayout{{rank - 1, 1}}};
  t.results = {leading(rank, 0)};
  return t;
}

/// rms_norm: the leading dimensions and the groups of the last axis are
/// loops; a tile normalizes whole groups.
TilingLayout layout(RMSNormOp op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op.getX());
  int64_t lead = shape.size() - 1, groups = op.getNumGroups();
  DimSource groupCols{lead, shape.back() / groups};
  t.domain = rowDomain(op.getX());
  t.domain.push_back(groups);
  TensorLayout x = leading(lead, 0);
  x.push_back(groupCols);
  t.operands.push_back(x);
  if (op.getWeight())
    t.operands.push_back(TensorLayout{groupCols});
  t.results = {x};
  t.countAttrs.push_back({"num_groups", lead});
  return t;
}

TilingLayout layout(LayerNormOp op) {
  TilingLayout t;
  int64_t lead = shapeOf(op.getX()).size() - 1;
  t.domain = rowDomain(op.getX());
  t.operands.push_back(leading(lead, 1));
  for (unsigned i = 1; i < op->getNumOperands(); ++i)
    t.operands.push_back(TensorLayout{kWhole});
  t.results = {leading(lead, 1)};
  return t;
}

/// linear: the leading dimensions of x and the output features are loops;
/// the reduction over K stays inside a tile.
TilingLayout layout(LinearOp op) {
  TilingLayout t;
  int64_t lead = shapeOf(op.getX()).size() - 1;
  t.domain = rowDomain(op.getX());
  t.domain.push_back(shapeOf(op.getWeight())[0]);
  t.operands = {leading(lead, 1), TensorLayout{{lead, 1}, kWhole}};
  if (op.getBias())
    t.operands.push_back(TensorLayout{{lead, 1}});
  t.results = {leading(lead + 1, 0)};
  return t;
}

/// shared_qk: rows are loops; gamma and beta are read whole.
TilingLayout layout(SharedQKOp op) {
  TilingLayout t;
  int64_t lead = shapeOf(op.getZ()).size() - 1;
  t.domain = rowDomain(op.getZ());
  t.operands = {leading(lead, 1), TensorLayout{kWhole, kWhole},
                TensorLayout{kWhole, kWhole}};
  t.results = {leading(lead, 1), leading(lead, 1)};
  return t;
}

/// rotary without a decoding offset: rows are loops, but a tile of the
/// sequence axis must cover whole chunks so that positions stay
/// `i mod chunk_size`.
TilingLayout layout(RotaryOp op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op.getX());
  int64_t lead = shape.size() - 1;
  t.domain = rowDomain(op.getX());
  t.operands = {leading(lead, 1)};
  if (op.getOffset())
    t.operands.push_back(TensorLayout{});
  t.results = {leading(lead, 1)};
  if (lead >= 1)
    t.tileMultiples.push_back(
        {lead - 1, std::min<int64_t>(op.getChunkSize(), shape[lead - 1])});
  return t;
}

/// timestep_norm on [B, L, D]: batch and feature groups are loops (0, 1);
/// the cumulative statistics run over the whole sequence inside a tile.
TilingLayout layout(TimestepNormOp op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op.getX());
  int64_t groups = op.getNumGroups();
  DimSource groupCols{1, shape[2] / groups};
  t.domain = {shape[0], groups};
  TensorLayout x{{0, 1}, kWhole, groupCols};
  TensorLayout count{{0, 1}}, stats{{0, 1}, {1, 1}};
  t.operands = {x, TensorLayout{groupCols}, TensorLayout{groupCols}};
  if (op.getCount())
    t.operands.append({count, stats, stats});
  t.results = {x, count, stats, stats};
  t.countAttrs.push_back({"num_groups", 1});
  return t;
}

/// cema on [B, L, D]: batch and channels are loops (0, 1); the scan over
/// time runs whole inside a tile.
TilingLayout layout(CemaOp op) {
  TilingLayout t;
  ArrayRef<int64_t> shape = shapeOf(op.getX());
  t.domain = {shape[0], shape[2]};
  TensorLayout x{{0, 1}, kWhole, {1, 1}};
  TensorLayout perChannel3{{1, 1}, kWhole, kWhole};
  TensorLayout state{{0, 1}, {1, 1}, kWhole};
  t.operands = {x,           perChannel3, perChannel3,
                perChannel3, perChannel3, TensorLayout{{1, 1}, kWhole}};
  if (op.getHx())
    t.operands.push_back(state);
  t.results = {x, state};
  return t;
}

/// chunk_attention on [B, L, H * d]: batch, tokens and heads are loops
/// (0, 1, 2); a tile of tokens holds whole chunks (a call shorter than a
/// chunk, when decoding, is one). The cache, when present, follows batch and
/// heads.
TilingLayout layout(ChunkAttentionOp op) {
  TilingLayout t;
  ArrayRef<int64_t> q = shapeOf(op.getQ());
  int64_t heads = op.getNumHeads();
  int64_t dz = q[2] / heads, dv = shapeOf(op.getV())[2] / heads;
  t.domain = {q[0], q[1], heads};
  TensorLayout qk{{0, 1}, {1, 1}, {2, dz}};
  TensorLayout v{{0, 1}, {1, 1}, {2, dv}};
  t.operands = {qk, qk, v};
  if (op.getKCache())
    t.operands.append({TensorLayout{{0, 1}, kWhole, {2, dz}},
                       TensorLayout{{0, 1}, kWhole, {2, dv}}, TensorLayout{}});
  t.results = {v};
  t.countAttrs.push_back({"num_heads", 2});
  t.tileMultiples.push_back({1, std::min<int64_t>(op.getChunkSize(), q[1])});
  return t;
}

//===----------------------------------------------------------------------===//
// The generic model
//===----------------------------------------------------------------------===//

OpFoldResult scaled(OpBuilder &b, Location loc, OpFoldResult v,
                    int64_t stride) {
  if (stride == 1)
    return v;
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return b.getIndexAttr(*c * stride);
  Value s = arith::ConstantIndexOp::create(b, loc, stride);
  return arith::MulIOp::create(b, loc, cast<Value>(v), s).getResult();
}

/// The offsets and sizes of a tensor laid out by `layout` for the domain
/// tile (`offsets`, `sizes`).
void tensorTile(OpBuilder &b, Location loc, const TensorLayout &layout,
                ArrayRef<int64_t> shape, ArrayRef<OpFoldResult> offsets,
                ArrayRef<OpFoldResult> sizes,
                SmallVectorImpl<OpFoldResult> &tileOffsets,
                SmallVectorImpl<OpFoldResult> &tileSizes) {
  for (auto [dim, src] : llvm::enumerate(layout)) {
    if (src.loop < 0) {
      tileOffsets.push_back(b.getIndexAttr(0));
      tileSizes.push_back(b.getIndexAttr(shape[dim]));
      continue;
    }
    tileOffsets.push_back(scaled(b, loc, offsets[src.loop], src.stride));
    tileSizes.push_back(scaled(b, loc, sizes[src.loop], src.stride));
  }
}

template <typename OpTy> TilingLayout layoutOf(OpTy op) {
  if constexpr (std::is_same_v<OpTy, SiluOp> ||
                std::is_same_v<OpTy, SwigluOp> || std::is_same_v<OpTy, AddOp> ||
                std::is_same_v<OpTy, MulOp>)
    return elementwiseLayout(op);
  else
    return layout(op);
}

/// Static shapes everywhere: the layouts read extents from the types.
bool hasStaticShapes(Operation *op) {
  auto isStatic = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && ranked.hasStaticShape();
  };
  return llvm::all_of(op->getOperandTypes(), isStatic) &&
         llvm::all_of(op->getResultTypes(), isStatic);
}

template <typename OpTy>
struct MegalodonTilingModel
    : public TilingInterface::ExternalModel<MegalodonTilingModel<OpTy>, OpTy> {
  static std::optional<TilingLayout> getLayout(Operation *op) {
    if (!hasStaticShapes(op))
      return std::nullopt;
    return layoutOf(cast<OpTy>(op));
  }

  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    std::optional<TilingLayout> t = getLayout(op);
    return SmallVector<utils::IteratorType>(t ? t->domain.size() : 0,
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    SmallVector<Range> domain;
    if (std::optional<TilingLayout> t = getLayout(op))
      for (int64_t extent : t->domain)
        domain.push_back(Range{b.getIndexAttr(0), b.getIndexAttr(extent),
                               b.getIndexAttr(1)});
    return domain;
  }

  /// Whether the layout accepts a domain tile of `sizes`.
  static bool isAllowedTile(const TilingLayout &t, ArrayRef<int64_t> sizes) {
    return llvm::all_of(t.tileMultiples, [&](std::pair<int64_t, int64_t> m) {
      auto [loop, multiple] = m;
      return sizes[loop] % multiple == 0 || sizes[loop] == t.domain[loop];
    });
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    std::optional<TilingLayout> t = getLayout(op);
    if (!t)
      return failure();
    std::optional<SmallVector<int64_t>> tile = getConstantIntValues(sizes);
    if (!tile || !isAllowedTile(*t, *tile))
      return op->emitOpError("tiles need static sizes that the op accepts"),
             failure();
    Location loc = op->getLoc();
    TilingResult result;
    SmallVector<Value> operands;
    for (auto [operand, layout] : llvm::zip(op->getOperands(), t->operands)) {
      SmallVector<OpFoldResult> tileOffsets, tileSizes;
      ArrayRef<int64_t> shape = shapeOf(operand);
      if (shape.empty()) {
        operands.push_back(operand);
        continue;
      }
      tensorTile(b, loc, layout, shape, offsets, sizes, tileOffsets, tileSizes);
      SmallVector<OpFoldResult> strides(shape.size(), b.getIndexAttr(1));
      auto slice = tensor::ExtractSliceOp::create(b, loc, operand, tileOffsets,
                                                  tileSizes, strides);
      operands.push_back(slice);
      result.generatedSlices.push_back(slice);
    }
    SmallVector<Type> resultTypes;
    for (auto [value, layout] : llvm::zip(op->getResults(), t->results)) {
      SmallVector<OpFoldResult> tileOffsets, tileSizes;
      tensorTile(b, loc, layout, shapeOf(value), offsets, sizes, tileOffsets,
                 tileSizes);
      auto type = cast<RankedTensorType>(value.getType());
      resultTypes.push_back(type.clone(*getConstantIntValues(tileSizes)));
    }
    Operation *tiled = mlir::clone(b, op, resultTypes, operands);
    for (auto [name, loop] : t->countAttrs)
      tiled->setAttr(name, b.getI64IntegerAttr((*tile)[loop]));
    result.tiledOps.push_back(tiled);
    llvm::append_range(result.tiledValues, tiled->getResults());
    return result;
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    std::optional<TilingLayout> t = getLayout(op);
    if (!t)
      return failure();
    tensorTile(b, op->getLoc(), t->results[resultNumber],
               shapeOf(op->getResult(resultNumber)), offsets, sizes,
               resultOffsets, resultSizes);
    return success();
  }

  /// The domain tile that computes exactly a slice of a result: per loop,
  /// its static size and its offset in the result's elements (null for a
  /// loop the result does not follow, taken whole) with the stride to
  /// divide it by.
  struct DomainTile {
    SmallVector<int64_t> sizes;
    SmallVector<OpFoldResult> elementOffsets;
    SmallVector<int64_t> strides;
  };

  /// The domain tile of the slice (`offsets`, `sizes`) of result
  /// `resultNumber`; nullopt when the slice cuts a dimension that tiles take
  /// whole, cuts a loop's stride (half a head) or is a tile the layout
  /// refuses. A dynamic offset is taken to be aligned (a multiple of the
  /// stride and of the loop's tile multiple), as the offsets of tiles that
  /// start at multiples of their size are.
  static std::optional<DomainTile>
  domainTileOfResultSlice(Operation *op, unsigned resultNumber,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) {
    std::optional<TilingLayout> t = getLayout(op);
    if (!t)
      return std::nullopt;
    ArrayRef<int64_t> shape = shapeOf(op->getResult(resultNumber));
    DomainTile tile{llvm::to_vector(ArrayRef<int64_t>(t->domain)),
                    SmallVector<OpFoldResult>(t->domain.size()),
                    SmallVector<int64_t>(t->domain.size(), 1)};
    for (auto [dim, src] : llvm::enumerate(t->results[resultNumber])) {
      std::optional<int64_t> size = getConstantIntValue(sizes[dim]);
      std::optional<int64_t> offset = getConstantIntValue(offsets[dim]);
      if (!size)
        return std::nullopt;
      if (src.loop < 0) {
        if (offset != 0 || *size != shape[dim])
          return std::nullopt;
        continue;
      }
      if (*size % src.stride != 0 || (offset && *offset % src.stride != 0))
        return std::nullopt;
      tile.sizes[src.loop] = *size / src.stride;
      tile.elementOffsets[src.loop] = offsets[dim];
      tile.strides[src.loop] = src.stride;
    }
    for (auto [loop, multiple] : t->tileMultiples)
      if (std::optional<int64_t> offset =
              getConstantIntValue(tile.elementOffsets[loop]))
        if (*offset / tile.strides[loop] % multiple != 0)
          return std::nullopt;
    if (!isAllowedTile(*t, tile.sizes))
      return std::nullopt;
    return tile;
  }

  LogicalResult getIterationDomainTileFromResultTile(
      Operation *op, OpBuilder &b, unsigned resultNumber,
      ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
      SmallVectorImpl<OpFoldResult> &iterDomainOffsets,
      SmallVectorImpl<OpFoldResult> &iterDomainSizes) const {
    std::optional<DomainTile> tile =
        domainTileOfResultSlice(op, resultNumber, offsets, sizes);
    if (!tile)
      return failure();
    for (auto [size, offset, stride] :
         llvm::zip(tile->sizes, tile->elementOffsets, tile->strides)) {
      iterDomainSizes.push_back(b.getIndexAttr(size));
      if (!offset) {
        iterDomainOffsets.push_back(b.getIndexAttr(0));
      } else if (stride == 1) {
        iterDomainOffsets.push_back(offset);
      } else if (std::optional<int64_t> c = getConstantIntValue(offset)) {
        iterDomainOffsets.push_back(b.getIndexAttr(*c / stride));
      } else {
        Value s = arith::ConstantIndexOp::create(b, op->getLoc(), stride);
        iterDomainOffsets.push_back(
            arith::DivUIOp::create(b, op->getLoc(), cast<Value>(offset), s)
                .getResult());
      }
    }
    return success();
  }

  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned resultNumber,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) const {
    SmallVector<OpFoldResult> domainOffsets, domainSizes;
    if (failed(getIterationDomainTileFromResultTile(
            op, b, resultNumber, offsets, sizes, domainOffsets, domainSizes)))
      return failure();
    FailureOr<TilingResult> tiled =
        getTiledImplementation(op, b, domainOffsets, domainSizes);
    if (failed(tiled))
      return failure();
    // Fusion reads the requested result as the first tiled value.
    tiled->tiledValues = {tiled->tiledValues[resultNumber]};
    return tiled;
  }

  bool isOpFusableWithConsumerSlice(Operation *op, unsigned resultNumber,
                                    ArrayRef<OpFoldResult> offsets,
                                    ArrayRef<OpFoldResult> sizes) const {
    return domainTileOfResultSlice(op, resultNumber, offsets, sizes)
        .has_value();
  }
};

template <typename... OpTys> void attachModels(MLIRContext *context) {
  (OpTys::template attachInterface<MegalodonTilingModel<OpTys>>(*context), ...);
}

} // namespace

void mlir::megalodon::detail::attachTilingModels(MLIRContext *context) {
  attachModels<SiluOp, SwigluOp, AddOp, MulOp, ScaleChannelsOp, RMSNormOp,
               LayerNormOp, LinearOp, SharedQKOp, RotaryOp, TimestepNormOp,
               CemaOp, ChunkAttentionOp>(context);
}
