// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-map-loops-to-gpu="block-size=128" | FileCheck %s
// RUN: not megalodon-opt %s --split-input-file \
// RUN:   --megalodon-map-loops-to-gpu="block-size=2048" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD-BLOCK
// BAD-BLOCK: block-size must be in [1, 1024], got 2048
// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-map-loops-to-gpu="block-size=128 max-block-work=4" \
// RUN:   | FileCheck %s --check-prefix=HOST
// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-map-loops-to-gpu="block-size=128 workgroup-bytes=0" \
// RUN:   | FileCheck %s --check-prefix=SCRATCH

// The runtime's calls, declared once.
// CHECK: module attributes {gpu.container_module}
// CHECK: func.func private @megalodon_gpu_sync()
// CHECK: func.func private @megalodon_gpu_free(i64)

// An elementwise nest: one kernel, one thread per (i, j), j fastest.
// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: memref<4x100xf32>, %b: memref<4x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c100) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<4x100xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %b[%i, %j] : memref<4x100xf32>
    scf.reduce
  }
  return
}
// CHECK:      %[[GRID:.*]] = arith.ceildivsi %[[TOTAL:.*]], %c128
// CHECK:      %[[BLOCKS:.*]] = arith.maxsi %[[GRID]], %c1
// CHECK:      gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK:        %[[BASE:.*]] = arith.muli %[[BX]], %c128
// CHECK:        %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:        %[[IN:.*]] = arith.cmpi slt, %[[ID]], %[[TOTAL]]
// CHECK:        scf.if %[[IN]] {
// CHECK:          %[[J:.*]] = arith.remsi %[[ID]]
// CHECK:          %[[I:.*]] = arith.divsi %[[ID]]
// CHECK:          memref.load %{{.*}}[%{{.*}}, %{{.*}}]
// CHECK:        gpu.terminator
// CHECK-NOT:  scf.parallel
// The kernel may still run when the function returns.
// CHECK:      call @megalodon_gpu_sync()
// CHECK-NEXT: return

