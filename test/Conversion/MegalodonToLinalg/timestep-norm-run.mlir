// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --convert-scf-to-cf --convert-complex-to-standard --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-complex-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// x is [1, 3, 4] with two groups of two features, scale w + 1 = (1, 2, 1,
// 0.5), shift (0, 0, 0.25, 0), eps = 1e-5. Step 0 from the fresh state is the
// group-normalized input: group 0 = {1, 3} has mean 2 and variance 1, so
// y = (-1, 1 * 2) / sqrt(1 + 1e-5) = (-0.999995, 1.99999); group 1 = {2, 6}
// has mean 4 and variance 4, so y = (-2 / 2.0000025 + 0.25, 2 / 2.0000025 *
// 0.5) = (-0.749999, 0.499999). The later rows come from the Welford
// recurrence of the fp64 reference (first digits checked). After 3 steps,
// by the closed form of MODEL.md section 4: count 3, group 0 step means 2, 6,
// 0.5 give m = 8.5 / 3 = 2.83333 and mean squares 5, 37, 2.5 give
// v = 44.5 / 3 - m^2 = 6.80556; group 1 step means 4, 1, 4 give m = 3 and
// mean squares 20, 2, 16 give v = 38 / 3 - 9 = 3.66667.

// CHECK:      sizes = [1, 3, 4]
// CHECK-NEXT: {{\[\[\[}}-0.9999{{[0-9]*}}, 1.999{{[0-9]*}}, {{(-0\.7499|-0\.75)[0-9]*}}, {{(0\.4999|0\.5)[0-9]*}}],
// CHECK-NEXT: {{\[}}0.4472{{[0-9]*}}, 2.683{{[0-9]*}}, -0.8970{{[0-9]*}}, -0.1147{{[0-9]*}}],
// CHECK-NEXT: {{\[}}-1.469{{[0-9]*}}, -0.6388{{[0-9]*}}, 0.7722{{[0-9]*}}, 0.2611{{[0-9]*}}]]]
// CHECK:      sizes = [1]
// CHECK-NEXT: [3]
// CHECK:      sizes = [1, 2]
// CHECK-NEXT: {{\[\[}}2.833{{[0-9]*}}, 3]]
// CHECK:      sizes = [1, 2]
// CHECK-NEXT: {{\[\[}}6.805{{[0-9]*}}, 3.666{{[0-9]*}}]]
// Resuming from the state after steps 0..1 reproduces step 2.
// CHECK:      sizes = [1, 1, 4]
// CHECK-NEXT: {{\[\[\[}}-1.469{{[0-9]*}}, -0.6388{{[0-9]*}}, 0.7722{{[0-9]*}}, 0.2611{{[0-9]*}}]]]
// CHECK:      sizes = [1]
// CHECK-NEXT: [3]

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI64(tensor<*xi64>)

func.func @main() {
  %x = arith.constant dense<[[[1.0, 3.0, 2.0, 6.0],
                              [5.0, 7.0, 0.0, 2.0],
                              [-1.0, 2.0, 4.0, 4.0]]]> : tensor<1x3x4xf32>
  %w = arith.constant dense<[0.0, 1.0, 0.0, -0.5]> : tensor<4xf32>
  %b = arith.constant dense<[0.0, 0.0, 0.25, 0.0]> : tensor<4xf32>
  %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x3x4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<1x3x4xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  %yu = tensor.cast %y : tensor<1x3x4xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  %nu = tensor.cast %n : tensor<1xi64> to tensor<*xi64>
  call @printMemrefI64(%nu) : (tensor<*xi64>) -> ()
  %mu = tensor.cast %m : tensor<1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%mu) : (tensor<*xf32>) -> ()
  %vu = tensor.cast %v : tensor<1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%vu) : (tensor<*xf32>) -> ()

  // The same sequence in two calls: steps 0..1 fresh, then step 2 with the
  // carried state.
  %x01 = tensor.extract_slice %x[0, 0, 0] [1, 2, 4] [1, 1, 1]
      : tensor<1x3x4xf32> to tensor<1x2x4xf32>
  %x2 = tensor.extract_slice %x[0, 2, 0] [1, 1, 4] [1, 1, 1]
      : tensor<1x3x4xf32> to tensor<1x1x4xf32>
  %y01, %n01, %m01, %v01 = megalodon.timestep_norm %x01, %w, %b
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<1x2x4xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  %y2, %n2, %m2, %v2 = megalodon.timestep_norm %x2, %w, %b
      state(%n01, %m01, %v01) {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x1x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1xi64>,
         tensor<1x2xf32>, tensor<1x2xf32>)
      -> (tensor<1x1x4xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  %y2u = tensor.cast %y2 : tensor<1x1x4xf32> to tensor<*xf32>
  call @printMemrefF32(%y2u) : (tensor<*xf32>) -> ()
  %n2u = tensor.cast %n2 : tensor<1xi64> to tensor<*xi64>
  call @printMemrefI64(%n2u) : (tensor<*xi64>) -> ()
  return
}
