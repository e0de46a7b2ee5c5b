// RUN: megalodon-opt %s --megalodon-read-only-arguments | FileCheck %s

// Every tensor argument of a public function becomes read-only; scalars and
// private functions are left alone.

// CHECK-LABEL: func.func @entry(
// CHECK-SAME: %{{.+}}: tensor<4xf32> {bufferization.writable = false, megalodon.param = "w"}
// CHECK-SAME: %{{.+}}: tensor<2x4xf32> {bufferization.writable = false}
// CHECK-SAME: %{{.+}}: i64)
func.func @entry(%w: tensor<4xf32> {megalodon.param = "w"}, %s: tensor<2x4xf32>,
                 %n: i64) -> tensor<2x4xf32> {
  return %s : tensor<2x4xf32>
}

// CHECK-LABEL: func.func private @helper(
// CHECK-SAME: %{{.+}}: tensor<4xf32>)
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
