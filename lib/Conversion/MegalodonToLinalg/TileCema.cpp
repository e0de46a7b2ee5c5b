//===- TileCema.cpp - cema as a two-level vector scan ---------------------===//
//
// The per-step lowering of Cema.cpp advances the whole [B, D, N] state each
// step: every step loads and stores all of it, so the recurrence runs at the
// speed of L1/L2 traffic. This pass turns the loop order around for ops that
// carry a tile config (TileSizesCema.cpp says what the sizes mean):
//
//   scf.forall (%b, %c) in (B, D / lanes)          channels d0 = c * lanes
//     scf.for %t0 = 0 to L step block_time         one block of time
//       group 0, then scf.for %g = G to N step G   G = state_group
//         re[G], im[G] = state[0/1, g .. g+G]      vector<lanes x f32> each
//         scf.for %t = %t0 to min(%t0 + block_time, L)   (two steps per
//                                                          iteration)
//           u = x[%b, %t, d0]
//           acc = group 0 ? omega u : y[%b, %t, d0]
//           per state j:  re_j, im_j = p_j u + q_j (re_j, im_j)
//                         acc += gRe_j re_j - gIm_j im_j
//           y[%b, %t, d0] = acc
//         state[0/1, g .. g+G] = re, im
//
// The states of a group live in registers for a whole block; between blocks
// and groups they pass through the channel group's private [2, N, lanes]
// copy of a [B, 2, N, D] buffer, whose rows are the vectors (coefficients
// are transposed to [N, D] for the same reason). The block's slices of x and
// y, block_time x lanes floats each, are reread once per group and mostly
// stay in cache. Each (batch row, channel group) is independent, so they
// form one scf.forall.
//
// Arithmetic: the update is written with FMAs (two multiplies and five
// FMAs per state and step, two of them negated through contractible
// multiply-subtract pairs), so results differ from the per-step lowering in
// the last bits; both are checked against the fp64 reference.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/Passes.h"

#include "CemaBuilders.h"
#include "CemaTiling.h"
#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_TILECEMA
#include "megalodon/Conversion/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

Value mlir::megalodon::detail::toStateMajor(OpBuilder &b, Location loc,
                                            Value dn) {
  auto type = cast<RankedTensorType>(dn.getType());
  Value empty =
      createEmptyF32(b, loc, {type.getDimSize(1), type.getDimSize(0)});
  return linalg::TransposeOp::create(b, loc, dn, empty, ArrayRef<int64_t>{1, 0})
      .getResult()
      .front();
}

// The state between blocks is one f32 tensor [B, 2, N, D]: part 0 the real,
// part 1 the imaginary parts. One tensor rather than two keeps the two
// parts from becoming one value when both start as zeros (CSE merges equal
// fills), which would make the scf.forall share one buffer between them.

Value mlir::megalodon::detail::initialStateMajor(OpBuilder &b, Location loc,
                                                 Value hx,
                                                 const CemaShape &shape) {
  SmallVector<int64_t> b2nd{shape.batch, 2, shape.states, shape.channels};
  if (!hx)
    return createFilledF32(b, loc, b2nd, 0.0);
  MLIRContext *ctx = b.getContext();
  AffineExpr bi, part, n, d;
  bindDims(ctx, bi, part, n, d);
  AffineMap fromBdn = AffineMap::get(4, 0, {bi, d, n}, ctx);
  AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
  return linalg::GenericOp::create(
             b, loc, RankedTensorType::get(b2nd, b.getF32Type()),
             ValueRange{hx}, ValueRange{createEmptyF32(b, loc, b2nd)},
             ArrayRef<AffineMap>{fromBdn, id}, parallelThenReduction(4),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value re = complex::ReOp::create(nb, nloc, args[0]);
               Value im = complex::ImOp::create(nb, nloc, args[0]);
               Value isRe = arith::CmpIOp::create(
                   nb, nloc, arith::CmpIPredicate::eq,
                   linalg::IndexOp::create(nb, nloc, 1),
                   arith::ConstantIndexOp::create(nb, nloc, 0));
               linalg::YieldOp::create(
                   nb, nloc,
                   ValueRange{arith::SelectOp::create(nb, nloc, isRe, re, im)});
             })
      .getResult(0);
}

