//===- SamplerTest.cpp - Tests of the megalodon-run token sampler ---------===//
//
// Greedy decoding, temperature, top-k and top-p against their definitions in
// Sampler.h, the reproducibility of the random stream, non-finite logits,
// option validation, and the absence of allocations once buffers are warm.
// Frequency checks use fixed seeds, so they are deterministic; their bounds
// are loose enough to hold for any reasonable seed.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <vector>

using namespace megalodon::tool;

//===----------------------------------------------------------------------===//
// Allocation counting: every non-aligned global operator new of this test
// binary goes through here, and counts while `countAllocations` is set.
//===----------------------------------------------------------------------===//

// The allocator calls are kept out of line: once inlined, GCC's
// -Wmismatched-new-delete takes the free() below for a mismatch.
#if defined(__GNUC__)
#define SAMPLER_TEST_NOINLINE __attribute__((noinline))
#else
#define SAMPLER_TEST_NOINLINE
#endif

static bool countAllocations = false;
static int64_t allocationCount = 0;

SAMPLER_TEST_NOINLINE static void *countedAllocate(std::size_t size) {
  if (countAllocations)
    ++allocationCount;
  return std::malloc(size ? size : 1);
}

SAMPLER_TEST_NOINLINE static void countedFree(void *p) { std::free(p); }

