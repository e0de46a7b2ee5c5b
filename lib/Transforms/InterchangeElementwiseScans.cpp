//===- InterchangeElementwiseScans.cpp - Sequential loops inside parallel -===//
//
// scf.for { scf.parallel (i) {..}; scf.parallel (i) {..} }, where iteration
// i of the parallel loops touches only element i of what the loop writes,
// becomes scf.parallel (i) { scf.for { .. } }. The legality argument is in
// the pass description (Passes.td); the analysis below proves it per access.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_INTERCHANGEELEMENTWISESCANS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Where an access's parallel induction variables land in its allocation:
/// for induction variable k, the dimension it indexes and the offset added
/// to it there.
struct ElementPlacement {
  Value root;
  /// False when some step of the trace is not understood (a view other
  /// than a unit-stride subview, an index that is not a bare induction
  /// variable): the access may touch any element of `root`.
  bool known = true;
  SmallVector<int64_t> dimOfIv;
  SmallVector<OpFoldResult> offsetOfIv;
};

bool sameOffset(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> ca = getConstantIntValue(a);
  std::optional<int64_t> cb = getConstantIntValue(b);
  if (ca || cb)
    return ca == cb;
  return cast<Value>(a) == cast<Value>(b);
}

/// Follows `memref` (indexed by `indices`) through subviews to the value
/// that owns its elements, recording where each of `ivs` lands.
ElementPlacement placeAccess(Value memref, ValueRange indices, ValueRange ivs) {
  ElementPlacement placement;
  Builder builder(memref.getContext());
  // Per dimension of the current view: the induction variable that indexes
  // it (or -1) and the offset accumulated on top of it.
  SmallVector<int64_t> ivOfDim;
  SmallVector<OpFoldResult> offsetOfDim;
  for (Value index : indices) {
    auto it = llvm::find(ivs, index);
    ivOfDim.push_back(it == ivs.end() ? -1 : it - ivs.begin());
    offsetOfDim.push_back(builder.getIndexAttr(0));
  }
  while (Operation *def = memref.getDefiningOp()) {
    auto subview = dyn_cast<memref::SubViewOp>(def);
    if (!subview) {
      // Other views (reshapes, casts) alias the same elements in a layout
      // this trace does not follow.
      if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
        placement.known = false;
        memref = view.getViewSource();
        continue;
      }
      break;
    }
    if (!llvm::all_of(subview.getStaticStrides(),
                      [](int64_t s) { return s == 1; }))
      placement.known = false;
    llvm::SmallBitVector dropped = subview.getDroppedDims();
    SmallVector<OpFoldResult> offsets = subview.getMixedOffsets();
    SmallVector<int64_t> sourceIv;
    SmallVector<OpFoldResult> sourceOffset;
    unsigned resultDim = 0;
    for (unsigned dim = 0; dim < offsets.size(); ++dim) {
      if (dropped.test(dim)) {
        sourceIv.push_back(-1);
        sourceOffset.push_back(offsets[dim]);
        continue;
      }
      sourceIv.push_back(ivOfDim[resultDim]);
      // Offsets add up; a sum of two nonzero ones is not worth building
      // here, so it makes the placement unknown.
      OpFoldResult inner = offsetOfDim[resultDim++];
      if (isConstantIntValue(inner, 0))
        sourceOffset.push_back(offsets[dim]);
      else if (isConstantIntValue(offsets[dim], 0))
        sourceOffset.push_back(inner);
      else {
        placement.known = false;
        sourceOffset.push_back(offsets[dim]);
      }
    }
    ivOfDim = std::move(sourceIv);
    offsetOfDim = std::move(sourceOffset);
    memref = subview.getSource();
  }
  placement.root = memref;
  placement.dimOfIv.assign(ivs.size(), -1);
  placement.offsetOfIv.assign(ivs.size(), builder.getIndexAttr(0));
  for (auto [dim, iv] : llvm::enumerate(ivOfDim)) {
    if (iv < 0)
      continue;
    if (placement.dimOfIv[iv] >= 0)
      placement.known = false; // one variable in two dimensions
    placement.dimOfIv[iv] = dim;
    placement.offsetOfIv[iv] = offsetOfDim[dim];
  }
  if (llvm::is_contained(placement.dimOfIv, -1))
    placement.known = false; // several iterations share the element
  return placement;
}

struct Access {
  ElementPlacement placement;
  bool writes;
};

/// Whether every loop has the bounds and steps of `first`.
bool sameIterationSpace(ArrayRef<scf::ParallelOp> loops) {
  scf::ParallelOp first = loops.front();
  auto same = [](ValueRange a, ValueRange b) {
    if (a.size() != b.size())
      return false;
    for (auto [x, y] : llvm::zip(a, b))
      if (x != y && (!getConstantIntValue(x) ||
                     getConstantIntValue(x) != getConstantIntValue(y)))
        return false;
    return true;
  };
  return llvm::all_of(loops, [&](scf::ParallelOp loop) {
    return same(loop.getLowerBound(), first.getLowerBound()) &&
           same(loop.getUpperBound(), first.getUpperBound()) &&
           same(loop.getStep(), first.getStep());
  });
}

