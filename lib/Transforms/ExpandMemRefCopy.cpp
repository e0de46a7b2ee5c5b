//===- ExpandMemRefCopy.cpp - memref.copy to linalg.copy ------------------===//

#include "megalodon/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_EXPANDMEMREFCOPY
#include "megalodon/Transforms/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;

namespace {
struct CopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp copy,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                copy.getTarget());
    return success();
  }
};

struct ExpandMemRefCopyPass
    : public mlir::megalodon::impl::ExpandMemRefCopyBase<ExpandMemRefCopyPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<CopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
