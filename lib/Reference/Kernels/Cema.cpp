//===- Cema.cpp - Reference complex exponential moving average ------------===//
//
// fp64 versions of MODEL.md section 5: the coefficients derived from the
// stored parameters, the sequential recurrence and the convolution form. The
// two forms are computed independently so that each checks the other.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

using namespace megalodon;
using ref::cdouble;
using ref::CemaCoeffs;
using namespace ref::detail;

namespace {

/// In-place radix-2 FFT of a power-of-two length. The forward transform uses
/// exp(-2*pi*i*jk/M); the inverse uses exp(+2*pi*i*jk/M) and divides by M.
void fft(std::vector<cdouble> &a, bool inverse) {
  const size_t size = a.size();
  assert(size > 0 && (size & (size - 1)) == 0 && "FFT length must be 2^k");
  // Bit-reversal permutation, so the butterflies below can run in place.
  for (size_t i = 1, j = 0; i < size; ++i) {
    size_t bit = size >> 1;
    for (; j & bit; bit >>= 1)
      j ^= bit;
    j ^= bit;
    if (i < j)
      std::swap(a[i], a[j]);
  }
  const double sign = inverse ? 1.0 : -1.0;
  for (size_t len = 2; len <= size; len <<= 1) {
    const size_t half = len / 2;
    for (size_t k = 0; k < half; ++k) {
      // Each twiddle comes from its own cos/sin rather than from repeated
      // multiplication, which would accumulate rounding error along a stage.
      cdouble w = std::polar(1.0, sign * 2.0 * kPi * double(k) / double(len));
      for (size_t start = 0; start < size; start += len) {
        cdouble even = a[start + k];
        cdouble odd = a[start + k + half] * w;
        a[start + k] = even + odd;
        a[start + k + half] = even - odd;
      }
    }
  }
  if (inverse)
    for (cdouble &z : a)
      z /= double(size);
}

/// The smallest power of two that is >= n.
size_t nextPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

} // namespace

CemaCoeffs ref::cemaCoefficients(const double *alpha, const double *delta,
                                 const double *theta, const double *gamma,
                                 const double *omega, int64_t D, int64_t N) {
  CemaCoeffs c;
  c.D = D;
  c.N = N;
  c.p.resize(D * N);
  c.q.resize(D * N);
  c.gamma.resize(D * N);
  c.omega.assign(omega, omega + D);
  const double gammaScale = 1.0 / std::sqrt(double(N));
  for (int64_t d = 0; d < D; ++d) {
    const double baseAngle = sigmoid(theta[d]);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t idx = d * N + n;
      const double a = sigmoid(alpha[idx]);
      const double damp = sigmoid(delta[idx]);
      // Index n holds wavelet n + 1: phi = n * sigma(theta) * 2pi / N for
      // n = 1..N.
      const double phi = double(n + 1) * baseAngle * 2.0 * kPi / double(N);
      c.p[idx] = a;
      c.q[idx] = std::polar(1.0 - a * damp, phi);
      c.gamma[idx] = cdouble(gamma[2 * idx], gamma[2 * idx + 1]) * gammaScale;
    }
  }
  return c;
}

void ref::cemaRecurrence(const double *x, const CemaCoeffs &c, int64_t B,
                         int64_t L, cdouble *h, double *y) {
  const int64_t D = c.D, N = c.N;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      cdouble *state = h + (b * D + d) * N;
      const double *p = &c.p[d * N];
      const cdouble *q = &c.q[d * N];
      const cdouble *gamma = &c.gamma[d * N];
      for (int64_t t = 0; t < L; ++t) {
        const double u = x[(b * L + t) * D + d];
        cdouble sum = 0.0;
        for (int64_t n = 0; n < N; ++n) {
          state[n] = p[n] * u + q[n] * state[n];
          sum += gamma[n] * state[n];
        }
        // The real part is taken once, after the weighted sum over n.
        y[(b * L + t) * D + d] = sum.real() + c.omega[d] * u;
      }
    }
  }
}

void ref::cemaConvolution(const double *x, const CemaCoeffs &c, int64_t B,
                          int64_t L, cdouble *h, double *y) {
  const int64_t D = c.D, N = c.N;
  if (L == 0)
    return;
  // Zero padding to >= 2L makes the circular convolution of the FFT equal to
  // the linear one on the first L outputs.
  const size_t fftLen = nextPowerOfTwo(size_t(2 * L));

  // Spectrum of the kernel k[d,j] = Re(sum_n gamma p q^j), one per channel.
  std::vector<std::vector<cdouble>> kernelSpectrum(D);
  for (int64_t d = 0; d < D; ++d) {
    std::vector<cdouble> &spec = kernelSpectrum[d];
    spec.assign(fftLen, 0.0);
    for (int64_t j = 0; j < L; ++j) {
      cdouble tap = 0.0;
      for (int64_t n = 0; n < N; ++n)
        tap += c.gamma[d * N + n] * c.p[d * N + n] * power(c.q[d * N + n], j);
      spec[j] = tap.real();
    }
    fft(spec, /*inverse=*/false);
  }

  std::vector<cdouble> signal(fftLen);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      auto u = [&](int64_t t) { return x[(b * L + t) * D + d]; };
      const double *p = &c.p[d * N];
      const cdouble *q = &c.q[d * N];
      const cdouble *gamma = &c.gamma[d * N];
      cdouble *state = h + (b * D + d) * N;

      // Causal convolution sum_{j<=t} k[j] u_{t-j}.
      std::fill(signal.begin(), signal.end(), 0.0);
      for (int64_t t = 0; t < L; ++t)
        signal[t] = u(t);
      fft(signal, /*inverse=*/false);
      for (size_t f = 0; f < fftLen; ++f)
        signal[f] *= kernelSpectrum[d][f];
      fft(signal, /*inverse=*/true);

      for (int64_t t = 0; t < L; ++t) {
        // Contribution of the carried state: b_t = Re(sum_n gamma q^{t+1} hx).
        cdouble carried = 0.0;
        for (int64_t n = 0; n < N; ++n)
          carried += gamma[n] * power(q[n], t + 1) * state[n];
        y[(b * L + t) * D + d] =
            signal[t].real() + carried.real() + c.omega[d] * u(t);
      }

      // Closed-form last state h_{L-1} = p sum_j q^{L-1-j} u_j + q^L hx. It
      // overwrites hx, which is no longer needed.
      for (int64_t n = 0; n < N; ++n) {
        cdouble driven = 0.0;
        for (int64_t j = 0; j < L; ++j)
          driven += power(q[n], L - 1 - j) * u(j);
        state[n] = p[n] * driven + power(q[n], L) * state[n];
      }
    }
  }
}
