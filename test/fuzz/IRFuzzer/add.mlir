func.func @f(%a: tensor<1x16x128xf32>, %b: tensor<1x16x128xf32>) -> tensor<1x16x128xf32> {
  %0 = megalodon.add %a, %b : tensor<1x16x128xf32>
  return %0 : tensor<1x16x128xf32>
}
