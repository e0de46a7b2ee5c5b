// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// shared_qk: one elementwise linalg.generic yields q and k; rows 0 and 1 of
// gamma and beta are sliced out as [Z] vectors indexed by the channel.

// CHECK-DAG: #[[QK_ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[QK_CH:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @shared_qk
// CHECK-SAME: (%[[Z:.+]]: tensor<2x3x8xf32>, %[[GAMMA:.+]]: tensor<2x8xf32>, %[[BETA:.+]]: tensor<2x8xf32>)
// CHECK-DAG: %[[G0:.+]] = tensor.extract_slice %[[GAMMA]][0, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK-DAG: %[[G1:.+]] = tensor.extract_slice %[[GAMMA]][1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK-DAG: %[[B0:.+]] = tensor.extract_slice %[[BETA]][0, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK-DAG: %[[B1:.+]] = tensor.extract_slice %[[BETA]][1, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<8xf32>
// CHECK: %[[QK:.+]]:2 = linalg.generic
// CHECK-SAME: indexing_maps = [#[[QK_ID]], #[[QK_CH]], #[[QK_CH]], #[[QK_CH]], #[[QK_CH]], #[[QK_ID]], #[[QK_ID]]]
// CHECK-SAME: ins(%[[Z]], %[[G0]], %[[G1]], %[[B0]], %[[B1]] :
// CHECK-NEXT: ^bb0(%[[ZV:[^:]+]]: f32, %[[G0V:[^:]+]]: f32, %[[G1V:[^:]+]]: f32, %[[B0V:[^:]+]]: f32, %[[B1V:[^:]+]]: f32,
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// 1 / sqrt(dz) with dz = 8 / 2.
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[GQ:.+]] = arith.addf %[[G0V]], %[[ONE]]
// CHECK: %[[ZQ:.+]] = arith.mulf %[[ZV]], %[[GQ]]
// CHECK: %[[SQ:.+]] = arith.mulf %[[ZQ]], %[[SCALE]]
// CHECK: %[[Q:.+]] = arith.addf %[[SQ]], %[[B0V]]
// CHECK: %[[GK:.+]] = arith.addf %[[G1V]], %[[ONE]]
// CHECK: %[[ZK:.+]] = arith.mulf %[[ZV]], %[[GK]]
// CHECK: %[[SK:.+]] = arith.mulf %[[ZK]], %[[SCALE]]
// CHECK: %[[K:.+]] = arith.addf %[[SK]], %[[B1V]]
// CHECK: linalg.yield %[[Q]], %[[K]] : f32, f32
// CHECK: return %[[QK]]#0, %[[QK]]#1
func.func @shared_qk(%z: tensor<2x3x8xf32>, %gamma: tensor<2x8xf32>,
                     %beta: tensor<2x8xf32>)
    -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
  %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
      : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
      -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>)
  return %q, %k : tensor<2x3x8xf32>, tensor<2x3x8xf32>
}

// -----

// rotary: x is viewed as [B, L, H, dh/2, 2]; the two members of each pair
// are read through constant last indices 0 and 1, the inverse frequency by
// the pair index j, and the position (offset + token) mod chunk_size comes
// from linalg.index 1. inv_freq = 10000^(-2j/4) = [1, 0.01].

