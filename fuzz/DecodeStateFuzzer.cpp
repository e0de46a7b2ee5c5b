//===- DecodeStateFuzzer.cpp - Fuzz the decoding state loader -------------===//
//
// StreamingModel::loadState reads a safetensors file and hands it to
// validateDecodeState before any of it reaches compiled code, which reads
// the state tensors without further checks. This target runs the same two
// steps on in-memory bytes against one small fixed config (the seeds in
// test/fuzz/decode-state carry it in their metadata) and checks that an
// accepted state has exactly the tensors, shapes and logits the model needs.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/Model/DecodeState.h"
#include "megalodon/runtime/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace megalodon;

/// Small enough that a whole state (about 600 bytes of tensors) fits in an
/// input libFuzzer mutates quickly. test/fuzz/generate-seeds.py writes the
/// same config.
static ModelConfig fuzzConfig() {
  ModelConfig c;
  c.num_layers = 1;
  c.model_dim = 8;
  c.z_dim = 4;
  c.value_dim = 8;
  c.num_heads = 1;
  c.ffn_hidden_dim = 8;
  c.cema_ndim = 2;
  c.chunk_size = 4;
  c.norm_num_groups = 2;
  c.vocab_size = 16;
  return c;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const ModelConfig config = [] {
    ModelConfig c = fuzzConfig();
    FUZZ_CHECK(!validateModelConfig(c));
    return c;
  }();

  rt::TensorMap tensors;
  std::map<std::string, std::string> metadata;
  if (!rt::parseSafetensors(data, size, "fuzz", tensors, &metadata))
    return 0;
  DecodeState state;
  if (llvm::Error err =
          validateDecodeState(config, tensors, metadata, "fuzz", state)) {
    FUZZ_CHECK(!llvm::toString(std::move(err)).empty());
    FUZZ_CHECK(state.tensors.empty() && state.lastLogits.empty());
    return 0;
  }

  std::vector<StateSpec> specs = decodeStateSpecs(config, 1);
  FUZZ_CHECK(state.tensors.size() == specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const rt::HostTensor &t = state.tensors[i];
    FUZZ_CHECK(t.dtype == stateDType(specs[i]));
    FUZZ_CHECK(t.shape == specs[i].shape);
    FUZZ_CHECK(t.bytes.size() ==
               static_cast<size_t>(t.numel()) * rt::dtypeSize(t.dtype));
  }
  FUZZ_CHECK(state.lastLogits.empty() ||
             static_cast<int64_t>(state.lastLogits.size()) ==
                 config.outputSize());
  FUZZ_CHECK(state.position >= 0);
  int64_t cacheLen;
  std::memcpy(&cacheLen, state.tensors[0].bytes.data(), sizeof(cacheLen));
  FUZZ_CHECK(cacheLen == state.position % config.chunk_size);
  return 0;
}
