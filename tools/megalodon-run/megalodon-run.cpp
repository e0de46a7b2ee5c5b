//===- megalodon-run.cpp - Run megalodon models ---------------------------===//
//
// Subcommands: emit (print model IR), init (seeded weights), eval (loss on a
// token file). Errors are one line on stderr and a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "megalodon/runtime/Communicator.h"
#include "megalodon/runtime/Cuda.h"

#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/Safetensors.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace megalodon;

llvm::Error tool::requireFlags(
    std::initializer_list<std::pair<const std::string *, const char *>> flags) {
  for (auto [value, name] : flags)
    if (value->empty())
      return llvm::createStringError(std::string("missing required flag --") +
                                     name + " (see --help)");
  return llvm::Error::success();
}

namespace {
// Built in main() before parsing: the subcommands they attach to are
// defined in other files, whose static constructors may run later.
llvm::cl::opt<std::string> *backendFlag = nullptr;
llvm::cl::opt<std::string> *gpuChipFlag = nullptr;

void registerBackendOptions() {
  using namespace llvm::cl;
  static opt<std::string> backend(
      "backend",
      desc("Where compiled code runs: cpu, or cuda (an NVIDIA GPU through "
           "the CUDA driver)"),
      init("cpu"), sub(tool::trainCommand), sub(tool::generateCommand),
      sub(tool::benchCommand));
  static opt<std::string> chip(
      "gpu-chip", desc("GPU architecture for the cuda backend"),
      init("sm_90"), sub(tool::evalCommand), sub(tool::trainCommand),
      sub(tool::generateCommand), sub(tool::benchCommand),
      sub(tool::gradCommand));
  backendFlag = &backend;
  gpuChipFlag = &chip;
}
} // namespace

llvm::Error tool::selectBackend(CpuCompileOptions &options,
                                llvm::StringRef backend) {
  if (backend.empty())
    backend = backendFlag->getValue();
  if (backend != "cpu" && backend != "cuda")
    return llvm::createStringError("--backend " + backend +
                                   ": not a backend (cpu, cuda)");
  options.backend = backend.str();
  options.gpuChip = gpuChipFlag->getValue();
  if (backend == "cuda")
    if (rt::Status status = rt::cuda::initialize(); !status.ok())
      return llvm::createStringError("--backend cuda: " + status.message());
  return llvm::Error::success();
}

llvm::Expected<rt::TensorMap> tool::loadWeights(const ModelConfig &config,
                                                llvm::StringRef path) {
  rt::TensorMap weights;
  rt::Status status = rt::readSafetensors(path.str(), weights);
  if (!status.ok())
    return llvm::createStringError(status.message());
  status = checkParameters(config, weights);
  if (!status.ok())
    return llvm::createStringError(path.str() + ": " + status.message());
  return weights;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Parse errors are collected and reported as one line, not llvm::cl's
  // several.
  registerBackendOptions();
  std::string parseErrors;
  llvm::raw_string_ostream parseErrorStream(parseErrors);
  bool parsed = llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "megalodon-run: run Megalodon models\n\n"
      "  megalodon-run emit --config C       print the model IR\n"
      "  megalodon-run init --config C -o W  write seeded initial weights\n"
      "  megalodon-run eval --config C --weights W --tokens T\n"
      "                                      loss of a model on a token file\n"
      "  megalodon-run generate --config C --weights W -p PROMPT -n N\n"
      "                                      stream text from a model\n"
      "  megalodon-run train --config C --data D --out DIR\n"
      "                                      train with compiled steps\n"
      "  megalodon-run grad --config C --weights W --tokens T\n"
      "                                      loss and gradient norms\n"
      "  megalodon-run bench --config C --seq-len L1,L2\n"
      "                                      time compiled forward passes\n"
      "  megalodon-run tune --config C --seq-len L\n"
      "                                      autotune tile sizes\n"
      "\nRun 'megalodon-run <command> --help' for a command's options.\n",
      &parseErrorStream);
  if (!parsed) {
    llvm::StringRef first = llvm::StringRef(parseErrors).split('\n').first;
    first.consume_front("megalodon-run: ");
    llvm::WithColor::error(llvm::errs(), "megalodon-run") << first << "\n";
    return 2;
  }

  llvm::Error err = llvm::Error::success();
  if (tool::emitCommand)
    err = tool::runEmit();
  else if (tool::initCommand)
    err = tool::runInit();
  else if (tool::evalCommand)
    err = tool::runEval();
  else if (tool::benchCommand)
    err = tool::runBench();
  else if (tool::generateCommand)
    err = tool::runGenerate();
  else if (tool::trainCommand)
    err = tool::runTrain();
  else if (tool::gradCommand)
    err = tool::runGrad();
  else if (tool::tuneCommand)
    err = tool::runTune();
  else {
    llvm::WithColor::error(llvm::errs(), "megalodon-run")
        << "expected a command: emit, init, eval, generate, train, grad, bench or tune (see --help)\n";
    return 2;
  }
  // A multi-process run (train under mpirun) ends MPI on every path.
  if (err) {
    llvm::WithColor::error(llvm::errs(), "megalodon-run")
        << llvm::toString(std::move(err)) << "\n";
    megalodon::rt::finalizeMpi();
    return 1;
  }
  megalodon::rt::finalizeMpi();
  return 0;
}
