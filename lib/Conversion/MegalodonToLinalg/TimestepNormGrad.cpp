//===- TimestepNormGrad.cpp - Gradient lowerings ----------------------------===//
//
// Lowers timestep_norm_grad.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateTimestepNormGradToLoopsPatterns(RewritePatternSet &patterns) {
  (void)patterns;
}
