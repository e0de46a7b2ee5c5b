func.func @f(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) -> tensor<2x16x64xf32> {
  %0 = megalodon.embedding %t[%tok] {scale = 8.0 : f64} : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  return %0 : tensor<2x16x64xf32>
}
