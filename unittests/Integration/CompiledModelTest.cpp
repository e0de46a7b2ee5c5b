//===- CompiledModelTest.cpp - Compiled CPU code vs the fp64 reference ----===//
//
// Every number a user gets comes from compiled code, so compiled @forward and
// @loss are checked against the reference interpreter on the tiny and small
// configurations, for L < C, L = C and L = 4C, batch 1 and 2 (and with
// prologue fusion and graph row blocks, which are off by default, with the
// GPU pipeline's kernels emulated on the host, and with the parameters
// stored as bf16, which the reference rounds the same way):
// loss relative error <= 1e-5, logits max absolute error <= 5e-4.
//
//===----------------------------------------------------------------------===//

#include "Common/TensorCompare.h"
#include "ModelTestUtils.h"

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Model/Config.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

struct Case {
  const char *config;
  int64_t batch;
  /// Sequence length as a multiple of the chunk size: 0.5, 1 or 4.
  double chunks;
  /// Pipeline options of the compiled code (CpuCompileOptions, the
  /// backend's), for forms that are off by default, and the suffix naming
  /// them.
  const char *pipelineOptions = "";
  const char *optionsName = "";
  /// CpuCompileOptions::backend ("gpu-emulation": the GPU pipeline's
  /// kernels run on the host).
  const char *backend = "cpu";
  /// Parameters stored as bf16 (the reference rounds them the same way).
  bool bf16Parameters = false;
};

std::string caseName(const ::testing::TestParamInfo<Case> &info);

/// Test output names the case rather than printing the struct's bytes.
void PrintTo(const Case &c, std::ostream *os) {
  *os << caseName(::testing::TestParamInfo<Case>(c, 0));
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  std::string chunks = info.param.chunks == 0.5 ? "HalfChunk"
                       : info.param.chunks == 1 ? "OneChunk"
                                                : "FourChunks";
  std::string options = info.param.optionsName;
  return std::string(info.param.config) + "_B" +
         std::to_string(info.param.batch) + "_" + chunks + options;
}

ModelConfig loadExample(const std::string &name) {
  std::string path = std::string(MEGALODON_EXAMPLES_DIR) + "/" + name + ".json";
  llvm::Expected<ModelConfig> cfg = loadModelConfig(path);
  if (!cfg) {
    ADD_FAILURE() << llvm::toString(cfg.takeError());
    return ModelConfig();
  }
  return *cfg;
}

class CompiledModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(CompiledModelTest, MatchesReference) {
  const Case &c = GetParam();
  ModelConfig config = loadExample(c.config);
  int64_t B = c.batch;
  int64_t L = static_cast<int64_t>(c.chunks * config.chunk_size);
  int64_t V = config.vocab_size;
  rt::TensorMap weights = perturbedWeights(config, 5);
  std::vector<int64_t> tokens = randomTokens(B * L, V, 21);
  std::vector<int64_t> targets = randomTokens(B * L, V, 22);

