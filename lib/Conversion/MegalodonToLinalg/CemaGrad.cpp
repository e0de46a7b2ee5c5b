//===- CemaGrad.cpp - cema_grad as checkpointed scans over time -----------===//
//
// Lowers megalodon.cema_grad by the reverse-time adjoint scan of MODEL.md
// section 8 (A). The adjoint lambda runs backward in time, but the gradient
// of q needs the forward state h_{t-1} at every step t. Storing every state
// would cost B L D N complex values (512 MiB for B = 2, L = 8192, D = 256,
// N = 16), and recovering states backward by inverting the recurrence,
// h_{t-1} = (h_t - p u_t) / q, amplifies rounding by 1 / |q| per step. So the
// states are checkpointed: time is cut into nb blocks of K steps (the last
// one possibly shorter; K is the tile config's checkpoint_block, by default
// ceil(sqrt(L))), and
//
//   1. a forward scan from hx (or 0) stores the state before each block in
//      the checkpoints, a stack of nb states; it stops before the last block;
//   2. for each block, last to first,
//      a. a forward scan recomputes the block's states from its checkpoint
//         into the block buffer, a stack of K + 1 states (slot 0 the
//         checkpoint, slot i + 1 the state after the block's step i), and
//         adds up the gradient of gamma, gy_t conj(h_t), on the way;
//      b. the adjoint scan runs backward through the block,
//           lambda_t = mu_t + gy_t conj(gamma)
//           gx_t     = omega gy_t + sum_n p_n Re(lambda_t,n)
//           grad p  += u_t Re(lambda_t),   grad q += lambda_t conj(h_{t-1})
//           mu_{t-1} = conj(q) lambda_t
//         from mu = g_h_last (or 0). Carrying mu = conj(q) lambda_{t+1}
//         instead of lambda makes the last step like every other, and mu
//         after step 0 is g_hx;
//   3. the gradient sums are reduced over the batch and taken through the
//      chain rule to the stored parameters.
//
// This keeps (nb + K + 1) B D N = O(sqrt(L) B D N) complex values (about
// 2 x 6 MiB for B = 2, L = 8192, D = 256, N = 16), at the price of a second
// forward scan over time.
//
// Reproducibility: the gradient sums are kept per batch element ([B, D, N])
// and accumulate in a fixed order of time steps; the batch is summed after
// the scans, in ascending order, by one reduction whose loop over the batch
// stays sequential. No sum depends on how the loops are split among threads.
//
// As in the forward (Cema.cpp), each step is a few linalg.generic ops over
// (batch, channel, state) on [B, D] slices of x, gy and gx, with the complex
// arithmetic spelled out in f32, so that they vectorize over the states and
// run in parallel over the batch or the channels.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "CemaBuilders.h"
#include "CemaGradBuilders.h"
#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

/// How time is cut into blocks: `count` blocks of `size` steps, the last one
/// possibly shorter.
struct Blocking {
  int64_t size;
  int64_t count;
};

/// K from the op's tile config (megalodon-select-tile-configs), else the
/// op's default, ceil(sqrt(L)), which minimizes the checkpoints plus the
/// block buffer.
Blocking chooseBlocking(CemaGradOp op, int64_t steps) {
  constexpr StringLiteral kCheckpointBlock = "checkpoint_block";
  std::optional<int64_t> size;
  if (auto config = op->getAttrOfType<TileConfigAttr>(kTileConfigAttrName))
    size = getTileSize(config.getSizes(), kCheckpointBlock);
  if (!size || *size < 1 || *size > steps)
    size = getTileSize(op.getDefaultTileSizes(TargetFacts()), kCheckpointBlock);
  return {*size, (steps + *size - 1) / *size};
}

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

// A stack of complex states is an f32 tensor [S, 2, B, D, N]: slot i holds
// the real (part 0) and imaginary (part 1) parts of one state. One tensor for
// both parts makes one loop-carried value per stack, updated in place by a
// chain of inserts.

