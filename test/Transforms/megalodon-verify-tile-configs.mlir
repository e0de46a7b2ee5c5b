// RUN: megalodon-opt %s -split-input-file -verify-diagnostics --megalodon-verify-tile-configs="lanes=16 registers=32 l1-bytes=49152 l2-bytes=2097152 threads=2"

// Each tile config that does not fit its op or the target is a located
// error; configs that fit, and ops without one, pass.

func.func @fits(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 16 : i64, state_group = 8 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @lanes_do_not_divide(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: lanes (128) must be a power of two that divides the 64 channels}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 128 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @lanes_not_power_of_two(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: lanes (12) must be a power of two that divides the 64 channels}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 12 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @group_does_not_divide(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: state_group (3) must divide the 8 states}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 16 : i64, state_group = 3 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @block_too_long(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: block_time (33) exceeds the 32 time steps}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 33 : i64, lanes = 16 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @too_many_registers(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: lanes 64 x state_group 4 keeps 48 vectors live across steps, more than the target's 32 registers}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 64 : i64, state_group = 4 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @missing_size(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: missing integer 'state_group'}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 16 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @unknown_size(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: unknown size 'unroll'}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 32 : i64, lanes = 16 : i64, state_group = 1 : i64, unroll = 2 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @not_positive(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: 'block_time' must be at least 1, got 0}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 0 : i64, lanes = 16 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @checkpoint_too_long(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  // expected-error @+1 {{tile config: checkpoint_block (40) exceeds the 32 time steps}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%y)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 40 : i64, lanes = 16 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}

// The block (matrix) form: matrix_block alone, dividing the 32 steps.
// -----

func.func @matrix_block_fits(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 8 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @matrix_block_does_not_divide(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: matrix_block (12) must divide the 32 time steps and be at most 256}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 12 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @matrix_block_with_scan_sizes(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: unknown size 'lanes'}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 8 : i64, lanes = 16 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x32x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @matrix_block_over_256(%x: tensor<1x512x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: matrix_block (512) must divide the 512 time steps and be at most 256}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 512 : i64}, source = "user">}
      : (tensor<1x512x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x512x64xf32>, tensor<1x64x8xcomplex<f32>>)
  return
}

// -----

func.func @grad_matrix_block_too_long(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>, %gy: tensor<1x32x64xf32>) {
  // expected-error @+1 {{tile config: matrix_block (64) must divide the 32 time steps and be at most 256}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%gy)
      {megalodon.tile_config = #megalodon.tile_config<{matrix_block = 64 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}

// -----

func.func @attention_blocks_fit(%q: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>) {
  %o = megalodon.chunk_attention %q, %q, %v {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 20 : i64, key_block = 3 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) -> tensor<1x40x64xf32>
  return
}

// -----

func.func @attention_block_too_long(%q: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>) {
  // expected-error @+1 {{tile config: key_block (32) exceeds the 20 rows of a chunk}}
  %o = megalodon.chunk_attention %q, %q, %v {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 8 : i64, key_block = 32 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) -> tensor<1x40x64xf32>
  return
}

// -----

func.func @attention_grad_block_too_long(%q: tensor<1x12x32xf32>, %v: tensor<1x12x64xf32>) {
  // expected-error @+1 {{tile config: query_block (16) exceeds the 12 rows of a chunk}}
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %q, %v grad(%v) {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 16 : i64, key_block = 4 : i64}, source = "user">}
      : (tensor<1x12x32xf32>, tensor<1x12x32xf32>, tensor<1x12x64xf32>, tensor<1x12x64xf32>)
      -> (tensor<1x12x32xf32>, tensor<1x12x32xf32>, tensor<1x12x64xf32>)
  return
}

// -----

func.func @attention_missing_size(%q: tensor<1x40x32xf32>, %v: tensor<1x40x64xf32>) {
  // expected-error @+1 {{key_block}}
  %o = megalodon.chunk_attention %q, %q, %v {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 8 : i64}, source = "user">}
      : (tensor<1x40x32xf32>, tensor<1x40x32xf32>, tensor<1x40x64xf32>) -> tensor<1x40x64xf32>
  return
}

// -----

func.func @attention_decoding(%q: tensor<1x4x32xf32>, %v: tensor<1x4x64xf32>, %kc: tensor<1x20x32xf32>, %vc: tensor<1x20x64xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{tile config: the decoding form (a KV cache that is read) has no tiled lowering}}
  %o = megalodon.chunk_attention %q, %q, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 20 : i64,
      megalodon.tile_config = #megalodon.tile_config<{query_block = 4 : i64, key_block = 4 : i64}, source = "user">}
      : (tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x64xf32>, tensor<1x20x32xf32>, tensor<1x20x64xf32>, tensor<i64>) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @adjoint_too_many_registers(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: lanes 16 x state_group 4 keeps 34 vectors live across the adjoint's steps, more than the target's 32 registers}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%x)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 8 : i64, lanes = 16 : i64, state_group = 4 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}

// -----

func.func @adjoint_missing_lanes(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{missing integer 'lanes'}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%x)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 8 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}

// -----

func.func @adjoint_lanes_do_not_divide(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: lanes (128) must be a power of two that divides the 64 channels}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%x)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 8 : i64, lanes = 128 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}

// -----

func.func @adjoint_group_does_not_divide(%x: tensor<1x32x64xf32>, %a: tensor<64x8x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x8x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{tile config: state_group (3) must divide the 8 states}}
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%x)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 8 : i64, lanes = 16 : i64, state_group = 3 : i64}, source = "user">}
      : (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>, tensor<1x32x64xf32>)
      -> (tensor<1x32x64xf32>, tensor<64x8x1xf32>, tensor<64x8x1xf32>, tensor<64x1x1xf32>, tensor<64x8x2xf32>, tensor<64x1xf32>)
  return
}
