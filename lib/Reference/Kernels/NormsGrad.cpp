//===- NormsGrad.cpp - Reference backward of the norms --------------------===//
//
// fp64 vector-Jacobian products of the timestep norm (MODEL.md section 9,
// prefix-sum form), the grouped RMS norm and the layer norm.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Gradients.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;
using ref::TsnState;

namespace {

/// Population mean and variance of `n` contiguous values, two passes (the
/// same evaluation as the forward kernels).
void moments(const double *x, int64_t n, double &mean, double &var) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sum += x[j];
  mean = sum / double(n);
  double sq = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sq += (x[j] - mean) * (x[j] - mean);
  var = sq / double(n);
}

/// Effective scale weight + 1 of feature j; a null weight is a zero offset.
double scaleOf(const double *weight, int64_t j) {
  return weight ? weight[j] + 1.0 : 1.0;
}

} // namespace

void ref::timestepNormBackward(const double *x, const double *weight,
                               int64_t B, int64_t L, int64_t D, int64_t G,
                               double eps, const TsnState &initial,
                               const double *gy, const double *gMeanFinal,
                               const double *gVarFinal, double *gx,
                               double *gWeight, double *gBias, double *gMean0,
                               double *gVar0) {
  assert(G > 0 && D % G == 0 && "D must be divisible by G");
  assert(int64_t(initial.count.size()) == B &&
         int64_t(initial.mean.size()) == B * G &&
         int64_t(initial.var.size()) == B * G && "malformed TSN state");
  const int64_t s = D / G;
  if (gWeight)
    std::fill(gWeight, gWeight + D, 0.0);
  if (gBias)
    std::fill(gBias, gBias + D, 0.0);

  // Per-step statistics after absorbing step t, and P_t, Q_t.
  std::vector<double> mean(L), var(L), count(L), P(L), Q(L);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n0 = initial.count[b];
    for (int64_t g = 0; g < G; ++g) {
      const int64_t bg = b * G + g;
      const double m0 = initial.mean[bg], v0 = initial.var[bg];
      const double gmFinal = gMeanFinal ? gMeanFinal[bg] : 0.0;
      const double gvFinal = gVarFinal ? gVarFinal[bg] : 0.0;
      if (L == 0) {
        // The returned state is the carried one.
        if (gMean0)
          gMean0[bg] = gmFinal;
        if (gVar0)
          gVar0[bg] = gvFinal;
        continue;
      }

      // Forward statistics by the Welford update of section 4.
      double m = m0, v = v0;
      for (int64_t t = 0; t < L; ++t) {
        double mu, sigma2;
        moments(x + (b * L + t) * D + g * s, s, mu, sigma2);
        const double n = double(n0 + t + 1);
        const double c = 1.0 / n;
        const double delta = mu - m;
        m = m + c * delta;
        v = (1.0 - c) * v + c * sigma2 + c * (1.0 - c) * delta * delta;
        mean[t] = m;
        var[t] = v;
        count[t] = n;
      }

      // gm_t, gv_t from the output of step t, folded into P_t and Q_t; the
      // affine gradients on the way.
      for (int64_t t = 0; t < L; ++t) {
        const double *xt = x + (b * L + t) * D;
        const double *gyt = gy + (b * L + t) * D;
        const double r = 1.0 / std::sqrt(var[t] + eps);
        double sumG = 0.0, sumGx = 0.0;
        for (int64_t j = g * s; j < (g + 1) * s; ++j) {
          const double Gj = gyt[j] * scaleOf(weight, j);
          const double centred = xt[j] - mean[t];
          sumG += Gj;
          sumGx += Gj * centred;
          if (gBias)
            gBias[j] += gyt[j];
          if (gWeight)
            gWeight[j] += gyt[j] * centred * r;
        }
        const double gm = -r * sumG;
        const double gv = -0.5 * r * r * r * sumGx;
        P[t] = (gm - 2.0 * mean[t] * gv) / count[t];
        Q[t] = gv / count[t];
      }
      // The returned final (m, v) are m_{L-1}, v_{L-1}.
      P[L - 1] += (gmFinal - 2.0 * mean[L - 1] * gvFinal) / count[L - 1];
      Q[L - 1] += gvFinal / count[L - 1];

      // Reverse cumulative sums A_tau = sum_{t>=tau} P_t, Bq_tau likewise.
      double A = 0.0, Bq = 0.0;
      for (int64_t tau = L - 1; tau >= 0; --tau) {
        A += P[tau];
        Bq += Q[tau];
        const double *xt = x + (b * L + tau) * D;
        const double *gyt = gy + (b * L + tau) * D;
        double *gxt = gx + (b * L + tau) * D;
        const double r = 1.0 / std::sqrt(var[tau] + eps);
        for (int64_t j = g * s; j < (g + 1) * s; ++j)
          gxt[j] = gyt[j] * scaleOf(weight, j) * r +
                   (A + 2.0 * xt[j] * Bq) / double(s);
      }
      // A and Bq now hold A_0 and Bq_0. The carried state enters as n0
      // pseudo-steps of mean m0 and second moment v0 + m0^2.
      if (gMean0)
        gMean0[bg] = double(n0) * A + 2.0 * double(n0) * m0 * Bq;
      if (gVar0)
        gVar0[bg] = double(n0) * Bq;
    }
  }
}