void *operator new(std::size_t size) {
  if (void *p = countedAllocate(size))
    return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t size) {
  if (void *p = countedAllocate(size))
    return p;
  throw std::bad_alloc();
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
  return countedAllocate(size);
}
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept {
  return countedAllocate(size);
}
void operator delete(void *p) noexcept { countedFree(p); }
void operator delete[](void *p) noexcept { countedFree(p); }
void operator delete(void *p, std::size_t) noexcept { countedFree(p); }
void operator delete[](void *p, std::size_t) noexcept { countedFree(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept {
  countedFree(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
  countedFree(p);
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

SamplingOptions makeOptions(double temperature, int64_t topK = 0,
                            double topP = 1.0, uint64_t seed = 0) {
  SamplingOptions options;
  options.temperature = temperature;
  options.topK = topK;
  options.topP = topP;
  options.seed = seed;
  return options;
}

int32_t sampleOnce(Sampler &sampler, const std::vector<float> &logits) {
  return sampler.sample(logits.data(), static_cast<int64_t>(logits.size()));
}

/// Logits in [-scale, scale), reproducible on every platform.
std::vector<float> randomLogits(int64_t vocab, uint64_t seed,
                                double scale = 4.0) {
  SplitMix64 rng(seed);
  std::vector<float> logits(vocab);
  for (float &logit : logits)
    logit = static_cast<float>((2 * rng.nextDouble() - 1) * scale);
  return logits;
}

/// Argmax, lowest index on ties, NaN ignored; 0 when nothing is finite.
int32_t referenceArgmax(const std::vector<float> &logits) {
  int32_t best = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] > logits[best] || std::isnan(logits[best]))
      best = static_cast<int32_t>(i);
  return std::isnan(logits[best]) ? 0 : best;
}

std::vector<double> softmax(const std::vector<float> &logits,
                            double temperature) {
  double maxLogit = *std::max_element(logits.begin(), logits.end());
  std::vector<double> probs(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    sum += probs[i] = std::exp((logits[i] - maxLogit) / temperature);
  for (double &p : probs)
    p /= sum;
  return probs;
}

std::vector<int64_t> histogram(Sampler &sampler,
                               const std::vector<float> &logits, int draws) {
  std::vector<int64_t> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    int32_t token = sampleOnce(sampler, logits);
    EXPECT_GE(token, 0);
    EXPECT_LT(token, static_cast<int32_t>(logits.size()));
    if (token >= 0 && token < static_cast<int32_t>(logits.size()))
      ++counts[token];
  }
  return counts;
}

/// Pearson's statistic of `counts` against `probs`. A token of probability 0
/// that was drawn makes it infinite.
double chiSquare(const std::vector<int64_t> &counts,
                 const std::vector<double> &probs) {
  int64_t draws = 0;
  for (int64_t c : counts)
    draws += c;
  double statistic = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    double expected = probs[i] * static_cast<double>(draws);
    if (expected == 0) {
      if (counts[i] != 0)
        return std::numeric_limits<double>::infinity();
      continue;
    }
    double diff = static_cast<double>(counts[i]) - expected;
    statistic += diff * diff / expected;
  }
  return statistic;
}

/// Loose bound on a chi-square statistic with up to 9 degrees of freedom: the
/// 1e-6 upper quantile for 9 degrees of freedom is about 42.
constexpr double kChiSquareBound = 45.0;

//===----------------------------------------------------------------------===//
// The random generator
//===----------------------------------------------------------------------===//

TEST(SplitMix64Test, MatchesReferenceOutputs) {
  // The published SplitMix64 stream for seed 0.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.next(), 0x06c45d188009454fULL);
}

TEST(SplitMix64Test, DoubleIsTop53BitsScaled) {
  SplitMix64 bits(1234), doubles(1234);
  for (int i = 0; i < 1000; ++i) {
    double expected =
        static_cast<double>(bits.next() >> 11) / 9007199254740992.0;
    double u = doubles.nextDouble();
    EXPECT_EQ(u, expected);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

//===----------------------------------------------------------------------===//
// Greedy decoding
//===----------------------------------------------------------------------===//

TEST(SamplerTest, GreedyPicksArgmax) {
  Sampler sampler(makeOptions(0.0));
  EXPECT_EQ(sampleOnce(sampler, {0.1f, 2.5f, -1.0f, 2.4f}), 1);
  EXPECT_EQ(sampleOnce(sampler, {-5.0f, -4.0f, -3.0f}), 2);
  EXPECT_EQ(sampleOnce(sampler, {7.0f}), 0);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<float> logits = randomLogits(1000, seed);
    EXPECT_EQ(sampleOnce(sampler, logits), referenceArgmax(logits));
  }
}

TEST(SamplerTest, GreedyTiesGoToLowestIndex) {
  Sampler sampler(makeOptions(0.0));
  EXPECT_EQ(sampleOnce(sampler, {1.0f, 3.0f, 0.0f, 3.0f, 3.0f}), 1);
  EXPECT_EQ(sampleOnce(sampler, {2.0f, 2.0f}), 0);
}

TEST(SamplerTest, TemperatureZeroIgnoresSeed) {
  Sampler a(makeOptions(0.0, 0, 1.0, 1)), b(makeOptions(0.0, 0, 1.0, 999));
  Sampler c(makeOptions(0.0, 3, 0.5, 77));
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::vector<float> logits = randomLogits(64, seed, 0.5);
    int32_t expected = referenceArgmax(logits);
    EXPECT_EQ(sampleOnce(a, logits), expected);
    EXPECT_EQ(sampleOnce(b, logits), expected);
    EXPECT_EQ(sampleOnce(c, logits), expected);
  }
}

//===----------------------------------------------------------------------===//
// Truncation that reduces to greedy
//===----------------------------------------------------------------------===//

TEST(SamplerTest, TopKOneEqualsGreedyAtAnyTemperature) {
  for (double temperature : {1e-310, 0.01, 1.0, 100.0, 1e6, 1e300}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      Sampler sampler(makeOptions(temperature, 1, 1.0, seed));
      std::vector<float> logits = randomLogits(200, seed + 100);
      // A tie with the maximum at a higher index must not win.
      logits.push_back(logits[referenceArgmax(logits)]);
      int32_t expected = referenceArgmax(logits);
      for (int i = 0; i < 5; ++i)
        EXPECT_EQ(sampleOnce(sampler, logits), expected)
            << "temperature " << temperature << " seed " << seed;
    }
  }
}

TEST(SamplerTest, TinyTopPEqualsGreedy) {
  for (double temperature : {0.5, 1.0, 3.0}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      Sampler sampler(makeOptions(temperature, 0, 1e-9, seed));
      std::vector<float> logits = randomLogits(500, seed + 200, 0.1);
      int32_t expected = referenceArgmax(logits);
      for (int i = 0; i < 5; ++i)
        EXPECT_EQ(sampleOnce(sampler, logits), expected)
            << "temperature " << temperature << " seed " << seed;
    }
  }
}

TEST(SamplerTest, TinyTemperatureIsGreedy) {
  // 1e-310 is subnormal: 1 / T overflows, (logit - max) / T must not.
  Sampler sampler(makeOptions(1e-310, 0, 1.0, 5));
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<float> logits = randomLogits(100, seed + 300);
    EXPECT_EQ(sampleOnce(sampler, logits), referenceArgmax(logits));
  }
}

//===----------------------------------------------------------------------===//
// Distributions
//===----------------------------------------------------------------------===//