Value mlir::megalodon::detail::lastState(OpBuilder &b, Location loc,
                                         Value parts, Type resultType) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(resultType);
  AffineExpr bi, d, n;
  bindDims(ctx, bi, d, n);
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  AffineExpr one = getAffineConstantExpr(1, ctx);
  AffineMap realPart = AffineMap::get(3, 0, {bi, zero, n, d}, ctx);
  AffineMap imagPart = AffineMap::get(3, 0, {bi, one, n, d}, ctx);
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::GenericOp::create(
             b, loc, resultType, ValueRange{parts, parts}, ValueRange{empty},
             ArrayRef<AffineMap>{realPart, imagPart, id},
             parallelThenReduction(3),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value z = complex::CreateOp::create(
                   nb, nloc, type.getElementType(), args[0], args[1]);
               linalg::YieldOp::create(nb, nloc, z);
             })
      .getResult(0);
}

FailureOr<CemaShape> mlir::megalodon::detail::readScanShape(Operation *op,
                                                            ValueRange floats,
                                                            Value x,
                                                            Value alpha) {
  for (Value v : floats) {
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.hasStaticShape() || !type.getElementType().isF32())
      return op->emitOpError("tile-cema needs static f32 operands");
  }
  auto xType = cast<RankedTensorType>(x.getType());
  auto alphaType = cast<RankedTensorType>(alpha.getType());
  return CemaShape{xType.getDimSize(0), xType.getDimSize(1),
                   xType.getDimSize(2), alphaType.getDimSize(1)};
}

SmallVector<Value> mlir::megalodon::detail::stateMajorCoefficients(
    OpBuilder &b, Location loc, Value alpha, Value delta, Value theta,
    Value gamma, const CemaShape &shape) {
  CemaCoefficients c =
      buildCoefficients(b, loc, alpha, delta, theta, gamma, shape);
  SmallVector<Value> coefficients;
  for (Value dn : {c.p, c.qRe, c.qIm, c.gammaRe, c.gammaIm})
    coefficients.push_back(toStateMajor(b, loc, dn));
  return coefficients;
}

namespace {

struct ScanTiling {
  int64_t blockTime, lanes, stateGroup;
};

/// Builds the scan of one (batch row, channel group): the body of the
/// scf.forall.
class GroupScan : LaneVectors {
public:
  GroupScan(OpBuilder &b, Location loc, const CemaShape &shape,
            const ScanTiling &tiling, ValueRange coefficients, Value omega,
            Value x)
      : LaneVectors(b, loc, tiling.lanes), b(b), loc(loc), shape(shape),
        tiling(tiling), coefficients(coefficients.begin(), coefficients.end()),
        omega(omega), x(x) {}

