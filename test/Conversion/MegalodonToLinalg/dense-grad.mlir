// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// linear_grad: gx = gy * W is a plain matmul on the rows; gW = gy^T * x is
// a matmul that reads gy as a transposed A (no transpose is built); gb is a
// column sum with the rows as the outer reduction loop.

//   CHECK-DAG: #[[$ROWS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$COLS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_grad
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[GY:.*]]: tensor<2x16x32xf32>)
//       CHECK:   %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[GYR:.*]] = tensor.collapse_shape %[[GY]] {{\[}}[0, 1], [2]] : tensor<2x16x32xf32> into tensor<32x32xf32>
//       CHECK:   %[[GXINIT:.*]] = linalg.fill {{.*}} -> tensor<32x64xf32>
//       CHECK:   %[[GXR:.*]] = linalg.matmul ins(%[[GYR]], %[[W]] : tensor<32x32xf32>, tensor<32x64xf32>) outs(%[[GXINIT]] : tensor<32x64xf32>)
//       CHECK:   %[[GX:.*]] = tensor.expand_shape %[[GXR]] {{\[}}[0, 1], [2]] output_shape [2, 16, 64]
//   CHECK-NOT:   linalg.transpose
//       CHECK:   %[[GWINIT:.*]] = linalg.fill {{.*}} -> tensor<32x64xf32>
//       CHECK:   %[[GW:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[GYR]], %[[XR]] : tensor<32x32xf32>, tensor<32x64xf32>) outs(%[[GWINIT]] : tensor<32x64xf32>)
//       CHECK:   %[[GBINIT:.*]] = linalg.fill {{.*}} -> tensor<32xf32>
//       CHECK:   %[[GB:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ROWS]], #[[$COLS]]]
//  CHECK-SAME:       iterator_types = ["reduction", "parallel"]
//  CHECK-SAME:       ins(%[[GYR]] : tensor<32x32xf32>) outs(%[[GBINIT]] : tensor<32xf32>)
//       CHECK:     arith.addf
//       CHECK:   return %[[GX]], %[[GW]], %[[GB]]
func.func @linear_grad(%x: tensor<2x16x64xf32>, %w: tensor<32x64xf32>, %gy: tensor<2x16x32xf32>)
    -> (tensor<2x16x64xf32>, tensor<32x64xf32>, tensor<32xf32>) {
  %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<2x16x64xf32>, tensor<32x64xf32>, tensor<2x16x32xf32>)
      -> (tensor<2x16x64xf32>, tensor<32x64xf32>, tensor<32xf32>)
  return %gx, %gw, %gb : tensor<2x16x64xf32>, tensor<32x64xf32>, tensor<32xf32>
}

// -----

// The output layer's shape (more outputs than inputs): the same forms.

// CHECK-LABEL: func.func @linear_grad_wide
//  CHECK-SAME:     (%[[X:.*]]: tensor<160x16xf32>, %[[W:.*]]: tensor<64x16xf32>, %[[GY:.*]]: tensor<160x64xf32>)
//       CHECK:   %[[GX:.*]] = linalg.matmul ins(%[[GY]], %[[W]] : tensor<160x64xf32>, tensor<64x16xf32>)
//   CHECK-NOT:   linalg.transpose
//       CHECK:   %[[GW:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[GY]], %[[X]] : tensor<160x64xf32>, tensor<160x16xf32>) outs(%{{.*}} : tensor<64x16xf32>)
//       CHECK:   %[[GB:.*]] = linalg.generic
//  CHECK-SAME:       ins(%[[GY]] : tensor<160x64xf32>)
//       CHECK:   return %[[GX]], %[[GW]], %[[GB]]
func.func @linear_grad_wide(%x: tensor<160x16xf32>, %w: tensor<64x16xf32>, %gy: tensor<160x64xf32>)
    -> (tensor<160x16xf32>, tensor<64x16xf32>, tensor<64xf32>) {
  %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<160x16xf32>, tensor<64x16xf32>, tensor<160x64xf32>)
      -> (tensor<160x16xf32>, tensor<64x16xf32>, tensor<64xf32>)
  return %gx, %gw, %gb : tensor<160x16xf32>, tensor<64x16xf32>, tensor<64xf32>
}

// -----

// embedding_grad: a zero-filled table, then a sequential scf.for over the
// token positions that adds gy[i] * scale into row tokens[i] through an
// extract_slice / insert_slice pair at the same offsets.