void ref::rmsNormBackward(const double *x, const double *weight, int64_t rows,
                          int64_t width, int64_t groups, double eps,
                          const double *gy, double *gx, double *gWeight) {
  assert(groups > 0 && width % groups == 0 &&
         "width must be divisible by groups");
  const int64_t s = width / groups;
  if (!weight)
    gWeight = nullptr;
  if (gWeight)
    std::fill(gWeight, gWeight + width, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = x + r * width;
    const double *gyr = gy + r * width;
    double *gxr = gx + r * width;
    for (int64_t g = 0; g < groups; ++g) {
      double sumSq = 0.0;
      for (int64_t j = g * s; j < (g + 1) * s; ++j)
        sumSq += xr[j] * xr[j];
      const double invRms = 1.0 / std::sqrt(sumSq / double(s) + eps);
      // y_j = x_j * invRms * scale_j with d invRms / d x_k =
      // -invRms^3 * x_k / s.
      double dot = 0.0;
      for (int64_t j = g * s; j < (g + 1) * s; ++j)
        dot += gyr[j] * scaleOf(weight, j) * xr[j];
      const double cubed = invRms * invRms * invRms;
      for (int64_t j = g * s; j < (g + 1) * s; ++j) {
        gxr[j] = gyr[j] * scaleOf(weight, j) * invRms -
                 cubed * xr[j] * dot / double(s);
        if (gWeight)
          gWeight[j] += gyr[j] * xr[j] * invRms;
      }
    }
  }
}

void ref::layerNormBackward(const double *x, const double *weight,
                            int64_t rows, int64_t width, double eps,
                            const double *gy, double *gx, double *gWeight,
                            double *gBias) {
  if (!weight)
    gWeight = nullptr;
  if (gWeight)
    std::fill(gWeight, gWeight + width, 0.0);
  if (gBias)
    std::fill(gBias, gBias + width, 0.0);
  std::vector<double> normalized(width);
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = x + r * width;
    const double *gyr = gy + r * width;
    double *gxr = gx + r * width;
    double mu, var;
    moments(xr, width, mu, var);
    const double invStd = 1.0 / std::sqrt(var + eps);
    // gx = invStd * (G - mean(G) - xhat * mean(G * xhat)), G = gy * scale.
    double meanG = 0.0, meanGx = 0.0;
    for (int64_t j = 0; j < width; ++j) {
      normalized[j] = (xr[j] - mu) * invStd;
      const double Gj = gyr[j] * scaleOf(weight, j);
      meanG += Gj;
      meanGx += Gj * normalized[j];
      if (gWeight)
        gWeight[j] += gyr[j] * normalized[j];
      if (gBias)
        gBias[j] += gyr[j];
    }
    meanG /= double(width);
    meanGx /= double(width);
    for (int64_t j = 0; j < width; ++j)
      gxr[j] = invStd * (gyr[j] * scaleOf(weight, j) - meanG -
                         normalized[j] * meanGx);
  }
}
