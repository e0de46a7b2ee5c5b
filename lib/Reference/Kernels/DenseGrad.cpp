//===- DenseGrad.cpp - Reference backward of dense ops and loss -----------===//
//
// fp64 vector-Jacobian products of linear, silu, the embedding gather and the
// mean cross-entropy loss.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Gradients.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace megalodon;

void ref::linearBackward(const double *x, const double *w, int64_t rows,
                         int64_t in, int64_t out, const double *gy, double *gx,
                         double *gw, double *gb) {
  // gx = gy . w
  if (gx) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < in; ++i) {
        double sum = 0.0;
        for (int64_t o = 0; o < out; ++o)
          sum += gy[r * out + o] * w[o * in + i];
        gx[r * in + i] = sum;
      }
    }
  }
  // gw = gy^T . x
  if (gw) {
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i) {
        double sum = 0.0;
        for (int64_t r = 0; r < rows; ++r)
          sum += gy[r * out + o] * x[r * in + i];
        gw[o * in + i] = sum;
      }
    }
  }
  // gb = column sums of gy
  if (gb) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0.0;
      for (int64_t r = 0; r < rows; ++r)
        sum += gy[r * out + o];
      gb[o] = sum;
    }
  }
}

void ref::siluBackward(const double *x, int64_t n, const double *gy,
                       double *gx) {
  for (int64_t i = 0; i < n; ++i) {
    const double sig = detail::sigmoid(x[i]);
    gx[i] = gy[i] * sig * (1.0 + x[i] * (1.0 - sig));
  }
}

void ref::embeddingBackward(const int64_t *tokens, int64_t n, int64_t V,
                            int64_t D, const double *gy, double *gTable) {
  std::fill(gTable, gTable + V * D, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    assert(tokens[i] >= 0 && tokens[i] < V && "token out of range");
    double *row = gTable + tokens[i] * D;
    for (int64_t j = 0; j < D; ++j)
      row[j] += gy[i * D + j];
  }
}

void ref::crossEntropyBackward(const double *logits, const int64_t *targets,
                               int64_t rows, int64_t V, double gLoss,
                               double *gLogits) {
  assert(rows > 0 && V > 0);
  const double perRow = gLoss / double(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = logits + r * V;
    double *grow = gLogits + r * V;
    assert(targets[r] >= 0 && targets[r] < V && "target out of range");
    const double maxLogit = *std::max_element(row, row + V);
    double sum = 0.0;
    for (int64_t c = 0; c < V; ++c) {
      grow[c] = std::exp(row[c] - maxLogit);
      sum += grow[c];
    }
    for (int64_t c = 0; c < V; ++c)
      grow[c] = grow[c] / sum * perRow;
    grow[targets[r]] -= perRow;
  }
}
