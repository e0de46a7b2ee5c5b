//===- DecodeState.cpp - Carried decoding state and its file form ---------===//
//
// A saved state comes from disk, so validateDecodeState treats it as hostile:
// every tensor the model will read is checked for presence, dtype and shape
// before any of its bytes are used.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Model/DecodeState.h"

#include "llvm/ADT/StringRef.h"

#include <cstdlib>
#include <cstring>

namespace megalodon {

namespace {
constexpr const char *kStateFormat = "megalodon-decode-state";
constexpr const char *kStateVersion = "1";

/// The metadata value of `key`, or "" when absent: no check accepts an empty
/// value, so a missing key fails like an empty one.
std::string lookup(const std::map<std::string, std::string> &metadata,
                   const char *key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}
} // namespace

std::vector<StateSpec> decodeStateSpecs(const ModelConfig &cfg, int64_t B) {
  int64_t G = cfg.norm_num_groups, C = cfg.chunk_size;
  std::vector<StateSpec> specs = {{"cache_len", {}, "i64"}};
  auto tsn = [&](const std::string &p) {
    specs.push_back({p + "count", {B}, "i64"});
    specs.push_back({p + "mean", {B, G}, "f32"});
    specs.push_back({p + "var", {B, G}, "f32"});
  };
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    tsn(p + "timenorm.");
    specs.push_back(
        {p + "cema.hx", {B, cfg.model_dim, cfg.cema_ndim}, "complex<f32>"});
    specs.push_back({p + "attn.k_cache", {B, C, cfg.z_dim}, "f32"});
    specs.push_back({p + "attn.v_cache", {B, C, cfg.value_dim}, "f32"});
  }
  tsn("output.final_norm.");
  return specs;
}

std::vector<StateSpec> segmentStateSpecs(const ModelConfig &cfg, int64_t B) {
  std::vector<StateSpec> specs;
  for (StateSpec &spec : decodeStateSpecs(cfg, B)) {
    llvm::StringRef name(spec.name);
    if (name != "cache_len" && !name.ends_with("_cache"))
      specs.push_back(std::move(spec));
  }
  return specs;
}

rt::DType stateDType(const StateSpec &spec) {
  if (spec.elementType == "i64")
    return rt::DType::I64;
  if (spec.elementType == "complex<f32>")
    return rt::DType::C64;
  return rt::DType::F32;
}

rt::HostTensor freshStateTensor(const StateSpec &spec) {
  rt::HostTensor t = rt::HostTensor::zeros(stateDType(spec), spec.shape);
  if (llvm::StringRef(spec.name).ends_with(".var"))
    for (int64_t i = 0; i < t.numel(); ++i)
      t.f32()[i] = 1.0f;
  return t;
}

std::map<std::string, std::string> decodeStateMetadata(const ModelConfig &cfg,
                                                       int64_t position) {
  return {{"format", kStateFormat},
          {"version", kStateVersion},
          {"config", modelConfigToJson(cfg)},
          {"position", std::to_string(position)}};
}

llvm::Error
validateDecodeState(const ModelConfig &cfg, rt::TensorMap &tensors,
                    const std::map<std::string, std::string> &metadata,
                    const std::string &origin, DecodeState &out) {
  auto fail = [&](const std::string &why) {
    return llvm::createStringError(origin + ": " + why);
  };
  std::string format = lookup(metadata, "format");
  if (format != kStateFormat)
    return fail("not a megalodon decoding state (format '" + format + "')");
  std::string version = lookup(metadata, "version");
  if (version != kStateVersion)
    return fail("decoding state version '" + version +
                "' is not supported (expected " + kStateVersion + ")");
  // Configs are compared field by field through their canonical JSON.
  llvm::Expected<ModelConfig> saved =
      parseModelConfig(lookup(metadata, "config"));
  if (!saved)
    return fail("bad config in metadata: " + llvm::toString(saved.takeError()));
  if (modelConfigToJson(*saved) != modelConfigToJson(cfg))
    return fail("the state was saved for a different model config");
  std::string positionText = lookup(metadata, "position");
  char *end = nullptr;
  long long position = std::strtoll(positionText.c_str(), &end, 10);
  if (positionText.empty() || *end != '\0' || position < 0)
    return fail("bad position '" + positionText + "'");

  std::vector<StateSpec> specs = decodeStateSpecs(cfg, 1);
  std::vector<rt::HostTensor> loaded;
  for (const StateSpec &spec : specs) {
    auto it = tensors.find(spec.name);
    if (it == tensors.end())
      return fail("missing state tensor '" + spec.name + "'");
    if (it->second.dtype != stateDType(spec) || it->second.shape != spec.shape)
      return fail("state tensor '" + spec.name + "' is " +
                  rt::dtypeName(it->second.dtype) + " " +
                  rt::shapeToString(it->second.shape) + ", expected " +
                  rt::dtypeName(stateDType(spec)) + " " +
                  rt::shapeToString(spec.shape));
    loaded.push_back(std::move(it->second));
  }
  auto logits = tensors.find("last_logits");
  if (logits == tensors.end() || logits->second.dtype != rt::DType::F32 ||
      logits->second.shape.size() != 1 ||
      (logits->second.shape[0] != 0 &&
       logits->second.shape[0] != cfg.outputSize()))
    return fail("missing or malformed 'last_logits'");
  if (tensors.size() != specs.size() + 1)
    return fail("unexpected extra tensors");
  // cache_len is the first spec: a checked 0-d I64 tensor, 8 bytes.
  int64_t cacheLen;
  std::memcpy(&cacheLen, loaded[0].bytes.data(), sizeof(cacheLen));
  if (cacheLen != position % cfg.chunk_size)
    return fail("cache length does not match the position");

  out.tensors = std::move(loaded);
  const float *l = logits->second.f32();
  out.lastLogits.assign(l, l + logits->second.shape[0]);
  out.position = position;
  return llvm::Error::success();
}

} // namespace megalodon
