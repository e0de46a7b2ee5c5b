// RUN: megalodon-opt %s --megalodon-tile-cema --canonicalize --cse | FileCheck %s

// A cema with a tile config becomes the two-level scan: an scf.forall over
// (batch row, channel group), the state copied privately per group, a loop
// over blocks of block_time steps (the last one ragged: min(t0 + 16, 37)),
// the first group of state_group states inline and the others in a loop,
// each running the block's steps, two per iteration, with its states in
// vector registers: per state and step two multiplies and five FMAs, three
// of them vector.fma and two contractible multiply-subtract pairs.

// CHECK-LABEL: func.func @tiled
// CHECK: scf.forall (%[[B:.+]], %[[C:.+]]) in (2, 4) shared_outs(%[[Y:.+]] = %{{.+}}, %[[S:.+]] = %{{.+}}) -> (tensor<2x37x32xf32>, tensor<2x2x8x32xf32>)
// CHECK:   %[[D0:.+]] = arith.muli %[[C]], %c8
// CHECK:   %[[XS:.+]] = tensor.extract_slice %arg0[%[[B]], 0, %[[D0]]] [1, 37, 8] [1, 1, 1] : tensor<2x37x32xf32> to tensor<37x8xf32>
// CHECK:   %[[PS:.+]] = linalg.copy ins(%{{.+}} : tensor<2x8x8xf32>)
// CHECK:   scf.for %[[T0:.+]] = %c0 to %c37 step %c16 iter_args({{.+}}) -> (tensor<37x8xf32>, tensor<2x8x8xf32>)
// CHECK:     %[[END:.+]] = arith.minsi %{{.+}}, %c37
// Steps in pairs up to an even count, then the odd one out.
// CHECK:     %[[ODD:.+]] = arith.remsi %{{.+}}, %c2
// CHECK:     %[[PAIRS:.+]] = arith.subi %[[END]], %[[ODD]]
// CHECK:     scf.for %{{.+}} = %[[T0]] to %[[PAIRS]] step %c2 iter_args({{.+}}) -> (tensor<37x8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:       vector.transfer_read %[[XS]]
// CHECK-COUNT-5: vector.fma
// CHECK:       vector.transfer_write
// CHECK-COUNT-5: vector.fma
// CHECK:       vector.transfer_write
// CHECK:     scf.for %{{.+}} = %[[PAIRS]] to %[[END]] step %c1
// CHECK:     scf.for %{{.+}} = %c2 to %c8 step %c2 iter_args({{.+}}) -> (tensor<37x8xf32>, tensor<2x8x8xf32>)
// CHECK:       scf.for %{{.+}} = %[[T0]] to %[[PAIRS]] step %c2
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into %[[Y]][%[[B]], 0, %[[D0]]] [1, 37, 8] [1, 1, 1]
// CHECK:     tensor.parallel_insert_slice %{{.+}} into %[[S]][%[[B]], 0, 0, %[[D0]]] [1, 2, 8, 8] [1, 1, 1, 1]
// CHECK: linalg.generic {{.*}} outs(%{{.+}} : tensor<2x32x8xcomplex<f32>>)
// CHECK-NOT: megalodon.cema
func.func @tiled(%x: tensor<2x37x32xf32>, %a: tensor<32x8x1xf32>,
                 %t: tensor<32x1x1xf32>, %g: tensor<32x8x2xf32>,
                 %o: tensor<32x1xf32>, %hx: tensor<2x32x8xcomplex<f32>>)
    -> (tensor<2x37x32xf32>, tensor<2x32x8xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o) state(%hx)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 16 : i64, lanes = 8 : i64, state_group = 2 : i64}, source = "user">}
      : (tensor<2x37x32xf32>, tensor<32x8x1xf32>, tensor<32x8x1xf32>, tensor<32x1x1xf32>, tensor<32x8x2xf32>, tensor<32x1xf32>, tensor<2x32x8xcomplex<f32>>)
      -> (tensor<2x37x32xf32>, tensor<2x32x8xcomplex<f32>>)
  return %y, %h : tensor<2x37x32xf32>, tensor<2x32x8xcomplex<f32>>
}

// Without a config the op is left for megalodon-convert-to-linalg.
// CHECK-LABEL: func.func @untiled
// CHECK: megalodon.cema
func.func @untiled(%x: tensor<1x4x8xf32>, %a: tensor<8x2x1xf32>,
                   %t: tensor<8x1x1xf32>, %g: tensor<8x2x2xf32>,
                   %o: tensor<8x1xf32>) -> tensor<1x4x8xf32> {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x4x8xf32>, tensor<8x2x1xf32>, tensor<8x2x1xf32>, tensor<8x1x1xf32>, tensor<8x2x2xf32>, tensor<8x1xf32>)
      -> (tensor<1x4x8xf32>, tensor<1x8x2xcomplex<f32>>)
  return %y : tensor<1x4x8xf32>
}

