//===- ScopeLaunchStack.cpp - Release launch argument slots ---------------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_SCOPELAUNCHSTACK
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
struct ScopeLaunchStackPass
    : public mlir::megalodon::impl::ScopeLaunchStackBase<
          ScopeLaunchStackPass> {
  void runOnOperation() override {
    auto pointer = LLVM::LLVMPointerType::get(&getContext());
    getOperation().walk([&](gpu::LaunchFuncOp launch) {
      OpBuilder builder(launch);
      Value saved = LLVM::StackSaveOp::create(builder, launch.getLoc(), pointer);
      builder.setInsertionPointAfter(launch);
      LLVM::StackRestoreOp::create(builder, launch.getLoc(), saved);
    });
  }
};
} // namespace
