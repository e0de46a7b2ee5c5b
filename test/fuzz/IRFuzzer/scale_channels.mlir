func.func @f(%x: tensor<1x16x64xf32>, %s: tensor<64xf32>) -> tensor<1x16x64xf32> {
  %0 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return %0 : tensor<1x16x64xf32>
}
