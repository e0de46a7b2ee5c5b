// RUN: megalodon-opt %s --split-input-file --verify-diagnostics \
// RUN:   --megalodon-emulate-gpu-launches | FileCheck %s

// A kernel of one thread per block becomes a loop over its blocks, its
// thread id and block size constants and its barriers gone; the runtime's
// buffers, frees and syncs become plain allocations, deallocations and
// nothing.
// CHECK-NOT: gpu.container_module
// CHECK-LABEL: func.func @scan
// CHECK-NOT:   gpu.
// CHECK:       %[[BUF:.*]] = memref.alloc(%{{.*}}) : memref<?xi8>
// CHECK:       scf.for %{{.*}} = %{{.*}} to %c1 step %{{.*}} {
// CHECK-NEXT:    scf.for %{{.*}} = %{{.*}} to %c1 step %{{.*}} {
// CHECK-NEXT:      scf.for %[[BX:.*]] = %{{.*}} to %arg0 step %{{.*}} {
// CHECK-NEXT:        %[[T:.*]] = arith.addi %[[BX]], %c0
// CHECK:           %[[V:.*]] = memref.view %[[BUF]][%[[T]]][] : memref<?xi8> to memref<f32>
// CHECK:           memref.store %{{.*}}, %[[V]][]
// CHECK:       memref.dealloc %[[BUF]] : memref<?xi8>
// CHECK-NOT:   call
// CHECK:       return
// CHECK-NOT:   megalodon_gpu
module attributes {gpu.container_module} {
  func.func private @megalodon_gpu_sync()
  func.func private @megalodon_gpu_free(i64)
  func.func @scan(%n: index, %x: f32) {
    %c1 = arith.constant 1 : index
    %buf = gpu.alloc host_shared (%n) : memref<?xi8>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
        threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      %t = gpu.thread_id x
      %shift = arith.addi %bx, %t : index
      %v = memref.view %buf[%shift][] : memref<?xi8> to memref<f32>
      gpu.barrier
      memref.store %x, %v[] : memref<f32>
      gpu.terminator
    }
    %address = memref.extract_aligned_pointer_as_index %buf : memref<?xi8> -> index
    %word = arith.index_cast %address : index to i64
    func.call @megalodon_gpu_free(%word) : (i64) -> ()
    func.call @megalodon_gpu_sync() : () -> ()
    return
  }
}

// -----

// Workgroup memory is a buffer per block, in the default memory space, and
// so are the views of it.
// CHECK-LABEL: func.func @tile
// CHECK:       scf.for %[[BX:.*]] = %{{.*}} to %c4
// CHECK-NEXT:    %[[TILE:.*]] = memref.alloc() : memref<4x4xf32>
// CHECK:         %[[ROW:.*]] = memref.subview %[[TILE]][%[[BX]], 0] [1, 4] [1, 1] : memref<4x4xf32> to memref<4xf32, strided<[1], offset: ?>>
// CHECK:         memref.store %{{.*}}, %[[ROW]][%{{.*}}] : memref<4xf32, strided<[1], offset: ?>>
// CHECK:         memref.dealloc %[[TILE]]
module attributes {gpu.container_module} {
  func.func @tile(%x: f32) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
        threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
        workgroup(%tile : memref<4x4xf32, #gpu.address_space<workgroup>>) {
      %row = memref.subview %tile[%bx, 0] [1, 4] [1, 1]
          : memref<4x4xf32, #gpu.address_space<workgroup>>
            to memref<4xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
      memref.store %x, %row[%tx]
          : memref<4xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
      gpu.terminator
    }
    return
  }
}

// -----

// Blocks of several threads run in an order a loop cannot reproduce.
module attributes {gpu.container_module} {
  func.func @wide(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    // expected-error @+1 {{has more than one thread per block; emulation needs the GPU pipeline's block-size=1}}
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
        threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %v = memref.load %a[%tx] : memref<4xf32>
      memref.store %v, %a[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}
