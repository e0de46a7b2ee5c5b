//===- BenchCommand.cpp - megalodon-run bench -----------------------------===//
//
// Times the compiled @forward (or, with --train, the whole @train_step:
// forward, backward and AdamW update) of a model at several sequence lengths
// and reports tokens/s, GFLOP/s (FLOP model in megalodon/Model/Flops.h) and the
// fraction of the machine's single-precision GEMM rate, measured in the same
// run with OpenBLAS's cblas_sgemm when the library is installed. A training
// step counts 3x the forward FLOPs (the usual model-FLOP convention: the
// backward's two products per forward product), and the process's peak
// resident memory after each length is printed as an upper bound of the
// step's activation memory. `--tile=false` compiles without the tiling
// passes, for side-by-side comparisons; `--op cema` and `--op attention`
// time one op instead (BenchScan.cpp, BenchAttention.cpp), and `--profile`
// every op of the step alone (BenchProfile.cpp). A benchmark, not a test:
// numbers vary with machine load.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "GemmReference.h"

#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Driver/Trainer.h"
#include "megalodon/Model/Flops.h"
#include "megalodon/Model/ModelBuilder.h"
#include "megalodon/Model/Parameters.h"
#include "megalodon/runtime/Cuda.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <thread>

using namespace megalodon;
namespace cl = llvm::cl;

cl::SubCommand tool::benchCommand(
    "bench",
    "Time compiled forward passes or training steps against the GEMM rate");

static cl::opt<std::string> config("config", cl::desc("Model config (JSON)"),
                                   cl::value_desc("file"),
                                   cl::sub(tool::benchCommand));
static cl::opt<std::string>
    weightsPath("weights",
                cl::desc("Weights (default: seeded initialization)"),
                cl::value_desc("file"), cl::sub(tool::benchCommand));
static cl::list<int64_t> seqLens("seq-len", cl::desc("Sequence lengths"),
                                 cl::CommaSeparated,
                                 cl::sub(tool::benchCommand));
static cl::opt<int64_t> batch("batch", cl::desc("Batch size"), cl::init(1),
                              cl::sub(tool::benchCommand));
static cl::opt<int> iterations("iters", cl::desc("Timed calls per length"),
                               cl::init(5), cl::sub(tool::benchCommand));
static cl::opt<int>
    threads("threads",
            cl::desc("Threads for compiled code and the GEMM reference "
                     "(sets OMP_NUM_THREADS; 0 = leave as is)"),
            cl::init(0), cl::sub(tool::benchCommand));
static cl::opt<bool> train("train",
                           cl::desc("Time training steps instead of forward "
                                    "passes"),
                           cl::sub(tool::benchCommand));
static cl::opt<bool>
    tile("tile",
         cl::desc("Compile with the tile-config and tiling passes (--tile=false: "
                  "the untiled lowerings, for comparison)"),
         cl::init(true), cl::sub(tool::benchCommand));
static cl::opt<std::string>
    op("op",
       cl::desc("Time one op instead of the model: 'cema' (tiled vs untiled "
                "scan against the FMA peak), 'attention' (chunk attention "
                "and its gradient, tiled vs untiled) or 'linear' (a linear "
                "layer's three products against OpenBLAS sgemm; no --config)"),
       cl::sub(tool::benchCommand));
static cl::opt<std::string>
    tuning("tuning",
           cl::desc("Tile configs: cached (the tuning database's where it "
                    "has them, else defaults) or off (defaults only)"),
           cl::init("cached"), cl::sub(tool::benchCommand));
static cl::opt<bool>
    profile("profile",
            cl::desc("Time each distinct op of the step alone and rank them "
                     "(first --seq-len only)"),
            cl::sub(tool::benchCommand));
static cl::opt<bool> kernelTimes(
    "kernel-times",
    cl::desc("With --backend cuda: time every kernel launch of the timed "
             "calls with CUDA events and list the kernels by device time"),
    cl::sub(tool::benchCommand));
