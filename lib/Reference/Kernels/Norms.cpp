//===- Norms.cpp - Reference timestep, RMS and layer norms ----------------===//
//
// fp64 versions of the norms of MODEL.md sections 3 and 4, written as the
// literal formulas.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include <cassert>
#include <cmath>

using namespace megalodon;
using ref::TsnState;

namespace {

/// Population mean and variance of `n` contiguous values. Two passes, so the
/// variance is free of the E[x^2] - mean^2 cancellation.
struct Moments {
  double mean;
  double var;
};

Moments moments(const double *x, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sum += x[j];
  double mean = sum / double(n);
  double sq = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sq += (x[j] - mean) * (x[j] - mean);
  return {mean, sq / double(n)};
}

/// Mean of the squares of `n` contiguous values (e_t of MODEL.md section 4).
double meanOfSquares(const double *x, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sum += x[j] * x[j];
  return sum / double(n);
}

/// Writes the features [begin, begin + size) of one time step normalized by
/// the given statistics, with the affine transform (weight + 1, bias). A null
/// weight or bias stands for zeros.
void normalizeFeatures(const double *x, const double *weight,
                       const double *bias, int64_t begin, int64_t size,
                       double mean, double var, double eps, double *y) {
  double invStd = 1.0 / std::sqrt(var + eps);
  for (int64_t j = begin; j < begin + size; ++j) {
    double scale = weight ? weight[j] + 1.0 : 1.0;
    double shift = bias ? bias[j] : 0.0;
    y[j] = (x[j] - mean) * invStd * scale + shift;
  }
}

void checkState(const TsnState &state, int64_t B, int64_t G) {
  (void)state;
  (void)B;
  (void)G;
  assert(int64_t(state.count.size()) == B && "TSN count must be [B]");
  assert(int64_t(state.mean.size()) == B * G && "TSN mean must be [B,G]");
  assert(int64_t(state.var.size()) == B * G && "TSN var must be [B,G]");
}

} // namespace

TsnState TsnState::fresh(int64_t batch, int64_t groups) {
  TsnState state;
  state.count.assign(batch, 0);
  state.mean.assign(batch * groups, 0.0);
  // exp(prior_logv) with prior_logv = 0.
  state.var.assign(batch * groups, 1.0);
  return state;
}

void ref::timestepNorm(const double *x, const double *weight,
                       const double *bias, int64_t B, int64_t L, int64_t D,
                       int64_t G, double eps, TsnState &state, double *y) {
  assert(G > 0 && D % G == 0 && "D must be divisible by G");
  checkState(state, B, G);
  const int64_t s = D / G;
  for (int64_t b = 0; b < B; ++b) {
    int64_t &n = state.count[b];
    double *m = &state.mean[b * G];
    double *v = &state.var[b * G];
    for (int64_t t = 0; t < L; ++t) {
      const double *xt = x + (b * L + t) * D;
      double *yt = y + (b * L + t) * D;
      // The count is in time steps: one increment per step, shared by all
      // groups of the row.
      ++n;
      const double c = 1.0 / double(n);
      for (int64_t g = 0; g < G; ++g) {
        Moments step = moments(xt + g * s, s);
        double delta = step.mean - m[g];
        m[g] = m[g] + c * delta;
        v[g] = (1.0 - c) * v[g] + c * step.var + c * (1.0 - c) * delta * delta;
        // The output uses the statistics after absorbing step t.
        normalizeFeatures(xt, weight, bias, g * s, s, m[g], v[g], eps, yt);
      }
    }
  }
}

void ref::timestepNormClosedForm(const double *x, const double *weight,
                                 const double *bias, int64_t B, int64_t L,
                                 int64_t D, int64_t G, double eps,
                                 TsnState &state, double *y) {
  assert(G > 0 && D % G == 0 && "D must be divisible by G");
  checkState(state, B, G);
  const int64_t s = D / G;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n0 = state.count[b];
    for (int64_t g = 0; g < G; ++g) {
      const double m0 = state.mean[b * G + g];
      const double v0 = state.var[b * G + g];
      // Running sums S1 = n0*m0 + sum mu and S2 = n0*(v0 + m0^2) + sum e: the
      // prior enters as n0 pseudo-steps with mean m0 and second moment
      // v0 + m0^2.
      double sumMean = double(n0) * m0;
      double sumSquare = double(n0) * (v0 + m0 * m0);
      double m = m0, v = v0;
      for (int64_t t = 0; t < L; ++t) {
        const double *xt = x + (b * L + t) * D;
        double *yt = y + (b * L + t) * D;
        sumMean += moments(xt + g * s, s).mean;
        sumSquare += meanOfSquares(xt + g * s, s);
        const double nt = double(n0 + t + 1);
        m = sumMean / nt;
        v = sumSquare / nt - m * m;
        normalizeFeatures(xt, weight, bias, g * s, s, m, v, eps, yt);
      }
      state.mean[b * G + g] = m;
      state.var[b * G + g] = v;
    }
    state.count[b] = n0 + L;
  }
}

void ref::rmsNorm(const double *x, const double *weight, int64_t rows,
                  int64_t width, int64_t groups, double eps, double *y) {
  assert(groups > 0 && width % groups == 0 &&
         "width must be divisible by groups");
  const int64_t s = width / groups;
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = x + r * width;
    double *yr = y + r * width;
    for (int64_t g = 0; g < groups; ++g) {
      double invRms = 1.0 / std::sqrt(meanOfSquares(xr + g * s, s) + eps);
      for (int64_t j = g * s; j < (g + 1) * s; ++j) {
        double scale = weight ? weight[j] + 1.0 : 1.0;
        yr[j] = xr[j] * invRms * scale;
      }
    }
  }
}

void ref::layerNorm(const double *x, const double *weight, const double *bias,
                    int64_t rows, int64_t width, double eps, double *y) {
  for (int64_t r = 0; r < rows; ++r) {
    Moments row = moments(x + r * width, width);
    normalizeFeatures(x + r * width, weight, bias, 0, width, row.mean, row.var,
                      eps, y + r * width);
  }
}
