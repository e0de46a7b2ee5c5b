//===- FuseMatmulPrologues.cpp - A's producers into matmul row blocks -----===//
//
// A linear layer often reads a value computed just for it: the normalized
// activations in front of the feed-forward network or the output
// projection. Computed as a whole first, that value goes to memory and the
// kernel reads it back; computed per row block inside the kernel's loop, it
// is read from cache right after it is written. The fusion itself is
// upstream's producer fusion through TilingInterface; this pass chooses
// what to fuse.
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
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_FUSEMATMULPROLOGUES
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Whether the producer of `slice`'s source can be fused into `loop` for
/// it: a generic on tensors with projected-permutation maps, computed
/// before the loop, whose result nothing but `slice` reads (so the fused
/// copy replaces it instead of computing it a second time).
bool isFusableProducer(tensor::ExtractSliceOp slice, LoopLikeOpInterface loop,
                       DominanceInfo &dominance) {
  auto producer = slice.getSource().getDefiningOp<linalg::GenericOp>();
  return producer && producer.hasPureTensorSemantics() &&
         llvm::all_of(
             producer.getIndexingMapsArray(),
             [](AffineMap map) { return map.isProjectedPermutation(); }) &&
         dominance.properlyDominates(producer.getOperation(), loop) &&
         slice.getSource().hasOneUse();
}

/// The first slice in `loop`'s body whose producer can be fused, or null.
tensor::ExtractSliceOp fusableSlice(LoopLikeOpInterface loop,
                                    DominanceInfo &dominance) {
  tensor::ExtractSliceOp found;
  loop->walk([&](tensor::ExtractSliceOp slice) {
    if (!isFusableProducer(slice, loop, dominance))
      return WalkResult::advance();
    found = slice;
    return WalkResult::interrupt();
  });
  return found;
}

/// Whether `collapse` gives a matmul's row-block loop the rows of A (its
/// only user is a slice inside a marked loop).
bool feedsRowBlocks(tensor::CollapseShapeOp collapse) {
  if (!collapse->hasOneUse())
    return false;
  auto slice = dyn_cast<tensor::ExtractSliceOp>(*collapse->user_begin());
  if (!slice)
    return false;
  return mlir::megalodon::detail::isMatmulRowBlockLoop(
      slice->getParentOfType<LoopLikeOpInterface>());
}

struct FuseMatmulProloguesPass
    : public mlir::megalodon::impl::FuseMatmulProloguesBase<
          FuseMatmulProloguesPass> {
  void runOnOperation() override {
    // The model computes A as [..., K] and the matmul takes its rows
    // [M, K] through a tensor.collapse_shape. Collapsing the producer
    // itself to the rows (its operands collapsed instead) lets the slice
    // read it directly.
    RewritePatternSet patterns(&getContext());
    linalg::populateFoldReshapeOpsByCollapsingPatterns(
        patterns, [](OpOperand *operand) {
          auto collapse =
              dyn_cast<tensor::CollapseShapeOp>(operand->getOwner());
          return collapse && feedsRowBlocks(collapse) &&
                 operand->get().hasOneUse();
        });
    FrozenRewritePatternSet frozen(std::move(patterns));
    if (failed(applyPatternsGreedily(getOperation(), frozen)))
      return signalPassFailure();

    SmallVector<LoopLikeOpInterface> loops =
        mlir::megalodon::detail::collectMatmulRowBlockLoops(getOperation());
    IRRewriter rewriter(&getContext());
    for (LoopLikeOpInterface loop : loops) {
      // A fused producer reads its own operands through slices in the loop:
      // their producers are candidates in turn.
      while (true) {
        DominanceInfo dominance(getOperation());
        tensor::ExtractSliceOp slice = fusableSlice(loop, dominance);
        if (!slice)
          break;
        Operation *producer = slice.getSource().getDefiningOp();
        SmallVector<LoopLikeOpInterface> nest = {loop};
        std::optional<scf::SCFFuseProducerOfSliceResult> fused =
            scf::tileAndFuseProducerOfSlice(rewriter, slice, nest);
        if (!fused)
          break;
        // The slice's readers take the fused copy; the original producer is
        // then unused.
        rewriter.replaceOp(slice, fused->tiledAndFusedProducer);
        if (producer->use_empty())
          rewriter.eraseOp(producer);
        else
          break;
      }
      // The normalization and its statistics read the same rows of x
      // through two slices.
      mlir::megalodon::detail::mergeRecomputedIndices(rewriter, loop);
    }
  }
};

} // namespace
