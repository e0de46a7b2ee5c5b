func.func @f(%k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>,
             %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) {
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}
