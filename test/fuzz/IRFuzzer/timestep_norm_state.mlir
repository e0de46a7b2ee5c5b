func.func @f(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>,
             %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>) {
  %y1, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}
