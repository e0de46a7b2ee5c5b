//===- TiledCemaTest.cpp - The vector cema scans vs the reference ---------===//
//
// megalodon.cema and megalodon.cema_grad with a hand-written tile config go
// through megalodon-tile-cema (the CPU pipeline's tiling stage) and must
// match the fp64 reference interpreter, per result tensor, to a relative L2
// error of 1e-5. The configs cover one and several state groups, one and
// two vectors of lanes, time (or checkpoint) blocks that do and do not
// divide the sequence (a ragged last block), blocks of one step, a carried
// state (and, for the gradient, a cotangent of the last state) and none,
// and a last state that the function does not return. The block (matrix)
// form, forward and gradient, runs with one block, several, blocks of one,
// two and 128 steps, with and without a carried state.
//
//===----------------------------------------------------------------------===//

#include "GradientCases.h"
#include "ReferenceToHost.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"
#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"
#include "megalodon/Interfaces/TunableOpInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "gtest/gtest.h"

#include <array>
#include <ostream>

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
  /// The block (matrix) form: the config is `matrix_block = blockTime`,
  /// and lanes and stateGroup are unused.
  bool matrixForm = false;
};

/// Test output names the case rather than printing the struct's bytes.
void PrintTo(const TiledCase &c, std::ostream *os) { *os << c.name; }

/// The types of a case's x, alpha (and delta), theta, gamma, omega and
/// complex state.
std::array<std::string, 6> cemaTypes(const TiledCase &c) {
  return {
      llvm::formatv("tensor<{0}x{1}x{2}xf32>", c.batch, c.steps, c.channels),
      llvm::formatv("tensor<{0}x{1}x1xf32>", c.channels, c.states),
      llvm::formatv("tensor<{0}x1x1xf32>", c.channels),
      llvm::formatv("tensor<{0}x{1}x2xf32>", c.channels, c.states),
      llvm::formatv("tensor<{0}x1xf32>", c.channels),
      llvm::formatv("tensor<{0}x{1}x{2}xcomplex<f32>>", c.batch, c.channels,
                    c.states)};
}

std::string cemaIR(const TiledCase &c) {
  auto [x, dn1, d11, dn2, d1, h] = cemaTypes(c);
  std::string sizes =
      c.matrixForm
          ? llvm::formatv("matrix_block = {0} : i64", c.blockTime).str()
          : llvm::formatv(
                "block_time = {0} : i64, lanes = {1} : i64, state_group = "
                "{2} : i64",
                c.blockTime, c.lanes, c.stateGroup)
                .str();
  std::string config = "{megalodon.tile_config = #megalodon.tile_config<{" +
                       sizes + "}, source = \"user\">}";
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

/// cema_grad with the case's config: checkpoint_block = block_time; with
/// `carried`, a carried state hx and a cotangent of the last state.
std::string cemaGradIR(const TiledCase &c) {
  auto [x, dn1, d11, dn2, d1, h] = cemaTypes(c);
  std::string sizes =
      c.matrixForm
          ? llvm::formatv("matrix_block = {0} : i64", c.blockTime).str()
          : llvm::formatv("checkpoint_block = {0} : i64, lanes = {1} : i64, "
                          "state_group = {2} : i64",
                          c.blockTime, c.lanes, c.stateGroup)
                .str();
  std::string config = "{megalodon.tile_config = #megalodon.tile_config<{" +
                       sizes + "}, source = \"user\">}";
  std::string params =
      x + ", " + dn1 + ", " + dn1 + ", " + d11 + ", " + dn2 + ", " + d1;
  std::string results = params;
  std::string args = "%x: " + x + ", %a: " + dn1 + ", %d: " + dn1 +
                     ", %t: " + d11 + ", %g: " + dn2 + ", %o: " + d1 +
                     ", %gy: " + x;
  std::string operandTypes = params + ", " + x;
  std::string names = "%gx, %ga, %gd, %gt, %gg, %go";
  std::string state, grads = "%gy";
  if (c.carried) {
    args += ", %hx: " + h + ", %gh: " + h;
    operandTypes = params + ", " + h + ", " + x + ", " + h;
    results += ", " + h;
    names += ", %ghx";
    state = " state(%hx)";
    grads += ", %gh";
  }
  return llvm::formatv(R"mlir(
    func.func @f({0}) -> ({1}) {
      {2} = megalodon.cema_grad %x params(%a, %d, %t, %g, %o){3}
          grad({4}) {5} : ({6}) -> ({1})
      return {2} : {1}
    })mlir",
                       args, results, names, state, grads, config,
                       operandTypes);
}

