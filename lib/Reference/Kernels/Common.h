//===- Common.h - Helpers shared by the reference kernels -------*- C++ -*-===//
//
// Small scalar helpers used by more than one reference kernel source file.
// Private to the kernels library; not part of the public contract.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H
#define MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H

#include <cmath>

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

} // namespace megalodon::ref::detail

#endif // MEGALODON_LIB_REFERENCE_KERNELS_COMMON_H
