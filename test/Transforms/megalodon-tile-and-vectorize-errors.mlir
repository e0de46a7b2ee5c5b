// RUN: not megalodon-opt %s --megalodon-tile-and-vectorize="threads=-1" 2>&1 | FileCheck %s
// RUN: not megalodon-opt %s --megalodon-tile-and-vectorize="mc=0" 2>&1 | FileCheck %s
// RUN: not megalodon-opt %s --megalodon-tile-and-vectorize="kc=-1" 2>&1 | FileCheck %s

// Tile sizes, thread counts and block sizes of the matmul kernel are checked
// before anything is rewritten: a negative or zero value is an error at the
// op the pass runs on.

// CHECK: error: tile sizes must be positive
func.func @f(%a: tensor<8x8xf32>, %b: tensor<8x16xf32>,
             %c: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x8xf32>, tensor<8x16xf32>)
      outs(%c : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}
