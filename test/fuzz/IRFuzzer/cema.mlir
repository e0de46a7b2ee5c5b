func.func @f(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
             %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) {
  %y0, %h0 = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}
