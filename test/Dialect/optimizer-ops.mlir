// RUN: megalodon-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @update
// CHECK: megalodon.global_norm %{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<8xf32> -> tensor<f32>
// CHECK: megalodon.adamw %{{.+}}, %{{.+}} moments(%{{.+}}, %{{.+}}) step(%{{.+}}) lr(%{{.+}}) grad_norm(%{{.+}})
func.func @update(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>,
                  %v: tensor<4x8xf32>, %b: tensor<8xf32>, %t: tensor<i64>,
                  %lr: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %n = megalodon.global_norm %g, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<f32>
  %p1, %m1, %v1 = megalodon.adamw %p, %g moments(%m, %v) step(%t) lr(%lr) grad_norm(%n)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4x8xf32>, tensor<i64>, tensor<f32>
  return %p1, %m1, %v1 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

func.func @norm_of_nothing() -> tensor<f32> {
  // expected-error @below {{needs at least one tensor}}
  %n = "megalodon.global_norm"() : () -> tensor<f32>
  return %n : tensor<f32>
}

// -----

func.func @norm_not_scalar(%g: tensor<4xf32>) -> tensor<1xf32> {
  // expected-error @below {{result must have rank 0 (a scalar), got [1]}}
  %n = megalodon.global_norm %g : tensor<4xf32> -> tensor<1xf32>
  return %n : tensor<1xf32>
}

// -----

func.func @norm_of_integers(%g: tensor<4xi32>) -> tensor<f32> {
  // expected-error @below {{tensor #0 must have element type f32 or bf16, got 'i32'}}
  %n = megalodon.global_norm %g : tensor<4xi32> -> tensor<f32>
  return %n : tensor<f32>
}

// -----

func.func @step_not_i64(%p: tensor<4xf32>, %t: tensor<i32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @below {{step must be a 0-d tensor of i64}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4xf32>, tensor<i32>, tensor<f32>
  return %p1 : tensor<4xf32>
}

// -----

func.func @lr_not_f32(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f64>) -> tensor<4xf32> {
  // expected-error @below {{lr has element type 'f64' but the rule 'scalars of the optimizer are f32' needs 'f32'}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4xf32>, tensor<i64>, tensor<f64>
  return %p1 : tensor<4xf32>
}

// -----

func.func @beta_out_of_range(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @below {{beta2 must be in [0, 1), got 1}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 1.0 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4xf32>, tensor<i64>, tensor<f32>
  return %p1 : tensor<4xf32>
}

// -----

func.func @eps_not_positive(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @below {{attribute 'eps' must be positive, got 0}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 0.0 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4xf32>, tensor<i64>, tensor<f32>
  return %p1 : tensor<4xf32>
}

// -----

func.func @negative_decay(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @below {{weight_decay must be >= 0}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = -0.1 : f64, max_grad_norm = 1.0 : f64} : tensor<4xf32>, tensor<i64>, tensor<f32>
  return %p1 : tensor<4xf32>
}

// -----

func.func @negative_clip(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @below {{max_grad_norm must be >= 0 (0 disables clipping)}}
  %p1, %m1, %v1 = megalodon.adamw %p, %p moments(%p, %p) step(%t) lr(%lr) grad_norm(%lr)
      {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-8 : f64,
       weight_decay = 0.1 : f64, max_grad_norm = -1.0 : f64} : tensor<4xf32>, tensor<i64>, tensor<f32>
  return %p1 : tensor<4xf32>
}
