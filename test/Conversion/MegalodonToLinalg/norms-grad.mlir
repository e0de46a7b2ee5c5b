// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// rms_norm_grad with groups and more rows than one block: x and gy are
// viewed as rows [R, G, W/G] (R = 3000, 512 rows of W = 64 per block). An
// scf.forall over the five full blocks, then the 440 rows left: per block,
// one reduction for sum(x^2) and sum(G x), a generic turning them into r and
// r^3 sum(G x) / s in place, gx into the block's rows, and the block's
// partial weight gradient. The partials are summed over the blocks in order.

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$ROW3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
//   CHECK-DAG: #[[$FEAT3:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
//   CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @rms_norm_grad_groups
//  CHECK-SAME:     (%[[X:.*]]: tensor<3x1000x64xf32>, %[[W:.*]]: tensor<64xf32>, %[[GY:.*]]: tensor<3x1000x64xf32>)
//       CHECK:   %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<3x1000x64xf32> into tensor<3000x64xf32>
//       CHECK:   %[[XG:.*]] = tensor.expand_shape %[[XR]] {{\[}}[0], [1, 2]] output_shape [3000, 2, 32]
//       CHECK:   %[[GYG:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [3000, 2, 32]
//       CHECK:   %[[WG:.*]] = tensor.expand_shape %[[W]] {{\[}}[0, 1]] output_shape [2, 32]
//       CHECK:   %[[GX0:.*]] = tensor.empty() : tensor<3000x2x32xf32>
//       CHECK:   %[[PW0:.*]] = tensor.empty() : tensor<6x2x32xf32>
//       CHECK:   %[[BLOCKS:.*]]:2 = scf.forall (%[[K:.*]]) in (5) shared_outs(%[[GXS:.*]] = %[[GX0]], %[[PWS:.*]] = %[[PW0]])
//       CHECK:     %[[START:.*]] = arith.muli %[[K]], %{{.*}} : index
//       CHECK:     %[[GXB:.*]] = tensor.extract_slice %[[GXS]][%[[START]], 0, 0] [512, 2, 32] [1, 1, 1]
//       CHECK:     %[[PWB:.*]] = tensor.extract_slice %[[PWS]][%[[K]], 0, 0] [1, 2, 32] [1, 1, 1] : tensor<6x2x32xf32> to tensor<2x32xf32>
//       CHECK:     %[[XB:.*]] = tensor.extract_slice %[[XG]][%[[START]], 0, 0] [512, 2, 32] [1, 1, 1]
//       CHECK:     %[[GYB:.*]] = tensor.extract_slice %[[GYG]][%[[START]], 0, 0] [512, 2, 32] [1, 1, 1]
//       CHECK:     %[[SUMS:.*]]:2 = linalg.generic
//  CHECK-SAME:         indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$FEAT3]], #[[$ROW3]], #[[$ROW3]]]
//  CHECK-SAME:         iterator_types = ["parallel", "parallel", "reduction"]
//  CHECK-SAME:         ins(%[[XB]], %[[GYB]], %[[WG]] :
//       CHECK:     %[[COEF:.*]]:2 = linalg.generic
//  CHECK-SAME:         indexing_maps = [#[[$ID2]], #[[$ID2]]]
//  CHECK-SAME:         outs(%[[SUMS]]#0, %[[SUMS]]#1 : tensor<512x2xf32>, tensor<512x2xf32>)
//       CHECK:       math.rsqrt
//       CHECK:     %[[GXV:.*]] = linalg.generic
//  CHECK-SAME:         indexing_maps = [#[[$ID3]], #[[$ROW3]], #[[$ROW3]], #[[$ID3]], #[[$FEAT3]], #[[$ID3]]]
//  CHECK-SAME:         iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:         ins(%[[XB]], %[[COEF]]#0, %[[COEF]]#1, %[[GYB]], %[[WG]] :
//  CHECK-SAME:         outs(%[[GXB]] : tensor<512x2x32xf32>)
//       CHECK:     %[[PWZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[PWB]] : tensor<2x32xf32>)
//       CHECK:     %[[PW:.*]] = linalg.generic
//  CHECK-SAME:         indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$ROW3]], #[[$FEAT3]]]
//  CHECK-SAME:         iterator_types = ["reduction", "parallel", "parallel"]
//  CHECK-SAME:         ins(%[[XB]], %[[GYB]], %[[COEF]]#0 :
//  CHECK-SAME:         outs(%[[PWZ]] : tensor<2x32xf32>)
//       CHECK:     scf.forall.in_parallel
//       CHECK:       tensor.parallel_insert_slice %[[GXV]] into %[[GXS]][%[[START]], 0, 0] [512, 2, 32] [1, 1, 1]
//       CHECK:       tensor.parallel_insert_slice %[[PW]] into %[[PWS]][%[[K]], 0, 0] [1, 2, 32] [1, 1, 1]
//       CHECK:   tensor.extract_slice %[[XG]][%{{.*}}, 0, 0] [440, 2, 32] [1, 1, 1]
//       CHECK:   %[[GXALL:.*]] = tensor.insert_slice %{{.*}} into %[[BLOCKS]]#0[%{{.*}}, 0, 0] [440, 2, 32] [1, 1, 1]
//       CHECK:   %[[PWALL:.*]] = tensor.insert_slice %{{.*}} into %[[BLOCKS]]#1[%{{.*}}, 0, 0] [1, 2, 32] [1, 1, 1]
//       CHECK:   %[[GXM:.*]] = tensor.collapse_shape %[[GXALL]] {{\[}}[0], [1, 2]] : tensor<3000x2x32xf32> into tensor<3000x64xf32>
//       CHECK:   %[[GXOUT:.*]] = tensor.expand_shape %[[GXM]] {{\[}}[0, 1], [2]] output_shape [3, 1000, 64]
//       CHECK:   %[[GWG:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$FEAT3]]]
//  CHECK-SAME:       iterator_types = ["reduction", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[PWALL]] : tensor<6x2x32xf32>) outs(%{{.*}} : tensor<2x32xf32>)
//       CHECK:   %[[GW:.*]] = tensor.collapse_shape %[[GWG]] {{\[}}[0, 1]] : tensor<2x32xf32> into tensor<64xf32>
//       CHECK:   return %[[GXOUT]], %[[GW]]
func.func @rms_norm_grad_groups(%x: tensor<3x1000x64xf32>, %w: tensor<64xf32>,
                                %gy: tensor<3x1000x64xf32>)
    -> (tensor<3x1000x64xf32>, tensor<64xf32>) {
  %gx, %gw = megalodon.rms_norm_grad %x weight(%w) grad(%gy)
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<3x1000x64xf32>, tensor<64xf32>, tensor<3x1000x64xf32>)
      -> (tensor<3x1000x64xf32>, tensor<64xf32>)
  return %gx, %gw : tensor<3x1000x64xf32>, tensor<64xf32>
}

