//===- MegalodonOptimizerOps.cpp - Verifiers of the optimizer ops ---------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "Checker.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

/// A 0-d f32 tensor: a norm or a learning rate.
static LogicalResult scalarF32(Checker &c, Value v, StringRef name) {
  CHECK(c.rank(v, name, 0, "a scalar"));
  return c.elementType(v, name, Float32Type::get(v.getContext()),
                       "scalars of the optimizer are f32");
}

LogicalResult GlobalNormOp::verify() {
  Checker c(*this);
  if (getTensors().empty())
    return emitOpError() << "needs at least one tensor";
  for (auto [i, t] : llvm::enumerate(getTensors()))
    CHECK(c.floatData(t, ("tensor #" + Twine(i)).str()));
  return scalarF32(c, getNorm(), "result");
}

LogicalResult AdamWOp::verify() {
  Checker c(*this);
  CHECK(c.floatData(getParam(), "param"));
  CHECK(c.scalarI64(getStep(), "step"));
  CHECK(scalarF32(c, getLr(), "lr"));
  auto fraction = [&](double value, StringRef attr) -> LogicalResult {
    if (value >= 0.0 && value < 1.0)
      return success();
    return emitOpError() << attr << " must be in [0, 1), got " << value;
  };
  CHECK(fraction(getBeta1().convertToDouble(), "beta1"));
  CHECK(fraction(getBeta2().convertToDouble(), "beta2"));
  CHECK(c.positiveReal(getEps().convertToDouble(), "eps"));
  if (!(getWeightDecay().convertToDouble() >= 0.0))
    return emitOpError() << "weight_decay must be >= 0";
  if (!(getMaxGradNorm().convertToDouble() >= 0.0))
    return emitOpError() << "max_grad_norm must be >= 0 (0 disables clipping)";
  return success();
}