  /// Runs the scan for channels [d0, d0 + lanes) over `y` [L, lanes] and
  /// the state `parts` [2, N, lanes]; returns their final values.
  SmallVector<Value> build(Value d0, Value y, Value parts) {
    this->d0 = d0;
    omegaVector = read(omega, {d0});
    int64_t groups = shape.states / tiling.stateGroup;
    auto blocks = scf::ForOp::create(
        b, loc, index(0), index(shape.steps), index(tiling.blockTime),
        ValueRange{y, parts},
        [&](OpBuilder &, Location, Value t0, ValueRange carried) {
          Value end = arith::MinSIOp::create(
              b, loc,
              arith::AddIOp::create(b, loc, t0, index(tiling.blockTime)),
              index(shape.steps));
          SmallVector<Value> state =
              emitGroup(t0, end, index(0), carried, /*first=*/true);
          if (groups > 1) {
            auto rest = scf::ForOp::create(
                b, loc, index(tiling.stateGroup), index(shape.states),
                index(tiling.stateGroup), state,
                [&](OpBuilder &, Location, Value g, ValueRange inner) {
                  scf::YieldOp::create(
                      b, loc, emitGroup(t0, end, g, inner, /*first=*/false));
                });
            state.assign(rest.getResults().begin(), rest.getResults().end());
          }
          scf::YieldOp::create(b, loc, state);
        });
    return SmallVector<Value>(blocks.getResults());
  }

private:
  /// States [g, g + G) over steps [t0, end). `carried` is {y, parts};
  /// returns their next values. The first group starts y at omega u, the
  /// others add to it.
  SmallVector<Value> emitGroup(Value t0, Value end, Value g, ValueRange carried,
                               bool first) {
    int64_t group = tiling.stateGroup;
    // Coefficient vectors, loop-invariant over the steps.
    SmallVector<Value> p, qRe, qIm, gRe, gIm, state;
    SmallVector<Value> rows;
    for (int64_t j = 0; j < group; ++j)
      rows.push_back(j == 0 ? g : arith::AddIOp::create(b, loc, g, index(j)));
    for (Value r : rows) {
      p.push_back(read(coefficients[0], {r, d0}));
      qRe.push_back(read(coefficients[1], {r, d0}));
      qIm.push_back(read(coefficients[2], {r, d0}));
      gRe.push_back(read(coefficients[3], {r, d0}));
      gIm.push_back(read(coefficients[4], {r, d0}));
    }
    Value zeroIndex = index(0), oneIndex = index(1);
    for (Value part : {zeroIndex, oneIndex})
      for (Value r : rows)
        state.push_back(read(carried[1], {part, r, zeroIndex}));

    // One step: `values` is {y, re[G], im[G]}; returns their next values.
    auto emitStep = [&](Value t, ValueRange values) {
      Value y = values[0];
      Value u = read(x, {t, zeroIndex});
      // The read-out alternates between two accumulators, which halves the
      // chain of dependent FMAs a step adds to y.
      Value acc[2];
      acc[0] = first ? arith::MulFOp::create(b, loc, omegaVector, u).getResult()
                     : read(y, {t, zeroIndex});
      SmallVector<Value> next(2 * group);
      for (int64_t j = 0; j < group; ++j) {
        Value re = values[1 + j], im = values[1 + group + j];
        // re' = qRe re - qIm im + p u,  im' = qRe im + qIm re.
        Value drive = arith::MulFOp::create(b, loc, p[j], u);
        Value newRe = fnma(qIm[j], im, fma(qRe[j], re, drive));
        Value newIm =
            fma(qRe[j], im, arith::MulFOp::create(b, loc, qIm[j], re));
        // y += gRe re' - gIm im'.
        Value &sum = acc[j % 2];
        Value real =
            sum ? fma(gRe[j], newRe, sum)
                : arith::MulFOp::create(b, loc, gRe[j], newRe).getResult();
        sum = fnma(gIm[j], newIm, real);
        next[j] = newRe;
        next[group + j] = newIm;
      }
      Value total =
          acc[1] ? arith::AddFOp::create(b, loc, acc[0], acc[1]).getResult()
                 : acc[0];
      SmallVector<Value> results{write(total, y, {t, zeroIndex})};
      results.append(next);
      return results;
    };

    // Steps in pairs, then the odd one out. Two steps per iteration let the
    // new states take the old ones' registers in the second step; with one,
    // each state needs a register copy per step (both parts of the update
    // read both old parts).
    SmallVector<Value> values{carried[0]};
    values.append(state);
    Value two = index(2);
    Value pairsEnd = arith::SubIOp::create(
        b, loc, end,
        arith::RemSIOp::create(b, loc, arith::SubIOp::create(b, loc, end, t0),
                               two));
    auto pairs = scf::ForOp::create(
        b, loc, t0, pairsEnd, two, values,
        [&](OpBuilder &, Location, Value t, ValueRange carriedValues) {
          SmallVector<Value> once = emitStep(t, carriedValues);
          Value t1 = arith::AddIOp::create(b, loc, t, index(1));
          scf::YieldOp::create(b, loc, emitStep(t1, once));
        });
    auto steps = scf::ForOp::create(
        b, loc, pairsEnd, end, index(1), pairs.getResults(),
        [&](OpBuilder &, Location, Value t, ValueRange carriedValues) {
          scf::YieldOp::create(b, loc, emitStep(t, carriedValues));
        });

    Value parts = carried[1];
    for (int64_t j = 0; j < group; ++j) {
      parts =
          write(steps.getResult(1 + j), parts, {zeroIndex, rows[j], zeroIndex});
      parts = write(steps.getResult(1 + group + j), parts,
                    {oneIndex, rows[j], zeroIndex});
    }
    return {steps.getResult(0), parts};
  }

  OpBuilder &b;
  Location loc;
  CemaShape shape;
  ScanTiling tiling;
  SmallVector<Value> coefficients; // [N, D]: p, qRe, qIm, gammaRe, gammaIm
  Value omega, x;
  Value d0, omegaVector;
};

/// The sizes of `op`'s config, or failure (with an error on the op) when the
/// op is outside what the scan handles: the verify pass runs first in the
/// pipeline, so this only guards direct uses of the pass.
FailureOr<ScanTiling> readTiling(CemaOp op, const CemaShape &shape) {
  auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
  auto size = [&](StringRef name) {
    return getTileSize(config.getSizes(), name).value_or(0);
  };
  ScanTiling tiling{size("block_time"), size("lanes"), size("state_group")};
  if (tiling.blockTime < 1 || tiling.lanes < 1 || tiling.stateGroup < 1 ||
      shape.channels % tiling.lanes != 0 ||
      shape.states % tiling.stateGroup != 0)
    return op.emitOpError("tile config does not fit the op: ")
           << config << " (run megalodon-verify-tile-configs)";
  return tiling;
}

LogicalResult tileCema(RewriterBase &rewriter, CemaOp op) {
  FailureOr<CemaShape> scanShape =
      readScanShape(op,
                    {op.getX(), op.getAlpha(), op.getDelta(), op.getTheta(),
                     op.getGamma(), op.getOmega()},
                    op.getX(), op.getAlpha());
  if (failed(scanShape))
    return failure();
  CemaShape shape = *scanShape;
  auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName);
  if (std::optional<int64_t> block =
          getTileSize(config.getSizes(), "matrix_block"))
    return buildCemaMatrixForm(rewriter, op, shape, *block);
  auto xType = cast<RankedTensorType>(op.getX().getType());
  FailureOr<ScanTiling> tiling = readTiling(op, shape);
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
  Value y = createEmptyF32(rewriter, loc, xType.getShape());

