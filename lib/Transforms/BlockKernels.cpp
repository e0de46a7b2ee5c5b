//===- BlockKernels.cpp - Kernels whose blocks run whole loop nests -------===//
//
// The one-thread-per-iteration form of megalodon-map-loops-to-gpu launches
// one kernel per parallel loop. Where parallel loops sit inside a sequential
// loop (the scans over time of timestep_norm and cema, the embedding
// gradient's loop over tokens) or inside another parallel loop (attention's
// (batch, head, chunk) loop), that form launches kernels from host loops:
// L launches per scan, and a launch costs more than a step's work. This form
// moves the whole nest into one kernel instead:
//
//   scf.for %t = 0 to L {                 gpu.launch blocks(1) threads(256) {
//     %n = memref.load %count[]             scf.for %t = 0 to L {
//     memref.store %n1, %count[]              %n = memref.load %count[]
//     %buf = memref.alloc()           =>      gpu.barrier
//     scf.parallel (%g) = 0 to G {...}        scf.if %tid == 0 { store }
//     memref.dealloc %buf                     gpu.barrier
//   }                                         %buf = memref.view %scratch[..]
//                                             scf.for %i = %tid to G step 256
//                                               {...}
//                                             gpu.barrier
//                                         } }
//
// For an scf.parallel around parallel loops, each of its iterations is one
// block. The rules that make this correct without analysing dependences:
//  * the sequential code runs in every thread, so its values and its control
//    flow are uniform across the block (every thread reaches each barrier);
//  * a parallel loop's iterations are independent, so any thread may run
//    any of them; barriers before and after each one order it against the
//    sequential code's reads and the next loop;
//  * a store of the sequential code is made once, by thread 0, between
//    barriers (its value is the same in every thread);
//  * buffers of the body are private to an iteration of the nest, so each
//    block gets its own: in shared memory while their static sizes fit,
//    else a slice of one host buffer; within a block, a buffer allocated in
//    a loop body is dead by the next iteration, so its memory is reused.
// A block runs only as many threads as one SM holds, so the form applies
// only while every parallel phase is small (max-block-work iterations).
//
//===----------------------------------------------------------------------===//

#include "GpuKernelForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
namespace kernels = mlir::megalodon::detail;

namespace {

/// Bytes between per-block buffers (a cache line).
constexpr int64_t kScratchAlignment = 64;

/// Iterations of `loop` when its bounds are constants.
std::optional<int64_t> staticTripCount(scf::ParallelOp loop) {
  int64_t total = 1;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb);
    std::optional<int64_t> u = getConstantIntValue(ub);
    std::optional<int64_t> s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return std::nullopt;
    total *= std::max<int64_t>(0, llvm::divideCeil(*u - *l, *s));
  }
  return total;
}

bool isDefinedInside(Value value, Operation *nest) {
  return nest->isAncestor(value.getParentRegion()->getParentOp());
}

/// What the kernel form of a nest rewrites, found by `analyze`.
struct NestParts {
  /// The outermost parallel loops inside the nest: spread over threads.
  SmallVector<scf::ParallelOp> threadLoops;
  /// Buffers of the sequential code: one per block (shared memory, or a
  /// slice of global memory).
  SmallVector<Operation *> buffers;
  /// Stores of the sequential code: made by thread 0.
  SmallVector<memref::StoreOp> stores;
};

