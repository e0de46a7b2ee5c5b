//===- Sampler.cpp - Next-token sampling for megalodon-run ----------------===//
//
// The semantics are stated in Sampler.h.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace megalodon::tool;

/// The shortest %g form of `value` that reads back as the same double.
static std::string formatNumber(double value) {
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

uint64_t SplitMix64::next() {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double SplitMix64::nextDouble() {
  // 53 bits fill the significand of a double exactly: the result is a
  // multiple of 2^-53 in [0, 1 - 2^-53].
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

Sampler::Sampler(SamplingOptions options)
    : options(options), rng(options.seed) {
  assert(validate(options).empty() && "invalid sampling options");
}

std::string Sampler::validate(const SamplingOptions &options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0)
    return "temperature must be a finite number >= 0, got " +
           formatNumber(options.temperature);
  if (options.topK < 0)
    return "top-k must be >= 0 (0 disables it), got " +
           std::to_string(options.topK);
  // Written so that NaN fails too.
  if (!(options.topP > 0 && options.topP <= 1))
    return "top-p must be in (0, 1] (1 disables it), got " +
           formatNumber(options.topP);
  return {};
}

int32_t Sampler::sampleGreedy(const float *logits, int64_t vocab) const {
  // NaN compares false with everything, so it never becomes the best; if
  // every logit is NaN or -inf the result stays 0.
  int64_t best = 0;
  float bestLogit = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) {
    if (logits[i] > bestLogit) {
      bestLogit = logits[i];
      best = i;
    }
  }
  return static_cast<int32_t>(best);
}

int32_t Sampler::sample(const float *logits, int64_t vocab) {
  assert(logits && vocab > 0 && vocab <= std::numeric_limits<int32_t>::max() &&
         "bad vocabulary");
  if (vocab <= 0)
    return 0;
  if (options.temperature == 0)
    return sampleGreedy(logits, vocab);

  // Drawn first so that every call consumes exactly one value.
  const double u = rng.nextDouble();
  const double inf = std::numeric_limits<double>::infinity();

  float maxLogit = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i)
    if (logits[i] > maxLogit) // false for NaN
      maxLogit = logits[i];
  if (!(maxLogit > -std::numeric_limits<float>::infinity()))
    return 0; // Every logit is -inf or NaN.

  // Unnormalized probabilities, summed in index order. w = 1 for the top
  // logit, so total >= 1.
  weights.resize(vocab);
  double total = 0;
  if (maxLogit == std::numeric_limits<float>::infinity()) {
    for (int64_t i = 0; i < vocab; ++i)
      total += weights[i] = logits[i] == maxLogit ? 1.0 : 0.0;
  } else {
    const double maxValue = maxLogit;
    for (int64_t i = 0; i < vocab; ++i) {
      double logit = logits[i];
      // -inf and NaN get weight 0 (NaN > -inf is false). The difference is
      // exact in double and <= 0; a tiny temperature may make the quotient
      // -inf, whose exp is 0, while the top token keeps 0 / T = 0.
      double w = logit > -inf
                     ? std::exp((logit - maxValue) / options.temperature)
                     : 0.0;
      weights[i] = w;
      total += w;
    }
  }

  const bool useTopK = options.topK > 0 && options.topK < vocab;
  const bool useTopP = options.topP < 1;

  if (!useTopK && !useTopP) {
    // Inverse CDF in index order. The first token whose cumulative weight
    // exceeds the target has a positive weight; rounding may leave the
    // target at or above the final sum, then the last positive token wins.
    const double target = u * total;
    double cumulative = 0;
    int64_t lastPositive = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      if (weights[i] == 0)
        continue;
      cumulative += weights[i];
      if (cumulative > target)
        return static_cast<int32_t>(i);
      lastPositive = i;
    }
    return static_cast<int32_t>(lastPositive);
  }

  // Ranking: higher logit first, lower index first among equal logits. A
  // strict total order, so the selection and the sorted order below do not
  // depend on the standard library's algorithms.
  auto ranksBefore = [logits](int32_t a, int32_t b) {
    if (logits[a] != logits[b])
      return logits[a] > logits[b];
    return a < b;
  };

  // Candidates: tokens with a positive weight (never NaN or -inf). With
  // top-p alone, tokens that cannot be in the nucleus are dropped up front
  // so that only the rest is sorted: a token of probability q is needed only
  // if the tokens ranked above it hold less than p, i.e. the at most V tokens
  // ranked at or below it, each of probability <= q, hold more than 1 - p,
  // so q > (1 - p) / V. The factor 1/2 leaves a wide margin for rounding.
  // The dropped tokens are the tail of the ranking, since the weight is
  // nondecreasing in the logit.
  double threshold = 0;
  if (useTopP && !useTopK)
    threshold = 0.5 * (1 - options.topP) * total / static_cast<double>(vocab);
  candidates.clear();
  candidates.reserve(vocab);
  for (int64_t i = 0; i < vocab; ++i)
    if (weights[i] > threshold)
      candidates.push_back(static_cast<int32_t>(i));
  assert(!candidates.empty() && "the top token has weight 1");

  if (useTopK && static_cast<int64_t>(candidates.size()) > options.topK) {
    std::nth_element(candidates.begin(), candidates.begin() + options.topK,
                     candidates.end(), ranksBefore);
    candidates.resize(options.topK);
  }
  std::sort(candidates.begin(), candidates.end(), ranksBefore);

  // Mass of the distribution that top-p applies to: what top-k kept, or all
  // tokens when top-k is off (the dropped tail counts there).
  size_t kept = candidates.size();
  double keptMass = 0;
  if (useTopK) {
    for (int32_t token : candidates)
      keptMass += weights[token];
  } else {
    keptMass = total;
  }
  if (useTopP) {
    const double target = options.topP * keptMass;
    double cumulative = 0;
    for (size_t j = 0; j < candidates.size(); ++j) {
      cumulative += weights[candidates[j]];
      if (cumulative >= target) {
        kept = j + 1;
        break;
      }
    }
    // If rounding kept the sum below the target, every candidate stays.
    keptMass = 0;
    for (size_t j = 0; j < kept; ++j)
      keptMass += weights[candidates[j]];
  }

  // Inverse CDF in ranking order over the kept prefix (all weights > 0).
  const double target = u * keptMass;
  double cumulative = 0;
  for (size_t j = 0; j < kept; ++j) {
    cumulative += weights[candidates[j]];
    if (cumulative > target)
      return candidates[j];
  }
  return candidates[kept - 1];
}
