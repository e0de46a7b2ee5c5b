//===- Flops.h - Floating-point operation counts of a model -----*- C++ -*-===//
//
// The FLOP model used by benchmarks to turn time into GFLOP/s. Counting
// rules (multiply and add count as two FLOPs):
//   - linear layers, output head included: 2 * rows * in * out;
//   - attention: causal pairs only, c(c+1)/2 per chunk of c tokens and head,
//     times 2 * (dz + dv) for the scores and the weighted sum;
//   - CEMA: 12 per (token, channel, state): the complex state update
//     (p*u + q*h: 8) and its share of Re(sum gamma*h) (4);
//   - norms, activations and the loss are not counted (O(L*D) work).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_MODEL_FLOPS_H
#define MEGALODON_MODEL_FLOPS_H

#include "megalodon/Model/Config.h"

namespace megalodon {

struct FlopCount {
  double linear = 0, attention = 0, cema = 0;
  double total() const { return linear + attention + cema; }
};

/// FLOPs of one @forward call on `batch` sequences of `length` tokens.
FlopCount forwardFlops(const ModelConfig &config, int64_t batch,
                       int64_t length);

} // namespace megalodon

#endif // MEGALODON_MODEL_FLOPS_H
