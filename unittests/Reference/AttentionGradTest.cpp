//===- AttentionGradTest.cpp - Finite-difference tests of attention -------===//
//
// Central finite differences (fp64, step 1e-6) of a random projection of the
// outputs against rotaryBackward, sharedQKBackward and
// chunkAttentionBackward. Acceptance: per gradient tensor, the relative
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

//===----------------------------------------------------------------------===//
// Rotary
//===----------------------------------------------------------------------===//

TEST(RotaryGradTest, MatchesFiniteDifferences) {
  // Offset 3 and chunk 4: positions 3,0,1,2,3,0,1 (they wrap).
  const int64_t B = 2, L = 7, H = 2, dh = 6, offset = 3, chunk = 4;
  const double base = 10000.0;
  std::mt19937_64 rng(501);
  std::vector<double> x = uniformVector(B * L * H * dh, rng, -1.0, 1.0);
  const std::vector<double> gy = uniformVector(x.size(), rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> y = x;
    rotary(y.data(), B, L, H, dh, base, offset, chunk);
    return dot(gy, y);
  };
  std::vector<double> gx = gy;
  rotaryBackward(gx.data(), B, L, H, dh, base, offset, chunk);
  expectGradient("rotary x", gx, numericGradient(x, loss));
}

TEST(RotaryGradTest, UndoesTheRotation) {
  // The rotation is orthogonal: its transpose is its inverse.
  const int64_t B = 1, L = 9, H = 2, dh = 8, offset = 5, chunk = 6;
  std::mt19937_64 rng(502);
  const std::vector<double> x = uniformVector(B * L * H * dh, rng, -1.0, 1.0);
  std::vector<double> y = x;
  rotary(y.data(), B, L, H, dh, 500.0, offset, chunk);
  rotaryBackward(y.data(), B, L, H, dh, 500.0, offset, chunk);
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(y[i], x[i], 1e-14) << "at index " << i;
}

//===----------------------------------------------------------------------===//
// Shared q/k projection
//===----------------------------------------------------------------------===//

/// The shared_qk op: q = z (gamma[0] + 1) / sqrt(dz) + beta[0], k likewise
/// with row 1.
void sharedQK(const std::vector<double> &z, const std::vector<double> &gamma,
              const std::vector<double> &beta, int64_t Z, int64_t H,
              std::vector<double> &q, std::vector<double> &k) {
  const double scale = 1.0 / std::sqrt(double(Z / H));
  q.resize(z.size());
  k.resize(z.size());
  for (size_t i = 0; i < z.size(); ++i) {
    const size_t j = i % Z;
    q[i] = z[i] * (gamma[j] + 1.0) * scale + beta[j];
    k[i] = z[i] * (gamma[Z + j] + 1.0) * scale + beta[Z + j];
  }
}

TEST(SharedQKGradTest, MatchesFiniteDifferences) {
  const int64_t rows = 5, Z = 8, H = 2;
  std::mt19937_64 rng(503);
  std::vector<double> z = uniformVector(rows * Z, rng, -2.0, 2.0);
  std::vector<double> gamma = uniformVector(2 * Z, rng, -0.5, 0.5);
  std::vector<double> beta = uniformVector(2 * Z, rng, -0.5, 0.5);
  const std::vector<double> gq = uniformVector(rows * Z, rng, -1.0, 1.0);
  const std::vector<double> gk = uniformVector(rows * Z, rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> q, k;
    sharedQK(z, gamma, beta, Z, H, q, k);
    return dot(gq, q) + dot(gk, k);
  };
  std::vector<double> gz(rows * Z), gGamma(2 * Z), gBeta(2 * Z);
  sharedQKBackward(z.data(), gamma.data(), rows, Z, H, gq.data(), gk.data(),
                   gz.data(), gGamma.data(), gBeta.data());
  expectGradient("sharedqk z", gz, numericGradient(z, loss));
  expectGradient("sharedqk gamma", gGamma, numericGradient(gamma, loss));
  expectGradient("sharedqk beta", gBeta, numericGradient(beta, loss));
}

//===----------------------------------------------------------------------===//
// Chunked attention
//===----------------------------------------------------------------------===//

struct AttnCase {
  int64_t B, L, H, dz, dv, C;
};

class ChunkAttentionGrad : public ::testing::TestWithParam<AttnCase> {};

TEST_P(ChunkAttentionGrad, MatchesFiniteDifferences) {
  const AttnCase ac = GetParam();
  const int64_t B = ac.B, L = ac.L, H = ac.H, dz = ac.dz, dv = ac.dv;
  std::mt19937_64 rng(600 + L * 10 + ac.C);
  // Scores of order one, so the softmax is neither flat nor saturated.
  std::vector<double> q = uniformVector(B * L * H * dz, rng, -1.0, 1.0);
  std::vector<double> k = uniformVector(B * L * H * dz, rng, -1.0, 1.0);
  std::vector<double> v = uniformVector(B * L * H * dv, rng, -1.0, 1.0);
  const std::vector<double> gOut = uniformVector(v.size(), rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> out(B * L * H * dv);
    chunkAttention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, B, L, H,
                   dz, dv, ac.C, out.data());
    return dot(gOut, out);
  };
  std::vector<double> gq(q.size()), gk(k.size()), gv(v.size());
  chunkAttentionBackward(q.data(), k.data(), v.data(), B, L, H, dz, dv, ac.C,
                         gOut.data(), gq.data(), gk.data(), gv.data());
  expectGradient("attention q", gq, numericGradient(q, loss));
  expectGradient("attention k", gk, numericGradient(k, loss));
  expectGradient("attention v", gv, numericGradient(v, loss));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ChunkAttentionGrad,
    ::testing::Values(AttnCase{2, 12, 2, 4, 3, 4}, // three chunks, two heads
                      AttnCase{1, 8, 2, 6, 5, 4},  // two chunks
                      AttnCase{2, 5, 1, 4, 4, 8})); // one chunk shorter than C

TEST(ChunkAttentionGradTest, NoGradientAcrossChunks) {
  // The cotangent of the second chunk's outputs reaches only its own q, k,
  // v.
  const int64_t B = 1, L = 8, H = 2, dz = 4, dv = 3, C = 4;
  std::mt19937_64 rng(604);
  const std::vector<double> q = uniformVector(B * L * H * dz, rng, -1.0, 1.0);
  const std::vector<double> k = uniformVector(q.size(), rng, -1.0, 1.0);
  const std::vector<double> v = uniformVector(B * L * H * dv, rng, -1.0, 1.0);
  std::vector<double> gOut = uniformVector(v.size(), rng, -1.0, 1.0);
  std::fill(gOut.begin(), gOut.begin() + C * H * dv, 0.0);
  std::vector<double> gq(q.size()), gk(k.size()), gv(v.size());
  chunkAttentionBackward(q.data(), k.data(), v.data(), B, L, H, dz, dv, C,
                         gOut.data(), gq.data(), gk.data(), gv.data());
  for (int64_t i = 0; i < C * H * dz; ++i) {
    EXPECT_EQ(gq[i], 0.0);
    EXPECT_EQ(gk[i], 0.0);
  }
  for (int64_t i = 0; i < C * H * dv; ++i)
    EXPECT_EQ(gv[i], 0.0);
}

} // namespace
