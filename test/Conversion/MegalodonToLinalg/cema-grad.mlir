// RUN: megalodon-opt %s -split-input-file --megalodon-convert-to-linalg | FileCheck %s

// Fresh state, L = 16: blocks of K = ceil(sqrt(16)) = 4 steps. The
// coefficients come from the forward's linalg.generic over (D, N). Step 1
// scans the first three blocks and stores the state before every block in a
// [4, 2, B, D, N] stack (real, imaginary). Step 2 walks the blocks last to
// first: it recomputes the block's states from its checkpoint into a
// [K + 1, 2, B, D, N] buffer, then runs the adjoint backward through the
// block with one reduction over N into the step's slice of gx (which starts
// as omega * gy) and one update over (B, D, N). Step 3 sums over the batch,
// applies the chain rule and writes the stored shapes. No complex ops.

// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[CH2:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ROW3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[ST3:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[LAST3:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @cema_grad_fresh(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x16x8xf32>, %[[ALPHA:[a-zA-Z0-9_]+]]: tensor<8x4x1xf32>, %[[DELTA:[a-zA-Z0-9_]+]]: tensor<8x4x1xf32>,
// CHECK-SAME:    %[[THETA:[a-zA-Z0-9_]+]]: tensor<8x1x1xf32>, %[[GAMMA:[a-zA-Z0-9_]+]]: tensor<8x4x2xf32>, %[[OMEGA:[a-zA-Z0-9_]+]]: tensor<8x1xf32>,
// CHECK-SAME:    %[[GY:[a-zA-Z0-9_]+]]: tensor<2x16x8xf32>)
// CHECK-NOT:   complex.
// CHECK:       %[[CO:.+]]:5 = linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[CH2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK:         math.cos
// CHECK:         math.sin
// CHECK:       %[[OM:.+]] = tensor.extract_slice %[[OMEGA]][0, 0] [8, 1] [1, 1] : tensor<8x1xf32> to tensor<8xf32>

// Step 1: the checkpoints.
// CHECK:       %[[CP0:.+]] = tensor.empty() : tensor<4x2x2x8x4xf32>
// CHECK:       %[[CPRE:.+]] = tensor.insert_slice %{{.+}} into %[[CP0]][0, 0, 0, 0, 0] [1, 1, 2, 8, 4] [1, 1, 1, 1, 1]
// CHECK:       %[[CPIM:.+]] = tensor.insert_slice %{{.+}} into %[[CPRE]][0, 1, 0, 0, 0] [1, 1, 2, 8, 4] [1, 1, 1, 1, 1]
// CHECK-DAG:   %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG:   %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:   %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:   %[[C3:.+]] = arith.constant 3 : index
// CHECK:       %[[CKPT:.+]]:3 = scf.for %[[J:[^ ]+]] = %[[C0]] to %[[C3]] step %[[C1]]
// CHECK-SAME:      iter_args({{.+}}, %[[STACK:[^ ]+]] = %[[CPIM]])
// CHECK-SAME:      -> (tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<4x2x2x8x4xf32>)
// CHECK:         %[[BS:.+]] = arith.muli %[[J]], %[[C4]] : index
// CHECK:         %[[BE:.+]] = arith.addi %[[BS]], %[[C4]] : index
// CHECK:         %[[H:.+]]:2 = scf.for %[[T:[^ ]+]] = %[[BS]] to %[[BE]] step %[[C1]]
// CHECK:           %[[U:.+]] = tensor.extract_slice %[[X]][0, %[[T]], 0] [2, 1, 8] [1, 1, 1] : tensor<2x16x8xf32> to tensor<2x8xf32>
// CHECK:           linalg.generic {indexing_maps = [#[[ROW3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:          ins(%[[U]], %[[CO]]#0, %[[CO]]#1, %[[CO]]#2 :
// CHECK:         %[[NEXT:.+]] = arith.addi %[[J]], %[[C1]] : index
// CHECK:         %[[S1:.+]] = tensor.insert_slice %[[H]]#0 into %[[STACK]][%[[NEXT]], 0, 0, 0, 0] [1, 1, 2, 8, 4]
// CHECK:         %[[S2:.+]] = tensor.insert_slice %[[H]]#1 into %[[S1]][%[[NEXT]], 1, 0, 0, 0] [1, 1, 2, 8, 4]
// CHECK:         scf.yield %[[H]]#0, %[[H]]#1, %[[S2]]