//   CHECK-DAG: #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @embedding_grad
//  CHECK-SAME:     (%[[TABLE:.*]]: tensor<256x64xf32>, %[[TOKENS:.*]]: tensor<2x16xi32>, %[[GY:.*]]: tensor<2x16x64xf32>)
//       CHECK:   %[[TOK:.*]] = tensor.collapse_shape %[[TOKENS]] {{\[}}[0, 1]] : tensor<2x16xi32> into tensor<32xi32>
//       CHECK:   %[[GYR:.*]] = tensor.collapse_shape %[[GY]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<256x64xf32>)
//       CHECK:   %[[C0:.*]] = arith.constant 0 : index
//       CHECK:   %[[C32:.*]] = arith.constant 32 : index
//       CHECK:   %[[C1:.*]] = arith.constant 1 : index
//       CHECK:   %[[G:.*]] = scf.for %[[I:.*]] = %[[C0]] to %[[C32]] step %[[C1]] iter_args(%[[ACC:.*]] = %[[ZEROS]]) -> (tensor<256x64xf32>)
//       CHECK:     %[[T:.*]] = tensor.extract %[[TOK]][%[[I]]] : tensor<32xi32>
//       CHECK:     %[[ROW:.*]] = arith.index_cast %[[T]] : i32 to index
//       CHECK:     %[[DST:.*]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 64] [1, 1] : tensor<256x64xf32> to tensor<64xf32>
//       CHECK:     %[[SRC:.*]] = tensor.extract_slice %[[GYR]][%[[I]], 0] [1, 64] [1, 1] : tensor<32x64xf32> to tensor<64xf32>
//       CHECK:     %[[SUM:.*]] = linalg.generic
//  CHECK-SAME:         indexing_maps = [#[[$ID1]], #[[$ID1]]]
//  CHECK-SAME:         iterator_types = ["parallel"]
//  CHECK-SAME:         ins(%[[SRC]] : tensor<64xf32>) outs(%[[DST]] : tensor<64xf32>)
//       CHECK:     ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
//       CHECK:       %[[SCALE:.*]] = arith.constant 8.000000e+00 : f32
//       CHECK:       %[[SCALED:.*]] = arith.mulf %[[IN]], %[[SCALE]] : f32
//       CHECK:       %[[ADDED:.*]] = arith.addf %[[OUT]], %[[SCALED]] : f32
//       CHECK:       linalg.yield %[[ADDED]] : f32
//       CHECK:     %[[UPDATED:.*]] = tensor.insert_slice %[[SUM]] into %[[ACC]][%[[ROW]], 0] [1, 64] [1, 1] : tensor<64xf32> into tensor<256x64xf32>
//       CHECK:     scf.yield %[[UPDATED]]
//       CHECK:   return %[[G]]
func.func @embedding_grad(%table: tensor<256x64xf32>, %tokens: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) -> tensor<256x64xf32> {
  %gt = megalodon.embedding_grad %table[%tokens] grad(%gy) {scale = 8.0 : f64}
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  return %gt : tensor<256x64xf32>
}

// -----

// Without a scale (i64 tokens here) the row is added as is.

// CHECK-LABEL: func.func @embedding_grad_plain
//       CHECK:   scf.for
//       CHECK:     arith.index_cast %{{.*}} : i64 to index
//       CHECK:     linalg.generic
//   CHECK-NOT:       arith.mulf
//       CHECK:       arith.addf
func.func @embedding_grad_plain(%table: tensor<256x64xf32>, %tokens: tensor<16xi64>, %gy: tensor<16x64xf32>) -> tensor<256x64xf32> {
  %gt = megalodon.embedding_grad %table[%tokens] grad(%gy)
      : tensor<256x64xf32>, tensor<16xi64>, tensor<16x64xf32> -> tensor<256x64xf32>
  return %gt : tensor<256x64xf32>
}

// -----

// cross_entropy_grad on rows [R, V]: the forward's max and sum-of-exp
// reductions, a per-row generic with two results (share / sum and the share
// g_loss / R itself), then one parallel [R, V] generic that scales the
// shifted exponential and subtracts the share in the target column.