// CHECK-DAG: #[[X0:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, 0)>
// CHECK-DAG: #[[X1:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, 1)>
// CHECK-DAG: #[[PAIR:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d3)>
// CHECK-DAG: #[[ROT_ID:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @rotary
// CHECK-SAME: (%[[X:.+]]: tensor<1x6x8xf32>)
// CHECK: %[[PAIRS:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3, 4]] output_shape [1, 6, 2, 2, 2]
// CHECK: %[[FREQ:.+]] = arith.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
// CHECK: %[[OFF:.+]] = arith.constant 0 : index
// CHECK: %[[ROT:.+]] = linalg.generic
// CHECK-SAME: indexing_maps = [#[[X0]], #[[X1]], #[[PAIR]], #[[ROT_ID]]]
// CHECK-SAME: ins(%[[PAIRS]], %[[PAIRS]], %[[FREQ]] :
// CHECK-NEXT: ^bb0(%[[A:[^:]+]]: f32, %[[B:[^:]+]]: f32, %[[F:[^:]+]]: f32,
// CHECK: %[[TOK:.+]] = linalg.index 1 : index
// CHECK: %[[SUM:.+]] = arith.addi %[[OFF]], %[[TOK]]
// CHECK: %[[POS:.+]] = arith.remui %[[SUM]], %{{.+}} : index
// CHECK: %[[POSI:.+]] = arith.index_castui %[[POS]] : index to i64
// CHECK: %[[POSF:.+]] = arith.uitofp %[[POSI]] : i64 to f32
// CHECK: %[[ANGLE:.+]] = arith.mulf %[[POSF]], %[[F]] : f32
// CHECK: %[[COS:.+]] = math.cos %[[ANGLE]]
// CHECK: %[[SIN:.+]] = math.sin %[[ANGLE]]
// CHECK: %[[AC:.+]] = arith.mulf %[[A]], %[[COS]]
// CHECK: %[[BS:.+]] = arith.mulf %[[B]], %[[SIN]]
// CHECK: %[[RE:.+]] = arith.subf %[[AC]], %[[BS]]
// CHECK: %[[AS:.+]] = arith.mulf %[[A]], %[[SIN]]
// CHECK: %[[BC:.+]] = arith.mulf %[[B]], %[[COS]]
// CHECK: %[[IM:.+]] = arith.addf %[[AS]], %[[BC]]
// CHECK: %[[MEMBER:.+]] = linalg.index 4 : index
// CHECK: %[[IS_RE:.+]] = arith.cmpi eq, %[[MEMBER]], %{{.+}} : index
// CHECK: %[[OUT:.+]] = arith.select %[[IS_RE]], %[[RE]], %[[IM]] : f32
// CHECK: linalg.yield %[[OUT]]
// CHECK: %[[Y:.+]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2, 3, 4]] : tensor<1x6x2x2x2xf32> into tensor<1x6x8xf32>
// CHECK: return %[[Y]]
func.func @rotary(%x: tensor<1x6x8xf32>) -> tensor<1x6x8xf32> {
  %r = megalodon.rotary %x
      {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 4 : i64}
      : (tensor<1x6x8xf32>) -> tensor<1x6x8xf32>
  return %r : tensor<1x6x8xf32>
}

// -----

// rotary when decoding: the offset is read from its 0-d tensor.

// CHECK-LABEL: func.func @rotary_offset
// CHECK-SAME: (%[[X:.+]]: tensor<1x1x8xf32>, %[[OFFSET:.+]]: tensor<i64>)
// CHECK: %[[RAW:.+]] = tensor.extract %[[OFFSET]][] : tensor<i64>
// CHECK: %[[OFF:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK: linalg.generic
// CHECK: %[[TOK:.+]] = linalg.index 1 : index
// CHECK: %[[SUM:.+]] = arith.addi %[[OFF]], %[[TOK]]
// CHECK: arith.remui %[[SUM]]
// CHECK: math.cos
// CHECK: math.sin
// CHECK: tensor.collapse_shape
func.func @rotary_offset(%x: tensor<1x1x8xf32>, %offset: tensor<i64>)
    -> tensor<1x1x8xf32> {
  %r = megalodon.rotary %x offset(%offset)
      {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 4 : i64}
      : (tensor<1x1x8xf32>, tensor<i64>) -> tensor<1x1x8xf32>
  return %r : tensor<1x1x8xf32>
}

// -----

// chunk_attention, L = 2 chunks of 4, 2 heads (dz = 4, dv = 6): an scf.forall
// over (batch, head, chunk); per iteration Q K^T (a matmul whose B map is
// transposed), the causal row maximum, exp of the shifted scores, their sum,
// the normalized weights, P V, and a parallel_insert_slice of the block.

