// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// With a carried state and final cotangents, and more rows (B * L = 10000)
// than two blocks (4096 rows of D = 8): x and gy are viewed as rows
// [B * L, G, S]. Phase 1 reduces every row to four [B * L, G] sums, in an
// scf.forall over the full blocks and then the short last block. The forward
// scan over t starts from copies of the carried mean and variance and
// rewrites the sums in place; one generic over [B, L, G] forms r, P and Q;
// the reverse scan, seeded with the final cotangents over n0 + L, turns P and
// Q into the coefficients of gx. Phase 3 writes gx and per-block partial
// affine gradients, which are summed over the blocks in order at the end.

// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BATCH2:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[FEAT3:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[BATCH3:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[BG3:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @tsn_grad_state(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x5000x8xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<8xf32>,
// CHECK-SAME:    %[[N0:[a-zA-Z0-9_]+]]: tensor<2xi64>, %[[M0:[a-zA-Z0-9_]+]]: tensor<2x4xf32>, %[[V0:[a-zA-Z0-9_]+]]: tensor<2x4xf32>,
// CHECK-SAME:    %[[GY:[a-zA-Z0-9_]+]]: tensor<2x5000x8xf32>, %[[GMF:[a-zA-Z0-9_]+]]: tensor<2x4xf32>, %[[GVF:[a-zA-Z0-9_]+]]: tensor<2x4xf32>)
// CHECK:     %[[X4:.+]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [2, 5000, 4, 2]
// CHECK:     %[[XR:.+]] = tensor.collapse_shape %[[X4]] {{\[\[}}0, 1], [2], [3]] : tensor<2x5000x4x2xf32> into tensor<10000x4x2xf32>
// CHECK:     %[[GYR:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1], [2], [3]] : tensor<2x5000x4x2xf32> into tensor<10000x4x2xf32>
// CHECK:     %[[SCALE:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<4x2xf32>)

// Phase 1: the two full blocks in an scf.forall, then the 1808 rows left.
// CHECK:     %[[SUMS:.+]]:4 = scf.forall (%[[K:.+]]) in (2)
// CHECK-SAME:    -> (tensor<10000x4xf32>, tensor<10000x4xf32>, tensor<10000x4xf32>, tensor<10000x4xf32>)
// CHECK:       %[[XB:.+]] = tensor.extract_slice %[[XR]][%{{.+}}, 0, 0] [4096, 4, 2] [1, 1, 1]
// CHECK:       %[[S1:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%[[XB]] : tensor<4096x4x2xf32>)
// CHECK:       %[[S234:.+]]:3 = linalg.generic {indexing_maps = [#[[ID3]], #[[ROW3]], #[[ID3]], #[[FEAT3]], #[[ROW3]], #[[ROW3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%[[XB]], %[[S1]], %{{.+}}, %[[SCALE]] :
// CHECK:       scf.forall.in_parallel
// CHECK-COUNT-4: tensor.parallel_insert_slice
// CHECK:     tensor.extract_slice %[[XR]][%{{.+}}, 0, 0] [1808, 4, 2] [1, 1, 1]
// CHECK:     linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:     linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-COUNT-4: tensor.insert_slice {{.*}} [1808, 4] [1, 1] : tensor<1808x4xf32> into tensor<10000x4xf32>
// CHECK-COUNT-4: tensor.expand_shape {{.*}} output_shape [2, 5000, 4] : tensor<10000x4xf32> into tensor<2x5000x4xf32>

// The forward scan, from copies of the carried statistics.
// CHECK:     %[[MC:.+]] = linalg.copy ins(%[[M0]] : tensor<2x4xf32>)
// CHECK:     %[[VC:.+]] = linalg.copy ins(%[[V0]] : tensor<2x4xf32>)
// CHECK:     %[[FWD:.+]]:5 = scf.for %[[T:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{[^ ]+}} = %[[MC]], %{{[^ ]+}} = %[[VC]],
// CHECK-SAME:    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x5000x4xf32>, tensor<2x5000x4xf32>, tensor<2x5000x4xf32>)
// CHECK-COUNT-4: tensor.extract_slice {{.*}}[0, %[[T]], 0] [2, 1, 4] [1, 1, 1] : tensor<2x5000x4xf32> to tensor<2x4xf32>
// CHECK:       %[[STEP:.+]]:5 = linalg.generic {indexing_maps = [#[[BATCH2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[N0]], %{{.+}} : tensor<2xi64>, tensor<2x4xf32>)
// CHECK:         arith.sitofp
// CHECK-COUNT-3: tensor.insert_slice {{.*}}[0, %[[T]], 0] [2, 1, 4] [1, 1, 1]
// CHECK:       scf.yield %[[STEP]]#0, %[[STEP]]#1,

