//===- Parameters.h - Named parameters, initialization, checks --*- C++ -*-===//
//
// The tensors of a model in the reference implementation's state_dict naming
// and order (MODEL.md section 2), their seeded initialization (section 10),
// and the check of a loaded weights file against a config.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_MODEL_PARAMETERS_H
#define MEGALODON_MODEL_PARAMETERS_H

#include "megalodon/Model/Config.h"
#include "megalodon/runtime/HostTensor.h"
#include "megalodon/runtime/Status.h"

#include <string>
#include <vector>

namespace megalodon {

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  /// Buffers (rope.freqs, timestep-norm prior_*) carry no gradient.
  bool trainable = true;
  /// With share_emb, output.output.weight aliases embed.weight.
  std::string aliasOf;
};

/// Every tensor of the model in state_dict order, buffers included.
std::vector<ParamSpec> parameterSpecs(const ModelConfig &config);

/// Number of trainable scalars (shared weights counted once).
int64_t countTrainableParameters(const ModelConfig &config);

/// Seeded initialization per MODEL.md section 10, every tensor of
/// parameterSpecs in fp32 (buffers: prior_count I64, others F32). The same
/// config and seed always give the same bytes.
rt::TensorMap initializeParameters(const ModelConfig &config, uint64_t seed);

/// Checks that `weights` holds exactly the config's tensors with the right
/// shapes and dtypes (F32 or BF16 for parameters; buffers F32, BF16, F64 or
/// I64), that shared weights are equal, and that prior_count is 0. Names the
/// tensor. The config itself is validated first.
rt::Status checkParameters(const ModelConfig &config,
                           const rt::TensorMap &weights);

} // namespace megalodon

#endif // MEGALODON_MODEL_PARAMETERS_H