TEST(SamplerTest, ReproducesSoftmaxDistribution) {
  const std::vector<float> logits = {1.0f, 0.0f, 2.0f,  -1.0f,
                                     0.5f, 1.5f, -0.5f, 0.25f};
  for (double temperature : {1.0, 0.6, 2.5}) {
    Sampler sampler(makeOptions(temperature, 0, 1.0, 2024));
    std::vector<int64_t> counts = histogram(sampler, logits, 20000);
    EXPECT_LT(chiSquare(counts, softmax(logits, temperature)), kChiSquareBound)
        << "temperature " << temperature;
  }
}

TEST(SamplerTest, TopKTwoStaysInTopTwo) {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::vector<float> logits = randomLogits(50, seed + 400, 1.0);
    std::vector<int32_t> order(logits.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = static_cast<int32_t>(i);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    });
    // A high temperature flattens the distribution, so that a leak outside
    // the top 2 would be likely.
    Sampler sampler(makeOptions(5.0, 2, 1.0, seed));
    std::vector<int64_t> counts = histogram(sampler, logits, 2000);
    std::vector<double> probs(logits.size(), 0.0);
    double w0 = 1.0, w1 = std::exp((logits[order[1]] - logits[order[0]]) / 5.0);
    probs[order[0]] = w0 / (w0 + w1);
    probs[order[1]] = w1 / (w0 + w1);
    for (size_t i = 2; i < order.size(); ++i)
      EXPECT_EQ(counts[order[i]], 0) << "token " << order[i];
    EXPECT_GT(counts[order[0]], 0);
    EXPECT_GT(counts[order[1]], 0);
    EXPECT_LT(chiSquare(counts, probs), kChiSquareBound);
  }
}

TEST(SamplerTest, TopKBoundaryTiesKeepLowerIndex) {
  // Tokens 1, 2 and 3 tie for the top; k = 2 keeps 1 and 2.
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 3.0f, 0.0f};
  Sampler sampler(makeOptions(1.0, 2, 1.0, 11));
  std::vector<int64_t> counts = histogram(sampler, logits, 4000);
  EXPECT_EQ(counts[0] + counts[3] + counts[4], 0);
  EXPECT_LT(chiSquare(counts, {0, 0.5, 0.5, 0, 0}), kChiSquareBound);
}

TEST(SamplerTest, TopPKeepsSmallestNucleus) {
  // Probabilities 0.3, 0.2, 0.5, listed out of rank order.
  const std::vector<float> logits = {std::log(0.3f), std::log(0.2f),
                                     std::log(0.5f)};
  {
    Sampler sampler(makeOptions(1.0, 0, 0.49, 1));
    std::vector<int64_t> counts = histogram(sampler, logits, 1000);
    EXPECT_EQ(counts[2], 1000);
  }
  {
    Sampler sampler(makeOptions(1.0, 0, 0.79, 2));
    std::vector<int64_t> counts = histogram(sampler, logits, 8000);
    EXPECT_EQ(counts[1], 0);
    EXPECT_LT(chiSquare(counts, {0.375, 0, 0.625}), kChiSquareBound);
  }
  {
    Sampler sampler(makeOptions(1.0, 0, 0.81, 3));
    std::vector<int64_t> counts = histogram(sampler, logits, 8000);
    EXPECT_LT(chiSquare(counts, {0.3, 0.2, 0.5}), kChiSquareBound);
  }
}

