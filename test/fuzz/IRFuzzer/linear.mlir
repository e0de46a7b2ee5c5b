func.func @f(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) {
  %0 = megalodon.linear %x, %w bias(%b) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<1x16x128xf32>
  %1 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf32>) -> tensor<1x16x128xf32>
  return
}
