//===- TinyConfig.h - The worked-example model configuration ----*- C++ -*-===//
//
// The tiny configuration of MODEL.md section 2, shared by the tests of
// unittests/Model and unittests/Integration. Header-only, so that a test
// target needs nothing beyond MegalodonModelConfig to use it.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_UNITTESTS_COMMON_TINYCONFIG_H
#define MEGALODON_UNITTESTS_COMMON_TINYCONFIG_H

#include "megalodon/Model/Config.h"

namespace megalodon::testing {

/// The worked-example configuration of MODEL.md section 2 (vocab 256).
inline ModelConfig tinyConfig() {
  ModelConfig c;
  c.num_layers = 2;
  c.model_dim = 64;
  c.z_dim = 32;
  c.value_dim = 128;
  c.num_heads = 2;
  c.ffn_hidden_dim = 128;
  c.cema_ndim = 4;
  c.chunk_size = 16;
  c.norm_num_groups = 4;
  c.vocab_size = 256;
  return c;
}

} // namespace megalodon::testing

#endif // MEGALODON_UNITTESTS_COMMON_TINYCONFIG_H
