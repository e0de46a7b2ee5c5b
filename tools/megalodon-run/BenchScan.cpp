//===- BenchScan.cpp - megalodon-run bench --op cema ----------------------===//
//
// Times one megalodon.cema (x [B, L, D], N states: D and N from the config)
// compiled twice in the same run, with the tiling passes (the two-level
// vector scan of megalodon-tile-cema, its tile config chosen for the host)
// and without (the per-step linalg lowering), and reports both against the
// FMA peak of the same threads, measured by a compiled kernel of independent
// vector FMAs. FLOPs count the recurrence's arithmetic, 12 per (batch, step,
// channel, state): the complex update p u + q h (8) and the real part of
// gamma h added to y (4). Its minimum is 7 FMA-unit instructions for 12
// FLOPs, so a perfect schedule reaches 86% of the peak.
//
// A second table times megalodon.cema_grad the same way (ms only): tiled
// with the given sizes when they are the block form's (`matrix_block`, the
// one config the forward and the gradient share), else with the host's
// defaults.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Driver/CompiledFunction.h"
#include "megalodon/Interfaces/TunableOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <random>

using namespace megalodon;

namespace {

llvm::Expected<std::unique_ptr<CompiledFunction>>
compileText(mlir::MLIRContext &context, const std::string &ir,
            const CpuCompileOptions &options) {
  auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  if (!module)
    return llvm::createStringError("internal error: benchmark IR invalid");
  return CompiledFunction::create(*module, "f", {}, options);
}

/// FLOP/s of `threads` x 16 independent chains of vector FMAs of the host's
/// width: the peak the scan is measured against.
llvm::Expected<double> measureFmaPeak(mlir::MLIRContext &context,
                                      const CpuCompileOptions &options,
                                      int64_t threads) {
  constexpr int64_t kChains = 16, kSteps = 1 << 20;
  int64_t lanes = mlir::megalodon::TargetFacts::host().vectorLanes;
  std::string vec = llvm::formatv("vector<{0}xf32>", lanes);
  std::string ir;
  llvm::raw_string_ostream os(ir);
  os << "func.func @f(%in: tensor<" << threads << "x" << lanes
     << "xf32>) -> tensor<" << threads << "x" << lanes << "xf32> {\n"
     << "  %c0 = arith.constant 0 : index\n  %c1 = arith.constant 1 : index\n"
     << "  %n = arith.constant " << kSteps << " : index\n"
     << "  %z = arith.constant 0.0 : f32\n"
     << "  %init = tensor.empty() : tensor<" << threads << "x" << lanes
     << "xf32>\n"
     << "  %r = scf.forall (%t) in (" << threads
     << ") shared_outs(%o = %init) -> (tensor<" << threads << "x" << lanes
     << "xf32>) {\n"
     << "    %a = vector.transfer_read %in[%t, %c0], %z {in_bounds = [true]} : "
     << "tensor<" << threads << "x" << lanes << "xf32>, " << vec << "\n"
     << "    %b = arith.constant dense<0.999> : " << vec << "\n"
     << "    %l:" << kChains << " = scf.for %i = %c0 to %n step %c1 iter_args(";
  for (int64_t c = 0; c < kChains; ++c)
    os << (c ? ", " : "") << "%s" << c << " = %a";
  os << ") -> (";
  for (int64_t c = 0; c < kChains; ++c)
    os << (c ? ", " : "") << vec;
  os << ") {\n";
  for (int64_t c = 0; c < kChains; ++c)
    os << "      %f" << c << " = vector.fma %s" << c << ", %b, %a : " << vec
       << "\n";
  os << "      scf.yield ";
  for (int64_t c = 0; c < kChains; ++c)
    os << (c ? ", " : "") << "%f" << c;
  os << " : ";
  for (int64_t c = 0; c < kChains; ++c)
    os << (c ? ", " : "") << vec;
  os << "\n    }\n    %sum0 = arith.addf %l#0, %l#1 : " << vec << "\n";
  for (int64_t c = 2; c < kChains; ++c)
    os << "    %sum" << c - 1 << " = arith.addf %sum" << c - 2 << ", %l#" << c
       << " : " << vec << "\n";
  os << "    %row = tensor.empty() : tensor<1x" << lanes << "xf32>\n"
     << "    %w = vector.transfer_write %sum" << kChains - 2
     << ", %row[%c0, %c0] {in_bounds = [true]} : " << vec << ", tensor<1x"
     << lanes << "xf32>\n"
     << "    scf.forall.in_parallel {\n"
     << "      tensor.parallel_insert_slice %w into %o[%t, 0] [1, " << lanes
     << "] [1, 1] : tensor<1x" << lanes << "xf32> into tensor<" << threads
     << "x" << lanes << "xf32>\n    }\n  }\n"
     << "  return %r : tensor<" << threads << "x" << lanes << "xf32>\n}\n";
  auto fn = compileText(context, ir, options);
  if (!fn)
    return fn.takeError();
  rt::HostTensor in = rt::HostTensor::zeros(rt::DType::F32, {threads, lanes});
  auto t = tool::medianCallSeconds(**fn, {&in}, 5);
  if (!t)
    return t.takeError();
  return 2.0 * static_cast<double>(threads * kChains * kSteps * lanes) / *t;
}

std::string cemaIR(int64_t B, int64_t L, int64_t D, int64_t N,
                   llvm::StringRef sizes) {
  std::string config = tool::tileConfigEntry(sizes);
  std::string attrs = config.empty() ? "" : "{" + config + "}";
  return llvm::formatv(R"mlir(
    func.func @f(%x: tensor<{0}x{1}x{2}xf32>, %a: tensor<{2}x{3}x1xf32>,
                 %d: tensor<{2}x{3}x1xf32>, %t: tensor<{2}x1x1xf32>,
                 %g: tensor<{2}x{3}x2xf32>, %o: tensor<{2}x1xf32>)
        -> tensor<{0}x{1}x{2}xf32> {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) {4}
          : (tensor<{0}x{1}x{2}xf32>, tensor<{2}x{3}x1xf32>, tensor<{2}x{3}x1xf32>,
             tensor<{2}x1x1xf32>, tensor<{2}x{3}x2xf32>, tensor<{2}x1xf32>)
          -> (tensor<{0}x{1}x{2}xf32>, tensor<{0}x{2}x{3}xcomplex<f32>>)
      return %y : tensor<{0}x{1}x{2}xf32>
    })mlir",
                       B, L, D, N, attrs);
}

