//===- GpuArtifactTest.cpp - CUDA artifacts, with and without a GPU -------===//
//
// Everything up to the launch is checked on every machine: the GPU pipeline
// compiles the tiny model into an artifact whose manifest names the cuda
// backend and whose library embeds the kernels for the requested chip (a
// cubin where ptxas is on PATH, else PTX) and calls the
// launch ABI. Without a driver, loading it is one clear error. With a GPU,
// @forward and @loss are checked against the fp64 reference with the CPU
// path's tolerances.
//
//===----------------------------------------------------------------------===//

#include "Common/TensorCompare.h"
#include "ModelTestUtils.h"

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Model/Config.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Reference/Interpreter.h"
#include "megalodon/runtime/Artifact.h"
#include "megalodon/runtime/Cuda.h"
#include "megalodon/runtime/KernelCosts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

ModelConfig tinyConfig() {
  auto cfg = loadModelConfig(std::string(MEGALODON_EXAMPLES_DIR) + "/tiny.json");
  if (!cfg) {
    ADD_FAILURE() << llvm::toString(cfg.takeError());
    return ModelConfig();
  }
  return *cfg;
}

CpuCompileOptions cudaOptions(const std::string &chip) {
  CpuCompileOptions options;
  options.cacheDir = ::testing::TempDir() + "megalodon-gpu-artifacts";
  options.backend = "cuda";
  options.gpuChip = chip;
  return options;
}

class GpuArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    loadModelDialects(context);
    config = tinyConfig();
    BuildOptions options;
    options.batch = 1;
    options.seqLen = config.chunk_size;
    options.emitDecode = false;
    auto built = buildModelModule(context, config, options);
    ASSERT_TRUE(static_cast<bool>(built)) << llvm::toString(built.takeError());
    module = std::move(*built);
  }

  mlir::MLIRContext context;
  ModelConfig config;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

TEST_F(GpuArtifactTest, CompilesPtxAndLaunchesThroughTheRuntime) {
  for (std::string chip : {"sm_80", "sm_90"}) {
    auto dir = compileCpuArtifact(*module, cudaOptions(chip));
    ASSERT_TRUE(static_cast<bool>(dir)) << llvm::toString(dir.takeError());
    rt::Manifest manifest;
    ASSERT_TRUE(rt::readManifest(*dir + "/manifest.json", manifest).ok());
    EXPECT_EQ(manifest.backend, "cuda");
    ASSERT_NE(manifest.findEntryPoint("forward"), nullptr);
    auto library = llvm::MemoryBuffer::getFile(*dir + "/" + manifest.library);
    ASSERT_TRUE(static_cast<bool>(library));
    llvm::StringRef bytes = (*library)->getBuffer();
    // With ptxas on PATH the kernels are a cubin (an ELF with a section per
    // kernel, which ptxas made only if no call was left undefined) that
    // loads without JIT compilation; without, PTX text.
    bool cubin = !cudaToolkit().empty();
    if (cubin) {
      EXPECT_TRUE(bytes.contains(".text.forward_kernel"));
      EXPECT_FALSE(bytes.contains(".visible .entry")) << "PTX embedded";
    } else {
      EXPECT_TRUE(bytes.contains(".target " + chip)) << chip;
      EXPECT_TRUE(bytes.contains(".visible .entry forward_kernel"));
      EXPECT_FALSE(bytes.contains("__nv_")) << "a libdevice call is left";
    }
    for (const char *symbol :
         {cubin ? "mgpuModuleLoad" : "mgpuModuleLoadJIT", "mgpuLaunchKernel",
          "mgpuMemAlloc", "megalodon_gpu_sync", "megalodon_gpu_free"})
      EXPECT_TRUE(bytes.contains(symbol)) << symbol;

    // Every kernel the library embeds has its cost of one launch listed,
    // with its bytes; together they do floating-point work.
    rt::KernelCosts costs;
    rt::Status read =
        rt::readKernelCosts(*dir + "/" + rt::kKernelCostsFileName, costs);
    ASSERT_TRUE(read.ok()) << read.message();
    ASSERT_FALSE(costs.empty());
    long long flops = 0;
    for (const auto &[name, cost] : costs) {
      EXPECT_TRUE(bytes.contains(name)) << name;
      EXPECT_GT(cost.bytes, 0) << name;
      EXPECT_GE(cost.flops, 0) << name;
      flops += std::max(cost.flops, 0LL);
    }
    EXPECT_GT(flops, 0);
  }
}

