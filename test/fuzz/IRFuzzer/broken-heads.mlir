func.func @f(%z: tensor<1x32x30xf32>, %g: tensor<2x30xf32>, %b: tensor<2x30xf32>) {
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 0 : i64}
      : (tensor<1x32x30xf32>, tensor<2x30xf32>, tensor<2x30xf32>) -> (tensor<1x32x30xf32>, tensor<1x32x30xf32>)
  return
}
