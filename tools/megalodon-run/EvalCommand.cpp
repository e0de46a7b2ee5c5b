//===- EvalCommand.cpp - megalodon-run eval -------------------------------===//
//
// Mean next-token cross-entropy over the non-overlapping windows of L+1
// tokens of a token file: window w holds tokens [w(L+1), (w+1)(L+1)), its
// first L tokens are the inputs and its last L the targets.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Driver/StreamingModel.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Reference/Interpreter.h"
#include "megalodon/runtime/TokenFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::evalCommand(
    "eval", "Mean next-token cross-entropy of a model on a token file");

static cl::opt<std::string> config("config", cl::desc("Model config (JSON)"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::evalCommand));
static cl::opt<std::string> weightsPath("weights",
                                        cl::desc("Weights (safetensors)"),
                                        cl::value_desc("file"),
                                        cl::sub(tool::evalCommand));
static cl::opt<std::string>
    tokensPath("tokens",
               cl::desc("Tokens: .bin = little-endian int32, else bytes"),
               cl::value_desc("file"),
               cl::sub(tool::evalCommand));
static cl::opt<int64_t> seqLen("seq-len",
                               cl::desc("Window length L (default chunk_size)"),
                               cl::init(0), cl::sub(tool::evalCommand));
static cl::opt<int64_t>
    maxWindows("max-windows",
               cl::desc("Evaluate at most this many windows (0 = all)"),
               cl::init(0), cl::sub(tool::evalCommand));
static cl::opt<bool> json("json", cl::desc("Print one JSON object"),
                          cl::sub(tool::evalCommand));
static cl::opt<std::string>
    backend("backend",
            cl::desc("Execution backend: cpu (compiled, default), cuda "
                     "(compiled for an NVIDIA GPU) or reference (fp64 "
                     "interpreter, for checking)"),
            cl::init("cpu"), cl::sub(tool::evalCommand));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Windows per compiled call (cpu)"),
                              cl::init(1), cl::sub(tool::evalCommand));
static cl::opt<bool>
    bf16Params("bf16-params",
               cl::desc("Run with the parameters rounded to bf16 and stored "
                        "that way (arithmetic stays f32)"),
               cl::sub(tool::evalCommand));
static cl::opt<bool> streaming(
    "streaming",
    cl::desc("Feed tokens through compiled prefill/decode with carried state; "
             "without --seq-len the whole file is one stream"),
    cl::sub(tool::evalCommand));
static cl::opt<int64_t> piece("piece",
                              cl::desc("Tokens per feed when streaming "
                                       "(default chunk_size)"),
                              cl::init(0), cl::sub(tool::evalCommand));
static cl::opt<int64_t>
    reportEvery("report-every",
                cl::desc("Print the running loss every N streamed tokens"),
                cl::init(0), cl::sub(tool::evalCommand));
static cl::opt<int64_t> maxTokens("max-tokens",
                                  cl::desc("Stream at most N tokens (0 = all)"),
                                  cl::init(0), cl::sub(tool::evalCommand));
static cl::opt<std::string>
    cacheDir("cache-dir",
             cl::desc("Artifact cache (default: $MEGALODON_CACHE_DIR or "
                      "~/.cache/megalodon)"),
             cl::sub(tool::evalCommand));

namespace {
/// The windows of a token stream: window w holds tokens [w(L+1), (w+1)(L+1)).
struct Windows {
  const std::vector<int32_t> &tokens;
  int64_t length;
  int64_t count;

  /// Inputs or targets ([n, L] i32) of windows first..first+n-1.
  rt::HostTensor slice(int64_t first, int64_t n, bool targets) const {
    rt::HostTensor t = rt::HostTensor::zeros(rt::DType::I32, {n, length});
    auto *out = reinterpret_cast<int32_t *>(t.bytes.data());
    for (int64_t w = 0; w < n; ++w) {
      const int32_t *begin =
          tokens.data() + (first + w) * (length + 1) + (targets ? 1 : 0);
      std::copy(begin, begin + length, out + w * length);
    }
    return t;
  }
};

/// The @loss function of `cfg` for a batch size, in a fresh module.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildLossModule(mlir::MLIRContext &context, const ModelConfig &cfg,
                int64_t batchSize, int64_t length) {
  BuildOptions options;
  options.batch = batchSize;
  options.seqLen = length;
  options.emitForward = options.emitDecode = false;
  options.bf16Parameters = bf16Params;
  return buildModelModule(context, cfg, options);
}

