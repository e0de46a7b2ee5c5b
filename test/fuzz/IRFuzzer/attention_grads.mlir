func.func @attention_grads(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %q: tensor<1x32x32xf32>,
                           %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>,
                           %ga: tensor<1x32x128xf32>, %off: tensor<i64>) {
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>, tensor<1x32x128xf32>)
      -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
  %gqr = megalodon.rotary_grad %gq {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  %gkr = megalodon.rotary_grad %gk offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<i64>) -> tensor<1x32x32xf32>
  %gz, %gg, %gb = megalodon.shared_qk_grad %z, %g grad(%gqr, %gkr) {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>)
      -> (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}
