//===- MapLoopsToGpu.cpp - Kernels from bufferized loop nests -------------===//
//
// See the pass description in Passes.td. The rules are deliberately simple
// and total: every parallel loop without parallel loops inside becomes a
// kernel with one thread per iteration; everything else stays on the host.
// Shared memory, register tiles and the CEMA block scan are later steps that
// consume tile configs; this pass is what makes every function run at all.
//
//===----------------------------------------------------------------------===//

#include "GpuKernelForms.h"

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_MAPLOOPSTOGPU
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
namespace kernels = mlir::megalodon::detail;

namespace {
using mlir::megalodon::detail::kGpuFreeFunction;
using mlir::megalodon::detail::kGpuSyncFunction;

struct KernelLimits {
  int64_t blockSize;
  /// Iterations of one parallel phase of a nest that runs in one block.
  int64_t maxBlockWork;
  /// Workgroup memory for the buffers of a nest that runs in one block.
  int64_t workgroupBytes;
};

/// Whether a parallel loop is nested in `op` (other than `op` itself).
bool containsParallelLoop(Operation *op) {
  bool found = false;
  op->walk([&](scf::ParallelOp inner) {
    if (inner != op)
      found = true;
  });
  return found;
}

} // namespace

namespace {

/// Replaces `loop` (no parallel loop inside) by a gpu.launch with one thread
/// per iteration.
LogicalResult launch(scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError("with reductions cannot become a kernel");
  Location loc = loop.getLoc();
  OpBuilder builder(loop);
  auto constant = [&](int64_t v) {
    return arith::ConstantIndexOp::create(builder, loc, v).getResult();
  };
  // Trip counts, computed on the host (they may be dynamic).
  SmallVector<Value> trips;
  Value total = kernels::tripCounts(builder, loc, loop, trips);
  Value threads = constant(blockSize);
  Value grid = arith::CeilDivSIOp::create(builder, loc, total, threads);
  // A grid of zero blocks is a launch error; one block of masked threads
  // does nothing.
  grid = arith::MaxSIOp::create(builder, loc, grid, constant(1));
  Value one = constant(1);
  auto kernel = gpu::LaunchOp::create(builder, loc, grid, one, one, threads,
                                      one, one);
  builder.setInsertionPointToStart(&kernel.getBody().front());
  Value id = arith::AddIOp::create(
      builder, loc,
      arith::MulIOp::create(builder, loc, kernel.getBlockIds().x, threads),
      kernel.getThreadIds().x);
  Value inRange = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt,
                                        id, total);
  auto guard = scf::IfOp::create(builder, loc, inRange, /*else=*/false);
  gpu::TerminatorOp::create(builder, loc);

  builder.setInsertionPointToStart(&guard.getThenRegion().front());
  IRMapping mapping;
  kernels::delinearize(builder, loc, id, trips, loop, mapping);
  for (Operation &op : loop.getBody()->without_terminator())
    builder.clone(op, mapping);
  loop.erase();
  return success();
}

/// Forms kernels from the parallel loops of `block` and of the host loops
/// and branches inside it.
LogicalResult formKernels(Block &block, const KernelLimits &limits,
                          func::FuncOp free) {
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      if (!containsParallelLoop(loop)) {
        if (failed(launch(loop, limits.blockSize)))
          return failure();
        continue;
      }
      if (kernels::formBlockKernel(loop, limits.blockSize, limits.maxBlockWork,
                                   limits.workgroupBytes, free))
        continue;
      FailureOr<scf::ForOp> serial = kernels::serializeParallelLoop(loop);
      if (failed(serial) ||
          failed(formKernels(*serial->getBody(), limits, free)))
        return failure();
      continue;
    }
    if (isa<gpu::LaunchOp>(op))
      continue;
    if (isa<scf::ForOp>(op) && containsParallelLoop(&op) &&
        kernels::formBlockKernel(&op, limits.blockSize, limits.maxBlockWork,
                                 limits.workgroupBytes, free))
      continue;
    for (Region &region : op.getRegions())
      for (Block &inner : region)
        if (failed(formKernels(inner, limits, free)))
          return failure();
  }
  return success();
}

bool isInsideKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

/// Frees `memref` before every return of `func` (buffers that live as long
/// as the call).
void freeAtReturns(func::FuncOp func, Location loc, Value memref,
                   func::FuncOp free) {
  for (Block &block : func.getBody())
    if (auto ret = dyn_cast<func::ReturnOp>(block.getTerminator())) {
      OpBuilder atReturn(ret);
      kernels::emitGpuFree(atReturn, loc, memref, free);
    }
}

