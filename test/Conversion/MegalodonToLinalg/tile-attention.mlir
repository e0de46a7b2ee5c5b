// RUN: megalodon-opt %s --megalodon-tile-attention --canonicalize --cse | FileCheck %s

// chunk_attention and chunk_attention_grad with a tile config become blocked
// loops with an online softmax, per (head, chunk) in parallel. Chunks of 20
// rows in blocks of 8 queries and 6 keys: neither divides 20, so the last
// query block starts at min(q, 12) and the last key block at min(k, 14),
// and keys below the unclamped start k are masked (counted before). Key
// blocks run only up to the query block's last query (q0 + 8).

// CHECK-LABEL: func.func @forward
// CHECK: scf.forall (%{{.+}}, %{{.+}}) in (2, 2) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<1x40x64xf32>)
// CHECK:   scf.for %[[Q:.+]] = %c0 to %c20 step %c8 iter_args(%{{.+}} = %{{.+}}) -> (tensor<20x32xf32>)
// CHECK:     %[[Q0:.+]] = arith.minui %[[Q]], %c12
// CHECK:     %[[QBLOCK:.+]] = tensor.extract_slice %{{.+}}[%[[Q0]], 0] [8, 16]
// CHECK:     %[[KEND:.+]] = arith.addi %[[Q0]], %c8
// The running row maximum starts at -inf, the row sum and accumulator at 0.
// CHECK:     %[[MAX0:.+]] = linalg.fill ins(%cst{{.*}} : f32) outs(%{{.+}} : tensor<8xf32>)
// CHECK:     scf.for %[[K:.+]] = %c0 to %[[KEND]] step %c6 iter_args(%[[MAX:.+]] = %{{.+}}, %[[SUM:.+]] = %{{.+}}, %[[ACC:.+]] = %{{.+}}) -> (tensor<8xf32>, tensor<8xf32>, tensor<8x32xf32>)
// CHECK:       %[[K0:.+]] = arith.minui %[[K]], %c14
// CHECK:       %[[KBLOCK:.+]] = tensor.extract_slice %{{.+}}[%[[K0]], 0] [6, 16]
// CHECK:       %[[S:.+]] = linalg.matmul {{.*}} ins(%[[QBLOCK]], %[[KBLOCK]] : tensor<8x16xf32>, tensor<6x16xf32>) outs(%{{.+}} : tensor<8x6xf32>)
// The block's masked row maximum: causal (key <= query) and not counted
// before (key >= k).
// CHECK:       %[[BMAX:.+]] = linalg.generic {{.+}} ins(%[[S]] : tensor<8x6xf32>)
// CHECK:         arith.cmpi ule
// CHECK:         arith.cmpi uge, %{{.+}}, %[[K]]
// CHECK:         arith.maximumf
// The new maximum m' = max(m, block max), written over m, and the
// rescaling exp(m - m'), 0 while m = -inf, from one generic.
// CHECK:       %[[NEW:.+]]:2 = linalg.generic {{.+}} ins(%[[BMAX]] : tensor<8xf32>) outs(%[[MAX]], %{{.+}} : tensor<8xf32>, tensor<8xf32>)
// CHECK:         arith.maximumf
// CHECK:         arith.cmpf oeq
// CHECK:         math.exp
// The weights, the sum and the accumulator, each updated in place.
// CHECK:       %[[P:.+]] = linalg.generic {{.+}} ins(%[[S]], %[[NEW]]#0 : tensor<8x6xf32>, tensor<8xf32>)
// CHECK:         math.exp
// CHECK:         arith.select
// CHECK:       %[[SCALEDSUM:.+]] = linalg.generic {{.+}} ins(%[[NEW]]#1 : tensor<8xf32>) outs(%[[SUM]] : tensor<8xf32>)
// CHECK:       %[[NEWSUM:.+]] = linalg.generic {{.+}} ins(%[[P]] : tensor<8x6xf32>) outs(%[[SCALEDSUM]] : tensor<8xf32>)
// CHECK:       %[[SCALEDACC:.+]] = linalg.generic {{.+}} ins(%[[NEW]]#1 : tensor<8xf32>) outs(%[[ACC]] : tensor<8x32xf32>)
// CHECK:       %[[NEWACC:.+]] = linalg.matmul ins(%[[P]], %{{.+}} : tensor<8x6xf32>, tensor<6x32xf32>) outs(%[[SCALEDACC]] : tensor<8x32xf32>)
// CHECK:       scf.yield %[[NEW]]#0, %[[NEWSUM]], %[[NEWACC]]
// CHECK:     arith.divf
// CHECK:     tensor.insert_slice %{{.+}} into %{{.+}}[%[[Q0]], 0] [8, 32]
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into %{{.+}} [1, 20, 32]
func.func @forward(%q: tensor<1x40x32xf32>, %k: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>) -> tensor<1x40x64xf32> {
  %o = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 8 : i64, key_block = 6 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) -> tensor<1x40x64xf32>
  return %o : tensor<1x40x64xf32>
}