  int64_t groups = shape.channels / tiling->lanes;
  auto forall = scf::ForallOp::create(
      rewriter, loc,
      ArrayRef<OpFoldResult>{rewriter.getIndexAttr(shape.batch),
                             rewriter.getIndexAttr(groups)},
      ValueRange{y, state}, std::nullopt);
  rewriter.setInsertionPointToStart(forall.getBody());
  Value row = forall.getInductionVars()[0];
  Value d0 = arith::MulIOp::create(
      rewriter, loc, forall.getInductionVars()[1],
      arith::ConstantIndexOp::create(rewriter, loc, tiling->lanes));
  ValueRange shared = forall.getRegionIterArgs();

  // The (row, channel group) slices: x and y [L, lanes], the state
  // [2, N, lanes].
  OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);
  OpFoldResult lanes = rewriter.getIndexAttr(tiling->lanes);
  SmallVector<OpFoldResult> timeOffsets{row, zero, d0};
  SmallVector<OpFoldResult> timeSizes{one, rewriter.getIndexAttr(shape.steps),
                                      lanes};
  SmallVector<OpFoldResult> stateOffsets{row, zero, zero, d0};
  SmallVector<OpFoldResult> stateSizes{one, rewriter.getIndexAttr(2),
                                       rewriter.getIndexAttr(shape.states),
                                       lanes};
  auto timeType = RankedTensorType::get({shape.steps, tiling->lanes},
                                        rewriter.getF32Type());
  auto stateType = RankedTensorType::get({2, shape.states, tiling->lanes},
                                         rewriter.getF32Type());
  auto slice = [&](Value source, RankedTensorType type,
                   ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes) {
    SmallVector<OpFoldResult> strides(offsets.size(), one);
    return tensor::ExtractSliceOp::create(rewriter, loc, type, source, offsets,
                                          sizes, strides)
        .getResult();
  };
  Value xSlice = slice(op.getX(), timeType, timeOffsets, timeSizes);
  GroupScan scan(rewriter, loc, shape, *tiling, coefficients, omega, xSlice);
  // The scan updates a private copy of its state slice. Written in place,
  // the slice would alias the scf.forall's shared state; when h_last is
  // unused, canonicalization drops that shared output and the writes would
  // land in a buffer bufferization does not fill from the initial state.
  Value privateState =
      linalg::CopyOp::create(
          rewriter, loc, slice(shared[1], stateType, stateOffsets, stateSizes),
          createEmptyF32(rewriter, loc, stateType.getShape()))
          .getResult(0);
  SmallVector<Value> results = scan.build(
      d0, slice(shared[0], timeType, timeOffsets, timeSizes), privateState);

  rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rewriter, loc, results[0], shared[0],
                                        timeOffsets, timeSizes,
                                        SmallVector<OpFoldResult>(3, one));
  tensor::ParallelInsertSliceOp::create(rewriter, loc, results[1], shared[1],
                                        stateOffsets, stateSizes,
                                        SmallVector<OpFoldResult>(4, one));

  rewriter.setInsertionPointAfter(forall);
  Value hLast =
      lastState(rewriter, loc, forall.getResult(1), op.getHLast().getType());
  rewriter.replaceOp(op, {forall.getResult(0), hLast});
  return success();
}

struct TileCema : public megalodon::impl::TileCemaBase<TileCema> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<CemaOp, CemaGradOp>(op) && op->hasAttr(kTileConfigAttrName))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      LogicalResult result = isa<CemaOp>(op)
                                 ? tileCema(rewriter, cast<CemaOp>(op))
                                 : tileCemaGrad(rewriter, cast<CemaGradOp>(op));
      if (failed(result))
        return signalPassFailure();
    }
  }
};

} // namespace
