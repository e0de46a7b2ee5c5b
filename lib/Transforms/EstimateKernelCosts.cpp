//===- EstimateKernelCosts.cpp - FLOPs and bytes of each kernel launch ----===//
//
// Reads the outlined kernels and their launches and records, per kernel,
// the floating-point operations and the bytes one launch does, so that
// kernel times become achieved TFLOP/s and GB/s. The counting rules are in
// the pass description (Passes.td); they know the two forms that
// megalodon-map-loops-to-gpu makes:
//   * one iteration per thread: `if (block_id * block_size + thread_id < n)`
//     around the loop body, so the body runs n times in all;
//   * one loop nest per block: code outside the thread-strided loops runs
//     once per block (every thread computes the same values; one of them is
//     the work), and a loop `for i = thread_id to n step block_dim` runs n
//     times per block, split among the threads.
//
//===----------------------------------------------------------------------===//

#include "GpuKernelForms.h"

#include "megalodon/Transforms/Passes.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_ESTIMATEKERNELCOSTS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Floating-point operations of one execution of `op`: one per element for
/// arithmetic, comparisons and math functions, two for a fused multiply-add.
int64_t flopsOf(Operation *op) {
  if (op->getNumResults() != 1)
    return 0;
  Type type = op->getResult(0).getType();
  int64_t elements = 1;
  if (auto shaped = dyn_cast<VectorType>(type)) {
    elements = shaped.getNumElements();
    type = shaped.getElementType();
  }
  bool floatResult = isa<FloatType>(type);
  if (isa<arith::CmpFOp>(op))
    return elements;
  if (!floatResult)
    return 0;
  if (isa<math::FmaOp>(op))
    return 2 * elements;
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
          arith::RemFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
          arith::MinNumFOp>(op) ||
      op->getDialect() == op->getContext()->getLoadedDialect("math"))
    return elements;
  return 0;
}

class KernelCounter {
public:
  KernelCounter(gpu::GPUFuncOp kernel, gpu::LaunchFuncOp launch)
      : kernel(kernel), launch(launch) {}

  /// FLOPs of one launch, or nullopt where a trip count is not a constant.
  std::optional<int64_t> flops() {
    std::optional<int64_t> blocks = product(
        launch.getGridSizeX(), launch.getGridSizeY(), launch.getGridSizeZ());
    if (!blocks)
      return std::nullopt;
    total = 0;
    known = true;
    countRegion(kernel.getBody(), *blocks);
    if (!known)
      return std::nullopt;
    return total;
  }

  /// Bytes of the buffers the kernel reads or writes, each once: the
  /// traffic it cannot avoid (repeated reads that miss the caches come on
  /// top). Buffers of dynamic size count nothing.
  int64_t bytes() {
    int64_t sum = 0;
    for (BlockArgument arg : kernel.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (!type || !type.hasStaticShape() || !isAccessed(arg))
        continue;
      if (std::optional<int64_t> bytes = elementBytes(type.getElementType()))
        sum += type.getNumElements() * *bytes;
    }
    return sum;
  }

private:
  /// Bytes of one element: those of a raw-memory buffer, or an index
  /// (64-bit on the GPU); nullopt for anything else.
  static std::optional<int64_t> elementBytes(Type type) {
    if (type.isIndex())
      return 8;
    return mlir::megalodon::detail::elementBytes(type);
  }

  gpu::GPUFuncOp kernel;
  gpu::LaunchFuncOp launch;
  int64_t total = 0;
  bool known = true;

  /// The constant a value has at the launch: a constant in the kernel, or
  /// a kernel argument whose launch operand is one.
  std::optional<int64_t> constantAtLaunch(Value value) {
    if (std::optional<int64_t> c = getConstantIntValue(value))
      return c;
    auto arg = dyn_cast<BlockArgument>(value);
    if (!arg || arg.getOwner() != &kernel.getBody().front())
      return std::nullopt;
    return getConstantIntValue(launch.getKernelOperands()[arg.getArgNumber()]);
  }

  std::optional<int64_t> product(Value x, Value y, Value z) {
    std::optional<int64_t> a = getConstantIntValue(x),
                           b = getConstantIntValue(y),
                           c = getConstantIntValue(z);
    if (!a || !b || !c)
      return std::nullopt;
    return *a * *b * *c;
  }