/// The geometry of part `part` ([B, D, N]) of slot `i` of a stack.
StepSlice slotSlice(OpBuilder &b, OpFoldResult i, int64_t part,
                    RankedTensorType stackType) {
  StepSlice s;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  s.offsets = {i, b.getIndexAttr(part), zero, zero, zero};
  s.sizes = {one, one};
  for (int64_t size : stackType.getShape().drop_front(2))
    s.sizes.push_back(b.getIndexAttr(size));
  s.strides = SmallVector<OpFoldResult>(5, one);
  return s;
}

Value extractSlot(OpBuilder &b, Location loc, Value stack, OpFoldResult i,
                  int64_t part) {
  auto stackType = cast<RankedTensorType>(stack.getType());
  StepSlice s = slotSlice(b, i, part, stackType);
  auto slotType = RankedTensorType::get(stackType.getShape().drop_front(2),
                                        stackType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, slotType, stack, s.offsets,
                                        s.sizes, s.strides);
}

/// Both parts `re` and `im` of a state into slot `i` of `stack`.
Value insertSlot(OpBuilder &b, Location loc, Value re, Value im, Value stack,
                 OpFoldResult i) {
  auto stackType = cast<RankedTensorType>(stack.getType());
  Value parts[] = {re, im};
  for (auto [part, value] : llvm::enumerate(parts)) {
    StepSlice s = slotSlice(b, i, part, stackType);
    stack = tensor::InsertSliceOp::create(b, loc, value, stack, s.offsets,
                                          s.sizes, s.strides);
  }
  return stack;
}

/// An uninitialized stack of `slots` states.
Value createStack(OpBuilder &b, Location loc, int64_t slots,
                  const CemaShape &shape) {
  return createEmptyF32(b, loc,
                        {slots, 2, shape.batch, shape.channels, shape.states});
}

/// The step-`t` slice [B, D] of a [B, L, D] tensor (x, gy or gx).
Value extractStep(OpBuilder &b, Location loc, Value source, Value t,
                  const CemaShape &shape) {
  StepSlice s = stepSlice(b, t, shape);
  auto stepType =
      RankedTensorType::get({shape.batch, shape.channels}, b.getF32Type());
  return tensor::ExtractSliceOp::create(b, loc, stepType, source, s.offsets,
                                        s.sizes, s.strides);
}

Value insertStep(OpBuilder &b, Location loc, Value step, Value dest, Value t,
                 const CemaShape &shape) {
  StepSlice s = stepSlice(b, t, shape);
  return tensor::InsertSliceOp::create(b, loc, step, dest, s.offsets, s.sizes,
                                       s.strides);
}

/// Step 1: the state before each block, a stack of nb slots; slot j holds
/// h_{jK-1}, slot 0 the initial state.
Value buildCheckpoints(OpBuilder &b, Location loc, Value x,
                       const CemaCoefficients &c, ArrayRef<Value> initial,
                       const CemaShape &shape, const Blocking &blocks) {
  Value stack =
      insertSlot(b, loc, initial[0], initial[1],
                 createStack(b, loc, std::max<int64_t>(blocks.count, 1), shape),
                 b.getIndexAttr(0));
  Value blockSize = indexConstant(b, loc, blocks.size);
  Value one = indexConstant(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0),
      indexConstant(b, loc, std::max<int64_t>(blocks.count - 1, 0)), one,
      ValueRange{initial[0], initial[1], stack},
      [&](OpBuilder &ob, Location oloc, Value j, ValueRange carried) {
        Value start = arith::MulIOp::create(ob, oloc, j, blockSize);
        Value end = arith::AddIOp::create(ob, oloc, start, blockSize);
        auto block = scf::ForOp::create(
            ob, oloc, start, end, one, carried.take_front(2),
            [&](OpBuilder &ib, Location iloc, Value t, ValueRange state) {
              Value u = extractStep(ib, iloc, x, t, shape);
              scf::YieldOp::create(
                  ib, iloc, advanceState(ib, iloc, u, c, state[0], state[1]));
            });
        Value next = arith::AddIOp::create(ob, oloc, j, one);
        Value nextStack = insertSlot(ob, oloc, block.getResult(0),
                                     block.getResult(1), carried[2], next);
        scf::YieldOp::create(
            ob, oloc,
            ValueRange{block.getResult(0), block.getResult(1), nextStack});
      });
  return loop.getResult(2);
}