// CHECK-DAG: #[[MM_A:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[MM_BT:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MM_C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[QK_MAP:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW_MAP:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @chunk_attention
// CHECK-SAME: (%[[Q:.+]]: tensor<2x8x8xf32>, %[[K:.+]]: tensor<2x8x8xf32>, %[[V:.+]]: tensor<2x8x12xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x8x12xf32>
// CHECK: %[[RES:.+]] = scf.forall (%[[B:.+]], %[[H:.+]], %[[C:.+]]) in (2, 2, 2) shared_outs(%[[ACC:.+]] = %[[INIT]]) -> (tensor<2x8x12xf32>)
// CHECK: %[[ROW0:.+]] = arith.muli %[[C]], %{{.+}} : index
// CHECK: %[[QCOL:.+]] = arith.muli %[[H]], %{{.+}} : index
// CHECK: %[[VCOL:.+]] = arith.muli %[[H]], %{{.+}} : index
// CHECK: %[[QB:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<2x8x8xf32> to tensor<4x4xf32>
// CHECK: %[[KB:.+]] = tensor.extract_slice %[[K]][%[[B]], %[[ROW0]], %[[QCOL]]] [1, 4, 4] [1, 1, 1] : tensor<2x8x8xf32> to tensor<4x4xf32>
// CHECK: %[[VB:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[ROW0]], %[[VCOL]]] [1, 4, 6] [1, 1, 1] : tensor<2x8x12xf32> to tensor<4x6xf32>
// CHECK: %[[SZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<4x4xf32>)
// CHECK: %[[S:.+]] = linalg.matmul indexing_maps = [#[[MM_A]], #[[MM_BT]], #[[MM_C]]] ins(%[[QB]], %[[KB]] : tensor<4x4xf32>, tensor<4x4xf32>) outs(%[[SZERO]] : tensor<4x4xf32>)
// CHECK: %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAX_INIT:.+]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.+}} : tensor<4xf32>)
// CHECK: %[[MAX:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[ROW_MAP]]], iterator_types = ["parallel", "reduction"]} ins(%[[S]] : tensor<4x4xf32>) outs(%[[MAX_INIT]] : tensor<4xf32>)
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 1 : index
// CHECK: %[[SEEN:.+]] = arith.cmpi ule, %[[J]], %[[I]] : index
// CHECK: %[[MASKED:.+]] = arith.select %[[SEEN]]
// CHECK: arith.maximumf %[[MASKED]]
// CHECK: %[[EXP:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[ROW_MAP]], #[[QK_MAP]]], iterator_types = ["parallel", "parallel"]} ins(%[[S]], %[[MAX]] : tensor<4x4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[SV:[^:]+]]: f32, %[[MV:[^:]+]]: f32,
// CHECK: %[[SHIFTED:.+]] = arith.subf %[[SV]], %[[MV]]
// CHECK: %[[E:.+]] = math.exp %[[SHIFTED]]
// CHECK: arith.cmpi ule
// CHECK: arith.select %{{.+}}, %[[E]], %{{.+}} : f32
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[ROW_MAP]]], iterator_types = ["parallel", "reduction"]} ins(%[[EXP]] : tensor<4x4xf32>)
// CHECK: arith.addf
// CHECK: %[[P:.+]] = linalg.generic {indexing_maps = [#[[QK_MAP]], #[[ROW_MAP]], #[[QK_MAP]]], iterator_types = ["parallel", "parallel"]} ins(%[[EXP]], %[[SUM]] : tensor<4x4xf32>, tensor<4xf32>)
// CHECK: arith.divf
// CHECK: %[[OZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<4x6xf32>)
// CHECK: %[[O:.+]] = linalg.matmul ins(%[[P]], %[[VB]] : tensor<4x4xf32>, tensor<4x6xf32>) outs(%[[OZERO]] : tensor<4x6xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[O]] into %[[ACC]][%[[B]], %[[ROW0]], %[[VCOL]]] [1, 4, 6] [1, 1, 1] : tensor<4x6xf32> into tensor<2x8x12xf32>
// CHECK: return %[[RES]]
func.func @chunk_attention(%q: tensor<2x8x8xf32>, %k: tensor<2x8x8xf32>,
                           %v: tensor<2x8x12xf32>) -> tensor<2x8x12xf32> {
  %a = megalodon.chunk_attention %q, %k, %v
      {num_heads = 2 : i64, chunk_size = 4 : i64}
      : (tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x12xf32>)
      -> tensor<2x8x12xf32>
  return %a : tensor<2x8x12xf32>
}