// The skip path's share of gx, for all steps at once.
// CHECK:       %[[GX0:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[LAST3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:      ins(%[[GY]], %[[OM]] : tensor<2x16x8xf32>, tensor<8xf32>)
// CHECK:       %[[BUF0:.+]] = tensor.empty() : tensor<5x2x2x8x4xf32>

// Step 2: the blocks, last to first.
// CHECK:       %[[BLOCKS:.+]]:9 = scf.for %[[R:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(
// CHECK-SAME:      %[[GXC:[^ ]+]] = %[[GX0]], %[[BUF:[^ ]+]] = %[[BUF0]])
// CHECK-SAME:      -> (tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x16x8xf32>, tensor<5x2x2x8x4xf32>)
// CHECK-NOT:     complex.
// CHECK:         %[[BJ:.+]] = arith.subi %{{.+}}, %[[R]] : index
// CHECK:         %[[START:.+]] = arith.muli %[[BJ]], %{{.+}} : index
// CHECK:         %[[LEN:.+]] = arith.minsi
// CHECK:         %[[END:.+]] = arith.addi %[[START]], %[[LEN]] : index
// CHECK:         %[[HRE:.+]] = tensor.extract_slice %[[CKPT]]#2[%[[BJ]], 0, 0, 0, 0] [1, 1, 2, 8, 4]
// CHECK:         %[[HIM:.+]] = tensor.extract_slice %[[CKPT]]#2[%[[BJ]], 1, 0, 0, 0] [1, 1, 2, 8, 4]
// CHECK:         %[[B1:.+]] = tensor.insert_slice %[[HRE]] into %[[BUF]][0, 0, 0, 0, 0]
// CHECK:         %[[B2:.+]] = tensor.insert_slice %[[HIM]] into %[[B1]][0, 1, 0, 0, 0]

// (a) Recompute the states; gamma's sums ride along.
// CHECK:         %[[RC:.+]]:5 = scf.for %[[T:[^ ]+]] = %[[START]] to %[[END]] step %{{.+}} iter_args(%{{[^ ]+}} = %[[HRE]], %{{[^ ]+}} = %[[HIM]], %{{[^ ]+}} = %{{[^ ]+}}, %{{[^ ]+}} = %{{[^ ]+}}, %[[RBUF:[^ ]+]] = %[[B2]])
// CHECK:           %[[SLOT:.+]] = arith.addi
// CHECK:           %[[U:.+]] = tensor.extract_slice %[[X]][0, %[[T]], 0] [2, 1, 8]
// CHECK:           %[[G:.+]] = tensor.extract_slice %[[GY]][0, %[[T]], 0] [2, 1, 8]
// CHECK:           %[[ST:.+]]:4 = linalg.generic {indexing_maps = [#[[ROW3]], #[[ROW3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:          ins(%[[U]], %[[G]], %[[CO]]#0, %[[CO]]#1, %[[CO]]#2 :
// CHECK:           %[[W1:.+]] = tensor.insert_slice %[[ST]]#0 into %[[RBUF]][%[[SLOT]], 0, 0, 0, 0]
// CHECK:           %[[W2:.+]] = tensor.insert_slice %[[ST]]#1 into %[[W1]][%[[SLOT]], 1, 0, 0, 0]
// CHECK:           scf.yield %[[ST]]#0, %[[ST]]#1, %[[ST]]#2, %[[ST]]#3, %[[W2]]

