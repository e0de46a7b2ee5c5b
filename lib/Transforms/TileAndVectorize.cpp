//===- TileAndVectorize.cpp - Vector kernels for linalg ops on tensors ----===//
//
// Matmuls get a hand-built register-tiled kernel rather than the generic
// linalg vectorizer: the kernel shape (mr rows x nr lanes, k unrolled,
// B repacked into contiguous panels) is what reaches FMA throughput on
// AVX2-class cores, and building it directly avoids the contraction lowering
// fallbacks (dot products, unit-dim contractions) that cost 5-10x.
//
// Repacking a transposed B costs a full pass over B per call, which is most
// of the work when A has only a few rows (single-token decoding). Those
// matmuls get a kernel that reads B in place instead: square nr x nr blocks
// of B are transposed in registers, so the FMAs, and thus the rounding, are
// exactly those of the register tile (see emitTransposedTile).
//
// Elementwise and reduction generics use upstream tiling and
// linalg::vectorize: they are memory bound, so an innermost strip of vector
// lanes is all they need.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_TILEANDVECTORIZE
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {

/// Whether `op` is nested in a loop whose iterations may run in parallel.
static bool isInParallelLoop(Operation *op) {
  return op->getParentOfType<scf::ForallOp>() ||
         op->getParentOfType<scf::ParallelOp>();
}

/// Transposes the square block held in `rows` (one vector per row, as many
/// lanes as rows, a power of two) in place. Stage `bit` swaps that bit
/// between the row and the lane index of every element by shuffling each
/// pair of rows that differ in it; after all stages element (r, l) sits in
/// row l, lane r. Two-source shuffles with constant masks map onto single
/// permute instructions.
static void transposeInRegisters(OpBuilder &b, Location loc,
                                 SmallVectorImpl<Value> &rows) {
  int64_t n = rows.size();
  for (int64_t bit = 1; bit < n; bit <<= 1) {
    SmallVector<int64_t> lowMask(n), highMask(n);
    for (int64_t l = 0; l < n; ++l) {
      lowMask[l] = (l & bit) ? n + (l ^ bit) : l;
      highMask[l] = (l & bit) ? n + l : (l ^ bit);
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r & bit)
        continue;
      Value low = rows[r], high = rows[r | bit];
      rows[r] = vector::ShuffleOp::create(b, loc, low, high, lowMask);
      rows[r | bit] = vector::ShuffleOp::create(b, loc, low, high, highMask);
    }
  }
}

//===----------------------------------------------------------------------===//
// Matmul kernels
//===----------------------------------------------------------------------===//

/// Tile sizes of the matmul kernel (see the pass options).
struct MatmulTiling {
  int64_t mr, nr, mc, kc, kUnroll, gemvRows, gemvNc, packMinRows,
      transposeBlock, threads;
  bool lhsRowSlices;
};

/// Whether `op` is C[M, N] += A * B on static f32 tensors with A either
/// [M, K] or [K, M] and B either [K, N] or [N, K]; sets `transposedA` and
/// `transposedB` for the latter forms.
static bool matchMatmul(linalg::MatmulOp op, bool &transposedA,
                        bool &transposedB) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return false;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type || !type.hasStaticShape() || type.getRank() != 2 ||
        !type.getElementType().isF32())
      return false;
  }
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto map = [&](AffineExpr a, AffineExpr b) {
    return AffineMap::get(3, 0, {a, b}, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps.size() != 3 || maps[2] != map(m, n))
    return false;
  if (maps[0] == map(m, k))
    transposedA = false;
  else if (maps[0] == map(k, m))
    transposedA = true;
  else
    return false;
  if (maps[1] == map(k, n))
    transposedB = false;
  else if (maps[1] == map(n, k))
    transposedB = true;
  else
    return false;
  return true;
}

/// Emits the kernel of one matmul into `b` and returns the result tensor.
class MatmulKernel {
public:
  /// With `pack`, B is first repacked into panels (in parallel with
  /// `parallel`); otherwise it is read as it is: a plain B row by row, a
  /// transposed one through the small-M kernel (buildTransposed).
  ///
  /// A transposed A ([K, M]) is repacked with `pack` too, into one panel per
  /// register tile (packLhsTiles): read in place, the tile's values at
  /// successive k steps lie M * 4 bytes apart (often a power of two), so a
  /// block of k steps competes for a few cache sets.
  MatmulKernel(OpBuilder &b, Location loc, Value lhs, Value rhs,
               bool transposedA, bool transposedB, bool pack, bool sliceLhs,
               bool parallel, const MatmulTiling &tiling)
      : b(b), loc(loc), lhs(lhs), transposedA(transposedA),
        sliceLhs(sliceLhs && !transposedA), tiling(tiling) {
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    numK = lhsType.getDimSize(transposedA ? 0 : 1);
    numN = transposedB ? rhsType.getDimSize(0) : rhsType.getDimSize(1);
    vectorType = VectorType::get({tiling.nr}, b.getF32Type());
    zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    packed = pack;
    this->rhs = packed ? packPanels(rhs, transposedB, parallel) : rhs;
    packedLhs = pack && transposedA;
    if (packedLhs)
      this->lhs = packLhsTiles(lhs, parallel);
  }

  /// C[M, N] += A * B for the accumulator `init`.
  Value build(Value init, bool parallel) {
    return emitRowBlocks(init, parallel);
  }

