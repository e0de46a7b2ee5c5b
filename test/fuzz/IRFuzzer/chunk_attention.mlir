func.func @f(%q: tensor<1x32x32xf32>, %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>) -> tensor<1x32x128xf32> {
  %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>) -> tensor<1x32x128xf32>
  return %a : tensor<1x32x128xf32>
}
