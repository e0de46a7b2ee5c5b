//===- DenseTest.cpp - Tests of the reference dense ops and loss ----------===//
//
// Hand-computed cases for linear, silu, embedding and cross entropy.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace megalodon::ref;

namespace {

void expectAllNear(const std::vector<double> &actual,
                   const std::vector<double> &expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol) << "at index " << i;
}

TEST(LinearTest, HandComputed) {
  // x = [[1, 2, 3], [-1, 0, 2]], w = [[1, 0, -1], [2, 1, 0]] ([out, in]),
  // b = [0.5, -1]:
  // row 0: 1 - 3 + 0.5 = -1.5 ;  2 + 2 - 1 = 3
  // row 1: -1 - 2 + 0.5 = -2.5 ; -2 + 0 - 1 = -3
  const std::vector<double> x = {1, 2, 3, -1, 0, 2};
  const std::vector<double> w = {1, 0, -1, 2, 1, 0}, b = {0.5, -1};
  std::vector<double> y(4);
  linear(x.data(), w.data(), b.data(), 2, 3, 2, y.data());
  expectAllNear(y, {-1.5, 3, -2.5, -3}, 0.0);
  // No bias.
  linear(x.data(), w.data(), nullptr, 2, 3, 2, y.data());
  expectAllNear(y, {-2, 4, -3, -2}, 0.0);
}

TEST(LinearTest, NonSquareShapes) {
  // One input feature, three outputs: y = x * w[:, 0] + b.
  const std::vector<double> x = {2, -3}, w = {1, 0.5, -4}, b = {0, 1, 2};
  std::vector<double> y(6);
  linear(x.data(), w.data(), b.data(), 2, 1, 3, y.data());
  expectAllNear(y, {2, 2, -6, -3, -0.5, 14}, 0.0);
}

TEST(SiluTest, HandComputed) {
  // sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4 and sigmoid(-ln 3) = 1/4, so
  // silu(ln 3) = 0.75 ln 3 and silu(-ln 3) = -0.25 ln 3; silu(0) = 0.
  const double l3 = std::log(3.0);
  const std::vector<double> x = {0.0, l3, -l3, 1.0};
  std::vector<double> y(4);
  silu(x.data(), 4, y.data());
  expectAllNear(y, {0.0, 0.75 * l3, -0.25 * l3, 1.0 / (1.0 + std::exp(-1.0))},
                1e-15);
}

TEST(SiluTest, LargeMagnitudesStayFinite) {
  // silu(x) -> x for large x and -> -0 for very negative x, never NaN.
  const std::vector<double> x = {50.0, 800.0, -50.0, -800.0};
  std::vector<double> y(4);
  silu(x.data(), 4, y.data());
  EXPECT_NEAR(y[0], 50.0, 1e-12);
  EXPECT_EQ(y[1], 800.0);
  EXPECT_NEAR(y[2], -50.0 * std::exp(-50.0), 1e-30);
  EXPECT_TRUE(std::isfinite(y[3]));
  EXPECT_EQ(y[3], 0.0);
}

TEST(EmbeddingTest, GathersRows) {
  const std::vector<double> table = {1, 2, 3, 4, 5, 6}; // V = 3, D = 2.
  const std::vector<int64_t> tokens = {2, 0, 2, 1};
  std::vector<double> y(8);
  embedding(table.data(), tokens.data(), 4, 3, 2, y.data());
  expectAllNear(y, {5, 6, 1, 2, 5, 6, 3, 4}, 0.0);
}

TEST(CrossEntropyTest, TwoClassesHandComputed) {
  // With logits (0, x): -log softmax[0] = log(1 + e^x), -log softmax[1] =
  // log(1 + e^-x).
  // row 0: (0, 2), target 0 -> log(1 + e^2)  = 2 + log(1 + e^-2)
  // row 1: (1, -1), target 0 -> log(1 + e^-2)  (shift-invariant: (0, -2))
  // row 2: (3, 3), target 1 -> log 2
  const std::vector<double> logits = {0, 2, 1, -1, 3, 3};
  const std::vector<int64_t> targets = {0, 0, 1};
  const double l = std::log1p(std::exp(-2.0));
  EXPECT_NEAR(crossEntropy(logits.data(), targets.data(), 1, 2), 2 + l, 1e-15);
  EXPECT_NEAR(crossEntropy(logits.data() + 2, targets.data() + 1, 1, 2), l,
              1e-15);
  EXPECT_NEAR(crossEntropy(logits.data(), targets.data(), 3, 2),
              (2 + l + l + std::log(2.0)) / 3, 1e-15);
}

TEST(CrossEntropyTest, UniformLogitsGiveLogV) {
  const std::vector<double> logits(7, 0.25);
  const int64_t target = 4;
  EXPECT_NEAR(crossEntropy(logits.data(), &target, 1, 7), std::log(7.0), 1e-15);
}

TEST(CrossEntropyTest, LargeLogitsAreStable) {
  // (1000, 0): target 1 costs 1000 + log(1 + e^-1000) = 1000, target 0 costs
  // log(1 + e^-1000) ~ 0. A naive exp(1000) would overflow.
  const std::vector<double> logits = {1000, 0};
  const int64_t wrong = 1, right = 0;
  EXPECT_NEAR(crossEntropy(logits.data(), &wrong, 1, 2), 1000.0, 1e-12);
  EXPECT_NEAR(crossEntropy(logits.data(), &right, 1, 2), 0.0, 1e-300);
}

TEST(CrossEntropyTest, InvariantToAConstantAddedToTheLogits) {
  const int64_t rows = 5, V = 11;
  std::mt19937_64 rng(41);
  std::uniform_real_distribution<double> dist(-3.0, 3.0);
  std::vector<double> logits(rows * V);
  for (double &l : logits)
    l = dist(rng);
  const std::vector<int64_t> targets = {0, 10, 3, 3, 7};
  const double base = crossEntropy(logits.data(), targets.data(), rows, V);
  EXPECT_GT(base, 0.0);
  for (double shift : {-3.25, 7.5, 100.0}) {
    std::vector<double> shifted = logits;
    for (double &l : shifted)
      l += shift;
    EXPECT_NEAR(crossEntropy(shifted.data(), targets.data(), rows, V), base,
                1e-12)
        << "shift " << shift;
  }
}

} // namespace
