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

#include "MatmulRowBlocks.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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

/// Whether `op` is a generic on tensors whose indexing maps are projected
/// permutations.
linalg::GenericOp getPermutationGeneric(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureTensorSemantics() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return nullptr;
  return generic;
}

/// Whether `op` is a generic that computes any block of rows of its results
/// from the same rows of the results of `loop` it reads (the [M, N] product
/// of a matmul, or a row vector the loop yields after an earlier fusion):
/// all those operands read their rows (first dimension) through one
/// parallel loop of `op`, which every result varies along. The other loops
/// may be reductions (a softmax's row maximum and sum): a row block holds
/// whole rows, so any tile of rows covers them completely.
bool isRowwiseConsumer(Operation *op, LoopLikeOpInterface loop) {
  linalg::GenericOp generic = getPermutationGeneric(op);
  if (!generic)
    return false;
  std::optional<unsigned> rowLoop;
  for (OpOperand &operand : generic->getOpOperands()) {
    if (operand.get().getDefiningOp() != loop)
      continue;
    AffineMap map = generic.getMatchingIndexingMap(&operand);
    if (map.getNumResults() == 0 || !generic.isDpsInput(&operand))
      return false;
    unsigned loop = map.getDimPosition(0);
    if (rowLoop && *rowLoop != loop)
      return false;
    rowLoop = loop;
  }
  if (!rowLoop || generic.getIteratorTypesArray()[*rowLoop] !=
                      utils::IteratorType::parallel)
    return false;
  return llvm::all_of(generic.getDpsInitsMutable(), [&](OpOperand &init) {
    return generic.getMatchingIndexingMap(&init).isFunctionOfDim(*rowLoop);
  });
}

/// Collects into `hoisted` (operands first) the ops that compute `value`
/// between `loop` and its consumer, if they can all move before the loop:
/// side-effect-free ops without regions (constants, tensor.empty, reshapes
/// of values defined earlier) and fills (a reduction's initial value) in
/// the loop's block. False if some cannot: other computations stay where
/// they are.
bool collectHoistable(Value value, LoopLikeOpInterface loop,
                      DominanceInfo &dominance,
                      SetVector<Operation *> &hoisted) {
  if (value.getDefiningOp() == loop || dominance.properlyDominates(value, loop))
    return true;
  Operation *def = value.getDefiningOp();
  if (!def || def->getBlock() != loop->getBlock() ||
      (def->getNumRegions() != 0 && !isa<linalg::FillOp>(def)) ||
      !isMemoryEffectFree(def))
    return false;
  for (Value operand : def->getOperands())
    if (operand.getDefiningOp() == loop ||
        !collectHoistable(operand, loop, dominance, hoisted))
      return false;
  hoisted.insert(def);
  return true;
}

/// Whether everything `consumer` reads, as an operand or inside its body,
/// other than `loop`'s results as operands, is or can be made available
/// before `loop`; the ops that compute it after the loop are moved before
/// it. (A body that reads a result of the loop, a gather from the product,
/// needs more than the block.)
bool readsOnlyValuesBefore(Operation *consumer, LoopLikeOpInterface loop,
                           DominanceInfo &dominance) {
  SetVector<Value> inBody;
  getUsedValuesDefinedAbove(consumer->getRegions(), inBody);
  if (llvm::any_of(inBody,
                   [&](Value value) { return value.getDefiningOp() == loop; }))
    return false;
  SetVector<Value> values(inBody.begin(), inBody.end());
  for (Value operand : consumer->getOperands())
    if (operand.getDefiningOp() != loop)
      values.insert(operand);
  SetVector<Operation *> hoisted;
  for (Value value : values)
    if (!collectHoistable(value, loop, dominance, hoisted))
      return false;
  for (Operation *op : hoisted)
    op->moveBefore(loop);
  return true;
}

/// The first row-wise consumer of `loop`'s results (of every result it
/// reads) that reads nothing computed after the loop, or null.
Operation *fusableConsumer(LoopLikeOpInterface loop, DominanceInfo &dominance) {
  auto isFusable = [&](Operation *user) {
    return user->getBlock() == loop->getBlock() &&
           isRowwiseConsumer(user, loop) &&
           readsOnlyValuesBefore(user, loop, dominance);
  };
  for (Value result : loop->getResults())
    for (Operation *user : result.getUsers())
      if (isFusable(user))
        return user;
  return nullptr;
}

/// Moves the tensor.insert_slice ops that an scf.for's body yields to just
/// before its yield. Upstream consumer fusion places the fused consumer
/// after the first of the slices it reads and fails (or, for a later slice
/// whose value is computed after that point, builds invalid IR) when they
/// are apart, as after an earlier fusion. An scf.forall's inserts are in
/// its terminator already.
void gatherBlockInsertsAtEnd(LoopLikeOpInterface loop) {
  auto forOp = dyn_cast<scf::ForOp>(loop.getOperation());
  if (!forOp)
    return;
  Operation *yield = forOp.getBody()->getTerminator();
  for (Value yielded : yield->getOperands())
    if (auto insert = yielded.getDefiningOp<tensor::InsertSliceOp>();
        insert && insert->getBlock() == forOp.getBody())
      insert->moveBefore(yield);
}

/// Routes the uses of `loop`'s results inside the regions of other ops (a
/// gather from the product in a generic's body) through a tensor.cast to the
/// same type in the loop's block, just before the op that holds the use.
/// Upstream consumer fusion gives up on a loop with any user outside its
/// block; the casts fold away in later canonicalization.
void forwardNestedUses(LoopLikeOpInterface loop, RewriterBase &rewriter) {
  Block *block = loop->getBlock();
  for (Value result : loop->getResults()) {
    SmallVector<OpOperand *> nested;
    for (OpOperand &use : result.getUses())
      if (use.getOwner()->getBlock() != block &&
          !isa<tensor::ParallelInsertSliceOp>(use.getOwner()))
        nested.push_back(&use);
    for (OpOperand *use : nested) {
      Operation *holder = block->findAncestorOpInBlock(*use->getOwner());
      if (!holder)
        continue;
      rewriter.setInsertionPoint(holder);
      Value alias = tensor::CastOp::create(rewriter, loop->getLoc(),
                                           result.getType(), result);
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(alias); });
    }
  }
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
          return mlir::megalodon::detail::isMatmulRowBlockLoop(source) &&
                 getPermutationGeneric(operand->getOwner());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    SmallVector<LoopLikeOpInterface> loops =
        mlir::megalodon::detail::collectMatmulRowBlockLoops(getOperation());
    IRRewriter rewriter(&getContext());
    for (LoopLikeOpInterface loop : loops) {
      forwardNestedUses(loop, rewriter);
      // A consumer fused once may enable the next (the loop now yields its
      // result): fuse until none is left.
      while (true) {
        DominanceInfo dominance(getOperation());
        Operation *consumer = fusableConsumer(loop, dominance);
        if (!consumer)
          break;
        gatherBlockInsertsAtEnd(loop);
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
        // A consumer of two of the loop's results can only be fused once
        // both are inserted at the same offset values.
        mlir::megalodon::detail::mergeRecomputedIndices(rewriter, loop);
      }
    }
  }
};

} // namespace
