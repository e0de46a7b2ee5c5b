// RUN: megalodon-opt %s -split-input-file | megalodon-opt -split-input-file | FileCheck %s
// Every gradient op, with and without its optional operands, round-trips
// through the printer and parser.

// CHECK-LABEL: func @embedding_grad
func.func @embedding_grad(%t: tensor<256x64xf32>, %tok: tensor<2x16xi32>, %gy: tensor<2x16x64xf32>) {
  // CHECK: megalodon.embedding_grad %{{.*}}[%{{.*}}] grad(%{{.*}}) {scale = 8.000000e+00 : f64} : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  %0 = megalodon.embedding_grad %t[%tok] grad(%gy) {scale = 8.0 : f64}
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  // CHECK: megalodon.embedding_grad %{{.*}}[%{{.*}}] grad(%{{.*}}) : tensor<256x64xf32>
  %1 = megalodon.embedding_grad %t[%tok] grad(%gy)
      : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32> -> tensor<256x64xf32>
  return
}

// -----

// CHECK-LABEL: func @cross_entropy_grad
func.func @cross_entropy_grad(%l: tensor<2x16x256xf32>, %t: tensor<2x16xi64>, %g: tensor<f32>) -> tensor<2x16x256xf32> {
  // CHECK: megalodon.cross_entropy_grad %{{.*}}, %{{.*}} grad(%{{.*}}) : tensor<2x16x256xf32>, tensor<2x16xi64>, tensor<f32> -> tensor<2x16x256xf32>
  %0 = megalodon.cross_entropy_grad %l, %t grad(%g)
      : tensor<2x16x256xf32>, tensor<2x16xi64>, tensor<f32> -> tensor<2x16x256xf32>
  return %0 : tensor<2x16x256xf32>
}

// -----

// CHECK-LABEL: func @timestep_norm_grad
func.func @timestep_norm_grad(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>, %gy: tensor<1x16x64xf32>,
                              %n: tensor<1xi64>, %m: tensor<1x4xf32>, %v: tensor<1x4xf32>,
                              %gm: tensor<1x4xf32>, %gv: tensor<1x4xf32>) {
  // CHECK: megalodon.timestep_norm_grad %{{.*}}, %{{.*}} grad(%{{.*}}) {eps = 1.000000e-05 : f64, num_groups = 4 : i64}
  // CHECK-SAME: -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  %gx0, %gw0, %gb0 = megalodon.timestep_norm_grad %x, %w grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  // CHECK: megalodon.timestep_norm_grad %{{.*}}, %{{.*}} state(%{{.*}}, %{{.*}}, %{{.*}}) grad(%{{.*}}) {
  // CHECK-SAME: -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  %gx1, %gw1, %gb1, %gm1, %gv1 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  // CHECK: megalodon.timestep_norm_grad %{{.*}}, %{{.*}} grad(%{{.*}}, %{{.*}}, %{{.*}}) {
  // CHECK-SAME: -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  %gx2, %gw2, %gb2 = megalodon.timestep_norm_grad %x, %w grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
  // CHECK: megalodon.timestep_norm_grad %{{.*}}, %{{.*}} state(%{{.*}}, %{{.*}}, %{{.*}}) grad(%{{.*}}, %{{.*}}, %{{.*}}) {
  %gx3, %gw3, %gb3, %gm3, %gv3 = megalodon.timestep_norm_grad %x, %w state(%n, %m, %v) grad(%gy, %gm, %gv) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
      -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

// CHECK-LABEL: func @norm_grads
func.func @norm_grads(%x: tensor<1x16x64xbf16>, %w: tensor<64xbf16>, %gy: tensor<1x16x64xbf16>) {
  // CHECK: megalodon.rms_norm_grad %{{.*}} weight(%{{.*}}) grad(%{{.*}}) {eps = 1.000000e-05 : f64, num_groups = 1 : i64}
  // CHECK-SAME: -> (tensor<1x16x64xbf16>, tensor<64xbf16>)
  %0:2 = megalodon.rms_norm_grad %x weight(%w) grad(%gy) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xbf16>, tensor<64xbf16>)
  // CHECK: megalodon.rms_norm_grad %{{.*}} grad(%{{.*}}) {eps = 1.000000e-05 : f64, num_groups = 2 : i64}
  %1 = megalodon.rms_norm_grad %x grad(%gy) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
  // CHECK: megalodon.layer_norm_grad %{{.*}} affine(%{{.*}}) grad(%{{.*}}) {eps = 1.000000e-05 : f64}
  // CHECK-SAME: -> (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
  %2:3 = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<1x16x64xbf16>)
      -> (tensor<1x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
  // CHECK: megalodon.layer_norm_grad %{{.*}} grad(%{{.*}}) {eps = 1.000000e-05 : f64}
  // CHECK-SAME: -> (tensor<1x16x64xbf16>)
  %3 = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-5 : f64}
      : (tensor<1x16x64xbf16>, tensor<1x16x64xbf16>) -> (tensor<1x16x64xbf16>)
  return
}

