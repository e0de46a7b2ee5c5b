//===- ApproximateMath.cpp - Polynomial approximations of math ops --------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
/// The default set: functions whose approximations keep f32 accuracy within
/// a few ulp over the whole range. sin/cos are left to libm: they only occur
/// on parameters, outside the hot loops.
constexpr llvm::StringLiteral kDefaultOps[] = {"exp",   "expm1", "tanh",
                                               "log",   "log1p", "log2"};

struct ApproximateMathPass
    : public mlir::megalodon::impl::ApproximateMathBase<ApproximateMathPass> {
  using ApproximateMathBase::ApproximateMathBase;

  void runOnOperation() override {
    // The upstream predicate sees full op names ("math.exp").
    llvm::StringSet<> selected;
    auto select = [&](StringRef mnemonic) {
      selected.insert(("math." + mnemonic).str());
    };
    if (ops.empty())
      llvm::for_each(kDefaultOps, select);
    else
      llvm::for_each(ops, [&](const std::string &op) { select(op); });
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [&](StringRef name) { return selected.contains(name); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