TEST_F(GpuArtifactTest, LoadingWithoutADriverIsOneClearError) {
  if (rt::cuda::initialize().ok())
    GTEST_SKIP() << "this machine has a CUDA device";
  auto dir = compileCpuArtifact(*module, cudaOptions("sm_90"));
  ASSERT_TRUE(static_cast<bool>(dir)) << llvm::toString(dir.takeError());
  std::unique_ptr<rt::Artifact> artifact;
  rt::Status status = rt::Artifact::load(*dir, artifact);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(artifact, nullptr);
  EXPECT_NE(status.message().find("CUDA"), std::string::npos)
      << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos)
      << status.message();
}

TEST_F(GpuArtifactTest, ForwardAndLossMatchTheReferenceOnTheGpu) {
  if (rt::Status status = rt::cuda::initialize(); !status.ok())
    GTEST_SKIP() << status.message();
  int64_t L = config.chunk_size, V = config.vocab_size;
  rt::TensorMap weights = perturbedWeights(config, 5);
  std::vector<int64_t> tokens = randomTokens(L, V, 21);
  std::vector<int64_t> targets = randomTokens(L, V, 22);

  auto forward = module->lookupSymbol<mlir::func::FuncOp>("forward");
  auto loss = module->lookupSymbol<mlir::func::FuncOp>("loss");
  std::vector<RefValue> forwardArgs = {RefValue::integerTensor({1, L}, tokens)};
  for (RefValue &p : parameterArgs(forward, weights))
    forwardArgs.push_back(std::move(p));
  auto refLogits = ref::interpret(forward, std::move(forwardArgs));
  ASSERT_TRUE(static_cast<bool>(refLogits))
      << llvm::toString(refLogits.takeError());
  std::vector<RefValue> lossArgs = {RefValue::integerTensor({1, L}, tokens),
                                    RefValue::integerTensor({1, L}, targets)};
  for (RefValue &p : parameterArgs(loss, weights))
    lossArgs.push_back(std::move(p));
  auto refLoss = ref::interpret(loss, std::move(lossArgs));
  ASSERT_TRUE(static_cast<bool>(refLoss)) << llvm::toString(refLoss.takeError());

  CpuCompileOptions options = cudaOptions("sm_90");
  auto compiledForward =
      CompiledFunction::create(*module, "forward", weights, options);
  ASSERT_TRUE(static_cast<bool>(compiledForward))
      << llvm::toString(compiledForward.takeError());
  auto compiledLoss = CompiledFunction::create(*module, "loss", weights, options);
  ASSERT_TRUE(static_cast<bool>(compiledLoss))
      << llvm::toString(compiledLoss.takeError());
  rt::HostTensor tokenArg = tokenTensor(tokens, 1, L);
  rt::HostTensor targetArg = tokenTensor(targets, 1, L);
  auto logits = (*compiledForward)->call({&tokenArg});
  ASSERT_TRUE(static_cast<bool>(logits)) << llvm::toString(logits.takeError());
  auto lossValue = (*compiledLoss)->call({&tokenArg, &targetArg});
  ASSERT_TRUE(static_cast<bool>(lossValue))
      << llvm::toString(lossValue.takeError());

  const std::vector<double> &want = (*refLogits)[0].real;
  const float *got = (*logits)[0].f32();
  double maxErr = maxAbsError(got, want);
  double refL = (*refLoss)[0].real[0];
  double relErr =
      std::abs(static_cast<double>((*lossValue)[0].f32()[0]) - refL) /
      std::abs(refL);
  EXPECT_LE(maxErr, 5e-4);
  EXPECT_LE(relErr, 1e-5);
}

} // namespace
