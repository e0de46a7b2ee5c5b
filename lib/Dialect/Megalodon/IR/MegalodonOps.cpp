//===- MegalodonOps.cpp - Verifiers of the megalodon ops ------------------===//
//
// Each verifier checks every shape and attribute rule of its op. A diagnostic
// names the operand and the rule, e.g. "operand 'weight' has shape [32] but
// the rule 'one scale per feature of x' needs [64]". Dynamic dimensions match
// anything; the runtime checks them when shapes become known.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "InputRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getTable(), "table", 2, "[vocab, model_dim]"));
  CHECK(c.floatData(getTable(), "table"));
  CHECK(c.integerData(getTokens(), "tokens"));
  SmallVector<int64_t> expected(c.type(getTokens()).getShape());
  expected.push_back(dim(getTable(), 1));
  CHECK(c.shape(getResult(), "result", expected,
                "result is the tokens' shape plus model_dim"));
  CHECK(c.elementType(getResult(), "result",
                      c.type(getTable()).getElementType(),
                      "result has the table's element type"));
  if (FloatAttr scale = getScaleAttr())
    CHECK(c.positiveReal(scale.getValueAsDouble(), "scale"));
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getLogits(), "logits", 1));
  CHECK(c.floatData(getLogits(), "logits"));
  CHECK(c.integerData(getTargets(), "targets"));
  ArrayRef<int64_t> logits = c.type(getLogits()).getShape();
  CHECK(c.shape(getTargets(), "targets", logits.drop_back(),
                "one target per row of logits"));
  CHECK(c.shape(getResult(), "result", {}, "the loss is a scalar"));
  return c.elementType(getResult(), "result",
                       Float32Type::get(getContext()),
                       "the loss is accumulated in f32");
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

LogicalResult TimestepNormOp::verify() {
  Checker c(*this);
  int64_t B = dim(getX(), 0), G = getNumGroups();
  CHECK(checkTimestepNormInputs(c, getX(), getWeight(), getBias(), G,
                                getEps().convertToDouble(), getCount(),
                                getMean(), getVar()));
  Type f32 = Float32Type::get(getContext());
  Type i64 = IntegerType::get(getContext(), 64);
  auto countType = RankedTensorType::get({B}, i64);
  auto statType = RankedTensorType::get({B, G}, f32);
  CHECK(c.sameType(getY(), "result 'y'", getX().getType(),
                   "y has the type of x"));
  CHECK(c.shape(getCountOut(), "result 'count_out'", countType.getShape(),
                "one step count per batch row"));
  CHECK(c.elementType(getCountOut(), "result 'count_out'", i64,
                      "step counts are i64"));
  for (auto [v, name] : {std::pair(getMeanOut(), "result 'mean_out'"),
                         std::pair(getVarOut(), "result 'var_out'")}) {
    CHECK(c.shape(v, name, statType.getShape(),
                  "statistics are [batch, groups]"));
    CHECK(c.elementType(v, name, f32, "statistics are f32"));
  }
  return success();
}

LogicalResult RMSNormOp::verify() {
  Checker c(*this);
  CHECK(checkRMSNormInputs(c, getX(), getWeight(), getNumGroups(),
                           getEps().convertToDouble()));
  return c.sameType(getResult(), "result", getX().getType(),
                    "result has the type of x");
}

LogicalResult LayerNormOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  int64_t W = dim(getX(), c.type(getX()).getRank() - 1);
  CHECK(c.positiveReal(getEps().convertToDouble(), "eps"));
  CHECK(c.allOrNone({getWeight(), getBias()},
                    "the affine pair is weight and bias together"));
  if (getWeight()) {
    CHECK(c.shape(getWeight(), "weight", {W}, "one scale per feature"));
    CHECK(c.shape(getBias(), "bias", {W}, "one shift per feature"));
    CHECK(c.floatData(getWeight(), "weight"));
    CHECK(c.floatData(getBias(), "bias"));
  }
  return c.sameType(getResult(), "result", getX().getType(),
                    "result has the type of x");
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

LogicalResult CemaOp::verify() {
  Checker c(*this);
  CHECK(checkCemaInputs(c, getX(), getAlpha(), getDelta(), getTheta(),
                        getGamma(), getOmega(), getHx()));
  int64_t B = dim(getX(), 0), D = dim(getX(), 2), N = dim(getAlpha(), 1);
  Type state = ComplexType::get(Float32Type::get(getContext()));
  CHECK(c.sameType(getY(), "result 'y'", getX().getType(),
                   "y has the type of x"));
  CHECK(c.shape(getHLast(), "result 'h_last'", {B, D, N},
                "the state is [B, D, N]"));
  return c.elementType(getHLast(), "result 'h_last'", state,
                       "the state is complex<f32>");
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  Checker c(*this);
  CHECK(checkLinearInputs(c, getX(), getWeight()));
  RankedTensorType x = c.type(getX());
  int64_t N = dim(getWeight(), 0);
  if (getBias()) {
    CHECK(c.shape(getBias(), "bias", {N}, "one bias per output feature"));
    CHECK(c.floatData(getBias(), "bias"));
  }
  SmallVector<int64_t> expected(x.getShape().drop_back());
  expected.push_back(N);
  CHECK(c.shape(getResult(), "result", expected,
                "result is x's shape with out_features last"));
  return c.elementType(getResult(), "result", x.getElementType(),
                       "result has x's element type");
}

