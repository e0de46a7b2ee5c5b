func.func @f(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>,
             %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) -> tensor<1x1x128xf32> {
  %a = megalodon.chunk_attention %q, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  return %a : tensor<1x1x128xf32>
}
