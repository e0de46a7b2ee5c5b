//===- CemaBuilders.h - Pieces shared by cema and cema_grad -----*- C++ -*-===//
//
// The parts of the cema lowering (Cema.cpp) that its gradient (CemaGrad.cpp)
// runs again: the coefficients p, q and gamma / sqrt(N) from the stored
// parameters, the split of a complex state into f32 real and imaginary
// parts and back, the state update of one time step and the time-step
// slices of [B, L, D] tensors. Sharing them makes the backward recompute the
// states with the same arithmetic as the forward.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMABUILDERS_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMABUILDERS_H

#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <utility>

namespace mlir::megalodon::detail {

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
inline Value sigmoid(OpBuilder &b, Location loc, Value v) {
  Value one = createF32Constant(b, loc, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

/// The [D, N] (or [D]) view of a parameter stored with trailing unit or
/// (real, imaginary) dimensions: the slice at `lastIndex` of the last axis,
/// with the unit axes dropped.
inline Value parameterView(OpBuilder &b, Location loc, Value param,
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
inline CemaCoefficients buildCoefficients(OpBuilder &b, Location loc,
                                          Value alpha, Value delta, Value theta,
                                          Value gamma, const CemaShape &shape) {
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
inline SmallVector<Value> initialState(OpBuilder &b, Location loc, Value hx,
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
inline Value buildComplexState(OpBuilder &b, Location loc, Value re, Value im,
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

/// The scalar state update p u + q h, as {re, im}:
///   re' = p u + qRe re - qIm im,   im' = qRe im + qIm re.
/// Every scan that produces states uses it, so that a state recomputed from
/// a checkpoint goes through the same operations as in the forward scan.
inline std::pair<Value, Value> emitStateUpdate(OpBuilder &b, Location loc,
                                               Value u, Value p, Value qRe,
                                               Value qIm, Value hRe,
                                               Value hIm) {
  Value drive = arith::MulFOp::create(b, loc, p, u);
  Value reRot =
      arith::SubFOp::create(b, loc, arith::MulFOp::create(b, loc, qRe, hRe),
                            arith::MulFOp::create(b, loc, qIm, hIm));
  Value imRot =
      arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, qRe, hIm),
                            arith::MulFOp::create(b, loc, qIm, hRe));
  Value newRe = arith::AddFOp::create(b, loc, drive, reRot);
  return {newRe, imRot};
}

/// h <- p u + q h over (b, d, n), updating the carried parts in place.
inline SmallVector<Value> advanceState(OpBuilder &b, Location loc, Value u,
                                       const CemaCoefficients &c, Value re,
                                       Value im) {
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
        auto [newRe, newIm] = emitStateUpdate(
            nb, nloc, args[0], args[1], args[2], args[3], args[4], args[5]);
        linalg::YieldOp::create(nb, nloc, ValueRange{newRe, newIm});
      });
  return SmallVector<Value>(generic.getResults());
}

/// Offsets, sizes and strides of the step-`t` slice [B, 1, D] of x or y (or
/// of their cotangents).
struct StepSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};

inline StepSlice stepSlice(OpBuilder &b, Value t, const CemaShape &shape) {
  StepSlice s;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  s.offsets = {zero, t, zero};
  s.sizes = {b.getIndexAttr(shape.batch), one, b.getIndexAttr(shape.channels)};
  s.strides = {one, one, one};
  return s;
}

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMABUILDERS_H
