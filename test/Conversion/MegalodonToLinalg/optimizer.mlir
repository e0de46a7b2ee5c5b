// RUN: megalodon-opt %s --megalodon-convert-to-linalg | FileCheck %s

// global_norm: each tensor is reduced in f64 into 16 lane sums (a [rows,
// lanes] view), then over the lanes; the totals add in operand order.
// CHECK-LABEL: func.func @norm
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0, 1]] output_shape [2, 16] : tensor<32xf32> into tensor<2x16xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.extf %{{.+}} : f32 to f64
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction"]
// A 6-element bias has two lanes.
// CHECK: tensor.expand_shape %{{.+}} output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
// CHECK: math.sqrt %{{.+}} : f64
// CHECK: arith.truncf %{{.+}} : f64 to f32
// CHECK: tensor.from_elements %{{.+}} : tensor<f32>
func.func @norm(%a: tensor<4x8xf32>, %b: tensor<6xf32>) -> tensor<f32> {
  %n = megalodon.global_norm %a, %b : tensor<4x8xf32>, tensor<6xf32> -> tensor<f32>
  return %n : tensor<f32>
}

// adamw: the step scalars in f64 (clip factor, bias corrections through
// math.powf), then one elementwise generic with three results.
// CHECK-LABEL: func.func @update
// CHECK: arith.sitofp %{{.+}} : i64 to f64
// CHECK: arith.minimumf
// CHECK: math.powf
// CHECK: math.powf
// CHECK: %{{.+}}:3 = linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: math.sqrt %{{.+}} : f32
// CHECK: linalg.yield %{{.+}}, %{{.+}}, %{{.+}} : f32, f32, f32
func.func @update(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>,
                  %v: tensor<4x8xf32>, %t: tensor<i64>, %lr: tensor<f32>,
                  %n: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %p1, %m1, %v1 = megalodon.adamw %p, %g moments(%m, %v) step(%t) lr(%lr) grad_norm(%n)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4x8xf32>, tensor<i64>, tensor<f32>
  return %p1, %m1, %v1 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
