func.func @dense_grads(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>,
                       %h: tensor<1x16x128xf32>, %s: tensor<64xf32>, %gx: tensor<1x16x64xf32>) {
  %0:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>)
      -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  %1 = megalodon.silu_grad %h grad(%gy) : tensor<1x16x128xf32>
  %2:2 = megalodon.swiglu_grad %h, %gy grad(%gy) : tensor<1x16x128xf32>
  %3:2 = megalodon.scale_channels_grad %x, %s grad(%gx)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}
