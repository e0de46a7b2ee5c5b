//===- AttentionTest.cpp - Tests of reference rotary and attention --------===//
//
// Rotary embedding, chunked attention and the KV cache (MODEL.md sections 6
// and 7): hand-computed cases and the streaming identity.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace megalodon::ref;

namespace {

std::vector<double> uniformVector(size_t n, std::mt19937_64 &rng, double lo,
                                  double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double &e : v)
    e = dist(rng);
  return v;
}

void expectAllNear(const std::vector<double> &actual,
                   const std::vector<double> &expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol) << "at index " << i;
}

/// Rows [begin, begin + len) of every batch row of x [B,L,width].
std::vector<double> sliceRows(const std::vector<double> &x, int64_t B,
                              int64_t L, int64_t width, int64_t begin,
                              int64_t len) {
  std::vector<double> out(B * len * width);
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(&x[(b * L + begin) * width], len * width,
                &out[b * len * width]);
  return out;
}

void storeRows(const std::vector<double> &piece, int64_t B, int64_t L,
               int64_t width, int64_t begin, int64_t len,
               std::vector<double> &x) {
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(&piece[b * len * width], len * width,
                &x[(b * L + begin) * width]);
}

/// Columns [begin, begin + len) of every row of x [rows, width].
std::vector<double> sliceColumns(const std::vector<double> &x, int64_t rows,
                                 int64_t width, int64_t begin, int64_t len) {
  std::vector<double> out(rows * len);
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(&x[r * width + begin], len, &out[r * len]);
  return out;
}

//===----------------------------------------------------------------------===//
// Rotary embedding
//===----------------------------------------------------------------------===//

TEST(RotaryTest, HeadWidthTwoRotatesByThePosition) {
  // dh = 2: the only frequency is base^0 = 1, so the angle is the position.
  // Head 0 holds (1, 0) -> (cos p, sin p); head 1 holds (0.3, -2) ->
  // (0.3 cos p + 2 sin p, 0.3 sin p - 2 cos p).
  const int64_t L = 4, H = 2;
  std::vector<double> x;
  for (int64_t i = 0; i < L; ++i)
    x.insert(x.end(), {1.0, 0.0, 0.3, -2.0});
  rotary(x.data(), 1, L, H, 2, 10000.0, 0, 16);
  for (int64_t i = 0; i < L; ++i) {
    const double p = double(i);
    const double *row = &x[i * H * 2];
    EXPECT_NEAR(row[0], std::cos(p), 1e-15);
    EXPECT_NEAR(row[1], std::sin(p), 1e-15);
    EXPECT_NEAR(row[2], 0.3 * std::cos(p) + 2.0 * std::sin(p), 1e-15);
    EXPECT_NEAR(row[3], 0.3 * std::sin(p) - 2.0 * std::cos(p), 1e-15);
  }
}

TEST(RotaryTest, OffsetWrapsAroundTheChunk) {
  // offset 5, chunk 6: tokens 0, 1, 2 sit at positions 5, 0, 1.
  // dh = 4, base 10000: frequencies 1 and 10000^(-2/4) = 0.01.
  const int64_t B = 2, L = 3, H = 1, dh = 4;
  std::mt19937_64 rng(31);
  const std::vector<double> x = uniformVector(B * L * H * dh, rng, -1, 1);
  std::vector<double> y = x;
  rotary(y.data(), B, L, H, dh, 10000.0, 5, 6);
  const double positions[3] = {5, 0, 1};
  const double freqs[2] = {1.0, 0.01};
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const double angle = positions[i] * freqs[j];
        const int64_t at = (b * L + i) * dh + 2 * j;
        const double x0 = x[at], x1 = x[at + 1];
        EXPECT_NEAR(y[at], x0 * std::cos(angle) - x1 * std::sin(angle), 1e-15);
        EXPECT_NEAR(y[at + 1], x0 * std::sin(angle) + x1 * std::cos(angle),
                    1e-15);
      }
    }
  }
  // Position 0 is the identity.
  for (int64_t e = 0; e < dh; ++e)
    EXPECT_EQ(y[1 * dh + e], x[1 * dh + e]);
}

TEST(RotaryTest, FrequenciesFollowTheBase) {
  // base 100, dh 4: frequencies 1 and 100^(-1/2) = 0.1. Pair 1 of (0, 1) at
  // position 3 becomes (-sin 0.3, cos 0.3).
  std::vector<double> x = {0, 0, 0, 1};
  rotary(x.data(), 1, 1, 1, 4, 100.0, 3, 8);
  EXPECT_NEAR(x[2], -std::sin(0.3), 1e-15);
  EXPECT_NEAR(x[3], std::cos(0.3), 1e-15);
}

