//===- DenseGradTest.cpp - Finite-difference tests of dense backward ------===//
//
// Central finite differences (fp64, step 1e-6) of a random projection of the
// outputs against linearBackward, siluBackward, embeddingBackward and
// crossEntropyBackward. Acceptance: per gradient tensor, the relative error
// of the 2-norm, |analytic - numeric|_2 / |numeric|_2 <= 1e-6.
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

class LinearGrad : public ::testing::TestWithParam<bool> {};

TEST_P(LinearGrad, MatchesFiniteDifferences) {
  const bool withBias = GetParam();
  const int64_t rows = 4, in = 5, out = 3;
  std::mt19937_64 rng(withBias ? 701 : 702);
  std::vector<double> x = uniformVector(rows * in, rng, -1.0, 1.0);
  std::vector<double> w = uniformVector(out * in, rng, -1.0, 1.0);
  std::vector<double> b = uniformVector(out, rng, -1.0, 1.0);
  const std::vector<double> gy = uniformVector(rows * out, rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> y(rows * out);
    linear(x.data(), w.data(), withBias ? b.data() : nullptr, rows, in, out,
           y.data());
    return dot(gy, y);
  };
  std::vector<double> gx(rows * in), gw(out * in), gb(out);
  linearBackward(x.data(), w.data(), rows, in, out, gy.data(), gx.data(),
                 gw.data(), withBias ? gb.data() : nullptr);
  expectGradient("linear x", gx, numericGradient(x, loss));
  expectGradient("linear w", gw, numericGradient(w, loss));
  if (withBias)
    expectGradient("linear b", gb, numericGradient(b, loss));
}

INSTANTIATE_TEST_SUITE_P(BiasOrNot, LinearGrad, ::testing::Bool());

TEST(SiluGradTest, MatchesFiniteDifferences) {
  std::mt19937_64 rng(703);
  // Include large magnitudes, where the sigmoid saturates.
  std::vector<double> x = uniformVector(20, rng, -6.0, 6.0);
  x.push_back(-30.0);
  x.push_back(25.0);
  const std::vector<double> gy = uniformVector(x.size(), rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> y(x.size());
    silu(x.data(), int64_t(x.size()), y.data());
    return dot(gy, y);
  };
  std::vector<double> gx(x.size());
  siluBackward(x.data(), int64_t(x.size()), gy.data(), gx.data());
  expectGradient("silu x", gx, numericGradient(x, loss));
}

TEST(EmbeddingGradTest, MatchesFiniteDifferences) {
  const int64_t V = 6, D = 3;
  // Token 2 occurs three times, token 4 twice, tokens 1 and 5 never.
  const std::vector<int64_t> tokens = {2, 0, 4, 2, 3, 4, 2};
  const int64_t n = int64_t(tokens.size());
  std::mt19937_64 rng(704);
  std::vector<double> table = uniformVector(V * D, rng, -1.0, 1.0);
  const std::vector<double> gy = uniformVector(n * D, rng, -1.0, 1.0);
  auto loss = [&] {
    std::vector<double> y(n * D);
    embedding(table.data(), tokens.data(), n, V, D, y.data());
    return dot(gy, y);
  };
  std::vector<double> gTable(V * D, 42.0);
  embeddingBackward(tokens.data(), n, V, D, gy.data(), gTable.data());
  expectGradient("embedding table", gTable, numericGradient(table, loss));
  for (int64_t j = 0; j < D; ++j) {
    EXPECT_EQ(gTable[1 * D + j], 0.0);
    EXPECT_EQ(gTable[5 * D + j], 0.0);
  }
}

TEST(CrossEntropyGradTest, MatchesFiniteDifferences) {
  const int64_t rows = 4, V = 7;
  const std::vector<int64_t> targets = {3, 0, 6, 3};
  std::mt19937_64 rng(705);
  std::vector<double> logits = uniformVector(rows * V, rng, -3.0, 3.0);
  // A loss cotangent other than 1.
  const double gLoss = 0.7;
  auto loss = [&] {
    return gLoss * crossEntropy(logits.data(), targets.data(), rows, V);
  };
  std::vector<double> gLogits(rows * V);
  crossEntropyBackward(logits.data(), targets.data(), rows, V, gLoss,
                       gLogits.data());
  expectGradient("cross entropy logits", gLogits,
                 numericGradient(logits, loss));
  // Each row of the gradient sums to zero.
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int64_t c = 0; c < V; ++c)
      sum += gLogits[r * V + c];
    EXPECT_NEAR(sum, 0.0, 1e-15);
  }
}

} // namespace
