// RUN: megalodon-opt %s --split-input-file \
// RUN:   --megalodon-tile-gpu-matmuls="tile-m=32 tile-n=64 tile-k=16" \
// RUN:   --canonicalize | FileCheck %s
// RUN: not megalodon-opt %s --split-input-file \
// RUN:   --megalodon-tile-gpu-matmuls="tile-k=0" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD
// BAD: tile sizes must be positive

// A product with ragged edges: a forall over the 4 x 2 C tiles, a loop over
// the depth in steps of 16, the A and B slices copied into static tiles
// every step (nofold pads), the C tile padded too (it may be ragged) and its
// result put back.
// CHECK-LABEL: func.func @ragged
// CHECK:       scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (100, 70) step (32, 64) shared_outs
// CHECK:         %[[AP:.*]] = tensor.extract_slice %arg0[%[[I]], 0]
// CHECK:         scf.for %[[K:.*]] = %c0 to %c48 step %c16 iter_args(%[[C:.*]] =
// CHECK:           %[[A:.*]] = tensor.extract_slice %[[AP]][0, %[[K]]]
// CHECK:           %[[B:.*]] = tensor.extract_slice %{{.*}}[%[[K]], 0]
// CHECK:           %[[CS:.*]] = tensor.extract_slice %[[C]][0, 0]
// CHECK:           tensor.pad %[[A]] nofold
// CHECK:           tensor<?x16xf32> to tensor<32x16xf32>
// CHECK:           tensor.pad %[[B]] nofold
// CHECK:           tensor<16x?xf32> to tensor<16x64xf32>
// CHECK:           tensor.pad %[[CS]] low
// CHECK:           tensor<?x?xf32> to tensor<32x64xf32>
// CHECK:           linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<16x64xf32>) outs(%{{.*}} : tensor<32x64xf32>)
// CHECK:           tensor.insert_slice %{{.*}} into %[[C]]
// CHECK:       scf.forall.in_parallel
func.func @ragged(%a: tensor<100x48xf32>, %b: tensor<48x70xf32>,
                  %c: tensor<100x70xf32>) -> tensor<100x70xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<100x48xf32>, tensor<48x70xf32>)
                     outs(%c : tensor<100x70xf32>) -> tensor<100x70xf32>
  return %r : tensor<100x70xf32>
}

// -----

// Whole tiles: the C tile is the result's slice itself, with no copy. A
// transposed B operand (linear layers) tiles the same way.
// CHECK-LABEL: func.func @whole
// CHECK:       scf.forall
// CHECK:         scf.for %{{.*}} iter_args(%[[C:.*]] =
// CHECK:           tensor.pad %{{.*}} nofold
// CHECK:           tensor.pad %{{.*}} nofold
// CHECK-NOT:       tensor.pad
// CHECK:           %[[P:.*]] = linalg.matmul {{.*}} outs(%[[C]] : tensor<32x64xf32>)
// CHECK-NEXT:      scf.yield %[[P]]
func.func @whole(%a: tensor<64x32xf32>, %w: tensor<128x32xf32>,
                 %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %r = linalg.matmul
         indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                          affine_map<(m, n, k) -> (n, k)>,
                          affine_map<(m, n, k) -> (m, n)>]
         ins(%a, %w : tensor<64x32xf32>, tensor<128x32xf32>)
         outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// -----

// A product inside a forall (one attention chunk) is already one block's
// work and stays as it is.
// CHECK-LABEL: func.func @in_forall
// CHECK:       scf.forall
// CHECK-NOT:     scf.forall
// CHECK-NOT:     tensor.pad
// CHECK:         linalg.matmul
func.func @in_forall(%a: tensor<2x8x8xf32>, %b: tensor<8x8xf32>,
                     %c: tensor<2x8x8xf32>) -> tensor<2x8x8xf32> {
  %r = scf.forall (%i) in (2) shared_outs(%o = %c) -> tensor<2x8x8xf32> {
    %ai = tensor.extract_slice %a[%i, 0, 0] [1, 8, 8] [1, 1, 1]
        : tensor<2x8x8xf32> to tensor<8x8xf32>
    %oi = tensor.extract_slice %o[%i, 0, 0] [1, 8, 8] [1, 1, 1]
        : tensor<2x8x8xf32> to tensor<8x8xf32>
    %p = linalg.matmul ins(%ai, %b : tensor<8x8xf32>, tensor<8x8xf32>)
                       outs(%oi : tensor<8x8xf32>) -> tensor<8x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %p into %o[%i, 0, 0] [1, 8, 8] [1, 1, 1]
          : tensor<8x8xf32> into tensor<2x8x8xf32>
    }
  }
  return %r : tensor<2x8x8xf32>
}
