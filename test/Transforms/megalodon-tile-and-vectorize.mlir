// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 k-unroll=2 parallel=true" | FileCheck %s
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 k-unroll=2" | FileCheck %s --check-prefix=SEQ
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="matmul=false parallel=true" | FileCheck %s --check-prefix=PAR
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 kc=4 k-unroll=2" | FileCheck %s --check-prefix=KC
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-and-vectorize="mr=4 nr=16 mc=8 k-unroll=2 parallel=true threads=2" | FileCheck %s --check-prefix=THREADS

// A linear layer (transposed B): B is repacked into 16-wide panels by a
// forall over the panels, each transposing 16x16 blocks of B in registers
// (K = 8 is one block of 8 k steps, its rows padded to 16 lanes). The 8 full
// rows run in a forall over row blocks, each a loop over panels around 4x16
// register tiles whose k loop is unrolled twice and carries four vector
// accumulators; the two rows left over get one 2-row tile in the last
// block. Without `parallel` the row blocks are an scf.for.

// SEQ-LABEL: func @matmul_transpose_b
// SEQ-NOT: scf.forall
// SEQ: scf.for
// SEQ: tensor.extract_slice {{.*}} to tensor<?x32xf32>
// SEQ: math.fma
// SEQ: tensor.insert_slice

// CHECK-LABEL: func @matmul_transpose_b
// CHECK-SAME: (%[[A:.*]]: tensor<10x8xf32>, %[[W:.*]]: tensor<32x8xf32>, %[[C:.*]]: tensor<10x32xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x8x16xf32>
// CHECK: %[[PANELS:.*]] = scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK-COUNT-16: vector.transfer_read %[[W]]{{.*}} : tensor<32x8xf32>, vector<8xf32>
// CHECK: vector.shuffle
// CHECK-COUNT-8: vector.transfer_write {{.*}} : vector<16xf32>, tensor<8x16xf32>
// CHECK: tensor.parallel_insert_slice
// CHECK: scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %[[C]])
// CHECK: scf.for %[[PANEL:[a-z0-9]+]] =
// CHECK: scf.for %{{.*}} =
// CHECK-COUNT-4: vector.transfer_read {{.*}} : tensor<?x32xf32>, vector<16xf32>
// CHECK: scf.for %[[K:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c2 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read %[[PANELS]][%[[PANEL]], %[[K]], %{{.*}}], %{{.*}} : tensor<2x8x16xf32>, vector<16xf32>
// CHECK: tensor.extract %[[A]]
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-COUNT-8: math.fma
// CHECK: scf.yield {{.*}} : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
// CHECK-COUNT-4: vector.transfer_write
// The rows left over (in the last block only): one tile of two accumulators,
// in a loop from the end of the block's full tiles to its end.
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: math.fma
// CHECK: tensor.parallel_insert_slice
// CHECK: megalodon.matmul_row_blocks
// CHECK-NOT: linalg.matmul
func.func @matmul_transpose_b(%a: tensor<10x8xf32>, %w: tensor<32x8xf32>,
                              %c: tensor<10x32xf32>) -> tensor<10x32xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %w : tensor<10x8xf32>, tensor<32x8xf32>)
      outs(%c : tensor<10x32xf32>) -> tensor<10x32xf32>
  return %r : tensor<10x32xf32>
}

// -----

// A plain [K, N] B with fewer than pack-min-rows rows is read in place. An
// odd K leaves one unrolled k step after the loop. A single row block needs
// no forall.

