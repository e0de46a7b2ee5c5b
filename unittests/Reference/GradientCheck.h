//===- GradientCheck.h - Finite-difference gradient checks ------*- C++ -*-===//
//
// The harness of the *GradTest files. A test draws random inputs and a random
// cotangent gy, takes loss = dot(gy, f(inputs)) (a random projection of the
// outputs), and compares the analytic vector-Jacobian product with central
// finite differences of that loss (fp64, step kStep). Acceptance: per
// gradient tensor, |analytic - numeric|_2 / |numeric|_2 <= kTolerance.
// MEGALODON_FD_REPORT=1 prints every relative error.
//
// Complex values follow MODEL.md section 8: the gradient of a complex
// parameter is d/dRe + i d/dIm, flattened as (re, im) pairs.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_UNITTESTS_REFERENCE_GRADIENTCHECK_H
#define MEGALODON_UNITTESTS_REFERENCE_GRADIENTCHECK_H

#include "RandomVectors.h"

#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace megalodon::ref::test {

inline constexpr double kStep = 1e-6;
inline constexpr double kTolerance = 1e-6;

/// sum a[i] * b[i].
inline double dot(const std::vector<double> &a, const std::vector<double> &b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += a[i] * b[i];
  return sum;
}

/// sum Re(a) Re(b) + Im(a) Im(b): the loss whose gradient w.r.t. b is a in
/// the convention of MODEL.md section 8.
inline double dot(const std::vector<cdouble> &a,
                  const std::vector<cdouble> &b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += a[i].real() * b[i].real() + a[i].imag() * b[i].imag();
  return sum;
}

/// d loss / d param by central differences, one entry at a time. `param` is
/// restored on return.
template <typename Loss>
std::vector<double> numericGradient(std::vector<double> &param, Loss loss) {
  std::vector<double> grad(param.size());
  for (size_t i = 0; i < param.size(); ++i) {
    const double saved = param[i];
    param[i] = saved + kStep;
    const double up = loss();
    param[i] = saved - kStep;
    const double down = loss();
    param[i] = saved;
    grad[i] = (up - down) / (2.0 * kStep);
  }
  return grad;
}

/// Complex parameters: d/dRe + i d/dIm, flattened as (re, im) pairs.
template <typename Loss>
std::vector<double> numericGradient(std::vector<cdouble> &param, Loss loss) {
  std::vector<double> grad(2 * param.size());
  for (size_t i = 0; i < param.size(); ++i) {
    const cdouble saved = param[i];
    for (int part = 0; part < 2; ++part) {
      const cdouble step =
          part == 0 ? cdouble(kStep, 0.0) : cdouble(0.0, kStep);
      param[i] = saved + step;
      const double up = loss();
      param[i] = saved - step;
      const double down = loss();
      param[i] = saved;
      grad[2 * i + part] = (up - down) / (2.0 * kStep);
    }
  }
  return grad;
}

/// A complex gradient as (re, im) pairs, to compare with numericGradient.
inline std::vector<double> flatten(const std::vector<cdouble> &v) {
  std::vector<double> out;
  for (const cdouble &e : v) {
    out.push_back(e.real());
    out.push_back(e.imag());
  }
  return out;
}

/// |analytic - numeric|_2 / |numeric|_2 <= kTolerance, with a non-trivial
/// numeric gradient. MEGALODON_FD_REPORT=1 prints every error.
inline void expectGradient(const char *name,
                           const std::vector<double> &analytic,
                           const std::vector<double> &numeric) {
  ASSERT_EQ(analytic.size(), numeric.size()) << name;
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    norm += numeric[i] * numeric[i];
  }
  diff = std::sqrt(diff);
  norm = std::sqrt(norm);
  ASSERT_GT(norm, 1e-8) << name << ": the numeric gradient vanishes";
  const double rel = diff / norm;
  if (std::getenv("MEGALODON_FD_REPORT"))
    std::printf("  [fd] %-28s rel %.3e\n", name, rel);
  EXPECT_LE(rel, kTolerance) << name;
}

} // namespace megalodon::ref::test

#endif // MEGALODON_UNITTESTS_REFERENCE_GRADIENTCHECK_H
