// RUN: megalodon-opt %s --megalodon-hint-block-kernel-occupancy | FileCheck %s
// RUN: megalodon-opt %s \
// RUN:   --megalodon-hint-block-kernel-occupancy="blocks-per-sm=4" \
// RUN:   | FileCheck %s --check-prefix=FOUR
// RUN: not megalodon-opt %s \
// RUN:   --megalodon-hint-block-kernel-occupancy="blocks-per-sm=0" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD
// BAD: blocks-per-sm must be at least 1, got 0

// Only the kernel whose blocks synchronize gets the register budget hint.
// CHECK-LABEL: gpu.module @kernels
// CHECK: gpu.func @elementwise(%{{.*}}: memref<4xf32>) kernel {
// CHECK: gpu.func @scan(%{{.*}}: memref<4xf32>) kernel attributes {nvvm.minctasm = 2 : i32}
// FOUR: gpu.func @scan(%{{.*}}: memref<4xf32>) kernel attributes {nvvm.minctasm = 4 : i32}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @elementwise(%a: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%t] : memref<4xf32>
      gpu.return
    }
    gpu.func @scan(%a: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<4xf32>
      gpu.barrier
      memref.store %v, %a[%t] : memref<4xf32>
      gpu.return
    }
  }
}
