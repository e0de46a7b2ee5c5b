// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// rms_norm with groups: x is viewed as [..., G, W/G] (the weight as
// [G, W/G]), a reduction generic sums the squares of each group into a
// zero-filled [..., G] accumulator, then a parallel generic scales every
// element by rsqrt(sum / (W/G) + eps) and (weight + 1); the result is
// collapsed back to [..., W].

//   CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
//   CHECK-DAG: #[[$ROW4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$FEAT4:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-LABEL: func.func @rms_norm_groups
//  CHECK-SAME:     (%[[X:.*]]: tensor<1x16x64xf32>, %[[W:.*]]: tensor<64xf32>)
//       CHECK:   %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [1, 16, 4, 16]
//       CHECK:   %[[WG:.*]] = tensor.expand_shape %[[W]] {{\[}}[0, 1]] output_shape [4, 16]
//       CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK:   %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<1x16x4xf32>)
//       CHECK:   %[[SUMSQ:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID4]], #[[$ROW4]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel", "reduction"]
//  CHECK-SAME:       ins(%[[XG]] : tensor<1x16x4x16xf32>) outs(%[[ACC]] : tensor<1x16x4xf32>)
//       CHECK:   ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
//       CHECK:     %[[SQ:.*]] = arith.mulf %[[IN]], %[[IN]] : f32
//       CHECK:     %[[ADD:.*]] = arith.addf %[[OUT]], %[[SQ]] : f32
//       CHECK:     linalg.yield %[[ADD]] : f32
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x16x4x16xf32>
//       CHECK:   %[[NORM:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID4]], #[[$ROW4]], #[[$FEAT4]], #[[$ID4]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[XG]], %[[SUMSQ]], %[[WG]] : tensor<1x16x4x16xf32>, tensor<1x16x4xf32>, tensor<4x16xf32>) outs(%[[EMPTY]] : tensor<1x16x4x16xf32>)
//       CHECK:   ^bb0(%[[XV:.*]]: f32, %[[S:.*]]: f32, %[[WV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     %[[MEAN:.*]] = arith.divf %[[S]], %{{.*}} : f32
//       CHECK:     %[[SHIFTED:.*]] = arith.addf %[[MEAN]], %{{.*}} : f32
//       CHECK:     %[[INV:.*]] = math.rsqrt %[[SHIFTED]] : f32
//       CHECK:     %[[Y:.*]] = arith.mulf %[[XV]], %[[INV]] : f32
//       CHECK:     %[[SCALE:.*]] = arith.addf %[[WV]], %{{.*}} : f32
//       CHECK:     %[[YW:.*]] = arith.mulf %[[Y]], %[[SCALE]] : f32
//       CHECK:     linalg.yield %[[YW]] : f32
//       CHECK:   %[[RES:.*]] = tensor.collapse_shape %[[NORM]] {{\[}}[0], [1], [2, 3]] : tensor<1x16x4x16xf32> into tensor<1x16x64xf32>
//       CHECK:   return %[[RES]]
func.func @rms_norm_groups(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>) -> tensor<1x16x64xf32> {
  %y = megalodon.rms_norm %x weight(%w) {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return %y : tensor<1x16x64xf32>
}

// -----

// One group and no weight: no reshapes, and the parallel generic reads x
// and the per-row sum only.

//   CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$ROW2:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @rms_norm_plain
//  CHECK-SAME:     (%[[X:.*]]: tensor<16x32xf32>)
//   CHECK-NOT:   tensor.expand_shape
//       CHECK:   %[[SUMSQ:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[X]] : tensor<16x32xf32>)
//       CHECK:   %[[NORM:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]], #[[$ID2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]], %[[SUMSQ]] : tensor<16x32xf32>, tensor<16xf32>)
//       CHECK:     math.rsqrt
//   CHECK-NOT:   tensor.collapse_shape
//       CHECK:   return %[[NORM]]
func.func @rms_norm_plain(%x: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %y = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-05 : f64}
      : (tensor<16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// layer_norm: a reduction for the row sum, a second reduction for the sum
// of squared deviations from the mean (two passes, as in the reference),
// then one parallel generic: (x - mean) * rsqrt(var + eps) * (w + 1) + b.

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$ROW3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
//   CHECK-DAG: #[[$FEAT3:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm_affine
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
//       CHECK:   %[[SUM:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ROW3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//  CHECK-SAME:       ins(%[[X]] : tensor<2x16x64xf32>) outs(%{{.*}} : tensor<2x16xf32>)
//       CHECK:   %[[SQDEV:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ROW3]], #[[$ROW3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "reduction"]
//  CHECK-SAME:       ins(%[[X]], %[[SUM]] : tensor<2x16x64xf32>, tensor<2x16xf32>) outs(%{{.*}} : tensor<2x16xf32>)
//       CHECK:   ^bb0(%[[XV:.*]]: f32, %[[SV:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:     %[[MEAN:.*]] = arith.divf %[[SV]], %{{.*}} : f32
//       CHECK:     %[[DEV:.*]] = arith.subf %[[XV]], %[[MEAN]] : f32
//       CHECK:     %[[SQ:.*]] = arith.mulf %[[DEV]], %[[DEV]] : f32
//       CHECK:     %[[NEXT:.*]] = arith.addf %[[ACC]], %[[SQ]] : f32
//       CHECK:     linalg.yield %[[NEXT]] : f32
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<2x16x64xf32>
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ROW3]], #[[$ROW3]], #[[$FEAT3]], #[[$FEAT3]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]], %[[SUM]], %[[SQDEV]], %[[W]], %[[B]] : {{.*}}) outs(%[[EMPTY]] : tensor<2x16x64xf32>)
//       CHECK:   ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %[[WV:.*]]: f32, %[[BV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     math.rsqrt
//       CHECK:     %[[SCALE:.*]] = arith.addf %[[WV]], %{{.*}} : f32
//       CHECK:     %[[SCALED:.*]] = arith.mulf %{{.*}}, %[[SCALE]] : f32
//       CHECK:     %[[BIASED:.*]] = arith.addf %[[SCALED]], %[[BV]] : f32
//       CHECK:     linalg.yield %[[BIASED]] : f32
//       CHECK:   return %[[Y]]
func.func @layer_norm_affine(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %y = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-05 : f64}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// Without the affine pair the parallel generic reads x and the two row
// statistics only.

//   CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$ROW2:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @layer_norm_plain
//  CHECK-SAME:     (%[[X:.*]]: tensor<16x64xf32>)
//       CHECK:   %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
//       CHECK:   %[[SQDEV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ROW2]], #[[$ROW2]], #[[$ID2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]], %[[SUM]], %[[SQDEV]] : tensor<16x64xf32>, tensor<16xf32>, tensor<16xf32>)
//       CHECK:     %[[INV:.*]] = math.rsqrt %{{.*}} : f32
//       CHECK:     %[[OUT:.*]] = arith.mulf %{{.*}}, %[[INV]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   return %[[Y]]
func.func @layer_norm_plain(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %y = megalodon.layer_norm %x {eps = 1.0e-05 : f64}
      : (tensor<16x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
