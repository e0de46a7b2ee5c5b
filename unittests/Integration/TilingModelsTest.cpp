//===- TilingModelsTest.cpp - Tiled megalodon ops vs the reference --------===//
//
// The TilingInterface models of the forward ops (TilingModels.cpp), driven
// by upstream's scf::tileUsingSCF: each case tiles one op of a small
// function, compiles the tiled function through the CPU pipeline and
// compares every result with the fp64 reference interpreter on the untiled
// function: |compiled - reference|_2 <= 1e-4 |reference|_2. The tiles
// cut every loop the op has (batch, tokens, output features, channels,
// heads, groups), and the ops whose attributes count a tiled extent
// (num_groups, num_heads) get the tile's. One case fuses a producer into
// the loops (a timestep norm into the CEMA scan that reads it, one group of
// channels per tile). Sizes a model refuses (a ragged edge, half a chunk of
// attention) fail to tile.
//
//===----------------------------------------------------------------------===//

#include "GradientCases.h"
#include "ReferenceToHost.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

using namespace megalodon;
using namespace megalodon::testing;
using ref::RefValue;

namespace {

struct TilingCase {
  const char *name;
  /// A function @f whose one megalodon op is tiled.
  const char *ir;
  /// Tile sizes of the op's iteration domain (0: not tiled).
  std::vector<int64_t> tiles;
  /// Arguments a uniform draw in [-1, 1) would not fit.
  std::map<unsigned, RefValue> fixed = {};
};

void PrintTo(const TilingCase &c, std::ostream *os) { *os << c.name; }

std::vector<TilingCase> tilingCases() {
  std::vector<double> variances;
  for (int i = 0; i < 8; ++i)
    variances.push_back(0.5 + 0.2 * i);
  return {
      {"CemaBatchAndChannels",
       R"mlir(
func.func @f(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
             %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>,
             %hx: tensor<2x64x4xcomplex<f32>>) -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>,
         tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return %y, %h : tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>
})mlir",
       {1, 16}},
      {"TimestepNormBatchAndGroups",
       R"mlir(
func.func @f(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>,
             %n: tensor<2xi64>, %m: tensor<2x4xf32>, %v: tensor<2x4xf32>)
    -> (tensor<2x16x64xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v)
      {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<2xi64>,
         tensor<2x4xf32>, tensor<2x4xf32>)
      -> (tensor<2x16x64xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>)
  return %y, %n1, %m1, %v1 : tensor<2x16x64xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>
})mlir",
       {1, 2},
       {{3, RefValue::integerTensor({2}, {3, 7})},
        {5, RefValue::realTensor({2, 4}, variances)}}},
      {"AttentionChunksAndHeads",
       R"mlir(
func.func @f(%q: tensor<2x32x32xf32>, %k: tensor<2x32x32xf32>, %v: tensor<2x32x64xf32>)
    -> tensor<2x32x64xf32> {
  %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<2x32x32xf32>, tensor<2x32x32xf32>, tensor<2x32x64xf32>) -> tensor<2x32x64xf32>
  return %a : tensor<2x32x64xf32>
})mlir",
       {1, 16, 1}},
      {"DecodingAttentionHeads",
       R"mlir(
func.func @f(%q: tensor<2x1x32xf32>, %k: tensor<2x1x32xf32>, %v: tensor<2x1x64xf32>,
             %kc: tensor<2x16x32xf32>, %vc: tensor<2x16x64xf32>, %len: tensor<i64>)
    -> tensor<2x1x64xf32> {
  %a = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len)
      {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<2x1x32xf32>, tensor<2x1x32xf32>, tensor<2x1x64xf32>, tensor<2x16x32xf32>,
         tensor<2x16x64xf32>, tensor<i64>) -> tensor<2x1x64xf32>
  return %a : tensor<2x1x64xf32>
})mlir",
       {1, 0, 1},
       {{5, RefValue::integerTensor({}, {5})}}},
      {"RmsNormRowsAndGroups",
       R"mlir(
func.func @f(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %y = megalodon.rms_norm %x weight(%w) {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
})mlir",
       {1, 8, 2}},
      {"LinearRowsAndOutputs",
       R"mlir(
func.func @f(%x: tensor<2x16x32xf32>, %w: tensor<48x32xf32>, %b: tensor<48xf32>)
    -> tensor<2x16x48xf32> {
  %y = megalodon.linear %x, %w bias(%b)
      : (tensor<2x16x32xf32>, tensor<48x32xf32>, tensor<48xf32>) -> tensor<2x16x48xf32>
  return %y : tensor<2x16x48xf32>
})mlir",
       {1, 8, 16}},
      {"LayerNormRows",
       R"mlir(
func.func @f(%x: tensor<1x16x32xf32>, %w: tensor<32xf32>, %b: tensor<32xf32>)
    -> tensor<1x16x32xf32> {
  %y = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-05 : f64}
      : (tensor<1x16x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
})mlir",
       {0, 4}},
      {"SharedQKRows",
       R"mlir(
func.func @f(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>)
    -> (tensor<1x16x32xf32>, tensor<1x16x32xf32>) {
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x32xf32>)
  return %q, %k : tensor<1x16x32xf32>, tensor<1x16x32xf32>
})mlir",
       {0, 8}},
      {"RotaryWholeChunks",
       R"mlir(
func.func @f(%x: tensor<1x32x32xf32>) -> tensor<1x32x32xf32> {
  %y = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 8 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return %y : tensor<1x32x32xf32>
})mlir",
       {0, 16}},
      {"ScaleChannelsEverywhere",
       R"mlir(
func.func @f(%x: tensor<1x16x32xf32>, %s: tensor<32xf32>) -> tensor<1x16x32xf32> {
  %y = megalodon.scale_channels %x, %s
      : (tensor<1x16x32xf32>, tensor<32xf32>) -> tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
})mlir",
       {0, 4, 8}},
      {"TimestepNormFusedIntoCema",
       R"mlir(
func.func @f(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>,
             %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>,
             %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) -> tensor<2x16x64xf32> {
  %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<2x16x64xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>)
  %c, %h = megalodon.cema %y params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>,
         tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return %c : tensor<2x16x64xf32>
})mlir",
       {1, 16}},
      {"SwigluEverywhere",
       R"mlir(
func.func @f(%g: tensor<1x16x32xf32>, %u: tensor<1x16x32xf32>) -> tensor<1x16x32xf32> {
  %y = megalodon.swiglu %g, %u : tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
})mlir",
       {0, 4, 16}},
  };
}

