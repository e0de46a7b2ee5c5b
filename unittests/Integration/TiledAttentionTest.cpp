//===- TiledAttentionTest.cpp - Blocked chunk attention vs the reference --===//
//
// megalodon.chunk_attention and megalodon.chunk_attention_grad with a
// hand-written tile config go through megalodon-tile-attention (the CPU
// pipeline's tiling stage) and must match the fp64 reference interpreter,
// per result tensor, to a relative L2 error of 1e-5; the gradient both with
// and without the forward's output as an operand. The configs cover
// blocks that divide the chunk and blocks that do not (a last query and key
// block that overlap the one before), query blocks larger and smaller than
// key blocks, one block per chunk, blocks of one row, several chunks and
// heads, a sequence shorter than a chunk, a batch of two, and the small
// model's shapes.
//
//===----------------------------------------------------------------------===//

#include "GradientCases.h"
#include "ReferenceToHost.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "gtest/gtest.h"

using namespace megalodon;
using namespace megalodon::testing;

namespace {

struct TiledCase {
  const char *name;
  int64_t batch, length, heads, dz, dv, chunk;
  int64_t queryBlock, keyBlock;
};

/// @forward: chunk_attention; @gradient: chunk_attention_grad, which
/// recomputes the forward's output; @gradient_with_out: the same given the
/// output; all with the case's tile config.
std::string attentionIR(const TiledCase &c) {
  std::string qk = llvm::formatv("tensor<{0}x{1}x{2}xf32>", c.batch, c.length,
                                 c.heads * c.dz);
  std::string v = llvm::formatv("tensor<{0}x{1}x{2}xf32>", c.batch, c.length,
                                c.heads * c.dv);
  std::string attrs = llvm::formatv(
      "{num_heads = {0} : i64, chunk_size = {1} : i64, "
      "megalodon.tile_config = #megalodon.tile_config<{{query_block = {2} : "
      "i64, key_block = {3} : i64}, source = \"user\">}",
      c.heads, c.chunk, c.queryBlock, c.keyBlock);
  return llvm::formatv(R"mlir(
    func.func @forward(%q: {0}, %k: {0}, %v: {1}) -> {1} {
      %o = megalodon.chunk_attention %q, %k, %v {2}
          : ({0}, {0}, {1}) -> {1}
      return %o : {1}
    }
    func.func @gradient(%q: {0}, %k: {0}, %v: {1}, %g: {1})
        -> ({0}, {0}, {1}) {
      %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%g) {2}
          : ({0}, {0}, {1}, {1}) -> ({0}, {0}, {1})
      return %gq, %gk, %gv : {0}, {0}, {1}
    }
    func.func @gradient_with_out(%q: {0}, %k: {0}, %v: {1}, %g: {1})
        -> ({0}, {0}, {1}) {
      %o = megalodon.chunk_attention %q, %k, %v {2}
          : ({0}, {0}, {1}) -> {1}
      %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%g)
          out(%o) {2} : ({0}, {0}, {1}, {1}, {1}) -> ({0}, {0}, {1})
      return %gq, %gk, %gv : {0}, {0}, {1}
    })mlir",
                       qk, v, attrs);
}

class TiledAttentionTest : public ::testing::TestWithParam<TiledCase> {};

TEST_P(TiledAttentionTest, MatchesReference) {
  const TiledCase &c = GetParam();
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  std::string ir = attentionIR(c);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  ASSERT_TRUE(module) << ir;

  for (const char *name : {"forward", "gradient", "gradient_with_out"}) {
    SCOPED_TRACE(name);
    auto func = module->lookupSymbol<mlir::func::FuncOp>(name);
    GradCase draw;
    draw.seed = 2000 + c.length;
    std::vector<ref::RefValue> args = drawArguments(func, draw);
    auto expected = ref::interpret(func, args);
    ASSERT_TRUE(static_cast<bool>(expected))
        << llvm::toString(expected.takeError());
    auto results =
        compileAndCall(*module, name, args,
                       ::testing::TempDir() + "megalodon-tiled-attention");
    ASSERT_TRUE(static_cast<bool>(results))
        << llvm::toString(results.takeError());
    expectCloseToReference(*results, *expected, 1e-5);
  }
}

std::string caseName(const ::testing::TestParamInfo<TiledCase> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, TiledAttentionTest,
    ::testing::Values(
        // name, B, L, H, dz, dv, chunk, query_block, key_block
        TiledCase{"DividingBlocks", 1, 64, 2, 16, 32, 32, 8, 8},
        TiledCase{"RaggedBlocks", 1, 40, 2, 16, 32, 20, 8, 6},
        TiledCase{"WideQueryBlocks", 1, 48, 1, 8, 16, 48, 16, 5},
        TiledCase{"WideKeyBlocks", 2, 48, 2, 8, 16, 24, 4, 16},
        TiledCase{"OneBlockPerChunk", 1, 32, 2, 8, 16, 16, 16, 16},
        TiledCase{"OneRowBlocks", 1, 12, 1, 4, 8, 12, 1, 1},
        TiledCase{"ShorterThanChunk", 2, 13, 2, 8, 8, 32, 5, 7},
        // The small model's chunk and head shapes with the host default's
        // blocks: the sizes at which elementwise fusion reorders the
        // statistics' updates.
        TiledCase{"SmallModelShapes", 1, 256, 2, 32, 256, 256, 64, 32}),
    caseName);

} // namespace
