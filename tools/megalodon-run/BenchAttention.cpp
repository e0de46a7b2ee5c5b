//===- BenchAttention.cpp - megalodon-run bench --op attention ------------===//
//
// Times one megalodon.chunk_attention (training form) and one
// megalodon.chunk_attention_grad at each length, with q, k [B, L, z_dim] and
// v [B, L, value_dim], heads and chunk size from the config, compiled twice
// in the same run: untiled (one chunk's [C, C] scores per head at a time)
// and tiled by megalodon-tile-attention (query and key blocks with an online
// softmax; sizes from --tile-sizes or the host default). The gradient gets
// the forward's output, as in a training step. FLOPs count the
// causal pairs only, as the model's FLOP count does: c (c + 1) / 2 per chunk
// and head, 2 (dz + dv) each; the gradient counts twice the forward. The
// score bytes are the largest score tensor one iteration keeps live: C^2
// untiled, query_block x key_block tiled.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "IsolatedOp.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Interfaces/TunableOpInterface.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace megalodon;

namespace {

/// @f: the forward (or, with `gradient`, the gradient) of one chunk
/// attention, its attributes followed by `extra` (a tile config or "").
std::string attentionIR(const ModelConfig &c, int64_t batch, int64_t length,
                        bool gradient, llvm::StringRef extra) {
  std::string qk =
      llvm::formatv("tensor<{0}x{1}x{2}xf32>", batch, length, c.z_dim);
  std::string v =
      llvm::formatv("tensor<{0}x{1}x{2}xf32>", batch, length, c.value_dim);
  std::string attrs = llvm::formatv(
      "{num_heads = {0} : i64, chunk_size = {1} : i64{2}{3}}", c.num_heads,
      c.chunk_size, extra.empty() ? "" : ", ", extra);
  if (!gradient)
    return llvm::formatv(R"mlir(
      func.func @f(%q: {0}, %k: {0}, %v: {1}) -> {1} {
        %o = megalodon.chunk_attention %q, %k, %v {2} : ({0}, {0}, {1}) -> {1}
        return %o : {1}
      })mlir",
                         qk, v, attrs);
  return llvm::formatv(R"mlir(
    func.func @f(%q: {0}, %k: {0}, %v: {1}, %g: {1}, %o: {1})
        -> ({0}, {0}, {1}) {
      %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%g)
          out(%o) {2} : ({0}, {0}, {1}, {1}, {1}) -> ({0}, {0}, {1})
      return %gq, %gk, %gv : {0}, {0}, {1}
    })mlir",
                       qk, v, attrs);
}

/// The block sizes the tiled variant gets: the config written in `module`
/// (from --tile-sizes), or the op's default for the host.
llvm::Expected<std::pair<int64_t, int64_t>> blockSizes(mlir::ModuleOp module,
                                                       int64_t threads) {
  mlir::Operation *op = nullptr;
  module.walk([&](mlir::megalodon::TunableOpInterface t) { op = t; });
  if (!op)
    return llvm::createStringError("internal error: no tunable op");
  mlir::DictionaryAttr sizes;
  if (auto config = op->getAttrOfType<mlir::megalodon::TileConfigAttr>(
          mlir::megalodon::kTileConfigAttrName))
    sizes = config.getSizes();
  else
    sizes =
        llvm::cast<mlir::megalodon::TunableOpInterface>(op).getDefaultTileSizes(
            mlir::megalodon::TargetFacts::host(threads));
  if (!sizes)
    return llvm::createStringError("the op has no tiled form here");
  std::string why;
  {
    mlir::ScopedDiagnosticHandler capture(module.getContext(),
                                          [&](mlir::Diagnostic &d) {
                                            why = d.str();
                                            return mlir::success();
                                          });
    if (failed(
            llvm::cast<mlir::megalodon::TunableOpInterface>(op).verifyTileSizes(
                sizes, mlir::megalodon::TargetFacts::host(threads))))
      return llvm::createStringError("--tile-sizes: " + why);
  }
  return std::make_pair(
      mlir::megalodon::getTileSize(sizes, "query_block").value_or(0),
      mlir::megalodon::getTileSize(sizes, "key_block").value_or(0));
}

} // namespace

llvm::Error tool::runAttentionBench(const ModelConfig &config,
                                    const std::vector<int64_t> &lengths,
                                    int64_t batch, int iterations,
                                    int64_t threads,
                                    const std::string &tileSizes,
                                    const std::string &cacheDir) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  CpuCompileOptions tiled;
  tiled.cacheDir = cacheDir;
  CpuCompileOptions untiled = tiled;
  untiled.tile = false;
  std::string extra = tool::tileConfigEntry(tileSizes);

  llvm::outs() << llvm::format(
      "chunk attention, B %lld, heads %lld, z_dim %lld, value_dim %lld, "
      "chunk %lld\n",
      static_cast<long long>(batch), static_cast<long long>(config.num_heads),
      static_cast<long long>(config.z_dim),
      static_cast<long long>(config.value_dim),
      static_cast<long long>(config.chunk_size));
  llvm::outs() << "     L  pass        blocks  untiled_ms  GFLOP/s  scores_KiB"
                  "    tiled_ms  GFLOP/s  scores_KiB  speedup\n";
  for (int64_t L : lengths) {
    int64_t rows = std::min(L, config.chunk_size);
    if (L % rows != 0)
      return llvm::createStringError(
          llvm::formatv("--seq-len {0} is not a whole number of chunks", L)
              .str());
    double pairs = 0.5 * rows * (rows + 1) * batch * (L / rows);
    double forwardFlops = pairs * 2.0 * (config.z_dim + config.value_dim);
    for (bool gradient : {false, true}) {
      auto plain = mlir::parseSourceString<mlir::ModuleOp>(
          attentionIR(config, batch, L, gradient, ""), &context);
      auto blocked = mlir::parseSourceString<mlir::ModuleOp>(
          attentionIR(config, batch, L, gradient, extra), &context);
      if (!plain || !blocked)
        return llvm::createStringError("internal error: benchmark IR invalid");
      auto sizes = blockSizes(*blocked, threads);
      if (!sizes)
        return sizes.takeError();
      auto untiledTime = tool::timeFunction(*plain, untiled, iterations);
      if (!untiledTime)
        return untiledTime.takeError();
      auto tiledTime = tool::timeFunction(*blocked, tiled, iterations);
      if (!tiledTime)
        return tiledTime.takeError();
      double flops = gradient ? 2 * forwardFlops : forwardFlops;
      std::string blocks =
          llvm::formatv("{0}x{1}", sizes->first, sizes->second);
      llvm::outs() << llvm::format(
          "%6lld  %-8s  %8s  %10.3f  %7.2f  %10.0f  %10.3f  %7.2f  %10.0f  "
          "%6.2fx\n",
          static_cast<long long>(L), gradient ? "gradient" : "forward",
          blocks.c_str(), *untiledTime * 1e3, flops / *untiledTime * 1e-9,
          rows * rows * 4.0 / 1024, *tiledTime * 1e3, flops / *tiledTime * 1e-9,
          sizes->first * sizes->second * 4.0 / 1024, *untiledTime / *tiledTime);
      llvm::outs().flush();
    }
  }
  return llvm::Error::success();
}
