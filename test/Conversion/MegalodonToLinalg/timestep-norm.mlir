// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// With a carried state: the scan starts from the state operands and yields
// the next count, mean, var and output each step. x is viewed as
// [B, L, G, S]; each step reduces its [B, G, S] slice over S (two passes:
// sum, then squared deviations), updates the statistics over [B, G] in place
// and normalizes into the step's slice of the output. The [B, G] temporaries
// of a step are created before the loop, so that bufferization allocates
// them once.

// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW2:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[GRP3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[FEAT3:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @tsn_with_state(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x5x8xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<8xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<8xf32>,
// CHECK-SAME:    %[[N0:[a-zA-Z0-9_]+]]: tensor<2xi64>, %[[M0:[a-zA-Z0-9_]+]]: tensor<2x4xf32>, %[[V0:[a-zA-Z0-9_]+]]: tensor<2x4xf32>)
// CHECK:     %[[X4:.+]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [2, 5, 4, 2]
// CHECK:     %[[W2:.+]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1]] output_shape [4, 2]
// CHECK:     %[[SCALE:.+]] = linalg.generic {{.*}} ins(%[[W2]] : tensor<4x2xf32>)
// CHECK:       arith.addf
// CHECK:     %[[B2:.+]] = tensor.expand_shape %[[B]] {{\[\[}}0, 1]] output_shape [4, 2]
// CHECK:     %[[Y0:.+]] = tensor.empty() : tensor<2x5x4x2xf32>
// CHECK:     %[[SUMBUF:.+]] = tensor.empty() : tensor<2x4xf32>
// CHECK:     %[[DEVBUF:.+]] = tensor.empty() : tensor<2x4xf32>
// CHECK:     %[[INVBUF:.+]] = tensor.empty() : tensor<2x4xf32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C5:.+]] = arith.constant 5 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK:     %[[LOOP:.+]]:4 = scf.for %[[T:[^ ]+]] = %[[C0]] to %[[C5]] step %[[C1]]
// CHECK-SAME:    iter_args(%[[N:[^ ]+]] = %[[N0]], %[[M:[^ ]+]] = %[[M0]], %[[V:[^ ]+]] = %[[V0]], %[[Y:[^ ]+]] = %[[Y0]])
// CHECK-SAME:    -> (tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x5x4x2xf32>)
// CHECK:       %[[XT:.+]] = tensor.extract_slice %[[X4]][0, %[[T]], 0, 0] [2, 1, 4, 2] [1, 1, 1, 1] : tensor<2x5x4x2xf32> to tensor<2x4x2xf32>
// CHECK:       %[[N1:.+]] = linalg.generic {{.*}} outs(%[[N]] : tensor<2xi64>)
// CHECK:         arith.addi
// CHECK:       %[[SUM0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[SUMBUF]] : tensor<2x4xf32>)
// CHECK:       %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[GRP3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%[[XT]] : tensor<2x4x2xf32>) outs(%[[SUM0]] : tensor<2x4xf32>)
// CHECK:       %[[DEV0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[DEVBUF]] : tensor<2x4xf32>)
// CHECK:       %[[DEV:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[GRP3]], #[[GRP3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%[[XT]], %[[SUM]] : tensor<2x4x2xf32>, tensor<2x4xf32>) outs(%[[DEV0]] : tensor<2x4xf32>)
// CHECK:         arith.subf
// CHECK:         arith.mulf
// CHECK:       %[[STATS:.+]]:3 = linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[ROW2]], #[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[SUM]], %[[DEV]], %[[N1]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2xi64>)
// CHECK-SAME:      outs(%[[M]], %[[V]], %[[INVBUF]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK:         arith.sitofp
// CHECK:         math.sqrt
// CHECK:       %[[DEST:.+]] = tensor.extract_slice %[[Y]][0, %[[T]], 0, 0] [2, 1, 4, 2] [1, 1, 1, 1]
// CHECK:       %[[YT:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[GRP3]], #[[GRP3]], #[[FEAT3]], #[[FEAT3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:      ins(%[[XT]], %[[STATS]]#0, %[[STATS]]#2, %[[SCALE]], %[[B2]] :
// CHECK-SAME:      outs(%[[DEST]] : tensor<2x4x2xf32>)
// CHECK:       %[[Y1:.+]] = tensor.insert_slice %[[YT]] into %[[Y]][0, %[[T]], 0, 0] [2, 1, 4, 2] [1, 1, 1, 1]
// CHECK:       scf.yield %[[N1]], %[[STATS]]#0, %[[STATS]]#1, %[[Y1]]
// CHECK:     %[[OUT:.+]] = tensor.collapse_shape %[[LOOP]]#3 {{\[\[}}0], [1], [2, 3]] : tensor<2x5x4x2xf32> into tensor<2x5x8xf32>
// CHECK:     return %[[OUT]], %[[LOOP]]#0, %[[LOOP]]#1, %[[LOOP]]#2
func.func @tsn_with_state(%x: tensor<2x5x8xf32>, %w: tensor<8xf32>,
                          %b: tensor<8xf32>, %n: tensor<2xi64>,
                          %m: tensor<2x4xf32>, %v: tensor<2x4xf32>)
    -> (tensor<2x5x8xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v)
      {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2xi64>,
         tensor<2x4xf32>, tensor<2x4xf32>)
      -> (tensor<2x5x8xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>)
  return %y, %n1, %m1, %v1
      : tensor<2x5x8xf32>, tensor<2xi64>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Without a state the scan starts from the fresh state: count 0, mean 0,
// var 1.

// CHECK-LABEL: func.func @tsn_fresh(
// CHECK:       %[[ZI:.+]] = arith.constant 0 : i64
// CHECK:       %[[N0:.+]] = linalg.fill ins(%[[ZI]] : i64) outs(%{{.+}} : tensor<1xi64>)
// CHECK:       %[[ZF:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[M0:.+]] = linalg.fill ins(%[[ZF]] : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK:       %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:       %[[V0:.+]] = linalg.fill ins(%[[ONE]] : f32) outs(%{{.+}} : tensor<1x2xf32>)
// CHECK:       scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[N0]], %{{[^ ]+}} = %[[M0]], %{{[^ ]+}} = %[[V0]], %{{[^ ]+}} = %{{[^ ]+}})
// CHECK-SAME:    -> (tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x7x2x3xf32>)
// CHECK:         tensor.extract_slice {{.*}} : tensor<1x7x2x3xf32> to tensor<1x2x3xf32>
// CHECK:         iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         tensor.insert_slice
// CHECK:         scf.yield
func.func @tsn_fresh(%x: tensor<1x7x6xf32>, %w: tensor<6xf32>,
                     %b: tensor<6xf32>)
    -> (tensor<1x7x6xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>) {
  %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x7x6xf32>, tensor<6xf32>, tensor<6xf32>)
      -> (tensor<1x7x6xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  return %y, %n, %m, %v
      : tensor<1x7x6xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>
}
