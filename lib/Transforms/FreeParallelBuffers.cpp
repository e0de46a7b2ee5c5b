//===- FreeParallelBuffers.cpp - Free buffers of parallel bodies ----------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_FREEPARALLELBUFFERS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
/// True when `buffer` is freed already, or it (or a view of it) may be used
/// after its block ends: returned, yielded, or stored as a value. Such a
/// buffer must not be freed here.
bool freedOrEscapes(Value buffer) {
  SmallVector<Value> worklist = {buffer};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == v)
          worklist.append(user->result_begin(), user->result_end());
        continue;
      }
      if (user->hasTrait<OpTrait::IsTerminator>() ||
          isa<memref::DeallocOp>(user) ||
          (isa<memref::StoreOp>(user) && use.getOperandNumber() == 0))
        return true;
    }
  }
  return false;
}

struct FreeParallelBuffersPass
    : public mlir::megalodon::impl::FreeParallelBuffersBase<
          FreeParallelBuffersPass> {
  void runOnOperation() override {
    getOperation()->walk([&](memref::AllocOp alloc) {
      if (!alloc->getParentOfType<scf::ForallOp>() || freedOrEscapes(alloc))
        return;
      // Nested ops complete before the block's terminator runs, so the end
      // of the allocating block is after every use.
      OpBuilder b(alloc->getBlock()->getTerminator());
      memref::DeallocOp::create(b, alloc.getLoc(), alloc);
    });
  }
};
} // namespace
