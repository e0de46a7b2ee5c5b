//===- Norms.cpp - lowering of the Norms op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateNormsToLinalgPatterns(RewritePatternSet &patterns) {}
