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

#include "CemaBuilders.h"
#include "LinalgBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::megalodon;
using namespace mlir::megalodon::detail;

namespace {

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
