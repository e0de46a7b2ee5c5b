// RUN: megalodon-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the megalodon gradient ops, one failing op per case.

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

func.func @embedding_grad_table_rank(%t: tensor<256xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{table must have rank 2 ([vocab, model_dim])}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256xf32>
  return
}

// -----

func.func @embedding_grad_table_f64(%t: tensor<256x64xf64>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{table must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf64>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf64>
  return
}

// -----

func.func @embedding_grad_table_f16(%t: tensor<256x64xf16>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{table has element type f16, which is not supported}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf16>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf16>
  return
}

// -----

func.func @embedding_grad_tokens_float(%t: tensor<256x64xf32>, %tok: tensor<2x16xf32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{tokens must have element type i32 or i64, got 'f32'}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xf32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_gy_shape(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x32xf32>) {
  // expected-error @+1 {{gy has shape [2, 16, 32] but the rule 'gy is the tokens' shape plus model_dim' needs [2, 16, 64]}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x32xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_gy_rank(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<32x64xf32>) {
  // expected-error @+1 {{rule 'gy is the tokens' shape plus model_dim' needs [2, 16, 64]}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<32x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_gy_type(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xbf16>) {
  // expected-error @+1 {{gy has element type 'bf16' but the rule 'gy has the table's element type' needs 'f32'}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xbf16> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_scale_zero(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{attribute 'scale' must be positive, got 0}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy) {scale = 0.0 : f64}
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_result_shape(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{result 'g_table' has type 'tensor<128x64xf32>' but the rule 'result 'g_table' has the type of table' needs 'tensor<256x64xf32>'}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<128x64xf32>
  return
}

// -----

func.func @embedding_grad_result_type(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'g_table' has the type of table'}}
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xbf16>
  return
}

// -----

func.func @cross_entropy_grad_logits_rank(%l: tensor<f32>, %t: tensor<i32>, %g: tensor<f32>) {
  // expected-error @+1 {{logits must have rank >= 1}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<f32>, tensor<i32>, tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_grad_logits_f64(%l: tensor<2x16x256xf64>, %t: tensor<2x16xi32>, %g: tensor<f32>) {
  // expected-error @+1 {{logits must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf64>, tensor<2x16xi32>, tensor<f32> -> tensor<2x16x256xf64>
  return
}

// -----

func.func @cross_entropy_grad_targets_float(%l: tensor<2x16x256xf32>, %t: tensor<2x16xf32>, %g: tensor<f32>) {
  // expected-error @+1 {{targets must have element type i32 or i64, got 'f32'}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xf32>, tensor<f32> -> tensor<2x16x256xf32>
  return
}

// -----

func.func @cross_entropy_grad_targets_shape(%l: tensor<2x16x256xf32>, %t: tensor<2x8xi32>, %g: tensor<f32>) {
  // expected-error @+1 {{targets has shape [2, 8] but the rule 'one target per row of logits' needs [2, 16]}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x8xi32>, tensor<f32> -> tensor<2x16x256xf32>
  return
}

// -----

func.func @cross_entropy_grad_g_loss_rank(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>, %g: tensor<1xf32>) {
  // expected-error @+1 {{g_loss has shape [1] but the rule 'the loss cotangent is a scalar' needs []}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi32>, tensor<1xf32> -> tensor<2x16x256xf32>
  return
}

// -----

func.func @cross_entropy_grad_g_loss_type(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>, %g: tensor<bf16>) {
  // expected-error @+1 {{g_loss has element type 'bf16' but the rule 'the loss cotangent is f32 like the loss' needs 'f32'}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi32>, tensor<bf16> -> tensor<2x16x256xf32>
  return
}

// -----

func.func @cross_entropy_grad_result_type(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>, %g: tensor<f32>) {
  // expected-error @+1 {{rule 'result 'g_logits' has the type of logits' needs 'tensor<2x16x256xf32>'}}
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi32>, tensor<f32> -> tensor<2x16x256xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

func.func @timestep_norm_grad_x_rank(%x: tensor<16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{x must have rank 3 ([batch, time, features])}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<16x64xf32>, tensor<64xf32>, tensor<16x64xf32>) -> (tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_x_f16(%x: tensor<1x16x64xf16>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf16>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf16>, tensor<64xf32>, tensor<1x16x64xf16>) -> (tensor<1x16x64xf16>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_groups_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{attribute 'num_groups' must be positive, got 0}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 0 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_eps_negative(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = -1.0 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_groups_divide(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'num_groups divides the feature width' violated: 64 is not divisible by 5}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 5 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<32xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{weight has shape [32] but the rule 'one scale per feature' needs [64]}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<32xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<32xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_weight_int(%x: tensor<1x16x64xf32>, %w: tensor<64xi32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xi32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xi32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_gy_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x8x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{gy has type 'tensor<1x8x64xf32>' but the rule 'gy has the type of y, that of x' needs 'tensor<1x16x64xf32>'}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x8x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_gx_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<1x16x64xf32>'}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xbf16>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'result 'g_weight' has the type of weight' needs 'tensor<64xf32>'}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xbf16>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{result 'g_bias' has shape [32] but the rule 'one shift per feature' needs [64]}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<32xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_bias_int(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{result 'g_bias' must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xi32>)
  return
}

// -----

func.func @timestep_norm_grad_count_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<2xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{count has shape [2] but the rule 'one step count per batch row' needs [1]}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<2xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_count_i32(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi32>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{count has element type 'i32' but the rule 'step counts are i64' needs 'i64'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_mean_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x2xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{mean has shape [1, 2] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_mean_bf16(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xbf16>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{mean has element type 'bf16' but the rule 'statistics are f32' needs 'f32'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xbf16>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_var_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{var has shape [4] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_var_bf16(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xbf16>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{var has element type 'bf16' but the rule 'statistics are f32' needs 'f32'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xbf16>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_mean_out_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x8xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{g_mean_out has shape [1, 8] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x8xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_var_out_bf16(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xbf16>) {
  // expected-error @+1 {{g_var_out has element type 'bf16' but the rule 'statistics are f32' needs 'f32'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xbf16>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_mean_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'result 'g_mean' has the type of mean' needs 'tensor<1x4xf32>'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x2xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_grad_g_var_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'result 'g_var' has the type of var' needs 'tensor<1x4xf32>'}}
  %r:5 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xbf16>)
  return
}

// -----

func.func @rms_norm_grad_x_rank(%x: tensor<f32>, %w: tensor<64xf32>, %gy: tensor<f32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<f32>, tensor<64xf32>, tensor<f32>) -> (tensor<f32>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_x_f64(%x: tensor<1x16x64xf64>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf64>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf64>, tensor<64xf32>, tensor<1x16x64xf64>) -> (tensor<1x16x64xf64>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_groups_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'num_groups' must be positive, got 0}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 0 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_eps_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 0.0 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_groups_divide(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'num_groups divides the last axis' violated: 64 is not divisible by 3}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 3 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<32xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{weight has shape [32] but the rule 'one scale per feature' needs [64]}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<32xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<32xf32>)
  return
}

// -----

func.func @rms_norm_grad_weight_int(%x: tensor<1x16x64xf32>, %w: tensor<64xi64>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'i64'}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xi64>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xi64>)
  return
}

// -----

func.func @rms_norm_grad_gy_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'gy has the type of the result, that of x' needs 'tensor<1x16x64xf32>'}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_gx_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<1x16x64xf32>'}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xbf16>, tensor<64xf32>)
  return
}

// -----

func.func @rms_norm_grad_g_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'g_weight' has the type of weight' needs 'tensor<64xf32>'}}
  %r:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xbf16>)
  return
}

// -----

func.func @rms_norm_grad_g_weight_missing(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_weight is returned exactly when a weight is given' violated}}
  %r = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_grad_g_weight_extra(%x: tensor<1x16x64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_weight is returned exactly when a weight is given' violated}}
  %r:2 = megalodon.rms_norm_grad %x grad(%gy) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_x_rank(%x: tensor<f32>, %w: tensor<64xf32>, %gy: tensor<f32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<f32>, tensor<64xf32>, tensor<f32>) -> (tensor<f32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_x_int(%x: tensor<1x16x64xi32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xi32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xi32>, tensor<64xf32>, tensor<1x16x64xi32>) -> (tensor<1x16x64xi32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_eps_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 0.0 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<32xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{weight has shape [32] but the rule 'one scale per feature' needs [64]}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<32xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<32xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_weight_f16(%x: tensor<1x16x64xf32>, %w: tensor<64xf16>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{weight has element type f16, which is not supported}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf16>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf16>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_gy_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xbf16>) {
  // expected-error @+1 {{rule 'gy has the type of the result, that of x' needs 'tensor<1x16x64xf32>'}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_gx_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<1x16x64xf32>'}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_g_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'g_weight' has the type of weight' needs 'tensor<64xf32>'}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<32xf32>, tensor<64xf32>)
  return
}

// -----

func.func @layer_norm_grad_g_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{result 'g_bias' has shape [32] but the rule 'one shift per feature' needs [64]}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<32xf32>)
  return
}

// -----

func.func @layer_norm_grad_g_bias_int(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{result 'g_bias' must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xi32>)
  return
}

// -----

func.func @layer_norm_grad_affine_missing(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_weight and g_bias are returned exactly when the norm is affine' violated}}
  %r = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>)
  return
}

// -----

func.func @layer_norm_grad_affine_extra(%x: tensor<1x16x64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_weight and g_bias are returned exactly when the norm is affine' violated}}
  %r:3 = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

func.func @cema_grad_x_rank(%x: tensor<16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{x must have rank 3 ([batch, time, channels])}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_x_f64(%x: tensor<2x16x8xf64>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf64>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf64>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf64>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf64>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_alpha_rank(%x: tensor<2x16x8xf32>, %a: tensor<8x4xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{alpha must have rank 3 ([channels, states, 1])}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_alpha_shape(%x: tensor<2x16x8xf32>, %a: tensor<4x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{alpha has shape [4, 4, 1] but the rule 'alpha is [D, N, 1]' needs [8, 4, 1]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<4x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<4x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_delta_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x2x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{delta has shape [8, 2, 1] but the rule 'delta is [D, N, 1]' needs [8, 4, 1]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x2x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x2x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_theta_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x4x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{theta has shape [8, 4, 1] but the rule 'theta is [D, 1, 1]' needs [8, 1, 1]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_gamma_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x1xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{gamma has shape [8, 4, 1] but the rule 'gamma is [D, N, 2] (real, imaginary)' needs [8, 4, 2]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x1xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x1xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_omega_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{omega has shape [8] but the rule 'omega is [D, 1]' needs [8, 1]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_gamma_int(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xi32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{gamma must have element type f32 or bf16, got 'i32'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xi32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xi32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_hx_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x2xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{hx has shape [2, 8, 2] but the rule 'the state is [B, D, N]' needs [2, 8, 4]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x2xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x2xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_hx_f64(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f64>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{hx has element type 'complex<f64>' but the rule 'the state is complex<f32>' needs 'complex<f32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f64>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f64>>)
  return
}

// -----

func.func @cema_grad_gy_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x8x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'gy has the type of y, that of x' needs 'tensor<2x16x8xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x8x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_h_last_shape(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<1x8x4xcomplex<f32>>) {
  // expected-error @+1 {{g_h_last has shape [1, 8, 4] but the rule 'the state is [B, D, N]' needs [2, 8, 4]}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<1x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_h_last_real(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xf32>) {
  // expected-error @+1 {{g_h_last has element type 'f32' but the rule 'the state is complex<f32>' needs 'complex<f32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xf32>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_gx_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<2x16x8xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xbf16>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_alpha_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_alpha' has the type of alpha' needs 'tensor<8x4x1xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_delta_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_delta' has the type of delta' needs 'tensor<8x4x1xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xbf16>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_theta_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_theta' has the type of theta' needs 'tensor<8x1x1xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_gamma_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_gamma' has the type of gamma' needs 'tensor<8x4x2xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4xcomplex<f32>>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_omega_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_omega' has the type of omega' needs 'tensor<8x1xf32>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_grad_g_hx_type(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'result 'g_hx' has the type of hx' needs 'tensor<2x8x4xcomplex<f32>>'}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>, tensor<2x8x4xcomplex<f32>>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xf32>)
  return
}

// -----

func.func @cema_grad_g_hx_missing(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'g_hx is returned exactly when hx is given' violated}}
  %r:6 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>, tensor<2x16x8xf32>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @cema_grad_g_hx_extra(%x: tensor<2x16x8xf32>, %a: tensor<8x4x1xf32>, %d: tensor<8x4x1xf32>, %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>, %o: tensor<8x1xf32>, %hx: tensor<2x8x4xcomplex<f32>>, %gy: tensor<2x16x8xf32>, %gh: tensor<2x8x4xcomplex<f32>>) {
  // expected-error @+1 {{rule 'g_hx is returned exactly when hx is given' violated}}
  %r:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) grad(%gy)
      : (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x16x8xf32>)
      -> (tensor<2x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<2x8x4xcomplex<f32>>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

func.func @linear_grad_x_rank(%x: tensor<f32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<f32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<f32>, tensor<128x64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_x_f16(%x: tensor<1x16x64xf16>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf16>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf16>, tensor<128x64xf32>, tensor<1x16x128xf16>) -> (tensor<1x16x64xf16>, tensor<128x64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_weight_rank(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([out_features, in_features])}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_weight_f64(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf64>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'f64'}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf64>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<128x64xf64>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<128x32xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{weight has shape [128, 32] but the rule 'weight is [out_features, in_features of x]' needs [128, 64]}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x32xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<128x32xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_gy_shape(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{gy has shape [1, 16, 64] but the rule 'gy is x's shape with out_features last' needs [1, 16, 128]}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_gy_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xbf16>) {
  // expected-error @+1 {{gy has element type 'bf16' but the rule 'gy has x's element type' needs 'f32'}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xbf16>) -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_gx_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<1x16x64xf32>'}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_g_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{rule 'result 'g_weight' has the type of weight' needs 'tensor<128x64xf32>'}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<64x128xf32>, tensor<128xf32>)
  return
}

// -----

func.func @linear_grad_g_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{result 'g_bias' has shape [64] but the rule 'one bias per output feature' needs [128]}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @linear_grad_g_bias_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>) {
  // expected-error @+1 {{result 'g_bias' has element type 'bf16' but the rule 'g_bias has the weight's element type' needs 'f32'}}
  %r:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xbf16>)
  return
}

// -----

func.func @silu_grad_f64(%x: tensor<4x8xf64>, %gy: tensor<4x8xf64>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.silu_grad %x grad(%gy) : tensor<4x8xf64>
  return
}

// -----

func.func @silu_grad_mismatch(%x: tensor<4x8xf32>, %gy: tensor<4x4xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "megalodon.silu_grad"(%x, %gy) : (tensor<4x8xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @swiglu_grad_int(%g: tensor<4x8xi32>, %u: tensor<4x8xi32>, %gy: tensor<4x8xi32>) {
  // expected-error @+1 {{gate must have element type f32 or bf16, got 'i32'}}
  %0:2 = megalodon.swiglu_grad %g, %u grad(%gy) : tensor<4x8xi32>
  return
}

// -----

func.func @swiglu_grad_mismatch(%g: tensor<4x8xf32>, %u: tensor<4x8xf32>, %gy: tensor<4x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0:2 = "megalodon.swiglu_grad"(%g, %u, %gy) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xbf16>)
  return
}

// -----

func.func @scale_channels_grad_x_rank(%x: tensor<f32>, %s: tensor<64xf32>, %gy: tensor<f32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<f32>, tensor<64xf32>, tensor<f32>) -> (tensor<f32>, tensor<64xf32>)
  return
}

// -----

func.func @scale_channels_grad_x_f64(%x: tensor<1x16x64xf64>, %s: tensor<64xf32>, %gy: tensor<1x16x64xf64>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf64>, tensor<64xf32>, tensor<1x16x64xf64>) -> (tensor<1x16x64xf64>, tensor<64xf32>)
  return
}

// -----

func.func @scale_channels_grad_scale_int(%x: tensor<1x16x64xf32>, %s: tensor<64xi32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{scale must have element type f32 or bf16, got 'i32'}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf32>, tensor<64xi32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xi32>)
  return
}

// -----

func.func @scale_channels_grad_scale_shape(%x: tensor<1x16x64xf32>, %s: tensor<32xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{scale has shape [32] but the rule 'one scale per feature' needs [64]}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf32>, tensor<32xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<32xf32>)
  return
}

// -----

func.func @scale_channels_grad_gy_type(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>, %gy: tensor<1x16x64xbf16>) {
  // expected-error @+1 {{rule 'gy has the type of the result, that of x' needs 'tensor<1x16x64xf32>'}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @scale_channels_grad_gx_type(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x' needs 'tensor<1x16x64xf32>'}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x32xf32>, tensor<64xf32>)
  return
}

// -----

func.func @scale_channels_grad_g_scale_type(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result 'g_scale' has the type of scale' needs 'tensor<64xf32>'}}
  %r:2 = megalodon.scale_channels_grad %x, %s grad(%gy)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<1x64xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

func.func @shared_qk_grad_z_rank(%z: tensor<16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<16x32xf32>, %gk: tensor<16x32xf32>) {
  // expected-error @+1 {{z must have rank 3 ([batch, time, z_dim])}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<16x32xf32>, tensor<2x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> (tensor<16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_z_f64(%z: tensor<1x16x32xf64>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf64>, %gk: tensor<1x16x32xf64>) {
  // expected-error @+1 {{z must have element type f32 or bf16, got 'f64'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf64>, tensor<2x32xf32>, tensor<1x16x32xf64>, tensor<1x16x32xf64>) -> (tensor<1x16x32xf64>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_heads_zero(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 0 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_heads_divide(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the query/key width' violated: 32 is not divisible by 3}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 3 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_heads_odd(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'per-head query/key width is even (rotary pairs)' violated: 1 is not divisible by 2}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 32 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_gamma_shape(%z: tensor<1x16x32xf32>, %g: tensor<1x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{gamma has shape [1, 32] but the rule 'gamma is [2, z_dim]' needs [2, 32]}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<1x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<1x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_gamma_int(%z: tensor<1x16x32xf32>, %g: tensor<2x32xi32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{gamma must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xi32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xi32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_gq_type(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xbf16>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'gq has the type of q, that of z' needs 'tensor<1x16x32xf32>'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xbf16>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_gk_type(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x8x32xf32>) {
  // expected-error @+1 {{rule 'gk has the type of k, that of z' needs 'tensor<1x16x32xf32>'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x8x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_gz_type(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'result 'gz' has the type of z' needs 'tensor<1x16x32xf32>'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x16xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_g_gamma_type(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'result 'g_gamma' has the type of gamma' needs 'tensor<2x32xf32>'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @shared_qk_grad_g_beta_shape(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{result 'g_beta' has shape [32] but the rule 'beta is [2, z_dim]' needs [2, 32]}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<32xf32>)
  return
}

// -----

func.func @shared_qk_grad_g_beta_int(%z: tensor<1x16x32xf32>, %g: tensor<2x32xf32>, %gq: tensor<1x16x32xf32>, %gk: tensor<1x16x32xf32>) {
  // expected-error @+1 {{result 'g_beta' must have element type f32 or bf16, got 'i32'}}
  %r:3 = megalodon.shared_qk_grad %z, %g grad(%gq, %gk) {num_heads = 2 : i64}
      : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xi32>)
  return
}

// -----

func.func @rotary_grad_gy_rank(%gy: tensor<16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{gy must have rank 3 ([batch, time, heads * head_dim])}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<16x32xf32>, tensor<i64>) -> tensor<16x32xf32>
  return
}

// -----

func.func @rotary_grad_gy_f16(%gy: tensor<1x16x32xf16>, %off: tensor<i64>) {
  // expected-error @+1 {{gy has element type f16, which is not supported}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf16>, tensor<i64>) -> tensor<1x16x32xf16>
  return
}

// -----

func.func @rotary_grad_heads_zero(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 0 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_heads_divide(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{rule 'num_heads divides the rotated width' violated: 32 is not divisible by 5}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 5 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_heads_odd(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{rule 'per-head query/key width is even (rotary pairs)' violated}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 32 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_base_zero(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{attribute 'base' must be positive}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 0.0 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_chunk_zero(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got 0}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 0 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_offset_i32(%gy: tensor<1x16x32xf32>, %off: tensor<i32>) {
  // expected-error @+1 {{offset must be a 0-d tensor of i64, got 'tensor<i32>'}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i32>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_offset_rank(%gy: tensor<1x16x32xf32>, %off: tensor<1xi64>) {
  // expected-error @+1 {{offset must be a 0-d tensor of i64, got 'tensor<1xi64>'}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1xi64>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @rotary_grad_gx_type(%gy: tensor<1x16x32xf32>, %off: tensor<i64>) {
  // expected-error @+1 {{rule 'result 'gx' has the type of x, that of gy' needs 'tensor<1x16x32xf32>'}}
  %0 = megalodon.rotary_grad %gy offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<i64>) -> tensor<1x16x32xbf16>
  return
}

// -----

func.func @chunk_attention_grad_q_rank(%q: tensor<32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{q must have rank 3 ([batch, time, heads * head_dim])}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_out_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>, %o: tensor<1x32x32xf32>) {
  // expected-error @+1 {{out has the type of the result, that of v}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) out(%o) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>, tensor<1x32x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_v_f64(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf64>, %ga: tensor<1x32x64xf64>) {
  // expected-error @+1 {{v must have element type f32 or bf16, got 'f64'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf64>, tensor<1x32x64xf64>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf64>)
  return
}

// -----

func.func @chunk_attention_grad_k_shape(%q: tensor<1x32x32xf32>, %k: tensor<1x16x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{k has shape [1, 16, 32] but the rule 'k has the shape of q' needs [1, 32, 32]}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x16x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x16x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_v_shape(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x16x64xf32>, %ga: tensor<1x16x64xf32>) {
  // expected-error @+1 {{v has shape [1, 16, 64] but the rule 'v has q's batch and time' needs [1, 32, 64]}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x16x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_k_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xbf16>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{k has element type 'bf16' but the rule 'q, k and v share an element type' needs 'f32'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xbf16>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xbf16>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_v_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xbf16>, %ga: tensor<1x32x64xbf16>) {
  // expected-error @+1 {{v has element type 'bf16' but the rule 'q, k and v share an element type' needs 'f32'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xbf16>, tensor<1x32x64xbf16>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xbf16>)
  return
}

// -----

func.func @chunk_attention_grad_heads_qk(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the query/key width' violated: 32 is not divisible by 3}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 3 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_heads_value(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x48xf32>, %ga: tensor<1x32x48xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the value width' violated: 48 is not divisible by 32}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 32 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x48xf32>, tensor<1x32x48xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x48xf32>)
  return
}

// -----

func.func @chunk_attention_grad_chunk_zero(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got 0}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 0 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_chunk_length(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{rule 'sequence length L <= chunk_size or L % chunk_size == 0' violated: L = 32, chunk_size = 12}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 12 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_g_out_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x32xf32>) {
  // expected-error @+1 {{rule 'g_out has the type of the result, that of v' needs 'tensor<1x32x64xf32>'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_gq_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{rule 'result 'gq' has the type of q' needs 'tensor<1x32x32xf32>'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xbf16>, tensor<1x32x32xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_gk_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{rule 'result 'gk' has the type of k' needs 'tensor<1x32x32xf32>'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>)
  return
}

// -----

func.func @chunk_attention_grad_gv_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x64xf32>, %ga: tensor<1x32x64xf32>) {
  // expected-error @+1 {{rule 'result 'gv' has the type of v' needs 'tensor<1x32x64xf32>'}}
  %r:3 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Operand and result groups (generic form)
//===----------------------------------------------------------------------===//

func.func @timestep_norm_grad_partial_state(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'the state is count, mean and var together' violated: 1 of 3 operands given}}
  %r:3 = "megalodon.timestep_norm_grad"(%x, %w, %n, %gy)
      <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 0>,
        resultSegmentSizes = array<i32: 1, 1, 1, 0, 0>, num_groups = 4 : i64, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_partial_final(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>, %gm: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'the final cotangents are g_mean_out and g_var_out together' violated: 1 of 2 operands given}}
  %r:3 = "megalodon.timestep_norm_grad"(%x, %w, %gy, %gm)
      <{operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 1, 1, 0>,
        resultSegmentSizes = array<i32: 1, 1, 1, 0, 0>, num_groups = 4 : i64, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_missing_state_grads(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_mean and g_var are returned exactly when a state is given' violated}}
  %r:3 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %m) grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return
}

// -----

func.func @timestep_norm_grad_extra_state_grads(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_mean and g_var are returned exactly when a state is given' violated}}
  %r:5 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @layer_norm_grad_one_affine_result(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'g_weight and g_bias are returned exactly when the norm is affine' violated}}
  %r:2 = "megalodon.layer_norm_grad"(%x, %w, %gy)
      <{resultSegmentSizes = array<i32: 1, 1, 0>, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}