/// Step 2a, one time step over (b, d, n): h_t = p u_t + q h_{t-1} in place
/// on the carried state, and the gradient sums of gamma += gy_t conj(h_t).
/// Returns {Re h_t, Im h_t, sum re, sum im}.
SmallVector<Value> recomputeStep(OpBuilder &b, Location loc, Value u, Value g,
                                 const CemaCoefficients &c,
                                 ValueRange carried) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perRow = leadingDimsMap(3, 2, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, carried.getTypes(), ValueRange{u, g, c.p, c.qRe, c.qIm}, carried,
      ArrayRef<AffineMap>{perRow, perRow, perState, perState, perState, id, id,
                          id, id},
      parallelThenReduction(3),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value g = args[1];
        auto [re, im] = emitStateUpdate(nb, nloc, args[0], args[2], args[3],
                                        args[4], args[5], args[6]);
        Value sumRe = arith::AddFOp::create(
            nb, nloc, args[7], arith::MulFOp::create(nb, nloc, g, re));
        Value sumIm = arith::SubFOp::create(
            nb, nloc, args[8], arith::MulFOp::create(nb, nloc, g, im));
        linalg::YieldOp::create(nb, nloc, ValueRange{re, im, sumRe, sumIm});
      });
  return SmallVector<Value>(generic.getResults());
}

/// Re(lambda) = Re(mu) + gy Re(gamma) and Im(lambda) = Im(mu) - gy Im(gamma):
/// lambda = mu + gy conj(gamma). Both adjoint ops build it the same way.
Value lambdaRe(OpBuilder &b, Location loc, Value g, Value gammaRe, Value muRe) {
  return arith::AddFOp::create(b, loc, muRe,
                               arith::MulFOp::create(b, loc, g, gammaRe));
}

Value lambdaIm(OpBuilder &b, Location loc, Value g, Value gammaIm, Value muIm) {
  return arith::SubFOp::create(b, loc, muIm,
                               arith::MulFOp::create(b, loc, g, gammaIm));
}

/// acc[b, d] += sum_n p_n Re(lambda_n), a reduction over n on top of the
/// skip term omega gy already in `acc`.
Value inputGradient(OpBuilder &b, Location loc, Value g,
                    const CemaCoefficients &c, Value muRe, Value acc) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perRow = leadingDimsMap(3, 2, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{g, c.p, c.gammaRe, muRe},
             ValueRange{acc},
             ArrayRef<AffineMap>{perRow, perState, perState, id, perRow},
             parallelThenReduction(2, 1),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value re = lambdaRe(nb, nloc, args[0], args[2], args[3]);
               Value term = arith::MulFOp::create(nb, nloc, args[1], re);
               Value sum = arith::AddFOp::create(nb, nloc, args[4], term);
               linalg::YieldOp::create(nb, nloc, sum);
             })
      .getResult(0);
}