// CHECK-LABEL: func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<8x5xf32>, %[[B:.*]]: tensor<5x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK-NOT: scf.forall
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read %[[B]]
// CHECK: scf.yield
// CHECK: vector.transfer_read %[[B]][%c4
// CHECK-COUNT-4: math.fma
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: tensor<8x5xf32>, %b: tensor<5x16xf32>,
                  %c: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x5xf32>, tensor<5x16xf32>)
      outs(%c : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// N not a multiple of the lanes: left for the scalar lowering. Fewer rows
// than a register tile: one shorter tile only, and no forall for one block.

// CHECK-LABEL: func @matmul_small
// CHECK: linalg.matmul
// CHECK-NOT: scf.forall
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK: math.fma
// CHECK-NOT: linalg.matmul
func.func @matmul_small(%a: tensor<8x4xf32>, %b: tensor<4x12xf32>,
                        %c: tensor<8x12xf32>, %x: tensor<2x4xf32>,
                        %y: tensor<4x16xf32>, %z: tensor<2x16xf32>)
    -> (tensor<8x12xf32>, tensor<2x16xf32>) {
  %r = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x12xf32>)
      outs(%c : tensor<8x12xf32>) -> tensor<8x12xf32>
  %s = linalg.matmul ins(%x, %y : tensor<2x4xf32>, tensor<4x16xf32>)
      outs(%z : tensor<2x16xf32>) -> tensor<2x16xf32>
  return %r, %s : tensor<8x12xf32>, tensor<2x16xf32>
}

// -----

// Fewer rows than a register tile with a transposed B: B is read in place,
// not repacked. Blocks of 64 columns (the second one short) run in a forall;
// each panel keeps one accumulator per row, and every 16 k steps load a
// 16x16 block of B row by row and transpose it with shuffles, so the FMA
// chain of each lane is the register tile's. The last 4 k steps (K = 20)
// load 4-wide rows padded to 16 lanes. No horizontal reduction is needed.

// CHECK-LABEL: func @matmul_transpose_b_one_row
// CHECK-SAME: (%[[A:.*]]: tensor<1x20xf32>, %[[W:.*]]: tensor<96x20xf32>, %[[C:.*]]: tensor<1x96xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %[[C]])
// CHECK: tensor.extract_slice {{.*}} to tensor<1x?xf32>
// CHECK: scf.for {{.*}} -> (tensor<1x?xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x?xf32>, vector<16xf32>
// CHECK: scf.for %[[K:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c16 iter_args({{.*}}) -> (vector<16xf32>)
// CHECK-COUNT-16: vector.transfer_read %[[W]][%{{.*}}, %[[K]]], %{{.*}} : tensor<96x20xf32>, vector<16xf32>
// CHECK-COUNT-64: vector.shuffle
// CHECK: tensor.extract %[[A]]
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-COUNT-16: math.fma
// CHECK: scf.yield {{.*}} : vector<16xf32>
// CHECK-COUNT-16: vector.transfer_read %[[W]]{{.*}} : tensor<96x20xf32>, vector<4xf32>
// CHECK: vector.insert_strided_slice
// CHECK-COUNT-4: math.fma
// CHECK-NOT: math.fma
// CHECK: vector.transfer_write
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: vector.reduction
// CHECK-NOT: linalg.matmul
// SEQ-LABEL: func @matmul_transpose_b_one_row
// SEQ-NOT: linalg.transpose
// SEQ-NOT: scf.forall
// SEQ: scf.for {{.*}} -> (tensor<1x96xf32>)
// SEQ: vector.shuffle
// SEQ: math.fma
// SEQ: tensor.insert_slice
func.func @matmul_transpose_b_one_row(%a: tensor<1x20xf32>,
                                      %w: tensor<96x20xf32>,
                                      %c: tensor<1x96xf32>)
    -> tensor<1x96xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %w : tensor<1x20xf32>, tensor<96x20xf32>)
      outs(%c : tensor<1x96xf32>) -> tensor<1x96xf32>
  return %r : tensor<1x96xf32>
}

// -----

// Elementwise: one row at a time in strips of 16 lanes. Large enough ops get
// an scf.forall over rows when `parallel` is set.