TEST(SamplerTest, TopPEqualProbabilitiesKeepLowerIndices) {
  // Cumulative 0.25, 0.5: p = 0.5 is reached exactly by tokens 0 and 1.
  const std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  Sampler sampler(makeOptions(1.0, 0, 0.5, 9));
  std::vector<int64_t> counts = histogram(sampler, logits, 4000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_LT(chiSquare(counts, {0.5, 0.5, 0, 0}), kChiSquareBound);
}

TEST(SamplerTest, TopPAppliesToRenormalizedTopK) {
  // Probabilities 0.4, 0.3, 0.2, 0.1. Top-3 renormalizes them to 4/9, 3/9,
  // 2/9, where 4/9 + 3/9 >= 0.75 already; measured against the whole
  // distribution token 2 would be needed too (0.4 + 0.3 < 0.75).
  const std::vector<float> logits = {std::log(0.4f), std::log(0.3f),
                                     std::log(0.2f), std::log(0.1f)};
  Sampler sampler(makeOptions(1.0, 3, 0.75, 4));
  std::vector<int64_t> counts = histogram(sampler, logits, 8000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_LT(chiSquare(counts, {4.0 / 7, 3.0 / 7, 0, 0}), kChiSquareBound);
}

/// The sampler's definition implemented directly: full sort, no prefilter.
/// It draws from its own generator with the same seed, so the two must agree
/// token for token.
class ReferenceSampler {
public:
  explicit ReferenceSampler(SamplingOptions options)
      : options(options), rng(options.seed) {}

  int32_t sample(const std::vector<float> &logits) {
    double u = rng.nextDouble();
    int64_t vocab = static_cast<int64_t>(logits.size());
    float maxLogit = -kInf;
    for (float l : logits)
      if (l > maxLogit)
        maxLogit = l;
    std::vector<double> w(vocab);
    double total = 0;
    for (int64_t i = 0; i < vocab; ++i)
      total += w[i] =
          logits[i] > -kInf
              ? std::exp((static_cast<double>(logits[i]) - maxLogit) /
                         options.temperature)
              : 0.0;
    std::vector<int32_t> ranked;
    for (int64_t i = 0; i < vocab; ++i)
      if (w[i] > 0)
        ranked.push_back(static_cast<int32_t>(i));
    std::sort(ranked.begin(), ranked.end(), [&](int32_t a, int32_t b) {
      return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    });
    bool useTopK = options.topK > 0 && options.topK < vocab;
    if (useTopK && static_cast<int64_t>(ranked.size()) > options.topK)
      ranked.resize(options.topK);
    double mass = 0;
    if (useTopK)
      for (int32_t t : ranked)
        mass += w[t];
    else
      mass = total;
    if (options.topP < 1) {
      double cumulative = 0;
      for (size_t j = 0; j < ranked.size(); ++j) {
        cumulative += w[ranked[j]];
        if (cumulative >= options.topP * mass) {
          ranked.resize(j + 1);
          break;
        }
      }
    }
    double keptMass = 0;
    for (int32_t t : ranked)
      keptMass += w[t];
    double cumulative = 0;
    for (int32_t t : ranked) {
      cumulative += w[t];
      if (cumulative > u * keptMass)
        return t;
    }
    return ranked.back();
  }

private:
  SamplingOptions options;
  SplitMix64 rng;
};

TEST(SamplerTest, MatchesDirectImplementationOfTruncation) {
  // Three shapes of 1000 logits: spread out; nearly flat, where the nucleus
  // holds many tokens; and nearly flat plus one token of probability ~0.49,
  // where the nucleus for p in (0.49, 0.66) needs tail tokens of probability
  // just above (1 - p) / V, the bound the top-p prefilter relies on.
  enum Shape { Spread, Flat, Spike, NumShapes };
  const int64_t vocab = 1000;
  const int rounds = 12;
  int checked = 0;
  for (double temperature : {0.7, 1.5})
    for (int64_t topK : {0, 1, 5, 999})
      for (double topP : {0.05, 0.3, 0.6, 0.9, 0.999})
        for (int shape = 0; shape < NumShapes; ++shape) {
          uint64_t seed =
              static_cast<uint64_t>(topK * 31 + topP * 1000 + shape);
          SamplingOptions options = makeOptions(temperature, topK, topP, seed);
          Sampler sampler(options);
          ReferenceSampler reference(options);
          for (int round = 0; round < rounds; ++round) {
            std::vector<float> logits =
                randomLogits(vocab, seed + round, shape == Spread ? 6.0 : 0.01);
            if (shape == Spike)
              logits[(round * 37) % vocab] += static_cast<float>(
                  temperature * std::log(0.49 / 0.51 * (vocab - 1)));
            ASSERT_EQ(sampleOnce(sampler, logits), reference.sample(logits))
                << "T " << temperature << " k " << topK << " p " << topP
                << " shape " << shape << " round " << round;
            ++checked;
          }
        }
  EXPECT_EQ(checked, 2 * 4 * 5 * NumShapes * rounds);
}

//===----------------------------------------------------------------------===//
// Reproducibility
//===----------------------------------------------------------------------===//

std::vector<int32_t> drawSequence(SamplingOptions options,
                                  const std::vector<float> &logits, int n) {
  Sampler sampler(options);
  std::vector<int32_t> sequence;
  for (int i = 0; i < n; ++i)
    sequence.push_back(sampleOnce(sampler, logits));
  return sequence;
}

TEST(SamplerTest, SameSeedSameSequence) {
  std::vector<float> logits = randomLogits(100, 7, 1.0);
  for (SamplingOptions options :
       {makeOptions(1.0, 0, 1.0, 42), makeOptions(0.8, 20, 0.9, 42)})
    EXPECT_EQ(drawSequence(options, logits, 200),
              drawSequence(options, logits, 200));
}

TEST(SamplerTest, DifferentSeedDifferentSequence) {
  std::vector<float> logits = randomLogits(100, 7, 1.0);
  std::vector<int32_t> a =
      drawSequence(makeOptions(1.0, 0, 1.0, 1), logits, 50);
  std::vector<int32_t> b =
      drawSequence(makeOptions(1.0, 0, 1.0, 2), logits, 50);
  EXPECT_NE(a, b);
  std::vector<int32_t> c =
      drawSequence(makeOptions(0.8, 20, 0.9, 1), logits, 50);
  std::vector<int32_t> d =
      drawSequence(makeOptions(0.8, 20, 0.9, 2), logits, 50);
  EXPECT_NE(c, d);
}

TEST(SamplerTest, GoldenSequence) {
  // Equal logits give exact weights, so this sequence is what every platform
  // must produce for seed 42: the first token whose cumulative count exceeds
  // 10 u for the SplitMix64 doubles u.
  const std::vector<float> logits(10, 0.0f);
  const std::vector<int32_t> expected = {7, 1, 2, 3, 0, 8, 2, 8,
                                         3, 6, 2, 4, 5, 5, 6, 2};
  EXPECT_EQ(drawSequence(makeOptions(1.0, 0, 1.0, 42), logits, 16), expected);
}

TEST(SamplerTest, EachCallConsumesOneDraw) {
  // A forced call (a single candidate) still advances the generator, so the
  // second call of `a` sees the same u as the second call of `b`.
  const std::vector<float> forced = {0.0f, kInf, 0.0f};
  const std::vector<float> open(10, 0.0f);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Sampler a(makeOptions(1.0, 0, 1.0, seed)),
        b(makeOptions(1.0, 0, 1.0, seed));
    EXPECT_EQ(sampleOnce(a, forced), 1);
    sampleOnce(b, open);
    EXPECT_EQ(sampleOnce(a, open), sampleOnce(b, open));
    // The same holds when every logit is NaN or -inf.
    EXPECT_EQ(sampleOnce(a, {kNaN, -kInf}), 0);
    sampleOnce(b, open);
    EXPECT_EQ(sampleOnce(a, open), sampleOnce(b, open));
  }
}

//===----------------------------------------------------------------------===//
// Non-finite logits
//===----------------------------------------------------------------------===//

TEST(SamplerTest, NaNIsNeverChosen) {
  const std::vector<float> logits = {0.0f, kNaN, 0.5f, kNaN, -0.5f};
  Sampler greedy(makeOptions(0.0));
  EXPECT_EQ(sampleOnce(greedy, logits), 2);
  EXPECT_EQ(sampleOnce(greedy, {kNaN, 1.0f}), 1);
  for (SamplingOptions options :
       {makeOptions(1.0, 0, 1.0, 3), makeOptions(2.0, 4, 1.0, 3),
        makeOptions(2.0, 0, 0.99, 3)}) {
    Sampler sampler(options);
    std::vector<int64_t> counts = histogram(sampler, logits, 3000);
    EXPECT_EQ(counts[1] + counts[3], 0);
    EXPECT_GT(counts[0], 0);
    EXPECT_GT(counts[2], 0);
    EXPECT_GT(counts[4], 0);
  }
}

TEST(SamplerTest, NegativeInfinityIsNeverChosen) {
  const std::vector<float> logits = {-kInf, 0.0f, -kInf, 0.0f};
  Sampler sampler(makeOptions(1.0, 0, 1.0, 8));
  std::vector<int64_t> counts = histogram(sampler, logits, 2000);
  EXPECT_EQ(counts[0] + counts[2], 0);
  EXPECT_LT(chiSquare(counts, {0, 0.5, 0, 0.5}), kChiSquareBound);
}

TEST(SamplerTest, OnlyFiniteLogitIsAlwaysChosen) {
  const std::vector<float> logits = {kNaN, -kInf, kNaN, -100.0f, -kInf};
  for (SamplingOptions options :
       {makeOptions(0.0), makeOptions(1.0, 0, 1.0, 1),
        makeOptions(0.5, 2, 0.5, 2), makeOptions(50.0, 0, 0.999, 3)}) {
    Sampler sampler(options);
    for (int i = 0; i < 100; ++i)
      EXPECT_EQ(sampleOnce(sampler, logits), 3);
  }
}

TEST(SamplerTest, NoFiniteLogitGivesZero) {
  for (SamplingOptions options :
       {makeOptions(0.0), makeOptions(1.0, 0, 1.0, 1),
        makeOptions(1.0, 2, 1.0, 1), makeOptions(1.0, 0, 0.5, 1)}) {
    Sampler sampler(options);
    EXPECT_EQ(sampleOnce(sampler, {kNaN, kNaN, kNaN}), 0);
    EXPECT_EQ(sampleOnce(sampler, {-kInf, -kInf}), 0);
    EXPECT_EQ(sampleOnce(sampler, {-kInf, kNaN, -kInf}), 0);
  }
}

TEST(SamplerTest, PositiveInfinityTakesAllTheMass) {
  const std::vector<float> logits = {1e30f, kInf, 0.0f, kNaN, kInf, 3.0f};
  Sampler greedy(makeOptions(0.0));
  EXPECT_EQ(sampleOnce(greedy, logits), 1);
  for (SamplingOptions options :
       {makeOptions(1.0, 0, 1.0, 6), makeOptions(1.0, 3, 0.9, 6)}) {
    Sampler sampler(options);
    std::vector<int64_t> counts = histogram(sampler, logits, 4000);
    EXPECT_EQ(counts[0] + counts[2] + counts[3] + counts[5], 0);
    EXPECT_LT(chiSquare(counts, {0, 0.5, 0, 0, 0.5, 0}), kChiSquareBound);
  }
}

//===----------------------------------------------------------------------===//
// Options and allocations
//===----------------------------------------------------------------------===//

TEST(SamplerTest, ValidateAcceptsValidOptions) {
  EXPECT_EQ(Sampler::validate(SamplingOptions()), "");
  EXPECT_EQ(Sampler::validate(makeOptions(0.0, 0, 1.0)), "");
  EXPECT_EQ(Sampler::validate(makeOptions(1e-310, 1, 1e-12)), "");
  EXPECT_EQ(Sampler::validate(makeOptions(100.0, 1 << 20, 0.5, ~0ULL)), "");
}

TEST(SamplerTest, ValidateRejectsBadOptions) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double temperature : {-1.0, -1e-300, nan, inf, -inf}) {
    std::string message = Sampler::validate(makeOptions(temperature));
    EXPECT_NE(message.find("temperature"), std::string::npos)
        << temperature << ": '" << message << "'";
  }
  for (double topP : {0.0, -0.5, 1.0000001, 2.0, nan, inf}) {
    std::string message = Sampler::validate(makeOptions(1.0, 0, topP));
    EXPECT_NE(message.find("top-p"), std::string::npos)
        << topP << ": '" << message << "'";
  }
  for (int64_t topK : {int64_t(-1), std::numeric_limits<int64_t>::min()}) {
    std::string message = Sampler::validate(makeOptions(1.0, topK));
    EXPECT_NE(message.find("top-k"), std::string::npos)
        << topK << ": '" << message << "'";
  }
  EXPECT_EQ(Sampler::validate(makeOptions(-0.5)),
            "temperature must be a finite number >= 0, got -0.5");
}

TEST(SamplerTest, NoAllocationOnceWarm) {
  const int64_t vocab = 4096;
  std::vector<float> logits = randomLogits(vocab, 99);
  for (SamplingOptions options :
       {makeOptions(0.0), makeOptions(1.0, 0, 1.0, 1),
        makeOptions(1.0, 40, 1.0, 1), makeOptions(1.0, 0, 0.9, 1),
        makeOptions(0.8, 40, 0.9, 1)}) {
    Sampler sampler(options);
    sampler.sample(logits.data(), vocab); // Sizes the buffers.
    allocationCount = 0;
    countAllocations = true;
    for (int i = 0; i < 50; ++i) {
      sampler.sample(logits.data(), vocab);
      sampler.sample(logits.data() + i, vocab - i);
    }
    countAllocations = false;
    EXPECT_EQ(allocationCount, 0)
        << "k " << options.topK << " p " << options.topP;
  }
}

} // namespace