// r, P and Q for every step, with the final mean as the shift.
// CHECK:     %[[TERMS:.+]]:3 = linalg.generic {indexing_maps = [#[[BATCH3]], #[[BG3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%[[N0]], %[[FWD]]#0, %[[FWD]]#2 :
// CHECK-SAME:    outs(%[[FWD]]#3, %{{.+}}, %[[FWD]]#4 :
// CHECK:         linalg.index 1
// CHECK:         math.sqrt

// The reverse scan, seeded with the final cotangents over n0 + L.
// CHECK:     %[[L:.+]] = arith.constant 5000 : i64
// CHECK:     %[[SEED:.+]]:2 = linalg.generic {{.*}} ins(%[[N0]], %[[GMF]], %[[GVF]] :
// CHECK:         arith.addi %{{.+}}, %[[L]] : i64
// CHECK:     %[[LAST:.+]] = arith.constant 4999 : index
// CHECK:     %[[REV:.+]]:4 = scf.for %[[I:[^ ]+]] = {{.*}} iter_args(%{{[^ ]+}} = %[[SEED]]#0, %{{[^ ]+}} = %[[SEED]]#1, %{{[^ ]+}} = %[[TERMS]]#1, %{{[^ ]+}} = %[[TERMS]]#2)
// CHECK:       %[[TR:.+]] = arith.subi %[[LAST]], %[[I]] : index
// CHECK:       tensor.extract_slice %[[FWD]]#2[0, %[[TR]], 0] [2, 1, 4]
// CHECK:       linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]]]
// CHECK-COUNT-2: tensor.insert_slice {{.*}}[0, %[[TR]], 0] [2, 1, 4] [1, 1, 1]
// CHECK:       scf.yield

// Phase 3: gx and the per-block affine gradients.
// CHECK:     %[[GRADS:.+]]:3 = scf.forall (%{{.+}}) in (2)
// CHECK-SAME:    -> (tensor<10000x4x2xf32>, tensor<3x4x2xf32>, tensor<3x4x2xf32>)
// CHECK:       linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[FEAT3]], #[[ROW3]], #[[ROW3]], #[[ROW3]], #[[ROW3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK:       linalg.fill
// CHECK:       linalg.fill
// CHECK:       linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[ROW3]], #[[ROW3]], #[[FEAT3]], #[[FEAT3]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK:       scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
// CHECK:     tensor.insert_slice {{.*}} : tensor<1808x4x2xf32> into tensor<10000x4x2xf32>
// CHECK:     %[[GW:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[FEAT3]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK-SAME:    ins(%{{.+}} : tensor<3x4x2xf32>) outs(%{{.+}} : tensor<4x2xf32>)
// CHECK:     %[[GB:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[FEAT3]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK:     %[[GX:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0], [1], [2, 3]] : tensor<2x5000x4x2xf32> into tensor<2x5000x8xf32>
// CHECK:     %[[GW1:.+]] = tensor.collapse_shape %[[GW]] {{\[\[}}0, 1]] : tensor<4x2xf32> into tensor<8xf32>
// CHECK:     %[[GB1:.+]] = tensor.collapse_shape %[[GB]] {{\[\[}}0, 1]] : tensor<4x2xf32> into tensor<8xf32>

// The carried state's cotangents from A'_0 and Bq_0.
// CHECK:     %[[GSTATE:.+]]:2 = linalg.generic {{.*}} ins(%[[N0]], %[[M0]], %[[FWD]]#0, %[[REV]]#0, %[[REV]]#1 :
// CHECK:     return %[[GX]], %[[GW1]], %[[GB1]], %[[GSTATE]]#0, %[[GSTATE]]#1
func.func @tsn_grad_state(%x: tensor<2x5000x8xf32>, %w: tensor<8xf32>,
                          %n: tensor<2xi64>, %m: tensor<2x4xf32>,
                          %v: tensor<2x4xf32>, %gy: tensor<2x5000x8xf32>,
                          %gmf: tensor<2x4xf32>, %gvf: tensor<2x4xf32>)
    -> (tensor<2x5000x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
        tensor<2x4xf32>) {
  %gx, %gw, %gb, %gm, %gv = megalodon.timestep_norm_grad %x, %w
      state(%n, %m, %v) grad(%gy, %gmf, %gvf)
      {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x5000x8xf32>, tensor<8xf32>, tensor<2xi64>, tensor<2x4xf32>,
         tensor<2x4xf32>, tensor<2x5000x8xf32>, tensor<2x4xf32>,
         tensor<2x4xf32>)
      -> (tensor<2x5000x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
          tensor<2x4xf32>)
  return %gx, %gw, %gb, %gm, %gv
      : tensor<2x5000x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
        tensor<2x4xf32>
}

