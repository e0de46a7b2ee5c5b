// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 elementwise=false parallel=true" --megalodon-fuse-matmul-epilogues | FileCheck %s
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 elementwise=false" --megalodon-fuse-matmul-epilogues | FileCheck %s --check-prefix=SEQ

#rows = affine_map<(m, n) -> (m, n)>
#cols = affine_map<(m, n) -> (n)>

// A linear layer's bias and SiLU (one generic after elementwise fusion) and
// then a residual add: both move into the kernel's loop over row blocks, each
// on the block the kernel has just computed, and the loop yields all three
// results. Nothing reads the product after the loop.

// CHECK-LABEL: func @bias_silu_residual
// CHECK-SAME: (%[[X:.*]]: tensor<10x8xf32>, %[[B:.*]]: tensor<8x32xf32>, %[[BIAS:.*]]: tensor<32xf32>, %[[RES:.*]]: tensor<10x32xf32>
// CHECK: %[[LOOP:.*]]:3 = scf.forall (%[[I:.*]]) in (2) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK: math.fma
// CHECK: %[[ACT:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<32xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: arith.negf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[ACT]], %{{.*}} : tensor<?x32xf32>, tensor<?x32xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: arith.addf
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK-NOT: linalg.generic
// CHECK: return %[[LOOP]]#2
// SEQ-LABEL: func @bias_silu_residual
// SEQ: %[[LOOP:.*]]:3 = scf.for
// SEQ: math.fma
// SEQ: linalg.generic
// SEQ: linalg.generic
// SEQ: scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<10x32xf32>, tensor<10x32xf32>, tensor<10x32xf32>
// SEQ-NEXT: } {megalodon.matmul_row_blocks}
// SEQ-NEXT: return %[[LOOP]]#2
func.func @bias_silu_residual(%x: tensor<10x8xf32>, %b: tensor<8x32xf32>,
                              %bias: tensor<32xf32>, %res: tensor<10x32xf32>)
    -> tensor<10x32xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<10x32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<10x32xf32>) -> tensor<10x32xf32>
  %c = linalg.matmul ins(%x, %b : tensor<10x8xf32>, tensor<8x32xf32>)
      outs(%init : tensor<10x32xf32>) -> tensor<10x32xf32>
  %act = linalg.generic {indexing_maps = [#rows, #cols, #rows],
                         iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : tensor<10x32xf32>, tensor<32xf32>) outs(%e : tensor<10x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %out: f32):
    %pre = arith.addf %v, %bv : f32
    %neg = arith.negf %pre : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %silu = arith.divf %pre, %den : f32
    linalg.yield %silu : f32
  } -> tensor<10x32xf32>
  %sum = linalg.generic {indexing_maps = [#rows, #rows, #rows],
                         iterator_types = ["parallel", "parallel"]}
      ins(%act, %res : tensor<10x32xf32>, tensor<10x32xf32>) outs(%e : tensor<10x32xf32>) {
  ^bb0(%a: f32, %r: f32, %out: f32):
    %s = arith.addf %a, %r : f32
    linalg.yield %s : f32
  } -> tensor<10x32xf32>
  return %sum : tensor<10x32xf32>
}

// -----

#rows = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>

// A softmax's row statistics and the normalization: the row maximum (a
// reduction over the product's columns, complete in each row block) is
// fused first; the shifted exponentials read both the product and the
// maximum, now both results of the loop, and are fused next. The fill of
// the maximum's initial value moves before the loop. The loop yields the
// product, the maximum and the exponentials.

