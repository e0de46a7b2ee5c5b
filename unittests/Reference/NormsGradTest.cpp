//===- NormsGradTest.cpp - Finite-difference tests of norm backward -------===//
//
// Central finite differences (fp64, step 1e-6) of a random projection of the
// outputs against timestepNormBackward, rmsNormBackward and
// layerNormBackward. Acceptance: per gradient tensor, the relative error of
// the 2-norm, |analytic - numeric|_2 / |numeric|_2 <= 1e-6.
//
//===----------------------------------------------------------------------===//

#include "GradientCheck.h"

#include "megalodon/Reference/Gradients.h"
#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <random>
#include <vector>

using namespace megalodon::ref;
using namespace megalodon::ref::test;

namespace {

//===----------------------------------------------------------------------===//
// Timestep norm
//===----------------------------------------------------------------------===//

struct TsnCase {
  int64_t B, L, D, G;
  bool carried;        // n0 > 0 with arbitrary statistics, else fresh
  bool finalCotangent; // the returned (m, v) carry gradients
};

class TimestepNormGrad : public ::testing::TestWithParam<TsnCase> {};

TEST_P(TimestepNormGrad, MatchesFiniteDifferences) {
  const TsnCase tc = GetParam();
  const int64_t B = tc.B, L = tc.L, D = tc.D, G = tc.G;
  const double eps = 1e-5;
  std::mt19937_64 rng(1000 + 17 * L + G + (tc.carried ? 7 : 0));
  std::vector<double> x = uniformVector(B * L * D, rng, -2.0, 2.0);
  std::vector<double> weight = uniformVector(D, rng, -0.5, 0.5);
  std::vector<double> bias = uniformVector(D, rng, -0.5, 0.5);
  TsnState initial = TsnState::fresh(B, G);
  if (tc.carried) {
    for (int64_t b = 0; b < B; ++b)
      initial.count[b] = 2 + 3 * b;
    initial.mean = uniformVector(B * G, rng, -1.0, 1.0);
    initial.var = uniformVector(B * G, rng, 0.5, 2.0);
  }
  const std::vector<double> gy = uniformVector(B * L * D, rng, -1.0, 1.0);
  std::vector<double> gmFinal(B * G, 0.0), gvFinal(B * G, 0.0);
  if (tc.finalCotangent) {
    gmFinal = uniformVector(B * G, rng, -1.0, 1.0);
    gvFinal = uniformVector(B * G, rng, -1.0, 1.0);
  }

  auto loss = [&] {
    TsnState state = initial;
    std::vector<double> y(B * L * D);
    timestepNorm(x.data(), weight.data(), bias.data(), B, L, D, G, eps, state,
                 y.data());
    return dot(gy, y) + dot(gmFinal, state.mean) + dot(gvFinal, state.var);
  };

  std::vector<double> gx(B * L * D), gWeight(D), gBias(D), gMean0(B * G),
      gVar0(B * G);
  timestepNormBackward(x.data(), weight.data(), B, L, D, G, eps, initial,
                       gy.data(), tc.finalCotangent ? gmFinal.data() : nullptr,
                       tc.finalCotangent ? gvFinal.data() : nullptr, gx.data(),
                       gWeight.data(), gBias.data(), gMean0.data(),
                       gVar0.data());

  expectGradient("tsn x", gx, numericGradient(x, loss));
  expectGradient("tsn weight", gWeight, numericGradient(weight, loss));
  expectGradient("tsn bias", gBias, numericGradient(bias, loss));
  if (tc.carried) {
    expectGradient("tsn carried mean", gMean0,
                   numericGradient(initial.mean, loss));
    expectGradient("tsn carried var", gVar0,
                   numericGradient(initial.var, loss));
  } else {
    // With n0 = 0 the prior drops out of the forward completely.
    for (int64_t i = 0; i < B * G; ++i) {
      EXPECT_EQ(gMean0[i], 0.0);
      EXPECT_EQ(gVar0[i], 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TimestepNormGrad,
    ::testing::Values(TsnCase{2, 5, 6, 2, /*carried=*/false,
                              /*finalCotangent=*/false},
                      TsnCase{2, 5, 6, 3, false, true},
                      TsnCase{2, 4, 8, 2, true, false},
                      TsnCase{3, 6, 6, 3, true, true},
                      TsnCase{1, 1, 4, 1, true, true}));

TEST(TimestepNormGradTest, EmptySequencePassesFinalCotangentToCarriedState) {
  TsnState initial = TsnState::fresh(1, 2);
  initial.count[0] = 3;
  const std::vector<double> gmFinal = {0.25, -1.5}, gvFinal = {2.0, 0.5};
  std::vector<double> gWeight(4, 7.0), gBias(4, 7.0), gMean0(2), gVar0(2);
  timestepNormBackward(nullptr, nullptr, 1, 0, 4, 2, 1e-5, initial, nullptr,
                       gmFinal.data(), gvFinal.data(), nullptr, gWeight.data(),
                       gBias.data(), gMean0.data(), gVar0.data());
  EXPECT_EQ(gMean0, gmFinal);
  EXPECT_EQ(gVar0, gvFinal);
  EXPECT_EQ(gWeight, std::vector<double>(4, 0.0));
  EXPECT_EQ(gBias, std::vector<double>(4, 0.0));
}

//===----------------------------------------------------------------------===//
// RMS norm
//===----------------------------------------------------------------------===//

struct RmsCase {
  int64_t rows, width, groups;
  bool affine;
};

class RmsNormGrad : public ::testing::TestWithParam<RmsCase> {};

TEST_P(RmsNormGrad, MatchesFiniteDifferences) {
  const RmsCase rc = GetParam();
  const double eps = 1e-5;
  std::mt19937_64 rng(2000 + rc.width * 3 + rc.groups);
  std::vector<double> x = uniformVector(rc.rows * rc.width, rng, -2.0, 2.0);
  std::vector<double> weight = uniformVector(rc.width, rng, -0.5, 0.5);
  const std::vector<double> gy =
      uniformVector(rc.rows * rc.width, rng, -1.0, 1.0);
  const double *w = rc.affine ? weight.data() : nullptr;

  auto loss = [&] {
    std::vector<double> y(rc.rows * rc.width);
    rmsNorm(x.data(), w, rc.rows, rc.width, rc.groups, eps, y.data());
    return dot(gy, y);
  };
  std::vector<double> gx(rc.rows * rc.width), gWeight(rc.width);
  rmsNormBackward(x.data(), w, rc.rows, rc.width, rc.groups, eps, gy.data(),
                  gx.data(), gWeight.data());
  expectGradient("rmsnorm x", gx, numericGradient(x, loss));
  if (rc.affine)
    expectGradient("rmsnorm weight", gWeight, numericGradient(weight, loss));
}

INSTANTIATE_TEST_SUITE_P(Cases, RmsNormGrad,
                         ::testing::Values(RmsCase{4, 6, 1, true},
                                           RmsCase{4, 12, 3, true},
                                           RmsCase{3, 8, 4, false},
                                           RmsCase{3, 8, 2, true}));

//===----------------------------------------------------------------------===//
// Layer norm
//===----------------------------------------------------------------------===//

class LayerNormGrad : public ::testing::TestWithParam<bool> {};

TEST_P(LayerNormGrad, MatchesFiniteDifferences) {
  const bool affine = GetParam();
  const int64_t rows = 4, width = 7;
  const double eps = 1e-5;
  std::mt19937_64 rng(affine ? 31 : 32);
  std::vector<double> x = uniformVector(rows * width, rng, -2.0, 2.0);
  std::vector<double> weight = uniformVector(width, rng, -0.5, 0.5);
  std::vector<double> bias = uniformVector(width, rng, -0.5, 0.5);
  const std::vector<double> gy = uniformVector(rows * width, rng, -1.0, 1.0);
  const double *w = affine ? weight.data() : nullptr;
  const double *bb = affine ? bias.data() : nullptr;

  auto loss = [&] {
    std::vector<double> y(rows * width);
    layerNorm(x.data(), w, bb, rows, width, eps, y.data());
    return dot(gy, y);
  };
  std::vector<double> gx(rows * width), gWeight(width), gBias(width);
  layerNormBackward(x.data(), w, rows, width, eps, gy.data(), gx.data(),
                    affine ? gWeight.data() : nullptr,
                    affine ? gBias.data() : nullptr);
  expectGradient("layernorm x", gx, numericGradient(x, loss));
  if (affine) {
    expectGradient("layernorm weight", gWeight,
                   numericGradient(weight, loss));
    expectGradient("layernorm bias", gBias, numericGradient(bias, loss));
  }
}

INSTANTIATE_TEST_SUITE_P(AffineOrNot, LayerNormGrad, ::testing::Bool());

} // namespace
