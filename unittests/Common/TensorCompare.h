//===- TensorCompare.h - Comparing f32 tensors in tests ---------*- C++ -*-===//
#ifndef MEGALODON_UNITTESTS_COMMON_TENSORCOMPARE_H
#define MEGALODON_UNITTESTS_COMMON_TENSORCOMPARE_H

#include "megalodon/runtime/HostTensor.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace megalodon::testing {

/// ||a - b|| / ||b|| (2-norms) over f32 tensors of b's size; the absolute
/// norm of the difference when b is zero.
inline double relativeError(const rt::HostTensor &a, const rt::HostTensor &b) {
  double diff = 0.0, norm = 0.0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    double d = static_cast<double>(a.f32()[i]) - b.f32()[i];
    diff += d * d;
    norm += static_cast<double>(b.f32()[i]) * b.f32()[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

/// max |got - want| over want's elements, compiled f32 against fp64.
inline double maxAbsError(const float *got, const std::vector<double> &want) {
  double err = 0.0;
  for (size_t i = 0; i < want.size(); ++i)
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
  return err;
}

} // namespace megalodon::testing

#endif // MEGALODON_UNITTESTS_COMMON_TENSORCOMPARE_H