/// cema_grad with all its gradients returned, so that none is dropped.
std::string cemaGradIR(int64_t B, int64_t L, int64_t D, int64_t N,
                       llvm::StringRef sizes) {
  std::string config = tool::tileConfigEntry(sizes);
  std::string attrs = config.empty() ? "" : "{" + config + "}";
  return llvm::formatv(R"mlir(
    func.func @f(%x: tensor<{0}x{1}x{2}xf32>, %a: tensor<{2}x{3}x1xf32>,
                 %d: tensor<{2}x{3}x1xf32>, %t: tensor<{2}x1x1xf32>,
                 %g: tensor<{2}x{3}x2xf32>, %o: tensor<{2}x1xf32>,
                 %gy: tensor<{0}x{1}x{2}xf32>)
        -> (tensor<{0}x{1}x{2}xf32>, tensor<{2}x{3}x1xf32>,
            tensor<{2}x{3}x1xf32>, tensor<{2}x1x1xf32>,
            tensor<{2}x{3}x2xf32>, tensor<{2}x1xf32>) {
      %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) grad(%gy) {4}
          : (tensor<{0}x{1}x{2}xf32>, tensor<{2}x{3}x1xf32>,
             tensor<{2}x{3}x1xf32>, tensor<{2}x1x1xf32>,
             tensor<{2}x{3}x2xf32>, tensor<{2}x1xf32>, tensor<{0}x{1}x{2}xf32>)
          -> (tensor<{0}x{1}x{2}xf32>, tensor<{2}x{3}x1xf32>,
              tensor<{2}x{3}x1xf32>, tensor<{2}x1x1xf32>,
              tensor<{2}x{3}x2xf32>, tensor<{2}x1xf32>)
      return %gx, %ga, %gd, %gt, %gg, %go
          : tensor<{0}x{1}x{2}xf32>, tensor<{2}x{3}x1xf32>,
            tensor<{2}x{3}x1xf32>, tensor<{2}x1x1xf32>,
            tensor<{2}x{3}x2xf32>, tensor<{2}x1xf32>
    })mlir",
                       B, L, D, N, attrs);
}

rt::HostTensor uniformTensor(std::vector<int64_t> shape, std::mt19937 &rng) {
  rt::HostTensor t = rt::HostTensor::zeros(rt::DType::F32, shape);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = u(rng);
  return t;
}

} // namespace

