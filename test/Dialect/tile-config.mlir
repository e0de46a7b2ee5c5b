// RUN: megalodon-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// #megalodon.tile_config: round trip on tunable ops, and the rules that need
// neither the op's shapes nor the target (those are the verify pass's).

// CHECK-LABEL: func.func @round_trip
// CHECK: megalodon.cema {{.*}} {megalodon.tile_config = #megalodon.tile_config<{block_time = 16 : i64, lanes = 8 : i64, state_group = 2 : i64}, source = "user">}
// CHECK: megalodon.cema_grad {{.*}} {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 4 : i64}, source = "database">}
func.func @round_trip(%x: tensor<1x16x8xf32>, %a: tensor<8x4x1xf32>,
                      %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>,
                      %o: tensor<8x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 16 : i64, lanes = 8 : i64, state_group = 2 : i64}, source = "user">}
      : (tensor<1x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
      -> (tensor<1x16x8xf32>, tensor<1x8x4xcomplex<f32>>)
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%y)
      {megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 4 : i64}, source = "database">}
      : (tensor<1x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>, tensor<1x16x8xf32>)
      -> (tensor<1x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @not_tunable(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'megalodon.tile_config' on an op that has no tile sizes}}
  %y = megalodon.silu %x {megalodon.tile_config = #megalodon.tile_config<{lanes = 8 : i64}, source = "user">} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @not_a_config(%x: tensor<1x16x8xf32>, %a: tensor<8x4x1xf32>,
                        %t: tensor<8x1x1xf32>, %g: tensor<8x4x2xf32>,
                        %o: tensor<8x1xf32>) {
  // expected-error @+1 {{'megalodon.tile_config' must be a #megalodon.tile_config}}
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o) {megalodon.tile_config = {lanes = 8 : i64}}
      : (tensor<1x16x8xf32>, tensor<8x4x1xf32>, tensor<8x4x1xf32>, tensor<8x1x1xf32>, tensor<8x4x2xf32>, tensor<8x1xf32>)
      -> (tensor<1x16x8xf32>, tensor<1x8x4xcomplex<f32>>)
  return
}

// -----

func.func @unknown_attribute(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown megalodon attribute 'megalodon.tiles'}}
  %y = megalodon.silu %x {megalodon.tiles = 1 : i64} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// expected-error @+1 {{tile config source must be default, database or user, got 'guess'}}
func.func private @bad_source() attributes {c = #megalodon.tile_config<{lanes = 8 : i64}, source = "guess">}

// -----

// expected-error @+1 {{tile size 'lanes' must be an i64}}
func.func private @bad_size() attributes {c = #megalodon.tile_config<{lanes = 8.0 : f32}, source = "user">}

// -----

// The marker of a matmul's row-block loop (megalodon-tile-and-vectorize) is
// a unit attribute on a loop; anything else is rejected.

func.func @row_blocks_not_on_a_loop(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'megalodon.matmul_row_blocks' must be a unit attribute on a loop}}
  %y = megalodon.silu %x {megalodon.matmul_row_blocks} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @row_blocks_not_unit(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'megalodon.matmul_row_blocks' must be a unit attribute on a loop}}
  scf.for %i = %c0 to %n step %c1 {
  } {megalodon.matmul_row_blocks = 1 : i64}
  return
}

// -----

// The kernel cost list (megalodon-estimate-kernel-costs) is a dictionary of
// [FLOPs, bytes] pairs on a module.

// CHECK: module attributes {megalodon.kernel_costs = {k = array<i64: 10, 20>}}
module attributes {megalodon.kernel_costs = {k = array<i64: 10, 20>}} {
}

// -----

// expected-error @+1 {{'megalodon.kernel_costs' must be a dictionary of array<i64: flops, bytes> on a module}}
module attributes {megalodon.kernel_costs = {k = array<i64: 10>}} {
}

// -----

func.func @costs_not_on_a_module(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'megalodon.kernel_costs' must be a dictionary of array<i64: flops, bytes> on a module}}
  %y = megalodon.silu %x {megalodon.kernel_costs = {}} : tensor<4xf32>
  return %y : tensor<4xf32>
}
