//===- Gradients.h - fp64 reverse-mode reference kernels --------*- C++ -*-===//
//
// Vector-Jacobian products of the operators of Kernels.h: the oracle that
// training (the backward pass of compiled models) is checked against. Like
// the forward kernels they are naive fp64 loops that follow the formulas of
// MODEL.md (sections 8 and 9 for CEMA and the timestep norm) literally.
//
// Conventions, shared with Kernels.h:
//  * All arrays are dense row-major; the shape of each array is given in
//    brackets. The forward operator's arguments that the gradient depends on
//    are passed under the same names and shapes (a bias, which the gradient
//    does not depend on, is left out); forward values that the backward pass
//    needs (statistics, states, softmax weights) are recomputed from them.
//  * A cotangent `gX` has the shape of `X` and holds d(loss)/dX.
//  * Every output array is fully overwritten, parameter gradients included:
//    each call returns the gradient of one use of the operator. Callers that
//    accumulate over several uses (a shared embedding and output projection,
//    several micro-batches) add the results themselves.
//  * Optional cotangent inputs may be null and then stand for zeros. An
//    optional gradient output may be null when the caller does not want it;
//    it is then not computed.
//  * Complex cotangents follow MODEL.md section 8: for a complex w that the
//    real loss depends on, gw = d(loss)/d(Re w) + i * d(loss)/d(Im w).
//  * A norm "weight" is stored as an offset from 1; its gradient is the
//    gradient of the stored offset (which equals that of the scale weight+1).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_REFERENCE_GRADIENTS_H
#define MEGALODON_REFERENCE_GRADIENTS_H

#include "megalodon/Reference/Kernels.h"

#include <cstdint>