// -----

// One group, no weight, one block: no loop over blocks, a unit group
// dimension, gx = gy r - x r^3 sum(gy x) / s, and no weight gradient.

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$ROW3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @rms_norm_grad_plain
//  CHECK-SAME:     (%[[X:.*]]: tensor<16x32xf32>, %[[GY:.*]]: tensor<16x32xf32>)
//       CHECK:   tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [16, 1, 32]
//   CHECK-NOT:   scf.forall
//       CHECK:   %[[SUMS:.*]]:2 = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$ROW3]], #[[$ROW3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:   linalg.generic
//       CHECK:     math.rsqrt
//       CHECK:   %[[GX:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ROW3]], #[[$ROW3]], #[[$ID3]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//       CHECK:     arith.subf
//   CHECK-NOT:   iterator_types = ["reduction"
//       CHECK:   %[[OUT:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<16x1x32xf32> into tensor<16x32xf32>
//       CHECK:   return %[[OUT]]
func.func @rms_norm_grad_plain(%x: tensor<16x32xf32>, %gy: tensor<16x32xf32>)
    -> tensor<16x32xf32> {
  %gx = megalodon.rms_norm_grad %x grad(%gy)
      {num_groups = 1 : i64, eps = 1.0e-05 : f64}
      : (tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x32xf32>
  return %gx : tensor<16x32xf32>
}

// -----

// layer_norm_grad with the affine pair, one block of rows [R, W]: sum(x),
// then sum((x - mu)^2), sum(G) and sum(G (x - mu)) in a second pass, the
// per-row mu, r, sum(G) / W and r^2 sum(G (x - mu)) / W, gx, and the weight
// and bias gradients as sums over the rows. With a single block its partial
// sums are the gradients.

//   CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$ROW2:.*]] = affine_map<(d0, d1) -> (d0)>
//   CHECK-DAG: #[[$FEAT2:.*]] = affine_map<(d0, d1) -> (d1)>
//   CHECK-DAG: #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @layer_norm_grad_affine
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<64xf32>, %[[GY:.*]]: tensor<2x16x64xf32>)
//       CHECK:   %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[GYR:.*]] = tensor.collapse_shape %[[GY]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//   CHECK-NOT:   scf.forall
//       CHECK:   %[[SUM:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//       CHECK:   %[[STATS:.*]]:3 = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]], #[[$ID2]], #[[$FEAT2]], #[[$ROW2]], #[[$ROW2]], #[[$ROW2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%{{.*}}, %[[SUM]], %{{.*}}, %[[W]] :
//       CHECK:   %[[COEF:.*]]:4 = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID1]], #[[$ID1]], #[[$ID1]], #[[$ID1]]]
//  CHECK-SAME:       outs(%[[SUM]], %[[STATS]]#0, %[[STATS]]#1, %[[STATS]]#2 :
//       CHECK:     math.rsqrt
//       CHECK:   %[[GX:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]], #[[$ROW2]], #[[$ROW2]], #[[$ROW2]], #[[$ID2]], #[[$FEAT2]], #[[$ID2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%{{.*}}, %[[COEF]]#0, %[[COEF]]#1, %[[COEF]]#2, %[[COEF]]#3, %{{.*}}, %[[W]] :
//       CHECK:   %[[AFFINE:.*]]:2 = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ROW2]], #[[$ROW2]], #[[$FEAT2]], #[[$FEAT2]]]
//  CHECK-SAME:       iterator_types = ["reduction", "parallel"]
//  CHECK-SAME:       ins(%{{.*}}, %{{.*}}, %[[COEF]]#0, %[[COEF]]#1 :
//       CHECK:   %[[GXALL:.*]] = tensor.insert_slice %[[GX]]
//       CHECK:   %[[GWALL:.*]] = tensor.insert_slice %[[AFFINE]]#0
//       CHECK:   %[[GBALL:.*]] = tensor.insert_slice %[[AFFINE]]#1
//       CHECK:   %[[GXOUT:.*]] = tensor.expand_shape %[[GXALL]] {{\[}}[0, 1], [2]] output_shape [2, 16, 64]
//       CHECK:   %[[GWOUT:.*]] = tensor.collapse_shape %[[GWALL]] {{\[}}[0, 1]] : tensor<1x64xf32> into tensor<64xf32>
//       CHECK:   %[[GBOUT:.*]] = tensor.collapse_shape %[[GBALL]] {{\[}}[0, 1]] : tensor<1x64xf32> into tensor<64xf32>
//       CHECK:   return %[[GXOUT]], %[[GWOUT]], %[[GBOUT]]
func.func @layer_norm_grad_affine(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>,
                                  %gy: tensor<2x16x64xf32>)
    -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %gx, %gw, %gb = megalodon.layer_norm_grad %x affine(%w) grad(%gy)
      {eps = 1.0e-05 : f64}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x16x64xf32>)
      -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return %gx, %gw, %gb : tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// Without the affine pair: G = gy, and no reduction over the rows.

// CHECK-LABEL: func.func @layer_norm_grad_plain
//  CHECK-SAME:     (%[[X:.*]]: tensor<4x6xf32>, %[[GY:.*]]: tensor<4x6xf32>)
//       CHECK:   iterator_types = ["parallel", "reduction"]
//       CHECK:   iterator_types = ["parallel", "reduction"]
//       CHECK:     math.rsqrt
//       CHECK:   %[[GX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
//   CHECK-NOT:   iterator_types = ["reduction", "parallel"]
//       CHECK:   %[[OUT:.*]] = tensor.insert_slice %[[GX]]
//       CHECK:   return %[[OUT]] : tensor<4x6xf32>
func.func @layer_norm_grad_plain(%x: tensor<4x6xf32>, %gy: tensor<4x6xf32>)
    -> tensor<4x6xf32> {
  %gx = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-05 : f64}
      : (tensor<4x6xf32>, tensor<4x6xf32>) -> (tensor<4x6xf32>)
  return %gx : tensor<4x6xf32>
}