//===----------------------------------------------------------------------===//
// Chunked attention
//===----------------------------------------------------------------------===//

TEST(ChunkAttentionTest, SingleTokenReturnsItsValue) {
  // One key: softmax weight 1, whatever the score.
  const int64_t B = 2, H = 2, dz = 4, dv = 3;
  std::mt19937_64 rng(32);
  const std::vector<double> q = uniformVector(B * H * dz, rng, -5, 5);
  const std::vector<double> k = uniformVector(B * H * dz, rng, -5, 5);
  const std::vector<double> v = uniformVector(B * H * dv, rng, -1, 1);
  std::vector<double> out(B * H * dv);
  chunkAttention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, B, 1, H, dz,
                 dv, 8, out.data());
  expectAllNear(out, v, 1e-15);
}

TEST(ChunkAttentionTest, ChunksOfOneReturnTheValues) {
  // C = 1: every token is alone in its chunk, so nothing crosses chunks.
  const int64_t L = 5, dz = 2, dv = 2;
  std::mt19937_64 rng(33);
  const std::vector<double> q = uniformVector(L * dz, rng, -5, 5);
  const std::vector<double> k = uniformVector(L * dz, rng, -5, 5);
  const std::vector<double> v = uniformVector(L * dv, rng, -1, 1);
  std::vector<double> out(L * dv);
  chunkAttention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 1, L, 1, dz,
                 dv, 1, out.data());
  expectAllNear(out, v, 1e-15);
}

/// The two-token case: k0 = (1, 0), k1 = (0, 1), v0 = (4, -4), v1 = (8, 0),
/// and q1 = (0, ln 3). Token 1 scores q1.k0 = 0 and q1.k1 = ln 3 (no
/// 1/sqrt(dz) factor), so its softmax weights are (1/4, 3/4) and its output
/// is (1/4)(4, -4) + (3/4)(8, 0) = (7, -1). Token 0 sees only itself: v0.
struct TwoTokens {
  std::vector<double> q = {5, -3, 0, std::log(3.0)};
  std::vector<double> k = {1, 0, 0, 1};
  std::vector<double> v = {4, -4, 8, 0};
};

TEST(ChunkAttentionTest, TwoTokensHandComputed) {
  TwoTokens t;
  std::vector<double> out(4);
  chunkAttention(t.q.data(), t.k.data(), t.v.data(), nullptr, nullptr, 0, 1, 2,
                 1, 2, 2, 2, out.data());
  expectAllNear(out, {4, -4, 7, -1}, 1e-14);
}

TEST(ChunkAttentionTest, TwoTokensThroughTheCache) {
  // Token 1 alone, with token 0's key and value in the cache: same (7, -1).
  TwoTokens t;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Rows past cacheLen are NaN so that reading them would show.
  std::vector<double> kCache = {1, 0, nan, nan}, vCache = {4, -4, nan, nan};
  std::vector<double> out(2);
  chunkAttention(&t.q[2], &t.k[2], &t.v[2], kCache.data(), vCache.data(), 1, 1,
                 1, 1, 2, 2, 2, out.data());
  expectAllNear(out, {7, -1}, 1e-14);
}

TEST(ChunkAttentionTest, NoAttentionAcrossChunks) {
  // The two-token case repeated: tokens 2 and 3 form a second chunk (C = 2)
  // and must give the same outputs as tokens 0 and 1. Token 2's query would
  // otherwise score large against the first chunk's keys.
  TwoTokens t;
  std::vector<double> q = t.q, k = t.k, v = t.v;
  q[0] = 50.0;
  std::vector<double> q2 = {50, 50, 0, std::log(3.0)};
  q.insert(q.end(), q2.begin(), q2.end());
  k.insert(k.end(), t.k.begin(), t.k.end());
  v.insert(v.end(), t.v.begin(), t.v.end());
  std::vector<double> out(8);
  chunkAttention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 1, 4, 1, 2,
                 2, 2, out.data());
  expectAllNear(out, {4, -4, 7, -1, 4, -4, 7, -1}, 1e-14);
}

