// RUN: megalodon-opt %s -split-input-file --megalodon-free-parallel-buffers | FileCheck %s

// A scratch buffer of a parallel body is freed at the end of that body.
// CHECK-LABEL: func @scratch
// CHECK: scf.forall
// CHECK: %[[A:.*]] = memref.alloc() : memref<16xf32>
// CHECK: linalg.fill
// CHECK: memref.copy %[[A]]
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NEXT: }
func.func @scratch(%out: memref<2x16xf32>) {
  %cst = arith.constant 0.0 : f32
  scf.forall (%i) in (2) {
    %a = memref.alloc() : memref<16xf32>
    linalg.fill ins(%cst : f32) outs(%a : memref<16xf32>)
    %row = memref.subview %out[%i, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    memref.copy %a, %row : memref<16xf32> to memref<16xf32, strided<[1], offset: ?>>
  }
  return
}

// -----

// Buffers freed already, and buffers outside parallel bodies, are left alone.
// CHECK-LABEL: func @untouched
// CHECK: %[[B:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.forall
// CHECK: %[[C:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.dealloc %[[C]]
// CHECK-NOT: memref.dealloc
// CHECK: }
// CHECK: memref.dealloc %[[B]]
func.func @untouched() {
  %b = memref.alloc() : memref<4xf32>
  scf.forall (%i) in (2) {
    %c = memref.alloc() : memref<4xf32>
    memref.dealloc %c : memref<4xf32>
  }
  memref.dealloc %b : memref<4xf32>
  return
}

// -----

// A buffer in a loop nested inside the parallel body is freed per iteration.
// CHECK-LABEL: func @nested
// CHECK: scf.forall
// CHECK: scf.for
// CHECK: %[[D:.*]] = memref.alloc() : memref<8xf32>
// CHECK: memref.dealloc %[[D]]
// CHECK-NEXT: }
func.func @nested(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  scf.forall (%i) in (2) {
    scf.for %j = %c0 to %n step %c1 {
      %d = memref.alloc() : memref<8xf32>
      linalg.fill ins(%cst : f32) outs(%d : memref<8xf32>)
    }
  }
  return
}
