//===- MegalodonGradOps.cpp - Verifiers of the megalodon gradient ops -----===//
//
// A gradient op checks the rules of its forward op on the forward operands it
// takes, and then that every cotangent, operand or result, has the type of
// the value it differentiates. The diagnostics name their rules like those of
// the forward ops (Checker.h).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "Checker.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

/// A cotangent of `name`: an operand or result that must have `expected`,
/// the type of the value it differentiates.
static LogicalResult cotangent(Checker &c, Value v, StringRef name,
                               Type expected, StringRef of) {
  return c.sameType(v, name, expected,
                    (Twine(name) + " has the type of " + of).str());
}

/// Optional results that exist exactly when `present` holds.
static LogicalResult presentIff(Operation *op, bool present,
                                ArrayRef<Value> results, StringRef rule) {
  for (Value v : results)
    if (bool(v) != present)
      return op->emitOpError() << "rule '" << rule << "' violated";
  return success();
}

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingGradOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getTable(), "table", 2, "[vocab, model_dim]"));
  CHECK(c.floatData(getTable(), "table"));
  CHECK(c.integerData(getTokens(), "tokens"));
  SmallVector<int64_t> expected(c.type(getTokens()).getShape());
  expected.push_back(dim(getTable(), 1));
  CHECK(c.shape(getGy(), "gy", expected,
                "gy is the tokens' shape plus model_dim"));
  CHECK(c.elementType(getGy(), "gy", c.type(getTable()).getElementType(),
                      "gy has the table's element type"));
  if (FloatAttr scale = getScaleAttr())
    CHECK(c.positiveReal(scale.getValueAsDouble(), "scale"));
  return cotangent(c, getGTable(), "result 'g_table'", getTable().getType(),
                   "table");
}

LogicalResult CrossEntropyGradOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getLogits(), "logits", 1));
  CHECK(c.floatData(getLogits(), "logits"));
  CHECK(c.integerData(getTargets(), "targets"));
  ArrayRef<int64_t> logits = c.type(getLogits()).getShape();
  CHECK(c.shape(getTargets(), "targets", logits.drop_back(),
                "one target per row of logits"));
  CHECK(c.shape(getGLoss(), "g_loss", {}, "the loss cotangent is a scalar"));
  CHECK(c.elementType(getGLoss(), "g_loss", Float32Type::get(getContext()),
                      "the loss cotangent is f32 like the loss"));
  return cotangent(c, getGLogits(), "result 'g_logits'", getLogits().getType(),
                   "logits");
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

LogicalResult TimestepNormGradOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getX(), "x", 3, "[batch, time, features]"));
  CHECK(c.floatData(getX(), "x"));
  int64_t B = dim(getX(), 0), D = dim(getX(), 2);
  int64_t G = getNumGroups();
  CHECK(c.positiveInt(G, "num_groups"));
  CHECK(c.positiveReal(getEps().convertToDouble(), "eps"));
  CHECK(c.divides(G, D, "num_groups divides the feature width"));
  CHECK(c.shape(getWeight(), "weight", {D}, "one scale per feature"));
  CHECK(c.floatData(getWeight(), "weight"));
  Type f32 = Float32Type::get(getContext());
  Type i64 = IntegerType::get(getContext(), 64);
  CHECK(c.allOrNone({getCount(), getMean(), getVar()},
                    "the state is count, mean and var together"));
  if (getCount()) {
    CHECK(c.shape(getCount(), "count", {B}, "one step count per batch row"));
    CHECK(c.elementType(getCount(), "count", i64, "step counts are i64"));
    CHECK(c.shape(getMean(), "mean", {B, G}, "statistics are [batch, groups]"));
    CHECK(c.elementType(getMean(), "mean", f32, "statistics are f32"));
    CHECK(c.shape(getVar(), "var", {B, G}, "statistics are [batch, groups]"));
    CHECK(c.elementType(getVar(), "var", f32, "statistics are f32"));
  }
  CHECK(cotangent(c, getGy(), "gy", getX().getType(), "y, that of x"));
  CHECK(c.allOrNone(
      {getGMeanOut(), getGVarOut()},
      "the final cotangents are g_mean_out and g_var_out together"));
  for (auto [v, name] : {std::pair(getGMeanOut(), "g_mean_out"),
                         std::pair(getGVarOut(), "g_var_out")}) {
    if (!v)
      continue;
    CHECK(c.shape(v, name, {B, G}, "statistics are [batch, groups]"));
    CHECK(c.elementType(v, name, f32, "statistics are f32"));
  }
  CHECK(cotangent(c, getGx(), "result 'gx'", getX().getType(), "x"));
  CHECK(cotangent(c, getGWeight(), "result 'g_weight'", getWeight().getType(),
                  "weight"));
  CHECK(c.shape(getGBias(), "result 'g_bias'", {D}, "one shift per feature"));
  CHECK(c.floatData(getGBias(), "result 'g_bias'"));
  CHECK(presentIff(*this, bool(getCount()), {getGMean(), getGVar()},
                   "g_mean and g_var are returned exactly when a state is "
                   "given"));
  if (getCount()) {
    CHECK(cotangent(c, getGMean(), "result 'g_mean'", getMean().getType(),
                    "mean"));
    CHECK(cotangent(c, getGVar(), "result 'g_var'", getVar().getType(), "var"));
  }
  return success();
}