/// Compiles @f of `ir` and checks every result against the reference
/// interpreter (relative L2 error 1e-5). A config beyond this machine's
/// registers is rejected by the pipeline's verify pass; such cases are
/// skipped rather than failed.
void checkAgainstReference(const std::string &ir, uint64_t seed) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::func::FuncDialect,
                      mlir::megalodon::MegalodonDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  ASSERT_TRUE(module) << ir;
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");

  std::string rejected;
  {
    mlir::ScopedDiagnosticHandler capture(&context, [&](mlir::Diagnostic &d) {
      rejected = d.str();
      return mlir::success();
    });
    auto op = *func.getOps<mlir::megalodon::TunableOpInterface>().begin();
    auto config = op->getAttrOfType<mlir::megalodon::TileConfigAttr>(
        mlir::megalodon::kTileConfigAttrName);
    if (failed(op.verifyTileSizes(config.getSizes(),
                                  mlir::megalodon::TargetFacts::host())))
      GTEST_SKIP() << "not for this machine: " << rejected;
  }

  GradCase draw;
  draw.seed = seed;
  std::vector<ref::RefValue> args = drawArguments(func, draw);
  auto expected = ref::interpret(func, args);
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());
  auto results =
      compileAndCall(*module, "f", args,
                     ::testing::TempDir() + "megalodon-tiled-cema-artifacts");
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  expectCloseToReference(*results, *expected, 1e-5);
}

class TiledCemaTest : public ::testing::TestWithParam<TiledCase> {};

TEST_P(TiledCemaTest, MatchesReference) {
  checkAgainstReference(cemaIR(GetParam()), 1000 + GetParam().steps);
}

class TiledCemaGradTest : public ::testing::TestWithParam<TiledCase> {};

TEST_P(TiledCemaGradTest, MatchesReference) {
  checkAgainstReference(cemaGradIR(GetParam()), 3000 + GetParam().steps);
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

// block_time is the checkpoint interval here.
INSTANTIATE_TEST_SUITE_P(
    Configs, TiledCemaGradTest,
    ::testing::Values(
        // name, B, L, D, N, checkpoint_block, lanes, state_group, carried
        TiledCase{"RaggedBlocks", 2, 37, 32, 4, 6, 16, 2, true},
        TiledCase{"SeveralStateGroups", 1, 64, 64, 16, 8, 16, 2, false},
        TiledCase{"NarrowLanesOneState", 2, 23, 16, 4, 5, 4, 1, true},
        TiledCase{"TwoVectorsOfLanes", 1, 30, 64, 8, 4, 32, 1, true},
        TiledCase{"OneStepBlocks", 2, 9, 16, 4, 1, 8, 2, true},
        TiledCase{"WholeSequenceBlock", 1, 40, 16, 6, 40, 16, 3, false}),
    caseName);

// The block form, forward and gradient; block_time is the matrix block
// here (lanes and state_group unused).
const TiledCase kMatrixCases[] = {
    // name, B, L, D, N, matrix_block, -, -, carried, returns h_last, form
    {"OneBlock", 1, 16, 16, 4, 16, 0, 0, false, true, true},
    {"SeveralBlocksCarried", 2, 64, 32, 8, 16, 0, 0, true, true, true},
    {"SixteenStates", 1, 128, 64, 16, 32, 0, 0, false, true, true},
    {"OneStepBlocks", 2, 9, 16, 4, 1, 0, 0, true, true, true},
    {"TwoStepBlocks", 1, 8, 16, 4, 2, 0, 0, true, true, true},
    {"LongBlocksCarried", 1, 256, 16, 16, 128, 0, 0, true, true, true},
    {"UnusedLastState", 2, 48, 16, 4, 8, 0, 0, true, false, true}};

INSTANTIATE_TEST_SUITE_P(MatrixForm, TiledCemaTest,
                         ::testing::ValuesIn(kMatrixCases), caseName);
INSTANTIATE_TEST_SUITE_P(MatrixForm, TiledCemaGradTest,
                         ::testing::ValuesIn(kMatrixCases), caseName);