/// Whether a parallel loop's body can run in one thread of the kernel.
bool canRunInThread(scf::ParallelOp loop) {
  WalkResult result = loop.walk([&](Operation *op) {
    if (isa<memref::LoadOp, memref::StoreOp, scf::ParallelOp, scf::ForOp,
            scf::IfOp, scf::YieldOp, scf::ReduceOp>(op))
      return WalkResult::advance();
    if (op->getNumRegions() == 0 && isMemoryEffectFree(op))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return false;
  // Reductions into loop results would need a combine across threads.
  bool hasResults = false;
  loop.walk(
      [&](scf::ParallelOp inner) { hasResults |= inner.getNumResults() != 0; });
  return !hasResults;
}

/// Collects the parts of the sequential code in `block` (inside `nest`), or
/// fails when the kernel form cannot run some of it.
LogicalResult analyze(Block &block, Operation *nest, int64_t maxBlockWork,
                      NestParts &parts) {
  for (Operation &op : block) {
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      std::optional<int64_t> trips = staticTripCount(loop);
      if (!trips || *trips > maxBlockWork || !canRunInThread(loop))
        return failure();
      parts.threadLoops.push_back(loop);
      continue;
    }
    if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
      auto type = cast<MemRefType>(op.getResult(0).getType());
      if (!type.getLayout().isIdentity() || type.getMemorySpace() ||
          !kernels::elementBytes(type.getElementType()) ||
          llvm::any_of(op.getOperands(),
                       [&](Value v) { return isDefinedInside(v, nest); }))
        return failure();
      if (!kernels::canMoveToMemorySpace(op.getResult(0)))
        return failure();
      parts.buffers.push_back(&op);
      continue;
    }
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      // Only the nest's own buffers, whose per-block memory needs no free.
      if (!isDefinedInside(dealloc.getMemref(), nest))
        return failure();
      continue;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      parts.stores.push_back(store);
      continue;
    }
    if (isa<memref::LoadOp, scf::YieldOp, scf::ReduceOp>(op))
      continue;
    if (isa<scf::ForOp, scf::IfOp>(op)) {
      // Buffers carried from one iteration to the next would outlive the
      // slice's reuse.
      if (llvm::any_of(op.getResultTypes(), llvm::IsaPred<MemRefType>))
        return failure();
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          if (failed(analyze(inner, nest, maxBlockWork, parts)))
            return failure();
      continue;
    }
    if (op.getNumRegions() == 0 && isMemoryEffectFree(&op))
      continue;
    return failure();
  }
  return success();
}

/// Spreads the iterations of `loop` (inside the kernel) over the block's
/// threads, between barriers; parallel loops inside it run sequentially in
/// the thread (canRunInThread made sure they have no results).
void spreadOverThreads(scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  OpBuilder builder(loop);
  gpu::BarrierOp::create(builder, loc);
  SmallVector<Value> trips;
  Value total = kernels::tripCounts(builder, loc, loop, trips);
  Value thread = gpu::ThreadIdOp::create(builder, loc, gpu::Dimension::x);
  Value threads = gpu::BlockDimOp::create(builder, loc, gpu::Dimension::x);
  auto strided = scf::ForOp::create(builder, loc, thread, total, threads);
  builder.setInsertionPoint(strided.getBody()->getTerminator());
  IRMapping mapping;
  kernels::delinearize(builder, loc, strided.getInductionVar(), trips, loop,
                       mapping);
  for (Operation &op : loop.getBody()->without_terminator())
    builder.clone(op, mapping);
  builder.setInsertionPointAfter(strided);
  gpu::BarrierOp::create(builder, loc);
  loop.erase();

  SmallVector<scf::ParallelOp> inner;
  strided.walk([&](scf::ParallelOp nested) { inner.push_back(nested); });
  // Post-order: inner loops are serialized before the loops around them.
  for (scf::ParallelOp nested : inner) {
    [[maybe_unused]] FailureOr<scf::ForOp> serial =
        kernels::serializeParallelLoop(nested);
    assert(succeeded(serial) && "a loop without results serializes");
  }
}

/// Makes `store` (sequential code, run by every thread) a store by thread
/// 0, after every thread has read the old value and before any reads the
/// new one.
void storeOnce(memref::StoreOp store) {
  Location loc = store.getLoc();
  OpBuilder builder(store);
  gpu::BarrierOp::create(builder, loc);
  Value thread = gpu::ThreadIdOp::create(builder, loc, gpu::Dimension::x);
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value first = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::eq,
                                      thread, zero);
  auto once = scf::IfOp::create(builder, loc, first, /*else=*/false);
  builder.setInsertionPointAfter(once);
  gpu::BarrierOp::create(builder, loc);
  store->moveBefore(once.getThenRegion().front().getTerminator());
}

bool accessesMemory(Operation &op) {
  return op.getNumRegions() != 0 || !isMemoryEffectFree(&op);
}

