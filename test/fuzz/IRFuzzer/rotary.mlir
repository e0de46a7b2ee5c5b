func.func @f(%q: tensor<1x32x32xf32>) -> tensor<1x32x32xf32> {
  %0 = megalodon.rotary %q {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  return %0 : tensor<1x32x32xf32>
}
