func.func @f(%x: tensor<1x16x64xbf16>, %w: tensor<64xbf16>, %b: tensor<64xbf16>) {
  %0 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16>
  %1 = megalodon.layer_norm %x {eps = 1.0e-5 : f64} : (tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  return
}
