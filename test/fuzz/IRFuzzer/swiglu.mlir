func.func @f(%a: tensor<1x16x128xbf16>, %b: tensor<1x16x128xbf16>) -> tensor<1x16x128xbf16> {
  %0 = megalodon.swiglu %a, %b : tensor<1x16x128xbf16>
  return %0 : tensor<1x16x128xbf16>
}
