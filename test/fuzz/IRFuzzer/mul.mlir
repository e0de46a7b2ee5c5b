func.func @f(%a: tensor<?x16x128xf32>, %b: tensor<?x16x128xf32>) -> tensor<?x16x128xf32> {
  %0 = megalodon.mul %a, %b : tensor<?x16x128xf32>
  return %0 : tensor<?x16x128xf32>
}
