// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// Fresh state: the coefficients come from one linalg.generic over (D, N)
// before the loop; the scan carries the real and imaginary parts of the
// state and the output. Each step advances the state over (B, D, N), writes
// omega * u into the step's output slice and adds the read-out, a reduction
// over N, on top of it. No complex ops inside the loop.

// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[CH2:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[LAST2:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[ST3:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @cema_fresh(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x16x8xf32>, %[[ALPHA:[a-zA-Z0-9_]+]]: tensor<8x4x1xf32>, %[[DELTA:[a-zA-Z0-9_]+]]: tensor<8x4x1xf32>,
// CHECK-SAME:    %[[THETA:[a-zA-Z0-9_]+]]: tensor<8x1x1xf32>, %[[GAMMA:[a-zA-Z0-9_]+]]: tensor<8x4x2xf32>, %[[OMEGA:[a-zA-Z0-9_]+]]: tensor<8x1xf32>)
// CHECK-DAG:   %[[A2:.+]] = tensor.extract_slice %[[ALPHA]][0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4x1xf32> to tensor<8x4xf32>
// CHECK-DAG:   %[[D2:.+]] = tensor.extract_slice %[[DELTA]][0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4x1xf32> to tensor<8x4xf32>
// CHECK-DAG:   %[[T1:.+]] = tensor.extract_slice %[[THETA]][0, 0, 0] [8, 1, 1] [1, 1, 1] : tensor<8x1x1xf32> to tensor<8xf32>
// CHECK-DAG:   %[[GRE:.+]] = tensor.extract_slice %[[GAMMA]][0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4x2xf32> to tensor<8x4xf32>
// CHECK-DAG:   %[[GIM:.+]] = tensor.extract_slice %[[GAMMA]][0, 0, 1] [8, 4, 1] [1, 1, 1] : tensor<8x4x2xf32> to tensor<8x4xf32>
// CHECK:       %[[CO:.+]]:5 = linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[CH2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[A2]], %[[D2]], %[[T1]], %[[GRE]], %[[GIM]] :
// CHECK:         math.exp
// CHECK:         linalg.index 1
// CHECK:         math.cos
// CHECK:         math.sin
// CHECK:         linalg.yield
// CHECK:       %[[OM:.+]] = tensor.extract_slice %[[OMEGA]][0, 0] [8, 1] [1, 1] : tensor<8x1xf32> to tensor<8xf32>
// CHECK:       %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[HRE0:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x8x4xf32>)
// CHECK:       %[[HIM0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x8x4xf32>)
// CHECK:       %[[Y0:.+]] = tensor.empty() : tensor<2x16x8xf32>
// CHECK-DAG:   %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:   %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG:   %[[C1:.+]] = arith.constant 1 : index
// CHECK:       %[[LOOP:.+]]:3 = scf.for %[[T:[^ ]+]] = %[[C0]] to %[[C16]] step %[[C1]]
// CHECK-SAME:      iter_args(%[[HRE:[^ ]+]] = %[[HRE0]], %[[HIM:[^ ]+]] = %[[HIM0]], %[[Y:[^ ]+]] = %[[Y0]])
// CHECK-SAME:      -> (tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x16x8xf32>)
// CHECK-NOT:     complex.
// CHECK:         %[[U:.+]] = tensor.extract_slice %[[X]][0, %[[T]], 0] [2, 1, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<2x8xf32>
// CHECK-NOT:     complex.
// CHECK:         %[[H:.+]]:2 = linalg.generic {indexing_maps = [#[[ROW3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[U]], %[[CO]]#0, %[[CO]]#1, %[[CO]]#2 : tensor<2x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>)
// CHECK-SAME:        outs(%[[HRE]], %[[HIM]] : tensor<2x8x4xf32>, tensor<2x8x4xf32>)
// CHECK-NOT:     complex.
// CHECK:         %[[DEST:.+]] = tensor.extract_slice %[[Y]][0, %[[T]], 0] [2, 1, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<2x8xf32>
// CHECK-NOT:     complex.
// CHECK:         %[[SKIP:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[LAST2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[U]], %[[OM]] : tensor<2x8xf32>, tensor<8xf32>) outs(%[[DEST]] : tensor<2x8xf32>)
// CHECK-NOT:     complex.
// CHECK:         %[[YT:.+]] = linalg.generic {indexing_maps = [#[[ST3]], #[[ST3]], #[[ID3]], #[[ID3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[CO]]#3, %[[CO]]#4, %[[H]]#0, %[[H]]#1 : tensor<8x4xf32>, tensor<8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>)
// CHECK-SAME:        outs(%[[SKIP]] : tensor<2x8xf32>)
// CHECK-NOT:     complex.
// CHECK:         %[[Y1:.+]] = tensor.insert_slice %[[YT]] into %[[Y]][0, %[[T]], 0] [2, 1, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<2x16x8xf32>
// CHECK-NOT:     complex.
// CHECK:         scf.yield %[[H]]#0, %[[H]]#1, %[[Y1]]
// CHECK:       %[[HL:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:      ins(%[[LOOP]]#0, %[[LOOP]]#1 : tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%{{.+}} : tensor<2x8x4xcomplex<f32>>)
// CHECK:         complex.create
// CHECK:       return %[[LOOP]]#2, %[[HL]]
func.func @cema_fresh(%x: tensor<2x16x8xf32>, %alpha: tensor<8x4x1xf32>,
                      %delta: tensor<8x4x1xf32>, %theta: tensor<8x1x1xf32>,
                      %gamma: tensor<8x4x2xf32>, %omega: tensor<8x1xf32>)
    -> (tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%alpha, %delta, %theta, %gamma, %omega)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>,
         tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
      -> (tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
  return %y, %h : tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>
}

// -----

// With a carried state: its real and imaginary parts are read once, before
// the loop, and start the scan.

// CHECK-LABEL: func.func @cema_with_state(
// CHECK-SAME:    %[[HX:[a-zA-Z0-9_]+]]: tensor<1x4x2xcomplex<f32>>)
// CHECK:       %[[PARTS:.+]]:2 = linalg.generic
// CHECK-SAME:      ins(%[[HX]] : tensor<1x4x2xcomplex<f32>>) outs(%{{.+}}, %{{.+}} : tensor<1x4x2xf32>, tensor<1x4x2xf32>)
// CHECK:         complex.re
// CHECK:         complex.im
// CHECK:       scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[PARTS]]#0, %{{[^ ]+}} = %[[PARTS]]#1, %{{[^ ]+}} = %{{[^ ]+}})
// CHECK-SAME:      -> (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x3x4xf32>)
// CHECK:         iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         scf.yield
// CHECK:       complex.create
func.func @cema_with_state(%x: tensor<1x3x4xf32>, %alpha: tensor<4x2x1xf32>,
                           %delta: tensor<4x2x1xf32>, %theta: tensor<4x1x1xf32>,
                           %gamma: tensor<4x2x2xf32>, %omega: tensor<4x1xf32>,
                           %hx: tensor<1x4x2xcomplex<f32>>)
    -> (tensor<1x3x4xf32>, tensor<1x4x2xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%alpha, %delta, %theta, %gamma, %omega)
      state(%hx)
      : (tensor<1x3x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>,
         tensor<4x1x1xf32>, tensor<4x2x2xf32>, tensor<4x1xf32>,
         tensor<1x4x2xcomplex<f32>>)
      -> (tensor<1x3x4xf32>, tensor<1x4x2xcomplex<f32>>)
  return %y, %h : tensor<1x3x4xf32>, tensor<1x4x2xcomplex<f32>>
}
