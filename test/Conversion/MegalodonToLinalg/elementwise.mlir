// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// add and mul become elementwise generics on an empty destination.

// CHECK-LABEL: func.func @add
//  CHECK-SAME:     (%[[LHS:.*]]: tensor<2x16x64xf32>, %[[RHS:.*]]: tensor<2x16x64xf32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<2x16x64xf32>
//       CHECK:   %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[LHS]], %[[RHS]] : {{.*}}) outs(%[[EMPTY]] : tensor<2x16x64xf32>)
//       CHECK:     arith.addf
//       CHECK:   return %[[SUM]]
func.func @add(%a: tensor<2x16x64xf32>, %b: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
  %y = megalodon.add %a, %b : tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// CHECK-LABEL: func.func @mul
//  CHECK-SAME:     (%[[LHS:.*]]: tensor<16x128xf32>, %[[RHS:.*]]: tensor<16x128xf32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<16x128xf32>
//       CHECK:   %[[PROD:.*]] = linalg.generic {{.*}} ins(%[[LHS]], %[[RHS]] : {{.*}}) outs(%[[EMPTY]] : tensor<16x128xf32>)
//       CHECK:     arith.mulf
//       CHECK:   return %[[PROD]]
func.func @mul(%a: tensor<16x128xf32>, %b: tensor<16x128xf32>) -> tensor<16x128xf32> {
  %y = megalodon.mul %a, %b : tensor<16x128xf32>
  return %y : tensor<16x128xf32>
}

// -----

// silu is one parallel generic computing x / (1 + exp(-x)).

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @silu
//  CHECK-SAME:     (%[[X:.*]]: tensor<1x16x128xf32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x16x128xf32>
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]] : tensor<1x16x128xf32>) outs(%[[EMPTY]] : tensor<1x16x128xf32>)
//       CHECK:   ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
//   CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
//   CHECK-DAG:     %[[NEG:.*]] = arith.negf %[[IN]] : f32
//       CHECK:     %[[EXP:.*]] = math.exp %[[NEG]] : f32
//       CHECK:     %[[DEN:.*]] = arith.addf %[[ONE]], %[[EXP]] : f32
//       CHECK:     %[[SILU:.*]] = arith.divf %[[IN]], %[[DEN]] : f32
//       CHECK:     linalg.yield %[[SILU]] : f32
//       CHECK:   return %[[Y]]
func.func @silu(%x: tensor<1x16x128xf32>) -> tensor<1x16x128xf32> {
  %y = megalodon.silu %x : tensor<1x16x128xf32>
  return %y : tensor<1x16x128xf32>
}

// -----

// swiglu fuses the activation of the gate and the product with up in one
// parallel generic.

//   CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @swiglu
//  CHECK-SAME:     (%[[GATE:.*]]: tensor<16x128xf32>, %[[UP:.*]]: tensor<16x128xf32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<16x128xf32>
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%[[GATE]], %[[UP]] : tensor<16x128xf32>, tensor<16x128xf32>) outs(%[[EMPTY]] : tensor<16x128xf32>)
//       CHECK:   ^bb0(%[[G:.*]]: f32, %[[U:.*]]: f32, %{{.*}}: f32):
//       CHECK:     math.exp
//       CHECK:     %[[SILU:.*]] = arith.divf %[[G]], %{{.*}} : f32
//       CHECK:     %[[OUT:.*]] = arith.mulf %[[SILU]], %[[U]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   return %[[Y]]
func.func @swiglu(%g: tensor<16x128xf32>, %u: tensor<16x128xf32>) -> tensor<16x128xf32> {
  %y = megalodon.swiglu %g, %u : tensor<16x128xf32>
  return %y : tensor<16x128xf32>
}

// -----

// scale_channels reads the scale through a map that keeps only the last
// loop: one value per channel, broadcast over the leading dimensions.

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @scale_channels
//  CHECK-SAME:     (%[[X:.*]]: tensor<1x16x64xf32>, %[[S:.*]]: tensor<64xf32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x16x64xf32>
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$LAST]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]], %[[S]] : tensor<1x16x64xf32>, tensor<64xf32>) outs(%[[EMPTY]] : tensor<1x16x64xf32>)
//       CHECK:   ^bb0(%[[XV:.*]]: f32, %[[SV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     %[[OUT:.*]] = arith.mulf %[[XV]], %[[SV]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   return %[[Y]]
func.func @scale_channels(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>) -> tensor<1x16x64xf32> {
  %y = megalodon.scale_channels %x, %s
      : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return %y : tensor<1x16x64xf32>
}