// A cema_grad with a tile config becomes the vector adjoint scan: gx starts
// as the skip path and the adjoint buffer as [B, 7, N, D] (mu from g_h_last,
// sums zero); per (batch row, channel group) a forward scan stores the
// checkpoints [nb = ceil(37 / 7) = 6, 2, N, lanes], then the blocks run last
// to first, per group of 2 states: the block's states are recomputed into a
// [K + 1, 2, G, lanes] buffer, and the adjoint steps run backward with
// gx's share and 7 G = 14 vectors carried in registers.

// CHECK-LABEL: func.func @tiled_grad
// CHECK: scf.forall (%[[B:.+]], %[[C:.+]]) in (2, 4) shared_outs(%[[GX:.+]] = %{{.+}}, %[[ADJ:.+]] = %{{.+}}) -> (tensor<2x37x32xf32>, tensor<2x7x8x32xf32>)
// CHECK:   linalg.copy ins(%{{.+}} : tensor<2x8x8xf32>)
// CHECK:   linalg.copy ins(%{{.+}} : tensor<7x8x8xf32>)
// CHECK:   scf.for %{{.+}} = %c0 to %c6 step %c1 iter_args({{.+}}) -> (tensor<6x2x8x8xf32>, tensor<2x8x8xf32>)
// CHECK:     scf.for %{{.+}} = %c0 to %c8 step %c2
// CHECK:       vector.transfer_write
// CHECK:       scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:   scf.for %{{.+}} = %c0 to %c6 step %c1 iter_args({{.+}}) -> (tensor<37x8xf32>, tensor<7x8x8xf32>, tensor<8x2x2x8xf32>)
// CHECK:     scf.for %{{.+}} = %c0 to %c8 step %c2
// CHECK:       scf.for {{.+}} -> (tensor<8x2x2x8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:       scf.for {{.+}} -> (tensor<37x8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-16: vector.fma
// CHECK:         vector.transfer_write %{{.+}}, %{{.+}}[%{{.+}}, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<37x8xf32>
// CHECK:   scf.forall.in_parallel
// After the scan: the sums over the batch, the chain rule, and g_hx.
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction", "parallel", "parallel"]{{.+}} ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x7x8x32xf32>, tensor<2x7x8x32xf32>, tensor<2x7x8x32xf32>, tensor<2x7x8x32xf32>, tensor<2x7x8x32xf32>)
// CHECK: complex.create
func.func @tiled_grad(%x: tensor<2x37x32xf32>, %a: tensor<32x8x1xf32>, %t: tensor<32x1x1xf32>, %g: tensor<32x8x2xf32>, %o: tensor<32x1xf32>, %gy: tensor<2x37x32xf32>, %hx: tensor<2x32x8xcomplex<f32>>, %gh: tensor<2x32x8xcomplex<f32>>) -> (tensor<2x37x32xf32>, tensor<32x8x1xf32>, tensor<32x8x1xf32>, tensor<32x1x1xf32>, tensor<32x8x2xf32>, tensor<32x1xf32>, tensor<2x32x8xcomplex<f32>>) {
  %gx, %ga, %gd, %gt, %gg, %go, %ghx = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) state(%hx) grad(%gy, %gh)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 7 : i64, lanes = 8 : i64, state_group = 2 : i64}, source = "user">}
      : (tensor<2x37x32xf32>, tensor<32x8x1xf32>, tensor<32x8x1xf32>, tensor<32x1x1xf32>, tensor<32x8x2xf32>, tensor<32x1xf32>, tensor<2x32x8xcomplex<f32>>, tensor<2x37x32xf32>, tensor<2x32x8xcomplex<f32>>)
      -> (tensor<2x37x32xf32>, tensor<32x8x1xf32>, tensor<32x8x1xf32>, tensor<32x1x1xf32>, tensor<32x8x2xf32>, tensor<32x1xf32>, tensor<2x32x8xcomplex<f32>>)
  return %gx, %ga, %gd, %gt, %gg, %go, %ghx : tensor<2x37x32xf32>, tensor<32x8x1xf32>, tensor<32x8x1xf32>, tensor<32x1x1xf32>, tensor<32x8x2xf32>, tensor<32x1xf32>, tensor<2x32x8xcomplex<f32>>
}

// A config of matrix_block = 8 selects the block (matrix) form: the powers
// q^0..q^8 by a loop of complex products; the Vandermonde rows p q^(7-s)
// (read in reverse); the reversed kernel, a reduction over the states; the
// Toeplitz matrices copied row by row from it; each block's input into the
// state at its end (a contraction over its 8 steps); a scan over the 4
// blocks only; C = gamma q^(t+1) from rows 1..8 of the powers; and the
// output as omega x plus two contractions, over the block's steps (K) and
// over the states (C with the state entering the block).

