//===- EmitCommand.cpp - megalodon-run emit -------------------------------===//

#include "Commands.h"

#include "megalodon/Model/ModelBuilder.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::emitCommand("emit", "Print the megalodon IR of a model");

static cl::opt<std::string> config("config", cl::desc("Model config (JSON)"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::emitCommand));
static cl::opt<int64_t> batch("batch", cl::desc("Batch size"), cl::init(1),
                              cl::sub(tool::emitCommand));
static cl::opt<int64_t>
    seqLen("seq-len",
           cl::desc("Positions per @forward/@loss call (default: chunk_size)"),
           cl::init(0), cl::sub(tool::emitCommand));
static cl::opt<int64_t> decodeLen("decode-len",
                                  cl::desc("Tokens per @decode_step call"),
                                  cl::init(1), cl::sub(tool::emitCommand));

static cl::opt<int64_t>
    prefillLen("prefill-len",
               cl::desc("Also emit @prefill for pieces of this many tokens"),
               cl::init(0), cl::sub(tool::emitCommand));

static cl::opt<bool> bf16Params(
    "bf16-params",
    cl::desc("Parameters stored as bf16, widened to f32 where each function "
             "starts (inference functions)"),
    cl::sub(tool::emitCommand));

llvm::Error tool::runEmit() {
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"}}))
    return err;
  llvm::Expected<ModelConfig> cfg = loadModelConfig(config);
  if (!cfg)
    return cfg.takeError();
  mlir::MLIRContext context;
  BuildOptions options;
  options.batch = batch;
  options.seqLen = seqLen;
  options.decodeLen = decodeLen;
  options.emitPrefill = prefillLen > 0;
  options.prefillLen = prefillLen;
  options.bf16Parameters = bf16Params;
  auto module = buildModelModule(context, *cfg, options);
  if (!module)
    return module.takeError();
  (*module)->print(llvm::outs());
  llvm::outs() << "\n";
  return llvm::Error::success();
}