LogicalResult RMSNormGradOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  int64_t W = lastDim(getX());
  CHECK(c.positiveInt(getNumGroups(), "num_groups"));
  CHECK(c.positiveReal(getEps().convertToDouble(), "eps"));
  CHECK(c.divides(getNumGroups(), W, "num_groups divides the last axis"));
  if (getWeight()) {
    CHECK(c.shape(getWeight(), "weight", {W}, "one scale per feature"));
    CHECK(c.floatData(getWeight(), "weight"));
  }
  CHECK(cotangent(c, getGy(), "gy", getX().getType(), "the result, that of x"));
  CHECK(cotangent(c, getGx(), "result 'gx'", getX().getType(), "x"));
  CHECK(presentIff(*this, bool(getWeight()), {getGWeight()},
                   "g_weight is returned exactly when a weight is given"));
  if (getWeight())
    CHECK(cotangent(c, getGWeight(), "result 'g_weight'", getWeight().getType(),
                    "weight"));
  return success();
}

LogicalResult LayerNormGradOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  int64_t W = lastDim(getX());
  CHECK(c.positiveReal(getEps().convertToDouble(), "eps"));
  if (getWeight()) {
    CHECK(c.shape(getWeight(), "weight", {W}, "one scale per feature"));
    CHECK(c.floatData(getWeight(), "weight"));
  }
  CHECK(cotangent(c, getGy(), "gy", getX().getType(), "the result, that of x"));
  CHECK(cotangent(c, getGx(), "result 'gx'", getX().getType(), "x"));
  CHECK(presentIff(*this, bool(getWeight()), {getGWeight(), getGBias()},
                   "g_weight and g_bias are returned exactly when the norm "
                   "is affine"));
  if (getWeight()) {
    CHECK(cotangent(c, getGWeight(), "result 'g_weight'", getWeight().getType(),
                    "weight"));
    CHECK(c.shape(getGBias(), "result 'g_bias'", {W}, "one shift per feature"));
    CHECK(c.floatData(getGBias(), "result 'g_bias'"));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

LogicalResult CemaGradOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getX(), "x", 3, "[batch, time, channels]"));
  CHECK(c.floatData(getX(), "x"));
  int64_t B = dim(getX(), 0), D = dim(getX(), 2);
  CHECK(c.rank(getAlpha(), "alpha", 3, "[channels, states, 1]"));
  int64_t N = dim(getAlpha(), 1);
  CHECK(c.shape(getAlpha(), "alpha", {D, N, 1}, "alpha is [D, N, 1]"));
  CHECK(c.shape(getDelta(), "delta", {D, N, 1}, "delta is [D, N, 1]"));
  CHECK(c.shape(getTheta(), "theta", {D, 1, 1}, "theta is [D, 1, 1]"));
  CHECK(c.shape(getGamma(), "gamma", {D, N, 2},
                "gamma is [D, N, 2] (real, imaginary)"));
  CHECK(c.shape(getOmega(), "omega", {D, 1}, "omega is [D, 1]"));
  for (auto [v, name] :
       {std::pair(getAlpha(), "alpha"), std::pair(getDelta(), "delta"),
        std::pair(getTheta(), "theta"), std::pair(getGamma(), "gamma"),
        std::pair(getOmega(), "omega")})
    CHECK(c.floatData(v, name));
  Type state = ComplexType::get(Float32Type::get(getContext()));
  if (getHx()) {
    CHECK(c.shape(getHx(), "hx", {B, D, N}, "the state is [B, D, N]"));
    CHECK(c.elementType(getHx(), "hx", state, "the state is complex<f32>"));
  }
  CHECK(cotangent(c, getGy(), "gy", getX().getType(), "y, that of x"));
  if (getGHLast()) {
    CHECK(
        c.shape(getGHLast(), "g_h_last", {B, D, N}, "the state is [B, D, N]"));
    CHECK(c.elementType(getGHLast(), "g_h_last", state,
                        "the state is complex<f32>"));
  }
  CHECK(cotangent(c, getGx(), "result 'gx'", getX().getType(), "x"));
  for (auto [v, name, param, of] :
       {std::tuple(getGAlpha(), "result 'g_alpha'", getAlpha(), "alpha"),
        std::tuple(getGDelta(), "result 'g_delta'", getDelta(), "delta"),
        std::tuple(getGTheta(), "result 'g_theta'", getTheta(), "theta"),
        std::tuple(getGGamma(), "result 'g_gamma'", getGamma(), "gamma"),
        std::tuple(getGOmega(), "result 'g_omega'", getOmega(), "omega")})
    CHECK(cotangent(c, v, name, param.getType(), of));
  CHECK(presentIff(*this, bool(getHx()), {getGHx()},
                   "g_hx is returned exactly when hx is given"));
  if (getHx())
    CHECK(cotangent(c, getGHx(), "result 'g_hx'", getHx().getType(), "hx"));
  return success();
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

