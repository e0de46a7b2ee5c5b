// RUN: megalodon-opt %s -split-input-file -verify-diagnostics --megalodon-autodiff --megalodon-build-train-step="weight-decay=0.05 max-grad-norm=2.0" | FileCheck %s
// RUN: megalodon-opt %s --megalodon-autodiff --megalodon-build-train-step="apply-gradients=true" | FileCheck %s --check-prefix=APPLY

// @train_step: the gradients of @loss_grad, their global norm, and one AdamW
// update per parameter; moments come in after the loss's own arguments (all
// first moments, then all second moments), then the step number and the
// learning rate.

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x4xf32>, %[[T:[a-z0-9]+]]: tensor<2xi32>,
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.param = "fc.weight"},
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<3xf32> {megalodon.param = "fc.bias"},
// CHECK-SAME: %[[MW:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.state = "exp_avg.fc.weight"},
// CHECK-SAME: %[[MB:[a-z0-9]+]]: tensor<3xf32> {megalodon.state = "exp_avg.fc.bias"},
// CHECK-SAME: %[[VW:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.state = "exp_avg_sq.fc.weight"},
// CHECK-SAME: %[[VB:[a-z0-9]+]]: tensor<3xf32> {megalodon.state = "exp_avg_sq.fc.bias"},
// CHECK-SAME: %[[STEP:[a-z0-9]+]]: tensor<i64> {megalodon.input = "step"},
// CHECK-SAME: %[[LR:[a-z0-9]+]]: tensor<f32> {megalodon.input = "lr"})
// CHECK-SAME: -> (tensor<f32> {megalodon.input = "loss"}, tensor<f32> {megalodon.input = "grad_norm"},
// CHECK-SAME: tensor<3x4xf32> {megalodon.param = "fc.weight"}, tensor<3xf32> {megalodon.param = "fc.bias"},
// CHECK-SAME: tensor<3x4xf32> {megalodon.state = "exp_avg.fc.weight"}, tensor<3xf32> {megalodon.state = "exp_avg.fc.bias"},
// CHECK-SAME: tensor<3x4xf32> {megalodon.state = "exp_avg_sq.fc.weight"}, tensor<3xf32> {megalodon.state = "exp_avg_sq.fc.bias"})
// CHECK: %[[LOSS:.+]] = megalodon.cross_entropy
// CHECK: %[[GX:.+]], %[[GW:.+]], %[[GB:.+]] = megalodon.linear_grad
// CHECK: %[[NORM:.+]] = megalodon.global_norm %[[GW]], %[[GB]] : tensor<3x4xf32>, tensor<3xf32> -> tensor<f32>
// CHECK: %[[W1:.+]], %[[MW1:.+]], %[[VW1:.+]] = megalodon.adamw %[[W]], %[[GW]] moments(%[[MW]], %[[VW]]) step(%[[STEP]]) lr(%[[LR]]) grad_norm(%[[NORM]])
// CHECK-SAME: beta1 = 9.000000e-01 : f64, beta2 = 0.979{{[0-9]*}} : f64, eps = 1.000000e-08 : f64, max_grad_norm = 2.000000e+00 : f64, weight_decay = 5.000000e-02 : f64
// CHECK: %[[B1:.+]], %[[MB1:.+]], %[[VB1:.+]] = megalodon.adamw %[[B]], %[[GB]] moments(%[[MB]], %[[VB]])
// CHECK: return %[[LOSS]], %[[NORM]], %[[W1]], %[[B1]], %[[MW1]], %[[MB1]], %[[VW1]], %[[VB1]]
func.func @loss(%x: tensor<2x4xf32>, %t: tensor<2xi32>,
                %w: tensor<3x4xf32> {megalodon.param = "fc.weight"},
                %b: tensor<3xf32> {megalodon.param = "fc.bias"}) -> tensor<f32> {
  %y = megalodon.linear %x, %w bias(%b)
      : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %l = megalodon.cross_entropy %y, %t : tensor<2x3xf32>, tensor<2xi32> -> tensor<f32>
  return %l : tensor<f32>
}

// With apply-gradients: @apply_gradients takes the parameters and one
// gradient each, and returns the update's results without a loss; there is
// no @train_step.

// APPLY-NOT: @train_step
// APPLY-LABEL: func.func @apply_gradients(
// APPLY-SAME: %[[W:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.param = "fc.weight"},
// APPLY-SAME: %[[B:[a-z0-9]+]]: tensor<3xf32> {megalodon.param = "fc.bias"},
// APPLY-SAME: %[[GW:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.input = "grad.fc.weight"},
// APPLY-SAME: %[[GB:[a-z0-9]+]]: tensor<3xf32> {megalodon.input = "grad.fc.bias"},
// APPLY-SAME: %[[MW:[a-z0-9]+]]: tensor<3x4xf32> {megalodon.state = "exp_avg.fc.weight"},
// APPLY-SAME: {megalodon.input = "lr"})
// APPLY-SAME: -> (tensor<f32> {megalodon.input = "grad_norm"}, tensor<3x4xf32> {megalodon.param = "fc.weight"},
// APPLY-NOT: megalodon.linear
// APPLY: %[[NORM:.+]] = megalodon.global_norm %[[GW]], %[[GB]]
// APPLY: megalodon.adamw %[[W]], %[[GW]] moments(%[[MW]],
// APPLY: return %[[NORM]],
