//===- Attention.cpp - Reference rotary embedding and chunked attention ---===//
//
// fp64 versions of MODEL.md sections 6 and 7: rotary position embedding,
// chunked causal softmax attention over [cache ; new] keys, and the KV cache
// update of streaming inference.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;

void ref::rotary(double *x, int64_t B, int64_t L, int64_t H, int64_t dh,
                 double base, int64_t offset, int64_t chunk) {
  assert(dh % 2 == 0 && "rotary needs an even head width");
  assert(chunk > 0 && offset >= 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i) {
      // Positions restart at 0 in every chunk.
      const double pos = double((offset + i) % chunk);
      for (int64_t head = 0; head < H; ++head) {
        double *vec = x + ((b * L + i) * H + head) * dh;
        for (int64_t j = 0; j < dh / 2; ++j) {
          const double invFreq = std::pow(base, -2.0 * double(j) / double(dh));
          const double angle = pos * invFreq;
          const double cosA = std::cos(angle), sinA = std::sin(angle);
          // (x0 + i x1) * (cos + i sin).
          const double x0 = vec[2 * j], x1 = vec[2 * j + 1];
          vec[2 * j] = x0 * cosA - x1 * sinA;
          vec[2 * j + 1] = x0 * sinA + x1 * cosA;
        }
      }
    }
  }
}

void ref::chunkAttention(const double *q, const double *k, const double *v,
                         const double *kCache, const double *vCache,
                         int64_t cacheLen, int64_t B, int64_t L, int64_t H,
                         int64_t dz, int64_t dv, int64_t C, double *out) {
  assert(C > 0 && cacheLen >= 0 && cacheLen <= C);
  assert((cacheLen == 0 || (kCache && vCache)) && "cache rows are read");
  const int64_t Zw = H * dz, Ew = H * dv;
  std::vector<double> weights;
  for (int64_t b = 0; b < B; ++b) {
    // Stream position s lives in the cache when s < cacheLen, otherwise in
    // row s - cacheLen of the new tokens.
    auto keyAt = [&](int64_t s, int64_t head) {
      return s < cacheLen ? kCache + (b * C + s) * Zw + head * dz
                          : k + (b * L + s - cacheLen) * Zw + head * dz;
    };
    auto valueAt = [&](int64_t s, int64_t head) {
      return s < cacheLen ? vCache + (b * C + s) * Ew + head * dv
                          : v + (b * L + s - cacheLen) * Ew + head * dv;
    };
    for (int64_t head = 0; head < H; ++head) {
      for (int64_t i = 0; i < L; ++i) {
        const int64_t pos = cacheLen + i;
        // Keys from the start of this query's chunk up to the query itself:
        // no attention across chunks, causal inside one.
        const int64_t first = pos - pos % C;
        const double *qi = q + (b * L + i) * Zw + head * dz;
        weights.assign(pos - first + 1, 0.0);
        for (int64_t s = first; s <= pos; ++s) {
          const double *ks = keyAt(s, head);
          double score = 0.0;
          for (int64_t e = 0; e < dz; ++e)
            score += qi[e] * ks[e];
          weights[s - first] = score;
        }
        // Subtracting the maximum keeps exp() in range without changing the
        // softmax.
        const double maxScore =
            *std::max_element(weights.begin(), weights.end());
        double total = 0.0;
        for (double &w : weights) {
          w = std::exp(w - maxScore);
          total += w;
        }
        for (double &w : weights)
          w /= total;

        double *oi = out + (b * L + i) * Ew + head * dv;
        std::fill(oi, oi + dv, 0.0);
        for (int64_t s = first; s <= pos; ++s) {
          const double *vs = valueAt(s, head);
          for (int64_t e = 0; e < dv; ++e)
            oi[e] += weights[s - first] * vs[e];
        }
      }
    }
  }
}

int64_t ref::kvCacheUpdate(double *kCache, double *vCache, int64_t cacheLen,
                           const double *k, const double *v, int64_t B,
                           int64_t L, int64_t Zw, int64_t Ew, int64_t C) {
  assert(C > 0 && cacheLen >= 0 && cacheLen <= C);
  const int64_t total = cacheLen + L;
  const int64_t kept = total % C;
  const int64_t first = total - kept;
  // Build the new cache apart: its rows may come from the old cache, which
  // is overwritten.
  std::vector<double> newK(B * C * Zw, 0.0), newV(B * C * Ew, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t r = 0; r < kept; ++r) {
      const int64_t s = first + r;
      const double *srcK = s < cacheLen ? kCache + (b * C + s) * Zw
                                        : k + (b * L + s - cacheLen) * Zw;
      const double *srcV = s < cacheLen ? vCache + (b * C + s) * Ew
                                        : v + (b * L + s - cacheLen) * Ew;
      std::copy(srcK, srcK + Zw, newK.begin() + (b * C + r) * Zw);
      std::copy(srcV, srcV + Ew, newV.begin() + (b * C + r) * Ew);
    }
  }
  std::copy(newK.begin(), newK.end(), kCache);
  std::copy(newV.begin(), newV.end(), vCache);
  return kept;
}
