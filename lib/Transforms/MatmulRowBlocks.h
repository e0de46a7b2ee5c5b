//===- MatmulRowBlocks.h - The loops the fusion passes fuse into -*- C++
//-*-===//
//
// megalodon-tile-and-vectorize builds each matmul as one loop over row blocks
// and marks it; the prologue and epilogue fusion passes fuse into those loops.
//
//===----------------------------------------------------------------------===//

#ifndef MEGALODON_LIB_TRANSFORMS_MATMULROWBLOCKS_H
#define MEGALODON_LIB_TRANSFORMS_MATMULROWBLOCKS_H

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Transforms/CSE.h"

namespace mlir::megalodon::detail {

/// Whether `op` is a matmul's loop over row blocks.
inline bool isMatmulRowBlockLoop(Operation *op) {
  return op && isa<LoopLikeOpInterface>(op) &&
         op->hasAttr(kMatmulRowBlocksAttrName);
}

/// The matmul row-block loops in `root`.
inline SmallVector<LoopLikeOpInterface>
collectMatmulRowBlockLoops(Operation *root) {
  SmallVector<LoopLikeOpInterface> loops;
  root->walk([&](LoopLikeOpInterface loop) {
    if (isMatmulRowBlockLoop(loop))
      loops.push_back(loop);
  });
  return loops;
}

/// CSE inside `loop` after a fusion: each fusion computes the block's
/// offsets and slices anew, and upstream fusion only matches slices whose
/// offsets are the same values.
inline void mergeRecomputedIndices(RewriterBase &rewriter,
                                   LoopLikeOpInterface loop) {
  DominanceInfo dominance(loop);
  eliminateCommonSubExpressions(rewriter, dominance, loop);
}

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_TRANSFORMS_MATMULROWBLOCKS_H