/// Sum of the window losses with the fp64 reference interpreter.
llvm::Expected<double> sumReference(const ModelConfig &cfg,
                                    const rt::TensorMap &weights,
                                    const Windows &windows) {
  mlir::MLIRContext context;
  auto module = buildLossModule(context, cfg, 1, windows.length);
  if (!module)
    return module.takeError();
  auto loss = (**module).lookupSymbol<mlir::func::FuncOp>("loss");
  std::vector<ref::RefValue> params;
  for (unsigned i = 2; i < loss.getNumArguments(); ++i) {
    auto name = loss.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    const rt::HostTensor &t = weights.at(name.str());
    params.push_back(ref::RefValue::realTensor(t.shape, t.toF64()));
  }
  double total = 0;
  for (int64_t w = 0; w < windows.count; ++w) {
    auto asRef = [&](bool targets) {
      rt::HostTensor t = windows.slice(w, 1, targets);
      auto *v = reinterpret_cast<const int32_t *>(t.bytes.data());
      return ref::RefValue::integerTensor(
          {1, windows.length}, std::vector<int64_t>(v, v + windows.length));
    };
    std::vector<ref::RefValue> args = {asRef(false), asRef(true)};
    args.insert(args.end(), params.begin(), params.end());
    auto results = ref::interpret(loss, std::move(args));
    if (!results)
      return results.takeError();
    total += results->front().real.front();
  }
  return total;
}

/// Sum of the window losses with compiled code: full batches, then the
/// windows left over with a batch-1 artifact.
llvm::Expected<double> sumCompiled(const ModelConfig &cfg,
                                   const rt::TensorMap &weights,
                                   const Windows &windows, int64_t batchSize) {
  CpuCompileOptions options;
  options.cacheDir = cacheDir;
  if (llvm::Error err = tool::selectBackend(
          options, backend == "cuda" ? "cuda" : "cpu"))
    return err;
  double total = 0;
  int64_t done = 0;
  for (int64_t b : {batchSize, int64_t(1)}) {
    int64_t calls = (windows.count - done) / b;
    if (calls == 0)
      continue;
    mlir::MLIRContext context;
    auto module = buildLossModule(context, cfg, b, windows.length);
    if (!module)
      return module.takeError();
    auto fn = CompiledFunction::create(**module, "loss", weights, options);
    if (!fn)
      return fn.takeError();
    for (int64_t c = 0; c < calls; ++c, done += b) {
      rt::HostTensor inputs = windows.slice(done, b, false);
      rt::HostTensor targets = windows.slice(done, b, true);
      auto results = (*fn)->call({&inputs, &targets});
      if (!results)
        return results.takeError();
      total += static_cast<double>(results->front().f32()[0]) * b;
    }
  }
  return total;
}
/// Streams `inputs` (targets: the next tokens) through `model` in pieces of
/// `pieceLen`, adding each position's loss to `total`.
llvm::Error streamLoss(StreamingModel &model, llvm::ArrayRef<int32_t> inputs,
                       llvm::ArrayRef<int32_t> targets, int64_t pieceLen,
                       double &total, int64_t &counted) {
  for (size_t start = 0; start < inputs.size(); start += pieceLen) {
    size_t n = std::min<size_t>(pieceLen, inputs.size() - start);
    auto score = [&](const float *logits, int64_t count,
                     int64_t first) -> llvm::Error {
      llvm::Expected<double> sum =
          model.pieceLoss(logits, count, targets.data() + start + first);
      if (!sum)
        return sum.takeError();
      total += *sum;
      counted += count;
      if (reportEvery > 0 && (counted / reportEvery) !=
                                 ((counted - count) / reportEvery))
        llvm::errs() << llvm::format("position %lld: loss %.6f\n",
                                     static_cast<long long>(counted),
                                     total / counted);
      return llvm::Error::success();
    };
    if (llvm::Error err = model.feed(inputs.slice(start, n), score))
      return err;
  }
  return llvm::Error::success();
}

/// Sum of the losses through the streaming entry points: per window with the
/// state reset (then it equals the non-streaming sum), or the whole stream.
llvm::Expected<double> sumStreaming(const ModelConfig &cfg,
                                    const rt::TensorMap &weights,
                                    const std::vector<int32_t> &tokens,
                                    const Windows *windows, int64_t &counted) {
  CpuCompileOptions options;
  options.cacheDir = cacheDir;
  if (llvm::Error err = tool::selectBackend(
          options, backend == "cuda" ? "cuda" : "cpu"))
    return err;
  auto model = StreamingModel::create(cfg, weights, options);
  if (!model)
    return model.takeError();
  int64_t pieceLen = piece > 0 ? int64_t(piece) : cfg.chunk_size;
  double total = 0;
  counted = 0;
  llvm::ArrayRef<int32_t> all(tokens);
  if (!windows) {
    size_t n = tokens.size() - 1;
    if (maxTokens > 0)
      n = std::min<size_t>(n, maxTokens);
    if (llvm::Error err = streamLoss(**model, all.take_front(n),
                                     all.slice(1, n), pieceLen, total, counted))
      return std::move(err);
    return total;
  }
  int64_t L = windows->length;
  for (int64_t w = 0; w < windows->count; ++w) {
    (*model)->reset();
    llvm::ArrayRef<int32_t> window = all.slice(w * (L + 1), L + 1);
    if (llvm::Error err =
            streamLoss(**model, window.drop_back(), window.drop_front(),
                       pieceLen, total, counted))
      return std::move(err);
  }
  return total;
}
} // namespace

