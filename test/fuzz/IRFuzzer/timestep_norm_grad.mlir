func.func @timestep_norm_grad(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>,
                              %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>,
                              %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  %gx0, %gw0, %gb0 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  %gx1, %gw1, %gb1, %gm1, %gv1 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  %gx2, %gw2, %gb2 = megalodon.timestep_norm_grad %x, %w grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  %gx3, %gw3, %gb3, %gm3, %gv3 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}
