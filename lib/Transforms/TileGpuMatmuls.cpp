//===- TileGpuMatmuls.cpp - Block tiles of matmuls for the GPU ------------===//
//
// See the pass description in Passes.td. Each contraction becomes
//
//   scf.forall (%i, %j) in (M / tile-m, N / tile-n)     a block per C tile
//     scf.for %k = 0 to K step tile-k iter_args(%c = C tile)
//       %a = tensor.pad A[%i, %k] to [tile-m, tile-k]    copies, always
//       %b = tensor.pad B[%k, %j] to [tile-k, tile-n]
//       %c' = tensor.pad %c to [tile-m, tile-n]          only if ragged
//       linalg.matmul %a, %b -> %c'
//
// After bufferization the pads are buffers of static size private to the
// forall's iteration, so megalodon-map-loops-to-gpu gives each block its own
// copy of the operand tiles, fills them with the block's threads and runs
// the tile's products from them: every element of A and B is read from
// global memory once per block instead of once per output.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <numeric>

namespace mlir::megalodon {
#define GEN_PASS_DEF_TILEGPUMATMULS
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Tiles `op` with `sizes` (one per loop, 0: untiled) into loops of `type`
/// and returns the tiled op.
FailureOr<linalg::LinalgOp> tile(RewriterBase &rewriter, linalg::LinalgOp op,
                                 ArrayRef<int64_t> sizes,
                                 scf::SCFTilingOptions::LoopType type) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  options.setLoopType(type);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  auto result = dyn_cast<linalg::LinalgOp>(tiled->tiledOps.front());
  if (!result)
    return failure();
  return result;
}

struct TileGpuMatmulsPass
    : public mlir::megalodon::impl::TileGpuMatmulsBase<TileGpuMatmulsPass> {
  using TileGpuMatmulsBase::TileGpuMatmulsBase;

  LogicalResult tileOne(RewriterBase &rewriter, linalg::LinalgOp op) {
    // Products whose M or N spans several loops (a fused reshape) tile the
    // innermost of them; the others, like batch loops, take tiles of one.
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.empty() || dims->n.empty() ||
        dims->k.size() != 1 || op.getNumDpsInits() != 1)
      return success(); // Not a matmul-shaped product: left as it is.
    unsigned loops = op.getNumLoops();
    SmallVector<int64_t> blockTile(loops, 0), depthTile(loops, 0);
    for (unsigned d : llvm::concat<unsigned>(dims->batch, dims->m, dims->n))
      blockTile[d] = 1;
    blockTile[*llvm::max_element(dims->m)] = tileM;
    blockTile[*llvm::max_element(dims->n)] = tileN;
    depthTile[dims->k.front()] = tileK;

    FailureOr<linalg::LinalgOp> block = tile(
        rewriter, op, blockTile, scf::SCFTilingOptions::LoopType::ForallOp);
    if (failed(block))
      return op.emitOpError("could not be tiled into blocks");
    FailureOr<linalg::LinalgOp> step = tile(
        rewriter, *block, depthTile, scf::SCFTilingOptions::LoopType::ForOp);
    if (failed(step))
      return block->emitOpError("could not be tiled along its depth");

    // Static tiles (the sizes' upper bounds): the operand tiles always get
    // their own buffers, the C tile only where it is ragged.
    linalg::LinalgPaddingOptions padding;
    SmallVector<Attribute> zeros;
    for (OpOperand &operand : step->getOperation()->getOpOperands())
      zeros.push_back(
          rewriter.getZeroAttr(getElementTypeOrSelf(operand.get().getType())));
    SmallVector<int64_t> allDims(loops);
    std::iota(allDims.begin(), allDims.end(), 0);
    SmallVector<bool> copies(step->getOperation()->getNumOperands(), false);
    for (OpOperand *input : step->getDpsInputOperands())
      copies[input->getOperandNumber()] = true;
    // Every dimension of every operand pads to its loop's tile size.
    SmallVector<int64_t> tileOf(loops);
    for (unsigned d = 0; d < loops; ++d)
      tileOf[d] = std::max(blockTile[d], depthTile[d]);
    for (OpOperand &operand : step->getOperation()->getOpOperands()) {
      AffineMap map = step->getMatchingIndexingMap(&operand);
      for (auto [position, expr] : llvm::enumerate(map.getResults()))
        if (auto dim = dyn_cast<AffineDimExpr>(expr))
          padding.setSizeToPadTo(
              operand.getOperandNumber(), position,
              rewriter.getIndexAttr(tileOf[dim.getPosition()]));
    }
    padding.setPaddingValues(zeros)
        .setPaddingDimensions(allDims)
        .setNofoldFlags(copies)
        .setCopyBackOp(linalg::LinalgPaddingOptions::CopyBackOp::None);
    linalg::LinalgOp padded;
    SmallVector<Value> replacements;
    SmallVector<tensor::PadOp> pads;
    rewriter.setInsertionPoint(*step);
    if (failed(linalg::rewriteAsPaddedOp(rewriter, *step, padding, padded,
                                         replacements, pads)))
      return step->emitOpError("has no static operand tiles");
    // A ragged C tile was computed in a padded copy: its valid part goes
    // back into the tile (in place after bufferization). A whole tile was
    // updated in place and needs no copy.
    Value init = step->getDpsInitOperand(0)->get();
    if (padded.getDpsInitOperand(0)->get().getType() != init.getType()) {
      rewriter.setInsertionPointAfterValue(replacements.front());
      replacements.front() = linalg::CopyOp::create(rewriter, step->getLoc(),
                                                    replacements.front(), init)
                                 .getResult(0);
    }
    rewriter.replaceOp(*step, replacements);
    return success();
  }

  void runOnOperation() override {
    if (tileM <= 0 || tileN <= 0 || tileK <= 0) {
      getOperation().emitError("tile sizes must be positive");
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> contractions;
    getOperation().walk([&](linalg::LinalgOp op) {
      // Inside a parallel loop (attention's chunks) a product is already
      // one block's work.
      if (op->getParentOfType<scf::ForallOp>() || !op.hasPureTensorSemantics())
        return;
      if (linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : contractions)
      if (failed(tileOne(rewriter, op)))
        return signalPassFailure();
  }
};
} // namespace
