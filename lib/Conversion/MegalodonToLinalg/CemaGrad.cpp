//===- CemaGrad.cpp - Gradient lowerings ------------------------------------===//
//
// Lowers cema_grad.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateCemaGradToLoopsPatterns(RewritePatternSet &patterns) {
  (void)patterns;
}