/// The parallel loops of `loop`'s body if the interchange is legal.
std::optional<SmallVector<scf::ParallelOp>> interchangeable(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 0)
    return std::nullopt;
  SmallVector<scf::ParallelOp> parallels;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
      if (parallel.getNumReductions() != 0)
        return std::nullopt;
      parallels.push_back(parallel);
      continue;
    }
    // Index arithmetic and views only: they are recomputed per element.
    if (!isMemoryEffectFree(&op) || op.getNumRegions() != 0)
      return std::nullopt;
  }
  if (parallels.empty() || !sameIterationSpace(parallels))
    return std::nullopt;
  for (Value bound : llvm::concat<Value>(parallels.front().getLowerBound(),
                                         parallels.front().getUpperBound(),
                                         parallels.front().getStep()))
    if (loop->isAncestor(bound.getParentRegion()->getParentOp()))
      return std::nullopt;

  SmallVector<Access> accesses;
  for (scf::ParallelOp parallel : parallels) {
    ValueRange ivs = parallel.getInductionVars();
    WalkResult walk = parallel.getBody()->walk([&](Operation *op) {
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        accesses.push_back(
            {placeAccess(load.getMemRef(), load.getIndices(), ivs), false});
        return WalkResult::advance();
      }
      if (auto store = dyn_cast<memref::StoreOp>(op)) {
        accesses.push_back(
            {placeAccess(store.getMemRef(), store.getIndices(), ivs), true});
        return WalkResult::advance();
      }
      if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
          isMemoryEffectFree(op))
        return WalkResult::advance();
      return WalkResult::interrupt();
    });
    if (walk.wasInterrupted())
      return std::nullopt;
  }

  // Buffers the loop writes: fresh allocations, so nothing else aliases
  // them, and every access to them stays on its own element.
  llvm::SmallDenseMap<Value, const ElementPlacement *> written;
  for (const Access &access : accesses) {
    if (!access.writes)
      continue;
    if (!access.placement.root.getDefiningOp<memref::AllocOp>())
      return std::nullopt;
    written.try_emplace(access.placement.root, &access.placement);
  }
  for (const Access &access : accesses) {
    auto it = written.find(access.placement.root);
    if (it == written.end())
      continue;
    const ElementPlacement &a = access.placement, &b = *it->second;
    if (!a.known || !b.known || a.dimOfIv != b.dimOfIv)
      return std::nullopt;
    for (auto [x, y] : llvm::zip(a.offsetOfIv, b.offsetOfIv)) {
      // The offset must be the same in every step of the sequential loop.
      if (auto value = dyn_cast<Value>(x))
        if (loop->isAncestor(value.getParentRegion()->getParentOp()))
          return std::nullopt;
      if (!sameOffset(x, y))
        return std::nullopt;
    }
  }
  return parallels;
}

void interchange(RewriterBase &rewriter, scf::ForOp loop,
                 ArrayRef<scf::ParallelOp> parallels) {
  scf::ParallelOp first = parallels.front();
  rewriter.setInsertionPoint(loop);
  auto outer =
      scf::ParallelOp::create(rewriter, first.getLoc(), first.getLowerBound(),
                              first.getUpperBound(), first.getStep());
  rewriter.setInsertionPointToStart(outer.getBody());
  auto inner = scf::ForOp::create(rewriter, loop.getLoc(), loop.getLowerBound(),
                                  loop.getUpperBound(), loop.getStep());
  IRMapping mapping;
  mapping.map(loop.getInductionVar(), inner.getInductionVar());
  rewriter.setInsertionPointToStart(inner.getBody());
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto parallel = dyn_cast<scf::ParallelOp>(op);
    if (!parallel) {
      rewriter.clone(op, mapping);
      continue;
    }
    mapping.map(parallel.getInductionVars(), outer.getInductionVars());
    for (Operation &bodyOp : parallel.getBody()->without_terminator())
      rewriter.clone(bodyOp, mapping);
  }
  rewriter.eraseOp(loop);
}

struct InterchangeElementwiseScansPass
    : public mlir::megalodon::impl::InterchangeElementwiseScansBase<
          InterchangeElementwiseScansPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // Post-order: inner loops first, so that an interchanged inner loop can
    // make its parent a candidate in the same walk.
    getOperation()->walk([&](scf::ForOp loop) {
      if (auto parallels = interchangeable(loop))
        interchange(rewriter, loop, *parallels);
    });
  }
};

} // namespace
