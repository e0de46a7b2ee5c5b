//===- FuseMatmulEpilogues.cpp - Consumers into matmul row-block loops ----===//
//
// A linear layer's product is rarely the value the model wants: a bias, an
// activation or the residual add follows it. Left as a separate loop, that
// epilogue reads the whole product back from memory; fused into the
// kernel's loop over row blocks, it reads each block right after the kernel
// wrote it, from L2. The fusion itself is upstream's consumer fusion through
// TilingInterface; this pass chooses what to fuse.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_FUSEMATMULEPILOGUES
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Whether `op` is an elementwise generic on tensors (only parallel loops,
/// so any tile of it computes from the same tile of its operands).
bool isElementwise(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && generic.hasPureTensorSemantics() &&
         generic.getNumLoops() == generic.getNumParallelLoops() &&
         llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap map) {
           return map.isProjectedPermutation();
         });
}

/// Collects into `hoisted` (operands first) the ops that compute `value`
/// between `loop` and its consumer, if they can all move before the loop:
/// side-effect-free ops without regions (constants, tensor.empty, reshapes
/// of values defined earlier) in the loop's block. False if some cannot.
bool collectHoistable(Value value, LoopLikeOpInterface loop,
                      DominanceInfo &dominance,
                      SetVector<Operation *> &hoisted) {
  if (value.getDefiningOp() == loop || dominance.properlyDominates(value, loop))
    return true;
  Operation *def = value.getDefiningOp();
  if (!def || def->getBlock() != loop->getBlock() ||
      def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return false;
  for (Value operand : def->getOperands())
    if (operand.getDefiningOp() == loop ||
        !collectHoistable(operand, loop, dominance, hoisted))
      return false;
  hoisted.insert(def);
  return true;
}

/// Whether everything `consumer` reads, as an operand or inside its body,
/// other than `loop`'s results, is or can be made available before `loop`;
/// the ops that compute it after the loop are moved before it.
bool readsOnlyValuesBefore(Operation *consumer, LoopLikeOpInterface loop,
                           DominanceInfo &dominance) {
  SetVector<Value> values;
  for (Value operand : consumer->getOperands())
    if (operand.getDefiningOp() != loop)
      values.insert(operand);
  getUsedValuesDefinedAbove(consumer->getRegions(), values);
  SetVector<Operation *> hoisted;
  for (Value value : values)
    if (!collectHoistable(value, loop, dominance, hoisted))
      return false;
  for (Operation *op : hoisted)
    op->moveBefore(loop);
  return true;
}

/// The first elementwise consumer of `loop`'s results that reads nothing
/// computed after the loop, or null.
Operation *fusableConsumer(LoopLikeOpInterface loop, DominanceInfo &dominance) {
  for (Value result : loop->getResults())
    for (Operation *user : result.getUsers())
      if (isElementwise(user) && user->getBlock() == loop->getBlock() &&
          readsOnlyValuesBefore(user, loop, dominance))
        return user;
  return nullptr;
}

struct FuseMatmulEpiloguesPass
    : public mlir::megalodon::impl::FuseMatmulEpiloguesBase<
          FuseMatmulEpiloguesPass> {
  void runOnOperation() override {
    // A matmul works on rows [M, N]; the model's consumers see its product
    // reshaped back to [..., N]. Collapsing such a consumer to the rows
    // (its other operands are collapsed, its result expanded back) lets it
    // take the product directly, so it can be fused.
    RewritePatternSet patterns(&getContext());
    linalg::populateFoldReshapeOpsByCollapsingPatterns(
        patterns, [](OpOperand *operand) {
          auto expand = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
          Operation *source =
              expand ? expand.getSrc().getDefiningOp() : nullptr;
          return source &&
                 source->hasAttr(mlir::megalodon::kMatmulRowBlocksAttrName) &&
                 isElementwise(operand->getOwner());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    SmallVector<LoopLikeOpInterface> loops;
    getOperation()->walk([&](LoopLikeOpInterface loop) {
      if (loop->hasAttr(mlir::megalodon::kMatmulRowBlocksAttrName))
        loops.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (LoopLikeOpInterface loop : loops) {
      // A consumer fused once may enable the next (the loop now yields its
      // result): fuse until none is left.
      while (true) {
        DominanceInfo dominance(getOperation());
        Operation *consumer = fusableConsumer(loop, dominance);
        if (!consumer)
          break;
        SmallVector<LoopLikeOpInterface> nest = {loop};
        rewriter.setInsertionPoint(consumer);
        FailureOr<scf::SCFFuseConsumerOfSliceResult> fused =
            scf::tileAndFuseConsumer(rewriter, consumer, nest);
        if (failed(fused) || fused->tiledOps.empty())
          break;
        // The fused loop replaces the original one (it has more results),
        // and the consumer's uses now read the loop's new result; the
        // consumer itself is left behind, unused.
        loop = nest.front();
        if (!consumer->use_empty())
          break;
        rewriter.eraseOp(consumer);
        loop->setAttr(mlir::megalodon::kMatmulRowBlocksAttrName,
                      rewriter.getUnitAttr());
      }
    }
  }
};

} // namespace
