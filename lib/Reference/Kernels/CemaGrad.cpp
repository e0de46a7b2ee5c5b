//===- CemaGrad.cpp - Reference backward of CEMA --------------------------===//
//
// fp64 vector-Jacobian products of the complex exponential moving average,
// MODEL.md section 8: the reverse-time adjoint scan (with carried state), the
// kernel form (no state) and the chain rule from the coefficients p, q, gamma
// to the stored parameters. The two forms are independent of each other, so
// that each checks the other.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Gradients.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;
using ref::cdouble;
using ref::CemaCoeffs;
using namespace ref::detail;

namespace {

/// Gradients of the fields of CemaCoeffs, summed over the batch.
struct CoeffGrads {
  std::vector<double> p;      // [D,N]
  std::vector<cdouble> q;     // [D,N]
  std::vector<cdouble> gamma; // [D,N], of the effective gamma
  std::vector<double> omega;  // [D]
  CoeffGrads(int64_t D, int64_t N)
      : p(D * N, 0.0), q(D * N, 0.0), gamma(D * N, 0.0), omega(D, 0.0) {}
};

} // namespace

void ref::cemaCoefficientsBackward(const double *alpha, const double *delta,
                                   const double *theta, int64_t D, int64_t N,
                                   const double *gp, const cdouble *gq,
                                   const cdouble *gGammaCoeff,
                                   const double *gOmegaCoeff, double *gAlpha,
                                   double *gDelta, double *gTheta,
                                   double *gGamma, double *gOmega) {
  const double gammaScale = 1.0 / std::sqrt(double(N));
  const cdouble I(0.0, 1.0);
  for (int64_t d = 0; d < D; ++d) {
    const double baseAngle = sigmoid(theta[d]);
    // sum_n n * dL/dphi[d,n], with wavelet number n = index + 1.
    double phiSum = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t idx = d * N + n;
      const double a = sigmoid(alpha[idx]);
      const double damp = sigmoid(delta[idx]);
      const double phi = double(n + 1) * baseAngle * 2.0 * kPi / double(N);
      const cdouble rotation = std::polar(1.0, phi);
      const cdouble q = (1.0 - a * damp) * rotation;
      // q = |q| e^{i phi}: dq = e^{i phi} d|q| + i q dphi, and a change dq
      // moves the loss by Re(conj(gq) dq).
      const double gAbs = (std::conj(gq[idx]) * rotation).real();
      const double gPhi = (std::conj(gq[idx]) * I * q).real();
      // |q| = 1 - a * damp; p = a.
      const double gA = gp[idx] - damp * gAbs;
      const double gDamp = -a * gAbs;
      gAlpha[idx] = gA * a * (1.0 - a);
      gDelta[idx] = gDamp * damp * (1.0 - damp);
      phiSum += double(n + 1) * gPhi;
      gGamma[2 * idx] = gGammaCoeff[idx].real() * gammaScale;
      gGamma[2 * idx + 1] = gGammaCoeff[idx].imag() * gammaScale;
    }
    gTheta[d] = baseAngle * (1.0 - baseAngle) * (2.0 * kPi / double(N)) *
                phiSum;
    gOmega[d] = gOmegaCoeff[d];
  }
}

