// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --convert-scf-to-cf --convert-complex-to-standard --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-complex-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

#id3 = affine_map<(b, d, n) -> (b, d, n)>

// CHECK:      sizes = [1, 3, 1]
// CHECK-NEXT: {{\[\[\[}}1.5],
// CHECK-NEXT: {{\[}}2.625],
// CHECK-NEXT: {{\[}}4.6875]]]
// CHECK:      {{\[\[\[}}1.71875]]]
// CHECK:      {{\[\[\[}}0.75]]]
// Resumed from the state after steps 0..1:
// CHECK:      {{\[\[\[}}4.6875]]]
// CHECK:      {{\[\[\[}}1.71875]]]
// CHECK:      {{\[\[\[}}0.75]]]
// B = 2, D = 2, N = 2: y, then Re h_last, then Im h_last.
// CHECK:      sizes = [2, 3, 2]
// CHECK-NEXT: {{\[\[\[}}0.4016{{[0-9]*}}, 0.6674{{[0-9]*}}],
// CHECK-NEXT: {{\[}}1.325{{[0-9]*}}, 0.3840{{[0-9]*}}],
// CHECK-NEXT: {{\[}}-0.8954{{[0-9]*}}, -1.983{{[0-9]*}}]],
// CHECK-NEXT: {{\[\[}}0.6938{{[0-9]*}}, 0.1155{{[0-9]*}}],
// CHECK-NEXT: {{\[}}0.008061{{[0-9]*}}, -0.7116{{[0-9]*}}],
// CHECK-NEXT: {{\[}}1.433{{[0-9]*}}, 0.8685{{[0-9]*}}]]]
// CHECK:      sizes = [2, 2, 2]
// CHECK-NEXT: {{\[\[\[}}-0.8109{{[0-9]*}}, -0.7204{{[0-9]*}}],
// CHECK-NEXT: {{\[}}1.633{{[0-9]*}}, 0.8081{{[0-9]*}}]],
// CHECK-NEXT: {{\[\[}}0.8796{{[0-9]*}}, 0.8413{{[0-9]*}}],
// CHECK-NEXT: {{\[}}-1.327{{[0-9]*}}, -1.816{{[0-9]*}}]]]
// CHECK:      sizes = [2, 2, 2]
// CHECK-NEXT: {{\[\[\[}}0.5261{{[0-9]*}}, -0.3001{{[0-9]*}}],
// CHECK-NEXT: {{\[}}-0.09124{{[0-9]*}}, 0.5623{{[0-9]*}}]],
// CHECK-NEXT: {{\[\[}}-0.3081{{[0-9]*}}, 0.1027{{[0-9]*}}],
// CHECK-NEXT: {{\[}}0.4126{{[0-9]*}}, 0.2852{{[0-9]*}}]]]

func.func private @printMemrefF32(tensor<*xf32>)