  /// C[M, N] += A * B for the accumulator `init` with fewer than gemv-rows
  /// rows and B an unpacked [N, K] operand: blocks of gemv-nc columns, each a
  /// loop over panels of nr columns. The blocks are independent (each writes
  /// its own columns of C), so with `parallel` they form an scf.forall.
  Value buildTransposed(Value init, bool parallel) {
    int64_t numM = cast<RankedTensorType>(init.getType()).getDimSize(0);
    int64_t numPanels = numN / tiling.nr;
    int64_t blockPanels =
        std::clamp(tiling.gemvNc / tiling.nr, int64_t(1), numPanels);
    int64_t numBlocks = llvm::divideCeil(numPanels, blockPanels);
    OpBuilder::InsertionGuard guard(b);

    // The [M, columns] slice of `c` for `block`, updated by the kernel.
    auto emitBlock = [&](Value c, Value block, InsertSliceFn insert) {
      AffineExpr d0;
      bindDims(b.getContext(), d0);
      OpFoldResult firstPanel = affine::makeComposedFoldedAffineApply(
          b, loc, d0 * blockPanels, {OpFoldResult(block)});
      OpFoldResult panels = affine::makeComposedFoldedAffineMin(
          b, loc,
          AffineMap::get(1, 0,
                         {b.getAffineConstantExpr(blockPanels),
                          numPanels - d0 * blockPanels},
                         b.getContext()),
          {OpFoldResult(block)});
      SmallVector<OpFoldResult> offsets = {
          b.getIndexAttr(0), affine::makeComposedFoldedAffineApply(
                                 b, loc, d0 * tiling.nr, {firstPanel})};
      SmallVector<OpFoldResult> sizes = {
          b.getIndexAttr(numM),
          affine::makeComposedFoldedAffineApply(b, loc, d0 * tiling.nr,
                                                {panels})};
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, c, offsets, sizes,
          SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
      Value first = getValueOrCreateConstantIndexOp(b, loc, firstPanel);
      scf::ForOp panelLoop = makeLoop(
          index(0), getValueOrCreateConstantIndexOp(b, loc, panels), index(1),
          slice, [&](Value panel, ValueRange args) {
            Value global = arith::AddIOp::create(b, loc, first, panel);
            return SmallVector<Value>{
                emitTransposedTile(args[0], panel, global, numM)};
          });
      insert(panelLoop.getResult(0), offsets, sizes);
    };

    return emitIndependentBlocks(init, numBlocks, parallel, emitBlock);
  }

private:
  /// Writes an updated slice back into the tensor a block works on.
  using InsertSliceFn = function_ref<void(Value, ArrayRef<OpFoldResult>,
                                          ArrayRef<OpFoldResult>)>;
  /// Computes block `block` of `c` and hands its slice to the insert function.
  using BlockFn = function_ref<void(Value c, Value block, InsertSliceFn)>;