  mlir::MLIRContext context;
  loadModelDialects(context);
  BuildOptions options;
  options.batch = B;
  options.seqLen = L;
  options.emitDecode = false;
  options.bf16Parameters = c.bf16Parameters;
  auto module = buildModelModule(context, config, options);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());

  // Reference, fp64.
  auto forward = (**module).lookupSymbol<mlir::func::FuncOp>("forward");
  auto loss = (**module).lookupSymbol<mlir::func::FuncOp>("loss");
  std::vector<RefValue> forwardArgs = {RefValue::integerTensor({B, L}, tokens)};
  for (RefValue &p : parameterArgs(forward, weights))
    forwardArgs.push_back(std::move(p));
  auto refLogits = ref::interpret(forward, std::move(forwardArgs));
  ASSERT_TRUE(static_cast<bool>(refLogits))
      << llvm::toString(refLogits.takeError());
  std::vector<RefValue> lossArgs = {RefValue::integerTensor({B, L}, tokens),
                                    RefValue::integerTensor({B, L}, targets)};
  for (RefValue &p : parameterArgs(loss, weights))
    lossArgs.push_back(std::move(p));
  auto refLoss = ref::interpret(loss, std::move(lossArgs));
  ASSERT_TRUE(static_cast<bool>(refLoss)) << llvm::toString(refLoss.takeError());

  // Compiled, fp32.
  CpuCompileOptions compile;
  compile.cacheDir = ::testing::TempDir() + "megalodon-artifacts";
  compile.pipelineOptions = c.pipelineOptions;
  compile.backend = c.backend;
  auto compiledForward =
      CompiledFunction::create(**module, "forward", weights, compile);
  ASSERT_TRUE(static_cast<bool>(compiledForward))
      << llvm::toString(compiledForward.takeError());
  auto compiledLoss = CompiledFunction::create(**module, "loss", weights, compile);
  ASSERT_TRUE(static_cast<bool>(compiledLoss))
      << llvm::toString(compiledLoss.takeError());
  rt::HostTensor tokenArg = tokenTensor(tokens, B, L);
  rt::HostTensor targetArg = tokenTensor(targets, B, L);
  auto logits = (*compiledForward)->call({&tokenArg});
  ASSERT_TRUE(static_cast<bool>(logits)) << llvm::toString(logits.takeError());
  auto lossValue = (*compiledLoss)->call({&tokenArg, &targetArg});
  ASSERT_TRUE(static_cast<bool>(lossValue))
      << llvm::toString(lossValue.takeError());

  const std::vector<double> &want = (*refLogits)[0].real;
  const float *got = (*logits)[0].f32();
  ASSERT_EQ(static_cast<int64_t>(want.size()), B * L * V);
  double maxErr = maxAbsError(got, want);
  double refL = (*refLoss)[0].real[0];
  double relErr =
      std::abs(static_cast<double>((*lossValue)[0].f32()[0]) - refL) /
      std::abs(refL);
  RecordProperty("logits_max_abs_error", std::to_string(maxErr));
  RecordProperty("loss_relative_error", std::to_string(relErr));
  EXPECT_LE(maxErr, 5e-4);
  EXPECT_LE(relErr, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, CompiledModelTest,
    ::testing::Values(
        Case{"tiny", 1, 0.5}, Case{"tiny", 2, 0.5}, Case{"tiny", 1, 1},
        Case{"tiny", 2, 1}, Case{"tiny", 1, 4}, Case{"tiny", 2, 4},
        Case{"small", 1, 0.5}, Case{"small", 2, 0.5}, Case{"small", 1, 1},
        Case{"small", 2, 1}, Case{"small", 1, 4}, Case{"small", 2, 4},
        // Prologue fusion (norms, SiLU computed per row block
        // inside the next linear's loop) is off by default.
        Case{"tiny", 2, 1, "fuse-prologues=true", "_FusedPrologues"},
        Case{"small", 1, 1, "fuse-prologues=true", "_FusedPrologues"},
        // Row blocks across ops (megalodon-tile-graph-rows),
        // off by default: blocks of one chunk (attention in
        // the chains), of half a chunk (attention ends them)
        // and of two chunks, and blocks taken by threads.
        Case{"tiny", 2, 4, "graph-row-block=16", "_GraphRowsChunk"},
        Case{"tiny", 1, 4, "graph-row-block=8", "_GraphRowsHalfChunk"},
        Case{"small", 1, 4, "graph-row-block=512", "_GraphRowsTwoChunks"},
        Case{"tiny", 2, 4, "graph-row-block=16 graph-row-parallel=true",
             "_GraphRowsParallel"},
        // The GPU pipeline's kernels, one thread per block, on the host:
        // batch 1, where the scans' counters are stored by the sequential
        // code of their block kernels.
        // cema in blocks of 32 steps (the default) where they divide L,
        // and as the step-by-step recurrence.
        Case{"tiny", 1, 4, "", "_GpuKernelsEmulated", "gpu-emulation"},
        Case{"small", 1, 1, "", "_GpuKernelsEmulated", "gpu-emulation"},
        Case{"tiny", 1, 4, "cema-matrix-block=0",
             "_GpuKernelsEmulatedRecurrence", "gpu-emulation"},
        // Parameters stored as bf16, widened to f32 in the compiled code.
        Case{"tiny", 2, 1, "", "_Bf16Parameters", "cpu", true},
        Case{"small", 1, 1, "", "_Bf16Parameters", "cpu", true},
        Case{"tiny", 1, 4, "", "_Bf16ParametersGpuKernelsEmulated",
             "gpu-emulation", true}),
    caseName);

} // namespace
