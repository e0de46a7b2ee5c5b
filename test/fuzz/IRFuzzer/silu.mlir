func.func @f(%x: tensor<1x16x128xf32>) -> tensor<1x16x128xf32> {
  %0 = megalodon.silu %x : tensor<1x16x128xf32>
  return %0 : tensor<1x16x128xf32>
}
