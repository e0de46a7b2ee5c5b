//===- GpuKernelForms.cpp - Helpers of the kernel forms -------------------===//
//
// Loop arithmetic and runtime calls that the kernel forms of
// megalodon-map-loops-to-gpu share (GpuKernelForms.h).
//
//===----------------------------------------------------------------------===//

#include "GpuKernelForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

Value mlir::megalodon::detail::tripCounts(OpBuilder &builder, Location loc,
                                          scf::ParallelOp loop,
                                          SmallVectorImpl<Value> &trips) {
  Value total = arith::ConstantIndexOp::create(builder, loc, 1);
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(builder, loc, ub, lb);
    Value trip = arith::CeilDivSIOp::create(builder, loc, span, step);
    trip = arith::MaxSIOp::create(builder, loc, trip, zero);
    trips.push_back(trip);
    total = arith::MulIOp::create(builder, loc, total, trip);
  }
  return total;
}

void mlir::megalodon::detail::delinearize(OpBuilder &builder, Location loc,
                                          Value id, ValueRange trips,
                                          scf::ParallelOp loop,
                                          IRMapping &mapping) {
  Value rest = id;
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value index =
        d == 0
            ? rest
            : arith::RemSIOp::create(builder, loc, rest, trips[d]).getResult();
    if (d != 0)
      rest = arith::DivSIOp::create(builder, loc, rest, trips[d]);
    Value iv = arith::AddIOp::create(
        builder, loc, loop.getLowerBound()[d],
        arith::MulIOp::create(builder, loc, index, loop.getStep()[d]));
    mapping.map(loop.getInductionVars()[d], iv);
  }
}

void mlir::megalodon::detail::emitGpuFree(OpBuilder &builder, Location loc,
                                          Value memref, func::FuncOp free) {
  // gpu.dealloc has no synchronous lowering, so the runtime's free takes
  // the buffer's address.
  Value address =
      memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, memref);
  Value word =
      arith::IndexCastOp::create(builder, loc, builder.getI64Type(), address);
  func::CallOp::create(builder, loc, free, word);
}

FailureOr<scf::ForOp>
mlir::megalodon::detail::serializeParallelLoop(scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError("with reductions cannot be serialized");
  OpBuilder builder(loop);
  IRMapping mapping;
  scf::ForOp outermost;
  for (auto [lb, ub, step, iv] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                 loop.getInductionVars())) {
    auto nested = scf::ForOp::create(builder, loop.getLoc(), lb, ub, step);
    mapping.map(iv, nested.getInductionVar());
    if (!outermost)
      outermost = nested;
    builder.setInsertionPoint(nested.getBody()->getTerminator());
  }
  for (Operation &op : loop.getBody()->without_terminator())
    builder.clone(op, mapping);
  loop.erase();
  return outermost;
}

namespace {
/// The users through which moveToMemorySpace follows a buffer.
bool isView(Operation *op) {
  return isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::CastOp, memref::ReinterpretCastOp>(op);
}
} // namespace

bool mlir::megalodon::detail::canMoveToMemorySpace(Value buffer) {
  for (Operation *user : buffer.getUsers()) {
    if (isView(user)) {
      if (!canMoveToMemorySpace(user->getResult(0)))
        return false;
    } else if (!isa<memref::LoadOp, memref::StoreOp, memref::DeallocOp,
                    memref::DimOp>(user)) {
      return false;
    }
  }
  return true;
}

void mlir::megalodon::detail::moveToMemorySpace(Value buffer, Attribute space) {
  for (Operation *user : buffer.getUsers()) {
    if (!isView(user))
      continue;
    Value view = user->getResult(0);
    view.setType(MemRefType::Builder(cast<MemRefType>(view.getType()))
                     .setMemorySpace(space));
    moveToMemorySpace(view, space);
  }
}

std::optional<int64_t> mlir::megalodon::detail::elementBytes(Type type) {
  int64_t parts = 1;
  if (auto complex = dyn_cast<ComplexType>(type)) {
    type = complex.getElementType();
    parts = 2;
  }
  if (!type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  return parts * type.getIntOrFloatBitWidth() / 8;
}
