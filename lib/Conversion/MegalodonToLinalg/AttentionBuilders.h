//===- AttentionBuilders.h - Shared attention builders ----------*- C++ -*-===//
//
// The pieces of the attention lowerings (Attention.cpp) that the gradient
// lowerings (AttentionGrad.cpp) reuse, so that the backward recomputes the
// softmax weights and applies the rotation with exactly the forward's IR.
// Defined in Attention.cpp.
//
// Private to the MegalodonToLinalg library.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_ATTENTIONBUILDERS_H
#define MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_ATTENTIONBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::megalodon::attention {

/// The [rows, cols] block of `src` [B, T, W] that starts at (batch, row0,
/// col0), as a rank-2 tensor (dynamic first dimension when `rows` is a
/// value).
Value sliceRows(OpBuilder &b, Location loc, Value src, OpFoldResult batch,
                OpFoldResult row0, OpFoldResult rows, OpFoldResult col0,
                int64_t cols);

/// `lhs` [M, K] times `rhs` [K, N], or times the transpose of `rhs` [N, K]
/// when `transposeRhs`, accumulated into a zero-filled [M, N] tensor.
Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
             bool transposeRhs);

/// A linalg.generic over [queries, keys] of the [queries, keys] tensors
/// `blocks`, plus per-query inputs `rowInputs` [queries]; `init` is
/// [queries] when `reduceKeys`, [queries, keys] otherwise. `body` gets the
/// block arguments and returns the value to yield.
Value matmulAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       Value acc, bool transposeRhs);

Value transpose(OpBuilder &b, Location loc, Value matrix);

Value queryKeyGeneric(
    OpBuilder &b, Location loc, ValueRange blocks, ValueRange rowInputs,
    Value init, bool reduceKeys,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body);

/// Causal softmax of `scores` [T, S] over keys: key j is visible to query i
/// when j <= i + keyOffset (a null keyOffset means 0); hidden keys get
/// weight exactly 0.
Value maskedSoftmax(OpBuilder &b, Location loc, Value scores, Value keyOffset);

/// Rotates the adjacent pairs of each head of `x` [B, L, H*dh] as
/// megalodon.rotary does, by -angle instead of +angle when `inverse` (the
/// transpose of the rotation). `offsetTensor` is the optional 0-d i64 start
/// position.
Value rotatePairs(OpBuilder &b, Location loc, Value x, Value offsetTensor,
                  int64_t numHeads, double base, int64_t chunk, bool inverse);

} // namespace mlir::megalodon::attention

#endif // MEGALODON_LIB_CONVERSION_MEGALODONTOLINALG_ATTENTIONBUILDERS_H
