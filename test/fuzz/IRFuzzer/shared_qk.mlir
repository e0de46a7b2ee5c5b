func.func @f(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>) {
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  return
}
