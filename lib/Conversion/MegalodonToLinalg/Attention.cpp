//===- Attention.cpp - lowering of the Attention op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateAttentionToLinalgPatterns(RewritePatternSet &patterns) {}
