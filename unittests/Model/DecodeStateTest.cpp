//===- DecodeStateTest.cpp - Saved decoding state checks ------------------===//

#include "megalodon/Model/DecodeState.h"

#include "Common/TinyConfig.h"

#include "megalodon/runtime/Safetensors.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace megalodon;
using megalodon::testing::tinyConfig;

namespace {

/// The tensors of a state saved at `position` with `logits` last logits,
/// built the way StreamingModel::saveState builds them.
rt::TensorMap savedState(const ModelConfig &config, int64_t position,
                         std::vector<float> logits) {
  rt::TensorMap tensors;
  for (const StateSpec &spec : decodeStateSpecs(config, 1))
    tensors[spec.name] = rt::HostTensor::zeros(stateDType(spec), spec.shape);
  int64_t cacheLen = position % config.chunk_size;
  std::memcpy(tensors["cache_len"].bytes.data(), &cacheLen, sizeof(cacheLen));
  tensors["last_logits"] =
      rt::HostTensor::fromF32({static_cast<int64_t>(logits.size())}, logits);
  return tensors;
}

/// The error of validating, or "" when the state was accepted.
std::string validationError(const ModelConfig &config, rt::TensorMap tensors,
                            const std::map<std::string, std::string> &metadata,
                            DecodeState &out) {
  llvm::Error err = validateDecodeState(config, tensors, metadata, "s", out);
  return err ? llvm::toString(std::move(err)) : std::string();
}

TEST(DecodeStateTest, AcceptsWhatSaveStateWrites) {
  ModelConfig config = tinyConfig();
  std::vector<float> logits(config.outputSize(), 0.5f);
  rt::TensorMap tensors = savedState(config, 21, logits);
  // Through the file format, as loadState reads it.
  std::vector<uint8_t> image =
      rt::serializeSafetensors(tensors, decodeStateMetadata(config, 21));
  rt::TensorMap read;
  std::map<std::string, std::string> metadata;
  ASSERT_TRUE(
      rt::parseSafetensors(image.data(), image.size(), "s", read, &metadata)
          .ok());
  DecodeState state;
  EXPECT_EQ(validationError(config, read, metadata, state), "");
  std::vector<StateSpec> specs = decodeStateSpecs(config, 1);
  ASSERT_EQ(state.tensors.size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i)
    EXPECT_EQ(state.tensors[i].shape, specs[i].shape) << specs[i].name;
  EXPECT_EQ(state.position, 21);
  EXPECT_EQ(state.lastLogits, logits);
}

TEST(DecodeStateTest, RejectsBadMetadata) {
  ModelConfig config = tinyConfig();
  ModelConfig other = config;
  other.norm_eps = 1e-6;
  struct Case {
    const char *key;
    std::string value;
    const char *message;
  } cases[] = {
      {"format", "pt", "s: not a megalodon decoding state (format 'pt')"},
      {"version", "2", "s: decoding state version '2' is not supported"},
      {"config", "{", "s: bad config in metadata: config: invalid JSON"},
      {"config", modelConfigToJson(other),
       "s: the state was saved for a different model config"},
      {"position", "", "s: bad position ''"},
      {"position", "-16", "s: bad position '-16'"},
      {"position", "16x", "s: bad position '16x'"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(c.key) + " = " + c.value);
    std::map<std::string, std::string> metadata =
        decodeStateMetadata(config, 16);
    metadata[c.key] = c.value;
    DecodeState state;
    std::string error =
        validationError(config, savedState(config, 16, {}), metadata, state);
    EXPECT_EQ(error.rfind(c.message, 0), 0u) << error;
    EXPECT_TRUE(state.tensors.empty());
  }
}

TEST(DecodeStateTest, RejectsBadTensors) {
  ModelConfig config = tinyConfig();
  std::map<std::string, std::string> metadata = decodeStateMetadata(config, 3);
  auto check = [&](rt::TensorMap tensors, const std::string &message) {
    DecodeState state;
    std::string error = validationError(config, tensors, metadata, state);
    EXPECT_EQ(error, message);
    EXPECT_TRUE(state.tensors.empty());
    EXPECT_EQ(state.position, 0);
  };
  rt::TensorMap good = savedState(config, 3, {});
  DecodeState state;
  ASSERT_EQ(validationError(config, good, metadata, state), "");

  rt::TensorMap missing = good;
  missing.erase("layers.1.attn.v_cache");
  check(missing, "s: missing state tensor 'layers.1.attn.v_cache'");

  rt::TensorMap reshaped = good;
  reshaped["layers.0.cema.hx"] =
      rt::HostTensor::zeros(rt::DType::F32, {1, 64, 8});
  check(reshaped, "s: state tensor 'layers.0.cema.hx' is F32 [1, 64, 8], "
                  "expected C64 [1, 64, 4]");

  rt::TensorMap logits = good;
  logits["last_logits"] = rt::HostTensor::zeros(rt::DType::F32, {7});
  check(logits, "s: missing or malformed 'last_logits'");

  rt::TensorMap extra = good;
  extra["layers.2.cema.hx"] = rt::HostTensor::zeros(rt::DType::C64, {1});
  check(extra, "s: unexpected extra tensors");

  check(savedState(config, 4, {}),
        "s: cache length does not match the position");
}

} // namespace
