//===- VjpAttention.cpp - VJPs of the attention ops -----------------------===//
//
// DifferentiableOpInterface of megalodon.shared_qk, megalodon.rotary,
// megalodon.chunk_attention and megalodon.kv_cache_update. Training has no
// KV cache, so the decoding forms (a cached chunk_attention and the cache
// update) decline.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

FailureOr<SmallVector<Value>>
SharedQKOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  // The grad op needs both cotangents; an unused q or k contributes zeros.
  Value gq =
      cotangentOrZero(builder, *this, resultCotangents[0], getQ().getType());
  Value gk =
      cotangentOrZero(builder, *this, resultCotangents[1], getK().getType());
  if (!gq || !gk)
    return failure();
  auto grad = SharedQKGradOp::create(
      builder, getLoc(), getZ().getType(), getGamma().getType(),
      getBeta().getType(), getZ(), getGamma(), gq, gk, getNumHeadsAttr());
  return SmallVector<Value>{grad.getGz(), grad.getGGamma(), grad.getGBeta()};
}

FailureOr<SmallVector<Value>>
RotaryOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  // The offset is an integer position and gets no cotangent.
  Value gx = RotaryGradOp::create(
      builder, getLoc(), getX().getType(), resultCotangents[0], getOffset(),
      getNumHeadsAttr(), getBaseAttr(), getChunkSizeAttr());
  SmallVector<Value> cotangents = {gx};
  if (getOffset())
    cotangents.push_back(Value());
  return cotangents;
}

FailureOr<SmallVector<Value>>
ChunkAttentionOp::buildVjp(OpBuilder &builder,
                           ArrayRef<Value> resultCotangents) {
  if (getKCache()) {
    emitOpError() << "has no VJP with a KV cache: the cached form only "
                     "serves decoding, and chunk_attention_grad covers "
                     "training without a cache";
    return failure();
  }
  // The forward's result saves the blocked gradient a recomputation of it.
  auto grad = ChunkAttentionGradOp::create(
      builder, getLoc(), getQ().getType(), getK().getType(), getV().getType(),
      getQ(), getK(), getV(), resultCotangents[0], getResult(),
      getNumHeadsAttr(), getChunkSizeAttr());
  return SmallVector<Value>{grad.getGq(), grad.getGk(), grad.getGv()};
}

FailureOr<SmallVector<Value>>
KVCacheUpdateOp::buildVjp(OpBuilder &builder,
                          ArrayRef<Value> resultCotangents) {
  emitOpError() << "has no VJP: the KV cache only serves decoding, which "
                   "is never differentiated";
  return failure();
}
