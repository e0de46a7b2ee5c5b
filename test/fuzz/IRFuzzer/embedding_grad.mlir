func.func @embedding_grad(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy) {scale = 8.0 : f64}
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  %1 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  return
}
