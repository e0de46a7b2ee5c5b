//===- Cema.cpp - cema as a scan over time --------------------------------===//
//
// Lowers megalodon.cema (MODEL.md section 5) to an scf.for over the time
// steps that carries the complex state h [B, D, N] as two f32 tensors, its
// real and imaginary parts. The coefficients p, q and gamma / sqrt(N) are
// derived from the stored parameters once, before the loop. Each step works
// on the slice x[:, t, :] ([B, D]) with linalg.generic ops over (batch,
// channel, state), so that the work of a step vectorizes over the channels:
//
//   scf.for %t iter_args(%hre, %him, %y) {
//     %u        = tensor.extract_slice %x[0, %t, 0] [B, 1, D]
//     %hre1, %him1 = p u + q h                     (parallel over B, D, N)
//     %yt       = omega u                          (into a slice of %y)
//     %yt1      = yt + sum_n Re(gamma_n h_n)       (reduction over N)
//     %y1       = tensor.insert_slice %yt1 into %y[0, %t, 0]
//   }
//
// Inside the loop the complex arithmetic is spelled out in real f32
// arithmetic, which every backend vectorizes; complex values appear only at
// the boundary, to read the carried state hx and to build h_last.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
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

/// Static sizes of one cema: x is [batch, steps, channels], N states each.
struct CemaShape {
  int64_t batch;
  int64_t steps;
  int64_t channels;
  int64_t states;
};

/// The coefficients of the recurrence, each [D, N] f32.
struct CemaCoefficients {
  Value p;
  Value qRe, qIm;
  Value gammaRe, gammaIm;
};

/// 1 / (1 + exp(-v)).
Value sigmoid(OpBuilder &b, Location loc, Value v) {
  Value one = createF32Constant(b, loc, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

/// The [D, N] (or [D]) view of a parameter stored with trailing unit or
/// (real, imaginary) dimensions: the slice at `lastIndex` of the last axis,
/// with the unit axes dropped.
Value parameterView(OpBuilder &b, Location loc, Value param,
                    ArrayRef<int64_t> viewShape, int64_t lastIndex = 0) {
  auto type = cast<RankedTensorType>(param.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets.back() = b.getIndexAttr(lastIndex);
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(b.getIndexAttr(i < int64_t(viewShape.size()) ? viewShape[i]
                                                                 : int64_t(1)));
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  auto viewType = RankedTensorType::get(viewShape, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, viewType, param, offsets, sizes,
                                        strides);
}

/// p = sigmoid(alpha), q = (1 - p sigmoid(delta)) exp(i phi) with
/// phi[d, n] = (n + 1) sigmoid(theta[d]) 2 pi / N, and gamma / sqrt(N), in
/// one linalg.generic over (d, n) before the loop.
CemaCoefficients buildCoefficients(OpBuilder &b, Location loc, Value alpha,
                                   Value delta, Value theta, Value gamma,
                                   const CemaShape &shape) {
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> dn{shape.channels, shape.states};
  Value alpha2 = parameterView(b, loc, alpha, dn);
  Value delta2 = parameterView(b, loc, delta, dn);
  Value theta1 = parameterView(b, loc, theta, {shape.channels});
  Value gammaRe = parameterView(b, loc, gamma, dn, /*lastIndex=*/0);
  Value gammaIm = parameterView(b, loc, gamma, dn, /*lastIndex=*/1);

  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap perChannel = leadingDimsMap(2, 1, ctx);
  Type coeffType = RankedTensorType::get(dn, b.getF32Type());
  SmallVector<Value> outs;
  for (int i = 0; i < 5; ++i)
    outs.push_back(createEmptyF32(b, loc, dn));
  double angleStep = 2.0 * llvm::numbers::pi / double(shape.states);
  double gammaScale = 1.0 / std::sqrt(double(shape.states));
  auto generic = linalg::GenericOp::create(
      b, loc, SmallVector<Type>(5, coeffType),
      ValueRange{alpha2, delta2, theta1, gammaRe, gammaIm}, outs,
      ArrayRef<AffineMap>{id, id, perChannel, id, id, id, id, id, id, id},
      parallelThenReduction(2),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value p = sigmoid(nb, nloc, args[0]);
        Value damp = sigmoid(nb, nloc, args[1]);
        Value base = sigmoid(nb, nloc, args[2]);
        // Index n holds wavelet n + 1.
        Value n = linalg::IndexOp::create(nb, nloc, 1);
        Value wavelet = arith::AddIOp::create(
            nb, nloc, arith::IndexCastOp::create(nb, nloc, nb.getI64Type(), n),
            arith::ConstantOp::create(nb, nloc, nb.getI64IntegerAttr(1)));
        Value phi = arith::MulFOp::create(
            nb, nloc,
            arith::MulFOp::create(
                nb, nloc,
                arith::SIToFPOp::create(nb, nloc, nb.getF32Type(), wavelet),
                base),
            createF32Constant(nb, nloc, angleStep));
        Value radius =
            arith::SubFOp::create(nb, nloc, createF32Constant(nb, nloc, 1.0),
                                  arith::MulFOp::create(nb, nloc, p, damp));
        Value qRe = arith::MulFOp::create(nb, nloc, radius,
                                          math::CosOp::create(nb, nloc, phi));
        Value qIm = arith::MulFOp::create(nb, nloc, radius,
                                          math::SinOp::create(nb, nloc, phi));
        Value scale = createF32Constant(nb, nloc, gammaScale);
        Value gRe = arith::MulFOp::create(nb, nloc, args[3], scale);
        Value gIm = arith::MulFOp::create(nb, nloc, args[4], scale);
        linalg::YieldOp::create(nb, nloc, ValueRange{p, qRe, qIm, gRe, gIm});
      });
  return {generic.getResult(0), generic.getResult(1), generic.getResult(2),
          generic.getResult(3), generic.getResult(4)};
}

/// The initial state as {re, im}, each [B, D, N] f32: the parts of the
/// carried complex state, or zeros.
SmallVector<Value> initialState(OpBuilder &b, Location loc, Value hx,
                                const CemaShape &shape) {
  SmallVector<int64_t> bdn{shape.batch, shape.channels, shape.states};
  if (!hx)
    return {createFilledF32(b, loc, bdn, 0.0),
            createFilledF32(b, loc, bdn, 0.0)};
  Type partType = RankedTensorType::get(bdn, b.getF32Type());
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, b.getContext());
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{partType, partType}, ValueRange{hx},
      ValueRange{createEmptyF32(b, loc, bdn), createEmptyF32(b, loc, bdn)},
      ArrayRef<AffineMap>{id, id, id}, parallelThenReduction(3),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value re = complex::ReOp::create(nb, nloc, args[0]);
        Value im = complex::ImOp::create(nb, nloc, args[0]);
        linalg::YieldOp::create(nb, nloc, ValueRange{re, im});
      });
  return SmallVector<Value>(generic.getResults());
}

