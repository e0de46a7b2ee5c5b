//===- DifferentiableOpInterface.cpp - reverse-mode VJPs ------------------===//

#include "megalodon/Interfaces/DifferentiableOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <complex>

using namespace mlir;

#include "megalodon/Interfaces/DifferentiableOpInterface.cpp.inc"

Value mlir::megalodon::buildZeroCotangent(OpBuilder &builder, Location loc,
                                          Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return Value();
  Type et = tensor.getElementType();
  DenseElementsAttr zeros;
  if (auto complex = dyn_cast<ComplexType>(et)) {
    auto part = dyn_cast<FloatType>(complex.getElementType());
    if (!part)
      return Value();
    APFloat zero = APFloat::getZero(part.getFloatSemantics());
    zeros = DenseElementsAttr::get(tensor, std::complex<APFloat>(zero, zero));
  } else {
    // A splat of the element type's zero: float, integer or index.
    zeros = DenseElementsAttr::get(tensor, builder.getZeroAttr(et));
  }
  return arith::ConstantOp::create(builder, loc, tensor, zeros);
}

Value mlir::megalodon::cotangentOrZero(OpBuilder &builder, Operation *op,
                                       Value cotangent, Type type) {
  if (cotangent)
    return cotangent;
  Value zero = buildZeroCotangent(builder, op->getLoc(), type);
  if (!zero)
    op->emitOpError() << "needs a zero cotangent of type " << type
                      << ", which only a static shape allows";
  return zero;
}
