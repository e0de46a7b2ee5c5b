//===- NormsTest.cpp - Tests of the reference norms -----------------------===//
//
// Hand-computed cases and identities for timestep norm, RMS norm and layer
// norm (MODEL.md sections 3 and 4).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

using namespace megalodon::ref;

namespace {

using TsnFn = void (*)(const double *, const double *, const double *, int64_t,
                       int64_t, int64_t, int64_t, double, TsnState &, double *);

std::vector<double> uniformVector(size_t n, std::mt19937_64 &rng, double lo,
                                  double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double &e : v)
    e = dist(rng);
  return v;
}

/// A carried state with n0 > 0 and arbitrary (positive-variance) statistics.
TsnState carriedState(int64_t B, int64_t G, std::mt19937_64 &rng) {
  TsnState state;
  for (int64_t b = 0; b < B; ++b)
    state.count.push_back(3 + 4 * b);
  state.mean = uniformVector(B * G, rng, -1.0, 1.0);
  state.var = uniformVector(B * G, rng, 0.5, 2.0);
  return state;
}

void expectAllNear(const std::vector<double> &actual,
                   const std::vector<double> &expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol) << "at index " << i;
}

void expectStatesNear(const TsnState &actual, const TsnState &expected,
                      double tol) {
  EXPECT_EQ(actual.count, expected.count);
  expectAllNear(actual.mean, expected.mean, tol);
  expectAllNear(actual.var, expected.var, tol);
}

//===----------------------------------------------------------------------===//
// Timestep norm
//===----------------------------------------------------------------------===//

TEST(TimestepNormTest, FreshStateHasZeroCountZeroMeanUnitVar) {
  TsnState s = TsnState::fresh(2, 3);
  EXPECT_EQ(s.count, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(s.mean, std::vector<double>(6, 0.0));
  EXPECT_EQ(s.var, std::vector<double>(6, 1.0));
}

class TimestepNormBothForms : public ::testing::TestWithParam<TsnFn> {};

TEST_P(TimestepNormBothForms, HandComputedTinyInput) {
  // B=1, L=2, D=2, G=1, fresh state (n 0, m 0, v 1), eps 0.
  // x = [[1, 3], [5, 7]], weight = [1, -0.5] (scale [2, 0.5]),
  // bias = [0.5, -1].
  //
  // t=0: mu=2, sigma^2=1. n=1, c=1, delta=2-0=2:
  //      m = 0 + 2 = 2, v = 0*1 + 1*1 + 0*4 = 1.
  //      y = ((1-2)/1*2 + 0.5, (3-2)/1*0.5 - 1) = (-1.5, -0.5).
  // t=1: mu=6, sigma^2=1. n=2, c=1/2, delta=6-2=4:
  //      m = 2 + 2 = 4, v = 0.5*1 + 0.5*1 + 0.25*16 = 5.
  //      y = ((5-4)/sqrt(5)*2 + 0.5, (7-4)/sqrt(5)*0.5 - 1).
  // (Closed form at t=1: m = (2+6)/2 = 4, e = (5 + 37)/2 = 21, v = 21-16 = 5.)
  const std::vector<double> x = {1, 3, 5, 7};
  const std::vector<double> weight = {1, -0.5}, bias = {0.5, -1};
  TsnState state = TsnState::fresh(1, 1);
  std::vector<double> y(4);
  GetParam()(x.data(), weight.data(), bias.data(), 1, 2, 2, 1, 0.0, state,
             y.data());
  const double r5 = std::sqrt(5.0);
  expectAllNear(y, {-1.5, -0.5, 2.0 / r5 + 0.5, 1.5 / r5 - 1.0}, 1e-15);
  EXPECT_EQ(state.count, std::vector<int64_t>{2});
  EXPECT_NEAR(state.mean[0], 4.0, 1e-15);
  EXPECT_NEAR(state.var[0], 5.0, 1e-14);
}

TEST_P(TimestepNormBothForms, HandComputedWithCarriedStateAndEps) {
  // B=1, L=1, D=2, G=1, carried n0=1, m0=1, v0=3, eps=1.
  // x = [2, 6]: mu=4, sigma^2=4. n=2, c=1/2, delta=3:
  //   m = 1 + 1.5 = 2.5, v = 0.5*3 + 0.5*4 + 0.25*9 = 5.75.
  //   y = (x - 2.5)/sqrt(5.75 + 1) = (-0.5, 3.5)/sqrt(6.75) (no affine).
  // Closed form: m = (1*1 + 4)/2 = 2.5, v = (1*(3+1) + 20)/2 - 6.25 = 5.75.
  const std::vector<double> x = {2, 6}, zeros = {0, 0};
  TsnState state;
  state.count = {1};
  state.mean = {1.0};
  state.var = {3.0};
  std::vector<double> y(2);
  GetParam()(x.data(), zeros.data(), zeros.data(), 1, 1, 2, 1, 1.0, state,
             y.data());
  const double r = std::sqrt(6.75);
  expectAllNear(y, {-0.5 / r, 3.5 / r}, 1e-15);
  EXPECT_EQ(state.count, std::vector<int64_t>{2});
  EXPECT_NEAR(state.mean[0], 2.5, 1e-15);
  EXPECT_NEAR(state.var[0], 5.75, 1e-14);
}

TEST_P(TimestepNormBothForms, FirstStepFromFreshStateIsGroupStatistics) {
  // With n0 = 0 the prior drops out: at t=0, m = mu_0 and v = sigma^2_0.
  const int64_t B = 2, D = 12, G = 3, s = D / G;
  const double eps = 1e-5;
  std::mt19937_64 rng(11);
  std::vector<double> x = uniformVector(B * D, rng, -3.0, 3.0);
  std::vector<double> weight = uniformVector(D, rng, -0.5, 0.5);
  std::vector<double> bias = uniformVector(D, rng, -0.5, 0.5);
  TsnState state = TsnState::fresh(B, G);
  std::vector<double> y(B * D);
  GetParam()(x.data(), weight.data(), bias.data(), B, 1, D, G, eps, state,
             y.data());
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_EQ(state.count[b], 1);
    for (int64_t g = 0; g < G; ++g) {
      const double *xg = &x[b * D + g * s];
      double mu = 0, var = 0;
      for (int64_t j = 0; j < s; ++j)
        mu += xg[j] / s;
      for (int64_t j = 0; j < s; ++j)
        var += (xg[j] - mu) * (xg[j] - mu) / s;
      EXPECT_NEAR(state.mean[b * G + g], mu, 1e-14);
      EXPECT_NEAR(state.var[b * G + g], var, 1e-14);
      for (int64_t j = 0; j < s; ++j) {
        const int64_t f = g * s + j;
        double expected =
            (xg[j] - mu) / std::sqrt(var + eps) * (weight[f] + 1) + bias[f];
        EXPECT_NEAR(y[b * D + f], expected, 1e-13);
      }
    }
  }
}

