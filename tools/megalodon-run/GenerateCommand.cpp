//===- GenerateCommand.cpp - megalodon-run generate -----------------------===//
//
// Streams text from a model: the prompt goes through compiled @prefill (whole
// chunks) and @decode_step, then each sampled token is written to stdout as
// soon as it exists and fed back. The decoding state can be saved and
// restored, so a long document or conversation continues later with
// constant memory.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "Sampler.h"

#include "megalodon/Driver/StreamingModel.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::generateCommand("generate",
                                     "Generate text from a model, streaming");

static cl::opt<std::string>
    checkpoint("checkpoint",
               cl::desc("Checkpoint directory (config.json, model.safetensors)"),
               cl::value_desc("dir"), cl::sub(tool::generateCommand));
static cl::opt<std::string> config("config", cl::desc("Model config (JSON)"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::generateCommand));
static cl::opt<std::string> weightsPath("weights",
                                        cl::desc("Weights (safetensors)"),
                                        cl::value_desc("file"),
                                        cl::sub(tool::generateCommand));
static cl::opt<std::string> prompt("p", cl::desc("Prompt text"),
                                   cl::sub(tool::generateCommand));
static cl::opt<std::string> promptFile("f", cl::desc("Prompt file"),
                                       cl::value_desc("file"),
                                       cl::sub(tool::generateCommand));
static cl::opt<int64_t> count("n", cl::desc("Tokens to generate"),
                              cl::init(200), cl::sub(tool::generateCommand));
static cl::opt<double> temperature("temp",
                                   cl::desc("Sampling temperature (0 = greedy)"),
                                   cl::init(1.0),
                                   cl::sub(tool::generateCommand));
static cl::opt<int64_t> topK("top-k", cl::desc("Keep the k most likely (0 = off)"),
                             cl::init(0), cl::sub(tool::generateCommand));
static cl::opt<double> topP("top-p", cl::desc("Nucleus threshold (1 = off)"),
                            cl::init(1.0), cl::sub(tool::generateCommand));
static cl::opt<uint64_t> seed("seed", cl::desc("Sampling seed"), cl::init(0),
                              cl::sub(tool::generateCommand));
static cl::opt<std::string> stateIn("state-in",
                                    cl::desc("Continue from a saved state"),
                                    cl::value_desc("file"),
                                    cl::sub(tool::generateCommand));
static cl::opt<std::string> stateOut("state-out",
                                     cl::desc("Save the final decoding state"),
                                     cl::value_desc("file"),
                                     cl::sub(tool::generateCommand));
static cl::opt<std::string> cacheDir("cache-dir",
                                     cl::desc("Artifact cache directory"),
                                     cl::sub(tool::generateCommand));

namespace {
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Prompt tokens: bytes for a byte-level model (vocabulary 256), otherwise
/// whitespace-separated token ids (or a .bin file of int32 tokens).
llvm::Expected<std::vector<int32_t>> promptTokens(const ModelConfig &cfg) {
  std::string text = prompt;
  if (!promptFile.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(promptFile);
    if (!buffer)
      return llvm::createStringError("cannot read '" + promptFile +
                                     "': " + buffer.getError().message());
    text = (*buffer)->getBuffer().str();
    if (llvm::sys::path::extension(promptFile) == ".bin") {
      if (text.size() % 4)
        return llvm::createStringError(promptFile +
                                       ": size is not a multiple of 4");
      std::vector<int32_t> ids(text.size() / 4);
      std::memcpy(ids.data(), text.data(), text.size());
      return ids;
    }
  }
  std::vector<int32_t> ids;
  if (cfg.vocab_size == 256) {
    for (unsigned char c : text)
      ids.push_back(c);
    return ids;
  }
  llvm::SmallVector<llvm::StringRef> words;
  llvm::StringRef(text).split(words, ' ', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef word : words) {
    int32_t id;
    if (word.trim().getAsInteger(10, id))
      return llvm::createStringError(
          "the model's vocabulary is not bytes: the prompt must be token ids, "
          "got '" + word.str() + "'");
    ids.push_back(id);
  }
  return ids;
}

void emitToken(const ModelConfig &cfg, int32_t token) {
  if (cfg.vocab_size == 256)
    llvm::outs() << static_cast<char>(token);
  else
    llvm::outs() << token << " ";
  llvm::outs().flush();
}
} // namespace

llvm::Error tool::runGenerate() {
  std::string configPath = config, weightsFile = weightsPath;
  if (!checkpoint.empty()) {
    if (!configPath.empty() || !weightsFile.empty())
      return llvm::createStringError(
          "give either --checkpoint or --config with --weights, not both");
    configPath = checkpoint + "/config.json";
    weightsFile = checkpoint + "/model.safetensors";
  }
  if (llvm::Error err = requireFlags(
          {{&configPath, "config (or --checkpoint)"}, {&weightsFile, "weights"}}))
    return err;
  if (count < 0)
    return llvm::createStringError("-n must be >= 0");
  SamplingOptions sampling{temperature, topK, topP, seed};
  std::string bad = Sampler::validate(sampling);
  if (!bad.empty())
    return llvm::createStringError(bad);

  llvm::Expected<ModelConfig> cfg = loadModelConfig(configPath);
  if (!cfg)
    return cfg.takeError();
  llvm::Expected<rt::TensorMap> weights = loadWeights(*cfg, weightsFile);
  if (!weights)
    return weights.takeError();
  llvm::Expected<std::vector<int32_t>> tokens = promptTokens(*cfg);
  if (!tokens)
    return tokens.takeError();

  CpuCompileOptions options;
  options.cacheDir = cacheDir;

  if (llvm::Error err = tool::selectBackend(options))

    return err;
  auto model = StreamingModel::create(*cfg, *weights, options);
  if (!model)
    return model.takeError();
  if (!stateIn.empty())
    if (llvm::Error err = (*model)->loadState(stateIn))
      return err;
  if (tokens->empty() && (*model)->lastLogits().empty())
    return llvm::createStringError(
        "nothing to continue from: give a prompt (-p, -f) or --state-in");

  auto start = Clock::now();
  if (llvm::Error err = (*model)->feed(*tokens))
    return err;
  double prefillSeconds = secondsSince(start);

  Sampler sampler(sampling);
  start = Clock::now();
  for (int64_t i = 0; i < count; ++i) {
    llvm::ArrayRef<float> logits = (*model)->lastLogits();
    int32_t next = sampler.sample(logits.data(), logits.size());
    emitToken(*cfg, next);
    if (llvm::Error err = (*model)->feed(next))
      return err;
  }
  double decodeSeconds = secondsSince(start);
  llvm::outs() << "\n";

  if (!stateOut.empty())
    if (llvm::Error err = (*model)->saveState(stateOut))
      return err;
  llvm::errs() << llvm::format(
      "prefill: %zu tokens in %.3f s (%.0f tokens/s); decode: %lld tokens in "
      "%.3f s (%.0f tokens/s, %.3f ms/token); stream position %lld\n",
      tokens->size(), prefillSeconds,
      tokens->empty() ? 0.0 : tokens->size() / prefillSeconds,
      static_cast<long long>(count), decodeSeconds,
      count ? count / decodeSeconds : 0.0,
      count ? decodeSeconds * 1e3 / count : 0.0,
      static_cast<long long>((*model)->position()));
  return llvm::Error::success();
}
