//===- GradientCases.cpp - One small function per gradient op ------------===//

#include "GradientCases.h"

#include "Reference/GradientCheck.h"

#include "llvm/ADT/STLExtras.h"

#include <random>

using namespace megalodon;
using namespace megalodon::ref::test;
using ref::RefValue;
using megalodon::testing::GradCase;

namespace {

RefValue integers(std::vector<int64_t> shape, std::vector<int64_t> values) {
  return RefValue::integerTensor(std::move(shape), std::move(values));
}

//===----------------------------------------------------------------------===//
// Embedding and loss
//===----------------------------------------------------------------------===//

GradCase caseEmbedding() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%table: tensor<5x3xf32>, %tokens: tensor<2x3xi64>,
                 %gy: tensor<2x3x3xf32>) -> (tensor<2x3x3xf32>, tensor<5x3xf32>) {
      %y = megalodon.embedding %table[%tokens] {scale = 2.5 : f64}
          : tensor<5x3xf32>, tensor<2x3xi64> -> tensor<2x3x3xf32>
      %gt = megalodon.embedding_grad %table[%tokens] grad(%gy) {scale = 2.5 : f64}
          : tensor<5x3xf32>, tensor<2x3xi64>, tensor<2x3x3xf32> -> tensor<5x3xf32>
      return %y, %gt : tensor<2x3x3xf32>, tensor<5x3xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "embedding table"}};
  // Token 4 occurs twice (the scatter adds) and token 2 never (a zero row).
  c.fixed[1] = integers({2, 3}, {4, 0, 1, 3, 4, 1});
  c.seed = 1;
  return c;
}

GradCase caseCrossEntropy() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%logits: tensor<2x3x5xf32>, %targets: tensor<2x3xi32>,
                 %g: tensor<f32>) -> (tensor<f32>, tensor<2x3x5xf32>) {
      %loss = megalodon.cross_entropy %logits, %targets
          : tensor<2x3x5xf32>, tensor<2x3xi32> -> tensor<f32>
      %gl = megalodon.cross_entropy_grad %logits, %targets grad(%g)
          : tensor<2x3x5xf32>, tensor<2x3xi32>, tensor<f32> -> tensor<2x3x5xf32>
      return %loss, %gl : tensor<f32>, tensor<2x3x5xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "cross_entropy logits"}};
  c.fixed[1] = integers({2, 3}, {0, 4, 2, 2, 1, 3});
  c.seed = 2;
  return c;
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

/// Replaces every `key` in `text` by `value`.
std::string substitute(std::string text, const std::string &key,
                       const std::string &value) {
  for (size_t at = text.find(key); at != std::string::npos;
       at = text.find(key, at + value.size()))
    text.replace(at, key.size(), value);
  return text;
}

/// Timestep norm with or without a carried state and final cotangents. The
/// arguments are always x, w, b, count, mean, var, gy, g_mean_out and
/// g_var_out; a variant passes the ones it does not use all the same.
GradCase timestepNormCase(bool state, bool finalGrads) {
  std::string ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>,
                 %n: tensor<2xi64>, %m: tensor<2x2xf32>, %v: tensor<2x2xf32>,
                 %gy: tensor<2x3x4xf32>, %gm: tensor<2x2xf32>, %gv: tensor<2x2xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>, GRAD_TYPES) {
      %y, %n1, %m1, %v1 = megalodon.timestep_norm %x, %w, %b STATE
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32> STATE_TYPES)
          -> (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2x2xf32>, tensor<2x2xf32>)
      GRADS = megalodon.timestep_norm_grad %x, %w STATE grad(%gy FINAL)
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32> STATE_TYPES, tensor<2x3x4xf32> FINAL_TYPES)
          -> (GRAD_TYPES)
      return %y, %m1, %v1, GRADS
          : tensor<2x3x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>, GRAD_TYPES
    })mlir";
  const std::string stats = ", tensor<2x2xf32>, tensor<2x2xf32>";
  ir = substitute(ir, "STATE_TYPES", state ? ", tensor<2xi64>" + stats : "");
  ir = substitute(ir, "STATE", state ? "state(%n, %m, %v)" : "");
  ir = substitute(ir, "FINAL_TYPES", finalGrads ? stats : "");
  ir = substitute(ir, "FINAL", finalGrads ? ", %gm, %gv" : "");
  ir = substitute(ir, "GRAD_TYPES",
                  "tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>" +
                      (state ? stats : ""));
  ir = substitute(ir, "GRADS",
                  state ? "%gx, %gw, %gb, %gm0, %gv0" : "%gx, %gw, %gb");

  GradCase c;
  c.ir = ir;
  c.projections = {{0, 6}};
  if (finalGrads)
    c.projections.insert(c.projections.end(), {{1, 7}, {2, 8}});
  c.gradients = {{0, 3, "timestep_norm x"},
                 {1, 4, "timestep_norm weight"},
                 {2, 5, "timestep_norm bias"}};
  if (state)
    c.gradients.insert(c.gradients.end(),
                       {{4, 6, "timestep_norm carried mean"},
                        {5, 7, "timestep_norm carried var"}});
  c.fixed[3] = integers({2}, {3, 7});
  // The carried variance is a variance: positive.
  std::mt19937_64 rng(30);
  c.fixed[5] = RefValue::realTensor({2, 2}, uniformVector(4, rng, 0.5, 2.0));
  return c;
}