// CHECK-LABEL: func @elementwise
// CHECK: scf.for
// CHECK: scf.for {{.*}} step %c16
// CHECK: vector.transfer_read {{.*}} vector<16xf32>
// CHECK: math.exp {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
// PAR-LABEL: func @elementwise
// PAR: scf.forall (%{{.*}}) in (512)
// PAR: scf.for {{.*}} step %c16
// PAR: math.exp {{.*}} : vector<16xf32>
// PAR: tensor.parallel_insert_slice
func.func @elementwise(%a: tensor<512x64xf32>, %b: tensor<64xf32>)
    -> tensor<512x64xf32> {
  %e = tensor.empty() : tensor<512x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<512x64xf32>, tensor<64xf32>)
      outs(%e : tensor<512x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = math.exp %s : f32
    linalg.yield %t : f32
  } -> tensor<512x64xf32>
  return %r : tensor<512x64xf32>
}

// -----

// A row reduction is vectorized over the whole row: one horizontal
// reduction per row. A transposed access is not vectorized.

// CHECK-LABEL: func @reductions
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} vector<64xf32>
// CHECK: vector.multi_reduction <add>
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
func.func @reductions(%a: tensor<4x64xf32>, %init: tensor<4xf32>,
                      %t: tensor<64x4xf32>) -> (tensor<4xf32>, tensor<4x64xf32>) {
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %q = arith.addf %x, %o : f32
    linalg.yield %q : f32
  } -> tensor<4xf32>
  %e = tensor.empty() : tensor<4x64xf32>
  %u = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<64x4xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<4x64xf32>
  return %s, %u : tensor<4xf32>, tensor<4x64xf32>
}

// -----

// A plain B with at least pack-min-rows rows is repacked too, one 16-lane row
// per k step. With kc = 4 the 10 reduction steps of each row block run as an
// scf.for over two blocks of 4 and a last block of 2; each block reloads the
// partial sums from C.

// KC-LABEL: func @matmul_plain_packed
// KC-SAME: (%[[A:.*]]: tensor<16x10xf32>, %[[B:.*]]: tensor<10x32xf32>, %[[C:.*]]: tensor<16x32xf32>)
// KC: %[[EMPTY:.*]] = tensor.empty() : tensor<2x10x16xf32>
// KC: %[[PANELS:.*]] = scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[EMPTY]])
// KC: scf.for %[[K:.*]] = %c0 to %c10 step %c1
// KC: vector.transfer_read %[[B]][%[[K]], %{{.*}}], %{{.*}} : tensor<10x32xf32>, vector<16xf32>
// KC: vector.transfer_write {{.*}} : vector<16xf32>, tensor<10x16xf32>
// KC: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[C]])
// KC: scf.for %[[K0:.*]] = %c0 to %c8 step %c4
// KC: scf.for %[[P:.*]] = %c0 to %c2 step %c1
// KC: scf.for
// KC: %[[KEND:.*]] = arith.addi %[[K0]], %c4
// KC: scf.for %[[KK:.*]] = %[[K0]] to %[[KEND]] step %c2
// KC: vector.transfer_read %[[PANELS]][%[[P]], %[[KK]], %c0]
// KC: scf.for %[[P2:.*]] = %c0 to %c2 step %c1
// KC: scf.for %{{.*}} = %c0 to %{{.*}} step %c4
// KC: scf.for %[[KT:.*]] = %c8 to %c10 step %c2
// KC: vector.transfer_read %[[PANELS]][%[[P2]], %[[KT]], %c0]
// KC-NOT: linalg.matmul
func.func @matmul_plain_packed(%a: tensor<16x10xf32>, %b: tensor<10x32xf32>,
                               %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x10xf32>, tensor<10x32xf32>)
      outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}

// -----

// A 16x16 block of a transpose (as the lowerings cut large transposes):
// 16 row loads, shuffles, 16 row stores. Other shapes keep linalg.transpose.