  /// Whether the kernel reads or writes `memref` (through views of it).
  static bool isAccessed(Value memref) {
    return llvm::any_of(memref.getUsers(), [](Operation *user) {
      if (isa<memref::DimOp>(user))
        return false;
      if (isa<ViewLikeOpInterface>(user))
        return user->getNumResults() == 1 && isAccessed(user->getResult(0));
      return true; // loads, stores and any other memory op
    });
  }

  /// Whether `value` is block_id * size + thread_id (in either order).
  static bool isGlobalThreadIndex(Value value) {
    auto add = value.getDefiningOp<arith::AddIOp>();
    if (!add)
      return false;
    return llvm::any_of(add->getOperands(), [](Value v) {
      return v.getDefiningOp<gpu::ThreadIdOp>() != nullptr;
    });
  }

  void countRegion(Region &region, int64_t executions) {
    for (Block &block : region)
      for (Operation &op : block)
        countOp(&op, executions);
  }

  void countOp(Operation *op, int64_t executions) {
    total += executions * flopsOf(op);
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      std::optional<int64_t> upper = constantAtLaunch(loop.getUpperBound());
      // A thread-strided loop: n iterations per block in all.
      if (loop.getLowerBound().getDefiningOp<gpu::ThreadIdOp>() &&
          loop.getStep().getDefiningOp<gpu::BlockDimOp>()) {
        if (!upper)
          known = false;
        else
          countRegion(loop.getRegion(), executions * *upper);
        return;
      }
      std::optional<int64_t> lower = constantAtLaunch(loop.getLowerBound());
      std::optional<int64_t> step = constantAtLaunch(loop.getStep());
      if (!lower || !upper || !step || *step <= 0) {
        known = false;
        return;
      }
      int64_t trips =
          *upper > *lower ? llvm::divideCeil(*upper - *lower, *step) : 0;
      countRegion(loop.getRegion(), executions * trips);
      return;
    }
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      int64_t trips = 1;
      for (auto [lb, ub, st] : llvm::zip(
               loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
        std::optional<int64_t> lower = constantAtLaunch(lb),
                               upper = constantAtLaunch(ub),
                               step = constantAtLaunch(st);
        if (!lower || !upper || !step || *step <= 0) {
          known = false;
          return;
        }
        trips *= *upper > *lower ? llvm::divideCeil(*upper - *lower, *step) : 0;
      }
      countRegion(loop.getRegion(), executions * trips);
      return;
    }
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      // The guard of the one-iteration-per-thread form: its body runs once
      // per iteration of the mapped loop, `n` times in all.
      auto cmp = branch.getCondition().getDefiningOp<arith::CmpIOp>();
      if (cmp && cmp.getPredicate() == arith::CmpIPredicate::slt &&
          isGlobalThreadIndex(cmp.getLhs())) {
        if (std::optional<int64_t> n = constantAtLaunch(cmp.getRhs())) {
          countRegion(branch.getThenRegion(), *n);
          return;
        }
        known = false;
        return;
      }
      // Any other branch: counted as taken (thread 0's stores, tails).
      countRegion(branch.getThenRegion(), executions);
      countRegion(branch.getElseRegion(), executions);
      return;
    }
    for (Region &region : op->getRegions())
      countRegion(region, executions);
  }
};

struct EstimateKernelCostsPass
    : public mlir::megalodon::impl::EstimateKernelCostsBase<
          EstimateKernelCostsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(&getContext());
    llvm::MapVector<StringAttr, std::pair<int64_t, int64_t>> costs;
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel)
        return;
      KernelCounter counter(kernel, launch);
      std::optional<int64_t> flops = counter.flops();
      costs[launch.getKernelName()] = {flops.value_or(-1), counter.bytes()};
    });
    SmallVector<NamedAttribute> entries;
    for (auto &[name, cost] : costs)
      entries.emplace_back(
          name, builder.getDenseI64ArrayAttr({cost.first, cost.second}));
    module->setAttr(mlir::megalodon::kKernelCostsAttrName,
                    builder.getDictionaryAttr(entries));
  }
};

} // namespace
