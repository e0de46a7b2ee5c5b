func.func @f(%x: tensor<1x16x64xf32>, %w: tensor<128x32xf32>) {
  %0 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x32xf32>) -> tensor<1x16x128xf32>
  return
}
