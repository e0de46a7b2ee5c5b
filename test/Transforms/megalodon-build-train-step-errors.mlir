// RUN: megalodon-opt %s -split-input-file -verify-diagnostics --megalodon-build-train-step

// expected-error @below {{megalodon-build-train-step: no function named 'loss_grad' (run megalodon-autodiff first)}}
module {
  func.func @loss(%x: tensor<f32>) -> tensor<f32> {
    return %x : tensor<f32>
  }
}

// -----

// expected-error @below {{megalodon-build-train-step: the module already has a symbol named 'train_step'}}
module {
  func.func @loss_grad(%x: tensor<f32>) -> tensor<f32> {
    return %x : tensor<f32>
  }
  func.func @train_step() {
    return
  }
}