llvm::Error tool::runScanBench(const ModelConfig &config,
                               const std::vector<int64_t> &lengths,
                               int64_t batch, int iterations, int64_t threads,
                               const std::string &tileSizes,
                               const std::string &cacheDir) {
  mlir::MLIRContext context;
  context
      .loadDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                   mlir::megalodon::MegalodonDialect, mlir::scf::SCFDialect,
                   mlir::tensor::TensorDialect, mlir::vector::VectorDialect>();
  CpuCompileOptions tiled;
  tiled.cacheDir = cacheDir;
  CpuCompileOptions untiled = tiled;
  untiled.tile = false;
  int64_t peakThreads = threads > 0 ? threads : 1;
  auto peak = measureFmaPeak(context, tiled, peakThreads);
  if (!peak)
    return peak.takeError();
  const int64_t D = config.model_dim, N = config.cema_ndim;
  llvm::outs() << llvm::format(
      "cema forward, B %lld, D %lld, N %lld; FMA peak of %lld thread(s): %.1f "
      "GFLOP/s\n",
      static_cast<long long>(batch), static_cast<long long>(D),
      static_cast<long long>(N), static_cast<long long>(peakThreads),
      *peak * 1e-9);
  llvm::outs() << "     L   untiled_ms  GFLOP/s  of_peak    tiled_ms  GFLOP/s  "
                  "of_peak  speedup\n";
  std::mt19937 rng(0);
  std::string gradSizes = llvm::StringRef(tileSizes).contains("matrix_block")
                              ? tileSizes
                              : std::string();
  std::vector<std::pair<int64_t, std::array<double, 2>>> gradMs;
  for (int64_t L : lengths) {
    std::string ir = cemaIR(batch, L, D, N, "");
    std::string tiledIR = cemaIR(batch, L, D, N, tileSizes);
    std::vector<rt::HostTensor> args = {
        uniformTensor({batch, L, D}, rng), uniformTensor({D, N, 1}, rng),
        uniformTensor({D, N, 1}, rng),     uniformTensor({D, 1, 1}, rng),
        uniformTensor({D, N, 2}, rng),     uniformTensor({D, 1}, rng)};
    std::vector<const rt::HostTensor *> pointers;
    for (const rt::HostTensor &t : args)
      pointers.push_back(&t);
    double flops = 12.0 * static_cast<double>(batch * L * D * N);
    double ms[2], rate[2];
    for (int variant = 0; variant < 2; ++variant) {
      auto fn = variant ? compileText(context, tiledIR, tiled)
                        : compileText(context, ir, untiled);
      if (!fn)
        return fn.takeError();
      auto t = tool::medianCallSeconds(**fn, pointers, iterations);
      if (!t)
        return t.takeError();
      ms[variant] = *t * 1e3;
      rate[variant] = flops / *t;
    }
    llvm::outs() << llvm::format(
        "%6lld  %11.3f  %7.2f  %6.1f%%  %10.3f  %7.2f  %6.1f%%  %6.2fx\n",
        static_cast<long long>(L), ms[0], rate[0] * 1e-9, 100 * rate[0] / *peak,
        ms[1], rate[1] * 1e-9, 100 * rate[1] / *peak, ms[0] / ms[1]);
    llvm::outs().flush();

    // The gradient's inputs: the forward's and gy (pointers re-taken, as
    // the push may move the tensors).
    args.push_back(uniformTensor({batch, L, D}, rng));
    pointers.clear();
    for (const rt::HostTensor &t : args)
      pointers.push_back(&t);
    std::array<double, 2> grad;
    for (int variant = 0; variant < 2; ++variant) {
      auto fn =
          variant
              ? compileText(context, cemaGradIR(batch, L, D, N, gradSizes),
                            tiled)
              : compileText(context, cemaGradIR(batch, L, D, N, ""), untiled);
      if (!fn)
        return fn.takeError();
      auto t = tool::medianCallSeconds(**fn, pointers, iterations);
      if (!t)
        return t.takeError();
      grad[variant] = *t * 1e3;
    }
    gradMs.push_back({L, grad});
  }
  llvm::outs() << "cema gradient\n     L   untiled_ms    tiled_ms  speedup\n";
  for (auto &[L, grad] : gradMs)
    llvm::outs() << llvm::format("%6lld  %11.3f  %10.3f  %6.2fx\n",
                                 static_cast<long long>(L), grad[0], grad[1],
                                 grad[0] / grad[1]);
  return llvm::Error::success();
}