  /// `numBlocks` blocks of `init` that each write their own slice: an scf.for
  /// carrying the tensor, or with `parallel` an scf.forall whose blocks
  /// insert in parallel.
  Value emitIndependentBlocks(Value init, int64_t numBlocks, bool parallel,
                              BlockFn emitBlock) {
    auto unitStrides = [&](ArrayRef<OpFoldResult> offsets) {
      return SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1));
    };
    if (!parallel) {
      scf::ForOp blocks = makeLoop(
          index(0), index(numBlocks), index(1), init,
          [&](Value block, ValueRange args) {
            Value result;
            emitBlock(args[0], block,
                      [&](Value updated, ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) {
                        result = tensor::InsertSliceOp::create(
                            b, loc, updated, args[0], offsets, sizes,
                            unitStrides(offsets));
                      });
            return SmallVector<Value>{result};
          });
      return blocks.getResult(0);
    }

    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(numBlocks)},
        ValueRange{init}, std::nullopt);
    b.setInsertionPointToStart(forall.getBody());
    Value shared = forall.getRegionIterArgs()[0];
    emitBlock(shared, forall.getInductionVars()[0],
              [&](Value updated, ArrayRef<OpFoldResult> offsets,
                  ArrayRef<OpFoldResult> sizes) {
                OpBuilder::InsertionGuard inner(b);
                b.setInsertionPointToStart(forall.getTerminator().getBody());
                tensor::ParallelInsertSliceOp::create(b, loc, updated, shared,
                                                      offsets, sizes,
                                                      unitStrides(offsets));
              });
    return forall.getResult(0);
  }

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

  /// B -> panels [N / nr, K, nr] with panels[j, k, l] = B(k, j * nr + l),
  /// where B(k, n) is source[k, n], or source[n, k] when `transposedSource`:
  /// the nr values one k step needs are contiguous, and a panel is read front
  /// to back. The panels are independent blocks (an scf.forall with
  /// `parallel`). A plain source is copied row by row; a transposed one goes
  /// through square blocks transposed in registers. A transposed source whose
  /// nr the transpose block does not divide gets a linalg.transpose.
  Value packPanels(Value source, bool transposedSource, bool parallel) {
    int64_t numPanels = numN / tiling.nr;
    int64_t block = tiling.transposeBlock;
    if (transposedSource &&
        (block < 1 || !llvm::isPowerOf2_64(block) || tiling.nr % block != 0)) {
      auto expandedType =
          RankedTensorType::get({numPanels, tiling.nr, numK}, b.getF32Type());
      Value expanded = tensor::ExpandShapeOp::create(
          b, loc, expandedType, source,
          SmallVector<ReassociationIndices>{{0, 1}, {2}});
      Value empty = tensor::EmptyOp::create(
          b, loc, ArrayRef<int64_t>{numPanels, numK, tiling.nr},
          b.getF32Type());
      return linalg::TransposeOp::create(b, loc, expanded, empty,
                                         ArrayRef<int64_t>{0, 2, 1})
          .getResult()
          .front();
    }

    Value empty = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{numPanels, numK, tiling.nr}, b.getF32Type());
    auto panelType = RankedTensorType::get({numK, tiling.nr}, b.getF32Type());
    OpBuilder::InsertionGuard guard(b);
    auto emitPanel = [&](Value packedPanels, Value panel,
                         InsertSliceFn insert) {
      SmallVector<OpFoldResult> offsets = {panel, b.getIndexAttr(0),
                                           b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {
          b.getIndexAttr(1), b.getIndexAttr(numK), b.getIndexAttr(tiling.nr)};
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, panelType, packedPanels, offsets, sizes,
          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
      Value column = arith::MulIOp::create(b, loc, panel, index(tiling.nr));
      Value filled = transposedSource
                         ? packTransposedPanel(slice, source, column, block)
                         : packPlainPanel(slice, source, column);
      insert(filled, offsets, sizes);
    };
    return emitIndependentBlocks(empty, numPanels, parallel, emitPanel);
  }

  /// panel[k, :] = source[k, column : column + nr] for every k.
  Value packPlainPanel(Value panel, Value source, Value column) {
    scf::ForOp rows = makeLoop(
        index(0), index(numK), index(1), panel, [&](Value k, ValueRange args) {
          Value row = vector::TransferReadOp::create(
              b, loc, vectorType, source, ValueRange{k, column}, zero,
              ArrayRef<bool>{true});
          return SmallVector<Value>{
              vector::TransferWriteOp::create(b, loc, row, args[0],
                                              ValueRange{k, index(0)},
                                              ArrayRef<bool>{true})
                  .getResult()};
        });
    return rows.getResult(0);
  }

  /// Rows firstRow .. firstRow + side - 1 of `source` from column `k`, each
  /// `width` (at most `side`, a power of two) elements zero-padded to `side`
  /// lanes, transposed in registers: element t of the result holds column
  /// k + t of those rows.
  SmallVector<Value> loadTransposedBlock(Value source, Value firstRow, Value k,
                                         int64_t width, int64_t side) {
    auto readType = VectorType::get({width}, b.getF32Type());
    auto blockType = VectorType::get({side}, b.getF32Type());
    Value padding;
    if (width < side)
      padding = arith::ConstantOp::create(
          b, loc, blockType, DenseElementsAttr::get(blockType, 0.0f));
    SmallVector<Value> rows;
    for (int64_t i = 0; i < side; ++i) {
      Value n = arith::AddIOp::create(b, loc, firstRow, index(i));
      Value row = vector::TransferReadOp::create(b, loc, readType, source,
                                                 ValueRange{n, k}, zero,
                                                 ArrayRef<bool>{true});
      if (padding)
        row = vector::InsertStridedSliceOp::create(
            b, loc, row, padding, ArrayRef<int64_t>{0}, ArrayRef<int64_t>{1});
      rows.push_back(row);
    }
    transposeInRegisters(b, loc, rows);
    return rows;
  }

  /// panel[k, l] = source[column + l, k] for every k, in square blocks of
  /// `block` (a power of two dividing nr) k steps by `block` lanes.
  Value packTransposedPanel(Value panel, Value source, Value column,
                            int64_t block) {
    // Blocks of `width` (at most `block`) k steps from `k`.
    auto emitSteps = [&](Value acc, Value k, int64_t width) {
      for (int64_t lane0 = 0; lane0 < tiling.nr; lane0 += block) {
        Value firstRow = arith::AddIOp::create(b, loc, column, index(lane0));
        SmallVector<Value> rows =
            loadTransposedBlock(source, firstRow, k, width, block);
        for (int64_t t = 0; t < width; ++t) {
          Value kt = arith::AddIOp::create(b, loc, k, index(t));
          acc = vector::TransferWriteOp::create(b, loc, rows[t], acc,
                                                ValueRange{kt, index(lane0)},
                                                ArrayRef<bool>{true})
                    .getResult();
        }
      }
      return acc;
    };
    int64_t fullK = numK / block * block;
    if (fullK > 0)
      panel =
          makeLoop(index(0), index(fullK), index(block), panel,
                   [&](Value k, ValueRange args) {
                     return SmallVector<Value>{emitSteps(args[0], k, block)};
                   })
              .getResult(0);
    if (fullK < numK)
      panel = emitSteps(panel, index(fullK), numK - fullK);
    return panel;
  }

  /// A transposed A [K, M] -> tiles [ceil(M / mr), K, w] with
  /// tiles[t, k, r] = source[k, t * mr + r] (zero past M), w being mr
  /// rounded up to a power of two: the values one k step of a register tile
  /// broadcasts share a cache line, and a tile is read front to back. The
  /// tiles are independent blocks (an scf.forall with `parallel`).
  Value packLhsTiles(Value source, bool parallel) {
    int64_t numM = cast<RankedTensorType>(source.getType()).getDimSize(1);
    int64_t numTiles = llvm::divideCeil(numM, tiling.mr);
    int64_t width = llvm::PowerOf2Ceil(tiling.mr);
    auto rowType = VectorType::get({width}, b.getF32Type());
    auto tileType = RankedTensorType::get({numK, width}, b.getF32Type());
    Value empty = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{numTiles, numK, width}, b.getF32Type());
    OpBuilder::InsertionGuard guard(b);
    auto emitTilePanel = [&](Value tiles, Value tile, InsertSliceFn insert) {
      SmallVector<OpFoldResult> offsets = {tile, b.getIndexAttr(0),
                                           b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {
          b.getIndexAttr(1), b.getIndexAttr(numK), b.getIndexAttr(width)};
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, tileType, tiles, offsets, sizes,
          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
      Value column = arith::MulIOp::create(b, loc, tile, index(tiling.mr));
      // Lanes past mr belong to the next tile (or lie past M, read as zero);
      // the kernel never reads them.
      scf::ForOp rows =
          makeLoop(index(0), index(numK), index(1), slice,
                   [&](Value k, ValueRange args) {
                     Value row = vector::TransferReadOp::create(
                         b, loc, rowType, source, ValueRange{k, column}, zero,
                         ArrayRef<bool>{false});
                     return SmallVector<Value>{vector::TransferWriteOp::create(
                                                   b, loc, row, args[0],
                                                   ValueRange{k, index(0)},
                                                   ArrayRef<bool>{true})
                                                   .getResult()};
                   });
      insert(rows.getResult(0), offsets, sizes);
    };
    return emitIndependentBlocks(empty, numTiles, parallel, emitTilePanel);
  }

  /// Row blocks of mc rows, each a loop over panels around a loop over
  /// register tiles. The blocks are independent (each writes its own rows of
  /// C), so with `parallel` they form an scf.forall.
  Value emitRowBlocks(Value init, bool parallel) {
    int64_t numM = cast<RankedTensorType>(init.getType()).getDimSize(0);
    // Register tiles, the last one possibly shorter: the rows that fill
    // tiles end at `fullRows`, and the last block also gets the rows left
    // over, so that the whole matmul is this one loop and its consumers can
    // be fused into it (FuseMatmulEpilogues).
    int64_t fullRows = numM / tiling.mr * tiling.mr;
    int64_t leftover = numM - fullRows;
    int64_t numTiles = llvm::divideCeil(numM, tiling.mr);
    // About mc rows per block, as many blocks as threads share them (or a
    // multiple), the tiles spread evenly: block i starts at tile
    // floor(i * numTiles / numBlocks). Blocks of whole mc rows would leave
    // one thread with a block more than the other.
    int64_t numBlocks =
        llvm::divideCeil(numTiles, std::max(tiling.mc / tiling.mr, int64_t(1)));
    if (parallel && tiling.threads > 1)
      numBlocks =
          std::min<int64_t>(llvm::alignTo(numBlocks, tiling.threads), numTiles);
    OpBuilder::InsertionGuard guard(b);

    // The [rows, N] slice of `c` for `block`, updated by the kernel.
    auto emitBlock = [&](Value c, Value block, InsertSliceFn insert) {
      AffineExpr d0;
      bindDims(b.getContext(), d0);
      auto blockStart = [&](AffineExpr i) {
        return (i * numTiles).floorDiv(numBlocks) * tiling.mr;
      };
      OpFoldResult firstRow = affine::makeComposedFoldedAffineApply(
          b, loc, blockStart(d0), {OpFoldResult(block)});
      auto rowsUpTo = [&](int64_t end) {
        return affine::makeComposedFoldedAffineMin(
            b, loc,
            AffineMap::get(
                1, 0,
                {blockStart(d0 + 1) - blockStart(d0), end - blockStart(d0)},
                b.getContext()),
            {OpFoldResult(block)});
      };
      OpFoldResult numRows = rowsUpTo(numM);
      SmallVector<OpFoldResult> offsets = {firstRow, b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {numRows, b.getIndexAttr(numN)};
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, c, offsets, sizes,
          SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
      // With `sliceLhs`, A is read through the block's rows, a slice: the op
      // that computes A (a normalization) can then be fused into the loop
      // (FuseMatmulPrologues). Otherwise A is indexed by global row.
      if (!sliceLhs)
        rowOffset = getValueOrCreateConstantIndexOp(b, loc, firstRow);
      else
        blockLhs = tensor::ExtractSliceOp::create(
            b, loc, lhs, SmallVector<OpFoldResult>{firstRow, b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{numRows, b.getIndexAttr(numK)},
            SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
      Value tilesEnd =
          getValueOrCreateConstantIndexOp(b, loc, rowsUpTo(fullRows));
      // Blocks of kc reduction steps: the kc x nr part of a panel that the
      // register tiles of the block share stays in L1.
      int64_t kc = tiling.kc > 0 ? std::min(tiling.kc, numK) : numK;
      int64_t fullDepth = numK / kc * kc;
      Value updated = slice;
      if (fullRows == 0) {
        // Only the rows left over.
      } else if (fullDepth == kc) {
        updated =
            emitRows(updated, index(0), tilesEnd, tiling.mr, index(0), kc);
      } else if (fullDepth > 0) {
        updated =
            makeLoop(index(0), index(fullDepth), index(kc), updated,
                     [&](Value k0, ValueRange args) {
                       return SmallVector<Value>{emitRows(
                           args[0], index(0), tilesEnd, tiling.mr, k0, kc)};
                     })
                .getResult(0);
      }
      if (fullRows > 0 && fullDepth < numK)
        updated = emitRows(updated, index(0), tilesEnd, tiling.mr,
                           index(fullDepth), numK - fullDepth);
      // The rows left over: none in a full block (its tiles end at its last
      // row), `leftover` in the last one, so this loop runs at most once.
      if (leftover > 0)
        updated = emitRows(updated, tilesEnd,
                           getValueOrCreateConstantIndexOp(b, loc, numRows),
                           leftover, index(0), numK);
      rowOffset = Value();
      blockLhs = Value();
      insert(updated, offsets, sizes);
    };

    Value result = emitIndependentBlocks(init, numBlocks,
                                         parallel && numBlocks > 1, emitBlock);
    result.getDefiningOp()->setAttr(mlir::megalodon::kMatmulRowBlocksAttrName,
                                    b.getUnitAttr());
    return result;
  }

  /// Reduction steps [k0, k0 + depth) of rows [lo, hi) of `c` (a multiple of
  /// `rows` apart): panels outermost so a panel of B is reused from L1 by
  /// every register tile of the block.
  Value emitRows(Value c, Value lo, Value hi, int64_t rows, Value k0,
                 int64_t depth) {
    scf::ForOp panels =
        makeLoop(index(0), index(numN / tiling.nr), index(1), c,
                 [&](Value panel, ValueRange panelArgs) {
                   scf::ForOp tiles = makeLoop(
                       lo, hi, index(rows), panelArgs,
                       [&](Value row, ValueRange tileArgs) {
                         return SmallVector<Value>{emitTile(
                             tileArgs[0], row, panel, rows, k0, depth)};
                       });
                   return SmallVector<Value>(tiles.getResults());
                 });
    return panels.getResult(0);
  }

  /// An scf.for whose body `body` builds (with `b` positioned inside it) and
  /// whose yielded values it returns.
  scf::ForOp
  makeLoop(Value lo, Value hi, Value step, ValueRange init,
           function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, loc, lo, hi, step, init);
    OpBuilder::InsertionGuard guard(b);
    Block *block = loop.getBody();
    if (!block->empty() && isa<scf::YieldOp>(block->back()))
      block->back().erase();
    b.setInsertionPointToEnd(block);
    SmallVector<Value> results =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    scf::YieldOp::create(b, loc, results);
    return loop;
  }

  /// The indices of A's row `row` + r (`row` within the C block) without
  /// the k index: the row of the block's slice of a plain A, the global row
  /// of a transposed one, or with packed tiles the tile and lane.
  /// Register tiles start at multiples of mr.
  SmallVector<Value, 2> lhsRow(Value row, int64_t r) {
    Value global = row;
    if (rowOffset)
      global = arith::AddIOp::create(b, loc, global, rowOffset);
    if (packedLhs)
      return {arith::DivUIOp::create(b, loc, global, index(tiling.mr)),
              index(r)};
    return {r == 0
                ? global
                : arith::AddIOp::create(b, loc, global, index(r)).getResult()};
  }

  /// The nr-wide row k of panel `panel` of B.
  Value loadRhs(Value panel, Value k) {
    if (packed)
      return vector::TransferReadOp::create(
          b, loc, vectorType, rhs, ValueRange{panel, k, index(0)}, zero,
          ArrayRef<bool>{true});
    Value column =
        arith::MulIOp::create(b, loc, panel, index(tiling.nr)).getResult();
    return vector::TransferReadOp::create(b, loc, vectorType, rhs,
                                          ValueRange{k, column}, zero,
                                          ArrayRef<bool>{true});
  }

  /// A[row, k] for the indices `row` of lhsRow.
  Value loadLhs(ArrayRef<Value> row, Value k) {
    SmallVector<Value, 3> indices;
    if (packedLhs)
      indices = {row[0], k, row[1]};
    else if (transposedA)
      indices = {k, row[0]};
    else
      indices = {row[0], k};
    return tensor::ExtractOp::create(b, loc, blockLhs ? blockLhs : lhs,
                                     indices);
  }

  /// One k step of the register tile: acc[r] += A[row + r, k] * B[k, panel].
  void emitStep(SmallVectorImpl<Value> &acc,
                ArrayRef<SmallVector<Value, 2>> rowIndices, Value panel,
                Value k) {
    Value rhsRow = loadRhs(panel, k);
    for (auto [r, rowIndex] : llvm::enumerate(rowIndices)) {
      Value a = loadLhs(rowIndex, k);
      Value splat = vector::BroadcastOp::create(b, loc, vectorType, a);
      // math.fma, not vector.fma: the latter lowers to llvm.fmuladd, which
      // LLVM may or may not fuse, and the rounding must not depend on that.
      acc[r] = math::FmaOp::create(b, loc, splat, rhsRow, acc[r]);
    }
  }

  /// The rows x nr tile of `c` at (row, panel * nr), accumulated in vector
  /// registers over reduction steps [k0, k0 + depth). Loading the partial
  /// sums back from C between blocks of k keeps every element one FMA chain
  /// over k in order: the result does not depend on the blocking.
  Value emitTile(Value c, Value row, Value panel, int64_t rows, Value k0,
                 int64_t depth) {
    Value column = arith::MulIOp::create(b, loc, panel, index(tiling.nr));
    SmallVector<SmallVector<Value, 2>> rowIndices;
    SmallVector<Value> cRows;
    for (int64_t r = 0; r < rows; ++r) {
      rowIndices.push_back(lhsRow(row, r));
      cRows.push_back(r == 0 ? row
                             : arith::AddIOp::create(b, loc, row, index(r))
                                   .getResult());
    }
    SmallVector<Value> acc;
    for (Value cRow : cRows)
      acc.push_back(vector::TransferReadOp::create(
          b, loc, vectorType, c, ValueRange{cRow, column}, zero,
          ArrayRef<bool>{true}));

    int64_t unroll = std::max(tiling.kUnroll, int64_t(1));
    int64_t unrolledK = depth / unroll * unroll;
    Value kEnd = arith::AddIOp::create(b, loc, k0, index(unrolledK));
    if (unrolledK > 0) {
      scf::ForOp kLoop = makeLoop(
          k0, kEnd, index(unroll), acc, [&](Value k, ValueRange accArgs) {
            SmallVector<Value> inner(accArgs);
            for (int64_t u = 0; u < unroll; ++u) {
              Value ku = u == 0 ? k
                                : arith::AddIOp::create(b, loc, k, index(u))
                                      .getResult();
              emitStep(inner, rowIndices, panel, ku);
            }
            return inner;
          });
      acc.assign(kLoop.getResults().begin(), kLoop.getResults().end());
    }
    for (int64_t k = unrolledK; k < depth; ++k)
      emitStep(acc, rowIndices, panel,
               arith::AddIOp::create(b, loc, kEnd, index(k - unrolledK)));

    return storeRows(c, cRows, column, acc);
  }

  /// `width` (at most nr) k steps from `k` of the small-M kernel: the nr x nr
  /// block of the [N, K] B at (wRow, k) is loaded row by row (contiguous),
  /// zero-padded past `width`, and transposed so that each k step gets the
  /// nr-wide row of B the register tile would load from a panel.
  void emitTransposedSteps(SmallVectorImpl<Value> &acc, Value wRow, Value k,
                           int64_t width) {
    SmallVector<Value> rows =
        loadTransposedBlock(rhs, wRow, k, width, tiling.nr);
    for (int64_t j = 0; j < width; ++j) {
      Value kj =
          j == 0 ? k : arith::AddIOp::create(b, loc, k, index(j)).getResult();
      for (size_t r = 0; r < acc.size(); ++r) {
        Value a = tensor::ExtractOp::create(b, loc, lhs,
                                            ValueRange{index(r), kj});
        Value splat = vector::BroadcastOp::create(b, loc, vectorType, a);
        // Same operands, order and op as emitStep: a row of C must round
        // identically whichever kernel computes it.
        acc[r] = math::FmaOp::create(b, loc, splat, rows[j], acc[r]);
      }
    }
  }

  /// All `rows` rows of C for the nr columns of panel `panel` of the block
  /// `c` (global panel `globalPanel` of B). Each accumulator lane runs the
  /// same chain of FMAs over k as in emitTile, so decoding (one row) and
  /// prefill (many rows, register tiles) agree bit for bit. The dependent
  /// chains are short next to the shuffles, and the out-of-order core
  /// overlaps the next block's loads and shuffles with them.
  Value emitTransposedTile(Value c, Value panel, Value globalPanel,
                           int64_t rows) {
    Value column = arith::MulIOp::create(b, loc, panel, index(tiling.nr));
    Value wRow = arith::MulIOp::create(b, loc, globalPanel, index(tiling.nr));
    SmallVector<Value> acc;
    for (int64_t r = 0; r < rows; ++r)
      acc.push_back(vector::TransferReadOp::create(
          b, loc, vectorType, c, ValueRange{index(r), column}, zero,
          ArrayRef<bool>{true}));

    int64_t fullK = numK / tiling.nr * tiling.nr;
    if (fullK > 0) {
      scf::ForOp kLoop = makeLoop(
          index(0), index(fullK), index(tiling.nr), acc,
          [&](Value k, ValueRange accArgs) {
            SmallVector<Value> inner(accArgs);
            emitTransposedSteps(inner, wRow, k, tiling.nr);
            return inner;
          });
      acc.assign(kLoop.getResults().begin(), kLoop.getResults().end());
    }
    if (fullK < numK)
      emitTransposedSteps(acc, wRow, index(fullK), numK - fullK);

    SmallVector<Value> cRows;
    for (int64_t r = 0; r < rows; ++r)
      cRows.push_back(index(r));
    return storeRows(c, cRows, column, acc);
  }

  /// Writes `values[r]` to row `cRows[r]` of `c` at `column`, the last row
  /// first. The order matters to bufferization: a transfer_write of one row
  /// at offset (0, 0) into a static tensor whose rows are exactly one vector
  /// wide is taken for an overwrite of the whole tensor (its check compares
  /// the vector's shape with the tensor's leading dimensions only), so when
  /// `c` must be copied its other rows would not be. Starting with the last
  /// row keeps the first write off the origin whenever there are other rows.
  Value storeRows(Value c, ArrayRef<Value> cRows, Value column,
                  ArrayRef<Value> values) {
    for (int64_t r = static_cast<int64_t>(values.size()) - 1; r >= 0; --r)
      c = vector::TransferWriteOp::create(b, loc, values[r], c,
                                          ValueRange{cRows[r], column},
                                          ArrayRef<bool>{true})
              .getResult();
    return c;
  }

  OpBuilder &b;
  Location loc;
  Value lhs, rhs;
  bool transposedA = false;
  /// Whether a plain A is read through a slice of each row block's rows.
  bool sliceLhs = false;
  bool packed = false;
  /// Whether `lhs` holds the packed tiles of a transposed A.
  bool packedLhs = false;
  const MatmulTiling &tiling;
  int64_t numK, numN;
  VectorType vectorType;
  Value zero;
  /// Offset of the rows of the C block being built within a transposed A,
  /// if any.
  Value rowOffset;
  /// The rows of a plain A for the C block being built, if any.
  Value blockLhs;
};

/// Whether `value` is computed by a linalg.generic (possibly through a
/// tensor.collapse_shape) that nothing else reads: a candidate for
/// FuseMatmulPrologues, which needs such an A read through per-block
/// slices. Other A operands keep global rows.
static bool computedOnlyForThis(Value value) {
  if (!value.hasOneUse())
    return false;
  if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
    value = collapse.getSrc();
  return value.hasOneUse() && value.getDefiningOp<linalg::GenericOp>();
}

/// Rewrites `op` into the register-tiled kernel if its shape allows.
static LogicalResult rewriteMatmul(RewriterBase &rewriter, linalg::MatmulOp op,
                                   MatmulTiling tiling, bool parallel) {
  bool transposedA = false, transposedB = false;
  if (!matchMatmul(op, transposedA, transposedB))
    return failure();
  auto resultType = cast<RankedTensorType>(op.getResultTypes()[0]);
  // Columns that the tile's width does not divide take a tile half as wide
  // (down to 8 lanes), so one odd width does not fall back to scalar code.
  // The width depends on N alone, never on M.
  while (resultType.getDimSize(1) % tiling.nr != 0 && tiling.nr % 2 == 0 &&
         tiling.nr / 2 >= 8)
    tiling.nr /= 2;
  // Every row goes through the kernel, however few there are: a row must
  // round identically whether it is computed in a call of one token or of
  // many (resumed streams are compared bit for bit with whole ones).
  if (resultType.getDimSize(1) % tiling.nr != 0)
    return failure();
  // Too few rows to amortize repacking B: read it in place. The in-register
  // transpose needs a power-of-two number of lanes. A plain B has its rows
  // contiguous already, but a panel's rows lie K * 4 bytes apart (often a
  // power of two: they compete for a few cache sets), so enough rows pay
  // for repacking it too.
  int64_t numM = resultType.getDimSize(0);
  bool inPlace = transposedB && !transposedA && numM < tiling.gemvRows &&
                 llvm::isPowerOf2_64(tiling.nr);
  bool pack = transposedB ? !inPlace : numM >= tiling.packMinRows;
  rewriter.setInsertionPoint(op);
  Value lhs = op.getDpsInputs()[0];
  MatmulKernel kernel(rewriter, op.getLoc(), lhs, op.getDpsInputs()[1],
                      transposedA, transposedB, pack,
                      tiling.lhsRowSlices && computedOnlyForThis(lhs), parallel,
                      tiling);
  Value result = inPlace ? kernel.buildTransposed(op.getDpsInits()[0], parallel)
                         : kernel.build(op.getDpsInits()[0], parallel);
  rewriter.replaceOp(op, result);
  return success();
}

//===----------------------------------------------------------------------===//
// Transposes
//===----------------------------------------------------------------------===//

/// Rewrites a 2-d linalg.transpose of a square f32 block whose side is a power
/// of two up to `maxSide` into one contiguous load per row, an in-register
/// transpose and one contiguous store per row. The scalar lowering would move
/// one element at a time. (The linear layers no longer transpose anything;
/// square blocks remain possible in the attention and CEMA lowerings.)
static LogicalResult rewriteSquareTranspose(RewriterBase &rewriter,
                                            linalg::TransposeOp op,
                                            int64_t maxSide) {
  if (!op.hasPureTensorSemantics())
    return failure();
  auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
  if (!type || !type.hasStaticShape() || type.getRank() != 2 ||
      !type.getElementType().isF32())
    return failure();
  int64_t side = type.getDimSize(0);
  if (side != type.getDimSize(1) || side > maxSide ||
      !llvm::isPowerOf2_64(side))
    return failure();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto rowType = VectorType::get({side}, rewriter.getF32Type());
  Value zero =
      arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
  SmallVector<Value> rows;
  for (int64_t i = 0; i < side; ++i) {
    Value row = arith::ConstantIndexOp::create(rewriter, loc, i);
    Value first = arith::ConstantIndexOp::create(rewriter, loc, 0);
    rows.push_back(vector::TransferReadOp::create(
        rewriter, loc, rowType, op.getInput(), ValueRange{row, first}, zero,
        ArrayRef<bool>{true}));
  }
  transposeInRegisters(rewriter, loc, rows);
  Value result = op.getInit();
  for (int64_t i = 0; i < side; ++i) {
    Value row = arith::ConstantIndexOp::create(rewriter, loc, i);
    Value first = arith::ConstantIndexOp::create(rewriter, loc, 0);
    result = vector::TransferWriteOp::create(rewriter, loc, rows[i], result,
                                             ValueRange{row, first},
                                             ArrayRef<bool>{true})
                 .getResult();
  }
  rewriter.replaceOp(op, result);
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise and reduction generics
//===----------------------------------------------------------------------===//

/// Whether the innermost loop of `op` is unit-stride (or absent) in every
/// operand, so that vectorizing it yields contiguous loads and stores.
static bool hasContiguousInnermostLoop(linalg::GenericOp op) {
  unsigned innermost = op.getNumLoops() - 1;
  for (AffineMap map : op.getIndexingMapsArray()) {
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true))
      return false;
    for (auto [position, expr] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (dim && dim.getPosition() == innermost &&
          position + 1 != map.getNumResults())
        return false;
    }
  }
  return true;
}

