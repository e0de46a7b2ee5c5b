// RUN: megalodon-opt %s -split-input-file -verify-diagnostics --megalodon-autodiff | FileCheck %s

// A residual block with the embedding table shared by the output projection
// (share_emb): the backward ops come in reverse order, the residual stream
// and the table each get two cotangents, added with megalodon.add.

// CHECK-LABEL: func.func @loss(
// CHECK-NOT: _grad
// CHECK: return
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME: %[[TOK:[a-z0-9]+]]: tensor<2x4xi32>, %[[TGT:[a-z0-9]+]]: tensor<2x4xi32>
// CHECK-SAME: %[[EMB:[a-z0-9]+]]: tensor<16x8xf32> {megalodon.param = "embed.weight"}
// CHECK-SAME: -> (tensor<f32>, tensor<16x8xf32> {megalodon.grad = "embed.weight"}, tensor<8xf32> {megalodon.grad = "norm.weight"}, tensor<8xf32> {megalodon.grad = "norm.bias"}, tensor<12x8xf32> {megalodon.grad = "fc1.weight"}, tensor<8x12xf32> {megalodon.grad = "fc2.weight"})
// CHECK: %[[X:.+]] = megalodon.embedding %[[EMB]][%[[TOK]]]
// CHECK: %[[T:.+]] = megalodon.layer_norm %[[X]]
// CHECK: %[[H:.+]] = megalodon.linear %[[T]]
// CHECK: %[[U:.+]] = megalodon.silu %[[H]]
// CHECK: %[[Y:.+]] = megalodon.add %[[X]]
// CHECK: %[[LOGITS:.+]] = megalodon.linear %[[Y]], %[[EMB]]
// CHECK: %[[LOSS:.+]] = megalodon.cross_entropy %[[LOGITS]], %[[TGT]]
// CHECK: %[[ONE:.+]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[GLOGITS:.+]] = megalodon.cross_entropy_grad %[[LOGITS]], %[[TGT]] grad(%[[ONE]])
// CHECK: %[[GY:.+]], %[[GEMB_OUT:.+]], %{{.+}} = megalodon.linear_grad %[[Y]], %[[EMB]] grad(%[[GLOGITS]])
// CHECK: %[[GU:.+]], %[[GW2:.+]], %{{.+}} = megalodon.linear_grad %[[U]], %{{.+}} grad(%[[GY]])
// CHECK: %[[GH:.+]] = megalodon.silu_grad %[[H]] grad(%[[GU]])
// CHECK: %[[GT:.+]], %[[GW1:.+]], %{{.+}} = megalodon.linear_grad %[[T]], %{{.+}} grad(%[[GH]])
// CHECK: %[[GXN:.+]], %[[GNW:.+]], %[[GNB:.+]] = megalodon.layer_norm_grad %[[X]] affine(%{{.+}}) grad(%[[GT]])
// CHECK: %[[GX:.+]] = megalodon.add %[[GY]], %[[GXN]]
// CHECK: %[[GEMB_IN:.+]] = megalodon.embedding_grad %[[EMB]][%[[TOK]]] grad(%[[GX]])
// CHECK: %[[GEMB:.+]] = megalodon.add %[[GEMB_OUT]], %[[GEMB_IN]]
// CHECK: return %[[LOSS]], %[[GEMB]], %[[GNW]], %[[GNB]], %[[GW1]], %[[GW2]]
func.func @loss(%tokens: tensor<2x4xi32>, %targets: tensor<2x4xi32>,
                %emb: tensor<16x8xf32> {megalodon.param = "embed.weight"},
                %nw: tensor<8xf32> {megalodon.param = "norm.weight"},
                %nb: tensor<8xf32> {megalodon.param = "norm.bias"},
                %w1: tensor<12x8xf32> {megalodon.param = "fc1.weight"},
                %w2: tensor<8x12xf32> {megalodon.param = "fc2.weight"})
    -> tensor<f32> {
  %x = megalodon.embedding %emb[%tokens]
      : tensor<16x8xf32>, tensor<2x4xi32> -> tensor<2x4x8xf32>
  %t = megalodon.layer_norm %x affine(%nw, %nb) {eps = 1.0e-05 : f64}
      : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %h = megalodon.linear %t, %w1
      : (tensor<2x4x8xf32>, tensor<12x8xf32>) -> tensor<2x4x12xf32>
  %u = megalodon.silu %h : tensor<2x4x12xf32>
  %o = megalodon.linear %u, %w2
      : (tensor<2x4x12xf32>, tensor<8x12xf32>) -> tensor<2x4x8xf32>
  %y = megalodon.add %x, %o : tensor<2x4x8xf32>
  %logits = megalodon.linear %y, %emb
      : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %loss = megalodon.cross_entropy %logits, %targets
      : tensor<2x4x16xf32>, tensor<2x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// The attention half of a layer. The final statistics of timestep_norm and
// the last state of cema are unused, so their grad ops take no cotangent for
// them; the timestep norm's output feeds both cema and the value projection.

// CHECK-LABEL: func.func @loss_grad(
// CHECK: %[[XN:[a-z0-9_]+]], %{{.+}}, %{{.+}}, %{{.+}} = megalodon.timestep_norm
// CHECK: %[[C:[a-z0-9_]+]], %{{.+}} = megalodon.cema %[[XN]]
// CHECK: %[[Q:[a-z0-9_]+]], %[[K:[a-z0-9_]+]] = megalodon.shared_qk
// CHECK: %[[QR:.+]] = megalodon.rotary %[[Q]]
// CHECK: %[[KR:.+]] = megalodon.rotary %[[K]]
// CHECK: %[[VL:.+]] = megalodon.linear %[[XN]]
// CHECK: %[[V:.+]] = megalodon.silu %[[VL]]
// CHECK: megalodon.cross_entropy_grad
// CHECK: %[[GQR:[a-z0-9_]+]], %[[GKR:[a-z0-9_]+]], %[[GV:[a-z0-9_]+]] = megalodon.chunk_attention_grad %[[QR]], %[[KR]], %[[V]] grad(%{{.+}}) out(%{{.+}})
// CHECK: %[[GVL:.+]] = megalodon.silu_grad %[[VL]] grad(%[[GV]])
// CHECK: %[[GXN_V:[a-z0-9_]+]], %{{.+}}, %{{.+}} = megalodon.linear_grad %[[XN]], %{{.+}} grad(%[[GVL]])
// CHECK: %[[GK:.+]] = megalodon.rotary_grad %[[GKR]]
// CHECK: %[[GQ:.+]] = megalodon.rotary_grad %[[GQR]]
// CHECK: megalodon.shared_qk_grad %{{.+}}, %{{.+}} grad(%[[GQ]], %[[GK]])
// CHECK: megalodon.rms_norm_grad
// CHECK: megalodon.linear_grad
// CHECK: %[[GC:[a-z0-9_]+]], %{{.+}} = megalodon.rms_norm_grad %[[C]] weight
// CHECK: %[[GXN_C:[a-z0-9_]+]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} = megalodon.cema_grad %[[XN]] params({{.+}}) grad(%[[GC]]) :
// CHECK: %[[GXN:.+]] = megalodon.add %[[GXN_V]], %[[GXN_C]]
// CHECK: megalodon.timestep_norm_grad %{{.+}}, %{{.+}} grad(%[[GXN]]) {
func.func @loss(%tokens: tensor<1x4xi32>, %targets: tensor<1x4xi32>,
                %emb: tensor<16x8xf32> {megalodon.param = "embed.weight"},
                %tw: tensor<8xf32> {megalodon.param = "timenorm.weight"},
                %tb: tensor<8xf32> {megalodon.param = "timenorm.bias"},
                %alpha: tensor<8x2x1xf32> {megalodon.param = "cema.alpha"},
                %delta: tensor<8x2x1xf32> {megalodon.param = "cema.delta"},
                %theta: tensor<8x1x1xf32> {megalodon.param = "cema.theta"},
                %cgamma: tensor<8x2x2xf32> {megalodon.param = "cema.gamma"},
                %omega: tensor<8x1xf32> {megalodon.param = "cema.omega"},
                %rw: tensor<8xf32> {megalodon.param = "rmsnorm.weight"},
                %wz: tensor<8x8xf32> {megalodon.param = "wz.weight"},
                %gamma: tensor<2x8xf32> {megalodon.param = "gamma"},
                %beta: tensor<2x8xf32> {megalodon.param = "beta"},
                %wv: tensor<8x8xf32> {megalodon.param = "wv.weight"},
                %wout: tensor<16x8xf32> {megalodon.param = "output.weight"})
    -> tensor<f32> {
  %x = megalodon.embedding %emb[%tokens] {scale = 2.0 : f64}
      : tensor<16x8xf32>, tensor<1x4xi32> -> tensor<1x4x8xf32>
  %xn, %n, %m, %v = megalodon.timestep_norm %x, %tw, %tb
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<1x4x8xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  %c, %h = megalodon.cema %xn params(%alpha, %delta, %theta, %cgamma, %omega)
      : (tensor<1x4x8xf32>, tensor<8x2x1xf32>, tensor<8x2x1xf32>,
         tensor<8x1x1xf32>, tensor<8x2x2xf32>, tensor<8x1xf32>)
      -> (tensor<1x4x8xf32>, tensor<1x8x2xcomplex<f32>>)
  %mx = megalodon.rms_norm %c weight(%rw)
      {num_groups = 1 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %z0 = megalodon.linear %mx, %wz
      : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %z = megalodon.rms_norm %z0 {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
      : (tensor<1x4x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
      -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>)
  %qr = megalodon.rotary %q
      {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 2 : i64}
      : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %kr = megalodon.rotary %k
      {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 2 : i64}
      : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %vl = megalodon.linear %xn, %wv
      : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %vs = megalodon.silu %vl : tensor<1x4x8xf32>
  %a = megalodon.chunk_attention %qr, %kr, %vs
      {num_heads = 2 : i64, chunk_size = 2 : i64}
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>)
      -> tensor<1x4x8xf32>
  %y = megalodon.add %x, %a : tensor<1x4x8xf32>
  %logits = megalodon.linear %y, %wout
      : (tensor<1x4x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16xf32>
  %loss = megalodon.cross_entropy %logits, %targets
      : tensor<1x4x16xf32>, tensor<1x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// Only the queries are used: shared_qk_grad gets zeros for the keys. A
// parameter the loss does not depend on gets a zero gradient. Functions
// not named in `functions` are left alone.

// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<2x8xf32> {megalodon.grad = "gamma"}, tensor<2x8xf32> {megalodon.grad = "beta"}, tensor<8xf32> {megalodon.grad = "unused"})
// CHECK: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<1x4x8xf32>
// CHECK: %{{.+}}, %[[GG:.+]], %[[GB:.+]] = megalodon.shared_qk_grad %{{.+}}, %{{.+}} grad(%{{.+}}, %[[ZERO]])
// CHECK: %[[GU:.+]] = arith.constant dense<0.000000e+00> : tensor<8xf32>
// CHECK: return %{{.+}}, %[[GG]], %[[GB]], %[[GU]]
// CHECK-NOT: @other_grad
func.func @loss(%z: tensor<1x4x8xf32>, %targets: tensor<1x4xi32>,
                %gamma: tensor<2x8xf32> {megalodon.param = "gamma"},
                %beta: tensor<2x8xf32> {megalodon.param = "beta"},
                %unused: tensor<8xf32> {megalodon.param = "unused"})
    -> tensor<f32> {
  %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
      : (tensor<1x4x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
      -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>)
  %loss = megalodon.cross_entropy %q, %targets
      : tensor<1x4x8xf32>, tensor<1x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

func.func @other(%x: tensor<1x4x8xf32>, %targets: tensor<1x4xi32>)
    -> tensor<f32> {
  %loss = megalodon.cross_entropy %x, %targets
      : tensor<1x4x8xf32>, tensor<1x4xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// Decoding ops have no VJP.

func.func @loss(%kc: tensor<1x2x8xf32>, %vc: tensor<1x2x8xf32>,
                %len: tensor<i64>, %targets: tensor<1x1xi32>,
                %q: tensor<1x1x8xf32> {megalodon.param = "q"},
                %v: tensor<1x1x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{'megalodon.chunk_attention' op has no VJP with a KV cache}}
  %a = megalodon.chunk_attention %q, %q, %v cache(%kc, %vc, %len)
      {num_heads = 2 : i64, chunk_size = 2 : i64}
      : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>,
         tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<i64>)
      -> tensor<1x1x8xf32>
  %loss = megalodon.cross_entropy %a, %targets
      : tensor<1x1x8xf32>, tensor<1x1xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

func.func @loss(%kc: tensor<1x2x8xf32>, %vc: tensor<1x2x8xf32>,
                %len: tensor<i64>, %targets: tensor<1x2xi32>,
                %k: tensor<1x1x8xf32> {megalodon.param = "k"},
                %v: tensor<1x1x8xf32>) -> tensor<f32> {
  // expected-error @+1 {{'megalodon.kv_cache_update' op has no VJP: the KV cache only serves decoding}}
  %kc2, %vc2, %len2 = megalodon.kv_cache_update %kc, %vc, %len, %k, %v
      {chunk_size = 2 : i64}
      : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<i64>,
         tensor<1x1x8xf32>, tensor<1x1x8xf32>)
      -> (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<i64>)
  %loss = megalodon.cross_entropy %kc2, %targets
      : tensor<1x2x8xf32>, tensor<1x2xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op cannot be differentiated: autodiff needs a first result that is a 0-d float tensor (the loss), got 'tensor<4xf32>'}}
func.func @loss(%x: tensor<4xf32> {megalodon.param = "x"}) -> tensor<4xf32> {
  %y = megalodon.silu %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op cannot be differentiated: result #1 is neither the loss nor carried state (megalodon.state)}}
func.func @loss(%x: tensor<4xf32> {megalodon.param = "x"}, %t: tensor<i32>)
    -> (tensor<f32>, tensor<4xf32>) {
  %y = megalodon.silu %x : tensor<4xf32>
  %l = megalodon.cross_entropy %y, %t : tensor<4xf32>, tensor<i32> -> tensor<f32>
  return %l, %y : tensor<f32>, tensor<4xf32>
}

// -----

// A segment of a longer sequence: the timestep-norm and CEMA state come in
// and go out. The returned mean, variance and CEMA state are seeded with
// cotangent arguments (the step count, an integer, is not); the incoming
// mean, variance and CEMA state get gradients after the parameters; the
// returned state itself is dropped.

// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<1x4x8xf32>, %[[T:[a-z0-9]+]]: tensor<1x4xi32>,
// CHECK-SAME: %[[N0:[a-z0-9]+]]: tensor<1xi64> {megalodon.state = "n"},
// CHECK-SAME: %[[M0:[a-z0-9]+]]: tensor<1x2xf32> {megalodon.state = "m"},
// CHECK-SAME: %[[V0:[a-z0-9]+]]: tensor<1x2xf32> {megalodon.state = "v"},
// CHECK-SAME: %[[HX:[a-z0-9]+]]: tensor<1x8x2xcomplex<f32>> {megalodon.state = "hx"},
// CHECK-SAME: %[[TW:[a-z0-9]+]]: tensor<8xf32> {megalodon.param = "tw"},
// CHECK-SAME: %[[GMF:[a-z0-9]+]]: tensor<1x2xf32> {megalodon.input = "cotangent.m"},
// CHECK-SAME: %[[GVF:[a-z0-9]+]]: tensor<1x2xf32> {megalodon.input = "cotangent.v"},
// CHECK-SAME: %[[GHL:[a-z0-9]+]]: tensor<1x8x2xcomplex<f32>> {megalodon.input = "cotangent.hx"})
// CHECK-SAME: -> (tensor<f32> {megalodon.input = "loss"}, tensor<8xf32> {megalodon.grad = "tw"},
// CHECK-SAME: tensor<8x2x1xf32> {megalodon.grad = "alpha"},
// CHECK-SAME: tensor<1x2xf32> {megalodon.grad = "m"}, tensor<1x2xf32> {megalodon.grad = "v"},
// CHECK-SAME: tensor<1x8x2xcomplex<f32>> {megalodon.grad = "hx"})
// CHECK: %[[GY:.+]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[GHX:.+]] = megalodon.cema_grad %{{.+}} params({{.+}}) state(%[[HX]]) grad(%{{.+}}, %[[GHL]])
// CHECK: %[[GXN:.+]], %[[GTW:.+]], %{{.+}}, %[[GM:.+]], %[[GV:.+]] = megalodon.timestep_norm_grad %[[X]], %[[TW]] state(%[[N0]], %[[M0]], %[[V0]]) grad(%{{.+}}, %[[GMF]], %[[GVF]])
// CHECK: return %{{.+}}, %[[GTW]], %{{.+}}, %[[GM]], %[[GV]], %[[GHX]]
func.func @loss(%x: tensor<1x4x8xf32>, %targets: tensor<1x4xi32>,
                %n0: tensor<1xi64> {megalodon.state = "n"},
                %m0: tensor<1x2xf32> {megalodon.state = "m"},
                %v0: tensor<1x2xf32> {megalodon.state = "v"},
                %hx: tensor<1x8x2xcomplex<f32>> {megalodon.state = "hx"},
                %tw: tensor<8xf32> {megalodon.param = "tw"},
                %tb: tensor<8xf32>,
                %alpha: tensor<8x2x1xf32> {megalodon.param = "alpha"},
                %delta: tensor<8x2x1xf32>, %theta: tensor<8x1x1xf32>,
                %cgamma: tensor<8x2x2xf32>, %omega: tensor<8x1xf32>)
    -> (tensor<f32> {megalodon.input = "loss"},
        tensor<1xi64> {megalodon.state = "n"},
        tensor<1x2xf32> {megalodon.state = "m"},
        tensor<1x2xf32> {megalodon.state = "v"},
        tensor<1x8x2xcomplex<f32>> {megalodon.state = "hx"}) {
  %xn, %n, %m, %v = megalodon.timestep_norm %x, %tw, %tb state(%n0, %m0, %v0)
      {num_groups = 2 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1xi64>,
         tensor<1x2xf32>, tensor<1x2xf32>)
      -> (tensor<1x4x8xf32>, tensor<1xi64>, tensor<1x2xf32>, tensor<1x2xf32>)
  %c, %h = megalodon.cema %xn params(%alpha, %delta, %theta, %cgamma, %omega)
      state(%hx)
      : (tensor<1x4x8xf32>, tensor<8x2x1xf32>, tensor<8x2x1xf32>,
         tensor<8x1x1xf32>, tensor<8x2x2xf32>, tensor<8x1xf32>,
         tensor<1x8x2xcomplex<f32>>)
      -> (tensor<1x4x8xf32>, tensor<1x8x2xcomplex<f32>>)
  %loss = megalodon.cross_entropy %c, %targets
      : tensor<1x4x8xf32>, tensor<1x4xi32> -> tensor<f32>
  return %loss, %n, %m, %v, %h : tensor<f32>, tensor<1xi64>, tensor<1x2xf32>,
      tensor<1x2xf32>, tensor<1x8x2xcomplex<f32>>
}
