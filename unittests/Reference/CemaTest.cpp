//===- CemaTest.cpp - Tests of the reference CEMA kernels -----------------===//
//
// Coefficients, a hand-computed recurrence, and the identities between the
// sequential recurrence and the convolution form (MODEL.md section 5).
//
//===----------------------------------------------------------------------===//

#include "RandomVectors.h"

#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

using namespace megalodon::ref;
using namespace megalodon::ref::test;

namespace {

constexpr double kPi = 3.14159265358979323846;

using CemaFn = void (*)(const double *, const CemaCoeffs &, int64_t, int64_t,
                        cdouble *, double *);

double sigmoidOf(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Coefficients from random parameters. alpha and delta in [-3, 3] give
/// decays |q| from about 0.1 to about 0.998, so both fast and slow channels
/// are covered.
CemaCoeffs randomCoeffs(int64_t D, int64_t N, std::mt19937_64 &rng) {
  std::vector<double> alpha = uniformVector(D * N, rng, -3.0, 3.0);
  std::vector<double> delta = uniformVector(D * N, rng, -3.0, 3.0);
  std::vector<double> theta = uniformVector(D, rng, -4.0, 4.0);
  std::vector<double> gamma(D * N * 2);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double &g : gamma)
    g = normal(rng);
  std::vector<double> omega = uniformVector(D, rng, -1.0, 1.0);
  return cemaCoefficients(alpha.data(), delta.data(), theta.data(),
                          gamma.data(), omega.data(), D, N);
}

/// |actual - expected| <= relTol * max|expected| elementwise.
void expectRelClose(const std::vector<double> &actual,
                    const std::vector<double> &expected, double relTol) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 0.0;
  for (double e : expected)
    scale = std::max(scale, std::abs(e));
  if (scale == 0.0)
    scale = 1.0;
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], relTol * scale) << "at index " << i;
}

void expectRelClose(const std::vector<cdouble> &actual,
                    const std::vector<cdouble> &expected, double relTol) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 0.0;
  for (cdouble e : expected)
    scale = std::max(scale, std::abs(e));
  if (scale == 0.0)
    scale = 1.0;
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_LE(std::abs(actual[i] - expected[i]), relTol * scale)
        << "at index " << i << ": " << actual[i] << " vs " << expected[i];
}

/// Copies time steps [begin, begin + len) of every batch row of x [B,L,D].
std::vector<double> sliceSteps(const std::vector<double> &x, int64_t B,
                               int64_t L, int64_t D, int64_t begin,
                               int64_t len) {
  std::vector<double> out(B * len * D);
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(&x[(b * L + begin) * D], len * D, &out[b * len * D]);
  return out;
}

void storeSteps(const std::vector<double> &piece, int64_t B, int64_t L,
                int64_t D, int64_t begin, int64_t len, std::vector<double> &x) {
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(&piece[b * len * D], len * D, &x[(b * L + begin) * D]);
}

//===----------------------------------------------------------------------===//
// Coefficients
//===----------------------------------------------------------------------===//

/// D=1, N=1 with alpha = delta = 0 (a = d = 1/2, p = 1/2, |q| = 1 - 1/4),
/// theta = logit(1/4) (phi = 1 * 1/4 * 2pi/1 = pi/2, so q = 0.75i),
/// gamma = (2, 1) (scaled by 1/sqrt(1)), omega = 0.5.
CemaCoeffs handCoeffs() {
  const double alpha = 0.0, delta = 0.0, theta = std::log(0.25 / 0.75);
  const double gamma[2] = {2.0, 1.0};
  const double omega = 0.5;
  return cemaCoefficients(&alpha, &delta, &theta, gamma, &omega, 1, 1);
}

TEST(CemaCoefficientsTest, HandComputedSingleChannel) {
  CemaCoeffs c = handCoeffs();
  EXPECT_EQ(c.D, 1);
  EXPECT_EQ(c.N, 1);
  EXPECT_NEAR(c.p[0], 0.5, 1e-16);
  EXPECT_NEAR(c.q[0].real(), 0.0, 1e-15);
  EXPECT_NEAR(c.q[0].imag(), 0.75, 1e-15);
  EXPECT_NEAR(c.gamma[0].real(), 2.0, 1e-16);
  EXPECT_NEAR(c.gamma[0].imag(), 1.0, 1e-16);
  EXPECT_EQ(c.omega[0], 0.5);
}

