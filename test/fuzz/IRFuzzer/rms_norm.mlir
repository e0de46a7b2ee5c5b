func.func @f(%x: tensor<1x16x64xbf16>, %w: tensor<64xbf16>) {
  %0 = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16>
  %1 = megalodon.rms_norm %x {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  return
}