TEST_P(TimestepNormBothForms, TwoPiecesWithCarriedStateEqualOnePiece) {
  const int64_t B = 2, L = 17, split = 6, D = 12, G = 3;
  std::mt19937_64 rng(12);
  std::vector<double> x = uniformVector(B * L * D, rng, -2.0, 3.0);
  std::vector<double> weight = uniformVector(D, rng, -0.5, 0.5);
  std::vector<double> bias = uniformVector(D, rng, -0.5, 0.5);
  const TsnState initial = carriedState(B, G, rng);

  TsnState whole = initial;
  std::vector<double> yWhole(B * L * D);
  GetParam()(x.data(), weight.data(), bias.data(), B, L, D, G, 1e-5, whole,
             yWhole.data());

  // Split every batch row at `split` and carry the state between the calls.
  TsnState pieces = initial;
  std::vector<double> yPieces(B * L * D);
  for (auto [begin, len] : {std::pair<int64_t, int64_t>{0, split},
                            std::pair<int64_t, int64_t>{split, L - split}}) {
    std::vector<double> xp(B * len * D), yp(B * len * D);
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(&x[(b * L + begin) * D], len * D, &xp[b * len * D]);
    GetParam()(xp.data(), weight.data(), bias.data(), B, len, D, G, 1e-5,
               pieces, yp.data());
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(&yp[b * len * D], len * D, &yPieces[(b * L + begin) * D]);
  }
  expectAllNear(yPieces, yWhole, 1e-12);
  expectStatesNear(pieces, whole, 1e-12);
}

