//===- HintBlockKernelOccupancy.cpp - Register budget of block kernels ----===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_HINTBLOCKKERNELOCCUPANCY
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
struct HintBlockKernelOccupancyPass
    : public mlir::megalodon::impl::HintBlockKernelOccupancyBase<
          HintBlockKernelOccupancyPass> {
  using HintBlockKernelOccupancyBase::HintBlockKernelOccupancyBase;

  void runOnOperation() override {
    if (blocksPerSm < 1) {
      getOperation().emitError("blocks-per-sm must be at least 1, got ")
          << static_cast<int64_t>(blocksPerSm);
      return signalPassFailure();
    }
    Builder builder(&getContext());
    for (auto kernel : getOperation().getOps<gpu::GPUFuncOp>()) {
      if (!kernel.isKernel())
        continue;
      bool synchronizes = false;
      kernel.walk([&](gpu::BarrierOp) { synchronizes = true; });
      if (synchronizes)
        kernel->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                        builder.getI32IntegerAttr(blocksPerSm));
    }
  }
};
} // namespace
