func.func @cema_grad(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
                     %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>,
                     %hx: tensor<2x64x4xcomplex<f32>>, %gy: tensor<2x16x64xf32>,
                     %gh: tensor<2x64x4xcomplex<f32>>) {
  %r0:6 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) grad(%gy)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x16x64xf32>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
  %r1:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>, tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
  %r2:6 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) grad(%gy, %gh)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
  return
}