/// h_last as complex<f32> [B, D, N] from its real and imaginary parts.
Value buildComplexState(OpBuilder &b, Location loc, Value re, Value im,
                        Type resultType) {
  auto type = cast<RankedTensorType>(resultType);
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, b.getContext());
  Type elementType = type.getElementType();
  return linalg::GenericOp::create(
             b, loc, resultType, ValueRange{re, im}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id, id}, parallelThenReduction(3),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value z = complex::CreateOp::create(nb, nloc, elementType,
                                                   args[0], args[1]);
               linalg::YieldOp::create(nb, nloc, z);
             })
      .getResult(0);
}

/// h <- p u + q h over (b, d, n), updating the carried parts in place:
///   re' = p u + qRe re - qIm im,   im' = qRe im + qIm re.
SmallVector<Value> advanceState(OpBuilder &b, Location loc, Value u,
                                const CemaCoefficients &c, Value re, Value im) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perRow = leadingDimsMap(3, 2, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{re.getType(), im.getType()},
      ValueRange{u, c.p, c.qRe, c.qIm}, ValueRange{re, im},
      ArrayRef<AffineMap>{perRow, perState, perState, perState, id, id},
      parallelThenReduction(3),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value u = args[0], p = args[1], qRe = args[2], qIm = args[3];
        Value hRe = args[4], hIm = args[5];
        Value drive = arith::MulFOp::create(nb, nloc, p, u);
        Value reRot = arith::SubFOp::create(
            nb, nloc, arith::MulFOp::create(nb, nloc, qRe, hRe),
            arith::MulFOp::create(nb, nloc, qIm, hIm));
        Value imRot = arith::AddFOp::create(
            nb, nloc, arith::MulFOp::create(nb, nloc, qRe, hIm),
            arith::MulFOp::create(nb, nloc, qIm, hRe));
        Value newRe = arith::AddFOp::create(nb, nloc, drive, reRot);
        linalg::YieldOp::create(nb, nloc, ValueRange{newRe, imRot});
      });
  return SmallVector<Value>(generic.getResults());
}

/// omega[d] u[b, d] over (b, d), written into `dest` (the step's slice of
/// the output); the sum over the states accumulates on top of it.
Value skipTerm(OpBuilder &b, Location loc, Value u, Value omega, Value dest) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap perChannel = trailingDimsMap(2, 1, ctx);
  return linalg::GenericOp::create(
             b, loc, dest.getType(), ValueRange{u, omega}, ValueRange{dest},
             ArrayRef<AffineMap>{id, perChannel, id}, parallelThenReduction(2),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value v = arith::MulFOp::create(nb, nloc, args[1], args[0]);
               linalg::YieldOp::create(nb, nloc, v);
             })
      .getResult(0);
}

