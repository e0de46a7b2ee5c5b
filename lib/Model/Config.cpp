//===- Config.cpp - Megalodon model configuration -------------------------===//
//
// Strict JSON parsing of the model configuration. The config decides the
// shapes of every tensor, so a silently ignored typo (say "z_dims") would
// produce a model that loads but is not the one that was asked for; hence
// unknown keys, wrong types and violated constraints are all errors that name
// the key.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Model/Config.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace megalodon;

namespace {

/// Every key the parser accepts, in the order modelConfigToJson writes them.
constexpr const char *kKnownKeys[] = {
    "num_layers",    "model_dim",    "z_dim",
    "value_dim",     "num_heads",    "ffn_hidden_dim",
    "cema_ndim",     "chunk_size",   "norm_num_groups",
    "norm_affine",   "norm_eps",     "rope_base",
    "swiglu",        "rescale_nffn", "scale_emb",
    "share_emb",     "vocab_size",   "output_size",
    "init_mode",     "dropout",      "attention_dropout",
    "hidden_dropout"};

constexpr const char *kInitModes[] = {"he", "bert", "gaussian", "xavier",
                                      "none"};

llvm::Error configError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "config: " + message);
}

/// Reads an integer, accepting integral-valued JSON numbers such as 64.0
/// because Python's json.dump of a float field writes them that way.
llvm::Error readInt(const llvm::json::Object &obj, llvm::StringRef key,
                    int64_t &out) {
  const llvm::json::Value *v = obj.get(key);
  if (!v)
    return llvm::Error::success();
  std::optional<double> asDouble = v->getAsNumber();
  // json::Value::getAsInteger would convert the double 2^63 to int64_t,
  // which overflows; nothing that large is a meaningful size anyway.
  if (asDouble && std::fabs(*asDouble) >= 9223372036854775808.0)
    return configError("key '" + key + "' is out of range");
  if (std::optional<int64_t> i = v->getAsInteger()) {
    out = *i;
    return llvm::Error::success();
  }
  return configError("key '" + key + "' must be an integer");
}

llvm::Error readBool(const llvm::json::Object &obj, llvm::StringRef key,
                     bool &out) {
  const llvm::json::Value *v = obj.get(key);
  if (!v)
    return llvm::Error::success();
  // Only true/false: 0/1 or "true" are almost always a mistake in a config.
  if (std::optional<bool> b = v->getAsBoolean()) {
    out = *b;
    return llvm::Error::success();
  }
  return configError("key '" + key + "' must be a boolean (true or false)");
}

llvm::Error readNumber(const llvm::json::Object &obj, llvm::StringRef key,
                       double &out) {
  const llvm::json::Value *v = obj.get(key);
  if (!v)
    return llvm::Error::success();
  if (std::optional<double> d = v->getAsNumber()) {
    out = *d;
    return llvm::Error::success();
  }
  return configError("key '" + key + "' must be a number");
}

llvm::Error readString(const llvm::json::Object &obj, llvm::StringRef key,
                       std::string &out) {
  const llvm::json::Value *v = obj.get(key);
  if (!v)
    return llvm::Error::success();
  if (std::optional<llvm::StringRef> s = v->getAsString()) {
    out = s->str();
    return llvm::Error::success();
  }
  return configError("key '" + key + "' must be a string");
}

/// Shortest decimal spelling that reads back as the same double, so that
/// 1e-5 is written as "1e-05" instead of "1.0000000000000001e-05", and
/// integral values as "10000.0" rather than "1e+04" (as Python writes them).
std::string formatDouble(double value) {
  char buf[40];
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) {
    std::snprintf(buf, sizeof(buf), "%.1f", value);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value)
      break;
  }
  return buf;
}

} // namespace