namespace megalodon::ref {

//===----------------------------------------------------------------------===//
// Timestep normalization (MODEL.md sections 4 and 9)
//===----------------------------------------------------------------------===//

/// Backward of timestepNorm through the prefix-sum form of MODEL.md
/// section 9 (per row and group: r_t, gm_t, gv_t, P_t, Q_t and their reverse
/// cumulative sums A, Bq).
///
/// Inputs: x [B,L,D] and weight [D] as given to the forward; `initial` is the
/// carried state the forward started from (count [B], mean/var [B,G]), NOT
/// the state it returned. gy [B,L,D]; gMeanFinal, gVarFinal [B,G] are the
/// cotangents of the returned final mean and var (null = zero). The count has
/// no gradient.
///
/// Outputs: gx [B,L,D]; gWeight, gBias [D]; gMean0, gVar0 [B,G], the
/// gradients of the carried mean and var (null = not wanted; both are zero
/// when the carried count is 0).
void timestepNormBackward(const double *x, const double *weight, int64_t B,
                          int64_t L, int64_t D, int64_t G, double eps,
                          const TsnState &initial, const double *gy,
                          const double *gMeanFinal, const double *gVarFinal,
                          double *gx, double *gWeight, double *gBias,
                          double *gMean0, double *gVar0);

//===----------------------------------------------------------------------===//
// Complex exponential moving average (MODEL.md sections 5 and 8)
//===----------------------------------------------------------------------===//

/// Backward of cemaCoefficients: the chain rule from the derived coefficients
/// to the stored parameters (MODEL.md section 8, last block).
///
/// alpha, delta [D,N]; theta [D]: the stored parameters. gp [D,N] (real),
/// gq [D,N] (complex), gGammaCoeff [D,N] (complex, gradient of the effective
/// gamma that already includes 1/sqrt(N)), gOmegaCoeff [D]: the gradients of
/// the fields of CemaCoeffs. Outputs: gAlpha, gDelta [D,N]; gTheta [D];
/// gGamma [D,N,2] (last axis real, imag); gOmega [D].
void cemaCoefficientsBackward(const double *alpha, const double *delta,
                              const double *theta, int64_t D, int64_t N,
                              const double *gp, const cdouble *gq,
                              const cdouble *gGammaCoeff,
                              const double *gOmegaCoeff, double *gAlpha,
                              double *gDelta, double *gTheta, double *gGamma,
                              double *gOmega);

/// Backward of the CEMA operator by the reverse-time adjoint scan of MODEL.md
/// section 8 (A), with carried state.
///
/// Forward arguments: x [B,L,D]; the stored parameters alpha, delta [D,N],
/// theta [D], gamma [D,N,2], omega [D]; hx [B,D,N] complex, the carried state
/// on entry to the forward (null = zeros). Cotangents: gy [B,L,D];
/// gHLast [B,D,N] complex, of the returned last state (null = zero).
///
/// Outputs: gx [B,L,D]; gAlpha, gDelta [D,N]; gTheta [D]; gGamma [D,N,2];
/// gOmega [D]; gHx [B,D,N] complex (null = not wanted).
void cemaBackwardScan(const double *x, const double *alpha,
                      const double *delta, const double *theta,
                      const double *gamma, const double *omega, int64_t B,
                      int64_t L, int64_t D, int64_t N, const cdouble *hx,
                      const double *gy, const cdouble *gHLast, double *gx,
                      double *gAlpha, double *gDelta, double *gTheta,
                      double *gGamma, double *gOmega, cdouble *gHx);

/// Backward of the CEMA operator by the kernel form of MODEL.md section 8
/// (B): no carried state (hx = 0) and no cotangent of the last state, the
/// training case. Arguments and outputs as cemaBackwardScan without hx,
/// gHLast and gHx. The cross-correlation and anti-causal convolution are
/// direct O(L^2) sums per channel.
void cemaBackwardKernel(const double *x, const double *alpha,
                        const double *delta, const double *theta,
                        const double *gamma, const double *omega, int64_t B,
                        int64_t L, int64_t D, int64_t N, const double *gy,
                        double *gx, double *gAlpha, double *gDelta,
                        double *gTheta, double *gGamma, double *gOmega);

//===----------------------------------------------------------------------===//
// Norms, dense layers, activations, loss
//===----------------------------------------------------------------------===//

/// Backward of rmsNorm. x, gy, gx [rows, width]; weight [width] or null;
/// gWeight [width] (may be null; ignored when weight is null).
void rmsNormBackward(const double *x, const double *weight, int64_t rows,
                     int64_t width, int64_t groups, double eps,
                     const double *gy, double *gx, double *gWeight);

/// Backward of layerNorm. x, gy, gx [rows, width]; weight, bias [width] or
/// null as in the forward (the bias value itself is not needed, so only its
/// presence matters: pass gBias null when there is none). gWeight, gBias
/// [width] may be null; gWeight is ignored when weight is null.
void layerNormBackward(const double *x, const double *weight, int64_t rows,
                       int64_t width, double eps, const double *gy, double *gx,
                       double *gWeight, double *gBias);

/// Backward of linear. x [rows,in], w [out,in], gy [rows,out]. Outputs:
/// gx [rows,in], gw [out,in], gb [out]; each may be null when not wanted
/// (gb null when the layer has no bias).
void linearBackward(const double *x, const double *w, int64_t rows,
                    int64_t in, int64_t out, const double *gy, double *gx,
                    double *gw, double *gb);

/// Backward of silu, elementwise over n values: gx = gy * silu'(x) with
/// silu'(x) = sigmoid(x) * (1 + x * (1 - sigmoid(x))). gx may alias gy.
void siluBackward(const double *x, int64_t n, const double *gy, double *gx);

/// Backward of embedding: gTable [V,D] is zeroed, then row gy[i] [D] is added
/// into row tokens[i] for every i < n (a token that occurs twice receives the
/// sum). gy [n,D].
void embeddingBackward(const int64_t *tokens, int64_t n, int64_t V, int64_t D,
                       const double *gy, double *gTable);

/// Backward of crossEntropy (mean over rows) for a loss cotangent gLoss
/// (1 for the loss itself): gLogits[r,c] = gLoss * (softmax(logits[r])[c] -
/// [c == targets[r]]) / rows. logits, gLogits [rows,V].
void crossEntropyBackward(const double *logits, const int64_t *targets,
                          int64_t rows, int64_t V, double gLoss,
                          double *gLogits);

//===----------------------------------------------------------------------===//
// Rotary embedding, shared q/k projection, chunked attention
//===----------------------------------------------------------------------===//

/// Backward of rotary, in place: g [B,L,H*dh] holds the cotangent of the
/// rotated tensor on entry and that of the unrotated one on exit. The
/// rotation is orthogonal, so this is rotary by -angle with the same position
/// rule ((offset + i) mod chunk) and the same base.
void rotaryBackward(double *g, int64_t B, int64_t L, int64_t H, int64_t dh,
                    double base, int64_t offset, int64_t chunk);

/// Backward of the shared_qk op: q = z * (gamma[0] + 1) / sqrt(dz) + beta[0],
/// k = z * (gamma[1] + 1) / sqrt(dz) + beta[1], with dz = Z / H. z, gq, gk,
/// gz [rows,Z]; gamma [2,Z]. Outputs gz [rows,Z], gGamma [2,Z], gBeta [2,Z].
void sharedQKBackward(const double *z, const double *gamma, int64_t rows,
                      int64_t Z, int64_t H, const double *gq, const double *gk,
                      double *gz, double *gGamma, double *gBeta);

/// Backward of chunkAttention without a cache (cacheLen 0): token i belongs
/// to chunk i / C and attends to keys C*(i/C) .. i. The softmax of each row
/// is recomputed from q and k. q, k, gq, gk [B,L,H*dz]; v, gv [B,L,H*dv];
/// gOut [B,L,H*dv].
void chunkAttentionBackward(const double *q, const double *k, const double *v,
                            int64_t B, int64_t L, int64_t H, int64_t dz,
                            int64_t dv, int64_t C, const double *gOut,
                            double *gq, double *gk, double *gv);

} // namespace megalodon::ref

#endif // MEGALODON_REFERENCE_GRADIENTS_H