// PAR-LABEL: func @transpose_block
// PAR-SAME: (%[[X:.*]]: tensor<16x16xf32>, %[[Y:.*]]: tensor<16x16xf32>, %[[Z:.*]]: tensor<8x16xf32>
// PAR-COUNT-16: vector.transfer_read %[[X]]
// PAR: vector.shuffle
// PAR-COUNT-16: vector.transfer_write {{.*}} : vector<16xf32>, tensor<16x16xf32>
// PAR: linalg.transpose ins(%[[Z]]
func.func @transpose_block(%x: tensor<16x16xf32>, %y: tensor<16x16xf32>,
                           %z: tensor<8x16xf32>, %w: tensor<16x8xf32>)
    -> (tensor<16x16xf32>, tensor<16x8xf32>) {
  %t = linalg.transpose ins(%x : tensor<16x16xf32>)
      outs(%y : tensor<16x16xf32>) permutation = [1, 0]
  %u = linalg.transpose ins(%z : tensor<8x16xf32>)
      outs(%w : tensor<16x8xf32>) permutation = [1, 0]
  return %t, %u : tensor<16x16xf32>, tensor<16x8xf32>
}

// -----

// A transposed A ([K, M], a weight gradient's gy^T) with fewer than
// pack-min-rows rows is read in place: at k step %K the tile's rows are the
// consecutive elements of row %K of A.

// CHECK-LABEL: func @matmul_transpose_a
// CHECK-SAME: (%[[A:.*]]: tensor<6x8xf32>, %[[B:.*]]: tensor<6x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: scf.for %[[K:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c2 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: tensor.extract %[[A]][%[[K]], %{{.*}}] : tensor<6x8xf32>
// CHECK-NOT: linalg.matmul
func.func @matmul_transpose_a(%a: tensor<6x8xf32>, %b: tensor<6x16xf32>,
                              %c: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                      affine_map<(m, n, k) -> (k, n)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<6x8xf32>, tensor<6x16xf32>)
      outs(%c : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// With at least pack-min-rows rows, a transposed A is repacked into one
// panel per register tile ([tiles, K, mr rounded up to a power of two]); the
// last tile (2 of 18 rows) reads past M as zeros. The kernel broadcasts the
// tile's values for one k step from one row of its panel.
// Row blocks: 5 tiles of 4 rows in blocks of about mc = 8 rows is 3 blocks;
// for 2 threads 4, block i starting at tile floor(5i / 4): rows 0, 4, 8, 12
// (the last block has the last two tiles).

// CHECK-LABEL: func @matmul_transpose_a_packed
// CHECK-SAME: (%[[A:.*]]: tensor<6x18xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<5x6x4xf32>
// CHECK: %[[PACKED:.*]] = scf.forall (%{{.*}}) in (5) shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK: vector.transfer_read %[[A]][%{{.*}}, %{{.*}}], %{{.*}} : tensor<6x18xf32>, vector<4xf32>
// CHECK: scf.forall (%{{.*}}) in (3)
// CHECK: scf.for %[[K:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c2 iter_args
// CHECK: tensor.extract %[[PACKED]][%{{.*}}, %[[K]], %c0] : tensor<5x6x4xf32>
// CHECK: tensor.extract %[[PACKED]][%{{.*}}, %[[K]], %c3] : tensor<5x6x4xf32>
// CHECK-NOT: tensor.extract %[[A]]

// THREADS-DAG: #[[START:.*]] = affine_map<(d0) -> (((d0 * 5) floordiv 4) * 4)>
// THREADS-DAG: #[[ROWS:.*]] = affine_map<(d0) -> ((((d0 + 1) * 5) floordiv 4) * 4 - ((d0 * 5) floordiv 4) * 4, ((d0 * 5) floordiv 4) * -4 + 18)>
// THREADS-LABEL: func @matmul_transpose_a_packed
// THREADS: scf.forall (%[[BLOCK:.*]]) in (4)
// THREADS: affine.apply #[[START]](%[[BLOCK]])
// THREADS: affine.min #[[ROWS]](%[[BLOCK]])
func.func @matmul_transpose_a_packed(%a: tensor<6x18xf32>, %b: tensor<6x16xf32>,
                                     %c: tensor<18x16xf32>)
    -> tensor<18x16xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                      affine_map<(m, n, k) -> (k, n)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<6x18xf32>, tensor<6x16xf32>)
      outs(%c : tensor<18x16xf32>) -> tensor<18x16xf32>
  return %r : tensor<18x16xf32>
}
