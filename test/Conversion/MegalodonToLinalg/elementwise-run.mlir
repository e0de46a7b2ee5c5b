// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// Runs every elementwise lowering on small constants and checks the values,
// computed by hand, that the compiled code prints.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @print(%t: tensor<2x3xf32>) {
  %u = tensor.cast %t : tensor<2x3xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  %a = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[[0.5, -1.0, 2.0], [1.0, 3.0, -4.0]]> : tensor<2x3xf32>

  // a + b.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[1.5,   1,   5],
  // CHECK-NEXT:  [5,   8,   2]]
  %sum = megalodon.add %a, %b : tensor<2x3xf32>
  call @print(%sum) : (tensor<2x3xf32>) -> ()

  // a * b.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[0.5,   -2,   6],
  // CHECK-NEXT:  [4,   15,   -24]]
  %prod = megalodon.mul %a, %b : tensor<2x3xf32>
  call @print(%prod) : (tensor<2x3xf32>) -> ()

  // silu(x) = x / (1 + exp(-x)): silu(0) = 0, silu(1) = 0.731059,
  // silu(-1) = -0.268941, silu(2) = 1.76159; at -100 exp(100) overflows f32
  // and the result must be -0, not NaN; silu(100) = 100.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[0,   0.731059,   -0.268941],
  // CHECK-NEXT:  [1.76159,   -0,   100]]
  %x = arith.constant dense<[[0.0, 1.0, -1.0], [2.0, -100.0, 100.0]]> : tensor<2x3xf32>
  %silu = megalodon.silu %x : tensor<2x3xf32>
  call @print(%silu) : (tensor<2x3xf32>) -> ()

  // swiglu(gate, up) = silu(gate) * up: 0.731059 * 2 = 1.46212,
  // -0.268941 * 3 = -0.806824, silu(0.5) * -4 = 0.311230 * -4 = -1.24492;
  // second row silu(2) * 1 = 1.76159, 0 * 5 = 0, 100 * 0.5 = 50.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[1.46212,   -0.806824,   -1.24492],
  // CHECK-NEXT:  [1.76159,   0,   50]]
  %gate = arith.constant dense<[[1.0, -1.0, 0.5], [2.0, 0.0, 100.0]]> : tensor<2x3xf32>
  %up = arith.constant dense<[[2.0, 3.0, -4.0], [1.0, 5.0, 0.5]]> : tensor<2x3xf32>
  %swiglu = megalodon.swiglu %gate, %up : tensor<2x3xf32>
  call @print(%swiglu) : (tensor<2x3xf32>) -> ()

  // a[r, c] * s[c] with s = [1, 2, -1] repeated on both rows.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[1,   4,   -3],
  // CHECK-NEXT:  [4,   10,   -6]]
  %s = arith.constant dense<[1.0, 2.0, -1.0]> : tensor<3xf32>
  %scaled = megalodon.scale_channels %a, %s
      : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  call @print(%scaled) : (tensor<2x3xf32>) -> ()
  return
}