GradCase caseTimestepNormFresh() {
  GradCase c = timestepNormCase(/*state=*/false, /*finalGrads=*/false);
  c.seed = 3;
  return c;
}

GradCase caseTimestepNormFreshWithFinalCotangents() {
  GradCase c = timestepNormCase(/*state=*/false, /*finalGrads=*/true);
  c.seed = 4;
  return c;
}

GradCase caseTimestepNormCarried() {
  GradCase c = timestepNormCase(/*state=*/true, /*finalGrads=*/false);
  c.seed = 5;
  return c;
}

GradCase caseTimestepNormCarriedWithFinalCotangents() {
  GradCase c = timestepNormCase(/*state=*/true, /*finalGrads=*/true);
  c.seed = 6;
  return c;
}

GradCase caseRMSNorm() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<4xf32>, %gy: tensor<2x3x4xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>) {
      %y = megalodon.rms_norm %x weight(%w) {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
      %gx, %gw = megalodon.rms_norm_grad %x weight(%w) grad(%gy)
          {num_groups = 2 : i64, eps = 1.0e-5 : f64}
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<2x3x4xf32>)
          -> (tensor<2x3x4xf32>, tensor<4xf32>)
      return %y, %gx, %gw : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "rms_norm x"}, {1, 2, "rms_norm weight"}};
  c.seed = 7;
  return c;
}

GradCase caseRMSNormWithoutWeight() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<3x8xf32>, %gy: tensor<3x8xf32>)
        -> (tensor<3x8xf32>, tensor<3x8xf32>) {
      %y = megalodon.rms_norm %x {num_groups = 4 : i64, eps = 1.0e-5 : f64}
          : (tensor<3x8xf32>) -> tensor<3x8xf32>
      %gx = megalodon.rms_norm_grad %x grad(%gy) {num_groups = 4 : i64, eps = 1.0e-5 : f64}
          : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
      return %y, %gx : tensor<3x8xf32>, tensor<3x8xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "rms_norm x (no weight)"}};
  c.seed = 8;
  return c;
}

GradCase caseLayerNorm() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x5xf32>, %w: tensor<5xf32>, %b: tensor<5xf32>,
                 %gy: tensor<2x3x5xf32>)
        -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>) {
      %y = megalodon.layer_norm %x affine(%w, %b) {eps = 1.0e-5 : f64}
          : (tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %gx, %gw, %gb = megalodon.layer_norm_grad %x affine(%w) grad(%gy) {eps = 1.0e-5 : f64}
          : (tensor<2x3x5xf32>, tensor<5xf32>, tensor<2x3x5xf32>)
          -> (tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>)
      return %y, %gx, %gw, %gb
          : tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<5xf32>, tensor<5xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {{0, 1, "layer_norm x"},
                 {1, 2, "layer_norm weight"},
                 {2, 3, "layer_norm bias"}};
  c.seed = 9;
  return c;
}

GradCase caseLayerNormWithoutAffine() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<4x6xf32>, %gy: tensor<4x6xf32>)
        -> (tensor<4x6xf32>, tensor<4x6xf32>) {
      %y = megalodon.layer_norm %x {eps = 1.0e-5 : f64}
          : (tensor<4x6xf32>) -> tensor<4x6xf32>
      %gx = megalodon.layer_norm_grad %x grad(%gy) {eps = 1.0e-5 : f64}
          : (tensor<4x6xf32>, tensor<4x6xf32>) -> (tensor<4x6xf32>)
      return %y, %gx : tensor<4x6xf32>, tensor<4x6xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "layer_norm x (no affine)"}};
  c.seed = 10;
  return c;
}

