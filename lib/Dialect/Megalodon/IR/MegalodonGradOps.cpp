//===- MegalodonGradOps.cpp - Verifiers of the megalodon gradient ops -----===//
//
// A gradient op checks the rules of its forward op on the forward operands it
// takes, and then that every cotangent, operand or result, has the type of
// the value it differentiates. The diagnostics name their rules like those of
// the forward ops (Checker.h).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "InputRules.h"

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
  int64_t B = dim(getX(), 0), D = dim(getX(), 2), G = getNumGroups();
  CHECK(checkTimestepNormInputs(c, getX(), getWeight(), /*bias=*/Value(), G,
                                getEps().convertToDouble(), getCount(),
                                getMean(), getVar()));
  Type f32 = Float32Type::get(getContext());
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
  CHECK(checkRMSNormInputs(c, getX(), getWeight(), getNumGroups(),
                           getEps().convertToDouble()));
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
  CHECK(checkCemaInputs(c, getX(), getAlpha(), getDelta(), getTheta(),
                        getGamma(), getOmega(), getHx()));
  int64_t B = dim(getX(), 0), D = dim(getX(), 2), N = dim(getAlpha(), 1);
  Type state = ComplexType::get(Float32Type::get(getContext()));
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
  CHECK(checkLinearInputs(c, getX(), getWeight()));
  RankedTensorType x = c.type(getX());
  int64_t N = dim(getWeight(), 0);
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
  CHECK(checkSharedQKInputs(c, getZ(), getGamma(), getNumHeads()));
  int64_t Z = dim(getZ(), 2);
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
  CHECK(checkRotaryInputs(c, getGy(), "gy", getNumHeads(),
                          getBase().convertToDouble(), getChunkSize(),
                          getOffset()));
  return cotangent(c, getGx(), "result 'gx'", getGy().getType(),
                   "x, that of gy");
}

LogicalResult ChunkAttentionGradOp::verify() {
  Checker c(*this);
  CHECK(checkAttentionInputs(c, getQ(), getK(), getV(), getNumHeads(),
                             getChunkSize()));
  CHECK(cotangent(c, getGOut(), "g_out", getV().getType(),
                  "the result, that of v"));
  if (getOut())
    CHECK(cotangent(c, getOut(), "out", getV().getType(),
                    "the result, that of v"));
  CHECK(cotangent(c, getGq(), "result 'gq'", getQ().getType(), "q"));
  CHECK(cotangent(c, getGk(), "result 'gk'", getK().getType(), "k"));
  return cotangent(c, getGv(), "result 'gv'", getV().getType(), "v");
}