static cl::opt<std::string>
    tileSizes("tile-sizes",
              cl::desc("With --op: the tiled op's sizes, e.g. "
                       "'block_time=128,lanes=16,state_group=4' (default: "
                       "chosen for the host)"),
              cl::sub(tool::benchCommand));
static cl::list<std::string>
    shapes("shapes",
           cl::desc("With --op linear: MxKxN products (tokens, inputs, "
                    "outputs)"),
           cl::CommaSeparated, cl::sub(tool::benchCommand));
static cl::opt<std::string> pipelineOptions(
    "pipeline-options",
    cl::desc("Further options of the backend's pipeline for the compiled "
             "code, e.g. 'matmul-rows=12 matmul-row-block=96' (cpu) or "
             "'cema-matrix-block=64' (cuda)"),
    cl::sub(tool::benchCommand));
static cl::opt<std::string> cacheDir("cache-dir",
                                     cl::desc("Artifact cache directory"),
                                     cl::sub(tool::benchCommand));
static cl::opt<bool> bf16Params(
    "bf16-params",
    cl::desc("Forward passes with the parameters stored as bf16 (arithmetic "
             "stays f32)"),
    cl::sub(tool::benchCommand));

namespace {
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// The process's peak resident set (VmHWM) in MiB, or 0 when unknown.
double peakResidentMiB() {
  FILE *status = std::fopen("/proc/self/status", "r");
  if (!status)
    return 0;
  char line[256];
  double kib = 0;
  while (std::fgets(line, sizeof(line), status))
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1)
      break;
  std::fclose(status);
  return kib / 1024.0;
}

/// `amount` per millisecond as a rate in units of 1e9 per second, or "-"
/// when the amount is not known.
std::string ratePerSecond(double amount, double milliseconds) {
  if (amount < 0 || milliseconds <= 0)
    return "-";
  return llvm::formatv("{0:f1}", amount / (milliseconds * 1e6)).str();
}

/// The kernels of `calls` timed calls by device time, most first, with
/// the rates their compiler-counted FLOPs and bytes give (GB/s: the
/// compulsory traffic, so a lower bound).
void printKernelTimes(std::vector<rt::cuda::KernelTime> kernels, int calls) {
  std::sort(kernels.begin(), kernels.end(),
            [](const rt::cuda::KernelTime &a, const rt::cuda::KernelTime &b) {
              return a.milliseconds > b.milliseconds;
            });
  double total = 0, flops = 0, bytes = 0;
  bool allFlopsKnown = true;
  for (const rt::cuda::KernelTime &k : kernels) {
    total += k.milliseconds;
    allFlopsKnown &= k.cost.flops >= 0;
    flops += static_cast<double>(std::max(k.cost.flops, 0LL)) * k.launches;
    bytes += static_cast<double>(k.cost.bytes) * k.launches;
  }
  llvm::outs() << llvm::format("        device time per call: %.3f ms in %zu "
                               "kernels, %s GFLOP/s%s, %s GB/s; the most "
                               "expensive:\n",
                               total / calls, kernels.size(),
                               ratePerSecond(flops, total).c_str(),
                               allFlopsKnown ? "" : " (counted kernels)",
                               ratePerSecond(bytes, total).c_str());
  llvm::outs() << "          ms/call  share  launches/call  us/launch  "
                  "GFLOP/s     GB/s  kernel\n";
  constexpr size_t kListed = 15;
  for (size_t i = 0; i < kernels.size() && i < kListed; ++i) {
    const rt::cuda::KernelTime &k = kernels[i];
    double launches = static_cast<double>(k.launches);
    llvm::outs() << llvm::format(
        "        %9.3f  %4.1f%%  %13.1f  %9.1f  %7s  %7s  %s\n",
        k.milliseconds / calls, 100 * k.milliseconds / std::max(total, 1e-30),
        launches / calls,
        1e3 * k.milliseconds / std::max<long long>(k.launches, 1),
        ratePerSecond(k.cost.flops < 0 ? -1 : k.cost.flops * launches,
                      k.milliseconds)
            .c_str(),
        ratePerSecond(static_cast<double>(k.cost.bytes) * launches,
                      k.milliseconds)
            .c_str(),
        k.kernel.c_str());
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// GFLOP/s of `sgemm` on an LLM-shaped product (2048x512 times 512x512):
/// the best of three medians of 7 calls (a short burst of load elsewhere
/// spoils one median, rarely three), once the compiled code's OpenMP
/// threads have gone to sleep (they spin for up to 200 ms after a parallel
/// region).
double quietGemmRate(tool::SgemmFn sgemm) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int M = 2048, N = 512, K = 512;
  double best = 0;
  for (int i = 0; i < 3; ++i)
    best = std::max(
        best, 2.0 * M * N * K /
                  tool::medianSgemmSeconds(sgemm, false, false, M, N, K, 7) *
                  1e-9);
  return best;
}
} // namespace