/// Whether no memory access of the kernel can precede the start of `block`
/// (the kernel's body, or a branch at its start).
bool startsKernel(Block *block, Block *body) {
  if (block == body)
    return true;
  Operation *branch = block->getParentOp();
  if (!isa<scf::IfOp>(branch))
    return false;
  for (Operation *op = branch->getPrevNode(); op; op = op->getPrevNode())
    if (accessesMemory(*op))
      return false;
  return startsKernel(branch->getBlock(), body);
}

/// Whether no memory access of the kernel can follow the end of `block`.
bool endsKernel(Block *block, Block *body) {
  if (block == body)
    return true;
  Operation *branch = block->getParentOp();
  if (!isa<scf::IfOp>(branch))
    return false;
  for (Operation *op = branch->getNextNode(); op; op = op->getNextNode())
    if (!op->hasTrait<OpTrait::IsTerminator>() && accessesMemory(*op))
      return false;
  return endsKernel(branch->getBlock(), body);
}

/// Drops barriers that order nothing: those with no memory access between
/// them and the previous barrier (or the kernel's start), and those with
/// none between them and the kernel's end.
void dropRedundantBarriers(gpu::LaunchOp kernel) {
  SmallVector<Block *> blocks;
  kernel.getBody().walk([&](Block *block) { blocks.push_back(block); });
  Block *body = &kernel.getBody().front();
  for (Block *block : blocks) {
    bool ordered = startsKernel(block, body);
    for (Operation &op : llvm::make_early_inc_range(*block)) {
      if (isa<gpu::BarrierOp>(op)) {
        if (ordered)
          op.erase();
        ordered = true;
      } else if (accessesMemory(op)) {
        ordered = false;
      }
    }
    if (!endsKernel(block, body))
      continue;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block))) {
      if (isa<gpu::BarrierOp>(op))
        op.erase();
      else if (!op.hasTrait<OpTrait::IsTerminator>() && accessesMemory(op))
        break;
    }
  }
}
} // namespace

