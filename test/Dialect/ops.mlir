// RUN: megalodon-opt %s -split-input-file | megalodon-opt -split-input-file | FileCheck %s
// Every op round-trips through the printer and parser.

// CHECK-LABEL: func @embedding
func.func @embedding(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>) -> tensor<2x16x64xf32> {
  // CHECK: megalodon.embedding %{{.*}}[%{{.*}}] {scale = 8.000000e+00 : f64} : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  %0 = megalodon.embedding %t[%tok] {scale = 8.0 : f64} : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
  return %0 : tensor<2x16x64xf32>
}

// -----

// CHECK-LABEL: func @cross_entropy
func.func @cross_entropy(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi32>) -> tensor<f32> {
  // CHECK: megalodon.cross_entropy %{{.*}}, %{{.*}} : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<f32>
  %0 = megalodon.cross_entropy %l, %t : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func @timestep_norm
func.func @timestep_norm(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>,
                         %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>) {
  // CHECK: megalodon.timestep_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-05 : f64, num_groups = 4 : i64}
  %y0, %n0, %m0, %v0 = megalodon.timestep_norm %x, %w, %b {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  // CHECK: megalodon.timestep_norm %{{.*}}, %{{.*}}, %{{.*}} state(%{{.*}}, %{{.*}}, %{{.*}})
  %y1, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b state(%n, %m, %v) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<1x16x64xbf16>, %w: tensor<64xbf16>, %b: tensor<64xbf16>) {
  // CHECK: megalodon.rms_norm %{{.*}} weight(%{{.*}}) {eps = 1.000000e-05 : f64, num_groups = 1 : i64}
  %0 = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16>
  // CHECK: megalodon.rms_norm %{{.*}} {eps = 1.000000e-05 : f64, num_groups = 2 : i64}
  %1 = megalodon.rms_norm %x {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  // CHECK: megalodon.layer_norm %{{.*}} affine(%{{.*}}, %{{.*}})
  %2 = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16>
  // CHECK: megalodon.layer_norm %{{.*}} {eps
  %3 = megalodon.layer_norm %x {eps = 1.0e-5 : f64} : (tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  return
}

// -----

// CHECK-LABEL: func @cema
func.func @cema(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
                %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>,
                %hx: tensor<2x64x4xcomplex<f32>>) {
  // CHECK: megalodon.cema %{{.*}} params(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) :
  %y0, %h0 = megalodon.cema %x params(%a, %d, %t, %g, %o)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  // CHECK: megalodon.cema %{{.*}} params({{.*}}) state(%{{.*}})
  %y1, %h1 = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
  return
}

// -----

// CHECK-LABEL: func @dense
func.func @dense(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>, %s: tensor<64xf32>) {
  // CHECK: megalodon.linear %{{.*}}, %{{.*}} bias(%{{.*}})
  %0 = megalodon.linear %x, %w bias(%b) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<1x16x128xf32>
  // CHECK: megalodon.linear %{{.*}}, %{{.*}} :
  %1 = megalodon.linear %x, %w : (tensor<1x16x64xf32>, tensor<128x64xf32>) -> tensor<1x16x128xf32>
  // CHECK: megalodon.silu
  %2 = megalodon.silu %0 : tensor<1x16x128xf32>
  // CHECK: megalodon.swiglu
  %3 = megalodon.swiglu %0, %1 : tensor<1x16x128xf32>
  // CHECK: megalodon.add
  %4 = megalodon.add %2, %3 : tensor<1x16x128xf32>
  // CHECK: megalodon.mul
  %5 = megalodon.mul %2, %3 : tensor<1x16x128xf32>
  // CHECK: megalodon.scale_channels
  %6 = megalodon.scale_channels %x, %s : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return
}

// -----

// CHECK-LABEL: func @attention
func.func @attention(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %b: tensor<2x32xf32>,
                     %v: tensor<1x32x128xf32>) -> tensor<1x32x128xf32> {
  // CHECK: %[[Q:.*]], %[[K:.*]] = megalodon.shared_qk
  %q, %k = megalodon.shared_qk %z, %g, %b {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>) -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>)
  // CHECK: megalodon.rotary %[[Q]] {base = 1.000000e+04 : f64, chunk_size = 16 : i64, num_heads = 2 : i64}
  %qr = megalodon.rotary %q {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  %kr = megalodon.rotary %k {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  // CHECK: megalodon.chunk_attention %{{.*}}, %{{.*}}, %{{.*}} {chunk_size = 16 : i64, num_heads = 2 : i64}
  %a = megalodon.chunk_attention %qr, %kr, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>) -> tensor<1x32x128xf32>
  return %a : tensor<1x32x128xf32>
}

// -----

// CHECK-LABEL: func @decode_attention
func.func @decode_attention(%q: tensor<1x1x32xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x128xf32>,
                            %kc: tensor<1x16x32xf32>, %vc: tensor<1x16x128xf32>, %len: tensor<i64>) {
  // CHECK: megalodon.rotary %{{.*}} offset(%{{.*}})
  %qr = megalodon.rotary %q offset(%len) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<i64>) -> tensor<1x1x32xf32>
  // CHECK: megalodon.chunk_attention %{{.*}}, %{{.*}}, %{{.*}} cache(%{{.*}}, %{{.*}}, %{{.*}})
  %a = megalodon.chunk_attention %qr, %k, %v cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x1x128xf32>, tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
      -> tensor<1x1x128xf32>
  // CHECK: megalodon.kv_cache_update
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v {chunk_size = 16 : i64}
      : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>, tensor<1x1x32xf32>, tensor<1x1x128xf32>)
      -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
  return
}
