// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// linear: the leading dimensions of x collapse into rows, the bias is
// broadcast over the rows into the accumulator, a linalg.matmul reads the
// [N, K] weight through a transposed map (no transpose is materialized),
// and the rows expand back.

//   CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
//   CHECK-DAG: #[[$BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
//   CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_bias
//  CHECK-SAME:     (%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<128x64xf32>, %[[B:.*]]: tensor<128xf32>)
//       CHECK:   %[[ROWS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<32x128xf32>
//       CHECK:   %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<128xf32>) outs(%[[EMPTY]] : tensor<32x128xf32>) dimensions = [0]
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$A]], #[[$BT]], #[[$C]]]
//  CHECK-SAME:       ins(%[[ROWS]], %[[W]] : tensor<32x64xf32>, tensor<128x64xf32>) outs(%[[INIT]] : tensor<32x128xf32>)
//       CHECK:   %[[Y:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [2, 16, 128] : tensor<32x128xf32> into tensor<2x16x128xf32>
//       CHECK:   return %[[Y]]
func.func @linear_bias(%x: tensor<2x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<2x16x128xf32> {
  %y = megalodon.linear %x, %w bias(%b)
      : (tensor<2x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<2x16x128xf32>
  return %y : tensor<2x16x128xf32>
}

// -----

// A 2-d input without bias: no reshapes, a zero-filled accumulator.

//   CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
//   CHECK-DAG: #[[$BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
//   CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_no_bias
//  CHECK-SAME:     (%[[X:.*]]: tensor<16x64xf32>, %[[W:.*]]: tensor<256x64xf32>)
//   CHECK-NOT:   tensor.collapse_shape
//       CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK:   %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<16x256xf32>)
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$A]], #[[$BT]], #[[$C]]]
//  CHECK-SAME:       ins(%[[X]], %[[W]] : tensor<16x64xf32>, tensor<256x64xf32>) outs(%[[INIT]] : tensor<16x256xf32>)
//   CHECK-NOT:   tensor.expand_shape
//       CHECK:   return %[[MM]]
func.func @linear_no_bias(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>) -> tensor<16x256xf32> {
  %y = megalodon.linear %x, %w : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  return %y : tensor<16x256xf32>
}

// -----

// embedding: a parallel generic over the result reads each token through
// its indexing map and gathers the table element at (token, last loop index)
// with tensor.extract, then applies the scale.

//   CHECK-DAG: #[[$TOK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
//   CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @embedding_scaled
//  CHECK-SAME:     (%[[TABLE:.*]]: tensor<256x64xf32>, %[[TOKENS:.*]]: tensor<2x16xi32>)
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<2x16x64xf32>
//       CHECK:   %[[Y:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$TOK]], #[[$ID3]]]
//  CHECK-SAME:       iterator_types = ["parallel", "parallel", "parallel"]
//  CHECK-SAME:       ins(%[[TOKENS]] : tensor<2x16xi32>) outs(%[[EMPTY]] : tensor<2x16x64xf32>)
//       CHECK:   ^bb0(%[[TOK:.*]]: i32, %{{.*}}: f32):
//       CHECK:     %[[ROW:.*]] = arith.index_cast %[[TOK]] : i32 to index
//       CHECK:     %[[COL:.*]] = linalg.index 2 : index
//       CHECK:     %[[VAL:.*]] = tensor.extract %[[TABLE]][%[[ROW]], %[[COL]]] : tensor<256x64xf32>
//       CHECK:     %[[SCALE:.*]] = arith.constant 8.000000e+00 : f32
//       CHECK:     %[[OUT:.*]] = arith.mulf %[[VAL]], %[[SCALE]] : f32
//       CHECK:     linalg.yield %[[OUT]] : f32
//       CHECK:   return %[[Y]]
func.func @embedding_scaled(%table: tensor<256x64xf32>, %tokens: tensor<2x16xi32>) -> tensor<2x16x64xf32> {
  %x = megalodon.embedding %table[%tokens] {scale = 8.0 : f64}
      : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  return %x : tensor<2x16x64xf32>
}

// -----

// Without a scale (i64 tokens here) the gathered element is yielded as is.

// CHECK-LABEL: func.func @embedding_plain
//  CHECK-SAME:     (%[[TABLE:.*]]: tensor<256x64xf32>, %[[TOKENS:.*]]: tensor<16xi64>)
//       CHECK:   linalg.generic
//  CHECK-SAME:       ins(%[[TOKENS]] : tensor<16xi64>)
//       CHECK:     %[[ROW:.*]] = arith.index_cast %{{.*}} : i64 to index
//       CHECK:     %[[COL:.*]] = linalg.index 1 : index
//       CHECK:     %[[VAL:.*]] = tensor.extract %[[TABLE]][%[[ROW]], %[[COL]]]
//   CHECK-NOT:     arith.mulf
//       CHECK:     linalg.yield %[[VAL]] : f32
func.func @embedding_plain(%table: tensor<256x64xf32>, %tokens: tensor<16xi64>) -> tensor<16x64xf32> {
  %x = megalodon.embedding %table[%tokens]
      : tensor<256x64xf32>, tensor<16xi64> -> tensor<16x64xf32>
  return %x : tensor<16x64xf32>
}

// -----

// cross_entropy on rows [R, V]: a max reduction from -inf, then the sum of
// exp(x - max), then a reduction over the rows into a 0-d accumulator of
// (max - logits[r, target]) + log(sum), gathering the target logit with
// tensor.extract, and finally the division by R.

