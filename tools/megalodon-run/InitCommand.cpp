//===- InitCommand.cpp - megalodon-run init -------------------------------===//

#include "Commands.h"

#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/Safetensors.h"

#include "llvm/Support/raw_ostream.h"

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::initCommand("init",
                                 "Write seeded initial weights (safetensors)");

static cl::opt<std::string> config("config", cl::desc("Model config (JSON)"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::initCommand));
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                              cl::sub(tool::initCommand));
static cl::opt<std::string> output("o", cl::desc("Output safetensors file"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::initCommand));

llvm::Error tool::runInit() {
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"}, {&output.getValue(), "o"}}))
    return err;
  llvm::Expected<ModelConfig> cfg = loadModelConfig(config);
  if (!cfg)
    return cfg.takeError();
  rt::TensorMap weights = initializeParameters(*cfg, seed);
  rt::Status status = rt::writeSafetensors(output, weights, {{"format", "pt"}});
  if (!status.ok())
    return llvm::createStringError(status.message());
  llvm::outs() << "wrote " << weights.size() << " tensors ("
               << countTrainableParameters(*cfg)
               << " trainable parameters) to " << output << "\n";
  return llvm::Error::success();
}