//===----------------------------------------------------------------------===//
// CEMA
//===----------------------------------------------------------------------===//

GradCase caseCemaWithState() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x4x3xf32>, %a: tensor<3x2x1xf32>, %d: tensor<3x2x1xf32>,
                 %t: tensor<3x1x1xf32>, %g: tensor<3x2x2xf32>, %o: tensor<3x1xf32>,
                 %hx: tensor<2x3x2xcomplex<f32>>, %gy: tensor<2x4x3xf32>,
                 %gh: tensor<2x3x2xcomplex<f32>>)
        -> (tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>, tensor<2x4x3xf32>,
            tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
            tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o) state(%hx)
          : (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
             tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>)
          -> (tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>)
      %gx, %ga, %gd, %gt, %gg, %go, %ghx = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) state(%hx) grad(%gy, %gh)
          : (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
             tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>,
             tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>)
          -> (tensor<2x4x3xf32>, tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
              tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>)
      return %y, %h, %gx, %ga, %gd, %gt, %gg, %go, %ghx
          : tensor<2x4x3xf32>, tensor<2x3x2xcomplex<f32>>, tensor<2x4x3xf32>,
            tensor<3x2x1xf32>, tensor<3x2x1xf32>, tensor<3x1x1xf32>,
            tensor<3x2x2xf32>, tensor<3x1xf32>, tensor<2x3x2xcomplex<f32>>
    })mlir";
  c.projections = {{0, 7}, {1, 8}};
  c.gradients = {{0, 2, "cema x"},     {1, 3, "cema alpha"},
                 {2, 4, "cema delta"}, {3, 5, "cema theta"},
                 {4, 6, "cema gamma"}, {5, 7, "cema omega"},
                 {6, 8, "cema hx"}};
  c.seed = 11;
  return c;
}

GradCase caseCemaFresh() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<1x5x2xf32>, %a: tensor<2x3x1xf32>, %d: tensor<2x3x1xf32>,
                 %t: tensor<2x1x1xf32>, %g: tensor<2x3x2xf32>, %o: tensor<2x1xf32>,
                 %gy: tensor<1x5x2xf32>)
        -> (tensor<1x5x2xf32>, tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
          : (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>)
          -> (tensor<1x5x2xf32>, tensor<1x2x3xcomplex<f32>>)
      %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) grad(%gy)
          : (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>, tensor<1x5x2xf32>)
          -> (tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
              tensor<2x3x2xf32>, tensor<2x1xf32>)
      return %y, %gx, %ga, %gd, %gt, %gg, %go
          : tensor<1x5x2xf32>, tensor<1x5x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>
    })mlir";
  c.projections = {{0, 6}};
  c.gradients = {{0, 1, "cema x (fresh)"},     {1, 2, "cema alpha (fresh)"},
                 {2, 3, "cema delta (fresh)"}, {3, 4, "cema theta (fresh)"},
                 {4, 5, "cema gamma (fresh)"}, {5, 6, "cema omega (fresh)"}};
  c.seed = 12;
  return c;
}

/// The backward scan with a checkpoint every 2 of 7 steps (blocks of 2, 2,
/// 2 and 1) instead of the default ceil(sqrt(7)) = 3, one state per group:
/// the tile config of cema_grad sets the interval (compiled, the vector
/// adjoint scan of megalodon-tile-cema runs it).
GradCase caseCemaCheckpointBlocks() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<1x7x2xf32>, %a: tensor<2x3x1xf32>, %d: tensor<2x3x1xf32>,
                 %t: tensor<2x1x1xf32>, %g: tensor<2x3x2xf32>, %o: tensor<2x1xf32>,
                 %gy: tensor<1x7x2xf32>)
        -> (tensor<1x7x2xf32>, tensor<1x7x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>) {
      %y, %h = megalodon.cema %x params(%a, %d, %t, %g, %o)
          : (tensor<1x7x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>)
          -> (tensor<1x7x2xf32>, tensor<1x2x3xcomplex<f32>>)
      %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x
          params(%a, %d, %t, %g, %o) grad(%gy)
          {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 2 : i64, lanes = 2 : i64, state_group = 1 : i64}, source = "user">}
          : (tensor<1x7x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
             tensor<2x3x2xf32>, tensor<2x1xf32>, tensor<1x7x2xf32>)
          -> (tensor<1x7x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x1x1xf32>,
              tensor<2x3x2xf32>, tensor<2x1xf32>)
      return %y, %gx, %ga, %gd, %gt, %gg, %go
          : tensor<1x7x2xf32>, tensor<1x7x2xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>,
            tensor<2x1x1xf32>, tensor<2x3x2xf32>, tensor<2x1xf32>
    })mlir";
  c.projections = {{0, 6}};
  c.gradients = {{0, 1, "cema x (blocks of 2)"},
                 {1, 2, "cema alpha (blocks of 2)"},
                 {2, 3, "cema delta (blocks of 2)"},
                 {3, 4, "cema theta (blocks of 2)"},
                 {4, 5, "cema gamma (blocks of 2)"},
                 {5, 6, "cema omega (blocks of 2)"}};
  c.seed = 13;
  return c;
}

