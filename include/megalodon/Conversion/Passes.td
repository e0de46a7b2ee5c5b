//===- Passes.td - megalodon conversion passes -------------*- tablegen -*-===//
#ifndef MEGALODON_CONVERSION_PASSES_TD
#define MEGALODON_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMegalodonToLinalg : Pass<"megalodon-convert-to-linalg", "ModuleOp"> {
  let summary = "Lower megalodon ops to linalg, tensor, scf, arith and math";
  let description = [{
    Rewrites every megalodon op into upstream tensor-level IR: named linalg
    ops and linalg.generic for dense and elementwise work, scf loops for the
    two scans over time (timestep normalization and CEMA, whose state is
    carried from step to step or from block to block, never an O(L^2) kernel),
    and a per-chunk loop with a numerically safe softmax for chunked
    attention. One source file per op family provides the patterns.

    Example:

    ```mlir
    %y = megalodon.silu %x : tensor<1x16x64xf32>
    // becomes
    %e = tensor.empty() : tensor<1x16x64xf32>
    %y = linalg.generic {...} ins(%x : ...) outs(%e : ...) { ... }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::complex::ComplexDialect",
  ];
}

def TileCema : Pass<"megalodon-tile-cema"> {
  let summary = "Two-level vector scans for megalodon.cema and cema_grad with "
                "a tile config";
  let description = [{
    Rewrites each `megalodon.cema` that carries a tile config into a blocked
    scan on vectors: for each batch row and group of `lanes` channels (in
    parallel), for each block of `block_time` steps, for each group of
    `state_group` states, the states stay in vector registers while the
    block's steps run (two steps per loop iteration), and y accumulates the
    groups' contributions. The state passes from block to block through a
    [B, 2, N, D] buffer (real and imaginary parts), of which each channel
    group updates a private copy, so the loop order keeps one block of x and
    y in cache and the recurrence in registers.

    A `megalodon.cema_grad` with a config (`checkpoint_block`, `lanes`,
    `state_group`) gets the same loop order for its checkpointed adjoint
    scan: per batch row and channel group, a forward scan stores the state
    every `checkpoint_block` steps; then, block by block from the last and
    group by group, the block's states are recomputed into a small buffer
    and the adjoint runs backward through it with mu and the gradient sums
    in vector registers. Ops without a config keep the per-step linalg
    lowerings of megalodon-convert-to-linalg.

    A `megalodon.cema` whose config is `matrix_block = T` (T divides L)
    gets the block (matrix) form instead (CemaMatrixForm.cpp): per block of
    T steps, the output is a lower-triangular Toeplitz product of the
    block's inputs plus the carried state read out through gamma q^(t+1),
    and the state at the block's end a Vandermonde product; only the M = L
    / T block states are scanned sequentially. The products are
    linalg.generic contractions over the channels, the shape matrix units
    want.

    ```mlir
    scf.forall (%b, %c) in (B, D / lanes) {           // parallel
      scf.for %t0 = 0 to L step block_time {
        scf.for %g = 0 to N step state_group {
          // state_group x 2 vector<lanes x f32> in registers
          scf.for %t = %t0 to min(%t0 + block_time, L) { ... }
        }
      }
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TileAttention : Pass<"megalodon-tile-attention"> {
  let summary = "Blocked chunk attention with an online softmax for ops with "
                "a tile config";
  let description = [{
    Rewrites each `megalodon.chunk_attention` (training form) and
    `megalodon.chunk_attention_grad` that carries a tile config
    (`query_block`, `key_block`) into blocked loops: per (batch, head,
    chunk) in parallel, per block of queries, the key blocks up to the
    block's last query are visited with a running row maximum, row sum and
    output accumulator, so only one [query_block, key_block] score block is
    live and the key blocks after the diagonal are skipped. The gradient
    recomputes the block's softmax statistics, then accumulates gq, gk and
    gv block pair by block pair. Blocks need not divide the chunk: a last
    block starts early enough to fit and its overlap is masked. Ops without
    a config keep the untiled lowering of megalodon-convert-to-linalg.

    ```mlir
    scf.forall (%b, %h, %c) in (B, H, L / C) {
      scf.for %q0 = 0 to C step query_block {       // running max, sum, acc
        scf.for %k0 = 0 to %q0 + query_block step key_block {
          // scores, rescale, P V into the accumulator
        }
      }
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // MEGALODON_CONVERSION_PASSES_TD
