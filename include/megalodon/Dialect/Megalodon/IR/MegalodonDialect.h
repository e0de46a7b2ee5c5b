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
/// The module attribute in which megalodon-estimate-kernel-costs records,
/// per kernel name, the FLOPs and bytes of one launch:
/// {name = array<i64: flops, bytes>}.
inline constexpr llvm::StringLiteral kKernelCostsAttrName =
    "megalodon.kernel_costs";
} // namespace mlir::megalodon

#endif // MEGALODON_DIALECT_MEGALODON_IR_MEGALODONDIALECT_H