// CHECK-LABEL: func @softmax_rows
// CHECK: %[[LOOP:.*]]:3 = scf.forall
// CHECK: math.fma
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<?x16xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[MAX]] : tensor<?x16xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK: math.exp
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK-NOT: linalg.generic
// CHECK: return %[[LOOP]]#2
// SEQ-LABEL: func @softmax_rows
// SEQ: %[[LOOP:.*]]:3 = scf.for
// SEQ: arith.maximumf
// SEQ: math.exp
// SEQ: scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16xf32>, tensor<16x16xf32>
// SEQ-NEXT: } {megalodon.matmul_row_blocks}
// SEQ-NEXT: return %[[LOOP]]#2
func.func @softmax_rows(%x: tensor<16x8xf32>, %b: tensor<8x16xf32>,
                        %init: tensor<16x16xf32>)
    -> tensor<16x16xf32> {
  %c = linalg.matmul ins(%x, %b : tensor<16x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %lowest = arith.constant 0xFF800000 : f32
  %empty = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%lowest : f32) outs(%empty : tensor<16xf32>) -> tensor<16xf32>
  %max = linalg.generic {indexing_maps = [#rows, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<16x16xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %m: f32):
    %t = arith.maximumf %a, %m : f32
    linalg.yield %t : f32
  } -> tensor<16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  %exp = linalg.generic {indexing_maps = [#rows, #row, #rows],
                         iterator_types = ["parallel", "parallel"]}
      ins(%c, %max : tensor<16x16xf32>, tensor<16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %t = math.exp %d : f32
    linalg.yield %t : f32
  } -> tensor<16x16xf32>
  return %exp : tensor<16x16xf32>
}

// -----

#rows = affine_map<(m, n) -> (m, n)>
#col = affine_map<(m, n) -> (n)>
#row = affine_map<(m) -> (m)>

// Not fused: a reduction over the product's rows (a bias gradient: no row
// block holds all its terms), a consumer that gathers from the product
// inside its body (it needs more than the block), and an elementwise
// consumer whose other operand is computed after the loop by an op that
// cannot simply move before it (one with a region).

// CHECK-LABEL: func @not_fused
// CHECK: %[[LOOP:.*]] = scf.for
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[LOOP]]
// CHECK: %[[ALIAS:.*]] = tensor.cast %[[LOOP]]
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<8xindex>)
// CHECK: tensor.extract %[[ALIAS]]
// CHECK: %[[LATE:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8x16xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[LOOP]], %[[LATE]]
func.func @not_fused(%x: tensor<8x8xf32>, %b: tensor<8x16xf32>,
                     %init: tensor<8x16xf32>, %acc: tensor<16xf32>,
                     %targets: tensor<8xindex>, %picked: tensor<8xf32>,
                     %other: tensor<8x16xf32>)
    -> (tensor<16xf32>, tensor<8xf32>, tensor<8x16xf32>) {
  %c = linalg.matmul ins(%x, %b : tensor<8x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<8x16xf32>) -> tensor<8x16xf32>
  %colsum = linalg.generic {indexing_maps = [#rows, #col],
                            iterator_types = ["reduction", "parallel"]}
      ins(%c : tensor<8x16xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  } -> tensor<16xf32>
  %gather = linalg.generic {indexing_maps = [#row, #row],
                            iterator_types = ["parallel"]}
      ins(%targets : tensor<8xindex>) outs(%picked : tensor<8xf32>) {
  ^bb0(%t: index, %o: f32):
    %r = linalg.index 0 : index
    %g = tensor.extract %c[%r, %t] : tensor<8x16xf32>
    linalg.yield %g : f32
  } -> tensor<8xf32>
  %late = linalg.generic {indexing_maps = [#rows, #rows],
                          iterator_types = ["parallel", "parallel"]}
      ins(%other : tensor<8x16xf32>) outs(%other : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<8x16xf32>
  %prod = linalg.generic {indexing_maps = [#rows, #rows, #rows],
                          iterator_types = ["parallel", "parallel"]}
      ins(%c, %late : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>) {
  ^bb0(%a: f32, %l: f32, %o: f32):
    %m = arith.mulf %a, %l : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  return %colsum, %gather, %prod : tensor<16xf32>, tensor<8xf32>, tensor<8x16xf32>
}

// -----

#id3 = affine_map<(b, m, n) -> (b, m, n)>

// The model sees the product of a linear layer reshaped back to [B, L, N]:
// the consumer is collapsed to the rows (its other operands collapsed, its
// result expanded back), the reshapes and the destination it needs are moved
// before the loop, and then it is fused.

// CHECK-LABEL: func @through_expand_shape
// CHECK-SAME: (%{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<8x32xf32>, %{{.*}}: tensor<16x32xf32>, %[[RES:.*]]: tensor<2x8x32xf32>)
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[RES]] {{\[}}[0, 1], [2]] : tensor<2x8x32xf32> into tensor<16x32xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.forall
// CHECK: math.fma
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK-NOT: linalg.generic
// CHECK: %[[OUT:.*]] = tensor.expand_shape %[[LOOP]]#1 {{\[}}[0, 1], [2]] output_shape [2, 8, 32]
// CHECK: return %[[OUT]]
func.func @through_expand_shape(%x: tensor<16x8xf32>, %b: tensor<8x32xf32>,
                                %init: tensor<16x32xf32>,
                                %res: tensor<2x8x32xf32>) -> tensor<2x8x32xf32> {
  %c = linalg.matmul ins(%x, %b : tensor<16x8xf32>, tensor<8x32xf32>)
      outs(%init : tensor<16x32xf32>) -> tensor<16x32xf32>
  %e = tensor.expand_shape %c [[0, 1], [2]] output_shape [2, 8, 32]
      : tensor<16x32xf32> into tensor<2x8x32xf32>
  %empty = tensor.empty() : tensor<2x8x32xf32>
  %s = linalg.generic {indexing_maps = [#id3, #id3, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %res : tensor<2x8x32xf32>, tensor<2x8x32xf32>)
      outs(%empty : tensor<2x8x32xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %t = arith.addf %a, %r : f32
    linalg.yield %t : f32
  } -> tensor<2x8x32xf32>
  return %s : tensor<2x8x32xf32>
}

// -----

#rows = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
#r1 = affine_map<(m) -> (m)>

// The loss of the output projection and its gradient: row maximum, sum of
// shifted exponentials and the probabilities all fuse; the gather of each
// row's target logit reads the product inside its body, so it stays after
// the loop, reading it through a cast (upstream consumer fusion gives up on
// a loop that has users inside other ops' regions).

// CHECK-LABEL: func @cross_entropy_rows
// CHECK: %[[LOOP:.*]]:4 = scf.forall
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: } {megalodon.matmul_row_blocks}
// CHECK: %[[ALIAS:.*]] = tensor.cast %[[LOOP]]#0
// CHECK: %[[LOSS:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[LOOP]]#2 : tensor<16xindex>, tensor<16xf32>)
// CHECK: tensor.extract %[[ALIAS]]
// CHECK: return %[[LOSS]], %[[LOOP]]#3
func.func @cross_entropy_rows(%x: tensor<16x8xf32>, %b: tensor<8x16xf32>,
              %init: tensor<16x16xf32>, %targets: tensor<16xindex>) -> (tensor<16xf32>, tensor<16x16xf32>) {
  %c = linalg.matmul ins(%x, %b : tensor<16x8xf32>, tensor<8x16xf32>)
      outs(%init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %lowest = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%lowest : f32) outs(%empty : tensor<16xf32>) -> tensor<16xf32>
  %max = linalg.generic {indexing_maps = [#rows, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<16x16xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %m: f32):
    %t = arith.maximumf %a, %m : f32
    linalg.yield %t : f32
  } -> tensor<16xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%empty : tensor<16xf32>) -> tensor<16xf32>
  %sum = linalg.generic {indexing_maps = [#rows, #row, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%c, %max : tensor<16x16xf32>, tensor<16xf32>) outs(%acc2 : tensor<16xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %t = math.exp %d : f32
    %s = arith.addf %t, %o : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %gather = linalg.generic {indexing_maps = [#r1, #r1, #r1],
                            iterator_types = ["parallel"]}
      ins(%targets, %sum : tensor<16xindex>, tensor<16xf32>) outs(%empty : tensor<16xf32>) {
  ^bb0(%t: index, %s: f32, %o: f32):
    %r = linalg.index 0 : index
    %g = tensor.extract %c[%r, %t] : tensor<16x16xf32>
    %l = arith.subf %s, %g : f32
    linalg.yield %l : f32
  } -> tensor<16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  %grad = linalg.generic {indexing_maps = [#rows, #row, #row, #rows],
                         iterator_types = ["parallel", "parallel"]}
      ins(%c, %max, %sum : tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %t = math.exp %d : f32
    %p = arith.divf %t, %s : f32
    linalg.yield %p : f32
  } -> tensor<16x16xf32>
  return %gather, %grad : tensor<16xf32>, tensor<16x16xf32>
}
