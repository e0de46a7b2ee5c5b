// RUN: megalodon-opt %s --megalodon-convert-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline --convert-linalg-to-loops --scf-forall-to-for --convert-scf-to-cf --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// Runs the lowered attention ops on small constants whose results are easy
// to work out by hand. ln(3) = 1.0986123 makes two scores 0 and ln 3 give
// the softmax weights 1/4 and 3/4; scores 0, ln 3, 0 give 1/5, 3/5, 1/5.

func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI64(tensor<*xi64>)

func.func @print3(%t: tensor<?x?x?xf32>) {
  %u = tensor.cast %t : tensor<?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @printLen(%t: tensor<i64>) {
  %u = tensor.cast %t : tensor<i64> to tensor<*xi64>
  call @printMemrefI64(%u) : (tensor<*xi64>) -> ()
  return
}

func.func @main() {
  // shared_qk with one head of width 4 (scale 1/sqrt(4) = 0.5):
  // q = z * (gamma[0] + 1) * 0.5 + beta[0] = [0.5, 2, 1.5, 5],
  // k = z * (gamma[1] + 1) * 0.5 + beta[1] = [2, 3, 4, 5].
  %z = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0]]]> : tensor<1x1x4xf32>
  %gamma = arith.constant dense<[[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]> : tensor<2x4xf32>
  %beta = arith.constant dense<[[0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]> : tensor<2x4xf32>
  %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 1 : i64}
      : (tensor<1x1x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
      -> (tensor<1x1x4xf32>, tensor<1x1x4xf32>)
  %qd = tensor.cast %q : tensor<1x1x4xf32> to tensor<?x?x?xf32>
  call @print3(%qd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 1, 4]
  // CHECK-NEXT: {{\[\[\[}}0.5, 2, 1.5, 5]]]
  %kd = tensor.cast %k : tensor<1x1x4xf32> to tensor<?x?x?xf32>
  call @print3(%kd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 1, 4]
  // CHECK-NEXT: {{\[\[\[}}2, 3, 4, 5]]]

  // rotary, dh = 2, chunk 4, the pair (1, 0) at two tokens. Without an
  // offset the positions are 0 and 1: (1, 0) and (cos 1, sin 1) =
  // (0.540302, 0.841471). With offset 3 they are 3 and (3 + 1) mod 4 = 0:
  // (cos 3, sin 3) = (-0.989992, 0.14112) and (1, 0).
  %x = arith.constant dense<[[[1.0, 0.0], [1.0, 0.0]]]> : tensor<1x2x2xf32>
  %r0 = megalodon.rotary %x {num_heads = 1 : i64, base = 1.0e+04 : f64, chunk_size = 4 : i64}
      : (tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  %r0d = tensor.cast %r0 : tensor<1x2x2xf32> to tensor<?x?x?xf32>
  call @print3(%r0d) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 2, 2]
  // CHECK-NEXT: {{\[\[\[}}1, 0],
  // CHECK-NEXT: [0.540302, 0.841471]]]
  %off = arith.constant dense<3> : tensor<i64>
  %r3 = megalodon.rotary %x offset(%off) {num_heads = 1 : i64, base = 1.0e+04 : f64, chunk_size = 4 : i64}
      : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2x2xf32>
  %r3d = tensor.cast %r3 : tensor<1x2x2xf32> to tensor<?x?x?xf32>
  call @print3(%r3d) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 2, 2]
  // CHECK-NEXT: {{\[\[\[}}-0.989992, 0.14112],
  // CHECK-NEXT: [1, 0]]]

  // chunk_attention, L = 4 in two chunks of 2, two heads with dz = dv = 1.
  // Head 0: q = 1, k = [0, ln 3, ln 3, 0], v = [4, 8, 2, 10].
  //   token 0: only key 0 -> 4; token 1: weights 1/4, 3/4 -> 1 + 6 = 7;
  //   token 2 starts chunk 1 and sees only itself -> 2;
  //   token 3: weights 3/4, 1/4 -> 1.5 + 2.5 = 4.
  // Head 1: every score is 100 (exp(100) overflows f32 without the max
  //   subtraction), so the weights are uniform: v = [1, 3, 5, 9] gives
  //   [1, 2, 5, 7].
  %aq = arith.constant dense<[[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]]> : tensor<1x4x2xf32>
  %ak = arith.constant dense<[[[0.0, 100.0], [1.0986123, 100.0], [1.0986123, 100.0], [0.0, 100.0]]]> : tensor<1x4x2xf32>
  %av = arith.constant dense<[[[4.0, 1.0], [8.0, 3.0], [2.0, 5.0], [10.0, 9.0]]]> : tensor<1x4x2xf32>
  %a = megalodon.chunk_attention %aq, %ak, %av {num_heads = 2 : i64, chunk_size = 2 : i64}
      : (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %ad = tensor.cast %a : tensor<1x4x2xf32> to tensor<?x?x?xf32>
  call @print3(%ad) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 4, 2]
  // CHECK-NEXT: {{\[\[\[}}4, 1],
  // CHECK-NEXT: [7, 2],
  // CHECK-NEXT: [2, 5],
  // CHECK-NEXT: [4, 7]]]

  // A single token (L < C) attends only to itself: the output is v.
  %sq = arith.constant dense<[[[0.3, -0.7]]]> : tensor<1x1x2xf32>
  %sv = arith.constant dense<[[[1.5, -2.5, 3.5]]]> : tensor<1x1x3xf32>
  %s = megalodon.chunk_attention %sq, %sq, %sv {num_heads = 1 : i64, chunk_size = 4 : i64}
      : (tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x1x3xf32>) -> tensor<1x1x3xf32>
  %sd = tensor.cast %s : tensor<1x1x3xf32> to tensor<?x?x?xf32>
  call @print3(%sd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 1, 3]
  // CHECK-NEXT: {{\[\[\[}}1.5, -2.5, 3.5]]]

  // Decoding, chunk 4, one head with dz = dv = 1. Cache rows from len on
  // hold garbage (1000 and NaN) that must not reach the output.
  // len = 2, one new token: scores 0, ln 3 (cache) and 0 (new) give
  // 4/5 + 8 * 3/5 + 12/5 = 8.
  %kc = arith.constant dense<[[[0.0], [1.0986123], [1000.0], [0x7FC00000]]]> : tensor<1x4x1xf32>
  %vc = arith.constant dense<[[[4.0], [8.0], [1000.0], [0x7FC00000]]]> : tensor<1x4x1xf32>
  %len2 = arith.constant dense<2> : tensor<i64>
  %dq = arith.constant dense<[[[1.0]]]> : tensor<1x1x1xf32>
  %dk = arith.constant dense<[[[0.0]]]> : tensor<1x1x1xf32>
  %dv = arith.constant dense<[[[12.0]]]> : tensor<1x1x1xf32>
  %d = megalodon.chunk_attention %dq, %dk, %dv cache(%kc, %vc, %len2) {num_heads = 1 : i64, chunk_size = 4 : i64}
      : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<i64>) -> tensor<1x1x1xf32>
  %dd = tensor.cast %d : tensor<1x1x1xf32> to tensor<?x?x?xf32>
  call @print3(%dd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 1, 1]
  // CHECK-NEXT: {{\[\[\[}}8]]]

  // len = 1, two new tokens with q = 1, k = [ln 3, 0], v = [8, 2]:
  //   token 0 (stream position 1) sees scores 0, ln 3 -> 4/4 + 8 * 3/4 = 7;
  //   token 1 sees 0, ln 3, 0 -> 4/5 + 8 * 3/5 + 2/5 = 6.
  %len1 = arith.constant dense<1> : tensor<i64>
  %eq = arith.constant dense<[[[1.0], [1.0]]]> : tensor<1x2x1xf32>
  %ek = arith.constant dense<[[[1.0986123], [0.0]]]> : tensor<1x2x1xf32>
  %ev = arith.constant dense<[[[8.0], [2.0]]]> : tensor<1x2x1xf32>
  %e = megalodon.chunk_attention %eq, %ek, %ev cache(%kc, %vc, %len1) {num_heads = 1 : i64, chunk_size = 4 : i64}
      : (tensor<1x2x1xf32>, tensor<1x2x1xf32>, tensor<1x2x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<i64>) -> tensor<1x2x1xf32>
  %ed = tensor.cast %e : tensor<1x2x1xf32> to tensor<?x?x?xf32>
  call @print3(%ed) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 2, 1]
  // CHECK-NEXT: {{\[\[\[}}7],
  // CHECK-NEXT: [6]]]

  // kv_cache_update, chunk 4. len = 2 plus one token: rows [k0, k1, new]
  // and a zero row, new length 3.
  %ck = arith.constant dense<[[[1.0], [2.0], [99.0], [99.0]]]> : tensor<1x4x1xf32>
  %cv = arith.constant dense<[[[1.0, -1.0], [2.0, -2.0], [99.0, 99.0], [99.0, 99.0]]]> : tensor<1x4x2xf32>
  %nk = arith.constant dense<[[[3.0]]]> : tensor<1x1x1xf32>
  %nv = arith.constant dense<[[[3.0, -3.0]]]> : tensor<1x1x2xf32>
  %uk, %uv, %ul = megalodon.kv_cache_update %ck, %cv, %len2, %nk, %nv {chunk_size = 4 : i64}
      : (tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<i64>, tensor<1x1x1xf32>, tensor<1x1x2xf32>)
      -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<i64>)
  %ukd = tensor.cast %uk : tensor<1x4x1xf32> to tensor<?x?x?xf32>
  call @print3(%ukd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 4, 1]
  // CHECK-NEXT: {{\[\[\[}}1],
  // CHECK-NEXT: [2],
  // CHECK-NEXT: [3],
  // CHECK-NEXT: [0]]]
  %uvd = tensor.cast %uv : tensor<1x4x2xf32> to tensor<?x?x?xf32>
  call @print3(%uvd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 4, 2]
  // CHECK-NEXT: {{\[\[\[}}1, -1],
  // CHECK-NEXT: [2, -2],
  // CHECK-NEXT: [3, -3],
  // CHECK-NEXT: [0, 0]]]
  call @printLen(%ul) : (tensor<i64>) -> ()
  // CHECK: rank = 0
  // CHECK-NEXT: [3]

  // len = 3 plus one token completes the chunk: the cache empties.
  %len3 = arith.constant dense<3> : tensor<i64>
  %fk, %fv, %fl = megalodon.kv_cache_update %ck, %cv, %len3, %nk, %nv {chunk_size = 4 : i64}
      : (tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<i64>, tensor<1x1x1xf32>, tensor<1x1x2xf32>)
      -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<i64>)
  %fkd = tensor.cast %fk : tensor<1x4x1xf32> to tensor<?x?x?xf32>
  call @print3(%fkd) : (tensor<?x?x?xf32>) -> ()
  // CHECK: sizes = [1, 4, 1]
  // CHECK-NEXT: {{\[\[\[}}0],
  // CHECK-NEXT: [0],
  // CHECK-NEXT: [0],
  // CHECK-NEXT: [0]]]
  call @printLen(%fl) : (tensor<i64>) -> ()
  // CHECK: rank = 0
  // CHECK-NEXT: [0]
  return
}
