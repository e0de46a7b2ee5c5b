//===- TimestepNorm.cpp - lowering of the TimestepNorm op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateTimestepNormToLoopsPatterns(RewritePatternSet &patterns) {}