// -----

// CHECK-LABEL: func @cema_grad
func.func @cema_grad(%x: tensor<2x16x64xf32>, %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>,
                     %t: tensor<64x1x1xf32>, %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>,
                     %hx: tensor<2x64x4xcomplex<f32>>, %gy: tensor<2x16x64xf32>,
                     %gh: tensor<2x64x4xcomplex<f32>>) {
  // CHECK: megalodon.cema_grad %{{.*}} params(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) grad(%{{.*}}) :
  %r0:6 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) grad(%gy)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x16x64xf32>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
  // CHECK: megalodon.cema_grad %{{.*}} params({{.*}}) state(%{{.*}}) grad(%{{.*}}, %{{.*}}) :
  // CHECK-SAME: tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
  %r1:7 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>, tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x64x4xcomplex<f32>>)
  // CHECK: megalodon.cema_grad %{{.*}} params({{.*}}) grad(%{{.*}}, %{{.*}}) :
  %r2:6 = megalodon.cema_grad %x params(%a, %d, %t, %g, %o) grad(%gy, %gh)
      : (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>, tensor<2x16x64xf32>, tensor<2x64x4xcomplex<f32>>)
      -> (tensor<2x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>)
  return
}

// -----

// CHECK-LABEL: func @dense_grads
func.func @dense_grads(%x: tensor<1x16x64xf32>, %w: tensor<128x64xf32>, %gy: tensor<1x16x128xf32>,
                       %h: tensor<1x16x128xf32>, %s: tensor<64xf32>, %gx: tensor<1x16x64xf32>) {
  // CHECK: megalodon.linear_grad %{{.*}}, %{{.*}} grad(%{{.*}}) : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>) -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  %0:3 = megalodon.linear_grad %x, %w grad(%gy)
      : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>)
      -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
  // CHECK: megalodon.silu_grad %{{.*}} grad(%{{.*}}) : tensor<1x16x128xf32>
  %1 = megalodon.silu_grad %h grad(%gy) : tensor<1x16x128xf32>
  // CHECK: megalodon.swiglu_grad %{{.*}}, %{{.*}} grad(%{{.*}}) : tensor<1x16x128xf32>
  %2:2 = megalodon.swiglu_grad %h, %gy grad(%gy) : tensor<1x16x128xf32>
  // CHECK: megalodon.scale_channels_grad %{{.*}}, %{{.*}} grad(%{{.*}}) : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  %3:2 = megalodon.scale_channels_grad %x, %s grad(%gx)
      : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>) -> (tensor<1x16x64xf32>, tensor<64xf32>)
  return
}

// -----

// CHECK-LABEL: func @attention_grads
func.func @attention_grads(%z: tensor<1x32x32xf32>, %g: tensor<2x32xf32>, %q: tensor<1x32x32xf32>,
                           %k: tensor<1x32x32xf32>, %v: tensor<1x32x128xf32>,
                           %ga: tensor<1x32x128xf32>, %off: tensor<i64>) {
  // CHECK: megalodon.chunk_attention_grad %{{.*}}, %{{.*}}, %{{.*}} grad(%{{.*}}) {chunk_size = 16 : i64, num_heads = 2 : i64}
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>, tensor<1x32x128xf32>)
      -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
  // CHECK: megalodon.chunk_attention_grad %{{.*}}, %{{.*}}, %{{.*}} grad(%{{.*}}) out(%{{.*}}) {chunk_size = 16 : i64, num_heads = 2 : i64}
  %gq2, %gk2, %gv2 = megalodon.chunk_attention_grad %q, %k, %v grad(%ga) out(%v) {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>, tensor<1x32x128xf32>, tensor<1x32x128xf32>)
      -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
  // CHECK: megalodon.rotary_grad %{{.*}} {base = 1.000000e+04 : f64, chunk_size = 16 : i64, num_heads = 2 : i64}
  %gqr = megalodon.rotary_grad %gq {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
  // CHECK: megalodon.rotary_grad %{{.*}} offset(%{{.*}}) {base
  %gkr = megalodon.rotary_grad %gk offset(%off) {num_heads = 2 : i64, base = 1.0e4 : f64, chunk_size = 16 : i64}
      : (tensor<1x32x32xf32>, tensor<i64>) -> tensor<1x32x32xf32>
  // CHECK: megalodon.shared_qk_grad %{{.*}}, %{{.*}} grad(%{{.*}}, %{{.*}}) {num_heads = 2 : i64} : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>) -> (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  %gz, %gg, %gb = megalodon.shared_qk_grad %z, %g grad(%gqr, %gkr) {num_heads = 2 : i64}
      : (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>)
      -> (tensor<1x32x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
  return
}