llvm::Error tool::runBench() {
  if (train && bf16Params)
    return llvm::createStringError(
        "--bf16-params times forward passes; training steps keep f32 "
        "parameters");
  if (threads > 0)
    setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  if (op == "linear") {
    std::vector<std::string> products(shapes.begin(), shapes.end());
    if (products.empty())
      products = {"2048x512x512", "2048x512x2048", "2048x2048x512",
                  "8192x1024x1024"};
    CpuCompileOptions options;
    options.cacheDir = cacheDir;
    options.pipelineOptions = pipelineOptions;
    return tool::runLinearBench(products, iterations, threads, options);
  }
  if (llvm::Error err = requireFlags({{&config.getValue(), "config"}}))
    return err;
  if (tuning != "cached" && tuning != "off")
    return llvm::createStringError("--tuning must be cached or off, got '" +
                                   tuning + "'");
  llvm::Expected<ModelConfig> cfg = loadModelConfig(config);
  if (!cfg)
    return cfg.takeError();
  std::vector<int64_t> lengths(seqLens.begin(), seqLens.end());
  if (lengths.empty())
    lengths = {cfg->chunk_size};
  if (profile)
    return tool::runProfileBench(*cfg, lengths.front(), batch, iterations,
                                 train, cacheDir);
  if (op == "cema")
    return tool::runScanBench(*cfg, lengths, batch, iterations, threads,
                              tileSizes, cacheDir);
  if (op == "attention")
    return tool::runAttentionBench(*cfg, lengths, batch, iterations, threads,
                                   tileSizes, cacheDir);
  if (!op.empty())
    return llvm::createStringError(
        "--op must be cema, attention or linear, got '" + op + "'");

  rt::TensorMap weights;
  if (weightsPath.empty()) {
    weights = initializeParameters(*cfg, 0);
  } else {
    llvm::Expected<rt::TensorMap> loaded = loadWeights(*cfg, weightsPath);
    if (!loaded)
      return loaded.takeError();
    weights = std::move(*loaded);
  }

  // The GEMM rate is measured for each length right before and right after
  // its timed calls, and the best rate is the reference: a single median at
  // start-up read 176-272 GFLOP/s on the same machine from one run to the
  // next. Not between the calls: the compiled code's OpenMP threads keep
  // spinning for a while after each call and halve sgemm's rate.
  tool::SgemmFn sgemm = tool::loadOpenBlasSgemm(threads);
  llvm::outs() << "config " << config << ", batch " << batch << ", threads "
               << (threads > 0 ? std::to_string(threads) : "default") << "\n";
  if (sgemm)
    llvm::outs() << "GEMM rate (GEMM_GF/s): OpenBLAS sgemm 2048x512x512, the "
                    "best of the medians before and after the timed "
                    "calls\n";
  else
    llvm::outs() << "OpenBLAS not found: GEMM fraction not reported\n";
  llvm::outs() << (train ? "training steps (forward + backward + AdamW)\n"
                          : "forward passes\n");
  llvm::outs() << "     L   compile_s   ms/call   us/token    tokens/s  "
                  "GFLOP/s  of_GEMM  GEMM_GF/s  peak_MiB\n";

  CpuCompileOptions options;
  options.cacheDir = cacheDir;

  if (llvm::Error err = tool::selectBackend(options))
    return err;
  options.tile = tile;
  options.pipelineOptions = pipelineOptions;
  options.useTuningDatabase = tuning == "cached";
  std::mt19937 rng(0);
  for (int64_t L : lengths) {
    rt::HostTensor tokens = rt::HostTensor::zeros(rt::DType::I32, {batch, L});
    auto *ids = reinterpret_cast<int32_t *>(tokens.bytes.data());
    for (int64_t i = 0; i < batch * L; ++i)
      ids[i] = static_cast<int32_t>(rng() % cfg->vocab_size);

    // One timed call per iteration, whichever function is measured.
    std::function<llvm::Error()> call;
    std::unique_ptr<CompiledFunction> forward;
    std::unique_ptr<CompiledTrainer> trainer;
    TrainState state;
    auto t0 = Clock::now();
    if (train) {
      auto created = CompiledTrainer::create(*cfg, batch, L,
                                             OptimizerOptions(), options);
      if (!created)
        return created.takeError();
      trainer = std::move(*created);
      state = TrainState::fresh(*cfg, weights);
      call = [&]() -> llvm::Error {
        // A small rate keeps the weights sane over the timed steps.
        auto result = trainer->step(state, tokens, tokens, 1e-5);
        return result ? llvm::Error::success() : result.takeError();
      };
    } else {
      mlir::MLIRContext context;
      BuildOptions build;
      build.batch = batch;
      build.seqLen = L;
      build.emitLoss = build.emitDecode = false;
      build.bf16Parameters = bf16Params;
      auto module = buildModelModule(context, *cfg, build);
      if (!module)
        return module.takeError();
      auto fn = CompiledFunction::create(**module, "forward", weights, options);
      if (!fn)
        return fn.takeError();
      forward = std::move(*fn);
      call = [&]() -> llvm::Error {
        auto results = forward->call({&tokens});
        return results ? llvm::Error::success() : results.takeError();
      };
    }
    double compile = seconds(t0, Clock::now());
    double gemm = sgemm ? quietGemmRate(sgemm) : 0;
    std::vector<double> times;
    bool timeKernels = kernelTimes && options.backend == "cuda";
    for (int i = 0; i <= iterations; ++i) {
      if (i == 1 && timeKernels) {
        rt::cuda::takeKernelProfile(); // not the warm-up call's
        rt::cuda::setKernelProfiling(true);
      }
      auto start = Clock::now();
      if (llvm::Error err = call())
        return err;
      if (i > 0) // the first call warms caches and pages
        times.push_back(seconds(start, Clock::now()));
    }
    if (timeKernels)
      rt::cuda::setKernelProfiling(false);
    if (sgemm)
      gemm = std::max(gemm, quietGemmRate(sgemm));
    double t = median(times);
    double flops = (train ? 3.0 : 1.0) * forwardFlops(*cfg, batch, L).total();
    double tokensPerCall = static_cast<double>(batch * L);
    double gflops = flops / t * 1e-9;
    llvm::outs() << llvm::format(
        "%6lld  %10.2f  %8.2f  %9.2f  %10.0f  %7.2f", static_cast<long long>(L),
        compile, t * 1e3, t * 1e6 / tokensPerCall, tokensPerCall / t, gflops);
    if (sgemm) {
      llvm::outs() << llvm::format("  %6.1f%%  %9.1f", 100 * gflops / gemm,
                                   gemm);
    } else {
      llvm::outs() << "        -          -";
    }
    llvm::outs() << llvm::format("  %8.0f\n", peakResidentMiB());
    if (timeKernels)
      printKernelTimes(rt::cuda::takeKernelProfile(), iterations);
    llvm::outs().flush();
  }
  return llvm::Error::success();
}