// The gradient: per query block, the forward's statistics (the same key
// loop), D = rowsum(gO * O), then a second key loop that accumulates the
// query block's gq and the key blocks' gk and gv. Queries below the
// unclamped start q were done by the block before and are masked as well.

// CHECK-LABEL: func.func @gradient
// CHECK: scf.forall (%{{.+}}, %{{.+}}) in (2, 2) shared_outs({{.+}}) -> (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>)
// CHECK:   scf.for %[[Q:.+]] = %c0 to %c20 step %c8 iter_args(%[[GQ:.+]] = %{{.+}}, %[[GK:.+]] = %{{.+}}, %[[GV:.+]] = %{{.+}}) -> (tensor<20x16xf32>, tensor<20x16xf32>, tensor<20x32xf32>)
// CHECK:     %[[Q0:.+]] = arith.minui %[[Q]], %c12
// CHECK:     %[[STATS:.+]]:3 = scf.for
// CHECK:     %[[OUT:.+]] = linalg.generic {{.+}} ins(%[[STATS]]#2, %[[STATS]]#1
// CHECK:       arith.divf
// CHECK:     %[[D:.+]] = linalg.generic {{.+}} ins(%{{.+}}, %[[OUT]] : tensor<8x32xf32>, tensor<8x32xf32>) outs(%{{.+}} : tensor<8xf32>)
// CHECK:     %[[GQBLOCK:.+]] = tensor.extract_slice %[[GQ]][%[[Q0]], 0] [8, 16]
// CHECK:     %[[GRADS:.+]]:3 = scf.for %[[K:.+]] = %c0 to %{{.+}} step %c6 iter_args(%[[AQ:.+]] = %[[GQBLOCK]], %[[AK:.+]] = %[[GK]], %[[AV:.+]] = %[[GV]]) -> (tensor<8x16xf32>, tensor<20x16xf32>, tensor<20x32xf32>)
// CHECK:       %[[K0:.+]] = arith.minui %[[K]], %c14
// CHECK:       %[[S:.+]] = linalg.matmul
// CHECK:       %[[P:.+]] = linalg.generic {{.+}} ins(%[[S]], %[[STATS]]#0, %[[STATS]]#1 : tensor<8x6xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK:         arith.divf
// CHECK:         arith.cmpi uge, %{{.+}}, %[[K]]
// CHECK:         arith.cmpi uge, %{{.+}}, %[[Q]]
// CHECK:       %[[GP:.+]] = linalg.matmul
// CHECK:       %[[GS:.+]] = linalg.generic {{.+}} ins(%[[P]], %[[GP]], %[[D]] : tensor<8x6xf32>, tensor<8x6xf32>, tensor<8xf32>)
// CHECK:       %[[NEWGQ:.+]] = linalg.matmul ins(%[[GS]], %{{.+}} : tensor<8x6xf32>, tensor<6x16xf32>) outs(%[[AQ]] : tensor<8x16xf32>)
// CHECK:       linalg.transpose ins(%[[GS]] : tensor<8x6xf32>)
// CHECK:       %[[GKBLOCK:.+]] = tensor.extract_slice %[[AK]][%[[K0]], 0] [6, 16]
// CHECK:       %[[NEWGK:.+]] = linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<6x8xf32>, tensor<8x16xf32>) outs(%[[GKBLOCK]] : tensor<6x16xf32>)
// CHECK:       linalg.transpose ins(%[[P]] : tensor<8x6xf32>)
// CHECK:       %[[GVBLOCK:.+]] = tensor.extract_slice %[[AV]][%[[K0]], 0] [6, 32]
// CHECK:       %[[NEWGV:.+]] = linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<6x8xf32>, tensor<8x32xf32>) outs(%[[GVBLOCK]] : tensor<6x32xf32>)
// CHECK:       %[[INK:.+]] = tensor.insert_slice %[[NEWGK]] into %[[AK]][%[[K0]], 0] [6, 16]
// CHECK:       %[[INV:.+]] = tensor.insert_slice %[[NEWGV]] into %[[AV]][%[[K0]], 0] [6, 32]
// CHECK:       scf.yield %[[NEWGQ]], %[[INK]], %[[INV]]
// CHECK:     %[[INQ:.+]] = tensor.insert_slice %[[GRADS]]#0 into %[[GQ]][%[[Q0]], 0] [8, 16]
// CHECK:     scf.yield %[[INQ]], %[[GRADS]]#1, %[[GRADS]]#2
// CHECK:   scf.forall.in_parallel
func.func @gradient(%q: tensor<1x40x32xf32>, %k: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>, %g: tensor<1x40x64xf32>) -> (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) {
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%g) {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 8 : i64, key_block = 6 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>, tensor<1x40x64xf32>) -> (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>)
  return %gq, %gk, %gv : tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>
}

