// RUN: megalodon-opt %s --megalodon-interchange-elementwise-scans --split-input-file | FileCheck %s

// cema's scan over blocks: the state entering block m is saved, then the
// state advances; every access is at the element of the iteration (the
// saved copy at a block offset that is not one of the parallel dimensions),
// so each element walks the blocks on its own.
// CHECK-LABEL: func.func @block_scan
// CHECK: scf.parallel (%[[B:.*]], %[[D:.*]]) =
// CHECK-NEXT: scf.for %[[M:.*]] =
// CHECK-NEXT: %[[SAVED:.*]] = memref.subview %[[ENTERING:.*]][0, %[[M]], 0]
// CHECK-NEXT: %[[H:.*]] = memref.load %[[STATE:.*]][%[[B]], %[[D]]]
// CHECK-NEXT: memref.store %[[H]], %[[SAVED]][%[[B]], %[[D]]]
// CHECK: memref.store %{{.*}}, %[[STATE]][%[[B]], %[[D]]]
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @block_scan(%decay: memref<8xf32>, %u: memref<2x4x8xf32>)
    -> (memref<2x8xf32>, memref<2x4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %state = memref.alloc() : memref<2x8xf32>
  %entering = memref.alloc() : memref<2x4x8xf32>
  scf.for %m = %c0 to %c4 step %c1 {
    %saved = memref.subview %entering[0, %m, 0] [2, 1, 8] [1, 1, 1]
        : memref<2x4x8xf32> to memref<2x8xf32, strided<[32, 1], offset: ?>>
    scf.parallel (%b, %d) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) {
      %h = memref.load %state[%b, %d] : memref<2x8xf32>
      memref.store %h, %saved[%b, %d] : memref<2x8xf32, strided<[32, 1], offset: ?>>
      scf.reduce
    }
    scf.parallel (%b, %d) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) {
      %h = memref.load %state[%b, %d] : memref<2x8xf32>
      %q = memref.load %decay[%d] : memref<8xf32>
      %x = memref.load %u[%b, %m, %d] : memref<2x4x8xf32>
      %qh = arith.mulf %q, %h : f32
      %next = arith.addf %qh, %x : f32
      memref.store %next, %state[%b, %d] : memref<2x8xf32>
      scf.reduce
    }
  }
  return %state, %entering : memref<2x8xf32>, memref<2x4x8xf32>
}

// -----

// Nests: the inner loop is interchanged first, which makes the outer one a
// candidate too.
// CHECK-LABEL: func.func @nest
// CHECK: scf.parallel (%[[D:.*]]) =
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @nest(%x: memref<16x4x8xf32>) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<8xf32>
  scf.for %t = %c0 to %c16 step %c1 {
    scf.for %n = %c0 to %c4 step %c1 {
      scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
        %a = memref.load %acc[%d] : memref<8xf32>
        %v = memref.load %x[%t, %n, %d] : memref<16x4x8xf32>
        %s = arith.addf %a, %v : f32
        memref.store %s, %acc[%d] : memref<8xf32>
        scf.reduce
      }
    }
  }
  return %acc : memref<8xf32>
}

// -----

// A prefix sum reads the previous element: iterations meet, the loop stays.
// CHECK-LABEL: func.func @neighbour
// CHECK: scf.for
// CHECK-NEXT: memref.subview
// CHECK-NEXT: scf.parallel
func.func @neighbour(%n: index) -> memref<9xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %acc = memref.alloc() : memref<9xf32>
  scf.for %t = %c0 to %c4 step %c1 {
    %shifted = memref.subview %acc[1] [8] [1]
        : memref<9xf32> to memref<8xf32, strided<[1], offset: 1>>
    scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
      %a = memref.load %acc[%d] : memref<9xf32>
      %b = memref.load %shifted[%d] : memref<8xf32, strided<[1], offset: 1>>
      %s = arith.addf %a, %b : f32
      memref.store %s, %shifted[%d] : memref<8xf32, strided<[1], offset: 1>>
      scf.reduce
    }
  }
  return %acc : memref<9xf32>
}

// -----

// Iterations that write one element (the batch dimension is not indexed),
// a store into a function argument (which may alias what is read), an
// allocation inside the loop, parallel loops over different spaces and a
// loop-carried value all keep the loop.
// CHECK-LABEL: func.func @kept
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: memref.alloc
// CHECK-NEXT: scf.parallel
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.for {{.*}} iter_args
// CHECK-NEXT: scf.parallel
func.func @kept(%arg: memref<8xf32>, %in: memref<8xf32>) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %cst = arith.constant 1.0 : f32
  %acc = memref.alloc() : memref<8xf32>
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%b, %d) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) {
      memref.store %cst, %acc[%d] : memref<8xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %in[%d] : memref<8xf32>
      memref.store %v, %arg[%d] : memref<8xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c4 step %c1 {
    %tmp = memref.alloc() : memref<8xf32>
    scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
      memref.store %cst, %tmp[%d] : memref<8xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
      memref.store %cst, %acc[%d] : memref<8xf32>
      scf.reduce
    }
    scf.parallel (%d) = (%c0) to (%c4) step (%c1) {
      memref.store %cst, %acc[%d] : memref<8xf32>
      scf.reduce
    }
  }
  %r = scf.for %t = %c0 to %c4 step %c1 iter_args(%x = %cst) -> f32 {
    scf.parallel (%d) = (%c0) to (%c8) step (%c1) {
      memref.store %x, %acc[%d] : memref<8xf32>
      scf.reduce
    }
    scf.yield %x : f32
  }
  return %acc : memref<8xf32>
}
