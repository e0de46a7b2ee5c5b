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

#endif // MEGALODON_CONVERSION_PASSES_TD
