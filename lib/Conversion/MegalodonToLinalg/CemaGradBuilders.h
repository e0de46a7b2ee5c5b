//===- CemaGradBuilders.h - Pieces shared by the cema_grad lowerings -*- C++
//-*-===//
//
// The per-step lowering of cema_grad (CemaGrad.cpp) and its vector form
// (TileCemaGrad.cpp) differ in how they run the adjoint scan, not in what
// surrounds it: the skip path's share of gx before the scan, and after it
// the chain rule from the sums over batch and time to the gradients of the
// stored parameters (MODEL.md section 8).
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAGRADBUILDERS_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAGRADBUILDERS_H

#include "CemaBuilders.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

namespace mlir::megalodon::detail {

/// omega[d] gy[b, t, d] for all steps, [B, L, D].
Value skipGradient(OpBuilder &b, Location loc, Value gy, Value omega,
                   const CemaShape &shape);

/// The gradients of the stored alpha, delta, theta and gamma as [D, N]
/// views (theta [D]).
struct ParameterGrads {
  Value alpha, delta, theta, gammaRe, gammaIm;
};

/// g_alpha, g_delta, g_theta, g_gamma and g_omega of `op` in their stored
/// shapes, from `sums`, the [D, N] sums over batch and time of the
/// gradients of p, Re q, Im q, Re gamma and Im gamma (in that order), and
/// from x and gy (for omega).
SmallVector<Value> storedParameterGradients(OpBuilder &b, Location loc,
                                            CemaGradOp op, Value alpha,
                                            Value delta, Value theta,
                                            ArrayRef<Value> sums, Value x,
                                            Value gy, const CemaShape &shape);

} // namespace mlir::megalodon::detail

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_CEMAGRADBUILDERS_H
