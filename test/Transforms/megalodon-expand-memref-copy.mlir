// RUN: megalodon-opt %s -split-input-file --megalodon-expand-memref-copy | FileCheck %s

// CHECK-LABEL: func @strided_copy
// CHECK-SAME: (%[[SRC:.*]]: memref<4xf32, strided<[2]>>, %[[DST:.*]]: memref<4xf32>)
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%[[SRC]] : memref<4xf32, strided<[2]>>) outs(%[[DST]] : memref<4xf32>)
func.func @strided_copy(%a: memref<4xf32, strided<[2]>>, %b: memref<4xf32>) {
  memref.copy %a, %b : memref<4xf32, strided<[2]>> to memref<4xf32>
  return
}

// -----

// CHECK-LABEL: func @copy_in_loop
// CHECK: scf.for
// CHECK: linalg.copy
func.func @copy_in_loop(%a: memref<8x4xf32>, %b: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %row = memref.subview %a[%i, 0] [1, 4] [1, 1] : memref<8x4xf32> to memref<4xf32, strided<[1], offset: ?>>
    memref.copy %row, %b : memref<4xf32, strided<[1], offset: ?>> to memref<4xf32>
  }
  return
}