//===----------------------------------------------------------------------===//
// Dense layers and elementwise ops
//===----------------------------------------------------------------------===//

GradCase caseLinear() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %w: tensor<5x4xf32>, %b: tensor<5xf32>,
                 %gy: tensor<2x3x5xf32>)
        -> (tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>) {
      %y = megalodon.linear %x, %w bias(%b)
          : (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %gx, %gw, %gb = megalodon.linear_grad %x, %w grad(%gy)
          : (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<2x3x5xf32>)
          -> (tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>)
      return %y, %gx, %gw, %gb
          : tensor<2x3x5xf32>, tensor<2x3x4xf32>, tensor<5x4xf32>, tensor<5xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {
      {0, 1, "linear x"}, {1, 2, "linear weight"}, {2, 3, "linear bias"}};
  c.seed = 13;
  return c;
}

GradCase caseSilu() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<3x4xf32>, %gy: tensor<3x4xf32>)
        -> (tensor<3x4xf32>, tensor<3x4xf32>) {
      %y = megalodon.silu %x : tensor<3x4xf32>
      %gx = megalodon.silu_grad %x grad(%gy) : tensor<3x4xf32>
      return %y, %gx : tensor<3x4xf32>, tensor<3x4xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "silu x"}};
  c.seed = 14;
  return c;
}

GradCase caseSwiglu() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%g: tensor<3x4xf32>, %u: tensor<3x4xf32>, %gy: tensor<3x4xf32>)
        -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
      %y = megalodon.swiglu %g, %u : tensor<3x4xf32>
      %gg, %gu = megalodon.swiglu_grad %g, %u grad(%gy) : tensor<3x4xf32>
      return %y, %gg, %gu : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "swiglu gate"}, {1, 2, "swiglu up"}};
  c.seed = 15;
  return c;
}

GradCase caseScaleChannels() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>, %gy: tensor<2x3x4xf32>)
        -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>) {
      %y = megalodon.scale_channels %x, %s
          : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
      %gx, %gs = megalodon.scale_channels_grad %x, %s grad(%gy)
          : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<2x3x4xf32>)
          -> (tensor<2x3x4xf32>, tensor<4xf32>)
      return %y, %gx, %gs : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "scale_channels x"}, {1, 2, "scale_channels scale"}};
  c.seed = 16;
  return c;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

GradCase caseSharedQK() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%z: tensor<2x3x8xf32>, %gamma: tensor<2x8xf32>, %beta: tensor<2x8xf32>,
                 %gq: tensor<2x3x8xf32>, %gk: tensor<2x3x8xf32>)
        -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>,
            tensor<2x8xf32>, tensor<2x8xf32>) {
      %q, %k = megalodon.shared_qk %z, %gamma, %beta {num_heads = 2 : i64}
          : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
          -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>)
      %gz, %gg, %gb = megalodon.shared_qk_grad %z, %gamma grad(%gq, %gk)
          {num_heads = 2 : i64}
          : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>)
          -> (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
      return %q, %k, %gz, %gg, %gb : tensor<2x3x8xf32>, tensor<2x3x8xf32>,
          tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
    })mlir";
  c.projections = {{0, 3}, {1, 4}};
  c.gradients = {{0, 2, "shared_qk z"},
                 {1, 3, "shared_qk gamma"},
                 {2, 4, "shared_qk beta"}};
  c.seed = 17;
  return c;
}

GradCase caseRotary() {
  // Positions restart every 4 tokens, so the 6 tokens cross a chunk.
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<2x6x8xf32>, %gy: tensor<2x6x8xf32>)
        -> (tensor<2x6x8xf32>, tensor<2x6x8xf32>) {
      %y = megalodon.rotary %x {num_heads = 2 : i64, base = 100.0 : f64, chunk_size = 4 : i64}
          : (tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
      %gx = megalodon.rotary_grad %gy {num_heads = 2 : i64, base = 100.0 : f64, chunk_size = 4 : i64}
          : (tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
      return %y, %gx : tensor<2x6x8xf32>, tensor<2x6x8xf32>
    })mlir";
  c.projections = {{0, 1}};
  c.gradients = {{0, 1, "rotary x"}};
  c.seed = 18;
  return c;
}

