// RUN: megalodon-opt %s -split-input-file --transform-interpreter --canonicalize --cse | FileCheck %s

// The megalodon ops implement TilingInterface, so upstream's tiling
// transforms apply to them as they are. CEMA tiles over batch and channels
// (the scan over time stays whole): the per-channel parameters and the
// carried state are sliced with the channels, and each tile returns its
// rows of y and its part of the final state.

// CHECK-LABEL: func @cema
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x64xf32>, %[[A:[^:]*]]: tensor<64x4x1xf32>, {{.*}}, %[[HX:[^:]*]]: tensor<2x64x4xcomplex<f32>>)
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[D:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[YACC:.*]] = %{{.*}}, %[[HACC:.*]] = %{{.*}})
// CHECK-DAG: %[[XS:.*]] = tensor.extract_slice %[[X]][%[[B]], 0, %[[D]]] [1, 16, 16] [1, 1, 1]
// CHECK-DAG: %[[AS:.*]] = tensor.extract_slice %[[A]][%[[D]], 0, 0] [16, 4, 1] [1, 1, 1]
// CHECK-DAG: %[[HS:.*]] = tensor.extract_slice %[[HX]][%[[B]], %[[D]], 0] [1, 16, 4] [1, 1, 1]
// CHECK: %[[Y:.*]], %[[H:.*]] = megalodon.cema %[[XS]] params(%[[AS]], {{.*}}) state(%[[HS]]) : ({{.*}}) -> (tensor<1x16x16xf32>, tensor<1x16x4xcomplex<f32>>)
// CHECK-DAG: tensor.insert_slice %[[Y]] into %[[YACC]][%[[B]], 0, %[[D]]] [1, 16, 16]
// CHECK-DAG: tensor.insert_slice %[[H]] into %[[HACC]][%[[B]], %[[D]], 0] [1, 16, 4]
func.func @cema(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
                %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>,
                %hx: tensor<2x64x4xcomplex<f32>>) -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>) {
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>,
         tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return %y, %h : tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["megalodon.cema"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [1, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Attention tiles over batch, tokens (whole chunks) and heads: a head of q
// and k is dz = 16 columns, of v dv = 32, and the tiled op attends with
// one head.

// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x32x32xf32>, %[[K:[^:]*]]: tensor<1x32x32xf32>, %[[V:[^:]*]]: tensor<1x32x64xf32>)
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK-DAG: %[[QCOL:.*]] = arith.muli %[[H]], %[[C16]]
// CHECK-DAG: %[[VCOL:.*]] = arith.muli %[[H]], %[[C32]]
// CHECK-DAG: %[[QS:.*]] = tensor.extract_slice %[[Q]][0, %[[T]], %[[QCOL]]] [1, 16, 16] [1, 1, 1]
// CHECK-DAG: %[[VS:.*]] = tensor.extract_slice %[[V]][0, %[[T]], %[[VCOL]]] [1, 16, 32] [1, 1, 1]
// CHECK: %[[A:.*]] = megalodon.chunk_attention %[[QS]], %{{.*}}, %[[VS]] {chunk_size = 16 : i64, num_heads = 1 : i64} : (tensor<1x16x16xf32>, tensor<1x16x16xf32>, tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
// CHECK: tensor.insert_slice %[[A]] into %[[ACC]][0, %[[T]], %[[VCOL]]] [1, 16, 32]
func.func @attention(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>)
    -> tensor<1x32x64xf32> {
  %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>) -> tensor<1x32x64xf32>
  return %a : tensor<1x32x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["megalodon.chunk_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [0, 16, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Tile-and-fuse: CEMA tiled over channels with the timestep norm that
// produces its input fused into the loop, one norm group (16 channels) per
// tile. Each thread normalizes its group over the whole sequence and scans
// it while the group is in cache.

// CHECK-LABEL: func @norm_then_cema
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x32x64xf32>
// CHECK-NOT: megalodon.
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][0, 0, %{{.*}}] [1, 32, 16] [1, 1, 1]
// CHECK: %[[Y:.*]], %{{.*}}, %{{.*}}, %{{.*}} = megalodon.timestep_norm %[[XS]], {{.*}} {eps = 1.000000e-05 : f64, num_groups = 1 : i64} : (tensor<1x32x16xf32>
// CHECK: %[[C:.*]], %{{.*}} = megalodon.cema %[[Y]] params({{.*}}) : (tensor<1x32x16xf32>
// CHECK: tensor.parallel_insert_slice %[[C]]
// CHECK-NOT: megalodon.
// CHECK: return
func.func @norm_then_cema(%x: tensor<1x32x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>,
    %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>,
    %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) -> tensor<1x32x64xf32> {
  %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x32x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x32x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  %c, %h = megalodon.cema %y params(%a, %d, %t, %g, %o)
      : (tensor<1x32x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>,
         tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x4xcomplex<f32>>)
  return %c : tensor<1x32x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %cema = transform.structured.match ops{["megalodon.cema"]} in %root : (!transform.any_op) -> !transform.any_op
    %norm = transform.structured.match ops{["megalodon.timestep_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %cema tile_sizes [0, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %fused, %new_loop = transform.structured.fuse_into_containing_op %norm into %loop
        : (!transform.any_op, !transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
