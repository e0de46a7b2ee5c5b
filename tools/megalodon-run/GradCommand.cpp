//===- GradCommand.cpp - megalodon-run grad -------------------------------===//
//
// The loss of one batch and the L2 norm of every parameter's gradient, by
// official name, with the global norm: a way to look at the compiled
// gradients from outside (or, with --backend reference, at the fp64 ones).
// The batch is the first --batch windows of L+1 tokens of the token file.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "megalodon/Driver/Trainer.h"
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

cl::SubCommand tool::gradCommand(
    "grad", "Loss and per-parameter gradient norms of one batch");

static cl::opt<std::string> configPath("config", cl::desc("Model config (JSON)"),
                                       cl::value_desc("file"),
                                       cl::sub(tool::gradCommand));
static cl::opt<std::string> weightsPath("weights",
                                        cl::desc("Weights (safetensors)"),
                                        cl::value_desc("file"),
                                        cl::sub(tool::gradCommand));
static cl::opt<std::string>
    tokensPath("tokens",
               cl::desc("Tokens: .bin = little-endian int32, else bytes"),
               cl::value_desc("file"), cl::sub(tool::gradCommand));
static cl::opt<int64_t> seqLen("seq-len",
                               cl::desc("Window length L (default chunk_size)"),
                               cl::init(0), cl::sub(tool::gradCommand));
static cl::opt<int64_t> batch("batch", cl::desc("Windows in the batch"),
                              cl::init(1), cl::sub(tool::gradCommand));
static cl::opt<bool> json("json", cl::desc("Print one JSON object"),
                          cl::sub(tool::gradCommand));
static cl::opt<std::string>
    backend("backend",
            cl::desc("cpu (compiled, default), cuda (compiled for an "
                     "NVIDIA GPU) or reference (fp64 interpreter)"),
            cl::init("cpu"), cl::sub(tool::gradCommand));
static cl::opt<std::string>
    cacheDir("cache-dir",
             cl::desc("Artifact cache (default: $MEGALODON_CACHE_DIR or "
                      "~/.cache/megalodon)"),
             cl::sub(tool::gradCommand));

namespace {

double l2(const std::vector<double> &values) {
  double sum = 0.0;
  for (double v : values)
    sum += v * v;
  return std::sqrt(sum);
}

/// Loss and gradient norms with the fp64 interpreter on @loss_grad.
llvm::Error referenceGradients(const ModelConfig &config,
                               const rt::TensorMap &weights,
                               const rt::HostTensor &tokens,
                               const rt::HostTensor &targets, double &loss,
                               std::map<std::string, double> &norms) {
  mlir::MLIRContext context;
  loadModelDialects(context);
  BuildOptions options;
  options.batch = tokens.shape[0];
  options.seqLen = tokens.shape[1];
  options.emitForward = options.emitDecode = false;
  auto module = buildModelModule(context, config, options);
  if (!module)
    return module.takeError();
  if (llvm::Error err = addTrainingFunctions(**module, OptimizerOptions()))
    return err;
  auto func = (**module).lookupSymbol<mlir::func::FuncOp>("loss_grad");
  auto integers = [](const rt::HostTensor &t) {
    std::vector<double> v = t.toF64();
    return ref::RefValue::integerTensor(
        t.shape, std::vector<int64_t>(v.begin(), v.end()));
  };
  std::vector<ref::RefValue> args{integers(tokens), integers(targets)};
  std::vector<std::string> names;
  for (unsigned i = 2; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    const rt::HostTensor &t = weights.at(name.str());
    args.push_back(ref::RefValue::realTensor(t.shape, t.toF64()));
    names.push_back(name.str());
  }
  auto results = ref::interpret(func, std::move(args));
  if (!results)
    return results.takeError();
  loss = (*results)[0].real.at(0);
  for (size_t i = 0; i < names.size(); ++i)
    norms[names[i]] = l2((*results)[i + 1].real);
  return llvm::Error::success();
}

} // namespace

llvm::Error tool::runGrad() {
  if (llvm::Error err = requireFlags({{&configPath, "config"},
                                     {&weightsPath, "weights"},
                                     {&tokensPath, "tokens"}}))
    return err;
  auto config = loadModelConfig(configPath);
  if (!config)
    return config.takeError();
  auto weights = loadWeights(*config, weightsPath);
  if (!weights)
    return weights.takeError();
  const int64_t L = seqLen > 0 ? seqLen : config->chunk_size;

  rt::TokenStream stream;
  rt::Status read = rt::readTokenFile(tokensPath, stream);
  if (!read.ok())
    return llvm::createStringError(read.message());
  rt::Status range =
      rt::checkTokenRange(stream.tokens, config->vocab_size, tokensPath);
  if (!range.ok())
    return llvm::createStringError(range.message());
  if (batch < 1 ||
      static_cast<int64_t>(stream.tokens.size()) < batch * (L + 1))
    return llvm::createStringError(
        tokensPath + ": " + std::to_string(stream.tokens.size()) +
        " tokens, fewer than --batch windows of L+1 = " +
        std::to_string(L + 1));
  rt::HostTensor tokens = rt::HostTensor::zeros(rt::DType::I32, {batch, L});
  rt::HostTensor targets = rt::HostTensor::zeros(rt::DType::I32, {batch, L});
  for (int64_t w = 0; w < batch; ++w)
    for (int64_t i = 0; i < L; ++i) {
      reinterpret_cast<int32_t *>(tokens.bytes.data())[w * L + i] =
          stream.tokens[w * (L + 1) + i];
      reinterpret_cast<int32_t *>(targets.bytes.data())[w * L + i] =
          stream.tokens[w * (L + 1) + i + 1];
    }

  double loss = 0.0;
  std::map<std::string, double> norms;
  if (backend == "reference") {
    if (llvm::Error err =
            referenceGradients(*config, *weights, tokens, targets, loss, norms))
      return err;
  } else if (backend == "cpu" || backend == "cuda") {
    CpuCompileOptions compile;
    compile.cacheDir = cacheDir;
    if (llvm::Error err = tool::selectBackend(compile, backend))
      return err;
    auto trainer = CompiledTrainer::create(*config, batch, L,
                                           OptimizerOptions(), compile,
                                           /*withGradients=*/true);
    if (!trainer)
      return trainer.takeError();
    TrainState state = TrainState::fresh(*config, *weights);
    rt::TensorMap grads;
    auto value = (*trainer)->gradients(state, tokens, targets, grads);
    if (!value)
      return value.takeError();
    loss = *value;
    for (const auto &[name, g] : grads)
      norms[name] = l2(g.toF64());
  } else {
    return llvm::createStringError("--backend must be cpu, cuda or reference, got '" +
                                   backend + "'");
  }

  double global = 0.0;
  for (const auto &[name, norm] : norms)
    global += norm * norm;
  global = std::sqrt(global);
  if (json) {
    llvm::json::Object perParam;
    for (const auto &[name, norm] : norms)
      perParam[name] = norm;
    llvm::outs() << llvm::json::Value(llvm::json::Object{
                        {"loss", loss},
                        {"global_grad_norm", global},
                        {"grad_norms", std::move(perParam)}})
                 << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << llvm::format("loss %.6f\n", loss);
  for (const auto &[name, norm] : norms)
    llvm::outs() << llvm::format("%-40s %.6e\n", name.c_str(), norm);
  llvm::outs() << llvm::format("global_grad_norm %.6e\n", global);
  return llvm::Error::success();
}