/// Prints the real parts, then the imaginary parts of a state.
func.func @printState(%h: tensor<?x?x?xcomplex<f32>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %h, %c0 : tensor<?x?x?xcomplex<f32>>
  %d = tensor.dim %h, %c1 : tensor<?x?x?xcomplex<f32>>
  %n = tensor.dim %h, %c2 : tensor<?x?x?xcomplex<f32>>
  %e0 = tensor.empty(%b, %d, %n) : tensor<?x?x?xf32>
  %e1 = tensor.empty(%b, %d, %n) : tensor<?x?x?xf32>
  %re, %im = linalg.generic {indexing_maps = [#id3, #id3, #id3],
                             iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h : tensor<?x?x?xcomplex<f32>>)
      outs(%e0, %e1 : tensor<?x?x?xf32>, tensor<?x?x?xf32>) {
  ^bb0(%z: complex<f32>, %o0: f32, %o1: f32):
    %r = complex.re %z : complex<f32>
    %i = complex.im %z : complex<f32>
    linalg.yield %r, %i : f32, f32
  } -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>)
  %reu = tensor.cast %re : tensor<?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%reu) : (tensor<*xf32>) -> ()
  %imu = tensor.cast %im : tensor<?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%imu) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  // One channel, one state: p = sigmoid(0) = 0.5, |q| = 1 - 0.5 * 0.5 = 0.75,
  // sigmoid(theta) = 1/4 so phi = 2 pi / 4 and q = 0.75i; gamma = 2 + i,
  // omega = 0.5, u = 1, 2, 4:
  //   h0 = 0.5                    y0 = Re((2+i) 0.5) + 0.5 = 1.5
  //   h1 = 1 + 0.375i             y1 = 2 - 0.375 + 1 = 2.625
  //   h2 = 2 + 0.75i h1
  //      = 1.71875 + 0.75i        y2 = 3.4375 - 0.75 + 2 = 4.6875
  %x = arith.constant dense<[[[1.0], [2.0], [4.0]]]> : tensor<1x3x1xf32>
  %alpha = arith.constant dense<0.0> : tensor<1x1x1xf32>
  %delta = arith.constant dense<0.0> : tensor<1x1x1xf32>
  %theta = arith.constant dense<-1.09861229> : tensor<1x1x1xf32>
  %gamma = arith.constant dense<[[[2.0, 1.0]]]> : tensor<1x1x2xf32>
  %omega = arith.constant dense<0.5> : tensor<1x1xf32>
  %y, %h = megalodon.cema %x params(%alpha, %delta, %theta, %gamma, %omega)
      : (tensor<1x3x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>,
         tensor<1x1x1xf32>, tensor<1x1x2xf32>, tensor<1x1xf32>)
      -> (tensor<1x3x1xf32>, tensor<1x1x1xcomplex<f32>>)
  %yu = tensor.cast %y : tensor<1x3x1xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  %hd = tensor.cast %h : tensor<1x1x1xcomplex<f32>> to tensor<?x?x?xcomplex<f32>>
  call @printState(%hd) : (tensor<?x?x?xcomplex<f32>>) -> ()

  // The same sequence in two calls: steps 0..1 fresh, then step 2 from the
  // carried state, which must give y2 and h2 again.
  %x01 = tensor.extract_slice %x[0, 0, 0] [1, 2, 1] [1, 1, 1]
      : tensor<1x3x1xf32> to tensor<1x2x1xf32>
  %x2 = tensor.extract_slice %x[0, 2, 0] [1, 1, 1] [1, 1, 1]
      : tensor<1x3x1xf32> to tensor<1x1x1xf32>
  %y01, %h01 = megalodon.cema %x01 params(%alpha, %delta, %theta, %gamma, %omega)
      : (tensor<1x2x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>,
         tensor<1x1x1xf32>, tensor<1x1x2xf32>, tensor<1x1xf32>)
      -> (tensor<1x2x1xf32>, tensor<1x1x1xcomplex<f32>>)
  %y2, %h2 = megalodon.cema %x2 params(%alpha, %delta, %theta, %gamma, %omega)
      state(%h01)
      : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>,
         tensor<1x1x1xf32>, tensor<1x1x2xf32>, tensor<1x1xf32>,
         tensor<1x1x1xcomplex<f32>>)
      -> (tensor<1x1x1xf32>, tensor<1x1x1xcomplex<f32>>)
  %y2u = tensor.cast %y2 : tensor<1x1x1xf32> to tensor<*xf32>
  call @printMemrefF32(%y2u) : (tensor<*xf32>) -> ()
  %h2d = tensor.cast %h2 : tensor<1x1x1xcomplex<f32>> to tensor<?x?x?xcomplex<f32>>
  call @printState(%h2d) : (tensor<?x?x?xcomplex<f32>>) -> ()

  // B = 2, D = 2, N = 2 with a carried state: exercises the wavelet index
  // (phi = (n+1) sigmoid(theta[d]) 2 pi / N), gamma / sqrt(N) and the
  // channel/state layout. Expected values from the fp64 recurrence of the
  // reference kernels (cemaCoefficients, cemaRecurrence), first digits only.
  %xb = arith.constant dense<[[[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]],
                              [[1.0, 0.0], [0.0, 1.0], [2.0, -2.0]]]>
      : tensor<2x3x2xf32>
  %alphab = arith.constant dense<[[[0.3], [-0.2]], [[1.0], [0.5]]]>
      : tensor<2x2x1xf32>
  %deltab = arith.constant dense<[[[-0.5], [0.8]], [[0.1], [-1.2]]]>
      : tensor<2x2x1xf32>
  %thetab = arith.constant dense<[[[0.7]], [[-0.4]]]> : tensor<2x1x1xf32>
  %gammab = arith.constant dense<[[[0.6, -0.3], [1.1, 0.4]],
                                  [[-0.8, 0.2], [0.5, 0.9]]]>
      : tensor<2x2x2xf32>
  %omegab = arith.constant dense<[[0.25], [-0.5]]> : tensor<2x1xf32>
  %hxb = arith.constant dense<[[[(0.1, 0.2), (-0.3, 0.05)],
                                [(0.4, -0.1), (0.0, 0.3)]],
                               [[(-0.2, 0.0), (0.15, -0.25)],
                                [(0.05, 0.05), (-0.1, 0.2)]]]>
      : tensor<2x2x2xcomplex<f32>>
  %yb, %hb = megalodon.cema %xb
      params(%alphab, %deltab, %thetab, %gammab, %omegab) state(%hxb)
      : (tensor<2x3x2xf32>, tensor<2x2x1xf32>, tensor<2x2x1xf32>,
         tensor<2x1x1xf32>, tensor<2x2x2xf32>, tensor<2x1xf32>,
         tensor<2x2x2xcomplex<f32>>)
      -> (tensor<2x3x2xf32>, tensor<2x2x2xcomplex<f32>>)
  %ybu = tensor.cast %yb : tensor<2x3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ybu) : (tensor<*xf32>) -> ()
  %hbd = tensor.cast %hb : tensor<2x2x2xcomplex<f32>> to tensor<?x?x?xcomplex<f32>>
  call @printState(%hbd) : (tensor<?x?x?xcomplex<f32>>) -> ()
  return
}
