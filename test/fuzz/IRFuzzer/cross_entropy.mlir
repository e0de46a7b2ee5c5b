func.func @f(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>) -> tensor<f32> {
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<f32>
  return %0 : tensor<f32>
}
