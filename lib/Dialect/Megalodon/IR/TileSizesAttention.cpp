//===- TileSizesAttention.cpp - TunableOpInterface of chunk attention -----===//
//
// megalodon-tile-attention computes each chunk's attention in blocks of
// `query_block` queries against blocks of `key_block` keys with an online
// softmax, and skips the key blocks that lie wholly after a query block's
// last query (causal). Only the [query_block, key_block] scores of one block
// pair are live instead of the chunk's [C, C]. The sizes trade:
//   * larger blocks give the matmul kernels longer rows and fewer passes over
//     the running statistics (max, sum, accumulator);
//   * smaller blocks skip more of the masked upper triangle (with b-row
//     blocks, about (C / b + 1) / (2 C / b) of the score blocks are computed)
//     and keep the block pair in cache.
// Neither size has to divide the chunk: the last block of queries or keys
// starts early enough to fit, and the rows it shares with the block before
// are masked out where they would count twice (TileAttention.cpp).
//
// The decoding form (a KV cache that the op reads, L < chunk_size) has no
// tiled lowering: it attends a few new queries, where blocking gains nothing.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::megalodon;

namespace {

constexpr llvm::StringLiteral kQueryBlock = "query_block";
constexpr llvm::StringLiteral kKeyBlock = "key_block";

/// The rows of one chunk and the per-head widths; nullopt for dynamic shapes.
struct ChunkShape {
  int64_t rows, dz, dv;
};

std::optional<ChunkShape> chunkShape(Value q, Value v, int64_t heads,
                                     int64_t chunk) {
  auto qType = dyn_cast<RankedTensorType>(q.getType());
  auto vType = dyn_cast<RankedTensorType>(v.getType());
  if (!qType || !vType || !qType.hasStaticShape() || !vType.hasStaticShape() ||
      qType.getRank() != 3 || vType.getRank() != 3 || heads <= 0)
    return std::nullopt;
  return ChunkShape{std::min(qType.getDimSize(1), chunk),
                    qType.getDimSize(2) / heads, vType.getDimSize(2) / heads};
}

/// The defaults: 64 queries (a few register tiles of rows for the matmul
/// kernels) and the most keys, a power of two from 16 to 128, whose scores
/// and weights (2 x 64 x keys floats) fill at most half of L1; both capped at
/// the chunk's rows. Measured with `megalodon-run bench --op attention` on a
/// 48 KiB-L1 core, 2 threads: for chunk 256, dz 32, dv 256 the forward ran
/// 1.6x and the gradient 1.25x the untiled lowering with 64 x 32 blocks
/// against 1.27x and 1.0x with 128 x 128; for chunk 2048, dz 256, dv 2048,
/// 2.4x and 1.4x.
DictionaryAttr defaultBlocks(MLIRContext *ctx, const ChunkShape &s,
                             const TargetFacts &target) {
  constexpr int64_t kQueries = 64;
  int64_t keys = llvm::bit_floor(static_cast<uint64_t>(
      std::max<int64_t>(1, target.l1Bytes / 2 / (2 * kQueries * 4))));
  keys = std::clamp<int64_t>(keys, 16, 128);
  return makeTileSizes(ctx, {{kQueryBlock, std::min(kQueries, s.rows)},
                             {kKeyBlock, std::min(keys, s.rows)}});
}

LogicalResult verifyBlocks(Operation *op, DictionaryAttr sizes,
                           const ChunkShape &s) {
  if (failed(requireTileSizeNames(op, sizes, {kQueryBlock, kKeyBlock})))
    return failure();
  for (StringRef name : {kQueryBlock, kKeyBlock}) {
    int64_t value = *getTileSize(sizes, name);
    if (value > s.rows)
      return op->emitOpError("tile config: ")
             << name << " (" << value << ") exceeds the " << s.rows
             << " rows of a chunk";
  }
  return success();
}

SmallVector<DictionaryAttr> enumerateBlocks(MLIRContext *ctx,
                                            const ChunkShape &s) {
  SmallVector<DictionaryAttr> candidates;
  for (int64_t queries = 16; queries <= 256; queries *= 2)
    for (int64_t keys = 16; keys <= 256; keys *= 2) {
      if (queries > s.rows || keys > s.rows)
        continue;
      candidates.push_back(
          makeTileSizes(ctx, {{kQueryBlock, queries}, {kKeyBlock, keys}}));
    }
  return candidates;
}

/// Whether a chunk_attention reads its KV cache (decoding).
bool readsCache(ChunkAttentionOp op) {
  if (!op.getKCache())
    return false;
  auto qType = dyn_cast<RankedTensorType>(op.getQ().getType());
  return !qType || !qType.hasStaticShape() ||
         qType.getDimSize(1) < static_cast<int64_t>(op.getChunkSize());
}

} // namespace

//===----------------------------------------------------------------------===//
// chunk_attention
//===----------------------------------------------------------------------===//

DictionaryAttr
ChunkAttentionOp::getDefaultTileSizes(const TargetFacts &target) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  if (!s || readsCache(*this))
    return DictionaryAttr();
  return defaultBlocks(getContext(), *s, target);
}

LogicalResult ChunkAttentionOp::verifyTileSizes(DictionaryAttr sizes,
                                                const TargetFacts &) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  if (!s)
    return emitOpError("tile config: needs static shapes");
  if (readsCache(*this))
    return emitOpError("tile config: the decoding form (a KV cache that is "
                       "read) has no tiled lowering");
  return verifyBlocks(*this, sizes, *s);
}

SmallVector<DictionaryAttr>
ChunkAttentionOp::enumerateTileSizes(const TargetFacts &) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  if (!s || readsCache(*this))
    return {};
  return enumerateBlocks(getContext(), *s);
}

//===----------------------------------------------------------------------===//
// chunk_attention_grad
//===----------------------------------------------------------------------===//

DictionaryAttr
ChunkAttentionGradOp::getDefaultTileSizes(const TargetFacts &target) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  return s ? defaultBlocks(getContext(), *s, target) : DictionaryAttr();
}

LogicalResult ChunkAttentionGradOp::verifyTileSizes(DictionaryAttr sizes,
                                                    const TargetFacts &) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  if (!s)
    return emitOpError("tile config: needs static shapes");
  return verifyBlocks(*this, sizes, *s);
}

SmallVector<DictionaryAttr>
ChunkAttentionGradOp::enumerateTileSizes(const TargetFacts &) {
  auto s = chunkShape(getQ(), getV(), getNumHeads(), getChunkSize());
  return s ? enumerateBlocks(getContext(), *s) : SmallVector<DictionaryAttr>();
}