/// Host buffers in memory that kernels and the host both address.
LogicalResult rewriteHostBuffers(func::FuncOp func, func::FuncOp free) {
  SmallVector<Operation *> allocs, deallocs, globals;
  func.walk([&](Operation *op) {
    if (isInsideKernel(op))
      return;
    if (isa<memref::AllocOp, memref::AllocaOp>(op))
      allocs.push_back(op);
    else if (isa<memref::DeallocOp>(op))
      deallocs.push_back(op);
    else if (isa<memref::GetGlobalOp>(op))
      globals.push_back(op);
  });
  // Their shared buffers are freed at the returns, which a buffer made
  // inside a host loop or branch would not dominate.
  for (Operation *op : llvm::concat<Operation *>(allocs, globals))
    if (!isa<memref::AllocOp>(op) && op->getParentOp() != func)
      return op->emitOpError("inside a host loop or branch has no GPU form");
  for (Operation *op : allocs) {
    OpBuilder builder(op);
    auto type = cast<MemRefType>(op->getResult(0).getType());
    auto shared = gpu::AllocOp::create(
        builder, op->getLoc(), type, /*asyncToken=*/Type(),
        /*asyncDependencies=*/ValueRange(), op->getOperands(),
        /*symbolOperands=*/ValueRange(), /*hostShared=*/true);
    op->getResult(0).replaceAllUsesWith(shared.getMemref());
    // An alloca lives until the function returns.
    if (isa<memref::AllocaOp>(op))
      freeAtReturns(func, op->getLoc(), shared.getMemref(), free);
    op->erase();
  }
  for (Operation *op : deallocs) {
    OpBuilder builder(op);
    kernels::emitGpuFree(builder, op->getLoc(), op->getOperand(0), free);
    op->erase();
  }
  // Constant tables live in the host library's data; kernels read a copy.
  for (Operation *op : globals) {
    OpBuilder builder(op);
    builder.setInsertionPointAfter(op);
    auto type = cast<MemRefType>(op->getResult(0).getType());
    auto shared = gpu::AllocOp::create(builder, op->getLoc(), type, Type(),
                                       ValueRange(), ValueRange(),
                                       ValueRange(), /*hostShared=*/true);
    op->getResult(0).replaceAllUsesWith(shared.getMemref());
    memref::CopyOp::create(builder, op->getLoc(), op->getResult(0),
                           shared.getMemref());
    freeAtReturns(func, op->getLoc(), shared.getMemref(), free);
  }
  return success();
}

/// Whether the host executing `op` reads or writes buffer contents (which
/// launched kernels may still be writing).
bool touchesBufferContents(Operation *op) {
  if (isa<gpu::LaunchOp, gpu::AllocOp, memref::GetGlobalOp,
          memref::ExtractAlignedPointerAsIndexOp>(op))
    return false;
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCallee() != kGpuFreeFunction;
  if (isa<func::ReturnOp>(op))
    return true;
  if (op->getNumRegions() != 0)
    return false; // Decided op by op inside.
  for (Value operand : op->getOperands())
    if (isa<MemRefType>(operand.getType()) &&
        !isa<memref::SubViewOp, memref::ExpandShapeOp,
             memref::CollapseShapeOp, memref::CastOp,
             memref::ReinterpretCastOp, memref::DimOp,
             memref::ExtractStridedMetadataOp>(op))
      return true;
  return false;
}

/// Inserts a sync before each host op that touches buffer contents, unless
/// no kernel can have been launched since the previous sync in that block.
void insertSyncs(func::FuncOp func, func::FuncOp sync) {
  std::function<void(Block &, bool)> visit = [&](Block &block,
                                                 bool maybePending) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (isa<gpu::LaunchOp>(op)) {
        maybePending = true;
        continue;
      }
      if (touchesBufferContents(&op) && maybePending) {
        OpBuilder builder(&op);
        func::CallOp::create(builder, op.getLoc(), sync);
        maybePending = false;
      }
      if (op.getNumRegions() == 0)
        continue;
      // A loop body may run after a launch in its previous iteration (or
      // before the loop), so syncing is decided pessimistically inside.
      bool launches = false;
      op.walk([&](gpu::LaunchOp) { launches = true; });
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          visit(inner, maybePending || launches);
      maybePending = maybePending || launches;
    }
  };
  // Entry points wait for their launches before they return, so nothing is
  // pending when a function starts.
  for (Block &block : func.getBody())
    visit(block, /*maybePending=*/false);
}

/// Copies the constants a kernel uses into it, so that they are immediates
/// in its code (loop bounds ptxas can unroll by) rather than parameters:
/// kernel outlining passes every other value from above as a parameter.
void sinkConstants(gpu::LaunchOp kernel) {
  llvm::SetVector<Value> fromAbove;
  getUsedValuesDefinedAbove(kernel.getBody(), fromAbove);
  OpBuilder builder(&kernel.getBody().front(),
                    kernel.getBody().front().begin());
  for (Value value : fromAbove) {
    Operation *definition = value.getDefiningOp();
    if (!definition || !definition->hasTrait<OpTrait::ConstantLike>())
      continue;
    Value copy = builder.clone(*definition)->getResult(0);
    value.replaceUsesWithIf(copy, [&](OpOperand &use) {
      return kernel->isProperAncestor(use.getOwner());
    });
  }
}

struct MapLoopsToGpuPass
    : public mlir::megalodon::impl::MapLoopsToGpuBase<MapLoopsToGpuPass> {
  using MapLoopsToGpuBase::MapLoopsToGpuBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize <= 0 || blockSize > 1024) {
      module.emitError("block-size must be in [1, 1024], got ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> functions;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        functions.push_back(func);
    if (functions.empty())
      return;

    OpBuilder builder(module.getBodyRegion());
    auto declare = [&](StringRef name, TypeRange arguments) {
      auto func = module.lookupSymbol<func::FuncOp>(name);
      if (!func) {
        func = func::FuncOp::create(builder, module.getLoc(), name,
                                    builder.getFunctionType(arguments, {}));
        func.setPrivate();
      }
      return func;
    };
    func::FuncOp sync = declare(kGpuSyncFunction, {});
    func::FuncOp free = declare(kGpuFreeFunction, builder.getI64Type());
    for (func::FuncOp func : functions) {
      for (Block &block : func.getBody())
        if (failed(formKernels(block, {blockSize, maxBlockWork, workgroupBytes},
                               free)))
          return signalPassFailure();
      if (failed(rewriteHostBuffers(func, free)))
        return signalPassFailure();
      insertSyncs(func, sync);
      func.walk(sinkConstants);
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
  }
};
} // namespace