// -----

// L = 3 < chunk_size: one chunk of 3 tokens.

// CHECK-LABEL: func.func @chunk_attention_short
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 2, 1)
// CHECK: tensor.extract_slice %{{.+}} [1, 3, 4] [1, 1, 1] : tensor<1x3x8xf32> to tensor<3x4xf32>
// CHECK: linalg.matmul indexing_maps
// CHECK-SAME: -> tensor<3x3xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.matmul ins
// CHECK-SAME: -> tensor<3x4xf32>
// CHECK: tensor.parallel_insert_slice %{{.+}} [1, 3, 4] [1, 1, 1] : tensor<3x4xf32> into tensor<1x3x8xf32>
func.func @chunk_attention_short(%q: tensor<1x3x8xf32>, %k: tensor<1x3x8xf32>,
                                 %v: tensor<1x3x8xf32>) -> tensor<1x3x8xf32> {
  %a = megalodon.chunk_attention %q, %k, %v
      {num_heads = 2 : i64, chunk_size = 4 : i64}
      : (tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>)
      -> tensor<1x3x8xf32>
  return %a : tensor<1x3x8xf32>
}

// -----

// Decoding: the keys of a head are [cache rows 0..len-1 ; new rows] in a
// zero-filled [chunk_size, dz] block, the new rows inserted at the dynamic
// offset len; query i sees keys j <= len + i. len is clamped to
// [0, chunk_size - L] so that the slices stay in bounds.

