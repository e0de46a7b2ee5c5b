//===- TiledCemaTest.cpp - The two-level cema scan vs the reference -------===//
//
// megalodon.cema with a hand-written tile config goes through
// megalodon-tile-cema (the CPU pipeline's tiling stage) and must match the
// fp64 reference interpreter: y and the last state, per tensor, to a
// relative L2 error of 1e-5. The configs cover one and several state groups,
// one and two vectors of lanes, time blocks that do and do not divide the
// sequence (a ragged last block), a block of one step, a carried state and
// none, and a last state that the function does not return.
//
//===----------------------------------------------------------------------===//

#include "GradientCases.h"
#include "ReferenceToHost.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "gtest/gtest.h"

using namespace megalodon;
using namespace megalodon::testing;

namespace {

struct TiledCase {
  const char *name;
  int64_t batch, steps, channels, states;
  int64_t blockTime, lanes, stateGroup;
  bool carried;
  /// Whether the function returns h_last; when it does not, the scan's
  /// state between groups and blocks is private to each channel group.
  bool returnsState = true;
};

std::string cemaIR(const TiledCase &c) {
  std::string x =
      llvm::formatv("tensor<{0}x{1}x{2}xf32>", c.batch, c.steps, c.channels);
  std::string dn1 =
      llvm::formatv("tensor<{0}x{1}x1xf32>", c.channels, c.states);
  std::string d11 = llvm::formatv("tensor<{0}x1x1xf32>", c.channels);
  std::string dn2 =
      llvm::formatv("tensor<{0}x{1}x2xf32>", c.channels, c.states);
  std::string d1 = llvm::formatv("tensor<{0}x1xf32>", c.channels);
  std::string h = llvm::formatv("tensor<{0}x{1}x{2}xcomplex<f32>>", c.batch,
                                c.channels, c.states);
  std::string config = llvm::formatv(
      "{megalodon.tile_config = #megalodon.tile_config<{{block_time = {0} : "
      "i64, lanes = {1} : i64, state_group = {2} : i64}, source = \"user\">}",
      c.blockTime, c.lanes, c.stateGroup);
  std::string hxArg = c.carried ? ", %hx: " + h : "";
  std::string state = c.carried ? " state(%hx)" : "";
  std::string hxType = c.carried ? ", " + h : "";
  std::string results = c.returnsState ? x + ", " + h : x;
  std::string returned = c.returnsState ? "%y, %h" : "%y";
  return llvm::formatv(R"mlir(
    func.func @f(%x: {0}, %a: {1}, %d: {1}, %t: {2}, %g: {3}, %o: {4}{5})
        -> ({10}) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o){7} {8}
          : ({0}, {1}, {1}, {2}, {3}, {4}{9}) -> ({0}, {6})
      return {11} : {10}
    })mlir",
                       x, dn1, d11, dn2, d1, hxArg, h, state, config, hxType,
                       results, returned);
}

class TiledCemaTest : public ::testing::TestWithParam<TiledCase> {};

TEST_P(TiledCemaTest, MatchesReference) {
  const TiledCase &c = GetParam();
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  std::string ir = cemaIR(c);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  ASSERT_TRUE(module) << ir;
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");

  // A config beyond this machine's registers is rejected by the pipeline's
  // verify pass; such cases are skipped here rather than failed.
  std::string rejected;
  {
    mlir::ScopedDiagnosticHandler capture(&context, [&](mlir::Diagnostic &d) {
      rejected = d.str();
      return mlir::success();
    });
    auto cema = *func.getOps<mlir::megalodon::CemaOp>().begin();
    auto config = cema->getAttrOfType<mlir::megalodon::TileConfigAttr>(
        mlir::megalodon::kTileConfigAttrName);
    if (failed(cema.verifyTileSizes(config.getSizes(),
                                    mlir::megalodon::TargetFacts::host())))
      GTEST_SKIP() << "not for this machine: " << rejected;
  }

  GradCase draw;
  draw.seed = 1000 + c.steps;
  std::vector<ref::RefValue> args = drawArguments(func, draw);
  auto expected = ref::interpret(func, args);
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());

  auto results =
      compileAndCall(*module, "f", args,
                     ::testing::TempDir() + "megalodon-tiled-cema-artifacts");
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  ASSERT_EQ(results->size(), expected->size());
  for (size_t r = 0; r < results->size(); ++r)
    EXPECT_LE(relativeL2Error((*results)[r].toF64(),
                              flattenReference((*expected)[r])),
              1e-5)
        << (r == 0 ? "y" : "h_last");
}

std::string caseName(const ::testing::TestParamInfo<TiledCase> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, TiledCemaTest,
    ::testing::Values(
        // name, B, L, D, N, block_time, lanes, state_group, carried state
        TiledCase{"RaggedBlocks", 2, 37, 32, 4, 16, 16, 4, true},
        TiledCase{"SeveralStateGroups", 1, 64, 64, 16, 16, 16, 4, false},
        TiledCase{"NarrowLanesSmallGroups", 2, 37, 32, 4, 7, 8, 2, true},
        TiledCase{"TwoVectorsOfLanes", 1, 50, 64, 8, 32, 32, 2, true},
        TiledCase{"OneStepBlocks", 2, 9, 16, 4, 1, 4, 1, true},
        TiledCase{"WholeSequenceBlock", 1, 40, 16, 16, 40, 16, 4, false},
        TiledCase{"OneBlockSeveralGroups", 1, 128, 64, 16, 128, 16, 4, false},
        TiledCase{"UnusedLastState", 1, 128, 16, 16, 128, 16, 4, false,
                  /*returnsState=*/false},
        TiledCase{"UnusedLastStateCarried", 2, 40, 32, 8, 16, 16, 2, true,
                  /*returnsState=*/false}),
    caseName);

} // namespace
