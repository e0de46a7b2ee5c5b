//===- CemaGradTest.cpp - Finite-difference tests of CEMA backward --------===//
//
// Central finite differences (fp64, step 1e-6) of a random projection of the
// outputs (y and, where used, the last state) against the adjoint scan, the
// kernel form and the coefficient chain rule of MODEL.md section 8; and the
// agreement of the two forms. Acceptance: per gradient tensor, the relative
// error of the 2-norm, |analytic - numeric|_2 / |numeric|_2 <= 1e-6.
//
//===----------------------------------------------------------------------===//

#include "GradientCheck.h"

#include "megalodon/Reference/Gradients.h"
#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace megalodon::ref;
using namespace megalodon::ref::test;

namespace {

/// Stored CEMA parameters with the ranges of CemaTest: decays |q| from about
/// 0.1 to about 0.998.
struct CemaParams {
  int64_t D, N;
  std::vector<double> alpha, delta, theta, gamma, omega;
  CemaParams(int64_t D, int64_t N, std::mt19937_64 &rng) : D(D), N(N) {
    alpha = uniformVector(D * N, rng, -3.0, 3.0);
    delta = uniformVector(D * N, rng, -3.0, 3.0);
    theta = uniformVector(D, rng, -4.0, 4.0);
    gamma = uniformVector(D * N * 2, rng, -1.5, 1.5);
    omega = uniformVector(D, rng, -1.0, 1.0);
  }
  CemaCoeffs coeffs() const {
    return cemaCoefficients(alpha.data(), delta.data(), theta.data(),
                            gamma.data(), omega.data(), D, N);
  }
};

struct CemaGrads {
  std::vector<double> x, alpha, delta, theta, gamma, omega;
  std::vector<cdouble> hx;
  CemaGrads(int64_t B, int64_t L, int64_t D, int64_t N)
      : x(B * L * D), alpha(D * N), delta(D * N), theta(D), gamma(D * N * 2),
        omega(D), hx(B * D * N) {}
};

//===----------------------------------------------------------------------===//
// (A) adjoint scan, with and without hx and the last-state cotangent
//===----------------------------------------------------------------------===//

struct ScanCase {
  bool withHx;
  bool withGHLast;
};

class CemaScanGrad : public ::testing::TestWithParam<ScanCase> {};

TEST_P(CemaScanGrad, MatchesFiniteDifferences) {
  const ScanCase sc = GetParam();
  const int64_t B = 2, L = 7, D = 3, N = 4;
  std::mt19937_64 rng(300 + (sc.withHx ? 1 : 0) + (sc.withGHLast ? 2 : 0));
  CemaParams params(D, N, rng);
  std::vector<double> x = uniformVector(B * L * D, rng, -1.0, 1.0);
  std::vector<cdouble> hx =
      sc.withHx ? complexVector(B * D * N, rng)
                : std::vector<cdouble>(B * D * N, 0.0);
  const std::vector<double> gy = uniformVector(B * L * D, rng, -1.0, 1.0);
  const std::vector<cdouble> gHLast =
      sc.withGHLast ? complexVector(B * D * N, rng)
                    : std::vector<cdouble>(B * D * N, 0.0);

  auto loss = [&] {
    std::vector<cdouble> h = hx;
    std::vector<double> y(B * L * D);
    cemaRecurrence(x.data(), params.coeffs(), B, L, h.data(), y.data());
    return dot(gy, y) + dot(gHLast, h);
  };

  CemaGrads g(B, L, D, N);
  cemaBackwardScan(x.data(), params.alpha.data(), params.delta.data(),
                   params.theta.data(), params.gamma.data(),
                   params.omega.data(), B, L, D, N,
                   sc.withHx ? hx.data() : nullptr, gy.data(),
                   sc.withGHLast ? gHLast.data() : nullptr, g.x.data(),
                   g.alpha.data(), g.delta.data(), g.theta.data(),
                   g.gamma.data(), g.omega.data(), g.hx.data());

  expectGradient("cema scan x", g.x, numericGradient(x, loss));
  expectGradient("cema scan alpha", g.alpha,
                 numericGradient(params.alpha, loss));
  expectGradient("cema scan delta", g.delta,
                 numericGradient(params.delta, loss));
  expectGradient("cema scan theta", g.theta,
                 numericGradient(params.theta, loss));
  expectGradient("cema scan gamma", g.gamma,
                 numericGradient(params.gamma, loss));
  expectGradient("cema scan omega", g.omega,
                 numericGradient(params.omega, loss));
  // The gradient of hx exists whether or not the forward had one (hx = 0).
  expectGradient("cema scan hx", flatten(g.hx), numericGradient(hx, loss));
}

INSTANTIATE_TEST_SUITE_P(StateOrNot, CemaScanGrad,
                         ::testing::Values(ScanCase{false, false},
                                           ScanCase{true, false},
                                           ScanCase{false, true},
                                           ScanCase{true, true}));

TEST(CemaScanGradTest, EmptySequencePassesLastStateCotangentToHx) {
  const int64_t B = 1, D = 2, N = 3;
  std::mt19937_64 rng(7);
  CemaParams params(D, N, rng);
  const std::vector<cdouble> hx = complexVector(B * D * N, rng);
  const std::vector<cdouble> gHLast = complexVector(B * D * N, rng);
  CemaGrads g(B, 0, D, N);
  cemaBackwardScan(nullptr, params.alpha.data(), params.delta.data(),
                   params.theta.data(), params.gamma.data(),
                   params.omega.data(), B, 0, D, N, hx.data(), nullptr,
                   gHLast.data(), nullptr, g.alpha.data(), g.delta.data(),
                   g.theta.data(), g.gamma.data(), g.omega.data(),
                   g.hx.data());
  EXPECT_EQ(g.hx, gHLast);
  EXPECT_EQ(g.alpha, std::vector<double>(D * N, 0.0));
  EXPECT_EQ(g.theta, std::vector<double>(D, 0.0));
}

//===----------------------------------------------------------------------===//
// (B) kernel form, and (A) == (B)
//===----------------------------------------------------------------------===//

TEST(CemaKernelGradTest, MatchesFiniteDifferences) {
  const int64_t B = 2, L = 9, D = 3, N = 4;
  std::mt19937_64 rng(401);
  CemaParams params(D, N, rng);
  std::vector<double> x = uniformVector(B * L * D, rng, -1.0, 1.0);
  const std::vector<double> gy = uniformVector(B * L * D, rng, -1.0, 1.0);

  auto loss = [&] {
    std::vector<cdouble> h(B * D * N, 0.0);
    std::vector<double> y(B * L * D);
    cemaConvolution(x.data(), params.coeffs(), B, L, h.data(), y.data());
    return dot(gy, y);
  };

  CemaGrads g(B, L, D, N);
  cemaBackwardKernel(x.data(), params.alpha.data(), params.delta.data(),
                     params.theta.data(), params.gamma.data(),
                     params.omega.data(), B, L, D, N, gy.data(), g.x.data(),
                     g.alpha.data(), g.delta.data(), g.theta.data(),
                     g.gamma.data(), g.omega.data());

  expectGradient("cema kernel x", g.x, numericGradient(x, loss));
  expectGradient("cema kernel alpha", g.alpha,
                 numericGradient(params.alpha, loss));
  expectGradient("cema kernel delta", g.delta,
                 numericGradient(params.delta, loss));
  expectGradient("cema kernel theta", g.theta,
                 numericGradient(params.theta, loss));
  expectGradient("cema kernel gamma", g.gamma,
                 numericGradient(params.gamma, loss));
  expectGradient("cema kernel omega", g.omega,
                 numericGradient(params.omega, loss));
}

void expectAllNear(const char *name, const std::vector<double> &a,
                   const std::vector<double> &b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  double scale = 0.0;
  for (double e : b)
    scale = std::max(scale, std::fabs(e));
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], tol * std::max(1.0, scale))
        << name << " at index " << i;
}

