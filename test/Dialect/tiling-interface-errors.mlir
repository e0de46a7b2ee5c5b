// RUN: not megalodon-opt %s --transform-interpreter 2>&1 | FileCheck %s

// A tile that would cut a chunk of attention in half is refused by the
// op's tiling model, and the tiling transform fails on it.

// CHECK: error: 'megalodon.chunk_attention' op tiles need static sizes that the op accepts
func.func @half_chunk(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>)
    -> tensor<1x32x64xf32> {
  %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>) -> tensor<1x32x64xf32>
  return %a : tensor<1x32x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["megalodon.chunk_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops = transform.structured.tile_using_for %op tile_sizes [0, 8]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