/// acc[b, d] += sum_n Re(gamma_n h_n) = sum_n (gRe re - gIm im); the real
/// part is taken once, after the weighted sum, as in the definition.
Value readOut(OpBuilder &b, Location loc, const CemaCoefficients &c, Value re,
              Value im, Value acc) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap perRow = leadingDimsMap(3, 2, ctx);
  AffineMap perState = trailingDimsMap(3, 2, ctx);
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{c.gammaRe, c.gammaIm, re, im},
             ValueRange{acc},
             ArrayRef<AffineMap>{perState, perState, id, id, perRow},
             parallelThenReduction(2, 1),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value real = arith::SubFOp::create(
                   nb, nloc, arith::MulFOp::create(nb, nloc, args[0], args[2]),
                   arith::MulFOp::create(nb, nloc, args[1], args[3]));
               Value sum = arith::AddFOp::create(nb, nloc, args[4], real);
               linalg::YieldOp::create(nb, nloc, sum);
             })
      .getResult(0);
}

/// Offsets, sizes and strides of the step-`t` slice [B, 1, D] of x or y.
struct StepSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};

StepSlice stepSlice(OpBuilder &b, Value t, const CemaShape &shape) {
  StepSlice s;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  s.offsets = {zero, t, zero};
  s.sizes = {b.getIndexAttr(shape.batch), one, b.getIndexAttr(shape.channels)};
  s.strides = {one, one, one};
  return s;
}

/// One time step. `carried` is {re, im, y}; returns their next values.
SmallVector<Value> buildStep(OpBuilder &b, Location loc, Value t,
                             ValueRange carried, Value x, Value omega,
                             const CemaCoefficients &c,
                             const CemaShape &shape) {
  Value y = carried[2];
  StepSlice slice = stepSlice(b, t, shape);
  auto stepType =
      RankedTensorType::get({shape.batch, shape.channels}, b.getF32Type());
  Value u = tensor::ExtractSliceOp::create(b, loc, stepType, x, slice.offsets,
                                           slice.sizes, slice.strides);
  SmallVector<Value> state = advanceState(b, loc, u, c, carried[0], carried[1]);
  // The step's output slice is the destination, so that bufferization
  // writes the step in place into the output buffer.
  Value dest = tensor::ExtractSliceOp::create(
      b, loc, stepType, y, slice.offsets, slice.sizes, slice.strides);
  Value yt =
      readOut(b, loc, c, state[0], state[1], skipTerm(b, loc, u, omega, dest));
  Value nextY = tensor::InsertSliceOp::create(b, loc, yt, y, slice.offsets,
                                              slice.sizes, slice.strides);
  return {state[0], state[1], nextY};
}

/// The compiled code computes in f32 on static shapes; anything else is left
/// for the pass to report.
LogicalResult checkSupported(CemaOp op, ConversionPatternRewriter &rewriter) {
  std::pair<Value, StringRef> floats[] = {
      {op.getX(), "x"},         {op.getAlpha(), "alpha"},
      {op.getDelta(), "delta"}, {op.getTheta(), "theta"},
      {op.getGamma(), "gamma"}, {op.getOmega(), "omega"}};
  for (auto [value, name] : floats) {
    if (failed(requireStaticF32(rewriter, op, value, name)))
      return failure();
  }
  if (op.getHx() &&
      !cast<RankedTensorType>(op.getHx().getType()).hasStaticShape())
    return rewriter.notifyMatchFailure(
        op, "hx has a dynamic shape, which the lowering does not support");
  return success();
}

struct CemaLowering : OpConversionPattern<CemaOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CemaOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSupported(op, rewriter)))
      return failure();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto alphaType = cast<RankedTensorType>(op.getAlpha().getType());
    CemaShape shape{xType.getDimSize(0), xType.getDimSize(1),
                    xType.getDimSize(2), alphaType.getDimSize(1)};
    Location loc = op.getLoc();

    CemaCoefficients coeffs =
        buildCoefficients(rewriter, loc, adaptor.getAlpha(), adaptor.getDelta(),
                          adaptor.getTheta(), adaptor.getGamma(), shape);
    Value omega =
        parameterView(rewriter, loc, adaptor.getOmega(), {shape.channels});
    SmallVector<Value> init =
        initialState(rewriter, loc, adaptor.getHx(), shape);
    init.push_back(createEmptyF32(rewriter, loc, xType.getShape()));

    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, shape.steps);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value x = adaptor.getX();
    auto loop = scf::ForOp::create(
        rewriter, loc, lb, ub, step, init,
        [&](OpBuilder &b, Location bloc, Value t, ValueRange carried) {
          scf::YieldOp::create(
              b, bloc, buildStep(b, bloc, t, carried, x, omega, coeffs, shape));
        });

    Value hLast = buildComplexState(rewriter, loc, loop.getResult(0),
                                    loop.getResult(1), op.getHLast().getType());
    rewriter.replaceOp(op, {loop.getResult(2), hLast});
    return success();
  }
};

} // namespace

void mlir::megalodon::populateCemaToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<CemaLowering>(patterns.getContext());
}
