//===- NormsGrad.cpp - Gradient lowerings -----------------------------------===//
//
// Lowers rms_norm_grad and layer_norm_grad.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateNormsGradToLinalgPatterns(RewritePatternSet &patterns) {
  (void)patterns;
}