// CHECK-LABEL: func.func @matrix
// CHECK: %[[POW:.+]]:2 = scf.for %{{.+}} = %c1 to %c9 step %c1 {{.+}} -> (tensor<9x4x16xf32>, tensor<9x4x16xf32>)
// CHECK: %[[V:.+]]:2 = linalg.generic {indexing_maps = [#[[REV:.+]], #[[REV]], {{.+}}], iterator_types = ["parallel", "parallel", "parallel"]} ins({{.+}} : tensor<8x4x16xf32>, tensor<8x4x16xf32>, tensor<4x16xf32>)
// CHECK: %[[KREV:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[V]]#0, %[[V]]#1, {{.+}} outs(%{{.+}} : tensor<8x16xf32>)
// CHECK: %[[PAD:.+]] = tensor.insert_slice %[[KREV]] into %{{.+}}[0, 0] [8, 16] [1, 1] : tensor<8x16xf32> into tensor<15x16xf32>
// CHECK: %[[K:.+]] = scf.for %[[T:.+]] = %c0 to %c8 step %c1 iter_args(%[[KA:.+]] = %{{.+}}) -> (tensor<8x8x16xf32>)
// CHECK:   %[[FIRST:.+]] = arith.subi %c7, %[[T]]
// CHECK:   %[[ROW:.+]] = tensor.extract_slice %[[PAD]][%[[FIRST]], 0] [8, 16] [1, 1]
// CHECK:   tensor.insert_slice %[[ROW]] into %[[KA]][%[[T]], 0, 0] [1, 8, 16] [1, 1, 1]
// CHECK: %[[X4:.+]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3]] output_shape [2, 4, 8, 16]
// CHECK: %[[U:.+]]:2 = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel"]} ins(%[[X4]], %[[V]]#0, %[[V]]#1 : {{.+}} outs(%{{.+}}, %{{.+}} : tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32>)
// CHECK: %[[SCAN:.+]]:4 = scf.for %[[M:.+]] = %c0 to %c4 step %c1 iter_args(%[[HRE:.+]] = %{{.+}}, %[[HIM:.+]] = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}})
// CHECK:   tensor.insert_slice %[[HRE]] into %{{.+}}[0, %[[M]], 0, 0] [2, 1, 4, 16]
// CHECK:   tensor.extract_slice %[[U]]#0[0, %[[M]], 0, 0] [2, 1, 4, 16]
// CHECK:   linalg.generic {{.+}} outs(%[[HRE]], %[[HIM]] :
// CHECK: tensor.extract_slice %[[POW]]#0[1, 0, 0] [8, 4, 16] [1, 1, 1]
// CHECK: %[[C:.+]]:2 = linalg.generic
// CHECK: %[[SKIP:.+]] = linalg.generic {{.+}} ins(%[[X4]], %{{.+}} : tensor<2x4x8x16xf32>, tensor<16xf32>)
// CHECK: %[[INTRA:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[K]], %[[X4]] : {{.+}} outs(%[[SKIP]] :
// CHECK: %[[Y4:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[C]]#0, %[[C]]#1, %[[SCAN]]#2, %[[SCAN]]#3 : {{.+}} outs(%[[INTRA]] :
// CHECK: %[[Y:.+]] = tensor.collapse_shape %[[Y4]] {{\[\[}}0], [1, 2], [3]] : tensor<2x4x8x16xf32> into tensor<2x32x16xf32>
// CHECK: return %[[Y]], %{{.+}} : tensor<2x32x16xf32>, tensor<2x16x4xcomplex<f32>>
func.func @matrix(%x: tensor<2x32x16xf32>, %a: tensor<16x4x1xf32>,
                  %t: tensor<16x1x1xf32>, %g: tensor<16x4x2xf32>,
                  %o: tensor<16x1xf32>, %hx: tensor<2x16x4xcomplex<f32>>)
    -> (tensor<2x32x16xf32>, tensor<2x16x4xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o) state(%hx)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 8 : i64}, source = "user">}
      : (tensor<2x32x16xf32>, tensor<16x4x1xf32>, tensor<16x4x1xf32>, tensor<16x1x1xf32>, tensor<16x4x2xf32>, tensor<16x1xf32>, tensor<2x16x4xcomplex<f32>>)
      -> (tensor<2x32x16xf32>, tensor<2x16x4xcomplex<f32>>)
  return %y, %h : tensor<2x32x16xf32>, tensor<2x16x4xcomplex<f32>>
}

