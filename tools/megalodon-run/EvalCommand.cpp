//===- EvalCommand.cpp - megalodon-run eval -------------------------------===//
//
// Mean next-token cross-entropy over the non-overlapping windows of L+1
// tokens of a token file: window w holds tokens [w(L+1), (w+1)(L+1)), its
// first L tokens are the inputs and its last L the targets.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

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
    backend("backend", cl::desc("Execution backend: reference (fp64)"),
            cl::init("reference"), cl::sub(tool::evalCommand));

namespace {
/// Arguments of @loss after tokens and targets: parameters by name, in fp64.
llvm::Expected<std::vector<ref::RefValue>>
parameterArguments(mlir::func::FuncOp func, const rt::TensorMap &weights) {
  std::vector<ref::RefValue> args;
  for (unsigned i = 2; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    if (!name)
      return llvm::createStringError("argument #%u of @loss has no name", i);
    auto it = weights.find(name.str());
    if (it == weights.end())
      return llvm::createStringError("weights lack tensor '" + name.str() +
                                     "'");
    args.push_back(ref::RefValue::realTensor(it->second.shape,
                                             it->second.toF64()));
  }
  return args;
}
} // namespace

llvm::Error tool::runEval() {
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"}, {&weightsPath.getValue(), "weights"}, {&tokensPath.getValue(), "tokens"}}))
    return err;
  if (backend != "reference")
    return llvm::createStringError(
        "unknown backend '" + backend +
        "': this build evaluates with the fp64 reference backend only");
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
  int64_t windows = static_cast<int64_t>(stream.tokens.size()) / (L + 1);
  if (windows == 0)
    return llvm::createStringError(
        "%s holds %zu tokens, fewer than one window of seq-len + 1 = %lld",
        tokensPath.c_str(), stream.tokens.size(),
        static_cast<long long>(L + 1));
  if (maxWindows > 0 && windows > maxWindows)
    windows = maxWindows;

  mlir::MLIRContext context;
  BuildOptions options;
  options.seqLen = L;
  options.emitForward = options.emitDecode = false;
  auto module = buildModelModule(context, *cfg, options);
  if (!module)
    return module.takeError();
  auto loss = (*module)->lookupSymbol<mlir::func::FuncOp>("loss");
  llvm::Expected<std::vector<ref::RefValue>> params =
      parameterArguments(loss, *weights);
  if (!params)
    return params.takeError();

  double total = 0;
  for (int64_t w = 0; w < windows; ++w) {
    const int32_t *window = stream.tokens.data() + w * (L + 1);
    std::vector<ref::RefValue> args = {
        ref::RefValue::integerTensor({1, L}, {window, window + L}),
        ref::RefValue::integerTensor({1, L}, {window + 1, window + L + 1})};
    args.insert(args.end(), params->begin(), params->end());
    auto results = ref::interpret(loss, std::move(args));
    if (!results)
      return results.takeError();
    total += results->front().real.front();
  }
  double mean = total / windows;
  int64_t tokens = windows * L;
  double perplexity = std::exp(mean);
  if (json) {
    llvm::json::Object out{{"loss", mean},
                           {"perplexity", perplexity},
                           {"tokens", tokens},
                           {"windows", windows},
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
  llvm::outs() << "  (" << tokens << " tokens, " << windows
               << " windows of " << L << ", " << backend << ")\n";
  return llvm::Error::success();
}
