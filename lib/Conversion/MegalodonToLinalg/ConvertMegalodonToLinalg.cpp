//===- ConvertMegalodonToLinalg.cpp - The conversion pass -----------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"
#include "megalodon/Conversion/Passes.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::megalodon {
#define GEN_PASS_DEF_CONVERTMEGALODONTOLINALG
#include "megalodon/Conversion/Passes.h.inc"
} // namespace mlir::megalodon

using namespace mlir;
using namespace mlir::megalodon;

namespace {
struct ConvertMegalodonToLinalgPass
    : public mlir::megalodon::impl::ConvertMegalodonToLinalgBase<
          ConvertMegalodonToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    populateElementwiseToLinalgPatterns(patterns);
    populateNormsToLinalgPatterns(patterns);
    populateDenseToLinalgPatterns(patterns);
    populateTimestepNormToLoopsPatterns(patterns);
    populateCemaToLoopsPatterns(patterns);
    populateAttentionToLinalgPatterns(patterns);
    populateOptimizerToLinalgPatterns(patterns);
    populateDenseGradToLinalgPatterns(patterns);
    populateNormsGradToLinalgPatterns(patterns);
    populateTimestepNormGradToLoopsPatterns(patterns);
    populateCemaGradToLoopsPatterns(patterns);
    populateAttentionGradToLinalgPatterns(patterns);

    ConversionTarget target(*context);
    target.addIllegalDialect<MegalodonDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
