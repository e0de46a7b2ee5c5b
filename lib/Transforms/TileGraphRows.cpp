//===- TileGraphRows.cpp - Row-block loops over megalodon op chains -------===//
//
// Between two ops that need the whole sequence at once (a CEMA scan, a
// timestep norm), a layer is a chain of ops that treat every token on its
// own: norms, linear layers, activations, residual adds, and attention,
// whose chunks are independent. Computed op by op, each intermediate is a
// full [L, width] tensor that goes to memory and comes back. This pass cuts
// each such chain into blocks of `rows` tokens while it is still made of
// megalodon ops: upstream tile-and-fuse (TilingInterface, TilingModels.cpp)
// tiles the chain's last op and pulls its producers into the loop, so a
// block's intermediates are written and read while they are in cache.
//
// An op belongs to a chain when its TilingInterface model can compute a
// block of `rows` rows of its results (so not the scans, and attention only
// when a block holds whole chunks). A chain ends at an op read by something
// outside the chains (a scan, the loss, a gradient op, the return); that op
// is tiled and the rest fused. A fused op whose result is also read outside
// the loop is yielded by the loop, so that nothing is computed twice.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_TILEGRAPHROWS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// The slice of `value` ([..., L, width]) that holds block 0 of `rows`
/// tokens: one index of each batch dimension, `rows` steps of the sequence
/// dimension (or all of it when shorter), the last dimension whole.
void rowBlockSlice(Value value, int64_t rows, Builder &b,
                   SmallVectorImpl<OpFoldResult> &offsets,
                   SmallVectorImpl<OpFoldResult> &sizes) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(value.getType()).getShape();
  int64_t rank = shape.size();
  for (int64_t d = 0; d < rank; ++d) {
    offsets.push_back(b.getIndexAttr(0));
    int64_t size = shape[d];
    if (d < rank - 2)
      size = 1;
    else if (d == rank - 2)
      size = std::min(rows, shape[d]);
    sizes.push_back(b.getIndexAttr(size));
  }
}

/// Whether `op` can compute blocks of `rows` tokens of every result: a
/// megalodon op with a tiling model whose results are [..., L, width] with
/// L a multiple of the block, and whose model maps such a block of each
/// result to a tile of its iteration domain.
bool isRowOp(Operation *op, int64_t rows) {
  auto tileable = dyn_cast<TilingInterface>(op);
  if (!tileable || !isa<megalodon::MegalodonDialect>(op->getDialect()))
    return false;
  for (OpResult result : op->getResults()) {
    auto type = dyn_cast<RankedTensorType>(result.getType());
    if (!type || !type.hasStaticShape() || type.getRank() < 2)
      return false;
    int64_t length = type.getDimSize(type.getRank() - 2);
    if (length > rows && length % rows != 0)
      return false;
    Builder b(op->getContext());
    SmallVector<OpFoldResult> offsets, sizes;
    rowBlockSlice(result, rows, b, offsets, sizes);
    if (!tileable.isOpFusableWithConsumerSlice(result.getResultNumber(),
                                               offsets, sizes))
      return false;
  }
  return true;
}

/// The tile sizes of `op`'s iteration domain for one block of rows (0 for
/// the loops a block covers whole, so no loop is made for them).
FailureOr<SmallVector<OpFoldResult>> rowBlockTileSizes(TilingInterface op,
                                                       int64_t rows) {
  OpBuilder b(op);
  SmallVector<OpFoldResult> offsets, sizes, domainOffsets, domainSizes;
  rowBlockSlice(op->getResult(0), rows, b, offsets, sizes);
  if (failed(op.getIterationDomainTileFromResultTile(
          b, 0, offsets, sizes, domainOffsets, domainSizes)))
    return failure();
  SmallVector<Range> domain = op.getIterationDomain(b);
  SmallVector<OpFoldResult> tileSizes;
  for (auto [range, size] : llvm::zip(domain, domainSizes)) {
    bool whole = getConstantIntValue(range.size) == getConstantIntValue(size);
    tileSizes.push_back(whole ? b.getIndexAttr(0) : size);
  }
  return tileSizes;
}

/// The ops the loop for `end` computes: `end` and the row ops before it
/// whose results nothing outside the chain reads before `end` (a value a
/// scan reads before `end` must exist before the loop, so computing it in
/// the loop too would compute it twice). What the chain leaves out, the loop
/// reads from memory.
llvm::SetVector<Operation *>
chainEndingAt(Operation *end, const llvm::SetVector<Operation *> &rowOps) {
  llvm::SetVector<Operation *> chain;
  chain.insert(end);
  for (unsigned i = 0; i < chain.size(); ++i)
    for (Value operand : chain[i]->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        if (rowOps.contains(producer))
          chain.insert(producer);
  // Leaving an op out can leave its producers with a reader outside the
  // chain in turn: repeat until nothing changes.
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::to_vector(chain)) {
      if (op == end)
        continue;
      bool readBeforeLoop = llvm::any_of(op->getUsers(), [&](Operation *u) {
        Operation *reader = end->getBlock()->findAncestorOpInBlock(*u);
        return !chain.contains(u) && !(reader && end->isBeforeInBlock(reader));
      });
      if (readBeforeLoop) {
        chain.remove(op);
        changed = true;
      }
    }
  }
  return chain;
}

