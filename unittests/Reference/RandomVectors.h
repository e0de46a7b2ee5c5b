//===- RandomVectors.h - Random inputs for the reference tests --*- C++ -*-===//
//
// Seeded random vectors shared by the reference kernel tests. The draws are
// made in order from the given generator, so a test that seeds its own
// std::mt19937_64 gets the same inputs on every run.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_UNITTESTS_REFERENCE_RANDOMVECTORS_H
#define MEGALODON_UNITTESTS_REFERENCE_RANDOMVECTORS_H

#include "megalodon/Reference/Kernels.h"

#include <cstddef>
#include <random>
#include <vector>

namespace megalodon::ref::test {

/// n values drawn uniformly from [lo, hi).
inline std::vector<double> uniformVector(size_t n, std::mt19937_64 &rng,
                                         double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double &e : v)
    e = dist(rng);
  return v;
}

/// n complex values whose real and imaginary parts are drawn uniformly from
/// [-1, 1), real part first.
inline std::vector<cdouble> complexVector(size_t n, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<cdouble> v(n);
  for (cdouble &e : v)
    e = cdouble(dist(rng), dist(rng));
  return v;
}

} // namespace megalodon::ref::test

#endif // MEGALODON_UNITTESTS_REFERENCE_RANDOMVECTORS_H