llvm::Error megalodon::validateModelConfig(const ModelConfig &config) {
  struct SizeField {
    const char *key;
    int64_t value;
  };
  const SizeField sizes[] = {{"num_layers", config.num_layers},
                             {"model_dim", config.model_dim},
                             {"z_dim", config.z_dim},
                             {"value_dim", config.value_dim},
                             {"num_heads", config.num_heads},
                             {"ffn_hidden_dim", config.ffn_hidden_dim},
                             {"cema_ndim", config.cema_ndim},
                             {"chunk_size", config.chunk_size},
                             {"norm_num_groups", config.norm_num_groups}};
  for (const SizeField &field : sizes)
    if (field.value <= 0)
      return configError("key '" + llvm::Twine(field.key) +
                         "' must be positive, got " + llvm::Twine(field.value));
  // Far above any real model, and low enough that the products of sizes
  // computed from a config (tensor element counts, byte sizes, parameter
  // totals) cannot overflow 64 bits.
  for (const SizeField &field : sizes)
    if (field.value > kMaxConfigSize)
      return configError("key '" + llvm::Twine(field.key) + "' (" +
                         llvm::Twine(field.value) + ") exceeds the limit of " +
                         llvm::Twine(kMaxConfigSize));
  if (config.vocab_size > kMaxConfigSize ||
      config.outputSize() > kMaxConfigSize)
    return configError("key 'vocab_size' or 'output_size' exceeds the limit "
                       "of " +
                       llvm::Twine(kMaxConfigSize));

  // The struct's -1 default means "not given": vocab_size has no default
  // because it belongs to the tokenizer, not to the architecture.
  if (config.vocab_size <= 0)
    return configError("key 'vocab_size' is required and must be positive, "
                       "got " +
                       llvm::Twine(config.vocab_size));
  if (config.output_size != -1 && config.output_size <= 0)
    return configError("key 'output_size' must be -1 (same as vocab_size) or "
                       "positive, got " +
                       llvm::Twine(config.output_size));

  if (config.z_dim % config.num_heads != 0)
    return configError("key 'z_dim' (" + llvm::Twine(config.z_dim) +
                       ") must be divisible by num_heads (" +
                       llvm::Twine(config.num_heads) + ")");
  if (config.value_dim % config.num_heads != 0)
    return configError("key 'value_dim' (" + llvm::Twine(config.value_dim) +
                       ") must be divisible by num_heads (" +
                       llvm::Twine(config.num_heads) + ")");
  // RoPE rotates adjacent pairs of each head's query/key vector.
  if (config.headQKDim() % 2 != 0)
    return configError("key 'z_dim': the per-head width z_dim/num_heads (" +
                       llvm::Twine(config.headQKDim()) + ") must be even");
  if (config.model_dim % config.norm_num_groups != 0)
    return configError(
        "key 'norm_num_groups' (" + llvm::Twine(config.norm_num_groups) +
        ") must divide model_dim (" + llvm::Twine(config.model_dim) + ")");

  // Written as !(x > 0) so that NaN is rejected too.
  if (!(config.norm_eps > 0) || !std::isfinite(config.norm_eps))
    return configError("key 'norm_eps' must be a positive number");
  if (!(config.rope_base > 0) || !std::isfinite(config.rope_base))
    return configError("key 'rope_base' must be null or a positive number");

  if (!llvm::is_contained(kInitModes, llvm::StringRef(config.init_mode)))
    return configError("key 'init_mode' must be one of he, bert, gaussian, "
                       "xavier, none; got '" +
                       config.init_mode + "'");

  const std::pair<const char *, double> dropouts[] = {
      {"dropout", config.dropout},
      {"attention_dropout", config.attention_dropout},
      {"hidden_dropout", config.hidden_dropout}};
  for (const auto &[key, rate] : dropouts)
    if (rate != 0.0)
      return configError("key '" + llvm::Twine(key) +
                         "' must be 0: dropout is not supported");

  if (config.share_emb && config.outputSize() != config.vocab_size)
    return configError("key 'share_emb' requires output_size (" +
                       llvm::Twine(config.outputSize()) +
                       ") to equal vocab_size (" +
                       llvm::Twine(config.vocab_size) + ")");
  return llvm::Error::success();
}

