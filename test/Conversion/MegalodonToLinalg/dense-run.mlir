// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// Runs linear, embedding and cross_entropy on small constants and checks the
// values computed by hand.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // linear with bias on a [1, 2, 3] input, weight [[1, 0, -1], [2, 1, 0]],
  // bias [0.5, -1]:
  // x = [1, 2, 3]  -> [1 - 3, 2 + 2] + bias = [-1.5, 3]
  // x = [0, -1, 2] -> [0 - 2, 0 - 1] + bias = [-1.5, -2]
  // CHECK: data =
  // CHECK-NEXT: {{\[}}{{\[}}[-1.5,   3],
  // CHECK-NEXT:   [-1.5,   -2]]]
  %x = arith.constant dense<[[[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]]]> : tensor<1x2x3xf32>
  %w = arith.constant dense<[[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = megalodon.linear %x, %w bias(%b)
      : (tensor<1x2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<1x2x2xf32>
  %yu = tensor.cast %y : tensor<1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()

  // linear without bias on a 1-d input: [1, 1, 1] -> [1 + 0 - 1, 2 + 1 + 0].
  // CHECK: data =
  // CHECK-NEXT: [0,   3]
  %v = arith.constant dense<[1.0, 1.0, 1.0]> : tensor<3xf32>
  %z = megalodon.linear %v, %w : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2xf32>
  %zu = tensor.cast %z : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%zu) : (tensor<*xf32>) -> ()

  // embedding: table row t is [2t, 2t + 1]; i32 tokens [[3, 0], [1, 1]]
  // with scale 2 give [[12, 14], [0, 2]] and [[4, 6], [4, 6]].
  // CHECK: data =
  // CHECK-NEXT: {{\[}}{{\[}}[12,   14],
  // CHECK-NEXT:   [0,   2]],
  // CHECK-NEXT:  {{\[}}[4,   6],
  // CHECK-NEXT:   [4,   6]]]
  %table = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]> : tensor<4x2xf32>
  %tok = arith.constant dense<[[3, 0], [1, 1]]> : tensor<2x2xi32>
  %e = megalodon.embedding %table[%tok] {scale = 2.0 : f64}
      : tensor<4x2xf32>, tensor<2x2xi32> -> tensor<2x2x2xf32>
  %eu = tensor.cast %e : tensor<2x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%eu) : (tensor<*xf32>) -> ()

  // embedding of i64 tokens [2, 0, 3] without scale: plain rows.
  // CHECK: data =
  // CHECK-NEXT: {{\[}}[4,   5],
  // CHECK-NEXT:  [0,   1],
  // CHECK-NEXT:  [6,   7]]
  %tok64 = arith.constant dense<[2, 0, 3]> : tensor<3xi64>
  %e64 = megalodon.embedding %table[%tok64]
      : tensor<4x2xf32>, tensor<3xi64> -> tensor<3x2xf32>
  %e64u = tensor.cast %e64 : tensor<3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%e64u) : (tensor<*xf32>) -> ()

  // cross_entropy over 4 rows of 4 logits, loss_r = logsumexp(row) - row[t]:
  // row 0, four equal logits: log 4 = 1.386294 for any target;
  // row 1, four logits of 1000: again log 4 (exp(1000) overflows f32, so
  // this only holds with the maximum subtracted first);
  // row 2, [0, ln 3, -100, -100]: softmax ~ [0.25, 0.75, 0, 0], target 1
  // gives -ln 0.75 = 0.287682;
  // row 3, four logits of -1000: log 4 (exp(-1000) underflows to 0).
  // Mean: (3 * 1.386294 + 0.287682) / 4 = 1.111641.
  // CHECK: data =
  // CHECK-NEXT: [1.11164]
  %logits = arith.constant dense<[[[0.0, 0.0, 0.0, 0.0],
                                   [1000.0, 1000.0, 1000.0, 1000.0]],
                                  [[0.0, 1.0986123, -100.0, -100.0],
                                   [-1000.0, -1000.0, -1000.0, -1000.0]]]>
      : tensor<2x2x4xf32>
  %targets = arith.constant dense<[[2, 0], [1, 3]]> : tensor<2x2xi64>
  %loss = megalodon.cross_entropy %logits, %targets
      : tensor<2x2x4xf32>, tensor<2x2xi64> -> tensor<f32>
  %lossu = tensor.cast %loss : tensor<f32> to tensor<*xf32>
  call @printMemrefF32(%lossu) : (tensor<*xf32>) -> ()

  // A single row: [0, ln 3] with i32 target 0 gives -ln 0.25 = 1.386294.
  // CHECK: data =
  // CHECK-NEXT: [1.38629]
  %row = arith.constant dense<[0.0, 1.0986123]> : tensor<2xf32>
  %target = arith.constant dense<0> : tensor<i32>
  %loss1 = megalodon.cross_entropy %row, %target
      : tensor<2xf32>, tensor<i32> -> tensor<f32>
  %loss1u = tensor.cast %loss1 : tensor<f32> to tensor<*xf32>
  call @printMemrefF32(%loss1u) : (tensor<*xf32>) -> ()
  return
}