//   CHECK-DAG: #[[$RV:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$R:.*]] = affine_map<(d0, d1) -> (d0)>
//   CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0) -> (d0)>
//   CHECK-DAG: #[[$TOSCALAR:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @cross_entropy_grad
//  CHECK-SAME:     (%[[LOGITS:.*]]: tensor<2x16x256xf32>, %[[TARGETS:.*]]: tensor<2x16xi32>, %[[G:.*]]: tensor<f32>)
//       CHECK:   %[[L:.*]] = tensor.collapse_shape %[[LOGITS]] {{\[}}[0, 1], [2]] : tensor<2x16x256xf32> into tensor<32x256xf32>
//       CHECK:   %[[T:.*]] = tensor.collapse_shape %[[TARGETS]] {{\[}}[0, 1]] : tensor<2x16xi32> into tensor<32xi32>
//       CHECK:   %[[MAX:.*]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//       CHECK:     arith.maximumf
//       CHECK:   %[[SUM:.*]] = linalg.generic
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[L]], %[[MAX]] : tensor<32x256xf32>, tensor<32xf32>)
//       CHECK:     math.exp
//       CHECK:   %[[FACTORS:.*]]:2 = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ROW]], #[[$TOSCALAR]], #[[$ROW]], #[[$ROW]]]
//  CHECK-SAME:       iterator_types = ["parallel"]
//  CHECK-SAME:       ins(%[[SUM]], %[[G]] : tensor<32xf32>, tensor<f32>)
//       CHECK:   ^bb0(%[[S:.*]]: f32, %[[GL:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
//       CHECK:     %[[COUNT:.*]] = arith.constant 3.200000e+01 : f32
//       CHECK:     %[[SHARE:.*]] = arith.divf %[[GL]], %[[COUNT]] : f32
//       CHECK:     %[[COEF:.*]] = arith.divf %[[SHARE]], %[[S]] : f32
//       CHECK:     linalg.yield %[[COEF]], %[[SHARE]] : f32, f32
//       CHECK:   %[[GRAD:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$RV]], #[[$R]], #[[$R]], #[[$R]], #[[$R]], #[[$RV]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel"]
//  CHECK-SAME:       ins(%[[L]], %[[MAX]], %[[FACTORS]]#0, %[[FACTORS]]#1, %[[T]] : tensor<32x256xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xi32>)
//       CHECK:   ^bb0(%[[X:.*]]: f32, %[[M:.*]]: f32, %[[CF:.*]]: f32, %[[SH:.*]]: f32, %[[TV:.*]]: i32, %{{.*}}: f32):
//       CHECK:     %[[SHIFTED:.*]] = arith.subf %[[X]], %[[M]] : f32
//       CHECK:     %[[EXP:.*]] = math.exp %[[SHIFTED]] : f32
//       CHECK:     %[[PROB:.*]] = arith.mulf %[[EXP]], %[[CF]] : f32
//       CHECK:     %[[COL:.*]] = linalg.index 1 : index
//       CHECK:     %[[TI:.*]] = arith.index_cast %[[TV]] : i32 to index
//       CHECK:     %[[HIT:.*]] = arith.cmpi eq, %[[COL]], %[[TI]] : index
//       CHECK:     %[[MINUS:.*]] = arith.subf %[[PROB]], %[[SH]] : f32
//       CHECK:     %[[OUT:.*]] = arith.select %[[HIT]], %[[MINUS]], %[[PROB]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   %[[RES:.*]] = tensor.expand_shape %[[GRAD]] {{\[}}[0, 1], [2]] output_shape [2, 16, 256]
//       CHECK:   return %[[RES]]
func.func @cross_entropy_grad(%logits: tensor<2x16x256xf32>, %targets: tensor<2x16xi32>, %g: tensor<f32>) -> tensor<2x16x256xf32> {
  %gl = megalodon.cross_entropy_grad %logits, %targets grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi32>, tensor<f32> -> tensor<2x16x256xf32>
  return %gl : tensor<2x16x256xf32>
}

// -----

// silu_grad: one elementwise generic, gy * sig * (1 + x * (1 - sig)).

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @silu_grad
//  CHECK-SAME:     (%[[X:.*]]: tensor<1x16x128xf32>, %[[GY:.*]]: tensor<1x16x128xf32>)
//       CHECK:   %[[R:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[X]], %[[GY]] : tensor<1x16x128xf32>, tensor<1x16x128xf32>)
//       CHECK:   ^bb0(%[[XV:.*]]: f32, %[[GV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     %[[NEG:.*]] = arith.negf %[[XV]] : f32
//       CHECK:     %[[E:.*]] = math.exp %[[NEG]] : f32
//       CHECK:     %[[DEN:.*]] = arith.addf %{{.*}}, %[[E]] : f32
//       CHECK:     %[[SIG:.*]] = arith.divf %{{.*}}, %[[DEN]] : f32
//       CHECK:     %[[COMP:.*]] = arith.subf %{{.*}}, %[[SIG]] : f32
//       CHECK:     %[[SLOPE:.*]] = arith.mulf %[[XV]], %[[COMP]] : f32
//       CHECK:     %[[FACTOR:.*]] = arith.addf %{{.*}}, %[[SLOPE]] : f32
//       CHECK:     %[[DERIV:.*]] = arith.mulf %[[SIG]], %[[FACTOR]] : f32
//       CHECK:     %[[OUT:.*]] = arith.mulf %[[GV]], %[[DERIV]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   return %[[R]]
func.func @silu_grad(%x: tensor<1x16x128xf32>, %gy: tensor<1x16x128xf32>) -> tensor<1x16x128xf32> {
  %gx = megalodon.silu_grad %x grad(%gy) : tensor<1x16x128xf32>
  return %gx : tensor<1x16x128xf32>
}

