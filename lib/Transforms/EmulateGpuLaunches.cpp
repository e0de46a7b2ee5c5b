//===- EmulateGpuLaunches.cpp - Kernels as host loops ---------------------===//
//
// See the pass description in Passes.td. The runtime calls this rewrites
// are the ones megalodon-map-loops-to-gpu (and BlockKernels.cpp) emit:
// @megalodon_gpu_sync() and @megalodon_gpu_free(index_cast(
// extract_aligned_pointer_as_index(%buffer))).
//
//===----------------------------------------------------------------------===//

#include "GpuKernelForms.h"

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_EMULATEGPULAUNCHES
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
using mlir::megalodon::detail::kGpuFreeFunction;
using mlir::megalodon::detail::kGpuSyncFunction;

/// Replaces `kernel` (one thread per block) by loops over its blocks.
LogicalResult emulate(gpu::LaunchOp kernel) {
  gpu::KernelDim3 threadCounts = kernel.getBlockSizeOperandValues();
  for (Value size : {threadCounts.x, threadCounts.y, threadCounts.z})
    if (getConstantIntValue(size) != 1)
      return kernel.emitOpError(
          "has more than one thread per block; emulation needs the GPU "
          "pipeline's block-size=1");
  if (!kernel.getBody().hasOneBlock() || kernel.getAsyncToken() ||
      kernel.hasClusterSize() || !kernel.getPrivateAttributions().empty())
    return kernel.emitOpError("has no host emulation");
  Location loc = kernel.getLoc();
  OpBuilder builder(kernel);
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  gpu::KernelDim3 grid = kernel.getGridSizeOperandValues();
  IRMapping mapping;
  // z outermost, x innermost (any order is valid: blocks are independent).
  Value blockIds[3];
  Value gridOuterFirst[] = {grid.z, grid.y, grid.x};
  for (auto [dim, size] : llvm::enumerate(gridOuterFirst)) {
    auto loop = scf::ForOp::create(builder, loc, zero, size, one);
    builder.setInsertionPoint(loop.getBody()->getTerminator());
    blockIds[2 - dim] = loop.getInductionVar();
  }
  gpu::KernelDim3 ids = kernel.getBlockIds(), threads = kernel.getThreadIds();
  gpu::KernelDim3 blockSizes = kernel.getBlockSize(),
                  gridSizes = kernel.getGridSize();
  mapping.map(ids.x, blockIds[0]);
  mapping.map(ids.y, blockIds[1]);
  mapping.map(ids.z, blockIds[2]);
  for (Value thread : {threads.x, threads.y, threads.z})
    mapping.map(thread, zero);
  for (Value size : {blockSizes.x, blockSizes.y, blockSizes.z})
    mapping.map(size, one);
  mapping.map(gridSizes.x, grid.x);
  mapping.map(gridSizes.y, grid.y);
  mapping.map(gridSizes.z, grid.z);

  // Workgroup memory: a buffer per block, in the default memory space.
  SmallVector<Value> workgroupBuffers;
  for (BlockArgument memory : kernel.getWorkgroupAttributions()) {
    auto type = MemRefType::Builder(cast<MemRefType>(memory.getType()))
                    .setMemorySpace(Attribute());
    Value buffer = memref::AllocOp::create(builder, loc, type);
    mapping.map(memory, buffer);
    workgroupBuffers.push_back(buffer);
  }
  Block &body = kernel.getBody().front();
  SmallVector<Operation *> copies;
  for (Operation &op : body.without_terminator())
    copies.push_back(builder.clone(op, mapping));
  for (Value buffer : workgroupBuffers) {
    mlir::megalodon::detail::moveToMemorySpace(buffer, Attribute());
    memref::DeallocOp::create(builder, loc, buffer);
  }
  // Queries of the launch's geometry, wherever they sit in the body (after
  // all cloning: later copies may use their results).
  SmallVector<Operation *> queries;
  for (Operation *copy : copies)
    copy->walk([&](Operation *inner) {
      if (isa<gpu::ThreadIdOp, gpu::BlockDimOp, gpu::BlockIdOp, gpu::GridDimOp,
              gpu::BarrierOp>(inner))
        queries.push_back(inner);
    });
  for (Operation *query : queries) {
    Value replacement;
    auto index = [](gpu::Dimension d) { return static_cast<int>(d); };
    if (isa<gpu::ThreadIdOp>(query))
      replacement = zero;
    else if (isa<gpu::BlockDimOp>(query))
      replacement = one;
    else if (auto id = dyn_cast<gpu::BlockIdOp>(query))
      replacement = blockIds[index(id.getDimension())];
    else if (auto dim = dyn_cast<gpu::GridDimOp>(query))
      replacement =
          ArrayRef<Value>{grid.x, grid.y, grid.z}[index(dim.getDimension())];
    if (replacement)
      query->getResult(0).replaceAllUsesWith(replacement);
    query->erase();
  }
  kernel.erase();
  return success();
}

/// The buffer whose address `word` is (as megalodon_gpu_free receives it).
Value freedBuffer(Value word) {
  auto cast = word.getDefiningOp<arith::IndexCastOp>();
  if (!cast)
    return {};
  auto address =
      cast.getIn().getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
  return address ? address.getSource() : Value();
}

struct EmulateGpuLaunchesPass
    : public mlir::megalodon::impl::EmulateGpuLaunchesBase<
          EmulateGpuLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchOp> kernels;
    module.walk([&](gpu::LaunchOp kernel) { kernels.push_back(kernel); });
    for (gpu::LaunchOp kernel : kernels)
      if (failed(emulate(kernel)))
        return signalPassFailure();

    SmallVector<Operation *> rewritten;
    module.walk([&](Operation *op) {
      if (isa<gpu::AllocOp>(op))
        rewritten.push_back(op);
      else if (auto call = dyn_cast<func::CallOp>(op);
               call && (call.getCallee() == kGpuSyncFunction ||
                        call.getCallee() == kGpuFreeFunction))
        rewritten.push_back(op);
    });
    for (Operation *op : rewritten) {
      OpBuilder builder(op);
      if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        if (alloc.getAsyncToken() || !alloc.getSymbolOperands().empty()) {
          alloc.emitOpError("has no host emulation");
          return signalPassFailure();
        }
        Value buffer = memref::AllocOp::create(builder, alloc.getLoc(),
                                               alloc.getMemref().getType(),
                                               alloc.getDynamicSizes());
        alloc.getMemref().replaceAllUsesWith(buffer);
        alloc.erase();
        continue;
      }
      auto call = cast<func::CallOp>(op);
      if (call.getCallee() == kGpuFreeFunction) {
        Value buffer = freedBuffer(call.getOperand(0));
        if (!buffer) {
          call.emitOpError("frees an address of unknown origin");
          return signalPassFailure();
        }
        memref::DeallocOp::create(builder, call.getLoc(), buffer);
      }
      call.erase();
    }
    for (StringRef name : {kGpuSyncFunction, kGpuFreeFunction})
      if (auto func = module.lookupSymbol<func::FuncOp>(name))
        func.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};
} // namespace
