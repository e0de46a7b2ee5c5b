//===- Common.h - Helpers shared by the reference kernels -------*- C++ -*-===//
//
// Small helpers used by more than one reference kernel source file, so that
// a forward kernel and its backward compute shared pieces the same way.
// Private to the kernels library; not part of the public contract.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H
#define MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H

#include "megalodon/Reference/Kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <vector>

namespace megalodon::ref::detail {

constexpr double kPi = 3.14159265358979323846;

/// The logistic sigmoid. The branch keeps exp() from overflowing for inputs of
/// large magnitude, so it never produces inf/inf.
inline double sigmoid(double x) {
  if (x >= 0.0)
    return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

/// q^j computed as exp(j * (log|q| + i*arg q)), the form of MODEL.md. arg q
/// differs from phi by a multiple of 2*pi, which an integer power does not
/// see. j == 0 is special-cased so that q == 0 gives 1 rather than 0 * -inf.
inline cdouble power(cdouble q, int64_t j) {
  if (j == 0)
    return 1.0;
  const double jd = double(j);
  return std::polar(std::exp(jd * std::log(std::abs(q))), jd * std::arg(q));
}

/// The loop of the rotary embedding over x [B,L,H,dh]: calls
/// rotate(x0, x1, cosA, sinA) on each pair (x0, x1) = (vec[2j], vec[2j+1]) of
/// every head vector, with the angle pos * base^(-2j/dh) of position
/// pos = (offset + i) % chunk; positions restart at 0 in every chunk.
template <typename Rotate>
void forEachRotaryPair(double *x, int64_t B, int64_t L, int64_t H, int64_t dh,
                       double base, int64_t offset, int64_t chunk,
                       Rotate rotate) {
  assert(dh % 2 == 0 && "rotary needs an even head width");
  assert(chunk > 0 && offset >= 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i) {
      const double pos = double((offset + i) % chunk);
      for (int64_t head = 0; head < H; ++head) {
        double *vec = x + ((b * L + i) * H + head) * dh;
        for (int64_t j = 0; j < dh / 2; ++j) {
          const double invFreq = std::pow(base, -2.0 * double(j) / double(dh));
          const double angle = pos * invFreq;
          rotate(vec[2 * j], vec[2 * j + 1], std::cos(angle), std::sin(angle));
        }
      }
    }
  }
}

/// One softmax row of chunked causal attention: weights[s - first] =
/// softmax over s in [first, last] of the score q . keyAt(s), with dz-wide
/// q and keys. keyAt(s) returns the key of stream position s.
template <typename KeyAt>
void attentionWeights(const double *q, KeyAt keyAt, int64_t first, int64_t last,
                      int64_t dz, std::vector<double> &weights) {
  weights.assign(last - first + 1, 0.0);
  for (int64_t s = first; s <= last; ++s) {
    const double *ks = keyAt(s);
    double score = 0.0;
    for (int64_t e = 0; e < dz; ++e)
      score += q[e] * ks[e];
    weights[s - first] = score;
  }
  // Subtracting the maximum keeps exp() in range without changing the
  // softmax.
  const double maxScore = *std::max_element(weights.begin(), weights.end());
  double total = 0.0;
  for (double &w : weights) {
    w = std::exp(w - maxScore);
    total += w;
  }
  for (double &w : weights)
    w /= total;
}

} // namespace megalodon::ref::detail

#endif // MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H