// A parallel loop around parallel loops (attention's chunk loop) is one
// kernel with a block per chunk: each parallel loop inside is spread over
// the block's threads, with a barrier between them, and the chunk's buffer
// is in workgroup memory (with no room there, the block's slice of one
// shared allocation, freed after the launch).
// With max-block-work below the inner loops' 8 iterations, the chunk loop
// runs on the host instead and each inner loop is a kernel of its own.
// CHECK-LABEL: func.func @chunks
// HOST-LABEL: func.func @chunks
// SCRATCH-LABEL: func.func @chunks
func.func @chunks(%a: memref<2x8xf32>, %out: memref<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%chunk) = (%c0) to (%c2) step (%c1) {
    %buf = memref.alloc() : memref<8xf32>
    scf.parallel (%k) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %a[%chunk, %k] : memref<2x8xf32>
      memref.store %x, %buf[%k] : memref<8xf32>
      scf.reduce
    }
    scf.parallel (%k) = (%c0) to (%c8) step (%c1) {
      %r = arith.subi %c8, %k : index
      %j = arith.subi %r, %c1 : index
      %x = memref.load %buf[%j] : memref<8xf32>
      memref.store %x, %out[%chunk, %k] : memref<2x8xf32>
      scf.reduce
    }
    memref.dealloc %buf : memref<8xf32>
    scf.reduce
  }
  return
}
// CHECK-NOT:  gpu.alloc
// CHECK:      gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in {{.*}} workgroup(%[[BUF:.*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:        scf.for %[[I:.*]] = %[[TX:.*]] to %{{.*}} step %[[NX:.*]] {
// CHECK:          memref.store %{{.*}}, %[[BUF]][%{{.*}}] : memref<8xf32, #gpu.address_space<workgroup>>
// CHECK:        }
// CHECK-NEXT:   gpu.barrier
// CHECK:        scf.for
// CHECK:          memref.load %[[BUF]]
// CHECK-NOT:    gpu.barrier
// CHECK:        gpu.terminator
// CHECK-NOT:  megalodon_gpu_free
// CHECK:      call @megalodon_gpu_sync()
// CHECK-NEXT: return
// SCRATCH:      %[[SLICE:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// SCRATCH:      %[[BYTES:.*]] = arith.muli %[[BLOCKS:.*]], %[[SLICE]]
// SCRATCH:      %[[SCRATCH:.*]] = gpu.alloc  host_shared (%[[BYTES]]) : memref<?xi8>
// SCRATCH:      gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], {{.*}} threads({{.*}}) in (%{{.*}} = %c128
// SCRATCH:        %[[BASE:.*]] = arith.muli %[[BX]], %[[SLICE]]
// SCRATCH:        %[[SHIFT:.*]] = arith.addi %[[BASE]], %{{.*}}
// SCRATCH:        %[[BUF:.*]] = memref.view %[[SCRATCH]][%[[SHIFT]]][] : memref<?xi8> to memref<8xf32>
// SCRATCH:        %[[TX:.*]] = gpu.thread_id  x
// SCRATCH:        %[[NX:.*]] = gpu.block_dim  x
// SCRATCH:        scf.for %[[I:.*]] = %[[TX]] to %{{.*}} step %[[NX]] {
// SCRATCH:          memref.load %{{.*}}[%[[CHUNK:.*]], %{{.*}}]
// SCRATCH:          memref.store %{{.*}}, %[[BUF]]
// SCRATCH:        }
// SCRATCH-NEXT:   gpu.barrier
// SCRATCH:        scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// SCRATCH:          memref.load %[[BUF]]
// SCRATCH:        }
// SCRATCH-NOT:    gpu.barrier
// SCRATCH-NOT:    memref.dealloc
// SCRATCH:        gpu.terminator
// SCRATCH:      %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %[[SCRATCH]]
// SCRATCH:      %[[WORD:.*]] = arith.index_cast %[[ADDRESS]] : index to i64
// SCRATCH:      call @megalodon_gpu_free(%[[WORD]])
// SCRATCH:      call @megalodon_gpu_sync()
// SCRATCH-NEXT: return
// HOST:       %[[BUF:.*]] = gpu.alloc  host_shared () : memref<8xf32>
// HOST:       gpu.launch
// HOST:         memref.store %{{.*}}, %[[BUF]]
// HOST:       gpu.launch
// HOST:         memref.load %[[BUF]]
// HOST:       }
// HOST:       call @megalodon_gpu_free
// HOST:       }
// HOST:       call @megalodon_gpu_sync()
// HOST-NEXT:  return

