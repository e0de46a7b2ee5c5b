// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-map-loops-to-gpu="block-size=128" | FileCheck %s
// RUN: not megalodon-opt %s --split-input-file \
// RUN:   --megalodon-map-loops-to-gpu="block-size=2048" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD-BLOCK
// BAD-BLOCK: block-size must be in [1, 1024], got 2048

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

// A parallel loop around parallel loops (attention's chunk loop) runs on the
// host; the loops inside become kernels. Host buffers are shared and freed
// through the runtime; the host reads a scalar only after a sync.
// CHECK-LABEL: func.func @nested
func.func @nested(%a: memref<2x8xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %buf = memref.alloc() : memref<8xf32>
  scf.parallel (%chunk) = (%c0) to (%c2) step (%c1) {
    scf.parallel (%k) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %a[%chunk, %k] : memref<2x8xf32>
      memref.store %x, %buf[%k] : memref<8xf32>
      scf.reduce
    }
    scf.reduce
  }
  %v = memref.load %buf[%c0] : memref<8xf32>
  memref.store %v, %out[] : memref<f32>
  memref.dealloc %buf : memref<8xf32>
  return
}
// CHECK:      %[[BUF:.*]] = gpu.alloc  host_shared () : memref<8xf32>
// CHECK:      scf.for %[[CHUNK:.*]] = %c0 to %c2 step %c1 {
// CHECK:        gpu.launch
// CHECK:          memref.load %{{.*}}[%[[CHUNK]], %{{.*}}]
// CHECK:      }
// CHECK:      call @megalodon_gpu_sync()
// CHECK-NEXT: memref.load %[[BUF]][%c0]
// CHECK-NOT:  call @megalodon_gpu_sync()
// CHECK:      memref.store
// CHECK:      %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %[[BUF]]
// CHECK:      %[[WORD:.*]] = arith.index_cast %[[ADDRESS]] : index to i64
// CHECK:      call @megalodon_gpu_free(%[[WORD]])
// CHECK-NOT:  call @megalodon_gpu_sync()
// CHECK:      return

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