// (b) The adjoint, backward through the block.
// CHECK:         %[[ADJ:.+]]:6 = scf.for %[[AR:[^ ]+]] = %{{.+}} to %[[LEN]] step %{{.+}} iter_args(%[[MURE:[^ ]+]] = %{{[^ ]+}}, %{{.+}}, %[[GXA:[^ ]+]] = %[[GXC]])
// CHECK:           %[[I:.+]] = arith.subi %{{.+}}, %[[AR]] : index
// CHECK:           %[[TT:.+]] = arith.addi %[[START]], %[[I]] : index
// CHECK:           %[[U:.+]] = tensor.extract_slice %[[X]][0, %[[TT]], 0]
// CHECK:           %[[G:.+]] = tensor.extract_slice %[[GY]][0, %[[TT]], 0]
// CHECK:           %[[DEST:.+]] = tensor.extract_slice %[[GXA]][0, %[[TT]], 0] [2, 1, 8]
// CHECK:           %[[GXT:.+]] = linalg.generic {indexing_maps = [#[[ROW3]], #[[ST3]], #[[ST3]], #[[ID3]], #[[ROW3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:          ins(%[[G]], %[[CO]]#0, %[[CO]]#3, %[[MURE]] :
// CHECK-SAME:          outs(%[[DEST]] : tensor<2x8xf32>)
// CHECK:           %[[GX1:.+]] = tensor.insert_slice %[[GXT]] into %[[GXA]][0, %[[TT]], 0] [2, 1, 8]
// CHECK:           %[[PRE:.+]] = tensor.extract_slice %[[RC]]#4[%[[I]], 0, 0, 0, 0]
// CHECK:           %[[PIM:.+]] = tensor.extract_slice %[[RC]]#4[%[[I]], 1, 0, 0, 0]
// CHECK:           %[[UPD:.+]]:5 = linalg.generic {indexing_maps = [#[[ROW3]], #[[ROW3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:          ins(%[[U]], %[[G]], %[[CO]]#1, %[[CO]]#2, %[[CO]]#3, %[[CO]]#4, %[[PRE]], %[[PIM]] :
// CHECK:           scf.yield %[[UPD]]#0, %[[UPD]]#1, %[[UPD]]#2, %[[UPD]]#3, %[[UPD]]#4, %[[GX1]]
// CHECK:         scf.yield %[[ADJ]]#0, %[[ADJ]]#1, %[[ADJ]]#2, %[[ADJ]]#3, %[[ADJ]]#4, %[[RC]]#2, %[[RC]]#3, %[[ADJ]]#5, %[[RC]]#4

// Step 3: the batch sum keeps the batch loop a (sequential) reduction.
// CHECK:       %[[SUMS:.+]]:5 = linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ID3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ST3]], #[[ST3]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK-SAME:      ins(%[[BLOCKS]]#2, %[[BLOCKS]]#3, %[[BLOCKS]]#4, %[[BLOCKS]]#5, %[[BLOCKS]]#6 :
// CHECK:       %[[CHAIN:.+]]:5 = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      %[[SUMS]]#0, %[[SUMS]]#1, %[[SUMS]]#2, %[[SUMS]]#3, %[[SUMS]]#4 :
// CHECK:         math.cos
// CHECK:         math.sin
// CHECK:       %[[GT:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[CH2]]], iterator_types = ["parallel", "reduction"]} ins(%[[CHAIN]]#2 : tensor<8x4xf32>)
// CHECK:       %[[GO:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[LAST3]]], iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK-SAME:      ins(%[[GY]], %[[X]] :
// CHECK:       %[[GA:.+]] = tensor.insert_slice %[[CHAIN]]#0 into %{{.+}}[0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4xf32> into tensor<8x4x1xf32>
// CHECK:       %[[GD:.+]] = tensor.insert_slice %[[CHAIN]]#1 into %{{.+}}[0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4xf32> into tensor<8x4x1xf32>
// CHECK:       %[[GTS:.+]] = tensor.insert_slice %[[GT]] into %{{.+}}[0, 0, 0] [8, 1, 1] [1, 1, 1] : tensor<8xf32> into tensor<8x1x1xf32>
// CHECK:       %[[GG1:.+]] = tensor.insert_slice %[[CHAIN]]#3 into %{{.+}}[0, 0, 0] [8, 4, 1] [1, 1, 1] : tensor<8x4xf32> into tensor<8x4x2xf32>
// CHECK:       %[[GG:.+]] = tensor.insert_slice %[[CHAIN]]#4 into %[[GG1]][0, 0, 1] [8, 4, 1] [1, 1, 1] : tensor<8x4xf32> into tensor<8x4x2xf32>
// CHECK:       %[[GOS:.+]] = tensor.insert_slice %[[GO]] into %{{.+}}[0, 0] [8, 1] [1, 1] : tensor<8xf32> into tensor<8x1xf32>
// CHECK:       return %[[BLOCKS]]#7, %[[GA]], %[[GD]], %[[GTS]], %[[GG]], %[[GOS]]
func.func @cema_grad_fresh(%x: tensor<2x16x8xf32>, %alpha: tensor<8x4x1xf32>,
                           %delta: tensor<8x4x1xf32>, %theta: tensor<8x1x1xf32>,
                           %gamma: tensor<8x4x2xf32>, %omega: tensor<8x1xf32>,
                           %gy: tensor<2x16x8xf32>)
    -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>,
        tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>) {
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x
      params(%alpha, %delta, %theta, %gamma, %omega) grad(%gy)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>,
         tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>,
         tensor<2x16x8xf32>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>,
          tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
  return %gx, %ga, %gd, %gt, %gg, %go
      : tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>,
        tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>
}