TEST(CemaGradFormsTest, ScanAndKernelAgreeWithoutState) {
  const int64_t B = 3, L = 40, D = 4, N = 6;
  std::mt19937_64 rng(402);
  CemaParams params(D, N, rng);
  const std::vector<double> x = uniformVector(B * L * D, rng, -1.0, 1.0);
  const std::vector<double> gy = uniformVector(B * L * D, rng, -1.0, 1.0);
  CemaGrads scan(B, L, D, N), kernel(B, L, D, N);
  cemaBackwardScan(x.data(), params.alpha.data(), params.delta.data(),
                   params.theta.data(), params.gamma.data(),
                   params.omega.data(), B, L, D, N, nullptr, gy.data(),
                   nullptr, scan.x.data(), scan.alpha.data(),
                   scan.delta.data(), scan.theta.data(), scan.gamma.data(),
                   scan.omega.data(), nullptr);
  cemaBackwardKernel(x.data(), params.alpha.data(), params.delta.data(),
                     params.theta.data(), params.gamma.data(),
                     params.omega.data(), B, L, D, N, gy.data(),
                     kernel.x.data(), kernel.alpha.data(),
                     kernel.delta.data(), kernel.theta.data(),
                     kernel.gamma.data(), kernel.omega.data());
  const double tol = 1e-11;
  expectAllNear("x", scan.x, kernel.x, tol);
  expectAllNear("alpha", scan.alpha, kernel.alpha, tol);
  expectAllNear("delta", scan.delta, kernel.delta, tol);
  expectAllNear("theta", scan.theta, kernel.theta, tol);
  expectAllNear("gamma", scan.gamma, kernel.gamma, tol);
  expectAllNear("omega", scan.omega, kernel.omega, tol);
}