// cema_grad with matrix_block = 4: the forward's matrices and its scan over
// the 4 blocks (the states entering them); Y = sum_s q^(s+1) gy_s per block,
// conj(gamma Y), and the adjoint's scan over the blocks from the last
// (m = 3 - i) with those as inputs; gx as
// omega gy plus the transposed Toeplitz product of gy (K read as [s, t])
// and the Vandermonde rows read out against the arriving adjoint; the lag
// correlations, one reduction over (b, m, t) per lag; the per-block sums,
// reduced over (b, m) with the channels innermost.

// CHECK-LABEL: func.func @matrix_grad
// CHECK: %[[V:.+]]:2 = linalg.generic {{.+}} ins({{.+}} : tensor<4x4x16xf32>, tensor<4x4x16xf32>, tensor<4x16xf32>)
// CHECK: %[[K:.+]] = scf.for %{{.+}} = %c0 to %c4 step %c1 {{.+}} -> (tensor<4x4x16xf32>)
// CHECK: %[[X4:.+]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3]] output_shape [1, 4, 4, 16]
// CHECK: scf.for %{{.+}} = %c0 to %c4 step %c1 {{.+}} -> (tensor<1x4x16xf32>, tensor<1x4x16xf32>, tensor<1x4x4x16xf32>, tensor<1x4x4x16xf32>)
// CHECK: %[[GY4:.+]] = tensor.expand_shape %arg5 {{\[\[}}0], [1, 2], [3]] output_shape [1, 4, 4, 16]
// CHECK: %[[Y:.+]]:2 = linalg.generic {{.+}} ins(%[[GY4]], {{.+}} outs({{.+}} : tensor<1x4x4x16xf32>, tensor<1x4x4x16xf32>)
// CHECK: %[[E:.+]]:2 = linalg.generic {{.+}} ins(%{{.+}}, %{{.+}}, %[[Y]]#0, %[[Y]]#1 :
// CHECK: %[[ADJ:.+]]:4 = scf.for %[[I:.+]] = %c0 to %c4 step %c1 {{.+}} -> (tensor<1x4x16xf32>, tensor<1x4x16xf32>, tensor<1x4x4x16xf32>, tensor<1x4x4x16xf32>)
// CHECK:   %[[M:.+]] = arith.subi %c3, %[[I]]
// CHECK:   tensor.extract_slice %[[E]]#0[0, %[[M]], 0, 0] [1, 1, 4, 16]
// CHECK: %[[SKIP:.+]] = linalg.generic {{.+}} ins(%[[GY4]], %{{.+}} : tensor<1x4x4x16xf32>, tensor<16xf32>)
// CHECK: %[[UPPER:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[K]], %[[GY4]] : {{.+}} outs(%[[SKIP]] :
// CHECK: %[[GX4:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[V]]#0, %[[V]]#1, %[[ADJ]]#2, %[[ADJ]]#3 : {{.+}} outs(%[[UPPER]] :
// CHECK: scf.for %[[J:.+]] = %c0 to %c4 step %c1 {{.+}} -> (tensor<4x16xf32>)
// CHECK:   arith.subi %c3, %[[J]]
// CHECK:   linalg.generic {{.+}} iterator_types = ["reduction", "reduction", "reduction", "parallel"]} ins(%[[GY4]],
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "reduction", "parallel"]}
// CHECK: %[[GX:.+]] = tensor.collapse_shape %[[GX4]] {{\[\[}}0], [1, 2], [3]] : tensor<1x4x4x16xf32> into tensor<1x16x16xf32>
// CHECK: return %[[GX]],
func.func @matrix_grad(%x: tensor<1x16x16xf32>, %a: tensor<16x4x1xf32>,
                       %t: tensor<16x1x1xf32>, %g: tensor<16x4x2xf32>,
                       %o: tensor<16x1xf32>, %gy: tensor<1x16x16xf32>)
    -> (tensor<1x16x16xf32>, tensor<16x4x1xf32>, tensor<16x4x1xf32>, tensor<16x1x1xf32>, tensor<16x4x2xf32>, tensor<16x1xf32>) {
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%gy)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 4 : i64}, source = "user">}
      : (tensor<1x16x16xf32>, tensor<16x4x1xf32>, tensor<16x4x1xf32>, tensor<16x1x1xf32>, tensor<16x4x2xf32>, tensor<16x1xf32>, tensor<1x16x16xf32>)
      -> (tensor<1x16x16xf32>, tensor<16x4x1xf32>, tensor<16x4x1xf32>, tensor<16x1x1xf32>, tensor<16x4x2xf32>, tensor<16x1xf32>)
  return %gx, %ga, %gd, %gt, %gg, %go : tensor<1x16x16xf32>, tensor<16x4x1xf32>, tensor<16x4x1xf32>, tensor<16x1x1xf32>, tensor<16x4x2xf32>, tensor<16x1xf32>
}