/// Prints the result of an evaluation, as text or one JSON object.
static llvm::Error report(double mean, int64_t tokens, int64_t count,
                         int64_t L, bool isBytes, llvm::StringRef backendName) {
  double perplexity = std::exp(mean);
  if (json) {
    llvm::json::Object out{{"loss", mean},
                           {"perplexity", perplexity},
                           {"tokens", tokens},
                           {"windows", count},
                           {"seq_len", L},
                           {"backend", backendName}};
    if (isBytes)
      out["bits_per_byte"] = mean / std::log(2.0);
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << llvm::format("loss %.6f  perplexity %.4f", mean, perplexity);
  if (isBytes)
    llvm::outs() << llvm::format("  bits/byte %.4f", mean / std::log(2.0));
  llvm::outs() << "  (" << tokens << " tokens, " << count << " windows of "
               << L << ", " << backendName << ")\n";
  return llvm::Error::success();
}

llvm::Error tool::runEval() {
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"},
                                      {&weightsPath.getValue(), "weights"},
                                      {&tokensPath.getValue(), "tokens"}}))
    return err;
  if (backend != "reference" && backend != "cpu" && backend != "cuda")
    return llvm::createStringError("unknown backend '" + backend +
                                   "': expected cpu, cuda or reference");
  if (batch <= 0)
    return llvm::createStringError("--batch must be positive");
  if (bf16Params && streaming)
    return llvm::createStringError(
        "--bf16-params applies to whole windows; streaming keeps f32 "
        "parameters");
  llvm::Expected<ModelConfig> cfg = loadModelConfig(config);
  if (!cfg)
    return cfg.takeError();
  llvm::Expected<rt::TensorMap> weights = loadWeights(*cfg, weightsPath);
  if (!weights)
    return weights.takeError();
  rt::TokenStream stream;
  rt::Status status = rt::readTokenFile(tokensPath, stream);
  if (status.ok())
    status = rt::checkTokenRange(stream.tokens, cfg->vocab_size, tokensPath);
  if (!status.ok())
    return llvm::createStringError(status.message());

  if (streaming && seqLen <= 0) {
    if (stream.tokens.size() < 2)
      return llvm::createStringError("%s holds fewer than 2 tokens",
                                     tokensPath.c_str());
    int64_t counted = 0;
    llvm::Expected<double> total =
        sumStreaming(*cfg, *weights, stream.tokens, nullptr, counted);
    if (!total)
      return total.takeError();
    return report(*total / counted, counted, 1, counted, stream.isBytes,
                  std::string(backend == "cuda" ? "cuda" : "cpu") + "-streaming");
  }
  int64_t L = seqLen > 0 ? int64_t(seqLen) : cfg->chunk_size;
  if (!(L <= cfg->chunk_size || L % cfg->chunk_size == 0))
    return llvm::createStringError(
        "--seq-len %lld is neither <= chunk_size %lld nor a multiple of it",
        static_cast<long long>(L), static_cast<long long>(cfg->chunk_size));
  int64_t count = static_cast<int64_t>(stream.tokens.size()) / (L + 1);
  if (count == 0)
    return llvm::createStringError(
        "%s holds %zu tokens, fewer than one window of seq-len + 1 = %lld",
        tokensPath.c_str(), stream.tokens.size(),
        static_cast<long long>(L + 1));
  if (maxWindows > 0 && count > maxWindows)
    count = maxWindows;
  Windows windows{stream.tokens, L, count};

  int64_t streamed = 0;
  llvm::Expected<double> total =
      streaming          ? sumStreaming(*cfg, *weights, stream.tokens,
                                        &windows, streamed)
      : backend != "reference" ? sumCompiled(*cfg, *weights, windows, batch)
                               : sumReference(*cfg, *weights, windows);
  if (!total)
    return total.takeError();
  // Streaming sums per-position losses; the others sum per-window means.
  double mean = streaming ? *total / streamed : *total / count;
  return report(mean, count * L, count, L, stream.isBytes,
                streaming ? std::string(backend == "cuda" ? "cuda" : "cpu") + "-streaming" : backend.getValue());
}

