//===- DecodeState.h - Carried decoding state and its file form -*- C++ -*-===//
//
// The state @decode_step carries between calls (MODEL.md section 7) and the
// checks a saved state must pass before it replaces a live one. A saved state
// is a safetensors file: one tensor per StateSpec plus `last_logits`, and
// metadata naming the format, its version, the model config and the stream
// position. Needs no MLIR, so that the file checks can be exercised on their
// own.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_MODEL_DECODESTATE_H
#define MEGALODON_MODEL_DECODESTATE_H

#include "megalodon/Model/Config.h"
#include "megalodon/runtime/HostTensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace megalodon {

/// Describes one carried-state tensor of @decode_step, in argument order.
struct StateSpec {
  std::string name;
  std::vector<int64_t> shape;
  /// "i64", "f32" or "complex<f32>".
  std::string elementType;
};

/// The decoding state of a model for a batch size, in @decode_step order:
/// cache_len, then per layer the timestep-norm count/mean/var, the CEMA
/// state, the key and value caches, then the head's timestep-norm state.
std::vector<StateSpec> decodeStateSpecs(const ModelConfig &config,
                                        int64_t batch);

/// The state one segment of a sequence hands to the next in chunk-parallel
/// training (MODEL.md sections 4-5): per layer the timestep-norm
/// count/mean/var and the CEMA state, then the head's timestep-norm state.
/// It is the decoding state without the cache length and the key and value
/// caches, which are empty at the chunk boundaries segments start on.
std::vector<StateSpec> segmentStateSpecs(const ModelConfig &config,
                                         int64_t batch);

/// The host dtype of a state tensor.
rt::DType stateDType(const StateSpec &spec);

/// The state of an empty stream or of a sequence's first segment, one
/// tensor per spec: counts 0, means 0, variances 1 (the timestep-norm
/// priors), CEMA states and caches 0.
rt::HostTensor freshStateTensor(const StateSpec &spec);


/// The metadata a saved state carries for `config` at stream `position`.
std::map<std::string, std::string>
decodeStateMetadata(const ModelConfig &config, int64_t position);

/// A saved state that passed validateDecodeState, ready to be installed.
struct DecodeState {
  /// In decodeStateSpecs(config, 1) order.
  std::vector<rt::HostTensor> tensors;
  /// Empty, or the [outputSize] logits after the last token.
  std::vector<float> lastLogits;
  int64_t position = 0;
};

/// Checks the tensors and metadata of a saved state (batch 1) against
/// `config`: format and version, a config equal to `config`, a non-negative
/// position, exactly the expected tensors with their dtypes and shapes, and
/// a cache length consistent with the position. `origin` starts every
/// message. On success the state tensors are moved from `tensors` into
/// `out`; on failure `out` is untouched.
llvm::Error
validateDecodeState(const ModelConfig &config, rt::TensorMap &tensors,
                    const std::map<std::string, std::string> &metadata,
                    const std::string &origin, DecodeState &out);

} // namespace megalodon

#endif // MEGALODON_MODEL_DECODESTATE_H
