//===- Commands.h - megalodon-run subcommands -------------------*- C++ -*-===//
//
// Each subcommand lives in its own file, declares its options under its own
// llvm::cl::SubCommand, and is dispatched from megalodon-run.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_TOOLS_MEGALODON_RUN_COMMANDS_H
#define MEGALODON_TOOLS_MEGALODON_RUN_COMMANDS_H

#include "megalodon/Model/Config.h"
#include "megalodon/Target/CPU/CpuArtifact.h"
#include "megalodon/runtime/HostTensor.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

namespace megalodon::tool {

extern llvm::cl::SubCommand emitCommand;
extern llvm::cl::SubCommand initCommand;
extern llvm::cl::SubCommand evalCommand;
extern llvm::cl::SubCommand benchCommand;
extern llvm::cl::SubCommand generateCommand;
extern llvm::cl::SubCommand trainCommand;
extern llvm::cl::SubCommand gradCommand;
extern llvm::cl::SubCommand tuneCommand;

llvm::Error runEmit();
llvm::Error runInit();
llvm::Error runEval();
llvm::Error runBench();
llvm::Error runGenerate();
llvm::Error runTrain();
llvm::Error runGrad();
llvm::Error runTune();

/// `bench --op cema`: one cema op at each length, tiled and untiled, against
/// the measured FMA peak (BenchScan.cpp).
llvm::Error runScanBench(const ModelConfig &config,
                         const std::vector<int64_t> &lengths, int64_t batch,
                         int iterations, int64_t threads,
                         const std::string &tileSizes,
                         const std::string &cacheDir);

/// `bench --op attention`: chunk_attention and its gradient at each length,
/// tiled and untiled (BenchAttention.cpp).
llvm::Error runAttentionBench(const ModelConfig &config,
                              const std::vector<int64_t> &lengths,
                              int64_t batch, int iterations, int64_t threads,
                              const std::string &tileSizes,
                              const std::string &cacheDir);

/// `bench --op linear`: the forward, input-gradient and weight-gradient
/// products of a linear layer for each "MxKxN" of `shapes`, next to OpenBLAS
/// sgemm (BenchLinear.cpp).
llvm::Error runLinearBench(llvm::ArrayRef<std::string> shapes, int iterations,
                           int64_t threads, const CpuCompileOptions &options);

/// `bench --profile`: each distinct op of @train_step (with `train`) or
/// @forward timed alone, ranked by total time (BenchProfile.cpp).
llvm::Error runProfileBench(const ModelConfig &config, int64_t seqLen,
                            int64_t batch, int iterations, bool train,
                            const std::string &cacheDir);

/// An error when a required flag was not given (llvm::cl's own report of a
/// missing option spans several lines).
llvm::Error requireFlags(
    std::initializer_list<std::pair<const std::string *, const char *>> flags);

/// Applies `backend` (empty: the --backend flag of train, generate and
/// bench; eval and grad have their own) and --gpu-chip to `options`; for cuda, fails
/// with one line when the machine has no usable CUDA driver or device.
llvm::Error selectBackend(CpuCompileOptions &options,
                          llvm::StringRef backend = "");

/// Reads a safetensors file and checks it against the config.
llvm::Expected<rt::TensorMap> loadWeights(const ModelConfig &config,
                                          llvm::StringRef path);

} // namespace megalodon::tool

#endif // MEGALODON_TOOLS_MEGALODON_RUN_COMMANDS_H
