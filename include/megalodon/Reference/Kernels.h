//===- Kernels.h - fp64 reference kernels for every model op ----*- C++ -*-===//
//
// Naive, loop-by-loop fp64 implementations of the operators of MODEL.md. They
// are the test oracle that every compiled lowering is checked against, so they
// favour the literal formula over speed. No MLIR or LLVM here: the reference
// interpreter (Interpreter.h) walks the IR and calls these.
//
// Conventions: all arrays are dense row-major; the shape of each array is
// given in brackets. Output arrays are fully overwritten. A norm "weight" is
// stored as an offset from 1 (the effective scale is weight + 1).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_REFERENCE_KERNELS_H
#define MEGALODON_REFERENCE_KERNELS_H

#include <complex>
#include <cstdint>
#include <vector>

namespace megalodon::ref {

using cdouble = std::complex<double>;

//===----------------------------------------------------------------------===//
// Timestep normalization (MODEL.md section 4)
//===----------------------------------------------------------------------===//

/// Carried statistics of a timestep norm: count [B] (time steps absorbed),
/// mean [B,G], var [B,G].
struct TsnState {
  std::vector<int64_t> count;
  std::vector<double> mean, var;
  /// The fresh state of a model whose priors are zero: n 0, m 0, v 1.
  static TsnState fresh(int64_t batch, int64_t groups);
};

/// Welford running update. x, y [B,L,D]; weight, bias [D]; `state` is read as
/// the carried state and overwritten with the state after the last step.
void timestepNorm(const double *x, const double *weight, const double *bias,
                  int64_t B, int64_t L, int64_t D, int64_t G, double eps,
                  TsnState &state, double *y);

/// The same operator through the closed form (prefix sums of mu and e, then
/// E[x^2] - m^2). Exists to check the running update; same contract.
void timestepNormClosedForm(const double *x, const double *weight,
                            const double *bias, int64_t B, int64_t L,
                            int64_t D, int64_t G, double eps, TsnState &state,
                            double *y);

//===----------------------------------------------------------------------===//
// Complex exponential moving average (MODEL.md section 5)
//===----------------------------------------------------------------------===//

/// The per-channel coefficients derived from the stored parameters.
struct CemaCoeffs {
  int64_t D = 0, N = 0;
  std::vector<double> p;      // [D,N] real input gain sigma(alpha)
  std::vector<cdouble> q;     // [D,N] complex decay
  std::vector<cdouble> gamma; // [D,N] output weights, already / sqrt(N)
  std::vector<double> omega;  // [D]
};

/// alpha, delta [D,N]; theta [D]; gamma [D,N,2]; omega [D].
CemaCoeffs cemaCoefficients(const double *alpha, const double *delta,
                            const double *theta, const double *gamma,
                            const double *omega, int64_t D, int64_t N);

/// Sequential recurrence. x, y [B,L,D]; h [B,D,N] holds the carried state on
/// entry (zeros for a fresh sequence) and the last state h_{L-1} on exit.
void cemaRecurrence(const double *x, const CemaCoeffs &c, int64_t B, int64_t L,
                    cdouble *h, double *y);

/// Convolution form: kernel k[d,j], causal convolution (FFT of length >= 2L),
/// the carried-state bias b_t and the closed-form last state. Same contract
/// as cemaRecurrence.
void cemaConvolution(const double *x, const CemaCoeffs &c, int64_t B,
                     int64_t L, cdouble *h, double *y);

//===----------------------------------------------------------------------===//
// Norms, dense layers, activations, loss
//===----------------------------------------------------------------------===//

/// RMS norm over groups of the last axis: x, y [rows, width], `groups`
/// contiguous groups of width/groups features, each normalized on its own:
/// y = x / sqrt(mean(x^2) + eps) * (weight + 1). weight [width] or null.
void rmsNorm(const double *x, const double *weight, int64_t rows,
             int64_t width, int64_t groups, double eps, double *y);

/// Layer norm over the last axis (biased variance, eps inside the sqrt):
/// y = (x - mean) / sqrt(var + eps) * (weight + 1) + bias. weight/bias may be
/// null (no affine).
void layerNorm(const double *x, const double *weight, const double *bias,
               int64_t rows, int64_t width, double eps, double *y);

/// y[r,o] = sum_i x[r,i] * w[o,i] + b[o]. x [rows,in], w [out,in], b [out] or
/// null, y [rows,out].
void linear(const double *x, const double *w, const double *b, int64_t rows,
            int64_t in, int64_t out, double *y);

/// y = x * sigmoid(x), elementwise over n values.
void silu(const double *x, int64_t n, double *y);

/// Gathers rows of `table` [V,D] for tokens [n]; y [n,D]. Every token must
/// already be in range.
void embedding(const double *table, const int64_t *tokens, int64_t n,
               int64_t V, int64_t D, double *y);

/// Mean over rows of -log softmax(logits[r])[targets[r]]. logits [rows,V].
double crossEntropy(const double *logits, const int64_t *targets,
                    int64_t rows, int64_t V);

//===----------------------------------------------------------------------===//
// Rotary embedding and chunked attention (MODEL.md sections 6 and 7)
//===----------------------------------------------------------------------===//

/// Rotates x [B,L,H*dh] in place: token i of every row sits at chunk position
/// (offset + i) mod chunk; the adjacent pair (x[2j], x[2j+1]) of each head
/// vector is multiplied by exp(i * pos * base^(-2j/dh)).
void rotary(double *x, int64_t B, int64_t L, int64_t H, int64_t dh,
            double base, int64_t offset, int64_t chunk);

/// Chunked causal softmax attention without a scale factor, heads side by
/// side: q, k [B,L,H*dz]; v [B,L,H*dv]; out [B,L,H*dv].
///
/// The new tokens follow `cacheLen` cached ones: token i has stream position
/// a = cacheLen + i and belongs to chunk a / C. It attends to every key at a
/// position b <= a in the same chunk; a key at b < cacheLen comes from the
/// cache (kCache [B,C,H*dz], vCache [B,C,H*dv], only the first cacheLen rows
/// are read; they may be null when cacheLen == 0), otherwise from k/v row
/// b - cacheLen.
void chunkAttention(const double *q, const double *k, const double *v,
                    const double *kCache, const double *vCache,
                    int64_t cacheLen, int64_t B, int64_t L, int64_t H,
                    int64_t dz, int64_t dv, int64_t C, double *out);

/// The cache after a call with L new tokens: of the stream [cache ; new] of
/// length cacheLen + L, the last (cacheLen + L) mod C rows are kept at the
/// front of the cache (rows past them are zero). kCache [B,C,Zw] and vCache
/// [B,C,Ew] are updated in place; k [B,L,Zw], v [B,L,Ew]. Returns the new
/// cache length.
int64_t kvCacheUpdate(double *kCache, double *vCache, int64_t cacheLen,
                      const double *k, const double *v, int64_t B, int64_t L,
                      int64_t Zw, int64_t Ew, int64_t C);

} // namespace megalodon::ref

#endif // MEGALODON_REFERENCE_KERNELS_H