GradCase caseRotaryWithOffset() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%x: tensor<1x3x4xf32>, %off: tensor<i64>, %gy: tensor<1x3x4xf32>)
        -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>) {
      %y = megalodon.rotary %x offset(%off)
          {num_heads = 1 : i64, base = 50.0 : f64, chunk_size = 8 : i64}
          : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x3x4xf32>
      %gx = megalodon.rotary_grad %gy offset(%off)
          {num_heads = 1 : i64, base = 50.0 : f64, chunk_size = 8 : i64}
          : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x3x4xf32>
      return %y, %gx : tensor<1x3x4xf32>, tensor<1x3x4xf32>
    })mlir";
  c.projections = {{0, 2}};
  c.gradients = {{0, 1, "rotary x (offset)"}};
  c.fixed[1] = integers({}, {6});
  c.seed = 19;
  return c;
}

GradCase caseChunkAttention() {
  GradCase c;
  c.ir = R"mlir(
    func.func @f(%q: tensor<2x4x4xf32>, %k: tensor<2x4x4xf32>, %v: tensor<2x4x6xf32>,
                 %ga: tensor<2x4x6xf32>)
        -> (tensor<2x4x6xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>) {
      %a = megalodon.chunk_attention %q, %k, %v {num_heads = 2 : i64, chunk_size = 2 : i64}
          : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>) -> tensor<2x4x6xf32>
      %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %k, %v grad(%ga)
          {num_heads = 2 : i64, chunk_size = 2 : i64}
          : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>, tensor<2x4x6xf32>)
          -> (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>)
      return %a, %gq, %gk, %gv
          : tensor<2x4x6xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x6xf32>
    })mlir";
  c.projections = {{0, 3}};
  c.gradients = {{0, 1, "chunk_attention q"},
                 {1, 2, "chunk_attention k"},
                 {2, 3, "chunk_attention v"}};
  c.seed = 20;
  return c;
}

} // namespace

std::vector<megalodon::testing::NamedGradCase>
megalodon::testing::gradientCases() {
  return {
      {"Embedding", caseEmbedding()},
      {"CrossEntropy", caseCrossEntropy()},
      {"TimestepNormFresh", caseTimestepNormFresh()},
      {"TimestepNormFreshWithFinalCotangents", caseTimestepNormFreshWithFinalCotangents()},
      {"TimestepNormCarried", caseTimestepNormCarried()},
      {"TimestepNormCarriedWithFinalCotangents", caseTimestepNormCarriedWithFinalCotangents()},
      {"RMSNorm", caseRMSNorm()},
      {"RMSNormWithoutWeight", caseRMSNormWithoutWeight()},
      {"LayerNorm", caseLayerNorm()},
      {"LayerNormWithoutAffine", caseLayerNormWithoutAffine()},
      {"CemaWithState", caseCemaWithState()},
      {"CemaFresh", caseCemaFresh()},
      {"CemaCheckpointBlocks", caseCemaCheckpointBlocks()},
      {"Linear", caseLinear()},
      {"Silu", caseSilu()},
      {"Swiglu", caseSwiglu()},
      {"ScaleChannels", caseScaleChannels()},
      {"SharedQK", caseSharedQK()},
      {"Rotary", caseRotary()},
      {"RotaryWithOffset", caseRotaryWithOffset()},
      {"ChunkAttention", caseChunkAttention()},
  };
}

std::vector<RefValue>
megalodon::testing::drawArguments(mlir::func::FuncOp func, const GradCase &c) {
  std::mt19937_64 rng(c.seed);
  std::vector<RefValue> args;
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
    auto it = c.fixed.find(i);
    if (it != c.fixed.end()) {
      args.push_back(it->second);
      continue;
    }
    auto tensor = llvm::cast<mlir::RankedTensorType>(type);
    std::vector<int64_t> shape(tensor.getShape().begin(),
                               tensor.getShape().end());
    size_t n = tensor.getNumElements();
    if (llvm::isa<mlir::ComplexType>(tensor.getElementType()))
      args.push_back(RefValue::complexTensor(shape, complexVector(n, rng)));
    else
      args.push_back(
          RefValue::realTensor(shape, uniformVector(n, rng, -1.0, 1.0)));
  }
  return args;
}
