//===- Flops.cpp - Floating-point operation counts of a model -------------===//

#include "megalodon/Model/Flops.h"

#include <algorithm>

namespace megalodon {

FlopCount forwardFlops(const ModelConfig &c, int64_t batch, int64_t length) {
  double tokens = static_cast<double>(batch) * length;
  double D = c.model_dim, Z = c.z_dim, E = c.value_dim, F = c.ffn_hidden_dim;
  double N = c.cema_ndim;
  // Per token and layer: wz, wv, wr, wh1, wh2, fc1, fc2 (+ fc3).
  double macs = D * Z + 2 * D * E + D * D + E * D + 2 * D * F +
                (c.swiglu ? D * F : 0);
  FlopCount count;
  count.linear = 2 * tokens * (c.num_layers * macs + D * c.outputSize());
  count.cema = 12 * tokens * D * N * c.num_layers;
  int64_t chunk = std::min(length, c.chunk_size);
  double pairsPerChunk = 0.5 * chunk * (chunk + 1);
  double chunks = static_cast<double>(batch) * (length / chunk);
  count.attention = chunks * pairsPerChunk * 2 * (Z + E) * c.num_layers;
  return count;
}

} // namespace megalodon
