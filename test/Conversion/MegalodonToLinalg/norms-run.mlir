// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// Runs rms_norm and layer_norm on inputs whose statistics are round numbers
// and checks the values computed by hand. The main cases use a negligible
// eps; the last two use eps = 3 so that its place inside the square root
// shows: a variance (or mean square) of 1 becomes 1 / sqrt(1 + 3) = 0.5.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // Two groups of two features per row, weight + 1 = [1, 2, 0.5, 1].
  // Row 0: group (1, 7) has mean square 25, RMS 5 -> (0.2, 1.4); group
  // (2, -2) has RMS 2 -> (1, -1). Scaled: [0.2, 2.8, 0.5, -1].
  // Row 1: group (-5, 5) has RMS 5 -> (-1, 1); group (14, 2) has mean square
  // 100, RMS 10 -> (1.4, 0.2). Scaled: [-1, 2, 0.7, 0.2].
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[0.2,   2.8,   0.5,   -1],
  // CHECK-NEXT:  [-1,   2,   0.7,   0.2]]
  %x = arith.constant dense<[[1.0, 7.0, 2.0, -2.0],
                             [-5.0, 5.0, 14.0, 2.0]]> : tensor<2x4xf32>
  %w = arith.constant dense<[0.0, 1.0, -0.5, 0.0]> : tensor<4xf32>
  %rms = megalodon.rms_norm %x weight(%w)
      {num_groups = 2 : i64, eps = 1.0e-12 : f64}
      : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %rmsu = tensor.cast %rms : tensor<2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%rmsu) : (tensor<*xf32>) -> ()

  // One group, no weight, rows behind two leading dimensions.
  // [1, 5, 5, 7]: mean square 100 / 4 = 25, RMS 5 -> [0.2, 1, 1, 1.4].
  // [-3, 1, 1, 5]: mean square 36 / 4 = 9, RMS 3 -> [-1, 1/3, 1/3, 5/3].
  // CHECK: data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.2,   1,   1,   1.4],
  // CHECK-NEXT:   [-1,   0.333333,   0.333333,   1.66667]]]
  %x3 = arith.constant dense<[[[1.0, 5.0, 5.0, 7.0],
                               [-3.0, 1.0, 1.0, 5.0]]]> : tensor<1x2x4xf32>
  %rms3 = megalodon.rms_norm %x3 {num_groups = 1 : i64, eps = 1.0e-12 : f64}
      : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %rms3u = tensor.cast %rms3 : tensor<1x2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%rms3u) : (tensor<*xf32>) -> ()

  // Layer norm with weight + 1 = [1, 2, 0.5, 1.5] and bias
  // [0.5, 0, 1, -1].
  // Row 0: [0, 2, 2, 8] has mean 3, deviations [-3, -1, -1, 5], biased
  // variance 36 / 4 = 9, std 3 -> [-1, -1/3, -1/3, 5/3]; affine:
  // [-1 + 0.5, -2/3, -1/6 + 1, 2.5 - 1] = [-0.5, -0.666667, 0.833333, 1.5].
  // Row 1: a constant row has variance 0; eps keeps the division finite and
  // the result is the bias.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[-0.5,   -0.666667,   0.833333,   1.5],
  // CHECK-NEXT:  [0.5,   0,   1,   -1]]
  %y = arith.constant dense<[[0.0, 2.0, 2.0, 8.0],
                             [5.0, 5.0, 5.0, 5.0]]> : tensor<2x4xf32>
  %lw = arith.constant dense<[0.0, 1.0, -0.5, 0.5]> : tensor<4xf32>
  %lb = arith.constant dense<[0.5, 0.0, 1.0, -1.0]> : tensor<4xf32>
  %ln = megalodon.layer_norm %y affine(%lw, %lb) {eps = 1.0e-12 : f64}
      : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %lnu = tensor.cast %ln : tensor<2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%lnu) : (tensor<*xf32>) -> ()

  // eps inside the square root. rms_norm, two groups of a 1-d input:
  // each group (1, -1) has mean square 1 -> x / sqrt(1 + 3) = x / 2.
  // CHECK: data =
  // CHECK-NEXT: [0.5,   -0.5,   0.5,   -0.5]
  %e = arith.constant dense<[1.0, -1.0, 1.0, -1.0]> : tensor<4xf32>
  %rmse = megalodon.rms_norm %e {num_groups = 2 : i64, eps = 3.0 : f64}
      : (tensor<4xf32>) -> tensor<4xf32>
  %rmseu = tensor.cast %rmse : tensor<4xf32> to tensor<*xf32>
  call @printMemrefF32(%rmseu) : (tensor<*xf32>) -> ()

  // layer_norm without affine: [3, 1, 3, 1] has mean 2 and variance 1 ->
  // (x - 2) / sqrt(1 + 3) = [0.5, -0.5, 0.5, -0.5].
  // CHECK: data =
  // CHECK-NEXT: {{\[}}{{\[}}[0.5,   -0.5,   0.5,   -0.5]]]
  %f = arith.constant dense<[[[3.0, 1.0, 3.0, 1.0]]]> : tensor<1x1x4xf32>
  %lne = megalodon.layer_norm %f {eps = 3.0 : f64}
      : (tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
  %lneu = tensor.cast %lne : tensor<1x1x4xf32> to tensor<*xf32>
  call @printMemrefF32(%lneu) : (tensor<*xf32>) -> ()
  return
}