// Without a config the op is left to megalodon-convert-to-linalg.

// CHECK-LABEL: func.func @untiled
// CHECK: megalodon.chunk_attention
func.func @untiled(%q: tensor<1x40x32xf32>, %k: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>) -> tensor<1x40x64xf32> {
  %o = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 20 : i64}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) -> tensor<1x40x64xf32>
  return %o : tensor<1x40x64xf32>
}

// Given the forward's output, the gradient's first key loop computes the row
// maximum and sum alone (no accumulator, no product with the values), and D
// comes from the output's rows.

// CHECK-LABEL: func.func @gradient_with_out
// CHECK: scf.forall
// CHECK:   scf.for %{{.+}} = %c0 to %c20 step %c8 iter_args({{.+}}) -> (tensor<20x16xf32>, tensor<20x16xf32>, tensor<20x32xf32>)
// CHECK:     %[[Q0:.+]] = arith.minui
// CHECK:     %[[STATS:.+]]:2 = scf.for {{.+}} -> (tensor<8xf32>, tensor<8xf32>)
// CHECK-NOT:   linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<8x6xf32>, tensor<6x32xf32>)
// CHECK:       scf.yield
// CHECK:     %[[OUT:.+]] = tensor.extract_slice %{{.+}}[%[[Q0]], 0] [8, 32]
// CHECK:     linalg.generic {{.+}} ins(%{{.+}}, %[[OUT]] : tensor<8x32xf32>, tensor<8x32xf32>) outs(%{{.+}} : tensor<8xf32>)
func.func @gradient_with_out(%q: tensor<1x40x32xf32>, %k: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>, %g: tensor<1x40x64xf32>, %o: tensor<1x40x64xf32>) -> (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) {
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%g) out(%o) {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 8 : i64, key_block = 6 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>, tensor<1x40x64xf32>, tensor<1x40x64xf32>) -> (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>)
  return %gq, %gk, %gv : tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>
}
