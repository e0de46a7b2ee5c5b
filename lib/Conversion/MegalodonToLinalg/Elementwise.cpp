//===- Elementwise.cpp - lowering of the Elementwise op family -----------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {}