TEST_P(TimestepNormBothForms, EmptyCallLeavesStateUnchanged) {
  std::mt19937_64 rng(13);
  const TsnState initial = carriedState(2, 2, rng);
  TsnState state = initial;
  std::vector<double> w(4, 0.0);
  GetParam()(nullptr, w.data(), w.data(), 2, 0, 4, 2, 1e-5, state, nullptr);
  expectStatesNear(state, initial, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Forms, TimestepNormBothForms,
                         ::testing::Values(&timestepNorm,
                                           &timestepNormClosedForm));

TEST(TimestepNormTest, WelfordMatchesClosedForm) {
  const int64_t B = 3, L = 29, D = 20, G = 4;
  std::mt19937_64 rng(14);
  std::vector<double> x = uniformVector(B * L * D, rng, -2.0, 2.0);
  // A slow drift so that the running mean and variance keep moving.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t j = 0; j < D; ++j)
        x[(b * L + t) * D + j] += 0.1 * t - 0.05 * j;
  std::vector<double> weight = uniformVector(D, rng, -0.5, 0.5);
  std::vector<double> bias = uniformVector(D, rng, -0.5, 0.5);

  // Once from a carried state with n0 > 0, once from the fresh state.
  for (bool fresh : {false, true}) {
    SCOPED_TRACE(fresh ? "fresh state" : "carried state");
    const TsnState initial =
        fresh ? TsnState::fresh(B, G) : carriedState(B, G, rng);
    if (!fresh) {
      for (int64_t count : initial.count)
        ASSERT_GT(count, 0);
    }
    TsnState welford = initial, closed = initial;
    std::vector<double> yWelford(B * L * D), yClosed(B * L * D);
    timestepNorm(x.data(), weight.data(), bias.data(), B, L, D, G, 1e-5,
                 welford, yWelford.data());
    timestepNormClosedForm(x.data(), weight.data(), bias.data(), B, L, D, G,
                           1e-5, closed, yClosed.data());
    expectAllNear(yWelford, yClosed, 1e-12);
    expectStatesNear(welford, closed, 1e-12);
    for (int64_t b = 0; b < B; ++b)
      EXPECT_EQ(welford.count[b], initial.count[b] + L);
  }
}

TEST(TimestepNormTest, GroupsAreIndependent) {
  // Changing group 1 of the input must not change the output of group 0.
  const int64_t L = 5, D = 6, G = 2;
  std::mt19937_64 rng(15);
  std::vector<double> x = uniformVector(L * D, rng, -1.0, 1.0);
  std::vector<double> x2 = x;
  for (int64_t t = 0; t < L; ++t)
    for (int64_t j = 3; j < 6; ++j)
      x2[t * D + j] = 10.0 * x[t * D + j] + 4.0;
  std::vector<double> w(D, 0.0), y(L * D), y2(L * D);
  TsnState s1 = TsnState::fresh(1, G), s2 = TsnState::fresh(1, G);
  timestepNorm(x.data(), w.data(), w.data(), 1, L, D, G, 1e-5, s1, y.data());
  timestepNorm(x2.data(), w.data(), w.data(), 1, L, D, G, 1e-5, s2, y2.data());
  for (int64_t t = 0; t < L; ++t)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_EQ(y[t * D + j], y2[t * D + j]);
  EXPECT_EQ(s1.mean[0], s2.mean[0]);
  EXPECT_NE(s1.mean[1], s2.mean[1]);
}

//===----------------------------------------------------------------------===//
// RMS norm and layer norm
//===----------------------------------------------------------------------===//

TEST(RmsNormTest, HandComputedWithWeightOffset) {
  // x = [1, 7]: mean(x^2) = (1 + 49)/2 = 25, rms = 5 (eps 0).
  // weight = [1, -0.5] -> scale [2, 0.5]: y = [1/5*2, 7/5*0.5] = [0.4, 0.7].
  const std::vector<double> x = {1, 7}, weight = {1, -0.5};
  std::vector<double> y(2);
  rmsNorm(x.data(), weight.data(), 1, 2, 1, 0.0, y.data());
  expectAllNear(y, {0.4, 0.7}, 1e-15);
  // Without weight: [0.2, 1.4]; eps sits inside the root: sqrt(25 + 11) = 6.
  rmsNorm(x.data(), nullptr, 1, 2, 1, 0.0, y.data());
  expectAllNear(y, {0.2, 1.4}, 1e-15);
  rmsNorm(x.data(), nullptr, 1, 2, 1, 11.0, y.data());
  expectAllNear(y, {1.0 / 6.0, 7.0 / 6.0}, 1e-15);
}

TEST(RmsNormTest, GroupsAreNormalizedSeparately) {
  // Two rows of width 4, two groups of 2 (eps 0):
  // row 0: [1, 7 | 2, -2] -> rms 5 and 2 -> [0.2, 1.4 | 1, -1].
  // row 1: [3, 4 | 0, 6]  -> rms sqrt(12.5) and sqrt(18).
  const std::vector<double> x = {1, 7, 2, -2, 3, 4, 0, 6};
  std::vector<double> y(8);
  rmsNorm(x.data(), nullptr, 2, 4, 2, 0.0, y.data());
  const double r0 = std::sqrt(12.5), r1 = std::sqrt(18.0);
  expectAllNear(y, {0.2, 1.4, 1, -1, 3 / r0, 4 / r0, 0, 6 / r1}, 1e-15);
}

TEST(LayerNormTest, HandComputedWithAffine) {
  // x = [1, 2, 3, 4]: mean 2.5, biased var (2.25+0.25+0.25+2.25)/4 = 1.25.
  // weight = [0, 1, 0, -0.5] -> scale [1, 2, 1, 0.5]; bias = [0, 0, 1, 0].
  const std::vector<double> x = {1, 2, 3, 4};
  const std::vector<double> weight = {0, 1, 0, -0.5}, bias = {0, 0, 1, 0};
  const double eps = 1e-5, r = std::sqrt(1.25 + eps);
  std::vector<double> y(4);
  layerNorm(x.data(), weight.data(), bias.data(), 1, 4, eps, y.data());
  expectAllNear(y, {-1.5 / r, -0.5 / r * 2, 0.5 / r + 1, 1.5 / r * 0.5}, 1e-15);
}

TEST(LayerNormTest, HandComputedWithoutAffineTwoRows) {
  // Row 0: [1, 3] -> mean 2, var 1 -> [-1, 1] (eps 0).
  // Row 1: [4, 10] -> mean 7, var 9 -> [-1, 1].
  const std::vector<double> x = {1, 3, 4, 10};
  std::vector<double> y(4);
  layerNorm(x.data(), nullptr, nullptr, 2, 2, 0.0, y.data());
  expectAllNear(y, {-1, 1, -1, 1}, 1e-15);
}

} // namespace
