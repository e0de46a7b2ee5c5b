//===- Sampler.h - Next-token sampling for megalodon-run --------*- C++ -*-===//
//
// Picks the next token from the fp32 logits of one position. Plain C++ with no
// dependency on the rest of the project, so that it can be tested on its own.
//
// Semantics of Sampler::sample(logits, V):
//
//  * Non-finite logits. A NaN logit is treated as -inf: such a token has
//    probability 0 and is never chosen. If some logits are +inf, the
//    distribution is the limit of the softmax: uniform over the +inf tokens.
//    If every logit is -inf or NaN, no token has positive probability and the
//    result is 0.
//
//  * temperature == 0: greedy. The token with the largest logit, the lowest
//    index among equal logits. No randomness is consumed, so the seed does
//    not matter.
//
//  * temperature > 0: one uniform double is drawn from the generator on every
//    call, whatever the logits (even when the outcome is forced), so that the
//    n-th call always uses the n-th draw. Then:
//     1. p_i = softmax(logits / T)_i, computed in double and stably:
//        w_i = exp((logit_i - max) / T), p_i = w_i / sum_j w_j.
//     2. Tokens are ranked by logit, highest first, the lower index first
//        among equal logits. This is the ranking by probability, but it stays
//        exact where nearly equal probabilities round to the same double.
//     3. top-k (topK > 0): keep the first k tokens of the ranking.
//     4. top-p (topP < 1), applied to the distribution renormalized over what
//        top-k kept: keep the shortest prefix of the ranking whose cumulative
//        probability is >= p. It holds at least one token.
//     5. Renormalize over the kept tokens and invert the cumulative
//        distribution at the drawn u in [0, 1): the chosen token is the first
//        one whose cumulative weight exceeds u * (total kept weight). Tokens
//        are walked in index order when neither top-k nor top-p is active,
//        otherwise in ranking order.
//    Tokens whose weight underflows to 0 are never chosen.
//    With k = 1, or with p at most the probability of the top token, the
//    result is the greedy token, at any temperature.
//
// Reproducibility: the generator is SplitMix64 and the conversion to a double
// is defined below, so the same seed gives the same stream of doubles on
// every platform, and all sums are taken in a fixed order. The one part that
// is left to the platform is std::exp, whose last bit may differ between C
// libraries; a different token can then come out only when u falls within
// that rounding of a cumulative boundary.
//
// sample() allocates only to grow its reusable buffers, i.e. not at all once
// it has seen the largest vocabulary it will be called with.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_TOOLS_MEGALODON_RUN_SAMPLER_H
#define MEGALODON_TOOLS_MEGALODON_RUN_SAMPLER_H

#include <cstdint>
#include <string>
#include <vector>

namespace megalodon::tool {

struct SamplingOptions {
  /// 0 selects greedy decoding; otherwise the softmax temperature. Must be
  /// finite and >= 0.
  double temperature = 1.0;
  /// Keep only the topK most probable tokens; 0 disables top-k. Must be >= 0.
  int64_t topK = 0;
  /// Nucleus sampling threshold, in (0, 1]; 1 disables top-p.
  double topP = 1.0;
  /// Seed of the random generator.
  uint64_t seed = 0;
};

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a 64-bit state advanced by a Weyl sequence and
/// passed through a mixing function. Its output is fully specified, unlike
/// that of the standard library's distributions.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}

  /// The next 64 random bits.
  uint64_t next();

  /// A double uniform in [0, 1): the top 53 bits of next() times 2^-53.
  double nextDouble();

private:
  uint64_t state;
};

class Sampler {
public:
  /// The options must be valid (see validate()).
  explicit Sampler(SamplingOptions options);

  /// Returns the index of the chosen token, in [0, vocab). `logits` holds
  /// `vocab` values, 0 < vocab <= INT32_MAX. See the file comment for the
  /// exact semantics.
  int32_t sample(const float *logits, int64_t vocab);

  /// Checks that temperature is finite and >= 0, topK >= 0 and
  /// 0 < topP <= 1. Returns a message naming the first bad option, or an
  /// empty string when the options are valid.
  static std::string validate(const SamplingOptions &options);

  const SamplingOptions &getOptions() const { return options; }

private:
  int32_t sampleGreedy(const float *logits, int64_t vocab) const;

  SamplingOptions options;
  SplitMix64 rng;
  /// Unnormalized probabilities w_i of the current call.
  std::vector<double> weights;
  /// Candidate token indices of the current call, when top-k or top-p is on.
  std::vector<int32_t> candidates;
};

} // namespace megalodon::tool

#endif // MEGALODON_TOOLS_MEGALODON_RUN_SAMPLER_H