/// Step 2b, the update of one time step over (b, d, n), in place on the
/// carried values:
///   lambda = mu + gy conj(gamma),          mu <- conj(q) lambda,
///   sum p += u Re(lambda),                 sum q += lambda conj(h_{t-1}).
/// Returns {Re mu, Im mu, sum p, sum q re, sum q im}.
SmallVector<Value> adjointStep(OpBuilder &b, Location loc, Value u, Value g,
                               const CemaCoefficients &c, Value prevRe,
                               Value prevIm, ValueRange carried) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perRow = leadingDimsMap(3, 2, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  SmallVector<AffineMap> maps{perRow,   perRow,   perState, perState,
                              perState, perState, id,       id};
  maps.append(carried.size(), id);
  auto generic = linalg::GenericOp::create(
      b, loc, carried.getTypes(),
      ValueRange{u, g, c.qRe, c.qIm, c.gammaRe, c.gammaIm, prevRe, prevIm},
      carried, maps, parallelThenReduction(3),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        auto mul = [&](Value l, Value r) {
          return arith::MulFOp::create(nb, nloc, l, r).getResult();
        };
        auto add = [&](Value l, Value r) {
          return arith::AddFOp::create(nb, nloc, l, r).getResult();
        };
        auto sub = [&](Value l, Value r) {
          return arith::SubFOp::create(nb, nloc, l, r).getResult();
        };
        Value u = args[0], g = args[1], qRe = args[2], qIm = args[3];
        Value hRe = args[6], hIm = args[7];
        Value re = lambdaRe(nb, nloc, g, args[4], args[8]);
        Value im = lambdaIm(nb, nloc, g, args[5], args[9]);
        Value muRe = add(mul(qRe, re), mul(qIm, im));
        Value muIm = sub(mul(qRe, im), mul(qIm, re));
        Value sumP = add(args[10], mul(u, re));
        Value sumQRe = add(args[11], add(mul(re, hRe), mul(im, hIm)));
        Value sumQIm = add(args[12], sub(mul(im, hRe), mul(re, hIm)));
        linalg::YieldOp::create(nb, nloc,
                                ValueRange{muRe, muIm, sumP, sumQRe, sumQIm});
      });
  return SmallVector<Value>(generic.getResults());
}

/// The values the block loop of step 2 carries.
enum Carried : unsigned {
  MuRe,
  MuIm,
  SumP,
  SumQRe,
  SumQIm,
  SumGammaRe,
  SumGammaIm,
  Gx,
  Buffer
};

/// Step 2 for the block whose index is `j`: the next values of `carried`.
SmallVector<Value> buildBlock(OpBuilder &b, Location loc, Value j,
                              ValueRange carried, Value x, Value gy,
                              Value checkpoints, const CemaCoefficients &c,
                              const CemaShape &shape, const Blocking &blocks) {
  Value one = indexConstant(b, loc, 1);
  Value start =
      arith::MulIOp::create(b, loc, j, indexConstant(b, loc, blocks.size));
  Value length = arith::MinSIOp::create(
      b, loc, indexConstant(b, loc, blocks.size),
      arith::SubIOp::create(b, loc, indexConstant(b, loc, shape.steps), start));
  Value end = arith::AddIOp::create(b, loc, start, length);

  // (a) The states of the block, from its checkpoint, which is also slot 0
  // of the buffer. The state is carried and updated in place, then copied
  // into its slot: a step that wrote the slot directly would read the
  // previous slot of the same buffer, which bufferization copies out first.
  Value startRe = extractSlot(b, loc, checkpoints, j, 0);
  Value startIm = extractSlot(b, loc, checkpoints, j, 1);
  SmallVector<Value> recomputeInit{
      startRe, startIm, carried[SumGammaRe], carried[SumGammaIm],
      insertSlot(b, loc, startRe, startIm, carried[Buffer], b.getIndexAttr(0))};
  auto recompute = scf::ForOp::create(
      b, loc, start, end, one, recomputeInit,
      [&](OpBuilder &ib, Location iloc, Value t, ValueRange state) {
        Value next = arith::AddIOp::create(
            ib, iloc, arith::SubIOp::create(ib, iloc, t, start), one);
        Value u = extractStep(ib, iloc, x, t, shape);
        Value g = extractStep(ib, iloc, gy, t, shape);
        SmallVector<Value> h =
            recomputeStep(ib, iloc, u, g, c, state.take_front(4));
        h.push_back(insertSlot(ib, iloc, h[0], h[1], state[4], next));
        scf::YieldOp::create(ib, iloc, h);
      });
  Value buffer = recompute.getResult(4);

  // (b) The adjoint, backward through the block.
  SmallVector<Value> adjointInit(carried.slice(MuRe, SumQIm + 1));
  adjointInit.push_back(carried[Gx]);
  auto adjoint = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), length, one, adjointInit,
      [&](OpBuilder &ib, Location iloc, Value r, ValueRange state) {
        // Local step i = length - 1 - r, time step t = start + i.
        Value i = arith::SubIOp::create(
            ib, iloc, arith::SubIOp::create(ib, iloc, length, one), r);
        Value t = arith::AddIOp::create(ib, iloc, start, i);
        Value u = extractStep(ib, iloc, x, t, shape);
        Value g = extractStep(ib, iloc, gy, t, shape);
        Value gx = state.back();
        // gx already holds omega gy; the sum over the states adds on top of
        // the step's slice, in place.
        Value gxt = inputGradient(ib, iloc, g, c, state[MuRe],
                                  extractStep(ib, iloc, gx, t, shape));
        Value nextGx = insertStep(ib, iloc, gxt, gx, t, shape);
        SmallVector<Value> next =
            adjointStep(ib, iloc, u, g, c, extractSlot(ib, iloc, buffer, i, 0),
                        extractSlot(ib, iloc, buffer, i, 1), state.drop_back());
        next.push_back(nextGx);
        scf::YieldOp::create(ib, iloc, next);
      });

  SmallVector<Value> result(adjoint.getResults().take_front(SumQIm + 1));
  result.append({recompute.getResult(2), recompute.getResult(3),
                 adjoint.getResults().back(), buffer});
  return result;
}