// A scan over time (timestep_norm's): the host loop with a counter and a
// parallel loop per step is one kernel of one block that runs the whole
// loop. Every thread reads the counter; thread 0 alone stores its new
// value, between barriers; the host reads the result after a sync. The
// kernel has its own copies of the constants it uses (immediates, not
// parameters, once outlined).
// CHECK-LABEL: func.func @scan
func.func @scan(%x: memref<16x4xf32>, %count: memref<i64>,
                %state: memref<4xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1 : i64
  scf.for %t = %c0 to %c16 step %c1 {
    %n = memref.load %count[] : memref<i64>
    %n1 = arith.addi %n, %one : i64
    memref.store %n1, %count[] : memref<i64>
    %w = arith.sitofp %n1 : i64 to f32
    scf.parallel (%g) = (%c0) to (%c4) step (%c1) {
      %v = memref.load %x[%t, %g] : memref<16x4xf32>
      %s = memref.load %state[%g] : memref<4xf32>
      %d = arith.subf %v, %s : f32
      %u = arith.divf %d, %w : f32
      %s1 = arith.addf %s, %u : f32
      memref.store %s1, %state[%g] : memref<4xf32>
      scf.reduce
    }
  }
  %r = memref.load %state[%c0] : memref<4xf32>
  memref.store %r, %out[] : memref<f32>
  return
}
// CHECK:      gpu.launch blocks({{.*}}) in (%{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads({{.*}}) in (%{{.*}} = %c128
// CHECK:        %[[C0:.*]] = arith.constant 0 : index
// CHECK:        %[[C16:.*]] = arith.constant 16 : index
// CHECK-NEXT:   scf.for %[[T:.*]] = %[[C0]] to %[[C16]] step %{{.*}} {
// CHECK-NEXT:     %[[N:.*]] = memref.load %{{.*}}[] : memref<i64>
// CHECK-NEXT:     %[[N1:.*]] = arith.addi %[[N]]
// CHECK-NEXT:     gpu.barrier
// CHECK-NEXT:     %[[TX:.*]] = gpu.thread_id  x
// CHECK:          %[[IS0:.*]] = arith.cmpi eq, %[[TX]], %{{.*}}
// CHECK-NEXT:     scf.if %[[IS0]] {
// CHECK-NEXT:       memref.store %[[N1]], %{{.*}}[] : memref<i64>
// CHECK-NEXT:     }
// CHECK-NEXT:     gpu.barrier
// CHECK:          scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:            memref.load %{{.*}}[%[[T]], %{{.*}}]
// CHECK:          }
// CHECK-NEXT:     gpu.barrier
// CHECK-NEXT:   }
// CHECK-NEXT:   gpu.terminator
// CHECK:      call @megalodon_gpu_sync()
// CHECK-NEXT: memref.load

// Nests the block form does not take stay host loops around kernels: a
// parallel loop whose trip count is only known at run time (it may exceed
// what one block should do), and a host call inside the loop.
// CHECK-LABEL: func.func @dynamic_phase
func.func @dynamic_phase(%n: index, %x: memref<16x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.for %t = %c0 to %c16 step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %zero, %x[%t, %i] : memref<16x?xf32>
      scf.reduce
    }
  }
  return
}
// CHECK:      scf.for
// CHECK:        gpu.launch
// CHECK-NOT:      gpu.barrier
// CHECK:      call @megalodon_gpu_sync()

func.func private @observe(index)
// CHECK-LABEL: func.func @host_call
func.func @host_call(%x: memref<16x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.for %t = %c0 to %c16 step %c1 {
    func.call @observe(%t) : (index) -> ()
    scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
      memref.store %zero, %x[%t, %i] : memref<16x4xf32>
      scf.reduce
    }
  }
  return
}
// CHECK:      scf.for
// CHECK:        call @observe
// CHECK:        gpu.launch
// CHECK-NOT:      gpu.barrier

// Constant tables are copied out of the host library's data.
// CHECK-LABEL: func.func @lookup
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @lookup(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.get_global @table : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %x = memref.load %t[%i] : memref<4xf32>
    memref.store %x, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
// Nothing is pending when a function starts; a freed buffer is reused only
// in stream order, so the free need not wait for the kernel.
// CHECK:      %[[GLOBAL:.*]] = memref.get_global @table
// CHECK-NEXT: %[[COPY:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// CHECK-NEXT: memref.copy %[[GLOBAL]], %[[COPY]]
// CHECK:      gpu.launch
// CHECK:        memref.load %[[COPY]]
// CHECK:      call @megalodon_gpu_free
// CHECK-NEXT: call @megalodon_gpu_sync()
// CHECK-NEXT: return

// -----

// A parallel loop with a reduction has no kernel form here (linalg's
// parallel-loop lowering never makes one).
func.func @reduction(%a: memref<8xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{with reductions cannot become a kernel}}
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %x = memref.load %a[%i] : memref<8xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  memref.store %sum, %out[] : memref<f32>
  return
}

// -----

// A stack buffer lives until the call returns, where it is freed; made in a
// host loop, there would be one per iteration and the free would not see it.
func.func @alloca_in_loop(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    // expected-error @+1 {{inside a host loop or branch has no GPU form}}
    %t = memref.alloca() : memref<4xf32>
    memref.copy %t, %out : memref<4xf32> to memref<4xf32>
  }
  return
}
