//===- Attention.cpp - Reference rotary embedding and chunked attention ---===//
//
// fp64 versions of MODEL.md sections 6 and 7: rotary position embedding,
// chunked causal softmax attention over [cache ; new] keys, and the KV cache
// update of streaming inference.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;
using ref::detail::attentionWeights;
using ref::detail::forEachRotaryPair;

void ref::rotary(double *x, int64_t B, int64_t L, int64_t H, int64_t dh,
                 double base, int64_t offset, int64_t chunk) {
  forEachRotaryPair(x, B, L, H, dh, base, offset, chunk,
                    [](double &x0, double &x1, double cosA, double sinA) {
                      // (x0 + i x1) * (cos + i sin).
                      const double r0 = x0 * cosA - x1 * sinA;
                      const double r1 = x0 * sinA + x1 * cosA;
                      x0 = r0;
                      x1 = r1;
                    });
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
        attentionWeights(
            qi, [&](int64_t s) { return keyAt(s, head); }, first, pos, dz,
            weights);

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