LogicalResult LinearGradOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  CHECK(c.rank(getWeight(), "weight", 2, "[out_features, in_features]"));
  CHECK(c.floatData(getWeight(), "weight"));
  RankedTensorType x = c.type(getX());
  int64_t K = lastDim(getX()), N = dim(getWeight(), 0);
  CHECK(c.shape(getWeight(), "weight", {N, K},
                "weight is [out_features, in_features of x]"));
  SmallVector<int64_t> expected(x.getShape().drop_back());
  expected.push_back(N);
  CHECK(c.shape(getGy(), "gy", expected,
                "gy is x's shape with out_features last"));
  CHECK(c.elementType(getGy(), "gy", x.getElementType(),
                      "gy has x's element type"));
  CHECK(cotangent(c, getGx(), "result 'gx'", x, "x"));
  CHECK(cotangent(c, getGWeight(), "result 'g_weight'", getWeight().getType(),
                  "weight"));
  CHECK(c.shape(getGBias(), "result 'g_bias'", {N},
                "one bias per output feature"));
  return c.elementType(getGBias(), "result 'g_bias'",
                       c.type(getWeight()).getElementType(),
                       "g_bias has the weight's element type");
}

LogicalResult SiluGradOp::verify() {
  return Checker(*this).floatData(getX(), "x");
}

LogicalResult SwigluGradOp::verify() {
  return Checker(*this).floatData(getGate(), "gate");
}