bool kernels::formBlockKernel(Operation *nest, int64_t blockSize,
                              int64_t maxBlockWork, int64_t workgroupBytes,
                              func::FuncOp free) {
  auto parallel = dyn_cast<scf::ParallelOp>(nest);
  if (!parallel && !isa<scf::ForOp>(nest))
    return false;
  if (nest->getNumResults() != 0)
    return false;
  NestParts parts;
  Block &body =
      parallel ? *parallel.getBody() : *cast<scf::ForOp>(nest).getBody();
  if (failed(analyze(body, nest, maxBlockWork, parts)) ||
      parts.threadLoops.empty())
    return false;

  Location loc = nest->getLoc();
  OpBuilder builder(nest);
  auto constant = [&](int64_t v) {
    return arith::ConstantIndexOp::create(builder, loc, v).getResult();
  };
  // A grid of zero blocks is a launch error: an empty loop launches one
  // block, which the guard below leaves idle.
  SmallVector<Value> gridTrips;
  Value iterations, blocks = constant(1);
  if (parallel) {
    iterations = kernels::tripCounts(builder, loc, parallel, gridTrips);
    blocks = arith::MaxSIOp::create(builder, loc, iterations, blocks);
  }

  // Buffers of static size go to workgroup memory while they fit; the
  // others are laid out one after another in a per-block slice of global
  // memory.
  SmallVector<Operation *> shared, global;
  int64_t sharedBytes = 0;
  for (Operation *buffer : parts.buffers) {
    auto type = cast<MemRefType>(buffer->getResult(0).getType());
    int64_t bytes = type.hasStaticShape()
                        ? type.getNumElements() *
                              *kernels::elementBytes(type.getElementType())
                        : workgroupBytes + 1;
    if (sharedBytes + bytes <= workgroupBytes) {
      sharedBytes += bytes;
      shared.push_back(buffer);
    } else {
      global.push_back(buffer);
    }
  }
  SmallVector<Value> offsets;
  Value sliceBytes = constant(0);
  for (Operation *buffer : global) {
    auto type = cast<MemRefType>(buffer->getResult(0).getType());
    Value bytes = constant(*kernels::elementBytes(type.getElementType()));
    unsigned dynamic = 0;
    for (int64_t size : type.getShape()) {
      Value extent = ShapedType::isDynamic(size) ? buffer->getOperand(dynamic++)
                                                 : constant(size);
      bytes = arith::MulIOp::create(builder, loc, bytes, extent);
    }
    Value padded = arith::MulIOp::create(
        builder, loc,
        arith::CeilDivSIOp::create(builder, loc, bytes,
                                   constant(kScratchAlignment)),
        constant(kScratchAlignment));
    offsets.push_back(sliceBytes);
    sliceBytes = arith::AddIOp::create(builder, loc, sliceBytes, padded);
  }
  Value scratch;
  if (!global.empty()) {
    Value total = arith::MulIOp::create(builder, loc, blocks, sliceBytes);
    auto bytesType =
        MemRefType::get({ShapedType::kDynamic}, builder.getI8Type());
    scratch = gpu::AllocOp::create(builder, loc, bytesType, Type(),
                                   ValueRange(), ValueRange{total},
                                   ValueRange(), /*hostShared=*/true)
                  .getMemref();
  }

  Value one = constant(1);
  auto kernel = gpu::LaunchOp::create(builder, loc, blocks, one, one,
                                      constant(blockSize), one, one);
  OpBuilder inside(&kernel.getBody().front(), kernel.getBody().front().begin());
  IRMapping mapping;
  Value block = kernel.getBlockIds().x;
  if (parallel) {
    // Uniform across the block, so the barriers inside stay reachable by
    // all of its threads.
    Value exists = arith::CmpIOp::create(inside, loc, arith::CmpIPredicate::slt,
                                         block, iterations);
    auto guard = scf::IfOp::create(inside, loc, exists, /*else=*/false);
    gpu::TerminatorOp::create(inside, loc);
    inside.setInsertionPoint(guard.getThenRegion().front().getTerminator());
    kernels::delinearize(inside, loc, block, gridTrips, parallel, mapping);
    for (Operation &op : parallel.getBody()->without_terminator())
      inside.clone(op, mapping);
  } else {
    inside.clone(*nest, mapping);
    gpu::TerminatorOp::create(inside, loc);
  }

  // Buffers: workgroup memory, or the block's slices (their deallocs go
  // away).
  auto workgroup = gpu::AddressSpaceAttr::get(
      builder.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
  for (Operation *buffer : shared) {
    Operation *copy = mapping.lookup(buffer);
    auto type =
        MemRefType::Builder(cast<MemRefType>(copy->getResult(0).getType()))
            .setMemorySpace(workgroup);
    BlockArgument memory = kernel.addWorkgroupAttribution(type, loc);
    for (Operation *user :
         llvm::make_early_inc_range(copy->getResult(0).getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    copy->getResult(0).replaceAllUsesWith(memory);
    copy->erase();
    kernels::moveToMemorySpace(memory, workgroup);
  }
  for (auto [buffer, offset] : llvm::zip(global, offsets)) {
    Operation *copy = mapping.lookup(buffer);
    OpBuilder at(copy);
    Value base = arith::MulIOp::create(at, loc, block, sliceBytes);
    Value shift = arith::AddIOp::create(at, loc, base, offset);
    auto view =
        memref::ViewOp::create(at, copy->getLoc(), copy->getResult(0).getType(),
                               scratch, shift, copy->getOperands());
    for (Operation *user :
         llvm::make_early_inc_range(copy->getResult(0).getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    copy->getResult(0).replaceAllUsesWith(view.getResult());
    copy->erase();
  }
  for (memref::StoreOp store : parts.stores)
    storeOnce(cast<memref::StoreOp>(mapping.lookup(store.getOperation())));
  for (scf::ParallelOp loop : parts.threadLoops)
    spreadOverThreads(
        cast<scf::ParallelOp>(mapping.lookup(loop.getOperation())));
  dropRedundantBarriers(kernel);

  if (scratch) {
    builder.setInsertionPointAfter(kernel);
    kernels::emitGpuFree(builder, loc, scratch, free);
  }
  nest->erase();
  return true;
}
