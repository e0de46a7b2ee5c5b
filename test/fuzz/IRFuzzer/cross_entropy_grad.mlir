func.func @cross_entropy_grad(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi64>, %g: tensor<f32>) -> tensor<2x16x256xf32> {
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi64>, tensor<f32> -> tensor<2x16x256xf32>
  return %0 : tensor<2x16x256xf32>
}
