// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 elementwise=false parallel=true lhs-row-slices=true" --megalodon-fuse-matmul-prologues | FileCheck %s
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 elementwise=false lhs-row-slices=true" --megalodon-fuse-matmul-prologues | FileCheck %s --check-prefix=SEQ

#rows = affine_map<(m, k) -> (m, k)>
#row = affine_map<(m, k) -> (m)>
#col = affine_map<(m, k) -> (k)>

// An RMS normalization in front of a linear layer: the row statistics (a
// reduction over the features) and the scaling produce A for the matmul
// and nothing else. Both move into the loop over row blocks, computed for
// the block's rows (a slice of x) right before the kernel reads them.

// CHECK-LABEL: func @rms_norm_then_linear
// CHECK-SAME: (%[[X:.*]]: tensor<16x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[X]][%{{.*}}, 0] [%{{.*}}, 8] [1, 1] : tensor<16x8xf32> to tensor<?x8xf32>
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[ROWS]] : tensor<?x8xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[SQ]], %{{.*}} : tensor<?x8xf32>, tensor<?xf32>, tensor<8xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK: math.rsqrt
// CHECK: tensor.extract %[[A]]
// CHECK: math.fma
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK-NOT: linalg.generic
// SEQ-LABEL: func @rms_norm_then_linear
// SEQ-NOT: linalg.generic
// SEQ: scf.for
// SEQ: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// SEQ: math.rsqrt
// SEQ: math.fma
// SEQ: } {megalodon.matmul_row_blocks}
// SEQ-NOT: linalg.generic
func.func @rms_norm_then_linear(%x: tensor<16x8xf32>, %gamma: tensor<8xf32>,
                                %b: tensor<8x16xf32>, %init: tensor<16x16xf32>)
    -> tensor<16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %width = arith.constant 8.0 : f32
  %e1 = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<16xf32>) -> tensor<16xf32>
  %sq = linalg.generic {indexing_maps = [#rows, #row],
                        iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x8xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%v: f32, %s: f32):
    %p = arith.mulf %v, %v : f32
    %t = arith.addf %p, %s : f32
    linalg.yield %t : f32
  } -> tensor<16xf32>
  %e2 = tensor.empty() : tensor<16x8xf32>
  %a = linalg.generic {indexing_maps = [#rows, #row, #col, #rows],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %sq, %gamma : tensor<16x8xf32>, tensor<16xf32>, tensor<8xf32>)
      outs(%e2 : tensor<16x8xf32>) {
  ^bb0(%v: f32, %s: f32, %g: f32, %o: f32):
    %mean = arith.divf %s, %width : f32
    %shifted = arith.addf %mean, %eps : f32
    %inv = math.rsqrt %shifted : f32
    %n = arith.mulf %v, %inv : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<16x8xf32>
  %c = linalg.matmul ins(%a, %b : tensor<16x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %c : tensor<16x16xf32>
}

// -----

#rows = affine_map<(m, k) -> (m, k)>

// Not fused: A is also returned (as the backward pass would read a
// normalization's output), so fusing it would compute it twice. The kernel
// then reads A by global row, without slices.

// CHECK-LABEL: func @shared_producer
// CHECK: %[[A:.*]] = linalg.generic
// CHECK: scf.forall
// CHECK-NOT: linalg.generic
// CHECK: tensor.extract %[[A]]
// CHECK-NOT: linalg.generic
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK: return %{{.*}}, %[[A]]
// SEQ-LABEL: func @shared_producer
// SEQ: linalg.generic
// SEQ: scf.for
func.func @shared_producer(%x: tensor<16x8xf32>, %b: tensor<8x16xf32>,
                           %init: tensor<16x16xf32>)
    -> (tensor<16x16xf32>, tensor<16x8xf32>) {
  %e = tensor.empty() : tensor<16x8xf32>
  %a = linalg.generic {indexing_maps = [#rows, #rows],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x8xf32>) outs(%e : tensor<16x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %t = math.tanh %v : f32
    linalg.yield %t : f32
  } -> tensor<16x8xf32>
  %c = linalg.matmul ins(%a, %b : tensor<16x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %c, %a : tensor<16x16xf32>, tensor<16x8xf32>
}

// -----

#id3 = affine_map<(b, l, k) -> (b, l, k)>

// The model computes A as [B, L, K]; the matmul reads its rows through a
// tensor.collapse_shape. The producer is collapsed to the rows first (its
// operand collapsed instead), then fused.

// CHECK-LABEL: func @through_collapse_shape
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x8xf32>
// CHECK: %[[XROWS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x8x8xf32> into tensor<16x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: scf.forall
// CHECK: tensor.extract_slice %[[XROWS]]
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK: math.fma
// CHECK: } {megalodon.matmul_row_blocks}
// SEQ-LABEL: func @through_collapse_shape
func.func @through_collapse_shape(%x: tensor<2x8x8xf32>, %b: tensor<8x16xf32>,
                                  %init: tensor<16x16xf32>)
    -> tensor<16x16xf32> {
  %e = tensor.empty() : tensor<2x8x8xf32>
  %a = linalg.generic {indexing_maps = [#id3, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x8xf32>) outs(%e : tensor<2x8x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %t = math.tanh %v : f32
    linalg.yield %t : f32
  } -> tensor<2x8x8xf32>
  %rows = tensor.collapse_shape %a [[0, 1], [2]]
      : tensor<2x8x8xf32> into tensor<16x8xf32>
  %c = linalg.matmul ins(%rows, %b : tensor<16x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %c : tensor<16x16xf32>
}