void ref::cemaBackwardScan(const double *x, const double *alpha,
                           const double *delta, const double *theta,
                           const double *gamma, const double *omega, int64_t B,
                           int64_t L, int64_t D, int64_t N, const cdouble *hx,
                           const double *gy, const cdouble *gHLast, double *gx,
                           double *gAlpha, double *gDelta, double *gTheta,
                           double *gGamma, double *gOmega, cdouble *gHx) {
  const CemaCoeffs c =
      cemaCoefficients(alpha, delta, theta, gamma, omega, D, N);
  CoeffGrads grads(D, N);
  // states[(t + 1) * N + n] = h_{t,n} for t = -1 .. L-1.
  std::vector<cdouble> states((L + 1) * N);
  std::vector<cdouble> lambda(N);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      const double *p = &c.p[d * N];
      const cdouble *q = &c.q[d * N];
      const cdouble *gam = &c.gamma[d * N];
      auto u = [&](int64_t t) { return x[(b * L + t) * D + d]; };
      auto gyAt = [&](int64_t t) { return gy[(b * L + t) * D + d]; };

      // Forward states, h_{-1} = hx.
      for (int64_t n = 0; n < N; ++n)
        states[n] = hx ? hx[(b * D + d) * N + n] : cdouble(0.0);
      for (int64_t t = 0; t < L; ++t)
        for (int64_t n = 0; n < N; ++n)
          states[(t + 1) * N + n] = p[n] * u(t) + q[n] * states[t * N + n];

      // Adjoint: lambda_t = conj(q) lambda_{t+1} + gy_t conj(gamma), started
      // from lambda_L := gHLast without the conj(q) factor.
      for (int64_t n = 0; n < N; ++n)
        lambda[n] = gHLast ? gHLast[(b * D + d) * N + n] : cdouble(0.0);
      for (int64_t t = L - 1; t >= 0; --t) {
        const double g = gyAt(t);
        double gu = c.omega[d] * g;
        for (int64_t n = 0; n < N; ++n) {
          if (t < L - 1)
            lambda[n] = std::conj(q[n]) * lambda[n];
          lambda[n] += g * std::conj(gam[n]);
          gu += p[n] * lambda[n].real();
          grads.p[d * N + n] += u(t) * lambda[n].real();
          grads.q[d * N + n] += lambda[n] * std::conj(states[t * N + n]);
          grads.gamma[d * N + n] += g * std::conj(states[(t + 1) * N + n]);
        }
        grads.omega[d] += g * u(t);
        gx[(b * L + t) * D + d] = gu;
      }
      if (gHx) {
        for (int64_t n = 0; n < N; ++n) {
          cdouble &out = gHx[(b * D + d) * N + n];
          // With L == 0 the returned state is hx itself.
          out = L > 0 ? std::conj(q[n]) * lambda[n] : lambda[n];
        }
      }
    }
  }
  cemaCoefficientsBackward(alpha, delta, theta, D, N, grads.p.data(),
                           grads.q.data(), grads.gamma.data(),
                           grads.omega.data(), gAlpha, gDelta, gTheta, gGamma,
                           gOmega);
}

void ref::cemaBackwardKernel(const double *x, const double *alpha,
                             const double *delta, const double *theta,
                             const double *gamma, const double *omega,
                             int64_t B, int64_t L, int64_t D, int64_t N,
                             const double *gy, double *gx, double *gAlpha,
                             double *gDelta, double *gTheta, double *gGamma,
                             double *gOmega) {
  const CemaCoeffs c =
      cemaCoefficients(alpha, delta, theta, gamma, omega, D, N);
  CoeffGrads grads(D, N);
  std::vector<double> kernel(L), gKernel(L);
  for (int64_t d = 0; d < D; ++d) {
    const double *p = &c.p[d * N];
    const cdouble *q = &c.q[d * N];
    const cdouble *gam = &c.gamma[d * N];
    // k[j] = Re(sum_n gamma_n p_n q_n^j).
    for (int64_t j = 0; j < L; ++j) {
      cdouble tap = 0.0;
      for (int64_t n = 0; n < N; ++n)
        tap += gam[n] * p[n] * power(q[n], j);
      kernel[j] = tap.real();
    }
    std::fill(gKernel.begin(), gKernel.end(), 0.0);
    for (int64_t b = 0; b < B; ++b) {
      auto u = [&](int64_t t) { return x[(b * L + t) * D + d]; };
      auto gyAt = [&](int64_t t) { return gy[(b * L + t) * D + d]; };
      // gk[j] = sum_{t>=j} gy_t u_{t-j} (cross-correlation).
      for (int64_t j = 0; j < L; ++j)
        for (int64_t t = j; t < L; ++t)
          gKernel[j] += gyAt(t) * u(t - j);
      // gu_t = sum_{s>=t} gy_s k[s-t] + omega gy_t (anti-causal).
      for (int64_t t = 0; t < L; ++t) {
        double sum = c.omega[d] * gyAt(t);
        for (int64_t sIdx = t; sIdx < L; ++sIdx)
          sum += gyAt(sIdx) * kernel[sIdx - t];
        gx[(b * L + t) * D + d] = sum;
        grads.omega[d] += gyAt(t) * u(t);
      }
    }
    // Through k[j] = Re(sum_n w_n q_n^j) with w = p * gamma.
    for (int64_t n = 0; n < N; ++n) {
      const cdouble w = p[n] * gam[n];
      cdouble gw = 0.0, slope = 0.0;
      for (int64_t j = 0; j < L; ++j) {
        gw += gKernel[j] * std::conj(power(q[n], j));
        if (j >= 1)
          slope += double(j) * gKernel[j] * power(q[n], j - 1);
      }
      grads.q[d * N + n] = std::conj(w * slope);
      grads.p[d * N + n] =
          gw.real() * gam[n].real() + gw.imag() * gam[n].imag();
      grads.gamma[d * N + n] = p[n] * gw;
    }
  }
  cemaCoefficientsBackward(alpha, delta, theta, D, N, grads.p.data(),
                           grads.q.data(), grads.gamma.data(),
                           grads.omega.data(), gAlpha, gDelta, gTheta, gGamma,
                           gOmega);
}
