//===- VjpCema.cpp - VJP of the complex exponential moving average --------===//
//
// DifferentiableOpInterface of megalodon.cema, built from megalodon.cema_grad
// (the reverse-time adjoint scan of MODEL.md section 8).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

FailureOr<SmallVector<Value>>
CemaOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  // In training the last state is unused and its cotangent is null, which
  // the grad op reads as zero; only a streamed state carries one.
  Value gy =
      cotangentOrZero(builder, *this, resultCotangents[0], getY().getType());
  if (!gy)
    return failure();
  Value hx = getHx();
  auto grad = CemaGradOp::create(
      builder, getLoc(), getX().getType(), getAlpha().getType(),
      getDelta().getType(), getTheta().getType(), getGamma().getType(),
      getOmega().getType(), hx ? hx.getType() : Type(), getX(), getAlpha(),
      getDelta(), getTheta(), getGamma(), getOmega(), hx, gy,
      resultCotangents[1]);
  SmallVector<Value> cotangents = {grad.getGx(),     grad.getGAlpha(),
                                   grad.getGDelta(), grad.getGTheta(),
                                   grad.getGGamma(), grad.getGOmega()};
  if (hx)
    cotangents.push_back(grad.getGHx());
  return cotangents;
}