llvm::Expected<ModelConfig> megalodon::parseModelConfig(llvm::StringRef json) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return configError("invalid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *obj = parsed->getAsObject();
  if (!obj)
    return configError("the top level must be a JSON object");

  // json::Object is a hash map; sort the unknown keys so that the reported
  // one does not depend on hashing.
  llvm::SmallVector<std::string> unknown;
  for (const auto &entry : *obj)
    if (!llvm::is_contained(kKnownKeys, llvm::StringRef(entry.first)))
      unknown.push_back(entry.first.str());
  if (!unknown.empty()) {
    llvm::sort(unknown);
    return configError("unknown key '" + unknown.front() + "'");
  }

  ModelConfig config;
  const std::pair<const char *, int64_t *> ints[] = {
      {"num_layers", &config.num_layers},
      {"model_dim", &config.model_dim},
      {"z_dim", &config.z_dim},
      {"value_dim", &config.value_dim},
      {"num_heads", &config.num_heads},
      {"ffn_hidden_dim", &config.ffn_hidden_dim},
      {"cema_ndim", &config.cema_ndim},
      {"chunk_size", &config.chunk_size},
      {"norm_num_groups", &config.norm_num_groups},
      {"vocab_size", &config.vocab_size},
      {"output_size", &config.output_size}};
  for (const auto &[key, field] : ints)
    if (llvm::Error err = readInt(*obj, key, *field))
      return err;

  const std::pair<const char *, bool *> bools[] = {
      {"norm_affine", &config.norm_affine},
      {"swiglu", &config.swiglu},
      {"rescale_nffn", &config.rescale_nffn},
      {"scale_emb", &config.scale_emb},
      {"share_emb", &config.share_emb}};
  for (const auto &[key, field] : bools)
    if (llvm::Error err = readBool(*obj, key, *field))
      return err;

  const std::pair<const char *, double *> numbers[] = {
      {"norm_eps", &config.norm_eps},
      {"dropout", &config.dropout},
      {"attention_dropout", &config.attention_dropout},
      {"hidden_dropout", &config.hidden_dropout}};
  for (const auto &[key, field] : numbers)
    if (llvm::Error err = readNumber(*obj, key, *field))
      return err;

  // The reference default is None, meaning the usual RoPE base of 10000.
  if (const llvm::json::Value *v = obj->get("rope_base")) {
    if (v->getAsNull()) {
      config.rope_base = 10000.0;
    } else if (std::optional<double> d = v->getAsNumber()) {
      config.rope_base = *d;
    } else {
      return configError("key 'rope_base' must be null or a positive number");
    }
  }

  if (llvm::Error err = readString(*obj, "init_mode", config.init_mode))
    return err;

  if (!obj->get("vocab_size"))
    return configError("key 'vocab_size' is required (the tokenizer's "
                       "vocabulary size)");

  if (llvm::Error err = validateModelConfig(config))
    return err;
  return config;
}

llvm::Expected<ModelConfig> megalodon::loadModelConfig(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "config: cannot read '" + path +
                                       "': " + buffer.getError().message());
  llvm::Expected<ModelConfig> config = parseModelConfig((*buffer)->getBuffer());
  if (!config)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": " +
                                       llvm::toString(config.takeError()));
  return config;
}

std::string megalodon::modelConfigToJson(const ModelConfig &config) {
  std::string text;
  llvm::raw_string_ostream os(text);
  {
    llvm::json::OStream out(os, /*IndentSize=*/2);
    auto number = [&](llvm::StringRef key, double value) {
      // JSON has no spelling for NaN or infinity. Only an unvalidated config
      // holds one; null is the nearest legal value.
      if (!std::isfinite(value)) {
        out.attribute(key, nullptr);
        return;
      }
      out.attributeBegin(key);
      out.rawValue(formatDouble(value));
      out.attributeEnd();
    };
    out.object([&] {
      out.attribute("num_layers", config.num_layers);
      out.attribute("model_dim", config.model_dim);
      out.attribute("z_dim", config.z_dim);
      out.attribute("value_dim", config.value_dim);
      out.attribute("num_heads", config.num_heads);
      out.attribute("ffn_hidden_dim", config.ffn_hidden_dim);
      out.attribute("cema_ndim", config.cema_ndim);
      out.attribute("chunk_size", config.chunk_size);
      out.attribute("norm_num_groups", config.norm_num_groups);
      out.attribute("norm_affine", config.norm_affine);
      number("norm_eps", config.norm_eps);
      number("rope_base", config.rope_base);
      out.attribute("swiglu", config.swiglu);
      out.attribute("rescale_nffn", config.rescale_nffn);
      out.attribute("scale_emb", config.scale_emb);
      out.attribute("share_emb", config.share_emb);
      out.attribute("vocab_size", config.vocab_size);
      out.attribute("output_size", config.output_size);
      out.attribute("init_mode", config.init_mode);
      number("dropout", config.dropout);
      number("attention_dropout", config.attention_dropout);
      number("hidden_dropout", config.hidden_dropout);
    });
  }
  text += "\n";
  return text;
}
