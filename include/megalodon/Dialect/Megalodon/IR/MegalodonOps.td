//===- MegalodonOps.td - megalodon operations --------------*- tablegen -*-===//
//
// Every op verifies its shapes and attributes in C++ (MegalodonOps.cpp), and
// each diagnostic names the rule it checks, so operands are typed loosely here.
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_OPS_TD
#define MEGALODON_OPS_TD

include "megalodon/Dialect/Megalodon/IR/MegalodonDialect.td"
include "megalodon/Interfaces/DifferentiableOpInterface.td"
include "megalodon/Interfaces/TunableOpInterface.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Megalodon_Op<string mnemonic, list<Trait> traits = []>
    : Op<Megalodon_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

/// A forward op: it builds its own vector-Jacobian product (Vjp*.cpp), which
/// megalodon-autodiff composes. The gradient ops are not differentiable.
class Megalodon_DifferentiableOp<string mnemonic, list<Trait> traits = []>
    : Megalodon_Op<mnemonic, !listconcat(traits,
          [DeclareOpInterfaceMethods<DifferentiableOpInterface>])>;

defvar Megalodon_Tensor = AnyRankedTensor;

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

def Megalodon_EmbeddingOp : Megalodon_DifferentiableOp<"embedding"> {
  let summary = "Row gather from an embedding table";
  let description = [{
    `result[..., :] = table[tokens[...], :] * scale`. The table is `[V, D]`,
    tokens are i32 or i64 of any rank, the result has the tokens' shape plus
    `D`. `scale` (default 1) carries the model's optional `sqrt(D)` factor.
    A token outside `[0, V)` is undefined behaviour in compiled code; the
    runtime checks token files before any call.

    ```mlir
    %x = megalodon.embedding %table[%tokens] {scale = 8.0 : f64}
        : tensor<256x64xf32>, tensor<2x16xi32> -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$table, Megalodon_Tensor:$tokens,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens) `->`
    type($result)
  }];
}

def Megalodon_CrossEntropyOp : Megalodon_DifferentiableOp<"cross_entropy"> {
  let summary = "Mean next-token cross-entropy";
  let description = [{
    The mean over all positions of `-log softmax(logits)[target]`, with the
    softmax over the last axis taken in fp32. `logits` is `[..., V]`,
    `targets` (i32 or i64) has the logits' shape without `V`.

    ```mlir
    %loss = megalodon.cross_entropy %logits, %targets
        : tensor<2x16x256xf32>, tensor<2x16xi32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$logits, Megalodon_Tensor:$targets);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->`
    type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def Megalodon_TimestepNormOp : Megalodon_DifferentiableOp<"timestep_norm",
    [AttrSizedOperandSegments]> {
  let summary = "Causal cumulative group normalization over time";
  let description = [{
    Timestep normalization (MODEL.md section 4) of `x : [B, L, D]` with
    `num_groups` contiguous feature groups. The statistics at step `t` cover
    every element of the group at steps `0..t` (Welford update), starting from
    the carried state `(count [B] i64, mean [B, G] f32, var [B, G] f32)` or,
    when no state is given, from the fresh state `n = 0`. The output is
    `(x - m_t) / sqrt(v_t + eps) * (weight + 1) + bias`; the op also returns
    the state after the last step.

    ```mlir
    %y, %n, %m, %v = megalodon.timestep_norm %x, %w, %b
        state(%n0, %m0, %v0) {num_groups = 4 : i64, eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>,
           tensor<1xi64>, tensor<1x4xf32>, tensor<1x4xf32>)
        -> (tensor<1x16x64xf32>, tensor<1xi64>, tensor<1x4xf32>,
            tensor<1x4xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$weight,
                   Megalodon_Tensor:$bias, Optional<Megalodon_Tensor>:$count,
                   Optional<Megalodon_Tensor>:$mean,
                   Optional<Megalodon_Tensor>:$var, I64Attr:$num_groups,
                   F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$y, Megalodon_Tensor:$count_out,
                 Megalodon_Tensor:$mean_out, Megalodon_Tensor:$var_out);
  let assemblyFormat = [{
    $x `,` $weight `,` $bias (`state` `(` $count^ `,` $mean `,` $var `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def Megalodon_RMSNormOp : Megalodon_DifferentiableOp<"rms_norm"> {
  let summary = "RMS normalization over groups of the last axis";
  let description = [{
    Splits the last axis (width `W`) into `num_groups` contiguous groups and
    divides each by `sqrt(mean(x^2) + eps)` over its group. With a `weight`
    (`[W]`), the result is scaled by `weight + 1`. `num_groups = H` without a
    weight is the per-head normalization of the shared query/key projection.

    ```mlir
    %y = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Optional<Megalodon_Tensor>:$weight,
                   I64Attr:$num_groups, F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $x (`weight` `(` $weight^ `)`)? attr-dict `:` functional-type(operands,
    results)
  }];
}

def Megalodon_LayerNormOp : Megalodon_DifferentiableOp<"layer_norm",
    [AttrSizedOperandSegments]> {
  let summary = "Layer normalization over the last axis";
  let description = [{
    `(x - mean) / sqrt(var + eps) * (weight + 1) + bias` over the last axis,
    with the biased variance. The affine pair is optional (a model with
    `norm_affine = false` has none); when present both are `[W]`.

    ```mlir
    %y = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-05 : f64}
        : (tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
        -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Optional<Megalodon_Tensor>:$weight,
                   Optional<Megalodon_Tensor>:$bias, F64Attr:$eps);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $x (`affine` `(` $weight^ `,` $bias `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

def Megalodon_CemaOp : Megalodon_DifferentiableOp<"cema",
    [DeclareOpInterfaceMethods<TunableOpInterface, ["getTileSpaceVersion"]>]> {
  let summary = "Complex exponential moving average over time";
  let description = [{
    The CEMA of MODEL.md section 5 on `x : [B, L, D]` with `N` complex states
    per channel. The operands after `x` are the stored parameters in their
    official shapes: `alpha`, `delta : [D, N, 1]`, `theta : [D, 1, 1]`,
    `gamma : [D, N, 2]` (real, imaginary), `omega : [D, 1]`; the op derives
    `p = sigmoid(alpha)`, `q = (1 - p * sigmoid(delta)) * exp(i * phi)` and
    `gamma / sqrt(N)` itself. Per channel and state,
    `h_t = p * x_t + q * h_{t-1}` and `y_t = Re(sum_n gamma_n h_{t,n}) +
    omega * x_t`, with `h_{-1}` the carried state `hx : [B, D, N]`
    (complex<f32>) or zero. Returns `y : [B, L, D]` and `h_{L-1}`.

    ```mlir
    %y, %h = megalodon.cema %x params(%alpha, %delta, %theta, %gamma, %omega)
        state(%hx)
        : (tensor<1x16x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>,
           tensor<64x1x1xf32>, tensor<64x4x2xf32>, tensor<64x1xf32>,
           tensor<1x64x4xcomplex<f32>>)
        -> (tensor<1x16x64xf32>, tensor<1x64x4xcomplex<f32>>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$alpha,
                   Megalodon_Tensor:$delta, Megalodon_Tensor:$theta,
                   Megalodon_Tensor:$gamma, Megalodon_Tensor:$omega,
                   Optional<Megalodon_Tensor>:$hx);
  let results = (outs Megalodon_Tensor:$y, Megalodon_Tensor:$h_last);
  let assemblyFormat = [{
    $x `params` `(` $alpha `,` $delta `,` $theta `,` $gamma `,` $omega `)`
    (`state` `(` $hx^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

def Megalodon_LinearOp : Megalodon_DifferentiableOp<"linear"> {
  let summary = "Affine map of the last axis: x * weight^T + bias";
  let description = [{
    `x : [..., K]`, `weight : [N, K]` (torch layout), optional `bias : [N]`;
    the result is `[..., N]`.

    ```mlir
    %y = megalodon.linear %x, %w bias(%b)
        : (tensor<1x16x64xf32>, tensor<128x64xf32>, tensor<128xf32>)
        -> tensor<1x16x128xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$weight,
                   Optional<Megalodon_Tensor>:$bias);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $weight (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

class Megalodon_UnaryOp<string mnemonic, string sum, string desc>
    : Megalodon_DifferentiableOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = sum;
  let description = desc;
  let arguments = (ins Megalodon_Tensor:$x);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x)";
}

class Megalodon_BinaryOp<string mnemonic, string sum, string desc>
    : Megalodon_DifferentiableOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = sum;
  let description = desc;
  let arguments = (ins Megalodon_Tensor:$lhs, Megalodon_Tensor:$rhs);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs)";
}

def Megalodon_SiluOp : Megalodon_UnaryOp<"silu", "x * sigmoid(x)", [{
    Elementwise SiLU.

    ```mlir
    %y = megalodon.silu %x : tensor<1x16x128xf32>
    ```
  }]>;

def Megalodon_SwigluOp : Megalodon_BinaryOp<"swiglu", "silu(gate) * up", [{
    The gated activation of a SwiGLU feed-forward network:
    `silu(lhs) * rhs`, elementwise.

    ```mlir
    %u = megalodon.swiglu %gate, %up : tensor<1x16x128xf32>
    ```
  }]>;

def Megalodon_AddOp : Megalodon_BinaryOp<"add", "Elementwise sum", [{
    `lhs + rhs` on tensors of one type (the residual connections).

    ```mlir
    %y = megalodon.add %x, %h : tensor<1x16x64xf32>
    ```
  }]>;

def Megalodon_MulOp : Megalodon_BinaryOp<"mul", "Elementwise product", [{
    `lhs * rhs` on tensors of one type (the attention output gate).

    ```mlir
    %y = megalodon.mul %a, %r : tensor<1x16x128xf32>
    ```
  }]>;

def Megalodon_ScaleChannelsOp : Megalodon_DifferentiableOp<"scale_channels"> {
  let summary = "Multiply the last axis by a per-channel vector";
  let description = [{
    `x : [..., W]` times `scale : [W]` broadcast over the leading axes (the
    `nffn.alpha` rescaling of the feed-forward output).

    ```mlir
    %y = megalodon.scale_channels %x, %alpha
        : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Megalodon_Tensor:$scale);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $scale attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Megalodon_SharedQKOp : Megalodon_DifferentiableOp<"shared_qk"> {
  let summary = "Queries and keys from the shared, normalized projection";
  let description = [{
    From `z : [B, L, Z]` (already RMS-normalized per head), with `dz = Z / H`:
    `q = z * (gamma[0] + 1) / sqrt(dz) + beta[0]` and
    `k = z * (gamma[1] + 1) / sqrt(dz) + beta[1]`; `gamma`, `beta : [2, Z]`.
    The `1 / sqrt(dz)` on both sides replaces attention's score scaling.

    ```mlir
    %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
        : (tensor<1x16x32xf32>, tensor<2x32xf32>, tensor<2x32xf32>)
        -> (tensor<1x16x32xf32>, tensor<1x16x32xf32>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$z, Megalodon_Tensor:$gamma,
                   Megalodon_Tensor:$beta, I64Attr:$num_heads);
  let results = (outs Megalodon_Tensor:$q, Megalodon_Tensor:$k);
  let assemblyFormat = [{
    $z `,` $gamma `,` $beta attr-dict `:` functional-type(operands, results)
  }];
}

def Megalodon_RotaryOp : Megalodon_DifferentiableOp<"rotary"> {
  let summary = "Rotary position embedding with positions restarting per chunk";
  let description = [{
    Rotates each head vector of `x : [B, L, H * dh]`: the adjacent pair
    `(x[2j], x[2j+1])` is multiplied, as a complex number, by
    `exp(i * pos * base^(-2j/dh))`. Token `i` has position
    `(offset + i) mod chunk_size`, where the optional `offset` (a 0-d i64
    tensor) is the number of tokens already in the current chunk when
    decoding, and 0 otherwise.

    ```mlir
    %qr = megalodon.rotary %q offset(%c)
        {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 16 : i64}
        : (tensor<1x1x32xf32>, tensor<i64>) -> tensor<1x1x32xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$x, Optional<Megalodon_Tensor>:$offset,
                   I64Attr:$num_heads, F64Attr:$base, I64Attr:$chunk_size);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $x (`offset` `(` $offset^ `)`)? attr-dict `:` functional-type(operands,
    results)
  }];
}

def Megalodon_ChunkAttentionOp : Megalodon_DifferentiableOp<"chunk_attention",
    [AttrSizedOperandSegments, DeclareOpInterfaceMethods<TunableOpInterface>]> {
  let summary = "Causal softmax attention inside fixed-size chunks";
  let description = [{
    Multi-head attention of `q, k : [B, L, H * dz]` over `v : [B, L, H * dv]`
    without a score scale factor. The sequence is cut into chunks of
    `chunk_size` tokens; a query attends to the keys at or before it in its
    own chunk only. The softmax runs over keys in fp32.

    For decoding, `cache(%k_cache, %v_cache, %len)` supplies the (rotated)
    keys and values of the `len` tokens already seen in the current chunk
    (`[B, chunk_size, H * dz]` and `[B, chunk_size, H * dv]`; rows from `len`
    on are ignored): the new tokens continue that chunk. The length `L` of a
    call is at most `chunk_size` or a multiple of it.

    ```mlir
    %a = megalodon.chunk_attention %q, %k, %v
        {num_heads = 2 : i64, chunk_size = 16 : i64}
        : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<1x32x128xf32>)
        -> tensor<1x32x128xf32>
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$q, Megalodon_Tensor:$k,
                   Megalodon_Tensor:$v, Optional<Megalodon_Tensor>:$k_cache,
                   Optional<Megalodon_Tensor>:$v_cache,
                   Optional<Megalodon_Tensor>:$cache_len, I64Attr:$num_heads,
                   I64Attr:$chunk_size);
  let results = (outs Megalodon_Tensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`cache` `(` $k_cache^ `,` $v_cache `,` $cache_len `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def Megalodon_KVCacheUpdateOp : Megalodon_DifferentiableOp<"kv_cache_update"> {
  let summary = "Append keys/values to the current chunk's cache";
  let description = [{
    Of the stream `[cache[0:len] ; new]` of `len + L` tokens, keeps the last
    `(len + L) mod chunk_size` rows at the front of the new cache (the rest is
    zero) and returns that count as the new length: the cache empties exactly
    when a chunk completes. Caches are `[B, chunk_size, W]`, the new keys and
    values `[B, L, W]`.

    ```mlir
    %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v
        {chunk_size = 16 : i64}
        : (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>,
           tensor<1x1x32xf32>, tensor<1x1x128xf32>)
        -> (tensor<1x16x32xf32>, tensor<1x16x128xf32>, tensor<i64>)
    ```
  }];
  let arguments = (ins Megalodon_Tensor:$k_cache, Megalodon_Tensor:$v_cache,
                   Megalodon_Tensor:$cache_len, Megalodon_Tensor:$k,
                   Megalodon_Tensor:$v, I64Attr:$chunk_size);
  let results = (outs Megalodon_Tensor:$k_cache_out,
                 Megalodon_Tensor:$v_cache_out,
                 Megalodon_Tensor:$cache_len_out);
  let assemblyFormat = [{
    $k_cache `,` $v_cache `,` $cache_len `,` $k `,` $v attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

include "megalodon/Dialect/Megalodon/IR/MegalodonGradOps.td"

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

include "megalodon/Dialect/Megalodon/IR/MegalodonOptimizerOps.td"

#endif // MEGALODON_OPS_TD