/// Step 3a: each [B, D, N] sum summed over the batch into [D, N]. The batch
/// loop is a reduction loop, which stays sequential: the order of the sum
/// is fixed.
SmallVector<Value> sumOverBatch(OpBuilder &b, Location loc, ValueRange sums,
                                const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  SmallVector<AffineMap> maps(sums.size(), id);
  maps.append(sums.size(), perState);
  SmallVector<Value> outs;
  for (size_t i = 0; i < sums.size(); ++i)
    outs.push_back(
        createFilledF32(b, loc, {shape.channels, shape.states}, 0.0));
  SmallVector<utils::IteratorType> iterators{utils::IteratorType::reduction,
                                             utils::IteratorType::parallel,
                                             utils::IteratorType::parallel};
  auto generic = linalg::GenericOp::create(
      b, loc, ValueRange(outs).getTypes(), sums, outs, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> next;
        for (size_t i = 0; i < sums.size(); ++i)
          next.push_back(
              arith::AddFOp::create(nb, nloc, args[sums.size() + i], args[i]));
        linalg::YieldOp::create(nb, nloc, next);
      });
  return SmallVector<Value>(generic.getResults());
}

} // namespace

/// omega[d] gy[b, t, d] for all steps: the skip path's share of gx, which
/// the adjoint scan adds to. One pass before the scans saves a step op and
/// keeps the scan's update of gx in place.
Value mlir::megalodon::detail::skipGradient(OpBuilder &b, Location loc,
                                            Value gy, Value omega,
                                            const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perChannel = trailingDimsMap(3, 1, ctx);
  Value init =
      createEmptyF32(b, loc, {shape.batch, shape.steps, shape.channels});
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{gy, omega}, ValueRange{init},
             ArrayRef<AffineMap>{id, perChannel, id}, parallelThenReduction(3),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value v = arith::MulFOp::create(nb, nloc, args[1], args[0]);
               linalg::YieldOp::create(nb, nloc, v);
             })
      .getResult(0);
}

