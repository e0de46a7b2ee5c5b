//===- EvalCommand.cpp - megalodon-run eval -------------------------------===//
//
// Mean next-token cross-entropy over the non-overlapping windows of L+1
// tokens of a token file: window w holds tokens [w(L+1), (w+1)(L+1)), its
// first L tokens are the inputs and its last L the targets.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "megalodon/Driver/CompiledFunction.h"
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
            cl::desc("Execution backend: cpu (compiled, default) or "
                     "reference (fp64 interpreter, for checking)"),
            cl::init("cpu"), cl::sub(tool::evalCommand));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Windows per compiled call (cpu)"),
                              cl::init(1), cl::sub(tool::evalCommand));
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
} // namespace

llvm::Error tool::runEval() {
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"},
                                      {&weightsPath.getValue(), "weights"},
                                      {&tokensPath.getValue(), "tokens"}}))
    return err;
  if (backend != "reference" && backend != "cpu")
    return llvm::createStringError("unknown backend '" + backend +
                                   "': expected cpu or reference");
  if (batch <= 0)
    return llvm::createStringError("--batch must be positive");
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

  llvm::Expected<double> total =
      backend == "cpu" ? sumCompiled(*cfg, *weights, windows, batch)
                       : sumReference(*cfg, *weights, windows);
  if (!total)
    return total.takeError();
  double mean = *total / count;
  int64_t tokens = count * L;
  double perplexity = std::exp(mean);
  if (json) {
    llvm::json::Object out{{"loss", mean},
                           {"perplexity", perplexity},
                           {"tokens", tokens},
                           {"windows", count},
                           {"seq_len", L},
                           {"backend", backend}};
    if (stream.isBytes)
      out["bits_per_byte"] = mean / std::log(2.0);
    llvm::outs() << llvm::json::Value(std::move(out)) << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << llvm::format("loss %.6f  perplexity %.4f", mean, perplexity);
  if (stream.isBytes)
    llvm::outs() << llvm::format("  bits/byte %.4f", mean / std::log(2.0));
  llvm::outs() << "  (" << tokens << " tokens, " << count << " windows of "
               << L << ", " << backend << ")\n";
  return llvm::Error::success();
}