// -----

// Without a state the scan starts from the fresh state (count 0, mean 0,
// var 1), which it may update in place; without final cotangents the
// reverse scan starts from zero. One block: no loop over blocks, and the
// single block's partial sums are the gradients.

// CHECK-LABEL: func.func @tsn_grad_fresh(
// CHECK:       %[[ZI:.+]] = arith.constant 0 : i64
// CHECK:       %[[N0:.+]] = linalg.fill ins(%[[ZI]] : i64) outs(%{{.+}} : tensor<1xi64>)
// CHECK:       %[[M0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK:       %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:       %[[V0:.+]] = linalg.fill ins(%[[ONE]] : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK-NOT:   linalg.copy
// CHECK:       scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[M0]], %{{[^ ]+}} = %[[V0]],
// CHECK:       %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[A0:.+]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK:       %[[B0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK:       scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[A0]], %{{[^ ]+}} = %[[B0]],
// CHECK-NOT:   scf.forall
// CHECK:       iterator_types = ["reduction", "parallel", "parallel"]
// CHECK:       tensor.collapse_shape %{{.+}} {{\[\[}}0, 1], [2]] : tensor<1x2x3xf32> into tensor<2x3xf32>
// CHECK:       tensor.collapse_shape %{{.+}} {{\[\[}}0, 1], [2]] : tensor<1x2x3xf32> into tensor<2x3xf32>
// CHECK:       return %{{.+}}, %{{.+}}, %{{.+}} : tensor<1x7x6xf32>, tensor<6xf32>, tensor<6xf32>
func.func @tsn_grad_fresh(%x: tensor<1x7x6xf32>, %w: tensor<6xf32>,
                          %gy: tensor<1x7x6xf32>)
    -> (tensor<1x7x6xf32>, tensor<6xf32>, tensor<6xf32>) {
  %gx, %gw, %gb = megalodon.timestep_norm_grad %x, %w grad(%gy)
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x7x6xf32>, tensor<6xf32>, tensor<1x7x6xf32>)
      -> (tensor<1x7x6xf32>, tensor<6xf32>, tensor<6xf32>)
  return %gx, %gw, %gb : tensor<1x7x6xf32>, tensor<6xf32>, tensor<6xf32>
}

// -----

// Without any step the returned state is the carried one: the cotangents of
// its mean and variance pass through, and the affine gradients are zero.

// CHECK-LABEL: func.func @tsn_grad_no_steps(
// CHECK-SAME:    %[[GMF:[a-zA-Z0-9_]+]]: tensor<2x4xf32>, %[[GVF:[a-zA-Z0-9_]+]]: tensor<2x4xf32>)
// CHECK-NOT:   scf.for
// CHECK:       %[[GX:.+]] = tensor.empty() : tensor<2x0x8xf32>
// CHECK:       %[[GW:.+]] = linalg.fill
// CHECK:       %[[GB:.+]] = linalg.fill
// CHECK:       return %[[GX]], %[[GW]], %[[GB]], %[[GMF]], %[[GVF]]
func.func @tsn_grad_no_steps(%x: tensor<2x0x8xf32>, %w: tensor<8xf32>,
                             %n: tensor<2xi64>, %m: tensor<2x4xf32>,
                             %v: tensor<2x4xf32>, %gy: tensor<2x0x8xf32>,
                             %gmf: tensor<2x4xf32>, %gvf: tensor<2x4xf32>)
    -> (tensor<2x0x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
        tensor<2x4xf32>) {
  %gx, %gw, %gb, %gm, %gv = megalodon.timestep_norm_grad %x, %w
      state(%n, %m, %v) grad(%gy, %gmf, %gvf)
      {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x0x8xf32>, tensor<8xf32>, tensor<2xi64>, tensor<2x4xf32>,
         tensor<2x4xf32>, tensor<2x0x8xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
      -> (tensor<2x0x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
          tensor<2x4xf32>)
  return %gx, %gw, %gb, %gm, %gv
      : tensor<2x0x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x4xf32>,
        tensor<2x4xf32>
}
