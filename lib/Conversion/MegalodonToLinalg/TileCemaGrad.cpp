//===- TileCemaGrad.cpp - cema_grad as a vector adjoint scan --------------===//
//
// The per-step lowering of CemaGrad.cpp runs the checkpointed adjoint scan
// of MODEL.md section 8 (A) one time step at a time over the whole
// [B, D, N] state: every step loads and stores the state, the adjoint and
// five gradient sums. For a cema_grad with a tile config
// (TileSizesCema.cpp) this file runs the same algorithm with the loop order
// of the forward's vector scan (TileCema.cpp): each (batch row, group of
// `lanes` channels) is independent, and within it
//
//   1. a forward scan over all of time stores the state before each block
//      of K = checkpoint_block steps (checkpoints [nb, 2, N, lanes]);
//   2. for each block, last to first, and each group of G = state_group
//      states:
//      a. the block's states are recomputed from its checkpoint into a
//         buffer [K + 1, 2, G, lanes] (slot i + 1: after the block's step
//         i), which stays in L1;
//      b. the adjoint scan runs backward through the block with everything
//         it carries in registers, per state, as vectors of lanes channels:
//           lambda = mu + gy conj(gamma)        mu <- conj(q) lambda
//           sum p  += u Re(lambda)              gx_t += p Re(lambda)
//           sum q  += lambda conj(h_{t-1})      sum gamma += gy conj(h_t)
//         (7 G vectors); between blocks they rest in the group's rows of an
//         adjoint buffer [7, N, lanes] (mu re/im, p, q re/im, gamma re/im).
//
// gx starts as the skip path omega gy and each group adds its states'
// share. After the scan, the adjoint buffers of all rows and channel groups
// ([B, 7, N, D]) give g_hx (mu after step 0) and, summed over the batch in
// order, the sums that the chain rule shared with CemaGrad.cpp turns into
// the stored parameters' gradients.
//
// Arithmetic: as the per-step lowering, but with FMAs and with the sums
// accumulated in a different order (time within blocks, then blocks), so
// results differ in the last bits; both are checked against the reference.
//
//===----------------------------------------------------------------------===//

#include "CemaGradBuilders.h"
#include "CemaTiling.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

struct AdjointTiling {
  int64_t checkpointBlock, lanes, stateGroup;
};

/// Rows of the adjoint buffer: what the backward scan carries per state.
enum AdjointRow : int64_t {
  MuRe,
  MuIm,
  SumP,
  SumQRe,
  SumQIm,
  SumGammaRe,
  SumGammaIm,
  NumAdjointRows
};

/// Builds the backward of one (batch row, channel group): the body of the
/// scf.forall.
class GroupAdjoint : LaneVectors {
public:
  GroupAdjoint(OpBuilder &b, Location loc, const CemaShape &shape,
               const AdjointTiling &tiling, ValueRange coefficients, Value x,
               Value gy)
      : LaneVectors(b, loc, tiling.lanes), b(b), loc(loc), shape(shape),
        tiling(tiling), coefficients(coefficients.begin(), coefficients.end()),
        x(x), gy(gy),
        numBlocks(llvm::divideCeil(shape.steps, tiling.checkpointBlock)) {}

