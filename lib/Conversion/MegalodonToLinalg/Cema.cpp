//===- Cema.cpp - lowering of the Cema op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateCemaToLoopsPatterns(RewritePatternSet &patterns) {}
