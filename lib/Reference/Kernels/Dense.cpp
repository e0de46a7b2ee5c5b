//===- Dense.cpp - Reference dense layers, activations and loss -----------===//
//
// fp64 versions of the plain operators of MODEL.md section 3: linear layers,
// silu, the embedding gather and the cross-entropy loss.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Reference/Kernels.h"

#include "Common.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace megalodon;

void ref::linear(const double *x, const double *w, const double *b,
                 int64_t rows, int64_t in, int64_t out, double *y) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0.0;
      for (int64_t i = 0; i < in; ++i)
        sum += x[r * in + i] * w[o * in + i];
      y[r * out + o] = sum + (b ? b[o] : 0.0);
    }
  }
}

void ref::silu(const double *x, int64_t n, double *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = x[i] * detail::sigmoid(x[i]);
}

void ref::embedding(const double *table, const int64_t *tokens, int64_t n,
                    int64_t V, int64_t D, double *y) {
  (void)V;
  for (int64_t i = 0; i < n; ++i) {
    assert(tokens[i] >= 0 && tokens[i] < V && "token out of range");
    const double *row = table + tokens[i] * D;
    std::copy(row, row + D, y + i * D);
  }
}

double ref::crossEntropy(const double *logits, const int64_t *targets,
                         int64_t rows, int64_t V) {
  assert(rows > 0 && V > 0);
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = logits + r * V;
    assert(targets[r] >= 0 && targets[r] < V && "target out of range");
    // log sum exp with the maximum factored out, so no exp() overflows.
    const double maxLogit = *std::max_element(row, row + V);
    double sum = 0.0;
    for (int64_t c = 0; c < V; ++c)
      sum += std::exp(row[c] - maxLogit);
    const double logSumExp = maxLogit + std::log(sum);
    total += logSumExp - row[targets[r]];
  }
  return total / double(rows);
}