LogicalResult SiluOp::verify() { return Checker(*this).floatData(getX(), "x"); }

LogicalResult SwigluOp::verify() {
  return Checker(*this).floatData(getLhs(), "gate");
}

LogicalResult AddOp::verify() {
  return Checker(*this).floatData(getLhs(), "lhs");
}

LogicalResult MulOp::verify() {
  return Checker(*this).floatData(getLhs(), "lhs");
}

LogicalResult ScaleChannelsOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  CHECK(c.floatData(getScale(), "scale"));
  int64_t W = dim(getX(), c.type(getX()).getRank() - 1);
  CHECK(c.shape(getScale(), "scale", {W}, "one scale per feature"));
  return c.sameType(getResult(), "result", getX().getType(),
                    "result has the type of x");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult SharedQKOp::verify() {
  Checker c(*this);
  CHECK(checkSharedQKInputs(c, getZ(), getGamma(), getNumHeads()));
  int64_t Z = dim(getZ(), 2);
  CHECK(c.shape(getBeta(), "beta", {2, Z}, "beta is [2, z_dim]"));
  CHECK(c.floatData(getGamma(), "gamma"));
  CHECK(c.floatData(getBeta(), "beta"));
  CHECK(c.sameType(getQ(), "result 'q'", getZ().getType(),
                   "q has the type of z"));
  return c.sameType(getK(), "result 'k'", getZ().getType(),
                    "k has the type of z");
}

LogicalResult RotaryOp::verify() {
  Checker c(*this);
  CHECK(checkRotaryInputs(c, getX(), "x", getNumHeads(),
                          getBase().convertToDouble(), getChunkSize(),
                          getOffset()));
  return c.sameType(getResult(), "result", getX().getType(),
                    "result has the type of x");
}

LogicalResult ChunkAttentionOp::verify() {
  Checker c(*this);
  int64_t C = getChunkSize();
  CHECK(checkAttentionInputs(c, getQ(), getK(), getV(), getNumHeads(), C));
  int64_t B = dim(getQ(), 0), Zw = dim(getQ(), 2), Ew = dim(getV(), 2);
  CHECK(c.allOrNone({getKCache(), getVCache(), getCacheLen()},
                    "the cache is k_cache, v_cache and cache_len together"));
  if (getKCache()) {
    CHECK(c.shape(getKCache(), "k_cache", {B, C, Zw},
                  "the key cache holds one chunk: [B, chunk_size, Zw]"));
    CHECK(c.shape(getVCache(), "v_cache", {B, C, Ew},
                  "the value cache holds one chunk: [B, chunk_size, Ew]"));
    CHECK(c.elementType(getKCache(), "k_cache",
                        c.type(getK()).getElementType(),
                        "caches have the keys' element type"));
    CHECK(c.elementType(getVCache(), "v_cache",
                        c.type(getV()).getElementType(),
                        "caches have the values' element type"));
    CHECK(c.scalarI64(getCacheLen(), "cache_len"));
  }
  return c.sameType(getResult(), "result", getV().getType(),
                    "result has the type of v");
}

LogicalResult KVCacheUpdateOp::verify() {
  Checker c(*this);
  int64_t C = getChunkSize();
  CHECK(c.positiveInt(C, "chunk_size"));
  CHECK(c.rank(getK(), "k", 3, "[batch, time, width]"));
  CHECK(c.rank(getV(), "v", 3, "[batch, time, width]"));
  CHECK(c.floatData(getK(), "k"));
  CHECK(c.floatData(getV(), "v"));
  int64_t B = dim(getK(), 0), L = dim(getK(), 1);
  int64_t Zw = dim(getK(), 2), Ew = dim(getV(), 2);
  CHECK(c.shape(getV(), "v", {B, L, Ew}, "v has k's batch and time"));
  CHECK(c.chunkLength(L, C));
  CHECK(c.shape(getKCache(), "k_cache", {B, C, Zw},
                "the key cache holds one chunk: [B, chunk_size, Zw]"));
  CHECK(c.shape(getVCache(), "v_cache", {B, C, Ew},
                "the value cache holds one chunk: [B, chunk_size, Ew]"));
  CHECK(c.elementType(getKCache(), "k_cache", c.type(getK()).getElementType(),
                      "caches have the keys' element type"));
  CHECK(c.elementType(getVCache(), "v_cache", c.type(getV()).getElementType(),
                      "caches have the values' element type"));
  CHECK(c.scalarI64(getCacheLen(), "cache_len"));
  CHECK(c.sameType(getKCacheOut(), "result 'k_cache_out'",
                   getKCache().getType(), "the cache keeps its type"));
  CHECK(c.sameType(getVCacheOut(), "result 'v_cache_out'",
                   getVCache().getType(), "the cache keeps its type"));
  return c.scalarI64(getCacheLenOut(), "result 'cache_len_out'");
}

#define GET_OP_CLASSES
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.cpp.inc"
