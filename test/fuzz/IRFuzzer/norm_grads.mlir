func.func @norm_grads(%x: tensor<1x16x64xbf16>, %w: tensor<64xbf16>, %gy: tensor<1x16x64xbf16>) {
  %0:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xbf16>, tensor<64xbf16>)
  %1 = megalodon.rms_norm_grad %x grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  %2:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<1x16x64xbf16>)
      -> (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
  %3 = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xbf16>)
  return
}