// CHECK-LABEL: func.func @chunk_attention_cache
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<1x1x8xf32>, %[[K:[^:]+]]: tensor<1x1x8xf32>, %[[V:[^:]+]]: tensor<1x1x12xf32>, %[[KC:[^:]+]]: tensor<1x4x8xf32>, %[[VC:[^:]+]]: tensor<1x4x12xf32>, %[[LEN:[^:]+]]: tensor<i64>)
// CHECK: %[[RAW:.+]] = tensor.extract %[[LEN]][] : tensor<i64>
// CHECK-DAG: %[[LO:.+]] = arith.constant 0 : i64
// CHECK-DAG: %[[HI:.+]] = arith.constant 3 : i64
// CHECK: %[[ATLEAST:.+]] = arith.maxsi %[[RAW]], %[[LO]]
// CHECK: %[[CLAMPED:.+]] = arith.minsi %[[ATLEAST]], %[[HI]]
// CHECK: %[[N:.+]] = arith.index_cast %[[CLAMPED]] : i64 to index
// CHECK: scf.forall (%[[B:.+]], %[[H:.+]], %{{.+}}) in (1, 2, 1)
// CHECK: %[[QB:.+]] = tensor.extract_slice %[[Q]]
// CHECK: %[[KZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<4x4xf32>)
// CHECK: %[[KOLD:.+]] = tensor.extract_slice %[[KC]][%[[B]], 0, %{{.+}}] [1, %[[N]], 4] [1, 1, 1] : tensor<1x4x8xf32> to tensor<?x4xf32>
// CHECK: %[[K1:.+]] = tensor.insert_slice %[[KOLD]] into %[[KZERO]][0, 0] [%[[N]], 4] [1, 1]
// CHECK: %[[KNEW:.+]] = tensor.extract_slice %[[K]][%[[B]], 0, %{{.+}}] [1, 1, 4] [1, 1, 1] : tensor<1x1x8xf32> to tensor<1x4xf32>
// CHECK: %[[KEYS:.+]] = tensor.insert_slice %[[KNEW]] into %[[K1]][%[[N]], 0] [1, 4] [1, 1] : tensor<1x4xf32> into tensor<4x4xf32>
// CHECK: %[[VOLD:.+]] = tensor.extract_slice %[[VC]][%[[B]], 0, %{{.+}}] [1, %[[N]], 6] [1, 1, 1] : tensor<1x4x12xf32> to tensor<?x6xf32>
// CHECK: %[[V1:.+]] = tensor.insert_slice %[[VOLD]]
// CHECK: %[[VNEW:.+]] = tensor.extract_slice %[[V]]
// CHECK: %[[VALUES:.+]] = tensor.insert_slice %[[VNEW]] into %[[V1]][%[[N]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK: %[[S:.+]] = linalg.matmul indexing_maps = {{.+}} ins(%[[QB]], %[[KEYS]] : tensor<1x4xf32>, tensor<4x4xf32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[S]]
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 1 : index
// CHECK: %[[LAST:.+]] = arith.addi %[[I]], %[[N]] : index
// CHECK: arith.cmpi ule, %[[J]], %[[LAST]] : index
// CHECK: arith.maximumf
// CHECK: %[[EXP:.+]] = linalg.generic
// CHECK: math.exp
// CHECK: arith.addi %{{.+}}, %[[N]] : index
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}} ins(%[[EXP]] :
// CHECK: %[[P:.+]] = linalg.generic {{.+}} ins(%[[EXP]], %[[SUM]] :
// CHECK: arith.divf
// CHECK: %[[O:.+]] = linalg.matmul ins(%[[P]], %[[VALUES]] : tensor<1x4xf32>, tensor<4x6xf32>)
// CHECK: tensor.parallel_insert_slice %[[O]]
func.func @chunk_attention_cache(%q: tensor<1x1x8xf32>, %k: tensor<1x1x8xf32>,
                                 %v: tensor<1x1x12xf32>,
                                 %kc: tensor<1x4x8xf32>,
                                 %vc: tensor<1x4x12xf32>, %len: tensor<i64>)
    -> tensor<1x1x12xf32> {
  %a = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len)
      {num_heads = 2 : i64, chunk_size = 4 : i64}
      : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x1x12xf32>,
         tensor<1x4x8xf32>, tensor<1x4x12xf32>, tensor<i64>)
      -> tensor<1x1x12xf32>
  return %a : tensor<1x1x12xf32>
}

// -----

// Several whole chunks with a cache: legal only with an empty cache, where
// the call is the training computation, so the cache is not read.

// CHECK-LABEL: func.func @chunk_attention_cache_prefill
// CHECK-NOT: tensor.extract %
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 2, 2)
// CHECK-NOT: tensor.insert_slice
// CHECK: linalg.matmul indexing_maps
// CHECK-SAME: -> tensor<4x4xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.matmul ins
// CHECK: tensor.parallel_insert_slice
func.func @chunk_attention_cache_prefill(%q: tensor<1x8x8xf32>,
                                         %k: tensor<1x8x8xf32>,
                                         %v: tensor<1x8x8xf32>,
                                         %kc: tensor<1x4x8xf32>,
                                         %vc: tensor<1x4x8xf32>,
                                         %len: tensor<i64>)
    -> tensor<1x8x8xf32> {
  %a = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len)
      {num_heads = 2 : i64, chunk_size = 4 : i64}
      : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>,
         tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<i64>)
      -> tensor<1x8x8xf32>
  return %a : tensor<1x8x8xf32>
}

// -----

// kv_cache_update: with total = len + L, kept = total mod chunk_size rows
// starting at stream row total - kept move to the front of a zero-filled
// cache; the stream [cache rows 0..len-1 ; new rows] is assembled with
// slices at the dynamic offset len.

