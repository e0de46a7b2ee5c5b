//===- Passes.td - megalodon transformation passes ---------*- tablegen -*-===//
#ifndef MEGALODON_TRANSFORMS_PASSES_TD
#define MEGALODON_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandMemRefCopy : Pass<"megalodon-expand-memref-copy"> {
  let summary = "Rewrite memref.copy as linalg.copy so it becomes loops";
  let description = [{
    Bufferization inserts `memref.copy` for copies between buffers. The LLVM
    lowering turns a copy between non-contiguous views into a call of
    `memrefCopy` from MLIR's runner support library, which compiled artifacts
    do not link. Rewriting every copy as `linalg.copy` lets the ordinary
    linalg lowering emit (vectorizable) loops instead, so artifacts stay
    self-contained.

    ```mlir
    memref.copy %a, %b : memref<4xf32, strided<[2]>> to memref<4xf32>
    // becomes
    linalg.copy ins(%a : memref<4xf32, strided<[2]>>) outs(%b : memref<4xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // MEGALODON_TRANSFORMS_PASSES_TD