struct TileGraphRowsPass
    : mlir::megalodon::impl::TileGraphRowsBase<TileGraphRowsPass> {
  using TileGraphRowsBase::TileGraphRowsBase;

  void runOnOperation() override {
    if (rows <= 0) {
      getOperation()->emitError("megalodon-tile-graph-rows: rows must be "
                                "positive, got ")
          << static_cast<int64_t>(rows);
      return signalPassFailure();
    }
    // Chains are formed inside each block of straight-line code (a
    // function body); their ops are collected in program order.
    SmallVector<Region *> bodies;
    getOperation()->walk([&](FunctionOpInterface func) {
      if (!func.isExternal())
        bodies.push_back(&func.getFunctionBody());
    });
    for (Region *body : bodies)
      if (failed(tileChains(*body)))
        return signalPassFailure();

    // An op that two fused readers need is fused twice, once per reader:
    // CSE keeps one copy. Slices that take a whole operand fold away.
    IRRewriter rewriter(&getContext());
    DominanceInfo dominance(getOperation());
    eliminateCommonSubExpressions(rewriter, dominance, getOperation());
    RewritePatternSet patterns(&getContext());
    tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns,
                                                        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }

  LogicalResult tileChains(Region &body) {
    llvm::SetVector<Operation *> rowOps;
    for (Operation &op : body.getOps())
      if (isRowOp(&op, rows))
        rowOps.insert(&op);
    auto insideChains = [&](Operation *user) { return rowOps.contains(user); };
    SmallVector<Operation *> ends;
    for (Operation *op : rowOps)
      if (!llvm::all_of(op->getUsers(), insideChains))
        ends.push_back(op);

    IRRewriter rewriter(&getContext());
    auto erase = [&](Operation *op) {
      rowOps.remove(op);
      rewriter.eraseOp(op);
    };
    // From the last chain end up, so that a chain's producers are still
    // untouched megalodon ops when it is tiled. An end fused into a later
    // chain's loop (and yielded by it) is done.
    for (Operation *end : llvm::reverse(ends)) {
      if (!rowOps.contains(end))
        continue;
      auto tileable = cast<TilingInterface>(end);
      FailureOr<SmallVector<OpFoldResult>> tileSizes =
          rowBlockTileSizes(tileable, rows);
      if (failed(tileSizes))
        return end->emitError("megalodon-tile-graph-rows: no row-block tile");
      // One block holds everything: there is no loop to make.
      if (llvm::all_of(*tileSizes, isZeroInteger))
        continue;
      scf::SCFTileAndFuseOptions options;
      options.tilingOptions.setTileSizes(*tileSizes);
      if (parallel)
        options.tilingOptions.setLoopType(
            scf::SCFTilingOptions::LoopType::ForallOp);
      llvm::SetVector<Operation *> chain = chainEndingAt(end, rowOps);
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp slice, OpResult producer, bool)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (!chain.contains(producer.getOwner()))
              return std::nullopt;
            // The outermost loop of the nest, in the function body.
            Operation *loop = end->getBlock()->findAncestorOpInBlock(*slice);
            scf::SCFTileAndFuseOptions::ControlFnResult result;
            result.yieldProducerReplacement =
                llvm::any_of(producer.getUsers(), [&](Operation *user) {
                  return !loop->isAncestor(user) && !chain.contains(user);
                });
            return result;
          });
      rewriter.setInsertionPoint(end);
      FailureOr<scf::SCFTileAndFuseResult> tiled =
          scf::tileConsumerAndFuseProducersUsingSCF(rewriter, tileable,
                                                    options);
      if (failed(tiled))
        return end->emitError("megalodon-tile-graph-rows: tiling failed");
      // The loop's results replace the originals after the loop; the slices
      // inside it that fusion left reading an original keep it.
      DominanceInfo dominance(end->getParentOp());
      for (const auto &entry : tiled->replacements) {
        Value replacement = entry.second;
        rewriter.replaceUsesWithIf(
            entry.first, replacement, [&](OpOperand &use) {
              return dominance.properlyDominates(replacement, use.getOwner());
            });
      }
      // Slices of the originals that fusion replaced are unread; without
      // them the unyielded originals are too.
      tiled->loops.front()->walk([&](tensor::ExtractSliceOp slice) {
        if (slice->use_empty())
          rewriter.eraseOp(slice);
      });
      // Fused producers are unread now (readers after the loop read what it
      // yields) and go; one still read would stay, but no longer as a
      // chain end.
      for (Operation *producer : llvm::reverse(tiled->fusedProducers)) {
        if (producer->use_empty())
          erase(producer);
        else
          rowOps.remove(producer);
      }
      erase(end);
    }
    return success();
  }
};

} // namespace