/// grad omega[d] = sum_{b, t} gy[b, t, d] x[b, t, d], batch and time in
/// order.
static Value omegaGradient(OpBuilder &b, Location loc, Value x, Value gy,
                           const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perChannel = trailingDimsMap(3, 1, ctx);
  SmallVector<utils::IteratorType> iterators{utils::IteratorType::reduction,
                                             utils::IteratorType::reduction,
                                             utils::IteratorType::parallel};
  Value init = createFilledF32(b, loc, {shape.channels}, 0.0);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{gy, x}, ValueRange{init},
             ArrayRef<AffineMap>{id, id, perChannel}, iterators,
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value term = arith::MulFOp::create(nb, nloc, args[0], args[1]);
               Value sum = arith::AddFOp::create(nb, nloc, args[2], term);
               linalg::YieldOp::create(nb, nloc, sum);
             })
      .getResult(0);
}

/// Step 3b: the chain rule of MODEL.md section 8 from the sums over batch
/// and time (`sums`: p, Re q, Im q, Re gamma, Im gamma) to the stored
/// parameters. The coefficients are rebuilt here from alpha, delta and theta
/// the same way as buildCoefficients does.
static ParameterGrads chainRule(OpBuilder &b, Location loc, Value alpha,
                                Value delta, Value theta, ArrayRef<Value> sums,
                                const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> dn{shape.channels, shape.states};
  SmallVector<Value> ins{parameterView(b, loc, alpha, dn),
                         parameterView(b, loc, delta, dn),
                         parameterView(b, loc, theta, {shape.channels})};
  ins.append(sums.begin(), sums.end());
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap perChannel = leadingDimsMap(2, 1, ctx);
  SmallVector<AffineMap> maps{id, id, perChannel};
  maps.append(sums.size() + 5, id);
  SmallVector<Value> outs;
  for (int i = 0; i < 5; ++i)
    outs.push_back(createEmptyF32(b, loc, dn));
  double angleStep = 2.0 * llvm::numbers::pi / double(shape.states);
  double gammaScale = 1.0 / std::sqrt(double(shape.states));
  auto generic = linalg::GenericOp::create(
      b, loc, ValueRange(outs).getTypes(), ins, outs, maps,
      parallelThenReduction(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        auto mul = [&](Value l, Value r) {
          return arith::MulFOp::create(nb, nloc, l, r).getResult();
        };
        auto add = [&](Value l, Value r) {
          return arith::AddFOp::create(nb, nloc, l, r).getResult();
        };
        auto sub = [&](Value l, Value r) {
          return arith::SubFOp::create(nb, nloc, l, r).getResult();
        };
        Value one = createF32Constant(nb, nloc, 1.0);
        // sigmoid' = s (1 - s).
        auto slope = [&](Value s) { return mul(s, sub(one, s)); };
        Value a = sigmoid(nb, nloc, args[0]);
        Value damp = sigmoid(nb, nloc, args[1]);
        Value base = sigmoid(nb, nloc, args[2]);
        Value gp = args[3], gqRe = args[4], gqIm = args[5];
        // As in buildCoefficients: index n holds wavelet n + 1.
        Value n = linalg::IndexOp::create(nb, nloc, 1);
        Value wavelet = arith::SIToFPOp::create(
            nb, nloc, nb.getF32Type(),
            arith::AddIOp::create(
                nb, nloc,
                arith::IndexCastOp::create(nb, nloc, nb.getI64Type(), n),
                arith::ConstantOp::create(nb, nloc, nb.getI64IntegerAttr(1))));
        Value phi =
            mul(mul(wavelet, base), createF32Constant(nb, nloc, angleStep));
        Value cos = math::CosOp::create(nb, nloc, phi);
        Value sin = math::SinOp::create(nb, nloc, phi);
        Value radius = sub(one, mul(a, damp));
        Value qRe = mul(radius, cos), qIm = mul(radius, sin);
        // q = |q| e^{i phi}; a change dq moves the loss by Re(conj(gq) dq):
        // d|q| by Re(conj(gq) e^{i phi}), dphi by Re(conj(gq) i q).
        Value gAbs = add(mul(gqRe, cos), mul(gqIm, sin));
        Value gPhi = sub(mul(gqIm, qRe), mul(gqRe, qIm));
        // |q| = 1 - a damp and p = a.
        Value gA = sub(gp, mul(damp, gAbs));
        Value gDamp = arith::NegFOp::create(nb, nloc, mul(a, gAbs));
        Value gAlpha = mul(gA, slope(a));
        Value gDelta = mul(gDamp, slope(damp));
        // phi = wavelet sigmoid(theta) 2 pi / N: this state's share of the
        // theta gradient, summed over n below.
        Value gTheta =
            mul(mul(wavelet, gPhi),
                mul(slope(base), createF32Constant(nb, nloc, angleStep)));
        Value scale = createF32Constant(nb, nloc, gammaScale);
        Value gGammaRe = mul(args[6], scale);
        Value gGammaIm = mul(args[7], scale);
        linalg::YieldOp::create(
            nb, nloc, ValueRange{gAlpha, gDelta, gTheta, gGammaRe, gGammaIm});
      });

  Value thetaInit = createFilledF32(b, loc, {shape.channels}, 0.0);
  Value gTheta =
      linalg::GenericOp::create(
          b, loc, thetaInit.getType(), ValueRange{generic.getResult(2)},
          ValueRange{thetaInit}, ArrayRef<AffineMap>{id, perChannel},
          parallelThenReduction(1, 1),
          [](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[1], args[0]).getResult());
          })
          .getResult(0);
  return {generic.getResult(0), generic.getResult(1), gTheta,
          generic.getResult(3), generic.getResult(4)};
}