//   CHECK-DAG: #[[$RV:.*]] = affine_map<(d0, d1) -> (d0, d1)>
//   CHECK-DAG: #[[$R:.*]] = affine_map<(d0, d1) -> (d0)>
//   CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0) -> (d0)>
//   CHECK-DAG: #[[$TOSCALAR:.*]] = affine_map<(d0) -> ()>
//   CHECK-DAG: #[[$SCALAR:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @cross_entropy
//  CHECK-SAME:     (%[[LOGITS:.*]]: tensor<2x16x256xf32>, %[[TARGETS:.*]]: tensor<2x16xi32>)
//       CHECK:   %[[L:.*]] = tensor.collapse_shape %[[LOGITS]] {{\[}}[0, 1], [2]] : tensor<2x16x256xf32> into tensor<32x256xf32>
//       CHECK:   %[[T:.*]] = tensor.collapse_shape %[[TARGETS]] {{\[}}[0, 1]] : tensor<2x16xi32> into tensor<32xi32>
//       CHECK:   %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
//       CHECK:   %[[MAXINIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[MAX:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$RV]], #[[$R]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[L]] : tensor<32x256xf32>) outs(%[[MAXINIT]] : tensor<32xf32>)
//       CHECK:     arith.maximumf
//       CHECK:   %[[SUMINIT:.*]] = linalg.fill
//       CHECK:   %[[SUM:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$RV]], #[[$R]], #[[$R]]]
//  CHECK-SAME:       iterator_types = ["parallel", "reduction"]
//  CHECK-SAME:       ins(%[[L]], %[[MAX]] : tensor<32x256xf32>, tensor<32xf32>) outs(%[[SUMINIT]] : tensor<32xf32>)
//       CHECK:   ^bb0(%[[X:.*]]: f32, %[[M:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:     %[[SHIFTED:.*]] = arith.subf %[[X]], %[[M]] : f32
//       CHECK:     %[[EXP:.*]] = math.exp %[[SHIFTED]] : f32
//       CHECK:     %[[NEXT:.*]] = arith.addf %[[ACC]], %[[EXP]] : f32
//       CHECK:     linalg.yield %[[NEXT]] : f32
//       CHECK:   %[[TOTALINIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
//       CHECK:   %[[TOTAL:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$ROW]], #[[$ROW]], #[[$ROW]], #[[$TOSCALAR]]]
//  CHECK-SAME:       iterator_types = ["reduction"]
//  CHECK-SAME:       ins(%[[T]], %[[MAX]], %[[SUM]] : tensor<32xi32>, tensor<32xf32>, tensor<32xf32>) outs(%[[TOTALINIT]] : tensor<f32>)
//       CHECK:   ^bb0(%[[TV:.*]]: i32, %[[MV:.*]]: f32, %[[SV:.*]]: f32, %[[TACC:.*]]: f32):
//       CHECK:     %[[R:.*]] = linalg.index 0 : index
//       CHECK:     %[[TI:.*]] = arith.index_cast %[[TV]] : i32 to index
//       CHECK:     %[[PICKED:.*]] = tensor.extract %[[L]][%[[R]], %[[TI]]] : tensor<32x256xf32>
//       CHECK:     %[[MARGIN:.*]] = arith.subf %[[MV]], %[[PICKED]] : f32
//       CHECK:     %[[LOG:.*]] = math.log %[[SV]] : f32
//       CHECK:     %[[LOSS:.*]] = arith.addf %[[MARGIN]], %[[LOG]] : f32
//       CHECK:     %[[TNEXT:.*]] = arith.addf %[[TACC]], %[[LOSS]] : f32
//       CHECK:     linalg.yield %[[TNEXT]] : f32
//       CHECK:   %[[MEAN:.*]] = linalg.generic
//  CHECK-SAME:       indexing_maps = [#[[$SCALAR]], #[[$SCALAR]]]
//  CHECK-SAME:       ins(%[[TOTAL]] : tensor<f32>)
//       CHECK:     %[[COUNT:.*]] = arith.constant 3.200000e+01 : f32
//       CHECK:     arith.divf %{{.*}}, %[[COUNT]] : f32
//       CHECK:   return %[[MEAN]] : tensor<f32>
func.func @cross_entropy(%logits: tensor<2x16x256xf32>, %targets: tensor<2x16xi32>) -> tensor<f32> {
  %loss = megalodon.cross_entropy %logits, %targets
      : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// A single row of logits: the row dimension is a new unit dimension.

// CHECK-LABEL: func.func @cross_entropy_one_row
//  CHECK-SAME:     (%[[LOGITS:.*]]: tensor<256xf32>, %[[TARGET:.*]]: tensor<i64>)
//       CHECK:   tensor.expand_shape %[[LOGITS]] {{\[}}[0, 1]] output_shape [1, 256] : tensor<256xf32> into tensor<1x256xf32>
//       CHECK:   tensor.expand_shape %[[TARGET]] [] output_shape [1] : tensor<i64> into tensor<1xi64>
func.func @cross_entropy_one_row(%logits: tensor<256xf32>, %target: tensor<i64>) -> tensor<f32> {
  %loss = megalodon.cross_entropy %logits, %target
      : tensor<256xf32>, tensor<i64> -> tensor<f32>
  return %loss : tensor<f32>
}