TEST(ChunkAttentionTest, LargeScoresAreStable) {
  // Scores 1000 and 1000 + ln 3: exp() would overflow without subtracting
  // the maximum; the weights are still (1/4, 3/4).
  const std::vector<double> q = {0, 0, 1000, std::log(3.0)};
  const std::vector<double> k = {1, 0, 1, 1}, v = {4, -4, 8, 0};
  std::vector<double> out(4);
  chunkAttention(q.data(), k.data(), v.data(), nullptr, nullptr, 0, 1, 2, 1, 2,
                 2, 4, out.data());
  expectAllNear(out, {4, -4, 7, -1}, 1e-12);
}

TEST(ChunkAttentionTest, SeveralHeadsEqualPerHeadAttention) {
  const int64_t B = 2, L = 3, H = 3, dz = 2, dv = 3, C = 4, cacheLen = 1;
  const int64_t Zw = H * dz, Ew = H * dv;
  std::mt19937_64 rng(34);
  const std::vector<double> q = uniformVector(B * L * Zw, rng, -2, 2);
  const std::vector<double> k = uniformVector(B * L * Zw, rng, -2, 2);
  const std::vector<double> v = uniformVector(B * L * Ew, rng, -1, 1);
  std::vector<double> kCache = uniformVector(B * C * Zw, rng, -2, 2);
  std::vector<double> vCache = uniformVector(B * C * Ew, rng, -1, 1);
  // Only the first cacheLen rows may be read.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int64_t b = 0; b < B; ++b) {
    std::fill(&kCache[(b * C + cacheLen) * Zw], &kCache[(b + 1) * C * Zw], nan);
    std::fill(&vCache[(b * C + cacheLen) * Ew], &vCache[(b + 1) * C * Ew], nan);
  }
  std::vector<double> out(B * L * Ew);
  chunkAttention(q.data(), k.data(), v.data(), kCache.data(), vCache.data(),
                 cacheLen, B, L, H, dz, dv, C, out.data());

  for (int64_t h = 0; h < H; ++h) {
    SCOPED_TRACE(h);
    auto qh = sliceColumns(q, B * L, Zw, h * dz, dz);
    auto kh = sliceColumns(k, B * L, Zw, h * dz, dz);
    auto vh = sliceColumns(v, B * L, Ew, h * dv, dv);
    auto kCacheH = sliceColumns(kCache, B * C, Zw, h * dz, dz);
    auto vCacheH = sliceColumns(vCache, B * C, Ew, h * dv, dv);
    std::vector<double> outH(B * L * dv);
    chunkAttention(qh.data(), kh.data(), vh.data(), kCacheH.data(),
                   vCacheH.data(), cacheLen, B, L, 1, dz, dv, C, outH.data());
    expectAllNear(sliceColumns(out, B * L, Ew, h * dv, dv), outH, 1e-15);
  }
}

/// Feeds a whole sequence through rotary + chunkAttention + kvCacheUpdate in
/// the given pieces, rotating q and k of each piece from offset = cacheLen,
/// and checks the outputs against one call over the whole sequence.
void checkStreamingMatchesFull(const std::vector<int64_t> &pieces) {
  const int64_t B = 2, H = 2, dz = 4, dv = 3, C = 8;
  const int64_t Zw = H * dz, Ew = H * dv;
  const double base = 10000.0;
  int64_t L = 0;
  for (int64_t len : pieces)
    L += len;
  std::mt19937_64 rng(35 + L);
  const std::vector<double> q = uniformVector(B * L * Zw, rng, -1.5, 1.5);
  const std::vector<double> k = uniformVector(B * L * Zw, rng, -1.5, 1.5);
  const std::vector<double> v = uniformVector(B * L * Ew, rng, -1, 1);

  std::vector<double> qFull = q, kFull = k, outFull(B * L * Ew);
  rotary(qFull.data(), B, L, H, dz, base, 0, C);
  rotary(kFull.data(), B, L, H, dz, base, 0, C);
  chunkAttention(qFull.data(), kFull.data(), v.data(), nullptr, nullptr, 0, B,
                 L, H, dz, dv, C, outFull.data());

  std::vector<double> kCache(B * C * Zw, 0.0), vCache(B * C * Ew, 0.0);
  std::vector<double> outStream(B * L * Ew);
  int64_t cacheLen = 0, begin = 0;
  for (int64_t len : pieces) {
    std::vector<double> qp = sliceRows(q, B, L, Zw, begin, len);
    std::vector<double> kp = sliceRows(k, B, L, Zw, begin, len);
    std::vector<double> vp = sliceRows(v, B, L, Ew, begin, len);
    rotary(qp.data(), B, len, H, dz, base, cacheLen, C);
    rotary(kp.data(), B, len, H, dz, base, cacheLen, C);
    std::vector<double> outP(B * len * Ew);
    chunkAttention(qp.data(), kp.data(), vp.data(), kCache.data(),
                   vCache.data(), cacheLen, B, len, H, dz, dv, C, outP.data());
    storeRows(outP, B, L, Ew, begin, len, outStream);
    cacheLen = kvCacheUpdate(kCache.data(), vCache.data(), cacheLen, kp.data(),
                             vp.data(), B, len, Zw, Ew, C);
    begin += len;
    EXPECT_EQ(cacheLen, begin % C);
  }
  expectAllNear(outStream, outFull, 1e-12);
}