/// `view` ([D, N] or [D]) written into `dest`, a tensor of a stored
/// parameter's shape, at `lastIndex` of its last axis: the inverse of
/// parameterView.
static Value storeView(OpBuilder &b, Location loc, Value view, Value dest,
                       int64_t lastIndex = 0) {
  auto destType = cast<RankedTensorType>(dest.getType());
  ArrayRef<int64_t> viewShape =
      cast<RankedTensorType>(view.getType()).getShape();
  int64_t rank = destType.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets.back() = b.getIndexAttr(lastIndex);
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(b.getIndexAttr(i < int64_t(viewShape.size()) ? viewShape[i]
                                                                 : int64_t(1)));
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, view, dest, offsets, sizes,
                                       strides);
}

static Value emptyLike(OpBuilder &b, Location loc, Type type) {
  auto tensorType = cast<RankedTensorType>(type);
  return tensor::EmptyOp::create(b, loc, tensorType.getShape(),
                                 tensorType.getElementType());
}

SmallVector<Value> mlir::megalodon::detail::storedParameterGradients(
    OpBuilder &b, Location loc, CemaGradOp op, Value alpha, Value delta,
    Value theta, ArrayRef<Value> sums, Value x, Value gy,
    const CemaShape &shape) {
  ParameterGrads grads = chainRule(b, loc, alpha, delta, theta, sums, shape);
  Value gOmega = omegaGradient(b, loc, x, gy, shape);
  SmallVector<Value> results;
  results.push_back(storeView(b, loc, grads.alpha,
                              emptyLike(b, loc, op.getGAlpha().getType())));
  results.push_back(storeView(b, loc, grads.delta,
                              emptyLike(b, loc, op.getGDelta().getType())));
  results.push_back(storeView(b, loc, grads.theta,
                              emptyLike(b, loc, op.getGTheta().getType())));
  Value gGamma = storeView(b, loc, grads.gammaRe,
                           emptyLike(b, loc, op.getGGamma().getType()),
                           /*lastIndex=*/0);
  results.push_back(storeView(b, loc, grads.gammaIm, gGamma, /*lastIndex=*/1));
  results.push_back(
      storeView(b, loc, gOmega, emptyLike(b, loc, op.getGOmega().getType())));
  return results;
}

