//===- Dense.cpp - lowering of the Dense op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateDenseToLinalgPatterns(RewritePatternSet &patterns) {}