// CHECK-LABEL: func.func @kv_cache_update
// CHECK-SAME: (%[[KC:[^:]+]]: tensor<1x4x8xf32>, %[[VC:[^:]+]]: tensor<1x4x12xf32>, %[[LEN:[^:]+]]: tensor<i64>, %[[K:[^:]+]]: tensor<1x1x8xf32>, %[[V:[^:]+]]: tensor<1x1x12xf32>)
// CHECK: %[[RAW:.+]] = tensor.extract %[[LEN]][] : tensor<i64>
// CHECK: arith.maxsi %[[RAW]]
// CHECK: %[[CLAMPED:.+]] = arith.minsi
// CHECK: %[[N:.+]] = arith.index_cast %[[CLAMPED]] : i64 to index
// CHECK: %[[L:.+]] = arith.constant 1 : index
// CHECK: %[[TOTAL:.+]] = arith.addi %[[N]], %[[L]] : index
// CHECK: %[[C:.+]] = arith.constant 4 : index
// CHECK: %[[KEPT:.+]] = arith.remui %[[TOTAL]], %[[C]] : index
// CHECK: %[[FIRST:.+]] = arith.subi %[[TOTAL]], %[[KEPT]] : index
// CHECK: %[[KSTREAM:.+]] = tensor.empty() : tensor<1x5x8xf32>
// CHECK: %[[KOLD:.+]] = tensor.extract_slice %[[KC]][0, 0, 0] [1, %[[N]], 8] [1, 1, 1] : tensor<1x4x8xf32> to tensor<1x?x8xf32>
// CHECK: %[[KS1:.+]] = tensor.insert_slice %[[KOLD]] into %[[KSTREAM]][0, 0, 0] [1, %[[N]], 8] [1, 1, 1]
// CHECK: %[[KS2:.+]] = tensor.insert_slice %[[K]] into %[[KS1]][0, %[[N]], 0] [1, 1, 8] [1, 1, 1]
// CHECK: %[[KTAIL:.+]] = tensor.extract_slice %[[KS2]][0, %[[FIRST]], 0] [1, %[[KEPT]], 8] [1, 1, 1] : tensor<1x5x8xf32> to tensor<1x?x8xf32>
// CHECK: %[[KZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x4x8xf32>)
// CHECK: %[[KOUT:.+]] = tensor.insert_slice %[[KTAIL]] into %[[KZERO]][0, 0, 0] [1, %[[KEPT]], 8] [1, 1, 1] : tensor<1x?x8xf32> into tensor<1x4x8xf32>
// CHECK: tensor.empty() : tensor<1x5x12xf32>
// CHECK: tensor.extract_slice %[[VC]][0, 0, 0] [1, %[[N]], 12]
// CHECK: tensor.insert_slice %[[V]] into %{{.+}}[0, %[[N]], 0] [1, 1, 12]
// CHECK: tensor.extract_slice %{{.+}}[0, %[[FIRST]], 0] [1, %[[KEPT]], 12]
// CHECK: %[[VOUT:.+]] = tensor.insert_slice %{{.+}} into %{{.+}}[0, 0, 0] [1, %[[KEPT]], 12] [1, 1, 1] : tensor<1x?x12xf32> into tensor<1x4x12xf32>
// CHECK: %[[KEPT64:.+]] = arith.index_castui %[[KEPT]] : index to i64
// CHECK: %[[NEWLEN:.+]] = tensor.from_elements %[[KEPT64]] : tensor<i64>
// CHECK: return %[[KOUT]], %[[VOUT]], %[[NEWLEN]]
func.func @kv_cache_update(%kc: tensor<1x4x8xf32>, %vc: tensor<1x4x12xf32>,
                           %len: tensor<i64>, %k: tensor<1x1x8xf32>,
                           %v: tensor<1x1x12xf32>)
    -> (tensor<1x4x8xf32>, tensor<1x4x12xf32>, tensor<i64>) {
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v
      {chunk_size = 4 : i64}
      : (tensor<1x4x8xf32>, tensor<1x4x12xf32>, tensor<i64>,
         tensor<1x1x8xf32>, tensor<1x1x12xf32>)
      -> (tensor<1x4x8xf32>, tensor<1x4x12xf32>, tensor<i64>)
  return %kc2, %vc2, %len2 : tensor<1x4x8xf32>, tensor<1x4x12xf32>, tensor<i64>
}