TEST(ChunkAttentionTest, StreamingInPiecesMatchesTheFullSequence) {
  const int64_t C = 8;
  // 5, C-5, then one token at a time for a chunk, then a whole chunk: 3C.
  std::vector<int64_t> pieces = {5, C - 5};
  pieces.insert(pieces.end(), C, 1);
  pieces.push_back(C);
  {
    SCOPED_TRACE("5, C-5, 1 x C, C");
    checkStreamingMatchesFull(pieces);
  }
  {
    SCOPED_TRACE("2C, 3, 1, C-4");
    checkStreamingMatchesFull({2 * C, 3, 1, C - 4});
  }
  {
    SCOPED_TRACE("1 x 3C");
    checkStreamingMatchesFull(std::vector<int64_t>(3 * C, 1));
  }
  {
    SCOPED_TRACE("C, C, C");
    checkStreamingMatchesFull({C, C, C});
  }
}

//===----------------------------------------------------------------------===//
// KV cache update
//===----------------------------------------------------------------------===//

TEST(KvCacheUpdateTest, EmptiesExactlyAtChunkBoundaries) {
  const int64_t C = 5;
  std::vector<double> kCache(C, 0.0), vCache(C, 0.0);
  int64_t cacheLen = 0;
  for (int64_t t = 0; t < 3 * C; ++t) {
    const double k = double(t), v = -double(t);
    cacheLen = kvCacheUpdate(kCache.data(), vCache.data(), cacheLen, &k, &v, 1,
                             1, 1, 1, C);
    EXPECT_EQ(cacheLen, (t + 1) % C);
    EXPECT_EQ(cacheLen == 0, (t + 1) % C == 0) << "after token " << t;
  }
}

TEST(KvCacheUpdateTest, KeepsTheTailOfTheCurrentChunk) {
  // Token s (stream index) of batch row b has key (100b + s, -s) and value
  // s + 0.5. After each call the cache must hold the last (seen mod C) tokens
  // in order, followed by zero rows.
  const int64_t B = 2, C = 4, Zw = 2, Ew = 1;
  // Start from garbage: the update must clear rows past the kept ones.
  std::vector<double> kCache(B * C * Zw, -7.0), vCache(B * C * Ew, -7.0);
  int64_t cacheLen = 0, seen = 0;
  for (int64_t len : {1, 1, 1, 1, 3, 1, 2, 2, 4, 8, 1, 2, 1, 12, 3}) {
    std::vector<double> k(B * len * Zw), v(B * len * Ew);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < len; ++i) {
        const double s = double(seen + i);
        k[(b * len + i) * Zw] = 100.0 * b + s;
        k[(b * len + i) * Zw + 1] = -s;
        v[b * len + i] = s + 0.5;
      }
    }
    cacheLen = kvCacheUpdate(kCache.data(), vCache.data(), cacheLen, k.data(),
                             v.data(), B, len, Zw, Ew, C);
    seen += len;
    ASSERT_EQ(cacheLen, seen % C) << "after " << seen << " tokens";
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t r = 0; r < C; ++r) {
        const double *kr = &kCache[(b * C + r) * Zw];
        const double vr = vCache[b * C + r];
        if (r < cacheLen) {
          const double s = double(seen - cacheLen + r);
          EXPECT_EQ(kr[0], 100.0 * b + s);
          EXPECT_EQ(kr[1], -s);
          EXPECT_EQ(vr, s + 0.5);
        } else {
          EXPECT_EQ(kr[0], 0.0);
          EXPECT_EQ(kr[1], 0.0);
          EXPECT_EQ(vr, 0.0);
        }
      }
    }
  }
}

} // namespace
