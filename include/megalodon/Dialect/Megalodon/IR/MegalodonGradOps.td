//===- MegalodonGradOps.td - megalodon gradient operations -*- tablegen -*-===//
//
// The vector-Jacobian products of the differentiable megalodon ops whose
// backward is not just a composition of other megalodon ops (add and mul are
// their own transposes). Each `<op>_grad` takes the forward inputs that its
// gradient depends on, then, in `grad(...)`, the cotangents of the forward
// results, and returns the cotangents of the forward inputs and parameters,
// each with the type of what it differentiates. Forward values that the
// backward needs (statistics, states, softmax weights) are recomputed from
// the inputs, as in megalodon/Reference/Gradients.h, whose kernels define the
// semantics. Every result is the gradient of one use of the forward op;
// callers that use a parameter several times add the gradients.
//
// Included from MegalodonOps.td so that the dialect has one generated op list.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_GRAD_OPS_TD
#define MEGALODON_GRAD_OPS_TD

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

def Megalodon_EmbeddingGradOp : Megalodon_Op<"embedding_grad"> {
  let summary = "Gradient of the embedding table: a scatter-add of rows";
  let description = [{
    `g_table` is zero except that row `gy[i, :] * scale` is added into row
    `tokens[i]` for every token position `i` (a token that occurs several
    times receives the sum). The table operand is the forward's table; only
    its type (the vocabulary size `V`, also when it is dynamic) is used.
    `scale` is the forward's optional scale.

    ```mlir
    %gt = megalodon.embedding_grad %table[%tokens] grad(%gy) {scale = 8.0 : f64}
        : tensor<256x64xf32>, tensor<2x16xi32>, tensor<2x16x64xf32>
        -> tensor<256x64xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$table, Megalodon_Tensor:$tokens,
                   Megalodon_Tensor:$gy, OptionalAttr<F64Attr>:$scale);
  let results = (outs Megalodon_Tensor:$g_table);
  let assemblyFormat = [{
    $table `[` $tokens `]` `grad` `(` $gy `)` attr-dict `:` type($table) `,`
    type($tokens) `,` type($gy) `->` type($g_table)
  }];
}

def Megalodon_CrossEntropyGradOp : Megalodon_Op<"cross_entropy_grad"> {
  let summary = "Gradient of the mean cross-entropy with respect to the logits";
  let description = [{
    `g_logits[r, c] = g_loss * (softmax(logits[r])[c] - [c == targets[r]]) /
    rows`, where `rows` is the number of target positions and `g_loss` (0-d
    f32) is the cotangent of the loss (1 for the loss itself).

    ```mlir
    %gl = megalodon.cross_entropy_grad %logits, %targets grad(%one)
        : tensor<2x16x256xf32>, tensor<2x16xi32>, tensor<f32>
        -> tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$logits, Megalodon_Tensor:$targets,
                   Megalodon_Tensor:$g_loss);
  let results = (outs Megalodon_Tensor:$g_logits);
  let assemblyFormat = [{
    $logits `,` $targets `grad` `(` $g_loss `)` attr-dict `:` type($logits)
    `,` type($targets) `,` type($g_loss) `->` type($g_logits)
  }];
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def Megalodon_TimestepNormGradOp : Megalodon_Op<"timestep_norm_grad",
    [AttrSizedOperandSegments, AttrSizedResultSegments]> {
  let summary = "Gradient of the timestep normalization";
  let description = [{
    The backward of `megalodon.timestep_norm` (MODEL.md section 9). Operands:
    the forward's `x` and `weight` (the bias does not enter the gradient), the
    carried state the forward STARTED from when it had one, and in `grad(...)`
    the cotangent `gy` of `y`, optionally followed by the cotangents of the
    returned `mean_out` and `var_out` (zero when absent). The step count has
    no gradient.

    Results: `gx`, `g_weight`, `g_bias`, and, exactly when a state is given,
    `g_mean` and `g_var`, the cotangents of the carried mean and variance.

    ```mlir
    %gx, %gw, %gb, %gm, %gv = megalodon.timestep_norm_grad %x, %w
        state(%n0, %m0, %v0) grad(%gy, %gmf, %gvf)
        {num_groups = 4 : i64, eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1xi64>,
           tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x16x64xf32>,
           tensor<1x4xf32>, tensor<1x4xf32>)
        -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>,
            tensor<1x4xf32>, tensor<1x4xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$weight,
                   Optional<Megalodon_Tensor>:$count,
                   Optional<Megalodon_Tensor>:$mean,
                   Optional<Megalodon_Tensor>:$var, Megalodon_Tensor:$gy,
                   Optional<Megalodon_Tensor>:$g_mean_out,
                   Optional<Megalodon_Tensor>:$g_var_out, I64Attr:$num_groups,
                   F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$gx, Megalodon_Tensor:$g_weight,
                 Megalodon_Tensor:$g_bias, Optional<Megalodon_Tensor>:$g_mean,
                 Optional<Megalodon_Tensor>:$g_var);
  // functional-type cannot tell which optional results a type list holds, so
  // the result types are listed one by one.
  let assemblyFormat = [{
    $x `,` $weight (`state` `(` $count^ `,` $mean `,` $var `)`)?
    `grad` `(` $gy (`,` $g_mean_out^ `,` $g_var_out)? `)` attr-dict `:`
    `(` type(operands) `)` `->` `(` type($gx) `,` type($g_weight) `,`
    type($g_bias) (`,` type($g_mean)^ `,` type($g_var))? `)`
  }];
}

def Megalodon_RMSNormGradOp : Megalodon_Op<"rms_norm_grad"> {
  let summary = "Gradient of the grouped RMS normalization";
  let description = [{
    The backward of `megalodon.rms_norm` with the same attributes: the
    forward's `x` and optional `weight`, and the cotangent `gy` of the result.
    Returns `gx` and, when there is a weight, `g_weight` (the gradient of the
    stored offset, which equals that of the scale `weight + 1`).

    ```mlir
    %gx, %gw = megalodon.rms_norm_grad %x weight(%w) grad(%gy)
        {num_groups = 1 : i64, eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
        -> (tensor<1x16x64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Optional<Megalodon_Tensor>:$weight,
                   Megalodon_Tensor:$gy, I64Attr:$num_groups, F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$gx,
                 Optional<Megalodon_Tensor>:$g_weight);
  let assemblyFormat = [{
    $x (`weight` `(` $weight^ `)`)? `grad` `(` $gy `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Megalodon_LayerNormGradOp : Megalodon_Op<"layer_norm_grad",
    [AttrSizedResultSegments]> {
  let summary = "Gradient of the layer normalization";
  let description = [{
    The backward of `megalodon.layer_norm`: the forward's `x`, its `weight`
    when it is affine (the bias does not enter the gradient), and the
    cotangent `gy` of the result. Returns `gx` and, for an affine norm,
    `g_weight` and `g_bias`.

    ```mlir
    %gx, %gw, %gb = megalodon.layer_norm_grad %x affine(%w) grad(%gy)
        {eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
        -> (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Optional<Megalodon_Tensor>:$weight,
                   Megalodon_Tensor:$gy, F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$gx,
                 Optional<Megalodon_Tensor>:$g_weight,
                 Optional<Megalodon_Tensor>:$g_bias);
  // functional-type cannot tell which optional results a type list holds, so
  // the result types are listed one by one.
  let assemblyFormat = [{
    $x (`affine` `(` $weight^ `)`)? `grad` `(` $gy `)` attr-dict `:`
    `(` type(operands) `)` `->` `(` type($gx)
    (`,` type($g_weight)^ `,` type($g_bias))? `)`
  }];
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

def Megalodon_CemaGradOp : Megalodon_Op<"cema_grad",
    [AttrSizedOperandSegments,
     DeclareOpInterfaceMethods<TunableOpInterface, ["getTileSpaceVersion"]>]> {
  let summary = "Gradient of the complex exponential moving average";
  let description = [{
    The backward of `megalodon.cema` by the reverse-time adjoint scan of
    MODEL.md section 8 (A). Operands: the forward's `x`, its stored
    parameters, the carried state `hx` when it had one, and in `grad(...)` the
    cotangent `gy` of `y`, optionally followed by the cotangent `g_h_last` of
    the returned last state (zero when absent).

    Results: `gx`, the gradients of `alpha`, `delta`, `theta`, `gamma` and
    `omega` in their stored shapes, and, exactly when `hx` is given, `g_hx`.
    Complex cotangents follow MODEL.md section 8:
    `d(loss)/d(Re h) + i * d(loss)/d(Im h)`.

    ```mlir
    %gx, %ga, %gd, %gt, %gg, %go, %ghx = megalodon.cema_grad %x
        params(%alpha, %delta, %theta, %gamma, %omega) state(%hx)
        grad(%gy, %gh)
        : (tensor<1x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>,
           tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>,
           tensor<1x64x4xcomplex<f32>>, tensor<1x16x64xf32>,
           tensor<1x64x4xcomplex<f32>>)
        -> (tensor<1x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>,
            tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>,
            tensor<1x64x4xcomplex<f32>>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$alpha,
                   Megalodon_Tensor:$delta, Megalodon_Tensor:$theta,
                   Megalodon_Tensor:$gamma, Megalodon_Tensor:$omega,
                   Optional<Megalodon_Tensor>:$hx, Megalodon_Tensor:$gy,
                   Optional<Megalodon_Tensor>:$g_h_last);
  let results = (outs Megalodon_Tensor:$gx, Megalodon_Tensor:$g_alpha,
                 Megalodon_Tensor:$g_delta, Megalodon_Tensor:$g_theta,
                 Megalodon_Tensor:$g_gamma, Megalodon_Tensor:$g_omega,
                 Optional<Megalodon_Tensor>:$g_hx);
  let assemblyFormat = [{
    $x `params` `(` $alpha `,` $delta `,` $theta `,` $gamma `,` $omega `)`
    (`state` `(` $hx^ `)`)? `grad` `(` $gy (`,` $g_h_last^)? `)` attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

def Megalodon_LinearGradOp : Megalodon_Op<"linear_grad"> {
  let summary = "Gradient of the affine map x * weight^T + bias";
  let description = [{
    From the forward's `x : [..., K]` and `weight : [N, K]` and the cotangent
    `gy : [..., N]`: `gx = gy * weight`, `g_weight = gy^T * x` summed over
    the leading axes, and `g_bias : [N]`, the column sums of `gy` (the bias
    gradient; unused when the layer has no bias).

    ```mlir
    %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
        : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<1x16x128xf32>)
        -> (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$weight,
                   Megalodon_Tensor:$gy);
  let results = (outs Megalodon_Tensor:$gx, Megalodon_Tensor:$g_weight,
                 Megalodon_Tensor:$g_bias);
  let assemblyFormat = [{
    $x `,` $weight `grad` `(` $gy `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Megalodon_SiluGradOp : Megalodon_Op<"silu_grad",
    [SameOperandsAndResultType]> {
  let summary = "Gradient of silu: gy * silu'(x)";
  let description = [{
    `gx = gy * sigmoid(x) * (1 + x * (1 - sigmoid(x)))`, elementwise.

    ```mlir
    %gx = megalodon.silu_grad %x grad(%gy) : tensor<1x16x128xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$gy);
  let results = (outs Megalodon_Tensor:$gx);
  let assemblyFormat = "$x `grad` `(` $gy `)` attr-dict `:` type($x)";
}

def Megalodon_SwigluGradOp : Megalodon_Op<"swiglu_grad",
    [SameOperandsAndResultType]> {
  let summary = "Gradient of silu(gate) * up";
  let description = [{
    For `y = silu(gate) * up`: `g_gate = gy * up * silu'(gate)` and
    `g_up = gy * silu(gate)`, elementwise.

    ```mlir
    %gg, %gu = megalodon.swiglu_grad %gate, %up grad(%gy)
        : tensor<1x16x128xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$gate, Megalodon_Tensor:$up,
                   Megalodon_Tensor:$gy);
  let results = (outs Megalodon_Tensor:$g_gate, Megalodon_Tensor:$g_up);
  let assemblyFormat = [{
    $gate `,` $up `grad` `(` $gy `)` attr-dict `:` type($gate)
  }];
}

def Megalodon_ScaleChannelsGradOp : Megalodon_Op<"scale_channels_grad"> {
  let summary = "Gradient of the per-channel scaling of the last axis";
  let description = [{
    For `y = x * scale` (`scale : [W]` broadcast over the leading axes):
    `gx = gy * scale` and `g_scale = sum of gy * x` over the leading axes.

    ```mlir
    %gx, %gs = megalodon.scale_channels_grad %x, %alpha grad(%gy)
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<1x16x64xf32>)
        -> (tensor<1x16x64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$scale,
                   Megalodon_Tensor:$gy);
  let results = (outs Megalodon_Tensor:$gx, Megalodon_Tensor:$g_scale);
  let assemblyFormat = [{
    $x `,` $scale `grad` `(` $gy `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Megalodon_SharedQKGradOp : Megalodon_Op<"shared_qk_grad"> {
  let summary = "Gradient of the shared query/key projection";
  let description = [{
    The backward of `megalodon.shared_qk` with the same `num_heads`: from the
    forward's `z` and `gamma` and the cotangents `gq`, `gk` of the queries and
    keys, returns `gz`, `g_gamma` and `g_beta` (`[2, Z]`, row 0 for the
    queries, row 1 for the keys).

    ```mlir
    %gz, %gg, %gb = megalodon.shared_qk_grad %z, %gamma grad(%gq, %gk)
        {num_heads = 2 : i64}
        : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<1x16x32xf32>,
           tensor<1x16x32xf32>)
        -> (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$z, Megalodon_Tensor:$gamma,
                   Megalodon_Tensor:$gq, Megalodon_Tensor:$gk,
                   I64Attr:$num_heads);
  let results = (outs Megalodon_Tensor:$gz, Megalodon_Tensor:$g_gamma,
                 Megalodon_Tensor:$g_beta);
  let assemblyFormat = [{
    $z `,` $gamma `grad` `(` $gq `,` $gk `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Megalodon_RotaryGradOp : Megalodon_Op<"rotary_grad"> {
  let summary = "Gradient of the rotary position embedding";
  let description = [{
    The rotation is orthogonal, so the cotangent of the unrotated input is
    the cotangent `gy` of the rotated result rotated back by the negative
    angle, with the attributes and the optional `offset` of the forward
    `megalodon.rotary`.

    ```mlir
    %gx = megalodon.rotary_grad %gy
        {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 16 : i64}
        : (tensor<1x32x32xf32>) -> tensor<1x32x32xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$gy,
                   Optional<Megalodon_Tensor>:$offset, I64Attr:$num_heads,
                   F64Attr:$base, I64Attr:$chunk_size);
  let results = (outs Megalodon_Tensor:$gx);
  let assemblyFormat = [{
    $gy (`offset` `(` $offset^ `)`)? attr-dict `:` functional-type(operands,
    results)
  }];
}

def Megalodon_ChunkAttentionGradOp : Megalodon_Op<"chunk_attention_grad",
    [DeclareOpInterfaceMethods<TunableOpInterface>]> {
  let summary = "Gradient of the chunked causal attention (no cache)";
  let description = [{
    The backward of `megalodon.chunk_attention` without a cache (training),
    with the same attributes: from the forward's `q`, `k`, `v` and the
    cotangent `g_out` of its result, returns `gq`, `gk` and `gv`. The softmax
    weights are recomputed from `q` and `k`. Optionally `out`, the forward's
    result, which must be what chunk_attention returns for these q, k and v:
    the blocked lowering then takes the softmax backward's row term
    rowsum(g_out * out) from it instead of recomputing the output.

    ```mlir
    %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga)
        out(%o) {num_heads = 2 : i64, chunk_size = 16 : i64}
        : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>,
           tensor<1x32x128xf32>, tensor<1x32x128xf32>)
        -> (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$q, Megalodon_Tensor:$k,
                   Megalodon_Tensor:$v, Megalodon_Tensor:$g_out,
                   Optional<Megalodon_Tensor>:$out,
                   I64Attr:$num_heads, I64Attr:$chunk_size);
  let results = (outs Megalodon_Tensor:$gq, Megalodon_Tensor:$gk,
                 Megalodon_Tensor:$gv);
  let assemblyFormat = [{
    $q `,` $k `,` $v `grad` `(` $g_out `)` (`out` `(` $out^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

#endif // MEGALODON_GRAD_OPS_TD
