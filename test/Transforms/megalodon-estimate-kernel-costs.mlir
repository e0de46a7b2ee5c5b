// RUN: megalodon-opt %s --megalodon-estimate-kernel-costs | FileCheck %s

// One launch's [FLOPs, bytes] per kernel, in the module attribute:
// * @elementwise, one iteration per thread: the guard's body runs n = 100
//   times (not once per each of the 256 launched threads): 100 x (mul +
//   add); bytes of the two buffers it touches (the third is only measured).
// * @nest, one loop nest per block: 4 blocks x 10 steps x (64 strided
//   iterations x one fma (2) + thread 0's add (1)); the sequential add that
//   every thread repeats counts once per block.
// * @dynamic: a trip count that is an argument of the host function is not
//   known: -1; its buffers are 64 floats and 32 complex numbers (8 bytes
//   each).
// CHECK: megalodon.kernel_costs = {
// CHECK-SAME: dynamic = array<i64: -1, 512>
// CHECK-SAME: elementwise = array<i64: 200, 800>
// CHECK-SAME: nest = array<i64: 5160, 1024>
module attributes {gpu.container_module} {
  func.func @host(%a: memref<100xf32>, %b: memref<100xf32>,
                  %unused: memref<1000xf32>, %s: memref<4x64xf32>,
                  %d: memref<64xf32>, %c: memref<32xcomplex<f32>>,
                  %steps: index) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c100 = arith.constant 100 : index
    %c256 = arith.constant 256 : index
    gpu.launch_func @kernels::@elementwise blocks in (%c1, %c1, %c1)
        threads in (%c256, %c1, %c1)
        args(%c100 : index, %a : memref<100xf32>, %b : memref<100xf32>,
             %unused : memref<1000xf32>)
    gpu.launch_func @kernels::@nest blocks in (%c4, %c1, %c1)
        threads in (%c256, %c1, %c1) args(%s : memref<4x64xf32>)
    gpu.launch_func @kernels::@dynamic blocks in (%c1, %c1, %c1)
        threads in (%c256, %c1, %c1)
        args(%steps : index, %d : memref<64xf32>,
             %c : memref<32xcomplex<f32>>)
    return
  }
  gpu.module @kernels {
    gpu.func @elementwise(%n: index, %a: memref<100xf32>, %b: memref<100xf32>,
                          %unused: memref<1000xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c256 = arith.constant 256 : index
      %block = gpu.block_id x
      %thread = gpu.thread_id x
      %base = arith.muli %block, %c256 : index
      %i = arith.addi %base, %thread : index
      %size = memref.dim %unused, %c0 : memref<1000xf32>
      %inside = arith.cmpi slt, %i, %n : index
      scf.if %inside {
        %x = memref.load %a[%i] : memref<100xf32>
        %y = arith.mulf %x, %x : f32
        %z = arith.addf %y, %x : f32
        memref.store %z, %b[%i] : memref<100xf32>
      }
      gpu.return
    }
    gpu.func @nest(%s: memref<4x64xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c10 = arith.constant 10 : index
      %c64 = arith.constant 64 : index
      %block = gpu.block_id x
      %thread = gpu.thread_id x
      %threads = gpu.block_dim x
      scf.for %t = %c0 to %c10 step %c1 {
        scf.for %j = %thread to %c64 step %threads {
          %x = memref.load %s[%block, %j] : memref<4x64xf32>
          %y = math.fma %x, %x, %x : f32
          memref.store %y, %s[%block, %j] : memref<4x64xf32>
        }
        gpu.barrier
        %first = arith.cmpi eq, %thread, %c0 : index
        scf.if %first {
          %x = memref.load %s[%block, %c0] : memref<4x64xf32>
          %y = arith.addf %x, %x : f32
          memref.store %y, %s[%block, %c0] : memref<4x64xf32>
        }
        gpu.barrier
      }
      gpu.return
    }
    gpu.func @dynamic(%steps: index, %d: memref<64xf32>,
                      %c: memref<32xcomplex<f32>>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      scf.for %t = %c0 to %steps step %c1 {
        %x = memref.load %d[%t] : memref<64xf32>
        %y = arith.addf %x, %x : f32
        memref.store %y, %d[%t] : memref<64xf32>
        %z = memref.load %c[%t] : memref<32xcomplex<f32>>
        memref.store %z, %c[%t] : memref<32xcomplex<f32>>
      }
      gpu.return
    }
  }
}