LogicalResult ScaleChannelsGradOp::verify() {
  Checker c(*this);
  CHECK(c.minRank(getX(), "x", 1));
  CHECK(c.floatData(getX(), "x"));
  CHECK(c.floatData(getScale(), "scale"));
  CHECK(
      c.shape(getScale(), "scale", {lastDim(getX())}, "one scale per feature"));
  CHECK(cotangent(c, getGy(), "gy", getX().getType(), "the result, that of x"));
  CHECK(cotangent(c, getGx(), "result 'gx'", getX().getType(), "x"));
  return cotangent(c, getGScale(), "result 'g_scale'", getScale().getType(),
                   "scale");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult SharedQKGradOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getZ(), "z", 3, "[batch, time, z_dim]"));
  CHECK(c.floatData(getZ(), "z"));
  int64_t Z = dim(getZ(), 2);
  CHECK(checkHeads(c, getNumHeads(), Z, /*needEven=*/true, "query/key"));
  CHECK(c.shape(getGamma(), "gamma", {2, Z}, "gamma is [2, z_dim]"));
  CHECK(c.floatData(getGamma(), "gamma"));
  CHECK(cotangent(c, getGq(), "gq", getZ().getType(), "q, that of z"));
  CHECK(cotangent(c, getGk(), "gk", getZ().getType(), "k, that of z"));
  CHECK(cotangent(c, getGz(), "result 'gz'", getZ().getType(), "z"));
  CHECK(cotangent(c, getGGamma(), "result 'g_gamma'", getGamma().getType(),
                  "gamma"));
  CHECK(c.shape(getGBeta(), "result 'g_beta'", {2, Z}, "beta is [2, z_dim]"));
  return c.floatData(getGBeta(), "result 'g_beta'");
}

LogicalResult RotaryGradOp::verify() {
  Checker c(*this);
  CHECK(c.rank(getGy(), "gy", 3, "[batch, time, heads * head_dim]"));
  CHECK(c.floatData(getGy(), "gy"));
  CHECK(checkHeads(c, getNumHeads(), dim(getGy(), 2), /*needEven=*/true,
                   "rotated"));
  CHECK(c.positiveReal(getBase().convertToDouble(), "base"));
  CHECK(c.positiveInt(getChunkSize(), "chunk_size"));
  if (getOffset())
    CHECK(c.scalarI64(getOffset(), "offset"));
  return cotangent(c, getGx(), "result 'gx'", getGy().getType(),
                   "x, that of gy");
}

LogicalResult ChunkAttentionGradOp::verify() {
  Checker c(*this);
  for (auto [v, name] : {std::pair(getQ(), "q"), std::pair(getK(), "k"),
                         std::pair(getV(), "v")}) {
    CHECK(c.rank(v, name, 3, "[batch, time, heads * head_dim]"));
    CHECK(c.floatData(v, name));
  }
  int64_t B = dim(getQ(), 0), L = dim(getQ(), 1);
  int64_t Zw = dim(getQ(), 2), Ew = dim(getV(), 2);
  int64_t C = getChunkSize();
  CHECK(c.shape(getK(), "k", {B, L, Zw}, "k has the shape of q"));
  CHECK(c.shape(getV(), "v", {B, L, Ew}, "v has q's batch and time"));
  CHECK(c.elementType(getK(), "k", c.type(getQ()).getElementType(),
                      "q, k and v share an element type"));
  CHECK(c.elementType(getV(), "v", c.type(getQ()).getElementType(),
                      "q, k and v share an element type"));
  CHECK(checkHeads(c, getNumHeads(), Zw, /*needEven=*/false, "query/key"));
  CHECK(checkHeads(c, getNumHeads(), Ew, /*needEven=*/false, "value"));
  CHECK(c.positiveInt(C, "chunk_size"));
  CHECK(c.chunkLength(L, C));
  CHECK(cotangent(c, getGOut(), "g_out", getV().getType(),
                  "the result, that of v"));
  CHECK(cotangent(c, getGq(), "result 'gq'", getQ().getType(), "q"));
  CHECK(cotangent(c, getGk(), "result 'gk'", getK().getType(), "k"));
  return cotangent(c, getGv(), "result 'gv'", getV().getType(), "v");
}