// -----

// With a carried state and the cotangent of the last state, L = 5: blocks
// of K = 3 steps, the second one shorter. The parts of hx start the
// checkpoint scan, those of g_h_last start the adjoint, and g_hx is the
// adjoint carried out of step 0, assembled once after the scans.

// CHECK-LABEL: func.func @cema_grad_with_state(
// CHECK-SAME:    %[[HX:[a-zA-Z0-9_]+]]: tensor<1x4x2xcomplex<f32>>, %{{[a-zA-Z0-9_]+}}: tensor<1x5x4xf32>,
// CHECK-SAME:    %[[GH:[a-zA-Z0-9_]+]]: tensor<1x4x2xcomplex<f32>>)
// CHECK:       %[[HXP:.+]]:2 = linalg.generic {{.*}} ins(%[[HX]] : tensor<1x4x2xcomplex<f32>>)
// CHECK:         complex.re
// CHECK:         complex.im
// CHECK:       %[[CP:.+]] = tensor.insert_slice %[[HXP]]#0 into %{{.+}}[0, 0, 0, 0, 0] [1, 1, 1, 4, 2]
// CHECK:       tensor.insert_slice %[[HXP]]#1 into %[[CP]][0, 1, 0, 0, 0] [1, 1, 1, 4, 2]
// CHECK:       scf.for
// CHECK-SAME:      -> (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<2x2x1x4x2xf32>)
// CHECK:       %[[GHP:.+]]:2 = linalg.generic {{.*}} ins(%[[GH]] : tensor<1x4x2xcomplex<f32>>)
// CHECK:         complex.re
// CHECK:         complex.im
// CHECK:       %[[LOOP:.+]]:9 = scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[GHP]]#0, %{{[^ ]+}} = %[[GHP]]#1,
// CHECK-SAME:      tensor<4x2x1x4x2xf32>)
// CHECK-NOT:     complex.
// CHECK:         arith.minsi
// CHECK-NOT:     complex.
// CHECK:         scf.yield
// CHECK:       iterator_types = ["reduction", "parallel", "parallel"]
// CHECK:       %[[GHX:.+]] = linalg.generic {{.*}} ins(%[[LOOP]]#0, %[[LOOP]]#1 : tensor<1x4x2xf32>, tensor<1x4x2xf32>) outs(%{{.+}} : tensor<1x4x2xcomplex<f32>>)
// CHECK:         complex.create
// CHECK:       return {{.*}}, %[[GHX]] :
func.func @cema_grad_with_state(%x: tensor<1x5x4xf32>, %alpha: tensor<4x2x1xf32>,
                                %delta: tensor<4x2x1xf32>, %theta: tensor<4x1x1xf32>,
                                %gamma: tensor<4x2x2xf32>, %omega: tensor<4x1xf32>,
                                %hx: tensor<1x4x2xcomplex<f32>>, %gy: tensor<1x5x4xf32>,
                                %gh: tensor<1x4x2xcomplex<f32>>)
    -> (tensor<1x5x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>,
        tensor<4x1x1xf32>, tensor<4x2x2xf32>, tensor<4x1xf32>,
        tensor<1x4x2xcomplex<f32>>) {
  %gx, %ga, %gd, %gt, %gg, %go, %ghx = megalodon.cema_grad %x
      params(%alpha, %delta, %theta, %gamma, %omega) state(%hx) grad(%gy, %gh)
      : (tensor<1x5x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>,
         tensor<4x1x1xf32>, tensor<4x2x2xf32>, tensor<4x1xf32>,
         tensor<1x4x2xcomplex<f32>>, tensor<1x5x4xf32>,
         tensor<1x4x2xcomplex<f32>>)
      -> (tensor<1x5x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>,
          tensor<4x1x1xf32>, tensor<4x2x2xf32>, tensor<4x1xf32>,
          tensor<1x4x2xcomplex<f32>>)
  return %gx, %ga, %gd, %gt, %gg, %go, %ghx
      : tensor<1x5x4xf32>, tensor<4x2x1xf32>, tensor<4x2x1xf32>,
        tensor<4x1x1xf32>, tensor<4x2x2xf32>, tensor<4x1xf32>,
        tensor<1x4x2xcomplex<f32>>
}
