// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// shared_qk_grad: gz is one elementwise generic over gq, gk and rows 0 and 1
// of gamma; the gamma and beta gradients come from one generic whose row
// loops are reductions outside the channel loop (a fixed summation order),
// and whose four [Z] results are stacked into the [2, Z] gradients.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[CH:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @shared_qk_grad
// CHECK-SAME: (%[[Z:.+]]: tensor<2x3x8xf32>, %[[GAMMA:.+]]: tensor<2x8xf32>, %[[GQ:.+]]: tensor<2x3x8xf32>, %[[GK:.+]]: tensor<2x3x8xf32>)
// CHECK-DAG: %[[G0:.+]] = tensor.extract_slice %[[GAMMA]][0, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK-DAG: %[[G1:.+]] = tensor.extract_slice %[[GAMMA]][1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK: %[[GZ:.+]] = linalg.generic
// CHECK-SAME: indexing_maps = [#[[ID]], #[[ID]], #[[CH]], #[[CH]], #[[ID]]]
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[GQ]], %[[GK]], %[[G0]], %[[G1]] :
// CHECK-NEXT: ^bb0(%[[GQV:[^:]+]]: f32, %[[GKV:[^:]+]]: f32, %[[G0V:[^:]+]]: f32, %[[G1V:[^:]+]]: f32,
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// 1 / sqrt(dz) with dz = 8 / 2.
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[A0:.+]] = arith.addf %[[G0V]], %[[ONE]]
// CHECK: %[[P0:.+]] = arith.mulf %[[GQV]], %[[A0]]
// CHECK: %[[T0:.+]] = arith.mulf %[[P0]], %[[SCALE]]
// CHECK: %[[A1:.+]] = arith.addf %[[G1V]], %[[ONE]]
// CHECK: %[[P1:.+]] = arith.mulf %[[GKV]], %[[A1]]
// CHECK: %[[T1:.+]] = arith.mulf %[[P1]], %[[SCALE]]
// CHECK: %[[SUM:.+]] = arith.addf %[[T0]], %[[T1]]
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<8xf32>)
// CHECK: %[[SUMS:.+]]:4 = linalg.generic
// CHECK-SAME: indexing_maps = [#[[ID]], #[[ID]], #[[ID]], #[[CH]], #[[CH]], #[[CH]], #[[CH]]]
// CHECK-SAME: iterator_types = ["reduction", "reduction", "parallel"]
// CHECK-SAME: ins(%[[Z]], %[[GQ]], %[[GK]] :
// CHECK-SAME: outs(%[[ZERO]], %[[ZERO]], %[[ZERO]], %[[ZERO]] :
// CHECK-NEXT: ^bb0(%[[ZV:[^:]+]]: f32, %[[GQS:[^:]+]]: f32, %[[GKS:[^:]+]]: f32, %[[ACC0:[^:]+]]: f32, %[[ACC1:[^:]+]]: f32, %[[ACC2:[^:]+]]: f32, %[[ACC3:[^:]+]]: f32):
// CHECK: %[[QZ:.+]] = arith.mulf %[[GQS]], %[[ZV]]
// CHECK: %[[QZS:.+]] = arith.mulf %[[QZ]], %{{.+}}
// CHECK: %[[R0:.+]] = arith.addf %[[ACC0]], %[[QZS]]
// CHECK: %[[KZ:.+]] = arith.mulf %[[GKS]], %[[ZV]]
// CHECK: %[[KZS:.+]] = arith.mulf %[[KZ]], %{{.+}}
// CHECK: %[[R1:.+]] = arith.addf %[[ACC1]], %[[KZS]]
// CHECK: %[[R2:.+]] = arith.addf %[[ACC2]], %[[GQS]]
// CHECK: %[[R3:.+]] = arith.addf %[[ACC3]], %[[GKS]]
// CHECK: linalg.yield %[[R0]], %[[R1]], %[[R2]], %[[R3]]
// CHECK: %[[GG0:.+]] = tensor.insert_slice %[[SUMS]]#0 into %{{.+}}[0, 0] [1, 8] [1, 1] : tensor<8xf32> into tensor<2x8xf32>
// CHECK: %[[GG:.+]] = tensor.insert_slice %[[SUMS]]#1 into %[[GG0]][1, 0] [1, 8] [1, 1]
// CHECK: %[[GB0:.+]] = tensor.insert_slice %[[SUMS]]#2 into %{{.+}}[0, 0] [1, 8] [1, 1] : tensor<8xf32> into tensor<2x8xf32>
// CHECK: %[[GB:.+]] = tensor.insert_slice %[[SUMS]]#3 into %[[GB0]][1, 0] [1, 8] [1, 1]
// CHECK: return %[[GZ]], %[[GG]], %[[GB]]
func.func @shared_qk_grad(%z: tensor<2x3x8xf32>, %gamma: tensor<2x8xf32>,
                          %gq: tensor<2x3x8xf32>, %gk: tensor<2x3x8xf32>)
    -> (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %gz, %gg, %gb = megalodon.shared_qk_grad %z, %gamma grad(%gq, %gk)
      {num_heads = 2 : i64}
      : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x3x8xf32>,
         tensor<2x3x8xf32>)
      -> (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
  return %gz, %gg, %gb : tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// rotary_grad: the forward's pair view, angle and offset, with the rotation
// by -angle: (a + i b) * (cos - i sin).

// CHECK-DAG: #[[X0:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, 0)>
// CHECK-DAG: #[[X1:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, 1)>
// CHECK-DAG: #[[PAIR:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d3)>
// CHECK-DAG: #[[ROT_ID:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @rotary_grad
// CHECK-SAME: (%[[GY:.+]]: tensor<1x6x8xf32>, %[[OFFSET:.+]]: tensor<i64>)
// CHECK: %[[PAIRS:.+]] = tensor.expand_shape %[[GY]] {{\[}}[0], [1], [2, 3, 4]] output_shape [1, 6, 2, 2, 2]
// CHECK: %[[FREQ:.+]] = arith.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
// CHECK: %[[RAW:.+]] = tensor.extract %[[OFFSET]][] : tensor<i64>
// CHECK: %[[OFF:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK: %[[ROT:.+]] = linalg.generic
// CHECK-SAME: indexing_maps = [#[[X0]], #[[X1]], #[[PAIR]], #[[ROT_ID]]]
// CHECK-SAME: ins(%[[PAIRS]], %[[PAIRS]], %[[FREQ]] :
// CHECK-NEXT: ^bb0(%[[A:[^:]+]]: f32, %[[B:[^:]+]]: f32, %[[F:[^:]+]]: f32,
// CHECK: %[[TOK:.+]] = linalg.index 1 : index
// CHECK: %[[SUM:.+]] = arith.addi %[[OFF]], %[[TOK]]
// CHECK: %[[POS:.+]] = arith.remui %[[SUM]], %{{.+}} : index
// CHECK: %[[ANGLE:.+]] = arith.mulf %{{.+}}, %[[F]] : f32
// CHECK: %[[COS:.+]] = math.cos %[[ANGLE]]
// CHECK: %[[SIN:.+]] = math.sin %[[ANGLE]]
// CHECK: %[[AC:.+]] = arith.mulf %[[A]], %[[COS]]
// CHECK: %[[BS:.+]] = arith.mulf %[[B]], %[[SIN]]
// CHECK: %[[RE:.+]] = arith.addf %[[AC]], %[[BS]]
// CHECK: %[[BC:.+]] = arith.mulf %[[B]], %[[COS]]
// CHECK: %[[AS:.+]] = arith.mulf %[[A]], %[[SIN]]
// CHECK: %[[IM:.+]] = arith.subf %[[BC]], %[[AS]]
// CHECK: %[[MEMBER:.+]] = linalg.index 4 : index
// CHECK: %[[IS_RE:.+]] = arith.cmpi eq, %[[MEMBER]], %{{.+}} : index
// CHECK: %[[OUT:.+]] = arith.select %[[IS_RE]], %[[RE]], %[[IM]] : f32
// CHECK: linalg.yield %[[OUT]]
// CHECK: %[[GX:.+]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2, 3, 4]] : tensor<1x6x2x2x2xf32> into tensor<1x6x8xf32>
// CHECK: return %[[GX]]
func.func @rotary_grad(%gy: tensor<1x6x8xf32>, %offset: tensor<i64>)
    -> tensor<1x6x8xf32> {
  %gx = megalodon.rotary_grad %gy offset(%offset)
      {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 4 : i64}
      : (tensor<1x6x8xf32>, tensor<i64>) -> tensor<1x6x8xf32>
  return %gx : tensor<1x6x8xf32>
}

// -----

// chunk_attention_grad, L = 2 chunks of 4, 2 heads (dz = 4, dv = 6): an
// scf.forall over (batch, head, chunk) with gq, gk and gv as shared outputs.
// Per iteration: the forward's Q K^T and causal softmax (recomputed, not an
// operand), P^T materialized for gv = P^T gO, gP = gO V^T (transposed B),
// the row sums of P * gP, gS = P * (gP - rowsum), gq = gS K, gS^T
// materialized for gk = gS^T Q, and one parallel_insert_slice per result.

// CHECK-DAG: #[[MM_A:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[MM_BT:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MM_C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[QK_MAP:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW_MAP:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @chunk_attention_grad
// CHECK-SAME: (%[[Q:.+]]: tensor<2x8x8xf32>, %[[K:.+]]: tensor<2x8x8xf32>, %[[V:.+]]: tensor<2x8x12xf32>, %[[GA:.+]]: tensor<2x8x12xf32>)
// CHECK: %[[RES:.+]]:3 = scf.forall (%[[B:.+]], %[[H:.+]], %[[C:.+]]) in (2, 2, 2) shared_outs(%[[GQ_ACC:.+]] = %{{.+}}, %[[GK_ACC:.+]] = %{{.+}}, %[[GV_ACC:.+]] = %{{.+}}) -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>)
// CHECK: %[[ROW0:.+]] = arith.muli %[[C]], %{{.+}} : index
// CHECK: %[[QCOL:.+]] = arith.muli %[[H]], %{{.+}} : index
// CHECK: %[[VCOL:.+]] = arith.muli %[[H]], %{{.+}} : index
// CHECK: %[[QB:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<2x8x8xf32> to tensor<4x4xf32>
// CHECK: %[[KB:.+]] = tensor.extract_slice %[[K]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<2x8x8xf32> to tensor<4x4xf32>
// CHECK: %[[VB:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[ROW0]], %[[VCOL]]] [1, 4, 6] [1, 1, 1] : tensor<2x8x12xf32> to tensor<4x6xf32>
// CHECK: %[[GO:.+]] = tensor.extract_slice %[[GA]][%[[B]], %[[ROW0]], %[[VCOL]]] [1, 4, 6] [1, 1, 1] : tensor<2x8x12xf32> to tensor<4x6xf32>
// CHECK: %[[S:.+]] = linalg.matmul indexing_maps = [#[[MM_A]], #[[MM_BT]], #[[MM_C]]] ins(%[[QB]], %[[KB]] : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: %[[MAX:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[ROW_MAP]]], iterator_types = ["parallel", "reduction"]} ins(%[[S]] :
// CHECK: arith.maximumf
// CHECK: %[[EXP:.+]] = linalg.generic {{.+}} ins(%[[S]], %[[MAX]] :
// CHECK: math.exp
// CHECK: %[[DEN:.+]] = linalg.generic {{.+}} ins(%[[EXP]] :
// CHECK: %[[P:.+]] = linalg.generic {{.+}} ins(%[[EXP]], %[[DEN]] :
// CHECK: arith.divf
// CHECK: %[[PT:.+]] = linalg.transpose ins(%[[P]] : tensor<4x4xf32>) outs(%{{.+}} : tensor<4x4xf32>) permutation = [1, 0]
// CHECK: %[[GVB:.+]] = linalg.matmul ins(%[[PT]], %[[GO]] : tensor<4x4xf32>, tensor<4x6xf32>) outs(%{{.+}} : tensor<4x6xf32>)
// CHECK: %[[GP:.+]] = linalg.matmul indexing_maps = [#[[MM_A]], #[[MM_BT]], #[[MM_C]]] ins(%[[GO]], %[[VB]] : tensor<4x6xf32>, tensor<4x6xf32>) outs(%{{.+}} : tensor<4x4xf32>)
// CHECK: %[[ROWSUM:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[QK_MAP]], #[[ROW_MAP]]], iterator_types = ["parallel", "reduction"]} ins(%[[P]], %[[GP]] : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK-NEXT: ^bb0(%[[PV:[^:]+]]: f32, %[[GPV:[^:]+]]: f32, %[[ACC:[^:]+]]: f32):
// CHECK: %[[PROD:.+]] = arith.mulf %[[PV]], %[[GPV]]
// CHECK: arith.addf %[[ACC]], %[[PROD]]
// CHECK: %[[GS:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[QK_MAP]], #[[ROW_MAP]], #[[QK_MAP]]], iterator_types = ["parallel", "parallel"]} ins(%[[P]], %[[GP]], %[[ROWSUM]] : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[PE:[^:]+]]: f32, %[[GPE:[^:]+]]: f32, %[[RS:[^:]+]]: f32,
// CHECK: %[[CENTERED:.+]] = arith.subf %[[GPE]], %[[RS]]
// CHECK: arith.mulf %[[PE]], %[[CENTERED]]
// CHECK: %[[GQB:.+]] = linalg.matmul ins(%[[GS]], %[[KB]] : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: %[[GST:.+]] = linalg.transpose ins(%[[GS]] : tensor<4x4xf32>) outs(%{{.+}} : tensor<4x4xf32>) permutation = [1, 0]
// CHECK: %[[GKB:.+]] = linalg.matmul ins(%[[GST]], %[[QB]] : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[GQB]] into %[[GQ_ACC]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<4x4xf32> into tensor<2x8x8xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[GKB]] into %[[GK_ACC]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<4x4xf32> into tensor<2x8x8xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[GVB]] into %[[GV_ACC]][%[[B]], %[[ROW0]], %[[VCOL]]] [1, 4, 6] [1, 1, 1] : tensor<4x6xf32> into tensor<2x8x12xf32>
// CHECK: return %[[RES]]#0, %[[RES]]#1, %[[RES]]#2
func.func @chunk_attention_grad(%q: tensor<2x8x8xf32>, %k: tensor<2x8x8xf32>,
                                %v: tensor<2x8x12xf32>,
                                %ga: tensor<2x8x12xf32>)
    -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>) {
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga)
      {num_heads = 2 : i64, chunk_size = 4 : i64}
      : (tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>,
         tensor<2x8x12xf32>)
      -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>)
  return %gq, %gk, %gv
      : tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>
}