TEST(CemaCoefficientsTest, PhasesAreMultiplesOfTheBaseAngle) {
  // phi[d, n] = (n+1) * sigma(theta[d]) * 2pi/N for index n = 0..N-1, and
  // |q| = 1 - sigma(alpha) sigma(delta).
  const int64_t D = 2, N = 4;
  const std::vector<double> alpha = {0.1, -0.4, 1.0, 2.0, -1, 0, 0.5, 0.3};
  const std::vector<double> delta = {0.7, 0.2, -2.0, 0.0, 1, 1, -0.5, 0.9};
  const std::vector<double> theta = {0.3, -1.2};
  const std::vector<double> gamma(D * N * 2, 1.0), omega(D, 0.0);
  CemaCoeffs c = cemaCoefficients(alpha.data(), delta.data(), theta.data(),
                                  gamma.data(), omega.data(), D, N);
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t i = d * N + n;
      const double a = sigmoidOf(alpha[i]), dd = sigmoidOf(delta[i]);
      const double phi = (n + 1) * sigmoidOf(theta[d]) * 2 * kPi / N;
      EXPECT_NEAR(c.p[i], a, 1e-15);
      EXPECT_NEAR(std::abs(c.q[i]), 1 - a * dd, 1e-15);
      EXPECT_LT(std::abs(c.q[i] / std::abs(c.q[i]) - std::polar(1.0, phi)),
                1e-14)
          << "d=" << d << " n=" << n;
    }
  }
}

TEST(CemaCoefficientsTest, GammaIsScaledByInverseSqrtN) {
  for (int64_t N : {1, 3, 4, 16}) {
    SCOPED_TRACE(N);
    const int64_t D = 2;
    std::vector<double> gamma(D * N * 2);
    for (size_t i = 0; i < gamma.size(); ++i)
      gamma[i] = (i % 2 ? -6.0 : 2.0) + 0.25 * double(i);
    const std::vector<double> zeros(D * N, 0.0), omega(D, 0.0);
    CemaCoeffs c = cemaCoefficients(zeros.data(), zeros.data(), zeros.data(),
                                    gamma.data(), omega.data(), D, N);
    for (int64_t i = 0; i < D * N; ++i) {
      EXPECT_NEAR(c.gamma[i].real(), gamma[2 * i] / std::sqrt(double(N)),
                  1e-15);
      EXPECT_NEAR(c.gamma[i].imag(), gamma[2 * i + 1] / std::sqrt(double(N)),
                  1e-15);
    }
  }
  // Exact values: (2, -6) / sqrt(4) = (1, -3) and / sqrt(16) = (0.5, -1.5).
  const double g[2] = {2.0, -6.0}, zero = 0.0;
  std::vector<double> g4, zeros4(4, 0.0);
  for (int i = 0; i < 4; ++i)
    g4.insert(g4.end(), g, g + 2);
  CemaCoeffs c4 = cemaCoefficients(zeros4.data(), zeros4.data(), &zero,
                                   g4.data(), &zero, 1, 4);
  EXPECT_EQ(c4.gamma[3], cdouble(1.0, -3.0));
  std::vector<double> g16, zeros16(16, 0.0);
  for (int i = 0; i < 16; ++i)
    g16.insert(g16.end(), g, g + 2);
  CemaCoeffs c16 = cemaCoefficients(zeros16.data(), zeros16.data(), &zero,
                                    g16.data(), &zero, 1, 16);
  EXPECT_EQ(c16.gamma[15], cdouble(0.5, -1.5));
}

