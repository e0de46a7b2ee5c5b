//===- MegalodonDialect.h - The megalodon dialect ---------------*- C++ -*-===//
#ifndef MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H
#define MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H

#include "mlir/IR/Dialect.h"

#include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.h.inc"

namespace mlir::megalodon {
/// A unit attribute marking the loop over row blocks of a matmul kernel
/// (built by megalodon-tile-and-vectorize), the loop that
/// megalodon-fuse-matmul-epilogues fuses consumers into.
inline constexpr llvm::StringLiteral kMatmulRowBlocksAttrName =
    "megalodon.matmul_row_blocks";
} // namespace mlir::megalodon

#endif // MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H
