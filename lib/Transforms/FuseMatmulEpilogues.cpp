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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
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

/// Whether every value `consumer` reads, as an operand or inside its body,
/// other than `loop`'s results, is available before `loop`. Constants defined
/// between the two are moved before the loop.
bool readsOnlyValuesBefore(Operation *consumer, LoopLikeOpInterface loop,
                           DominanceInfo &dominance) {
  SetVector<Value> values(consumer->operand_begin(), consumer->operand_end());
  getUsedValuesDefinedAbove(consumer->getRegions(), values);
  SmallVector<Operation *> constants;
  for (Value value : values) {
    if (value.getDefiningOp() == loop ||
        dominance.properlyDominates(value, loop))
      continue;
    Operation *def = value.getDefiningOp();
    if (!def || !matchPattern(value, m_Constant()))
      return false;
    constants.push_back(def);
  }
  for (Operation *constant : constants)
    constant->moveBefore(loop);
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