TEST(CemaCoefficientsTest, DecayStaysInsideTheUnitDisk) {
  // Includes the init distribution (alpha, delta ~ N(0, 0.2)) and far wider
  // draws; sigma(8)^2 ~ 0.9993 still leaves |q| > 0.
  std::mt19937_64 rng(21);
  const int64_t D = 8, N = 16;
  for (double spread : {0.2, 1.0, 4.0, 8.0}) {
    for (int draw = 0; draw < 50; ++draw) {
      std::uniform_real_distribution<double> dist(-spread, spread);
      std::vector<double> alpha(D * N), delta(D * N), theta(D);
      for (double &e : alpha)
        e = dist(rng);
      for (double &e : delta)
        e = dist(rng);
      for (double &e : theta)
        e = dist(rng);
      const std::vector<double> gamma(D * N * 2, 1.0), omega(D, 0.0);
      CemaCoeffs c = cemaCoefficients(alpha.data(), delta.data(), theta.data(),
                                      gamma.data(), omega.data(), D, N);
      for (cdouble q : c.q) {
        EXPECT_GT(std::abs(q), 0.0);
        EXPECT_LT(std::abs(q), 1.0);
      }
      for (double p : c.p) {
        EXPECT_GT(p, 0.0);
        EXPECT_LT(p, 1.0);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Recurrence and convolution
//===----------------------------------------------------------------------===//

class CemaBothForms : public ::testing::TestWithParam<CemaFn> {};

TEST_P(CemaBothForms, HandComputedThreeStepsWithoutState) {
  // p = 0.5, q = 0.75i, gamma = 2+i, omega = 0.5, u = [1, 2, -1], h_{-1} = 0.
  // t=0: h = 0.5*1                           = 0.5
  //      y = Re((2+i)(0.5)) + 0.5*1          = 1 + 0.5 = 1.5
  // t=1: h = 0.5*2 + 0.75i*0.5               = 1 + 0.375i
  //      (2+i)(1+0.375i) = 2 - 0.375 + (0.75 + 1)i = 1.625 + 1.75i
  //      y = 1.625 + 0.5*2                   = 2.625
  // t=2: h = 0.5*(-1) + 0.75i(1+0.375i)      = -0.78125 + 0.75i
  //      (2+i)(-0.78125+0.75i) = -1.5625 - 0.75 + (1.5 - 0.78125)i
  //                            = -2.3125 + 0.71875i
  //      y = -2.3125 + 0.5*(-1)              = -2.8125
  CemaCoeffs c = handCoeffs();
  const std::vector<double> u = {1, 2, -1};
  std::vector<double> y(3);
  cdouble h = 0.0;
  GetParam()(u.data(), c, 1, 3, &h, y.data());
  EXPECT_NEAR(y[0], 1.5, 1e-14);
  EXPECT_NEAR(y[1], 2.625, 1e-14);
  EXPECT_NEAR(y[2], -2.8125, 1e-14);
  EXPECT_NEAR(h.real(), -0.78125, 1e-14);
  EXPECT_NEAR(h.imag(), 0.75, 1e-14);
}

TEST_P(CemaBothForms, HandComputedThreeStepsWithCarriedState) {
  // As above with h_{-1} = hx = 1.
  // t=0: h = 0.5 + 0.75i*1                   = 0.5 + 0.75i
  //      (2+i)(0.5+0.75i) = 1 - 0.75 + (1.5 + 0.5)i = 0.25 + 2i
  //      y = 0.25 + 0.5                      = 0.75
  // t=1: h = 1 + 0.75i(0.5+0.75i)            = 0.4375 + 0.375i
  //      (2+i)(0.4375+0.375i) = 0.875 - 0.375 + (0.75 + 0.4375)i
  //                           = 0.5 + 1.1875i
  //      y = 0.5 + 1                         = 1.5
  // t=2: h = -0.5 + 0.75i(0.4375+0.375i)     = -0.78125 + 0.328125i
  //      (2+i)(-0.78125+0.328125i) = -1.5625 - 0.328125 + (0.65625 - 0.78125)i
  //                                = -1.890625 - 0.125i
  //      y = -1.890625 - 0.5                 = -2.390625
  // (Check of the bias term: b_0 = Re(gamma q hx) = Re((2+i)(0.75i)) = -0.75,
  // and 1.5 - 0.75 = 0.75; last state = previous case + q^3 = -0.421875i.)
  CemaCoeffs c = handCoeffs();
  const std::vector<double> u = {1, 2, -1};
  std::vector<double> y(3);
  cdouble h = 1.0;
  GetParam()(u.data(), c, 1, 3, &h, y.data());
  EXPECT_NEAR(y[0], 0.75, 1e-14);
  EXPECT_NEAR(y[1], 1.5, 1e-14);
  EXPECT_NEAR(y[2], -2.390625, 1e-14);
  EXPECT_NEAR(h.real(), -0.78125, 1e-14);
  EXPECT_NEAR(h.imag(), 0.328125, 1e-14);
}

TEST_P(CemaBothForms, ImpulseResponseIsTheKernel) {
  // For u = delta_0 and no state: y_t = Re(sum_n gamma p q^t) + omega [t==0],
  // with q^t from std::pow, a route independent of both kernels.
  const int64_t D = 3, N = 4, L = 12;
  std::mt19937_64 rng(22);
  CemaCoeffs c = randomCoeffs(D, N, rng);
  std::vector<double> u(L * D, 0.0), y(L * D);
  for (int64_t d = 0; d < D; ++d)
    u[d] = 1.0;
  std::vector<cdouble> h(D * N, 0.0);
  GetParam()(u.data(), c, 1, L, h.data(), y.data());
  for (int64_t t = 0; t < L; ++t) {
    for (int64_t d = 0; d < D; ++d) {
      cdouble k = 0.0;
      for (int64_t n = 0; n < N; ++n)
        k += c.gamma[d * N + n] * c.p[d * N + n] *
             std::pow(c.q[d * N + n], double(t));
      const double expected = k.real() + (t == 0 ? c.omega[d] : 0.0);
      EXPECT_NEAR(y[t * D + d], expected, 1e-13) << "t=" << t << " d=" << d;
    }
  }
}

TEST_P(CemaBothForms, TwoPiecesCarryingTheStateEqualTheWhole) {
  const int64_t B = 2, D = 3, N = 4, L = 23, split = 9;
  std::mt19937_64 rng(23);
  CemaCoeffs c = randomCoeffs(D, N, rng);
  std::vector<double> x = uniformVector(B * L * D, rng, -2.0, 2.0);
  const std::vector<cdouble> hx = complexVector(B * D * N, rng);

  std::vector<double> yWhole(B * L * D);
  std::vector<cdouble> hWhole = hx;
  GetParam()(x.data(), c, B, L, hWhole.data(), yWhole.data());

  std::vector<double> yPieces(B * L * D);
  std::vector<cdouble> hPieces = hx;
  for (auto [begin, len] : {std::pair<int64_t, int64_t>{0, split},
                            std::pair<int64_t, int64_t>{split, L - split}}) {
    std::vector<double> xp = sliceSteps(x, B, L, D, begin, len);
    std::vector<double> yp(xp.size());
    GetParam()(xp.data(), c, B, len, hPieces.data(), yp.data());
    storeSteps(yp, B, L, D, begin, len, yPieces);
  }
  expectRelClose(yPieces, yWhole, 1e-12);
  expectRelClose(hPieces, hWhole, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Forms, CemaBothForms,
                         ::testing::Values(&cemaRecurrence, &cemaConvolution));

/// (L, whether a carried state hx is given).
class CemaFormsAgree
    : public ::testing::TestWithParam<std::tuple<int64_t, bool>> {};

TEST_P(CemaFormsAgree, RecurrenceMatchesConvolution) {
  const auto [L, withState] = GetParam();
  const int64_t B = 2, D = 5, N = 4;
  std::mt19937_64 rng(100 + L);
  CemaCoeffs c = randomCoeffs(D, N, rng);
  std::vector<double> x = uniformVector(B * L * D, rng, -2.0, 2.0);
  const std::vector<cdouble> hx = withState ? complexVector(B * D * N, rng)
                                            : std::vector<cdouble>(B * D * N);

  std::vector<double> yRec(B * L * D), yConv(B * L * D);
  std::vector<cdouble> hRec = hx, hConv = hx;
  cemaRecurrence(x.data(), c, B, L, hRec.data(), yRec.data());
  cemaConvolution(x.data(), c, B, L, hConv.data(), yConv.data());
  expectRelClose(yConv, yRec, 1e-12);
  expectRelClose(hConv, hRec, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Lengths, CemaFormsAgree,
                         ::testing::Combine(::testing::Values(1, 2, 3, 7, 13,
                                                              16, 100, 257),
                                            ::testing::Bool()));

TEST(CemaTest, MixedFormsAcrossPiecesMatchTheWhole) {
  // Prefill with the convolution, continue token by token with the
  // recurrence: the streaming pattern of MODEL.md section 7.
  const int64_t B = 1, D = 4, N = 16, L = 40, prefill = 33;
  std::mt19937_64 rng(24);
  CemaCoeffs c = randomCoeffs(D, N, rng);
  std::vector<double> x = uniformVector(B * L * D, rng, -1.0, 1.0);

  std::vector<double> yWhole(B * L * D);
  std::vector<cdouble> hWhole(B * D * N, 0.0);
  cemaRecurrence(x.data(), c, B, L, hWhole.data(), yWhole.data());

  std::vector<double> yStream(B * L * D);
  std::vector<cdouble> h(B * D * N, 0.0);
  std::vector<double> xp = sliceSteps(x, B, L, D, 0, prefill);
  std::vector<double> yp(xp.size());
  cemaConvolution(xp.data(), c, B, prefill, h.data(), yp.data());
  storeSteps(yp, B, L, D, 0, prefill, yStream);
  for (int64_t t = prefill; t < L; ++t) {
    std::vector<double> xt = sliceSteps(x, B, L, D, t, 1), yt(D);
    cemaRecurrence(xt.data(), c, B, 1, h.data(), yt.data());
    storeSteps(yt, B, L, D, t, 1, yStream);
  }
  expectRelClose(yStream, yWhole, 1e-12);
  expectRelClose(h, hWhole, 1e-12);
}

} // namespace
