func.func @f(%q: tensor<1x20x32xf32>, %v: tensor<1x20x128xf32>) {
  %a = megalodon.chunk_attention %q, %q, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x20x32xf32>, tensor<1x20x32xf32>, tensor<1x20x128xf32>) -> tensor<1x20x128xf32>
  return
}
