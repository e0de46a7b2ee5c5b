//===- VjpDense.cpp - VJPs of the dense layers and elementwise ops --------===//
//
// DifferentiableOpInterface of megalodon.linear, megalodon.scale_channels and
// the elementwise ops. add and mul are linear in each operand, so their VJPs
// are exact compositions of forward ops; the others use their `_grad` ops.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

FailureOr<SmallVector<Value>>
LinearOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Type weightType = getWeight().getType();
  auto weightShape = cast<RankedTensorType>(weightType).getShape();
  // linear_grad always returns the column sums of gy; without a bias they
  // have no operand to go to and stay unused.
  auto biasType = RankedTensorType::get(
      {weightShape[0]}, cast<RankedTensorType>(weightType).getElementType());
  auto grad =
      LinearGradOp::create(builder, getLoc(), getX().getType(), weightType,
                           biasType, getX(), getWeight(), resultCotangents[0]);
  SmallVector<Value> cotangents = {grad.getGx(), grad.getGWeight()};
  if (getBias())
    cotangents.push_back(grad.getGBias());
  return cotangents;
}

FailureOr<SmallVector<Value>>
SiluOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  return SmallVector<Value>{
      SiluGradOp::create(builder, getLoc(), getX(), resultCotangents[0])};
}

FailureOr<SmallVector<Value>>
SwigluOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  auto grad = SwigluGradOp::create(builder, getLoc(), getLhs(), getRhs(),
                                   resultCotangents[0]);
  return SmallVector<Value>{grad.getGGate(), grad.getGUp()};
}

FailureOr<SmallVector<Value>>
AddOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  // Both summands receive the result's cotangent unchanged.
  return SmallVector<Value>{resultCotangents[0], resultCotangents[0]};
}

FailureOr<SmallVector<Value>>
MulOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Value gy = resultCotangents[0];
  Value gLhs = MulOp::create(builder, getLoc(), gy, getRhs());
  Value gRhs = MulOp::create(builder, getLoc(), gy, getLhs());
  return SmallVector<Value>{gLhs, gRhs};
}

FailureOr<SmallVector<Value>>
ScaleChannelsOp::buildVjp(OpBuilder &builder,
                          ArrayRef<Value> resultCotangents) {
  auto grad = ScaleChannelsGradOp::create(builder, getLoc(), getX().getType(),
                                          getScale().getType(), getX(),
                                          getScale(), resultCotangents[0]);
  return SmallVector<Value>{grad.getGx(), grad.getGScale()};
}