struct TileAndVectorizePass
    : public mlir::megalodon::impl::TileAndVectorizeBase<TileAndVectorizePass> {
  using TileAndVectorizeBase::TileAndVectorizeBase;

  void runOnOperation() override {
    if (mr < 1 || nr < 1 || mc < 1 || kc < 0 || kUnroll < 1 || gemvRows < 0 ||
        gemvNc < 1 || packMinRows < 0 || vectorSize < 1 || threads < 0) {
      getOperation()->emitError("tile sizes must be positive");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    if (matmul) {
      MatmulTiling tiling{mr,         nr,       mc,          kc,
                          kUnroll,    gemvRows, gemvNc,      packMinRows,
                          vectorSize, threads,  lhsRowSlices};
      SmallVector<linalg::MatmulOp> matmuls;
      getOperation()->walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
      for (linalg::MatmulOp op : matmuls)
        (void)rewriteMatmul(rewriter, op, tiling,
                            parallel && !isInParallelLoop(op));
    }
    if (elementwise) {
      SmallVector<linalg::GenericOp> generics;
      getOperation()->walk(
          [&](linalg::GenericOp op) { generics.push_back(op); });
      for (linalg::GenericOp op : generics)
        if (failed(vectorizeGeneric(rewriter, op)))
          return signalPassFailure();
      SmallVector<linalg::TransposeOp> transposes;
      getOperation()->walk(
          [&](linalg::TransposeOp op) { transposes.push_back(op); });
      for (linalg::TransposeOp op : transposes)
        (void)rewriteSquareTranspose(rewriter, op, vectorSize);
      cleanUpVectors();
    }
  }

  /// Tiles `op` to innermost strips and vectorizes them. Returns failure only
  /// on a broken rewrite; ops that do not qualify are left alone.
  LogicalResult vectorizeGeneric(RewriterBase &rewriter, linalg::GenericOp op) {
    if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0 ||
        !hasContiguousInnermostLoop(op))
      return success();
    SmallVector<int64_t> bounds = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    // Outer parallel loops may be dynamic (a consumer fused into a matmul's
    // row blocks has as many rows as its block): they are tiled to single
    // iterations, so the strips are static. The strip's own loop must be.
    bool dynamic = op.hasDynamicShape();
    if (dynamic && (ShapedType::isDynamic(bounds.back()) ||
                    llvm::any_of(llvm::zip(bounds, iterators), [](auto loop) {
                      return ShapedType::isDynamic(std::get<0>(loop)) &&
                             std::get<1>(loop) != utils::IteratorType::parallel;
                    })))
      return success();
    if (!dynamic && failed(linalg::vectorizeOpPrecondition(op)))
      return success();
    unsigned numLoops = bounds.size();
    int64_t innermost = bounds.back();
    bool innermostIsReduction =
        iterators.back() == utils::IteratorType::reduction;

    // The innermost strip: vector-size lanes when that divides the loop, the
    // whole loop when it is short enough to be one vector (reductions prefer
    // that: one horizontal reduction per row instead of one per strip).
    int64_t strip = 0;
    if (innermostIsReduction && innermost <= maxReductionSize)
      strip = innermost;
    else if (innermost % vectorSize == 0)
      strip = vectorSize;
    else if (innermost <= maxReductionSize)
      strip = innermost;
    else
      return success();

    // Parallel level: the outermost non-unit parallel loop (other than the
    // innermost) becomes an scf.forall of single iterations.
    Operation *target = op;
    int64_t total = 1;
    for (int64_t bound : bounds)
      total *= bound;
    if (parallel && !dynamic && !isInParallelLoop(op) &&
        total >= minParallelElements) {
      for (unsigned d = 0; d + 1 < numLoops; ++d) {
        if (iterators[d] != utils::IteratorType::parallel || bounds[d] == 1)
          continue;
        SmallVector<OpFoldResult> sizes(numLoops, rewriter.getIndexAttr(0));
        sizes[d] = rewriter.getIndexAttr(1);
        scf::SCFTilingOptions options;
        options.setTileSizes(sizes).setLoopType(
            scf::SCFTilingOptions::LoopType::ForallOp);
        rewriter.setInsertionPoint(target);
        FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
            rewriter, cast<TilingInterface>(target), options);
        if (failed(tiled))
          return success();
        rewriter.replaceOp(target, tiled->replacements);
        target = tiled->tiledOps.back();
        break;
      }
    }

    // Sequential level: every loop but the innermost one element at a time.
    SmallVector<OpFoldResult> sizes(numLoops, rewriter.getIndexAttr(1));
    for (unsigned d = 0; d < numLoops; ++d)
      if (bounds[d] == 1)
        sizes[d] = rewriter.getIndexAttr(0);
    sizes.back() = rewriter.getIndexAttr(strip == innermost ? 0 : strip);
    scf::SCFTilingOptions options;
    options.setTileSizes(sizes);
    rewriter.setInsertionPoint(target);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(target), options);
    if (failed(tiled))
      return target->emitError("tiling a vectorizable generic failed");
    rewriter.replaceOp(target, tiled->replacements);
    Operation *tile = tiled->tiledOps.back();

    rewriter.setInsertionPoint(tile);
    if (failed(linalg::vectorizeOpPrecondition(tile)))
      return success(); // The scalar tile is still correct.
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tile);
    if (failed(vectorized))
      return success(); // The scalar tile is still correct.
    rewriter.replaceOp(tile, vectorized->replacements);
    return success();
  }

  /// Drops the unit dims that tiling leaves on the vectors (they would become
  /// LLVM arrays of vectors) and folds the tile loops' leftovers.
  void cleanUpVectors() {
    RewritePatternSet patterns(&getContext());
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    vector::populateVectorTransferDropUnitDimsPatterns(patterns);
    vector::populateDropUnitDimWithShapeCastPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns,
                                                        &getContext());
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns,
                                                         &getContext());
    vector::BroadcastOp::getCanonicalizationPatterns(patterns, &getContext());
    vector::ShapeCastOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
