//===- MegalodonOptimizerOps.td - megalodon optimizer ops --*- tablegen -*-===//
//
// The update that turns gradients into new parameters (MODEL.md section 11):
// the global gradient norm, and one AdamW step per parameter with the
// gradient clipped by that norm. megalodon-build-train-step emits them after
// the gradients of a loss; the reference interpreter evaluates them in fp64.
//
// Included from MegalodonOps.td so that the dialect has one generated op list.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_OPTIMIZER_OPS_TD
#define MEGALODON_OPTIMIZER_OPS_TD

def Megalodon_GlobalNormOp : Megalodon_Op<"global_norm"> {
  let summary = "L2 norm of every element of several tensors together";
  let description = [{
    `sqrt(sum over the tensors, in operand order, of the sum of squares of
    their elements)`, a 0-d f32 tensor: the norm that gradient clipping
    compares with its limit. At least one operand; all real.

    ```mlir
    %n = megalodon.global_norm %g0, %g1
        : tensor<64x64xf32>, tensor<64xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<Megalodon_Tensor>:$tensors);
  let results = (outs Megalodon_Tensor:$norm);
  let assemblyFormat = [{
    $tensors attr-dict `:` type($tensors) `->` type($norm)
  }];
}

def Megalodon_AdamWOp : Megalodon_Op<"adamw", [
    AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq", "param_out",
                   "exp_avg_out", "exp_avg_sq_out"]>,
    AllTypesMatch<["lr", "grad_norm"]>]> {
  let summary = "One AdamW step of one parameter, with global-norm clipping";
  let description = [{
    Torch semantics. With `t` = `step` (the number of this step, from 1),
    `c = min(1, max_grad_norm / (grad_norm + 1e-6))` when `max_grad_norm`
    is positive (1 otherwise) and `g = c * grad`:

    ```
    exp_avg_out    = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq_out = beta2 * exp_avg_sq + (1 - beta2) * g * g
    param_out      = param * (1 - lr * weight_decay)
                     - lr / (1 - beta1^t) * exp_avg_out
                       / (sqrt(exp_avg_sq_out) / sqrt(1 - beta2^t) + eps)
    ```

    When `grad_norm` is not finite (a NaN or an infinity anywhere in the
    gradients), the step is skipped: the parameter and moments come back
    unchanged, so one bad batch cannot poison the weights.

    `step` is a 0-d i64 tensor, `lr` and `grad_norm` 0-d f32 tensors, so the
    schedule and the clipping change nothing in the compiled code.

    ```mlir
    %p1, %m1, %v1 = megalodon.adamw %p, %g moments(%m, %v) step(%t) lr(%lr)
        grad_norm(%n) {beta1 = 0.9 : f64, beta2 = 0.98 : f64, eps = 1.0e-08 : f64,
                       weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64}
        : tensor<64x64xf32>, tensor<i64>, tensor<f32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$param, Megalodon_Tensor:$grad,
                   Megalodon_Tensor:$exp_avg, Megalodon_Tensor:$exp_avg_sq,
                   Megalodon_Tensor:$step, Megalodon_Tensor:$lr,
                   Megalodon_Tensor:$grad_norm, F64Attr:$beta1, F64Attr:$beta2,
                   F64Attr:$eps, F64Attr:$weight_decay,
                   F64Attr:$max_grad_norm);
  let results = (outs Megalodon_Tensor:$param_out,
                 Megalodon_Tensor:$exp_avg_out,
                 Megalodon_Tensor:$exp_avg_sq_out);
  let assemblyFormat = [{
    $param `,` $grad `moments` `(` $exp_avg `,` $exp_avg_sq `)`
    `step` `(` $step `)` `lr` `(` $lr `)` `grad_norm` `(` $grad_norm `)`
    attr-dict `:` type($param) `,` type($step) `,` type($lr)
  }];
}

#endif // MEGALODON_OPTIMIZER_OPS_TD
