//===- Config.h - Megalodon model configuration -----------------*- C++ -*-===//
//
// The model configuration, with the reference implementation's field names
// and defaults (MODEL.md section 1), parsed from JSON with strict checking:
// an unknown key, a value of the wrong type or a violated constraint is an
// error that names the key.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_MODEL_CONFIG_H
#define MEGALODON_MODEL_CONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace megalodon {

struct ModelConfig {
  int64_t num_layers = 8;
  int64_t model_dim = 1024;
  int64_t z_dim = 256;
  int64_t value_dim = 2048;
  int64_t num_heads = 1;
  int64_t ffn_hidden_dim = 2048;
  int64_t cema_ndim = 16;
  int64_t chunk_size = 2048;
  int64_t norm_num_groups = 32;
  bool norm_affine = true;
  double norm_eps = 1e-5;
  /// JSON null (the reference default) means 10000.
  double rope_base = 10000.0;
  bool swiglu = false;
  bool rescale_nffn = false;
  bool scale_emb = false;
  bool share_emb = false;
  /// Required: set by the tokenizer, not by the architecture.
  int64_t vocab_size = -1;
  /// -1 means vocab_size.
  int64_t output_size = -1;
  /// One of he, bert, gaussian, xavier, none.
  std::string init_mode = "he";
  /// Accepted for compatibility; every rate must be 0 here (no dropout).
  double dropout = 0.0;
  double attention_dropout = 0.0;
  double hidden_dropout = 0.0;

  int64_t headQKDim() const { return z_dim / num_heads; }
  int64_t headValueDim() const { return value_dim / num_heads; }
  int64_t outputSize() const {
    return output_size < 0 ? vocab_size : output_size;
  }
};

/// Parses and validates a JSON config. Errors name the offending key.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef json);

/// Reads and parses a config file; errors name the file too.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

/// Checks the architectural constraints (Z and E divisible by H, dz even,
/// D divisible by G, positive sizes, ...). Errors name the key.
llvm::Error validateModelConfig(const ModelConfig &config);

/// The largest size any config key may have (2^24).
inline constexpr int64_t kMaxConfigSize = int64_t(1) << 24;

/// Serializes every field (pretty-printed JSON, reference field names).
std::string modelConfigToJson(const ModelConfig &config);

} // namespace megalodon

#endif // MEGALODON_MODEL_CONFIG_H