namespace {

/// The compiled code computes in f32 on static shapes; anything else is left
/// for the pass to report.
LogicalResult checkSupported(CemaGradOp op,
                             ConversionPatternRewriter &rewriter) {
  std::pair<Value, StringRef> floats[] = {
      {op.getX(), "x"},         {op.getAlpha(), "alpha"},
      {op.getDelta(), "delta"}, {op.getTheta(), "theta"},
      {op.getGamma(), "gamma"}, {op.getOmega(), "omega"},
      {op.getGy(), "gy"}};
  for (auto [value, name] : floats) {
    if (failed(requireStaticF32(rewriter, op, value, name)))
      return failure();
  }
  std::pair<Value, StringRef> states[] = {{op.getHx(), "hx"},
                                          {op.getGHLast(), "g_h_last"}};
  for (auto [value, name] : states) {
    if (value && !cast<RankedTensorType>(value.getType()).hasStaticShape())
      return rewriter.notifyMatchFailure(
          op, llvm::Twine(name) +
                  " has a dynamic shape, which the lowering does not support");
  }
  return success();
}

struct CemaGradLowering : OpConversionPattern<CemaGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CemaGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSupported(op, rewriter)))
      return failure();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto alphaType = cast<RankedTensorType>(op.getAlpha().getType());
    CemaShape shape{xType.getDimSize(0), xType.getDimSize(1),
                    xType.getDimSize(2), alphaType.getDimSize(1)};
    Blocking blocks = chooseBlocking(op, shape.steps);
    Location loc = op.getLoc();
    Value x = adaptor.getX(), gy = adaptor.getGy();

    CemaCoefficients coeffs =
        buildCoefficients(rewriter, loc, adaptor.getAlpha(), adaptor.getDelta(),
                          adaptor.getTheta(), adaptor.getGamma(), shape);
    Value omega =
        parameterView(rewriter, loc, adaptor.getOmega(), {shape.channels});

    // Step 1.
    Value checkpoints = buildCheckpoints(
        rewriter, loc, x, coeffs,
        initialState(rewriter, loc, adaptor.getHx(), shape), shape, blocks);

    // Step 2, blocks last to first.
    SmallVector<int64_t> bdn{shape.batch, shape.channels, shape.states};
    SmallVector<Value> init =
        initialState(rewriter, loc, adaptor.getGHLast(), shape);
    for (unsigned i = SumP; i <= SumGammaIm; ++i)
      init.push_back(createFilledF32(rewriter, loc, bdn, 0.0));
    init.push_back(skipGradient(rewriter, loc, gy, omega, shape));
    init.push_back(createStack(rewriter, loc, blocks.size + 1, shape));
    auto loop = scf::ForOp::create(
        rewriter, loc, indexConstant(rewriter, loc, 0),
        indexConstant(rewriter, loc, blocks.count),
        indexConstant(rewriter, loc, 1), init,
        [&](OpBuilder &b, Location bloc, Value r, ValueRange carried) {
          Value j = arith::SubIOp::create(
              b, bloc, indexConstant(b, bloc, blocks.count - 1), r);
          scf::YieldOp::create(b, bloc,
                               buildBlock(b, bloc, j, carried, x, gy,
                                          checkpoints, coeffs, shape, blocks));
        });

    // Step 3.
    SmallVector<Value> sums = sumOverBatch(
        rewriter, loc, loop.getResults().slice(SumP, SumGammaIm - SumP + 1),
        shape);
    SmallVector<Value> results{loop.getResult(Gx)};
    llvm::append_range(results, storedParameterGradients(
                                    rewriter, loc, op, adaptor.getAlpha(),
                                    adaptor.getDelta(), adaptor.getTheta(),
                                    sums, x, gy, shape));
    if (op.getHx())
      results.push_back(buildComplexState(rewriter, loc, loop.getResult(MuRe),
                                          loop.getResult(MuIm),
                                          op.getGHx().getType()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::megalodon::populateCemaGradToLoopsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<CemaGradLowering>(patterns.getContext());
}