/// The megalodon ops of @f, in order.
llvm::SmallVector<mlir::TilingInterface> tileableOps(mlir::func::FuncOp func) {
  llvm::SmallVector<mlir::TilingInterface> ops;
  func.walk([&](mlir::TilingInterface op) {
    if (llvm::isa<mlir::megalodon::MegalodonDialect>(op->getDialect()))
      ops.push_back(op);
  });
  return ops;
}

/// Tiles @f's last op by `tiles` with upstream's tile-and-fuse driver, which
/// fuses the ops before it into the loops; the number of loops made, or
/// failure when the op does not tile or an op before it does not fuse.
mlir::FailureOr<size_t> tileInPlace(mlir::func::FuncOp func,
                                    llvm::ArrayRef<int64_t> tiles) {
  llvm::SmallVector<mlir::TilingInterface> ops = tileableOps(func);
  if (ops.empty())
    return mlir::failure();
  mlir::TilingInterface op = ops.back();
  mlir::IRRewriter rewriter(func.getContext());
  rewriter.setInsertionPoint(op);
  mlir::scf::SCFTileAndFuseOptions options;
  mlir::Builder b(func.getContext());
  llvm::SmallVector<mlir::OpFoldResult> sizes;
  for (int64_t t : tiles)
    sizes.push_back(b.getIndexAttr(t));
  options.tilingOptions.setTileSizes(sizes);
  mlir::FailureOr<mlir::scf::SCFTileAndFuseResult> tiled =
      mlir::scf::tileConsumerAndFuseProducersUsingSCF(rewriter, op, options);
  if (mlir::failed(tiled) || tiled->fusedProducers.size() + 1 != ops.size())
    return mlir::failure();
  for (mlir::OpResult result : op->getResults())
    rewriter.replaceAllUsesWith(result, tiled->replacements.at(result));
  rewriter.eraseOp(op);
  for (mlir::Operation *producer : llvm::reverse(tiled->fusedProducers))
    if (producer->use_empty())
      rewriter.eraseOp(producer);
  return tiled->loops.size();
}

void loadDialects(mlir::MLIRContext &context) {
  context
      .loadDialect<mlir::func::FuncDialect, mlir::megalodon::MegalodonDialect,
                   mlir::affine::AffineDialect, mlir::arith::ArithDialect,
                   mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
}

class TilingModelsTest : public ::testing::TestWithParam<TilingCase> {};

TEST_P(TilingModelsTest, TiledMatchesReference) {
  const TilingCase &c = GetParam();
  mlir::MLIRContext context;
  loadDialects(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(c.ir, &context);
  ASSERT_TRUE(module) << "the test IR does not parse or verify";
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  ASSERT_TRUE(func);

  GradCase draw;
  draw.fixed = c.fixed;
  draw.seed = 7;
  std::vector<RefValue> args = drawArguments(func, draw);
  llvm::Expected<std::vector<RefValue>> expected = ref::interpret(func, args);
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());

  mlir::FailureOr<size_t> loops = tileInPlace(func, c.tiles);
  ASSERT_TRUE(mlir::succeeded(loops)) << "the op did not tile";
  EXPECT_EQ(*loops, static_cast<size_t>(llvm::count_if(
                        c.tiles, [](int64_t t) { return t != 0; })));
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));

  auto results = compileAndCall(
      *module, "f", args, ::testing::TempDir() + "megalodon-tiling-artifacts");
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  expectCloseToReference(*results, *expected, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Ops, TilingModelsTest,
                         ::testing::ValuesIn(tilingCases()),
                         [](const ::testing::TestParamInfo<TilingCase> &info) {
                           return std::string(info.param.name);
                         });

/// Tiles the models refuse: the driver fails and leaves the op alone.
TEST(TilingModelsRefuseTest, RaggedOrPartialTiles) {
  const std::pair<int, std::vector<int64_t>> refused[] = {
      {0, {1, 24}},   // cema: 24 does not divide 64 channels
      {2, {1, 8, 1}}, // attention: half a chunk
      {3, {1, 8, 3}}, // rms_norm: 3 does not divide 4 groups
  };
  std::vector<TilingCase> cases = tilingCases();
  for (const auto &[index, tiles] : refused) {
    mlir::MLIRContext context;
    loadDialects(context);
    context.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(cases[index].ir, &context);
    ASSERT_TRUE(module);
    auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
    EXPECT_TRUE(mlir::failed(tileInPlace(func, tiles))) << cases[index].name;
  }
}

} // namespace
