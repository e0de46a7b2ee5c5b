// RUN: megalodon-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the megalodon ops, one failing op per case.

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

func.func @embedding_table_rank(%t: tensor<256xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{table must have rank 2 ([vocab, model_dim])}}
  %0 = megalodon.embedding %t[%tok] : tensor<256xf32>, tensor<2x16xi32> -> tensor<2x16x?xf32>
  return
}

// -----

func.func @embedding_table_f16(%t: tensor<256x64xf16>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{table has element type f16, which is not supported}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf16>, tensor<2x16xi32> -> tensor<2x16x64xf16>
  return
}

// -----

func.func @embedding_table_f64(%t: tensor<256x64xf64>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{table must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf64>, tensor<2x16xi32> -> tensor<2x16x64xf64>
  return
}

// -----

func.func @embedding_table_int(%t: tensor<256x64xi32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{table must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xi32>, tensor<2x16xi32> -> tensor<2x16x64xi32>
  return
}

// -----

func.func @embedding_tokens_float(%t: tensor<256x64xf32>, %tok: tensor<2x16xf32>) {
  // expected-error @+1 {{tokens must have element type i32 or i64, got 'f32'}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf32>, tensor<2x16xf32> -> tensor<2x16x64xf32>
  return
}

// -----

func.func @embedding_tokens_i16(%t: tensor<256x64xf32>, %tok: tensor<2x16xi16>) {
  // expected-error @+1 {{tokens must have element type i32 or i64, got 'i16'}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf32>, tensor<2x16xi16> -> tensor<2x16x64xf32>
  return
}

// -----

func.func @embedding_result_width(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{rule 'result is the tokens' shape plus model_dim' needs [2, 16, 64]}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x32xf32>
  return
}

// -----

func.func @embedding_result_rank(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{rule 'result is the tokens' shape plus model_dim' needs [2, 16, 64]}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @embedding_result_type(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{rule 'result has the table's element type' needs 'f32'}}
  %0 = megalodon.embedding %t[%tok] : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xbf16>
  return
}

// -----

func.func @embedding_scale_zero(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{attribute 'scale' must be positive}}
  %0 = megalodon.embedding %t[%tok] {scale = 0.0 : f64} : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  return
}

// -----

func.func @embedding_scale_negative(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) {
  // expected-error @+1 {{attribute 'scale' must be positive, got -8}}
  %0 = megalodon.embedding %t[%tok] {scale = -8.0 : f64} : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  return
}

// -----

func.func @cross_entropy_logits_rank(%l: tensor<f32>, %t: tensor<i32>) {
  // expected-error @+1 {{logits must have rank >= 1}}
  %0 = megalodon.cross_entropy %l, %t : tensor<f32>, tensor<i32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_logits_f16(%l: tensor<2x16x256xf16>, %t: tensor<2x16xi32>) {
  // expected-error @+1 {{logits has element type f16, which is not supported}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf16>, tensor<2x16xi32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_logits_f64(%l: tensor<2x16x256xf64>, %t: tensor<2x16xi32>) {
  // expected-error @+1 {{logits must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf64>, tensor<2x16xi32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_targets_float(%l: tensor<2x16x256xf32>, %t: tensor<2x16xf32>) {
  // expected-error @+1 {{targets must have element type i32 or i64, got 'f32'}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16xf32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_targets_shape(%l: tensor<2x16x256xf32>, %t: tensor<2x8xi32>) {
  // expected-error @+1 {{rule 'one target per row of logits' needs [2, 16]}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x8xi32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_targets_rank(%l: tensor<2x16x256xf32>, %t: tensor<2x16x256xi64>) {
  // expected-error @+1 {{rule 'one target per row of logits' needs [2, 16]}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16x256xi64> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_result_shape(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>) {
  // expected-error @+1 {{rule 'the loss is a scalar' needs []}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<1xf32>
  return
}

// -----

func.func @cross_entropy_result_type(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>) {
  // expected-error @+1 {{rule 'the loss is accumulated in f32' needs 'f32'}}
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<bf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

func.func @timestep_norm_x_rank(%x: tensor<16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{x must have rank 3 ([batch, time, features])}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<16x64xf32>, tensor<?xi64>, tensor<?x4xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @timestep_norm_x_f16(%x: tensor<1x16x64xf16>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{x has element type f16, which is not supported: f16's range cannot hold the normalization statistics}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf16>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf16>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_x_f64(%x: tensor<1x16x64xf64>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf64>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf64>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_num_groups_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'num_groups' must be positive, got 0}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 0 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x0xf32>, tensor<1x0xf32>)
  return
}

// -----

func.func @timestep_norm_num_groups_negative(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'num_groups' must be positive, got -4}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = -4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_eps_zero(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 0.0 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_eps_negative(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = -1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_groups_divide(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{rule 'num_groups divides the feature width' violated: 64 is not divisible by 5}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 5 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x5xf32>, tensor<1x5xf32>)
  return
}

// -----

func.func @timestep_norm_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<32xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{weight has shape [32] but the rule 'one scale per feature' needs [64]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<32xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64x1xf32>) {
  // expected-error @+1 {{bias has shape [64, 1] but the rule 'one shift per feature' needs [64]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64x1xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xi32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'i32'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xi32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_bias_f16(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf16>) {
  // expected-error @+1 {{bias has element type f16, which is not supported}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf16>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_count_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<2xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>) {
  // expected-error @+1 {{count has shape [2] but the rule 'one step count per batch row' needs [1]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<2xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_count_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi32>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>) {
  // expected-error @+1 {{count has element type 'i32' but the rule 'step counts are i64' needs 'i64'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_mean_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x2xf32>, %v: tensor<1x4xf32>) {
  // expected-error @+1 {{mean has shape [1, 2] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_mean_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xbf16>, %v: tensor<1x4xf32>) {
  // expected-error @+1 {{mean has element type 'bf16' but the rule 'statistics are f32' needs 'f32'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xbf16>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_var_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{var has shape [4] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_var_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf64>) {
  // expected-error @+1 {{var has element type 'f64' but the rule 'statistics are f32' needs 'f32'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf64>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_y_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'y' has type 'tensor<1x16x64xbf16>' but the rule 'y has the type of x'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xbf16>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_y_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{rule 'y has the type of x'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x8x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_count_out_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'count_out' has shape [] but the rule 'one step count per batch row' needs [1]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<i64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_count_out_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'count_out' has element type 'i32' but the rule 'step counts are i64'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_mean_out_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'mean_out' has shape [1, 8] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x8xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_mean_out_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'mean_out' has element type 'bf16' but the rule 'statistics are f32'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xbf16>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_var_out_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'var_out' has shape [2, 4] but the rule 'statistics are [batch, groups]' needs [1, 4]}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @timestep_norm_var_out_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{result 'var_out' has element type 'f16' but the rule 'statistics are f32'}}
  %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf16>)
  return
}

// -----

func.func @timestep_norm_partial_state(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %n: tensor<1xi64>) {
  // expected-error @+1 {{rule 'the state is count, mean and var together' violated: 1 of 3 operands given}}
  %y, %n1, %m1, %v1 = "megalodon.timestep_norm"(%x, %w, %b, %n)
      <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>, num_groups = 4 : i64, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @timestep_norm_state_without_count(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>, %m: tensor<1x4xf32>) {
  // expected-error @+1 {{rule 'the state is count, mean and var together' violated: 2 of 3 operands given}}
  %y, %n1, %m1, %v1 = "megalodon.timestep_norm"(%x, %w, %b, %m, %m)
      <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 1>, num_groups = 4 : i64, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @rms_norm_x_rank(%x: tensor<f32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @rms_norm_x_f16(%x: tensor<1x16x64xf16>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf16>) -> tensor<1x16x64xf16>
  return
}

// -----

func.func @rms_norm_x_int(%x: tensor<1x16x64xi32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xi32>) -> tensor<1x16x64xi32>
  return
}

// -----

func.func @rms_norm_num_groups_zero(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'num_groups' must be positive, got 0}}
  %0 = megalodon.rms_norm %x {num_groups = 0 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_eps_zero(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 0.0 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_eps_negative(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = -1.0 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_groups_divide(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'num_groups divides the last axis' violated: 64 is not divisible by 3}}
  %0 = megalodon.rms_norm %x {num_groups = 3 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{weight has shape [32] but the rule 'one scale per feature' needs [64]}}
  %0 = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<32xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xf64>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf64>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_weight_f16(%x: tensor<1x16x64xf32>, %w: tensor<64xf16>) {
  // expected-error @+1 {{weight has element type f16, which is not supported}}
  %0 = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf16>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @rms_norm_result_type(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{result has type 'tensor<1x16x64xbf16>' but the rule 'result has the type of x'}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xbf16>
  return
}

// -----

func.func @rms_norm_result_shape(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{rule 'result has the type of x'}}
  %0 = megalodon.rms_norm %x {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x32xf32>
  return
}

// -----

func.func @layer_norm_x_rank(%x: tensor<bf16>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %0 = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
      : (tensor<bf16>) -> tensor<bf16>
  return
}

// -----

func.func @layer_norm_x_f16(%x: tensor<1x16x64xf16>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf16>) -> tensor<1x16x64xf16>
  return
}

// -----

func.func @layer_norm_x_f64(%x: tensor<1x16x64xf64>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf64>) -> tensor<1x16x64xf64>
  return
}

// -----

func.func @layer_norm_eps_zero(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %0 = megalodon.layer_norm %x {eps = 0.0 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_eps_negative(%x: tensor<1x16x64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive}}
  %0 = megalodon.layer_norm %x {eps = -1.0e-5 : f64}
      : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<1x16x64xf32>, %w: tensor<63xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{weight has shape [63] but the rule 'one scale per feature' needs [64]}}
  %0 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<63xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias has shape [16] but the rule 'one shift per feature' needs [64]}}
  %0 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<16xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_weight_type(%x: tensor<1x16x64xf32>, %w: tensor<64xi32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xi32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_bias_f16(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf16>) {
  // expected-error @+1 {{bias has element type f16, which is not supported}}
  %0 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf16>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_result_type(%x: tensor<1x16x64xbf16>) {
  // expected-error @+1 {{result has type 'tensor<1x16x64xf32>' but the rule 'result has the type of x'}}
  %0 = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_partial_affine(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{rule 'the affine pair is weight and bias together' violated: 1 of 2 operands given}}
  %0 = "megalodon.layer_norm"(%x, %w)
      <{operandSegmentSizes = array<i32: 1, 1, 0>, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @layer_norm_bias_without_weight(%x: tensor<1x16x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{rule 'the affine pair is weight and bias together' violated: 1 of 2 operands given}}
  %0 = "megalodon.layer_norm"(%x, %b)
      <{operandSegmentSizes = array<i32: 1, 0, 1>, eps = 1.0e-5 : f64}>
      : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

func.func @cema_x_rank(%x: tensor<16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{x must have rank 3 ([batch, time, channels])}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_x_f16(%x: tensor<2x16x64xf16>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf16>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf16>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_x_f64(%x: tensor<2x16x64xf64>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf64>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf64>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_alpha_rank(%x: tensor<2x16x64xf32>, %a: tensor<64x4xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{alpha must have rank 3 ([channels, states, 1])}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_alpha_channels(%x: tensor<2x16x64xf32>, %a: tensor<32x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{alpha has shape [32, 4, 1] but the rule 'alpha is [D, N, 1]' needs [64, 4, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<32x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_alpha_last(%x: tensor<2x16x64xf32>, %a: tensor<64x4x2xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{alpha has shape [64, 4, 2] but the rule 'alpha is [D, N, 1]' needs [64, 4, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x2xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_delta_states(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x2x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{delta has shape [64, 2, 1] but the rule 'delta is [D, N, 1]' needs [64, 4, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x2x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_delta_rank(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{delta has shape [64, 4] but the rule 'delta is [D, N, 1]' needs [64, 4, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_theta_shape(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x4x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{theta has shape [64, 4, 1] but the rule 'theta is [D, 1, 1]' needs [64, 1, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_gamma_shape(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x1xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{gamma has shape [64, 4, 1] but the rule 'gamma is [D, N, 2] (real, imaginary)' needs [64, 4, 2]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x1xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_omega_shape(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64xf32>) {
  // expected-error @+1 {{omega has shape [64] but the rule 'omega is [D, 1]' needs [64, 1]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_alpha_f16(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf16>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{alpha has element type f16, which is not supported}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf16>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_delta_f64(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf64>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{delta must have element type f32 or bf16, got 'f64'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf64>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_theta_int(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xi32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{theta must have element type f32 or bf16, got 'i32'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xi32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_gamma_complex(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xcomplex<f32>>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{gamma must have element type f32 or bf16, got 'complex<f32>'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xcomplex<f32>>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_omega_f16(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf16>) {
  // expected-error @+1 {{omega has element type f16, which is not supported}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf16>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_hx_shape(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>, %hx: tensor<2x4x64xcomplex<f32>>) {
  // expected-error @+1 {{hx has shape [2, 4, 64] but the rule 'the state is [B, D, N]' needs [2, 64, 4]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x4x64xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_hx_real(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>, %hx: tensor<2x64x4xf32>) {
  // expected-error @+1 {{hx has element type 'f32' but the rule 'the state is complex<f32>' needs 'complex<f32>'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_hx_complex_f64(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>, %hx: tensor<2x64x4xcomplex<f64>>) {
  // expected-error @+1 {{hx has element type 'complex<f64>' but the rule 'the state is complex<f32>'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f64>>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_y_type(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{result 'y' has type 'tensor<2x16x64xbf16>' but the rule 'y has the type of x'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xbf16>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_h_last_shape(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{result 'h_last' has shape [1, 64, 4] but the rule 'the state is [B, D, N]' needs [2, 64, 4]}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<1x64x4xcomplex<f32>>)
  return
}

// -----

func.func @cema_h_last_type(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  // expected-error @+1 {{result 'h_last' has element type 'f32' but the rule 'the state is complex<f32>'}}
  %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

func.func @linear_x_rank(%x: tensor<f32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %0 = megalodon.linear %x, %w : (tensor<f32>, tensor<128x64xf32>) -> tensor<128xf32>
  return
}

// -----

func.func @linear_x_f16(%x: tensor<1x16x64xf16>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf16>, tensor<128x64xf32>) -> tensor<1x16x128xf16>
  return
}

// -----

func.func @linear_x_int(%x: tensor<1x16x64xi32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xi32>, tensor<128x64xf32>) -> tensor<1x16x128xi32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([out_features, in_features])}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_weight_f16(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf16>) {
  // expected-error @+1 {{weight has element type f16, which is not supported}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf16>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_weight_f64(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf64>) {
  // expected-error @+1 {{weight must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf64>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_weight_in_features(%x: tensor<1x16x64xf32>, %w: tensor<64x128xf32>) {
  // expected-error @+1 {{weight has shape [64, 128] but the rule 'weight is [out_features, in_features of x]' needs [64, 64]}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<64x128xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias has shape [64] but the rule 'one bias per output feature' needs [128]}}
  %0 = megalodon.linear %x, %w bias(%b) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_bias_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf64>) {
  // expected-error @+1 {{bias must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.linear %x, %w bias(%b) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf64>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_bias_f16(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf16>) {
  // expected-error @+1 {{bias has element type f16, which is not supported}}
  %0 = megalodon.linear %x, %w bias(%b) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf16>) -> tensor<1x16x128xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{result has shape [1, 16, 64] but the rule 'result is x's shape with out_features last' needs [1, 16, 128]}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{rule 'result is x's shape with out_features last' needs [1, 16, 128]}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf32>) -> tensor<16x128xf32>
  return
}

// -----

func.func @linear_result_type(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{result has element type 'bf16' but the rule 'result has x's element type' needs 'f32'}}
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf32>) -> tensor<1x16x128xbf16>
  return
}

// -----

func.func @silu_f16(%x: tensor<1x16x128xf16>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.silu %x : tensor<1x16x128xf16>
  return
}

// -----

func.func @silu_int(%x: tensor<1x16x128xi32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.silu %x : tensor<1x16x128xi32>
  return
}

// -----

func.func @swiglu_f16(%a: tensor<1x16x128xf16>, %b: tensor<1x16x128xf16>) {
  // expected-error @+1 {{gate has element type f16, which is not supported}}
  %0 = megalodon.swiglu %a, %b : tensor<1x16x128xf16>
  return
}

// -----

func.func @swiglu_f64(%a: tensor<1x16x128xf64>, %b: tensor<1x16x128xf64>) {
  // expected-error @+1 {{gate must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.swiglu %a, %b : tensor<1x16x128xf64>
  return
}

// -----

func.func @add_f16(%a: tensor<1x16x64xf16>, %b: tensor<1x16x64xf16>) {
  // expected-error @+1 {{lhs has element type f16, which is not supported}}
  %0 = megalodon.add %a, %b : tensor<1x16x64xf16>
  return
}

// -----

func.func @add_int(%a: tensor<1x16x64xi64>, %b: tensor<1x16x64xi64>) {
  // expected-error @+1 {{lhs must have element type f32 or bf16, got 'i64'}}
  %0 = megalodon.add %a, %b : tensor<1x16x64xi64>
  return
}

// -----

func.func @mul_f16(%a: tensor<1x16x128xf16>, %b: tensor<1x16x128xf16>) {
  // expected-error @+1 {{lhs has element type f16, which is not supported}}
  %0 = megalodon.mul %a, %b : tensor<1x16x128xf16>
  return
}

// -----

func.func @mul_f64(%a: tensor<1x16x128xf64>, %b: tensor<1x16x128xf64>) {
  // expected-error @+1 {{lhs must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.mul %a, %b : tensor<1x16x128xf64>
  return
}

// -----

func.func @scale_channels_x_rank(%x: tensor<f32>, %s: tensor<64xf32>) {
  // expected-error @+1 {{x must have rank >= 1}}
  %0 = megalodon.scale_channels %x, %s : (tensor<f32>, tensor<64xf32>) -> tensor<f32>
  return
}

// -----

func.func @scale_channels_x_f16(%x: tensor<1x16x64xf16>, %s: tensor<64xf32>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf16>, tensor<64xf32>) -> tensor<1x16x64xf16>
  return
}

// -----

func.func @scale_channels_x_f64(%x: tensor<1x16x64xf64>, %s: tensor<64xf32>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf64>, tensor<64xf32>) -> tensor<1x16x64xf64>
  return
}

// -----

func.func @scale_channels_scale_f16(%x: tensor<1x16x64xf32>, %s: tensor<64xf16>) {
  // expected-error @+1 {{scale has element type f16, which is not supported}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<64xf16>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @scale_channels_scale_int(%x: tensor<1x16x64xf32>, %s: tensor<64xi32>) {
  // expected-error @+1 {{scale must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<64xi32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @scale_channels_scale_shape(%x: tensor<1x16x64xf32>, %s: tensor<16xf32>) {
  // expected-error @+1 {{scale has shape [16] but the rule 'one scale per feature' needs [64]}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<16xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @scale_channels_scale_rank(%x: tensor<1x16x64xf32>, %s: tensor<1x64xf32>) {
  // expected-error @+1 {{scale has shape [1, 64] but the rule 'one scale per feature' needs [64]}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<1x64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

func.func @scale_channels_result_type(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>) {
  // expected-error @+1 {{result has type 'tensor<1x16x64xbf16>' but the rule 'result has the type of x'}}
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

func.func @shared_qk_z_rank(%z: tensor<32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{z must have rank 3 ([batch, time, z_dim])}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<32x32xf32>, tensor<32x32xf32>)
  return
}

// -----

func.func @shared_qk_z_f16(%z: tensor<1x32x32xf16>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{z has element type f16, which is not supported: f16's range cannot hold}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf16>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf16>, tensor<1x32x32xf16>)
  return
}

// -----

func.func @shared_qk_z_f64(%z: tensor<1x32x32xf64>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{z must have element type f32 or bf16, got 'f64'}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf64>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf64>, tensor<1x32x32xf64>)
  return
}

// -----

func.func @shared_qk_num_heads_zero(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 0 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_num_heads_negative(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got -2}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = -2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_heads_divide(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the query/key width' violated: 32 is not divisible by 3}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 3 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_odd_head_width(%z: tensor<1x32x6xf32>, %g: tensor<2x6xf32>, %b: tensor<2x6xf32>) {
  // expected-error @+1 {{rule 'per-head query/key width is even (rotary pairs)' violated: 3 is not divisible by 2}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x6xf32>, tensor<2x6xf32>, tensor<2x6xf32>) -> (tensor<1x32x6xf32>, tensor<1x32x6xf32>)
  return
}

// -----

func.func @shared_qk_odd_single_head(%z: tensor<1x32x5xf32>, %g: tensor<2x5xf32>, %b: tensor<2x5xf32>) {
  // expected-error @+1 {{rule 'per-head query/key width is even (rotary pairs)' violated: 5 is not divisible by 2}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 1 : i64}
      : (tensor<1x32x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) -> (tensor<1x32x5xf32>, tensor<1x32x5xf32>)
  return
}

// -----

func.func @shared_qk_gamma_shape(%z: tensor<1x32x32xf32>, %g: tensor<1x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{gamma has shape [1, 32] but the rule 'gamma is [2, z_dim]' needs [2, 32]}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_beta_shape(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x16xf32>) {
  // expected-error @+1 {{beta has shape [2, 16] but the rule 'beta is [2, z_dim]' needs [2, 32]}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x16xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_gamma_f16(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf16>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{gamma has element type f16, which is not supported}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf16>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_beta_int(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xi32>) {
  // expected-error @+1 {{beta must have element type f32 or bf16, got 'i32'}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xi32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_q_type(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{result 'q' has type 'tensor<1x32x32xbf16>' but the rule 'q has the type of z'}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xbf16>, tensor<1x32x32xf32>)
  return
}

// -----

func.func @shared_qk_k_type(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  // expected-error @+1 {{result 'k' has type 'tensor<1x32x16xf32>' but the rule 'k has the type of z'}}
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x16xf32>)
  return
}

// -----

func.func @rotary_x_rank(%x: tensor<32x32xf32>) {
  // expected-error @+1 {{x must have rank 3 ([batch, time, heads * head_dim])}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<32x32xf32>) -> tensor<32x32xf32>
  return
}

// -----

func.func @rotary_x_f16(%x: tensor<1x32x32xf16>) {
  // expected-error @+1 {{x has element type f16, which is not supported}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf16>) -> tensor<1x32x32xf16>
  return
}

// -----

func.func @rotary_x_f64(%x: tensor<1x32x32xf64>) {
  // expected-error @+1 {{x must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf64>) -> tensor<1x32x32xf64>
  return
}

// -----

func.func @rotary_num_heads_zero(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %0 = megalodon.rotary %x {num_heads = 0 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_heads_divide(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the rotated width' violated: 32 is not divisible by 5}}
  %0 = megalodon.rotary %x {num_heads = 5 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_odd_head_width(%x: tensor<1x32x14xf32>) {
  // expected-error @+1 {{rule 'per-head query/key width is even (rotary pairs)' violated: 7 is not divisible by 2}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x14xf32>) -> tensor<1x32x14xf32>
  return
}

// -----

func.func @rotary_base_zero(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{attribute 'base' must be positive}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 0.0 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_base_negative(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{attribute 'base' must be positive}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = -1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_chunk_size_zero(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got 0}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 0 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_chunk_size_negative(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got -16}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = -16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_offset_type(%x: tensor<1x32x32xf32>, %o: tensor<i32>) {
  // expected-error @+1 {{offset must be a 0-d tensor of i64, got 'tensor<i32>'}}
  %0 = megalodon.rotary %x offset(%o) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<i32>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_offset_rank(%x: tensor<1x32x32xf32>, %o: tensor<1xi64>) {
  // expected-error @+1 {{offset must be a 0-d tensor of i64, got 'tensor<1xi64>'}}
  %0 = megalodon.rotary %x offset(%o) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1xi64>) -> tensor<1x32x32xf32>
  return
}

// -----

func.func @rotary_result_type(%x: tensor<1x32x32xf32>) {
  // expected-error @+1 {{result has type 'tensor<1x32x32xbf16>' but the rule 'result has the type of x'}}
  %0 = megalodon.rotary %x {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xbf16>
  return
}

// -----

func.func @chunk_attention_q_rank(%q: tensor<32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{q must have rank 3 ([batch, time, heads * head_dim])}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_k_rank(%q: tensor<1x32x32xf32>, %k: tensor<1x32x2x16xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{k must have rank 3 ([batch, time, heads * head_dim])}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x2x16xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_v_rank(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<32x128xf32>) {
  // expected-error @+1 {{v must have rank 3 ([batch, time, heads * head_dim])}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<32x128xf32>)
      -> tensor<32x128xf32>
  return
}

// -----

func.func @chunk_attention_q_f16(%q: tensor<1x32x32xf16>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{q has element type f16, which is not supported: f16's range cannot hold the normalization statistics and attention scores}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf16>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_k_f64(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf64>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{k must have element type f32 or bf16, got 'f64'}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf64>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_v_f16(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf16>) {
  // expected-error @+1 {{v has element type f16, which is not supported}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf16>)
      -> tensor<1x32x128xf16>
  return
}

// -----

func.func @chunk_attention_v_int(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xi32>) {
  // expected-error @+1 {{v must have element type f32 or bf16, got 'i32'}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xi32>)
      -> tensor<1x32x128xi32>
  return
}

// -----

func.func @chunk_attention_k_shape(%q: tensor<1x32x32xf32>, %k: tensor<1x32x64xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{k has shape [1, 32, 64] but the rule 'k has the shape of q' needs [1, 32, 32]}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x64xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_k_time(%q: tensor<1x32x32xf32>, %k: tensor<1x16x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{k has shape [1, 16, 32] but the rule 'k has the shape of q' needs [1, 32, 32]}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x16x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_v_time(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x16x128xf32>) {
  // expected-error @+1 {{v has shape [1, 16, 128] but the rule 'v has q's batch and time' needs [1, 32, 128]}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x16x128xf32>)
      -> tensor<1x16x128xf32>
  return
}

// -----

func.func @chunk_attention_v_batch(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<2x32x128xf32>) {
  // expected-error @+1 {{v has shape [2, 32, 128] but the rule 'v has q's batch and time' needs [1, 32, 128]}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<2x32x128xf32>)
      -> tensor<2x32x128xf32>
  return
}

// -----

func.func @chunk_attention_k_elem(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xbf16>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{k has element type 'bf16' but the rule 'q, k and v share an element type' needs 'f32'}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xbf16>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_v_elem(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xbf16>) {
  // expected-error @+1 {{v has element type 'bf16' but the rule 'q, k and v share an element type' needs 'f32'}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xbf16>)
      -> tensor<1x32x128xbf16>
  return
}

// -----

func.func @chunk_attention_num_heads_zero(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{attribute 'num_heads' must be positive, got 0}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 0 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_qk_heads_divide(%q: tensor<1x32x30xf32>, %k: tensor<1x32x30xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the query/key width' violated: 30 is not divisible by 4}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 4 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x30xf32>, tensor<1x32x30xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_v_heads_divide(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x100xf32>) {
  // expected-error @+1 {{rule 'num_heads divides the value width' violated: 100 is not divisible by 8}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 8 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x100xf32>)
      -> tensor<1x32x100xf32>
  return
}

// -----

func.func @chunk_attention_chunk_size_zero(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got 0}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 0 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_chunk_size_negative(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got -16}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = -16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x128xf32>
  return
}

// -----

func.func @chunk_attention_chunk_length(%q: tensor<1x24x32xf32>, %k: tensor<1x24x32xf32>, %v: tensor<1x24x128xf32>) {
  // expected-error @+1 {{rule 'sequence length L <= chunk_size or L % chunk_size == 0' violated: L = 24, chunk_size = 16}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x24x32xf32>, tensor<1x24x32xf32>, tensor<1x24x128xf32>)
      -> tensor<1x24x128xf32>
  return
}

// -----

func.func @chunk_attention_chunk_length_cache(%q: tensor<1x20x32xf32>, %k: tensor<1x20x32xf32>, %v: tensor<1x20x128xf32>, %kc: tensor<1x8x32xf32>, %vc: tensor<1x8x128xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{rule 'sequence length L <= chunk_size or L % chunk_size == 0' violated: L = 20, chunk_size = 8}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 8 : i64}
      : (tensor<1x20x32xf32>, tensor<1x20x32xf32>, tensor<1x20x128xf32>, tensor<1x8x32xf32>, tensor<1x8x128xf32>, tensor<i64>)
      -> tensor<1x20x128xf32>
  return
}

// -----

func.func @chunk_attention_k_cache_shape(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x8x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{k_cache has shape [1, 8, 32] but the rule 'the key cache holds one chunk: [B, chunk_size, Zw]' needs [1, 16, 32]}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x8x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_k_cache_width(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x128xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{k_cache has shape [1, 16, 128] but the rule 'the key cache holds one chunk: [B, chunk_size, Zw]' needs [1, 16, 32]}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x128xf32>, tensor<1x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_v_cache_shape(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x32xf32>, %vc: tensor<2x16x128xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{v_cache has shape [2, 16, 128] but the rule 'the value cache holds one chunk: [B, chunk_size, Ew]' needs [1, 16, 128]}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<2x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_k_cache_elem(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x32xbf16>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) {
  // expected-error @+1 {{k_cache has element type 'bf16' but the rule 'caches have the keys' element type' needs 'f32'}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xbf16>, tensor<1x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_v_cache_elem(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf16>, %len: tensor<i64>) {
  // expected-error @+1 {{v_cache has element type 'f16' but the rule 'caches have the values' element type' needs 'f32'}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<1x16x128xf16>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_cache_len_type(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i32>) {
  // expected-error @+1 {{cache_len must be a 0-d tensor of i64, got 'tensor<i32>'}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i32>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_cache_len_rank(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>, %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<1xi64>) {
  // expected-error @+1 {{cache_len must be a 0-d tensor of i64, got 'tensor<1xi64>'}}
  %0 = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<1xi64>)
      -> tensor<1x1x128xf32>
  return
}

// -----

func.func @chunk_attention_result_type(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) {
  // expected-error @+1 {{result has type 'tensor<1x32x32xf32>' but the rule 'result has the type of v'}}
  %0 = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
      -> tensor<1x32x32xf32>
  return
}

// -----

func.func @chunk_attention_partial_cache(%q: tensor<1x1x32xf32>, %kc: tensor<1x16x32xf32>) {
  // expected-error @+1 {{rule 'the cache is k_cache, v_cache and cache_len together' violated: 1 of 3 operands given}}
  %0 = "megalodon.chunk_attention"(%q, %q, %q, %kc)
      <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>, num_heads = 2 : i64, chunk_size = 16 : i64}>
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x16x32xf32>) -> tensor<1x1x32xf32>
  return
}

// -----

func.func @kv_cache_update_chunk_size_zero(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got 0}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 0 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_chunk_size_negative(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{attribute 'chunk_size' must be positive, got -1}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = -1 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_rank(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{k must have rank 3 ([batch, time, width])}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_rank(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x2x64xf32>) {
  // expected-error @+1 {{v must have rank 3 ([batch, time, width])}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x2x64xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_f16(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf16>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{k has element type f16, which is not supported}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf16>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_f64(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf64>) {
  // expected-error @+1 {{v must have element type f32 or bf16, got 'f64'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf64>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_shape(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<2x1x128xf32>) {
  // expected-error @+1 {{v has shape [2, 1, 128] but the rule 'v has k's batch and time' needs [1, 1, 128]}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<2x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_time(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x4x128xf32>) {
  // expected-error @+1 {{v has shape [1, 4, 128] but the rule 'v has k's batch and time' needs [1, 1, 128]}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x4x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_chunk_length(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x20x32xf32>, %v: tensor<1x20x128xf32>) {
  // expected-error @+1 {{rule 'sequence length L <= chunk_size or L % chunk_size == 0' violated: L = 20, chunk_size = 16}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x20x32xf32>, tensor<1x20x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_cache_shape(%kc: tensor<1x8x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{k_cache has shape [1, 8, 32] but the rule 'the key cache holds one chunk: [B, chunk_size, Zw]' needs [1, 16, 32]}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x8x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x8x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_cache_width(%kc: tensor<1x16x64xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{k_cache has shape [1, 16, 64] but the rule 'the key cache holds one chunk: [B, chunk_size, Zw]' needs [1, 16, 32]}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x64xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x64xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_cache_shape(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x32xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{v_cache has shape [1, 16, 32] but the rule 'the value cache holds one chunk: [B, chunk_size, Ew]' needs [1, 16, 128]}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x32xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x32xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_cache_elem(%kc: tensor<1x16x32xbf16>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{k_cache has element type 'bf16' but the rule 'caches have the keys' element type' needs 'f32'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xbf16>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xbf16>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_cache_elem(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xbf16>) {
  // expected-error @+1 {{v_cache has element type 'f32' but the rule 'caches have the values' element type' needs 'bf16'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xbf16>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_cache_len_type(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{cache_len must be a 0-d tensor of i64, got 'tensor<i32>'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_cache_len_rank(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<1xi64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{cache_len must be a 0-d tensor of i64, got 'tensor<1xi64>'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<1xi64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_k_cache_out(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{result 'k_cache_out' has type 'tensor<1x16x32xbf16>' but the rule 'the cache keeps its type'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xbf16>, tensor<1x16x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_v_cache_out(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{result 'v_cache_out' has type 'tensor<1x8x128xf32>' but the rule 'the cache keeps its type'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x8x128xf32>, tensor<i64>)
  return
}

// -----

func.func @kv_cache_update_cache_len_out(%kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>) {
  // expected-error @+1 {{result 'cache_len_out' must be a 0-d tensor of i64, got 'tensor<i32>'}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i32>)
  return
}
