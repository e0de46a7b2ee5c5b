//===- VjpNorms.cpp - VJPs of the normalizations --------------------------===//
//
// DifferentiableOpInterface of megalodon.timestep_norm, megalodon.rms_norm
// and megalodon.layer_norm, built from their `_grad` ops.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

FailureOr<SmallVector<Value>>
TimestepNormOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Location loc = getLoc();
  // The returned step count is an integer: its cotangent is ignored. The
  // final mean and variance usually go unused (@loss discards them); the
  // grad op then takes none, which means zero.
  Value gy = resultCotangents[0];
  Value gMeanOut = resultCotangents[2], gVarOut = resultCotangents[3];
  if (!gy && !gMeanOut && !gVarOut)
    return SmallVector<Value>(getNumOperands(), Value());
  gy = cotangentOrZero(builder, *this, gy, getY().getType());
  if (!gy)
    return failure();
  // The grad op takes the two statistic cotangents together or not at all.
  if (gMeanOut || gVarOut) {
    gMeanOut =
        cotangentOrZero(builder, *this, gMeanOut, getMeanOut().getType());
    gVarOut = cotangentOrZero(builder, *this, gVarOut, getVarOut().getType());
    if (!gMeanOut || !gVarOut)
      return failure();
  }
  bool hasState = static_cast<bool>(getCount());
  auto grad = TimestepNormGradOp::create(
      builder, loc, getX().getType(), getWeight().getType(),
      getBias().getType(), hasState ? getMean().getType() : Type(),
      hasState ? getVar().getType() : Type(), getX(), getWeight(), getCount(),
      getMean(), getVar(), gy, gMeanOut, gVarOut, getNumGroupsAttr(),
      getEpsAttr());
  SmallVector<Value> cotangents = {grad.getGx(), grad.getGWeight(),
                                   grad.getGBias()};
  if (hasState)
    cotangents.append({Value(), grad.getGMean(), grad.getGVar()});
  return cotangents;
}

FailureOr<SmallVector<Value>>
RMSNormOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Value weight = getWeight();
  auto grad = RMSNormGradOp::create(
      builder, getLoc(), getX().getType(), weight ? weight.getType() : Type(),
      getX(), weight, resultCotangents[0], getNumGroupsAttr(), getEpsAttr());
  SmallVector<Value> cotangents = {grad.getGx()};
  if (weight)
    cotangents.push_back(grad.getGWeight());
  return cotangents;
}

FailureOr<SmallVector<Value>>
LayerNormOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Value weight = getWeight();
  Type weightType = weight ? weight.getType() : Type();
  Type biasType = getBias() ? getBias().getType() : Type();
  auto grad = LayerNormGradOp::create(builder, getLoc(), getX().getType(),
                                      weightType, biasType, getX(), weight,
                                      resultCotangents[0], getEpsAttr());
  SmallVector<Value> cotangents = {grad.getGx()};
  if (weight)
    cotangents.append({grad.getGWeight(), grad.getGBias()});
  return cotangents;
}
