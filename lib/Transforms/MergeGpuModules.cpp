//===- MergeGpuModules.cpp - One gpu.module for all kernels ---------------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kMergedModule = "megalodon_kernels";

struct MergeGpuModulesPass
    : public mlir::megalodon::impl::MergeGpuModulesBase<MergeGpuModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.empty())
      return;
    if (module.lookupSymbol(kMergedModule)) {
      module.emitError("symbol @") << kMergedModule << " already exists";
      return signalPassFailure();
    }
    OpBuilder builder(sources.front());
    auto merged =
        gpu::GPUModuleOp::create(builder, module.getLoc(), kMergedModule);
    Block &body = merged.getBodyRegion().front();

    // (old module, old kernel) -> new kernel reference.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, SymbolRefAttr> moved;
    for (gpu::GPUModuleOp source : sources) {
      StringAttr moduleName = source.getSymNameAttr();
      bool single = llvm::range_size(source.getOps<gpu::GPUFuncOp>()) == 1;
      for (Operation &op :
           llvm::make_early_inc_range(source.getBodyRegion().front())) {
        auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
        if (!kernel) {
          source.emitError("holds ") << op.getName()
                                     << ", not only kernels; cannot merge";
          return signalPassFailure();
        }
        // A module of several kernels keeps each one's name after its own.
        StringAttr newName =
            single ? moduleName
                   : builder.getStringAttr(moduleName.getValue() + "_" +
                                           kernel.getName());
        moved[{moduleName, kernel.getNameAttr()}] = SymbolRefAttr::get(
            builder.getStringAttr(kMergedModule),
            {FlatSymbolRefAttr::get(newName)});
        kernel->moveBefore(&body, body.end());
        kernel.setName(newName);
      }
    }
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      auto found = moved.find(
          {launch.getKernelModuleName(), launch.getKernelName()});
      if (found == moved.end()) {
        launch.emitError("launches a kernel outside the merged modules");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(found->second);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};
} // namespace