// -----

// swiglu_grad: one generic with two results, so the sigmoid of the gate is
// computed once: g_gate = (gy * up) * silu'(gate), g_up = silu(gate) * gy.

// CHECK-LABEL: func.func @swiglu_grad
//  CHECK-SAME:     (%[[GATE:.*]]: tensor<1x16x128xf32>, %[[UP:.*]]: tensor<1x16x128xf32>, %[[GY:.*]]: tensor<1x16x128xf32>)
//       CHECK:   %[[R:.*]]:2 = linalg.generic
//  CHECK-SAME:       ins(%[[GATE]], %[[UP]], %[[GY]] : tensor<1x16x128xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32>)
//  CHECK-SAME:       outs(%{{.*}}, %{{.*}} : tensor<1x16x128xf32>, tensor<1x16x128xf32>)
//       CHECK:   ^bb0(%[[G:.*]]: f32, %[[U:.*]]: f32, %[[D:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
//       CHECK:     math.exp
//   CHECK-NOT:     math.exp
//       CHECK:     %[[SIG:.*]] = arith.divf
//       CHECK:     %[[DERIV:.*]] = arith.mulf %[[SIG]], %{{.*}} : f32
//       CHECK:     %[[GYUP:.*]] = arith.mulf %[[D]], %[[U]] : f32
//       CHECK:     %[[GGATE:.*]] = arith.mulf %[[GYUP]], %[[DERIV]] : f32
//       CHECK:     %[[SILU:.*]] = arith.mulf %[[G]], %[[SIG]] : f32
//       CHECK:     %[[GUP:.*]] = arith.mulf %[[SILU]], %[[D]] : f32
//       CHECK:     linalg.yield %[[GGATE]], %[[GUP]] : f32, f32
//       CHECK:   return %[[R]]#0, %[[R]]#1
func.func @swiglu_grad(%g: tensor<1x16x128xf32>, %u: tensor<1x16x128xf32>, %gy: tensor<1x16x128xf32>) -> (tensor<1x16x128xf32>, tensor<1x16x128xf32>) {
  %gg, %gu = megalodon.swiglu_grad %g, %u grad(%gy) : tensor<1x16x128xf32>
  return %gg, %gu : tensor<1x16x128xf32>, tensor<1x16x128xf32>
}

// -----

// scale_channels_grad: gx = gy * scale broadcast over the rows, and g_scale
// the column sums of gy * x over the rows, the rows the outer reduction loop.

//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
//   CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
//   CHECK-DAG: #[[$ROWS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$COLS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @scale_channels_grad
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x16x64xf32>, %[[S:.*]]: tensor<64xf32>, %[[GY:.*]]: tensor<2x16x64xf32>)
//       CHECK:   %[[GX:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ID3]], #[[$LAST]], #[[$ID3]]]
//  CHECK-SAME:       ins(%[[GY]], %[[S]] : tensor<2x16x64xf32>, tensor<64xf32>)
//       CHECK:     arith.mulf
//       CHECK:   %[[GYR:.*]] = tensor.collapse_shape %[[GY]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<64xf32>)
//       CHECK:   %[[GS:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ROWS]], #[[$ROWS]], #[[$COLS]]]
//  CHECK-SAME:       iterator_types = ["reduction", "parallel"]
//  CHECK-SAME:       ins(%[[GYR]], %[[XR]] : tensor<32x64xf32>, tensor<32x64xf32>) outs(%[[INIT]] : tensor<64xf32>)
//       CHECK:   ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:     %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
//       CHECK:     %[[NEXT:.*]] = arith.addf %[[ACC]], %[[P]] : f32
//       CHECK:     linalg.yield %[[NEXT]] : f32
//       CHECK:   return %[[GX]], %[[GS]]
func.func @scale_channels_grad(%x: tensor<2x16x64xf32>, %s: tensor<64xf32>, %gy: tensor<2x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>) {
  %gx, %gs = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>)
  return %gx, %gs : tensor<2x16x64xf32>, tensor<64xf32>
}
