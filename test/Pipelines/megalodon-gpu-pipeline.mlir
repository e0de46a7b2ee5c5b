// RUN: megalodon-opt %s --megalodon-gpu-pipeline="serialize=false" | FileCheck %s --check-prefix=GPU
// RUN: megalodon-opt %s --megalodon-gpu-pipeline="serialize=false" | FileCheck %s --check-prefix=SCAN
// RUN: megalodon-opt %s --megalodon-gpu-pipeline | FileCheck %s --check-prefix=PTX
// RUN: megalodon-opt %s --megalodon-gpu-pipeline="chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: megalodon-opt %s --megalodon-gpu-pipeline="emulate=1" | FileCheck %s --check-prefix=EMU
// RUN: megalodon-opt %s --megalodon-gpu-pipeline="serialize=false cema-matrix-block=16" | FileCheck %s --check-prefix=CEMA

// The GPU pipeline, stage by stage: the same linalg and bufferization as on
// the CPU, then one kernel per parallel loop nest, outlined into one
// gpu.module, then PTX from LLVM's NVPTX backend embedded in the host code.

// Each kernel's FLOPs and bytes per launch are recorded
// (megalodon-estimate-kernel-costs): @block's second kernel normalizes,
// applies SiLU and adds the residual, 10 FLOPs for each of the 128
// elements, reading x (512 bytes), the row statistics (32) and the weight
// (64) and writing the output (512).
// GPU: module attributes {gpu.container_module, megalodon.kernel_costs = {
// GPU-SAME: block_kernel_1 = array<i64: 1280, 1120>
// GPU-LABEL: func.func @block
// GPU-SAME: (%{{.*}}: memref<1x8x16xf32>, %{{.*}}: memref<16xf32>, %[[OUT:.*]]: memref<1x8x16xf32>)
// GPU-NOT: megalodon.
// GPU: gpu.launch_func @megalodon_kernels::@block_kernel
// GPU: call @megalodon_gpu_sync()
// GPU-NEXT: return
// GPU: gpu.module @megalodon_kernels
// GPU: gpu.func @block_kernel(
// GPU-SAME: kernel
// GPU-NOT: gpu.module

// One binary holds every kernel, as PTX for sm_90 with no calls left to
// libdevice (transcendentals are polynomials); the host code is LLVM.
// PTX-NOT: {{^ *(%.* = )?megalodon\.}}
// PTX-NOT: linalg.
// PTX: llvm.func @megalodon_gpu_sync()
// PTX: llvm.func @block(
// PTX: gpu.launch_func @megalodon_kernels::@block_kernel
// PTX: llvm.func @_mlir_ciface_block(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// PTX: gpu.binary @megalodon_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// PTX-SAME: .target sm_90
// PTX-SAME: .visible .entry block_kernel(
// PTX-NOT: __nv_
// PTX-NOT: .extern
// PTX-NOT: gpu.binary

// SM80: gpu.binary @megalodon_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80"
// SM80-SAME: .target sm_80
func.func @block(%x: tensor<1x8x16xf32>, %w: tensor<16xf32>) -> tensor<1x8x16xf32>
    attributes {llvm.emit_c_interface} {
  %n = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-5 : f64}
      : (tensor<1x8x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %s = megalodon.silu %n : tensor<1x8x16xf32>
  %y = megalodon.add %x, %s : tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}

// A scan over time (timestep_norm) is one kernel: a single block runs the
// loop over the 16 positions (bounds are constants in the kernel, not
// parameters), its phases separated by barriers, and ptxas is told to
// budget registers for two resident blocks.
// SCAN: gpu.func @scan_kernel{{.*}} kernel attributes {{{.*}}nvvm.minctasm = 2
// SCAN: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1
// SCAN: scf.for %{{.*}} = %thread_id_x{{.*}} to %{{.*}} step %block_dim_x
// SCAN: gpu.barrier
// SCAN-LABEL: func.func @scan
// SCAN-NOT: scf.for
// SCAN: return
// PTX: .visible .entry scan_kernel
// PTX-SAME: .minnctapersm 2
// PTX-SAME: bar.sync
// The same kernels, one thread per block, as host loops for the CPU.
// EMU-NOT: gpu.
// EMU: llvm.func @scan(
// EMU-NOT: gpu.
func.func @scan(%x: tensor<1x16x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>)
    -> tensor<1x16x8xf32> attributes {llvm.emit_c_interface} {
  %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x16x8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<1x16x8xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  return %y : tensor<1x16x8xf32>
}

// cema in blocks of 16 steps: the 4 blocks' contractions are parallel
// kernels, and the scan over blocks is a kernel in which every thread
// carries one state (batch row, state, channel) through the 4 blocks,
// saving the state entering each; no host loop, no barrier.
// CEMA: gpu.module @megalodon_kernels
// CEMA: %[[SAVED:.*]] = memref.subview %{{.*}}[0, %{{.*}}, 0, 0] [2, 1, 4, 8]
// CEMA-NEXT: %[[H:.*]] = memref.load
// CEMA-NEXT: memref.store %[[H]], %[[SAVED]]
// CEMA-NOT: gpu.barrier
// CEMA: gpu.return
// CEMA: func.func @cema(
// CEMA-NOT: scf.for
// CEMA: return
func.func @cema(%x: tensor<2x64x8xf32>, %a: tensor<8x4x1xf32>,
                %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>,
                %o: tensor<8x1xf32>) -> tensor<2x64x8xf32>
    attributes {llvm.emit_c_interface} {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<2x64x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
      -> (tensor<2x64x8xf32>, tensor<2x8x4xcomplex<f32>>)
  return %y : tensor<2x64x8xf32>
}
