// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline="builtin.module(gpu.module(megalodon-define-libdevice-functions))" \
// RUN:   | FileCheck %s

// The libdevice functions convert-gpu-to-nvvm leaves after the math
// approximations get bodies of NVVM intrinsics, internal so that LLVM
// inlines them.
// CHECK-LABEL: gpu.module @kernels
gpu.module @kernels {
  // CHECK: llvm.func internal @__nv_sqrtf(%[[X:.*]]: f32) -> f32
  // CHECK-NEXT: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[X]]) : (f32) -> f32
  // CHECK-NEXT: llvm.return %[[S]]
  llvm.func @__nv_sqrtf(f32) -> f32
  // CHECK: llvm.func internal @__nv_rsqrtf(%[[Y:.*]]: f32) -> f32
  // CHECK-NEXT: %[[ONE:.*]] = llvm.mlir.constant(1.000000e+00 : f32)
  // CHECK-NEXT: %[[R:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[Y]])
  // CHECK-NEXT: %[[Q:.*]] = llvm.fdiv %[[ONE]], %[[R]] : f32
  // CHECK-NEXT: llvm.return %[[Q]]
  llvm.func @__nv_rsqrtf(f32) -> f32
  // CHECK: llvm.func internal @__nv_floorf
  // CHECK: llvm.call_intrinsic "llvm.nvvm.floor.f"
  llvm.func @__nv_floorf(f32) -> f32
  // CHECK: llvm.func internal @__nv_fmaf(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32) -> f32
  // CHECK: llvm.call_intrinsic "llvm.nvvm.fma.rn.f"(%[[A]], %[[B]], %[[C]])
  llvm.func @__nv_fmaf(f32, f32, f32) -> f32
  // Other declarations are left alone.
  // CHECK: llvm.func @helper(f32) -> f32
  llvm.func @helper(f32) -> f32
}

// -----

gpu.module @kernels {
  // expected-error @+1 {{libdevice function __nv_expf has no definition without the CUDA toolkit}}
  llvm.func @__nv_expf(f32) -> f32
}

// -----

gpu.module @kernels {
  // Double precision has no definition either.
  // expected-error @+1 {{libdevice function __nv_sqrt has no definition}}
  llvm.func @__nv_sqrt(f64) -> f64
}
