//===- InputRules.cpp - Rules on the inputs of an op family ---------------===//

#include "InputRules.h"

namespace mlir::megalodon::detail {

LogicalResult checkTimestepNormInputs(Checker &c, Value x, Value weight,
                                      Value bias, int64_t groups, double eps,
                                      Value count, Value mean, Value var) {
  CHECK(c.rank(x, "x", 3, "[batch, time, features]"));
  CHECK(c.floatData(x, "x"));
  int64_t B = dim(x, 0), D = dim(x, 2);
  CHECK(c.positiveInt(groups, "num_groups"));
  CHECK(c.positiveReal(eps, "eps"));
  CHECK(c.divides(groups, D, "num_groups divides the feature width"));
  CHECK(c.shape(weight, "weight", {D}, "one scale per feature"));
  if (bias)
    CHECK(c.shape(bias, "bias", {D}, "one shift per feature"));
  CHECK(c.floatData(weight, "weight"));
  if (bias)
    CHECK(c.floatData(bias, "bias"));
  CHECK(c.allOrNone({count, mean, var},
                    "the state is count, mean and var together"));
  if (!count)
    return success();
  MLIRContext *ctx = x.getContext();
  Type f32 = Float32Type::get(ctx), i64 = IntegerType::get(ctx, 64);
  CHECK(c.shape(count, "count", {B}, "one step count per batch row"));
  CHECK(c.elementType(count, "count", i64, "step counts are i64"));
  CHECK(c.shape(mean, "mean", {B, groups}, "statistics are [batch, groups]"));
  CHECK(c.elementType(mean, "mean", f32, "statistics are f32"));
  CHECK(c.shape(var, "var", {B, groups}, "statistics are [batch, groups]"));
  return c.elementType(var, "var", f32, "statistics are f32");
}

LogicalResult checkRMSNormInputs(Checker &c, Value x, Value weight,
                                 int64_t groups, double eps) {
  CHECK(c.minRank(x, "x", 1));
  CHECK(c.floatData(x, "x"));
  int64_t W = lastDim(x);
  CHECK(c.positiveInt(groups, "num_groups"));
  CHECK(c.positiveReal(eps, "eps"));
  CHECK(c.divides(groups, W, "num_groups divides the last axis"));
  if (!weight)
    return success();
  CHECK(c.shape(weight, "weight", {W}, "one scale per feature"));
  return c.floatData(weight, "weight");
}

LogicalResult checkCemaInputs(Checker &c, Value x, Value alpha, Value delta,
                              Value theta, Value gamma, Value omega,
                              Value hx) {
  CHECK(c.rank(x, "x", 3, "[batch, time, channels]"));
  CHECK(c.floatData(x, "x"));
  int64_t B = dim(x, 0), D = dim(x, 2);
  CHECK(c.rank(alpha, "alpha", 3, "[channels, states, 1]"));
  int64_t N = dim(alpha, 1);
  CHECK(c.shape(alpha, "alpha", {D, N, 1}, "alpha is [D, N, 1]"));
  CHECK(c.shape(delta, "delta", {D, N, 1}, "delta is [D, N, 1]"));
  CHECK(c.shape(theta, "theta", {D, 1, 1}, "theta is [D, 1, 1]"));
  CHECK(c.shape(gamma, "gamma", {D, N, 2},
                "gamma is [D, N, 2] (real, imaginary)"));
  CHECK(c.shape(omega, "omega", {D, 1}, "omega is [D, 1]"));
  for (auto [v, name] :
       {std::pair(alpha, "alpha"), std::pair(delta, "delta"),
        std::pair(theta, "theta"), std::pair(gamma, "gamma"),
        std::pair(omega, "omega")})
    CHECK(c.floatData(v, name));
  if (!hx)
    return success();
  CHECK(c.shape(hx, "hx", {B, D, N}, "the state is [B, D, N]"));
  return c.elementType(hx, "hx", ComplexType::get(Float32Type::get(x.getContext())),
                       "the state is complex<f32>");
}

LogicalResult checkLinearInputs(Checker &c, Value x, Value weight) {
  CHECK(c.minRank(x, "x", 1));
  CHECK(c.floatData(x, "x"));
  CHECK(c.rank(weight, "weight", 2, "[out_features, in_features]"));
  CHECK(c.floatData(weight, "weight"));
  return c.shape(weight, "weight", {dim(weight, 0), lastDim(x)},
                 "weight is [out_features, in_features of x]");
}

LogicalResult checkSharedQKInputs(Checker &c, Value z, Value gamma,
                                  int64_t heads) {
  CHECK(c.rank(z, "z", 3, "[batch, time, z_dim]"));
  CHECK(c.floatData(z, "z"));
  int64_t Z = dim(z, 2);
  CHECK(checkHeads(c, heads, Z, /*needEven=*/true, "query/key"));
  return c.shape(gamma, "gamma", {2, Z}, "gamma is [2, z_dim]");
}

LogicalResult checkRotaryInputs(Checker &c, Value x, StringRef name,
                                int64_t heads, double base, int64_t chunk,
                                Value offset) {
  CHECK(c.rank(x, name, 3, "[batch, time, heads * head_dim]"));
  CHECK(c.floatData(x, name));
  CHECK(checkHeads(c, heads, dim(x, 2), /*needEven=*/true, "rotated"));
  CHECK(c.positiveReal(base, "base"));
  CHECK(c.positiveInt(chunk, "chunk_size"));
  if (!offset)
    return success();
  return c.scalarI64(offset, "offset");
}

LogicalResult checkAttentionInputs(Checker &c, Value q, Value k, Value v,
                                   int64_t heads, int64_t chunk) {
  for (auto [value, name] :
       {std::pair(q, "q"), std::pair(k, "k"), std::pair(v, "v")}) {
    CHECK(c.rank(value, name, 3, "[batch, time, heads * head_dim]"));
    CHECK(c.floatData(value, name));
  }
  int64_t B = dim(q, 0), L = dim(q, 1), Zw = dim(q, 2), Ew = dim(v, 2);
  CHECK(c.shape(k, "k", {B, L, Zw}, "k has the shape of q"));
  CHECK(c.shape(v, "v", {B, L, Ew}, "v has q's batch and time"));
  Type element = c.type(q).getElementType();
  CHECK(c.elementType(k, "k", element, "q, k and v share an element type"));
  CHECK(c.elementType(v, "v", element, "q, k and v share an element type"));
  CHECK(checkHeads(c, heads, Zw, /*needEven=*/false, "query/key"));
  CHECK(checkHeads(c, heads, Ew, /*needEven=*/false, "value"));
  CHECK(c.positiveInt(chunk, "chunk_size"));
  return c.chunkLength(L, chunk);
}

} // namespace mlir::megalodon::detail