  /// The scan for channels [d0, d0 + lanes): `gx` [L, lanes] (holding the
  /// skip path), the initial state `state` [2, N, lanes] and the adjoint
  /// buffer `adjoint` [7, N, lanes] (mu = the last state's cotangent, sums
  /// zero). Returns the final {gx, adjoint}.
  SmallVector<Value> build(Value d0, Value gx, Value state, Value adjoint) {
    this->d0 = d0;
    Value checkpoints = buildCheckpoints(state);
    Value buffer = createEmptyF32(
        b, loc,
        {tiling.checkpointBlock + 1, 2, tiling.stateGroup, tiling.lanes});
    auto blocks = scf::ForOp::create(
        b, loc, index(0), index(numBlocks), index(1),
        ValueRange{gx, adjoint, buffer},
        [&](OpBuilder &, Location, Value r, ValueRange carried) {
          Value block = arith::SubIOp::create(b, loc, index(numBlocks - 1), r);
          auto span = blockSpan(block);
          Value t0 = span.first, end = span.second;
          auto groups = scf::ForOp::create(
              b, loc, index(0), index(shape.states), index(tiling.stateGroup),
              carried, [&](OpBuilder &, Location, Value g, ValueRange inner) {
                Value filled =
                    recomputeBlock(checkpoints, block, t0, end, g, inner[2]);
                SmallVector<Value> next =
                    adjointBlock(t0, end, g, inner[0], inner[1], filled);
                next.push_back(filled);
                scf::YieldOp::create(b, loc, next);
              });
          scf::YieldOp::create(b, loc, groups.getResults());
        });
    return {blocks.getResult(0), blocks.getResult(1)};
  }

private:
  /// Steps [t0, end) of block `block`.
  std::pair<Value, Value> blockSpan(Value block) {
    Value t0 =
        arith::MulIOp::create(b, loc, block, index(tiling.checkpointBlock));
    Value end = arith::MinSIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, t0, index(tiling.checkpointBlock)),
        index(shape.steps));
    return {t0, end};
  }

  /// The rows g + j of the group, j < G.
  SmallVector<Value> groupRows(Value g) {
    SmallVector<Value> rows;
    for (int64_t j = 0; j < tiling.stateGroup; ++j)
      rows.push_back(j == 0 ? g : arith::AddIOp::create(b, loc, g, index(j)));
    return rows;
  }

  /// The coefficient vectors `which` (indices into `coefficients`) of the
  /// group's states, one list per coefficient.
  SmallVector<SmallVector<Value>> readCoefficients(ArrayRef<Value> rows,
                                                   ArrayRef<int> which) {
    SmallVector<SmallVector<Value>> result;
    for (int c : which) {
      SmallVector<Value> &list = result.emplace_back();
      for (Value r : rows)
        list.push_back(read(coefficients[c], {r, d0}));
    }
    return result;
  }

  /// Steps [from, to) of the forward recurrence h = p u + q h on the
  /// group's states `re`, `im` (G vectors each); `visit(t, re, im, values)`
  /// sees the states after step t and threads `values` through the loop.
  /// Returns {values..., re..., im...} after the last step.
  SmallVector<Value>
  forwardSteps(Value from, Value to, ArrayRef<Value> rows, ValueRange values,
               ArrayRef<Value> re, ArrayRef<Value> im,
               function_ref<SmallVector<Value>(Value, ArrayRef<Value>,
                                               ArrayRef<Value>, ValueRange)>
                   visit) {
    int64_t group = tiling.stateGroup;
    SmallVector<SmallVector<Value>> c = readCoefficients(rows, {0, 1, 2});
    SmallVector<Value> init(values.begin(), values.end());
    llvm::append_range(init, re);
    llvm::append_range(init, im);
    size_t numValues = values.size();
    auto loop = scf::ForOp::create(
        b, loc, from, to, index(1), init,
        [&](OpBuilder &, Location, Value t, ValueRange carried) {
          Value u = read(x, {t, index(0)});
          SmallVector<Value> newRe, newIm;
          for (int64_t j = 0; j < group; ++j) {
            Value oldRe = carried[numValues + j];
            Value oldIm = carried[numValues + group + j];
            // re' = qRe re - qIm im + p u,  im' = qRe im + qIm re.
            newRe.push_back(
                fnma(c[2][j], oldIm, fma(c[1][j], oldRe, mul(c[0][j], u))));
            newIm.push_back(fma(c[1][j], oldIm, mul(c[2][j], oldRe)));
          }
          SmallVector<Value> next =
              visit(t, newRe, newIm, carried.take_front(numValues));
          llvm::append_range(next, newRe);
          llvm::append_range(next, newIm);
          scf::YieldOp::create(b, loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Step 1: the state before each block, [nb, 2, N, lanes].
  Value buildCheckpoints(Value state) {
    Value checkpoints =
        createEmptyF32(b, loc, {numBlocks, 2, shape.states, tiling.lanes});
    int64_t group = tiling.stateGroup;
    // The last block's own steps are not needed: its checkpoint is the
    // last thing stored.
    auto blocks = scf::ForOp::create(
        b, loc, index(0), index(numBlocks), index(1),
        ValueRange{checkpoints, state},
        [&](OpBuilder &, Location, Value block, ValueRange carried) {
          auto span = blockSpan(block);
          Value t0 = span.first, end = span.second;
          auto groups = scf::ForOp::create(
              b, loc, index(0), index(shape.states), index(group), carried,
              [&](OpBuilder &, Location, Value g, ValueRange inner) {
                SmallVector<Value> rows = groupRows(g);
                Value stored = inner[0], parts = inner[1];
                SmallVector<Value> re, im;
                for (Value r : rows) {
                  re.push_back(read(parts, {index(0), r, index(0)}));
                  im.push_back(read(parts, {index(1), r, index(0)}));
                }
                for (int64_t j = 0; j < group; ++j) {
                  stored = write(re[j], stored,
                                 {block, index(0), rows[j], index(0)});
                  stored = write(im[j], stored,
                                 {block, index(1), rows[j], index(0)});
                }
                SmallVector<Value> last =
                    forwardSteps(t0, end, rows, {}, re, im,
                                 [](Value, ArrayRef<Value>, ArrayRef<Value>,
                                    ValueRange values) {
                                   return SmallVector<Value>(values);
                                 });
                for (int64_t j = 0; j < group; ++j) {
                  parts = write(last[j], parts, {index(0), rows[j], index(0)});
                  parts = write(last[group + j], parts,
                                {index(1), rows[j], index(0)});
                }
                scf::YieldOp::create(b, loc, ValueRange{stored, parts});
              });
          scf::YieldOp::create(b, loc, groups.getResults());
        });
    return blocks.getResult(0);
  }

  /// Step 2a: the group's states through block `block` into `buffer`.
  Value recomputeBlock(Value checkpoints, Value block, Value t0, Value end,
                       Value g, Value buffer) {
    int64_t group = tiling.stateGroup;
    SmallVector<Value> rows = groupRows(g);
    SmallVector<Value> re, im;
    for (int64_t j = 0; j < group; ++j) {
      re.push_back(read(checkpoints, {block, index(0), rows[j], index(0)}));
      im.push_back(read(checkpoints, {block, index(1), rows[j], index(0)}));
      buffer = write(re[j], buffer, {index(0), index(0), index(j), index(0)});
      buffer = write(im[j], buffer, {index(0), index(1), index(j), index(0)});
    }
    SmallVector<Value> last = forwardSteps(
        t0, end, rows, {buffer}, re, im,
        [&](Value t, ArrayRef<Value> newRe, ArrayRef<Value> newIm,
            ValueRange values) {
          Value slot = arith::AddIOp::create(
              b, loc, arith::SubIOp::create(b, loc, t, t0), index(1));
          Value filled = values[0];
          for (int64_t j = 0; j < group; ++j) {
            filled =
                write(newRe[j], filled, {slot, index(0), index(j), index(0)});
            filled =
                write(newIm[j], filled, {slot, index(1), index(j), index(0)});
          }
          return SmallVector<Value>{filled};
        });
    return last[0];
  }

  /// Step 2b: the adjoint scan of the group's states backward through steps
  /// [t0, end), with their states in `buffer`. Returns {gx, adjoint}.
  SmallVector<Value> adjointBlock(Value t0, Value end, Value g, Value gx,
                                  Value adjoint, Value buffer) {
    int64_t group = tiling.stateGroup;
    SmallVector<Value> rows = groupRows(g);
    // p, qRe, qIm, gammaRe, gammaIm.
    SmallVector<SmallVector<Value>> c = readCoefficients(rows, {0, 1, 2, 3, 4});
    // carried[row * G + j]: adjoint row `row` of state j.
    SmallVector<Value> init{gx};
    for (int64_t row = 0; row < NumAdjointRows; ++row)
      for (Value r : rows)
        init.push_back(read(adjoint, {index(row), r, index(0)}));
    Value count = arith::SubIOp::create(b, loc, end, t0);
    Value last = arith::SubIOp::create(b, loc, end, index(1));
    auto steps = scf::ForOp::create(
        b, loc, index(0), count, index(1), init,
        [&](OpBuilder &, Location, Value s, ValueRange carried) {
          Value t = arith::SubIOp::create(b, loc, last, s);
          Value slot = arith::SubIOp::create(b, loc, t, t0);
          Value nextSlot = arith::AddIOp::create(b, loc, slot, index(1));
          Value u = read(x, {t, index(0)});
          Value grad = read(gy, {t, index(0)});
          auto at = [&](int64_t row, int64_t j) {
            return carried[1 + row * group + j];
          };
          SmallVector<Value> next(NumAdjointRows * group);
          auto set = [&](int64_t row, int64_t j, Value v) {
            next[row * group + j] = v;
          };
          Value share = read(carried[0], {t, index(0)});
          for (int64_t j = 0; j < group; ++j) {
            Value prevRe = read(buffer, {slot, index(0), index(j), index(0)});
            Value prevIm = read(buffer, {slot, index(1), index(j), index(0)});
            Value curRe =
                read(buffer, {nextSlot, index(0), index(j), index(0)});
            Value curIm =
                read(buffer, {nextSlot, index(1), index(j), index(0)});
            // lambda = mu + gy conj(gamma).
            Value lamRe = fma(grad, c[3][j], at(MuRe, j));
            Value lamIm = fnma(grad, c[4][j], at(MuIm, j));
            share = fma(c[0][j], lamRe, share);
            set(SumP, j, fma(u, lamRe, at(SumP, j)));
            // sum q += lambda conj(h_{t-1}).
            set(SumQRe, j,
                fma(lamIm, prevIm, fma(lamRe, prevRe, at(SumQRe, j))));
            set(SumQIm, j,
                fnma(lamRe, prevIm, fma(lamIm, prevRe, at(SumQIm, j))));
            // sum gamma += gy conj(h_t).
            set(SumGammaRe, j, fma(grad, curRe, at(SumGammaRe, j)));
            set(SumGammaIm, j, fnma(grad, curIm, at(SumGammaIm, j)));
            // mu <- conj(q) lambda.
            set(MuRe, j, fma(c[2][j], lamIm, mul(c[1][j], lamRe)));
            set(MuIm, j, fnma(c[2][j], lamRe, mul(c[1][j], lamIm)));
          }
          SmallVector<Value> results{write(share, carried[0], {t, index(0)})};
          llvm::append_range(results, next);
          scf::YieldOp::create(b, loc, results);
        });
    for (int64_t row = 0; row < NumAdjointRows; ++row)
      for (int64_t j = 0; j < group; ++j)
        adjoint = write(steps.getResult(1 + row * group + j), adjoint,
                        {index(row), rows[j], index(0)});
    return {steps.getResult(0), adjoint};
  }

  OpBuilder &b;
  Location loc;
  CemaShape shape;
  AdjointTiling tiling;
  SmallVector<Value> coefficients; // [N, D]: p, qRe, qIm, gammaRe, gammaIm
  Value x, gy;
  int64_t numBlocks;
  Value d0;
};

/// The sizes of `op`'s config, or failure (with an error on the op) when the
/// op is outside what the scan handles (megalodon-verify-tile-configs runs
/// first in the pipeline and says why in detail).
FailureOr<AdjointTiling> readTiling(CemaGradOp op, const CemaShape &shape) {
  auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
  auto size = [&](StringRef name) {
    return getTileSize(config.getSizes(), name).value_or(0);
  };
  AdjointTiling tiling{size("checkpoint_block"), size("lanes"),
                       size("state_group")};
  if (tiling.checkpointBlock < 1 || tiling.lanes < 1 || tiling.stateGroup < 1 ||
      shape.channels % tiling.lanes != 0 ||
      shape.states % tiling.stateGroup != 0)
    return op.emitOpError("tile config does not fit the op: ")
           << config << " (run megalodon-verify-tile-configs)";
  tiling.checkpointBlock = std::min(tiling.checkpointBlock, shape.steps);
  return tiling;
}

/// [B, 7, N, D]: rows 0 and 1 the parts of g_h_last (or zeros), the sums
/// zero.
Value initialAdjoint(OpBuilder &b, Location loc, Value gHLast,
                     const CemaShape &shape) {
  Value adjoint = createFilledF32(
      b, loc, {shape.batch, NumAdjointRows, shape.states, shape.channels}, 0.0);
  if (!gHLast)
    return adjoint;
  Value mu = initialStateMajor(b, loc, gHLast, shape);
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = {
      b.getIndexAttr(shape.batch), b.getIndexAttr(2),
      b.getIndexAttr(shape.states), b.getIndexAttr(shape.channels)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, mu, adjoint, offsets, sizes,
                                       strides);
}

/// Rows [first, first + count) of the adjoint result [B, 7, N, D].
Value adjointRows(OpBuilder &b, Location loc, Value adjoint, int64_t first,
                  int64_t count, const CemaShape &shape) {
  auto type = RankedTensorType::get(
      {shape.batch, count, shape.states, shape.channels}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(first),
                                       b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {
      b.getIndexAttr(shape.batch), b.getIndexAttr(count),
      b.getIndexAttr(shape.states), b.getIndexAttr(shape.channels)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, adjoint, offsets, sizes,
                                        strides);
}

/// The five sums (p, q re/im, gamma re/im) of the adjoint result summed
/// over the batch, each [D, N]. The batch loop is a reduction loop, which
/// stays sequential: the order of the sum is fixed.
SmallVector<Value> sumsOverBatch(OpBuilder &b, Location loc, Value adjoint,
                                 const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  AffineExpr bi, d, n;
  bindDims(ctx, bi, d, n);
  SmallVector<AffineMap> maps;
  for (int64_t row = SumP; row < NumAdjointRows; ++row)
    maps.push_back(
        AffineMap::get(3, 0, {bi, getAffineConstantExpr(row, ctx), n, d}, ctx));
  SmallVector<Value> outs;
  for (int64_t row = SumP; row < NumAdjointRows; ++row) {
    outs.push_back(
        createFilledF32(b, loc, {shape.channels, shape.states}, 0.0));
    maps.push_back(AffineMap::get(3, 0, {d, n}, ctx));
  }
  SmallVector<Value> ins(outs.size(), adjoint);
  SmallVector<utils::IteratorType> iterators{utils::IteratorType::reduction,
                                             utils::IteratorType::parallel,
                                             utils::IteratorType::parallel};
  auto generic = linalg::GenericOp::create(
      b, loc, ValueRange(outs).getTypes(), ins, outs, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> next;
        for (size_t i = 0; i < outs.size(); ++i)
          next.push_back(
              arith::AddFOp::create(nb, nloc, args[outs.size() + i], args[i]));
        linalg::YieldOp::create(nb, nloc, next);
      });
  return SmallVector<Value>(generic.getResults());
}

} // namespace

LogicalResult mlir::megalodon::detail::tileCemaGrad(RewriterBase &rewriter,
                                                    CemaGradOp op) {
  FailureOr<CemaShape> scanShape =
      readScanShape(op,
                    {op.getX(), op.getAlpha(), op.getDelta(), op.getTheta(),
                     op.getGamma(), op.getOmega(), op.getGy()},
                    op.getX(), op.getAlpha());
  if (failed(scanShape))
    return failure();
  CemaShape shape = *scanShape;
  auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
  if (std::optional<int64_t> block =
          getTileSize(config.getSizes(), "matrix_block"))
    return buildCemaGradMatrixForm(rewriter, op, shape, *block);
  FailureOr<AdjointTiling> tiling = readTiling(op, shape);
  if (failed(tiling))
    return failure();

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  SmallVector<Value> coefficients =
      stateMajorCoefficients(rewriter, loc, op.getAlpha(), op.getDelta(),
                             op.getTheta(), op.getGamma(), shape);
  Value omega = parameterView(rewriter, loc, op.getOmega(), {shape.channels});
  Value state = initialStateMajor(rewriter, loc, op.getHx(), shape);
  Value gx = skipGradient(rewriter, loc, op.getGy(), omega, shape);
  Value adjoint = initialAdjoint(rewriter, loc, op.getGHLast(), shape);

  auto forall = scf::ForallOp::create(
      rewriter, loc,
      ArrayRef<OpFoldResult>{
          rewriter.getIndexAttr(shape.batch),
          rewriter.getIndexAttr(shape.channels / tiling->lanes)},
      ValueRange{gx, adjoint}, std::nullopt);
  rewriter.setInsertionPointToStart(forall.getBody());
  Value row = forall.getInductionVars()[0];
  Value d0 = arith::MulIOp::create(
      rewriter, loc, forall.getInductionVars()[1],
      arith::ConstantIndexOp::create(rewriter, loc, tiling->lanes));
  ValueRange shared = forall.getRegionIterArgs();

  OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);
  OpFoldResult lanes = rewriter.getIndexAttr(tiling->lanes);
  SmallVector<OpFoldResult> timeOffsets{row, zero, d0};
  SmallVector<OpFoldResult> timeSizes{one, rewriter.getIndexAttr(shape.steps),
                                      lanes};
  auto rowsSizes = [&](int64_t rows) {
    return SmallVector<OpFoldResult>{one, rewriter.getIndexAttr(rows),
                                     rewriter.getIndexAttr(shape.states),
                                     lanes};
  };
  SmallVector<OpFoldResult> rowsOffsets{row, zero, zero, d0};
  auto timeType = RankedTensorType::get({shape.steps, tiling->lanes},
                                        rewriter.getF32Type());
  auto rowsType = [&](int64_t rows) {
    return RankedTensorType::get({rows, shape.states, tiling->lanes},
                                 rewriter.getF32Type());
  };
  auto slice = [&](Value source, RankedTensorType type,
                   ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes) {
    SmallVector<OpFoldResult> strides(offsets.size(), one);
    return tensor::ExtractSliceOp::create(rewriter, loc, type, source, offsets,
                                          sizes, strides)
        .getResult();
  };
  // Private copies: the scan updates its state and adjoint in place (see
  // TileCema.cpp on why not in the shared tensors themselves).
  auto privateCopy = [&](Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    return linalg::CopyOp::create(
               rewriter, loc, value,
               createEmptyF32(rewriter, loc, type.getShape()))
        .getResult(0);
  };
  Value stateSlice =
      privateCopy(slice(state, rowsType(2), rowsOffsets, rowsSizes(2)));
  Value adjointSlice =
      privateCopy(slice(shared[1], rowsType(NumAdjointRows), rowsOffsets,
                        rowsSizes(NumAdjointRows)));
  GroupAdjoint scan(rewriter, loc, shape, *tiling, coefficients,
                    slice(op.getX(), timeType, timeOffsets, timeSizes),
                    slice(op.getGy(), timeType, timeOffsets, timeSizes));
  SmallVector<Value> results =
      scan.build(d0, slice(shared[0], timeType, timeOffsets, timeSizes),
                 stateSlice, adjointSlice);

  rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rewriter, loc, results[0], shared[0],
                                        timeOffsets, timeSizes,
                                        SmallVector<OpFoldResult>(3, one));
  tensor::ParallelInsertSliceOp::create(rewriter, loc, results[1], shared[1],
                                        rowsOffsets, rowsSizes(NumAdjointRows),
                                        SmallVector<OpFoldResult>(4, one));

  rewriter.setInsertionPointAfter(forall);
  Value adjointResult = forall.getResult(1);
  SmallVector<Value> sums = sumsOverBatch(rewriter, loc, adjointResult, shape);
  SmallVector<Value> replacements{forall.getResult(0)};
  llvm::append_range(
      replacements, storedParameterGradients(rewriter, loc, op, op.getAlpha(),
                                             op.getDelta(), op.getTheta(), sums,
                                             op.getX(), op.getGy(), shape));
  if (op.getHx())
    replacements.push_back(
        lastState(rewriter, loc,
                  adjointRows(rewriter, loc, adjointResult, MuRe, 2, shape),
                  op.getGHx().getType()));
  rewriter.replaceOp(op, replacements);
  return success();
}