//===----------------------------------------------------------------------===//
// Coefficient chain rule on its own
//===----------------------------------------------------------------------===//

TEST(CemaCoefficientsGradTest, MatchesFiniteDifferences) {
  const int64_t D = 3, N = 5;
  std::mt19937_64 rng(403);
  CemaParams params(D, N, rng);
  const std::vector<double> gp = uniformVector(D * N, rng, -1.0, 1.0);
  const std::vector<cdouble> gq = complexVector(D * N, rng);
  const std::vector<cdouble> gGamma = complexVector(D * N, rng);
  const std::vector<double> gOmega = uniformVector(D, rng, -1.0, 1.0);

  auto loss = [&] {
    CemaCoeffs c = params.coeffs();
    return dot(gp, c.p) + dot(gq, c.q) + dot(gGamma, c.gamma) +
           dot(gOmega, c.omega);
  };
  std::vector<double> gAlpha(D * N), gDelta(D * N), gTheta(D),
      gGammaStored(D * N * 2), gOmegaStored(D);
  cemaCoefficientsBackward(params.alpha.data(), params.delta.data(),
                           params.theta.data(), D, N, gp.data(), gq.data(),
                           gGamma.data(), gOmega.data(), gAlpha.data(),
                           gDelta.data(), gTheta.data(), gGammaStored.data(),
                           gOmegaStored.data());
  expectGradient("cema coeff alpha", gAlpha,
                 numericGradient(params.alpha, loss));
  expectGradient("cema coeff delta", gDelta,
                 numericGradient(params.delta, loss));
  expectGradient("cema coeff theta", gTheta,
                 numericGradient(params.theta, loss));
  expectGradient("cema coeff gamma", gGammaStored,
                 numericGradient(params.gamma, loss));
  expectGradient("cema coeff omega", gOmegaStored,
                 numericGradient(params.omega, loss));
}

} // namespace
