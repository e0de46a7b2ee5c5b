// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-merge-gpu-modules | FileCheck %s

// Each outlined kernel comes in its own module, named after it; afterwards
// one module holds them all, each named after the module it came from, and
// every launch points at the new symbol.
// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func @megalodon_kernels::@f_kernel blocks
// CHECK: gpu.launch_func @megalodon_kernels::@f_kernel_0 blocks
// CHECK: gpu.launch_func @megalodon_kernels::@g_kernel_first blocks
// CHECK: gpu.launch_func @megalodon_kernels::@g_kernel_second blocks
// CHECK: gpu.module @megalodon_kernels {
// CHECK-NEXT: gpu.func @f_kernel() kernel
// CHECK: gpu.func @f_kernel_0() kernel
// CHECK: gpu.func @g_kernel_first() kernel
// CHECK: gpu.func @g_kernel_second() kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @g_kernel::@first blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @g_kernel::@second blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel() kernel { gpu.return }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel() kernel { gpu.return }
  }
  gpu.module @g_kernel {
    gpu.func @first() kernel { gpu.return }
    gpu.func @second() kernel { gpu.return }
  }
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{holds func.func, not only kernels; cannot merge}}
  gpu.module @k {
    func.func @helper() { return }
  }
}
