//===- AttentionGrad.cpp - Reference backward of rotary and attention -----===//
//
// fp64 vector-Jacobian products of the rotary embedding, the shared q/k
// projection and chunked causal softmax attention (MODEL.md section 6).
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Gradients.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;
using ref::detail::attentionWeights;
using ref::detail::forEachRotaryPair;

void ref::rotaryBackward(double *g, int64_t B, int64_t L, int64_t H,
                         int64_t dh, double base, int64_t offset,
                         int64_t chunk) {
  forEachRotaryPair(g, B, L, H, dh, base, offset, chunk,
                    [](double &g0, double &g1, double cosA, double sinA) {
                      // The transpose of a rotation by +angle is the rotation
                      // by -angle: (g0 + i g1) * (cos - i sin).
                      const double r0 = g0 * cosA + g1 * sinA;
                      const double r1 = -g0 * sinA + g1 * cosA;
                      g0 = r0;
                      g1 = r1;
                    });
}

void ref::sharedQKBackward(const double *z, const double *gamma, int64_t rows,
                           int64_t Z, int64_t H, const double *gq,
                           const double *gk, double *gz, double *gGamma,
                           double *gBeta) {
  assert(H > 0 && Z % H == 0 && "Z must be divisible by H");
  const double scale = 1.0 / std::sqrt(double(Z / H));
  std::fill(gGamma, gGamma + 2 * Z, 0.0);
  std::fill(gBeta, gBeta + 2 * Z, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < Z; ++j) {
      const int64_t i = r * Z + j;
      gz[i] = gq[i] * (gamma[j] + 1.0) * scale +
              gk[i] * (gamma[Z + j] + 1.0) * scale;
      gGamma[j] += gq[i] * z[i] * scale;
      gGamma[Z + j] += gk[i] * z[i] * scale;
      gBeta[j] += gq[i];
      gBeta[Z + j] += gk[i];
    }
  }
}

void ref::chunkAttentionBackward(const double *q, const double *k,
                                 const double *v, int64_t B, int64_t L,
                                 int64_t H, int64_t dz, int64_t dv, int64_t C,
                                 const double *gOut, double *gq, double *gk,
                                 double *gv) {
  assert(C > 0);
  const int64_t Zw = H * dz, Ew = H * dv;
  std::fill(gq, gq + B * L * Zw, 0.0);
  std::fill(gk, gk + B * L * Zw, 0.0);
  std::fill(gv, gv + B * L * Ew, 0.0);
  std::vector<double> weights, gScore;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t head = 0; head < H; ++head) {
      auto qAt = [&](int64_t s) { return q + (b * L + s) * Zw + head * dz; };
      auto kAt = [&](int64_t s) { return k + (b * L + s) * Zw + head * dz; };
      auto vAt = [&](int64_t s) { return v + (b * L + s) * Ew + head * dv; };
      for (int64_t i = 0; i < L; ++i) {
        const int64_t first = i - i % C;
        const int64_t count = i - first + 1;
        const double *qi = qAt(i);
        const double *go = gOut + (b * L + i) * Ew + head * dv;

        // Recompute the softmax row exactly as the forward does.
        attentionWeights(qi, kAt, first, i, dz, weights);

        // out_i = sum_s P_s v_s: gP_s = gOut_i . v_s, gv_s += P_s gOut_i.
        gScore.assign(count, 0.0);
        double weighted = 0.0;
        for (int64_t s = first; s <= i; ++s) {
          const double *vs = vAt(s);
          double *gvs = gv + (b * L + s) * Ew + head * dv;
          const double P = weights[s - first];
          double gP = 0.0;
          for (int64_t e = 0; e < dv; ++e) {
            gP += go[e] * vs[e];
            gvs[e] += P * go[e];
          }
          gScore[s - first] = gP;
          weighted += P * gP;
        }
        // Softmax backward: gScore_s = P_s (gP_s - sum_t P_t gP_t); then
        // score_s = q_i . k_s.
        double *gqi = gq + (b * L + i) * Zw + head * dz;
        for (int64_t s = first; s <= i; ++s) {
          const double gs = weights[s - first] * (gScore[s - first] - weighted);
          const double *ks = kAt(s);
          double *gks = gk + (b * L + s) * Zw + head * dz;
          for (int64_t e = 0; e < dz; ++e) {
            gqi[e] += gs * ks[e];
            gks[e] += gs * qi[e];
          }
        }
      }
    }
  }
}
