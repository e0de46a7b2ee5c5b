// RUN: megalodon-opt %s --megalodon-cpu-pipeline="lower-to-llvm=false" | FileCheck %s --check-prefix=BUF
// RUN: megalodon-opt %s --megalodon-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// The CPU pipeline, stage by stage: megalodon ops become linalg on tensors,
// bufferize with identity layouts, results turn into caller-provided
// out-parameters (the elementwise ops vectorized), then everything reaches
// the LLVM dialect.

// BUF-LABEL: func.func @block
// BUF-SAME: (%{{.*}}: memref<1x8x16xf32>, %{{.*}}: memref<16xf32>, %[[OUT:.*]]: memref<1x8x16xf32>)
// BUF-NOT: megalodon.
// BUF-NOT: tensor<
// BUF: vector.transfer_read
// BUF: return
// BUF-NOT: return %

// LLVM-NOT: megalodon.
// LLVM-NOT: linalg.
// LLVM-NOT: memref.
// LLVM: llvm.func @block(
// LLVM: llvm.func @_mlir_ciface_block(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
func.func @block(%x: tensor<1x8x16xf32>, %w: tensor<16xf32>) -> tensor<1x8x16xf32>
    attributes {llvm.emit_c_interface} {
  %n = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x8x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %s = megalodon.silu %n : tensor<1x8x16xf32>
  %y = megalodon.add %x, %s : tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
