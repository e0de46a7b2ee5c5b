//===- VjpEmbeddingLoss.cpp - VJPs of the embedding and the loss ----------===//
//
// DifferentiableOpInterface of megalodon.embedding and
// megalodon.cross_entropy. Token and target operands are integers and get no
// cotangent.
//
//===----------------------------------------------------------------------===//

#include "megalodon/Dialect/Megalodon/IR/MegalodonOps.h"

using namespace mlir;
using namespace mlir::megalodon;

FailureOr<SmallVector<Value>>
EmbeddingOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  // The scatter-add of the cotangent rows into a zero table; a table that is
  // also used elsewhere (share_emb) gets its other gradients added by the
  // caller.
  Value gTable = EmbeddingGradOp::create(
      builder, getLoc(), getTable().getType(), getTable(), getTokens(),
      resultCotangents[0], getScaleAttr());
  return SmallVector<Value>{gTable, Value()};
}

FailureOr<SmallVector<Value>>
CrossEntropyOp::buildVjp(OpBuilder &builder, ArrayRef<Value> resultCotangents) {
  Value gLogits = CrossEntropyGradOp::create(builder, getLoc(),
                                             getLogits().getType(), getLogits(),
                                             getTargets(), resultCotangents[0]);
  return SmallVector<Value>{gLogits, Value()};
}
