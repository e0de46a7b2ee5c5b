func.func @f(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %n: tensor<1xi64>) {
  %y, %n1, %m1, %v1 = "megalodon.timestep_norm"(%x, %w, %w, %n) {num_groups = 4 : i64, eps = 1.0e-5 : f64,
      operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}
