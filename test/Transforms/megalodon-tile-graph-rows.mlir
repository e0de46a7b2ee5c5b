// RUN: megalodon-opt %s -split-input-file --megalodon-tile-graph-rows="rows=128" | FileCheck %s
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-graph-rows="rows=16" | FileCheck %s --check-prefix=CHUNK
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-graph-rows="rows=8" | FileCheck %s --check-prefix=HALF
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-graph-rows="rows=24" | FileCheck %s --check-prefix=RAGGED
// RUN: megalodon-opt %s -split-input-file --megalodon-tile-graph-rows="rows=128 parallel=true" | FileCheck %s --check-prefix=PAR
// RUN: not megalodon-opt %s --megalodon-tile-graph-rows="rows=0" 2>&1 | FileCheck %s --check-prefix=ZERO

// A feed-forward block: norm, two linear layers, the gate, the down
// projection, the rescaling and the residual add form one chain. The add
// is tiled into blocks of rows and every other op is fused into its loop;
// the norm, read by both linear layers, is computed once per block.

// CHECK-LABEL: func @ffn
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x512x64xf32>
// CHECK-NOT: megalodon.
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<1x512x64xf32>)
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][0, %[[I]], 0] [1, 128, 64] [1, 1, 1]
// CHECK: %[[N:.*]] = megalodon.rms_norm %[[XS]] {{.*}} -> tensor<1x128x64xf32>
// CHECK: %[[G:.*]] = megalodon.linear %[[N]], {{.*}} -> tensor<1x128x256xf32>
// CHECK: %[[U:.*]] = megalodon.linear %[[N]], {{.*}} -> tensor<1x128x256xf32>
// CHECK: %[[H:.*]] = megalodon.swiglu %[[G]], %[[U]] : tensor<1x128x256xf32>
// CHECK: %[[D:.*]] = megalodon.linear %[[H]], {{.*}} -> tensor<1x128x64xf32>
// CHECK: %[[S:.*]] = megalodon.scale_channels %[[D]], {{.*}} -> tensor<1x128x64xf32>
// CHECK: %[[Y:.*]] = megalodon.add %[[XS]], %[[S]] : tensor<1x128x64xf32>
// CHECK: tensor.insert_slice %[[Y]] into %[[ACC]][0, %[[I]], 0] [1, 128, 64]
// CHECK-NOT: megalodon.
// CHECK: return
// With parallel=true the loop is an scf.forall: threads take whole blocks.
// PAR-LABEL: func @ffn
// PAR-NOT: megalodon.
// PAR: scf.forall (%[[I:.*]]) = (0) to (512) step (128) shared_outs(%[[ACC:.*]] = %{{.*}}) -> (tensor<1x512x64xf32>)
// PAR: megalodon.rms_norm {{.*}} -> tensor<1x128x64xf32>
// PAR: %[[Y:.*]] = megalodon.add
// PAR: scf.forall.in_parallel
// PAR-NEXT: tensor.parallel_insert_slice %[[Y]] into %[[ACC]][0, %[[I]], 0] [1, 128, 64]
// RAGGED-LABEL: func @ffn
// RAGGED-NOT: scf.for
func.func @ffn(%x: tensor<1x512x64xf32>, %w: tensor<64xf32>, %w1: tensor<256x64xf32>,
               %w2: tensor<256x64xf32>, %w3: tensor<64x256xf32>, %a: tensor<64xf32>)
    -> tensor<1x512x64xf32> {
  %n = megalodon.rms_norm %x weight(%w) {num_groups = 1 : i64, eps = 1.0e-05 : f64}
      : (tensor<1x512x64xf32>, tensor<64xf32>) -> tensor<1x512x64xf32>
  %g = megalodon.linear %n, %w1 : (tensor<1x512x64xf32>, tensor<256x64xf32>) -> tensor<1x512x256xf32>
  %u = megalodon.linear %n, %w2 : (tensor<1x512x64xf32>, tensor<256x64xf32>) -> tensor<1x512x256xf32>
  %h = megalodon.swiglu %g, %u : tensor<1x512x256xf32>
  %d = megalodon.linear %h, %w3 : (tensor<1x512x256xf32>, tensor<64x256xf32>) -> tensor<1x512x64xf32>
  %s = megalodon.scale_channels %d, %a : (tensor<1x512x64xf32>, tensor<64xf32>) -> tensor<1x512x64xf32>
  %y = megalodon.add %x, %s : tensor<1x512x64xf32>
  return %y : tensor<1x512x64xf32>
}

// -----

// A scan reads the linear layer's result before the chain's last op: the
// layer must exist whole before the loop, so the add's chain leaves it out
// and reads its rows from memory. The layer ends a chain of its own, with
// its own loop before the scan.

// CHECK-LABEL: func @scan_reads_before_the_end
// CHECK: %[[P:.*]] = scf.for
// CHECK: megalodon.linear {{.*}} -> tensor<1x128x64xf32>
// CHECK: %[[Y:.*]], %{{.*}} = megalodon.cema %[[P]]
// CHECK: scf.for %[[I:[^ ]*]] =
// CHECK-DAG: tensor.extract_slice %[[P]][0, %[[I]], 0] [1, 128, 64]
// CHECK-DAG: tensor.extract_slice %[[Y]][0, %[[I]], 0] [1, 128, 64]
// CHECK: megalodon.add
// CHECK-NOT: megalodon.linear
// CHECK: return
func.func @scan_reads_before_the_end(%x: tensor<1x256x64xf32>, %w: tensor<64x64xf32>,
    %a: tensor<64x4x1xf32>, %d: tensor<64x4x1xf32>, %t: tensor<64x1x1xf32>,
    %g: tensor<64x4x2xf32>, %o: tensor<64x1xf32>) -> tensor<1x256x64xf32> {
  %p = megalodon.linear %x, %w : (tensor<1x256x64xf32>, tensor<64x64xf32>) -> tensor<1x256x64xf32>
  %y, %h = megalodon.cema %p params(%a, %d, %t, %g, %o)
      : (tensor<1x256x64xf32>, tensor<64x4x1xf32>, tensor<64x4x1xf32>, tensor<64x1x1xf32>,
         tensor<64x4x2xf32>, tensor<64x1xf32>)
      -> (tensor<1x256x64xf32>, tensor<1x64x4xcomplex<f32>>)
  %r = megalodon.add %p, %y : tensor<1x256x64xf32>
  return %r : tensor<1x256x64xf32>
}

// -----

// An op read after the chain's last op (here by the return, in a training
// step by the backward pass) is fused and yielded by the loop: nothing is
// computed twice.

// CHECK-LABEL: func @read_after_the_end
// CHECK-NOT: megalodon.
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} -> (tensor<1x256x32xf32>, tensor<1x256x64xf32>)
// CHECK: %[[H:.*]] = megalodon.silu
// CHECK: megalodon.linear %[[H]]
// CHECK: scf.yield
// CHECK-NOT: megalodon.
// CHECK: return %[[LOOP]]#0, %[[LOOP]]#1
// PAR-LABEL: func @read_after_the_end
// PAR: %[[LOOP:.*]]:2 = scf.forall
// PAR: %[[H:.*]] = megalodon.silu
// PAR: %[[Y:.*]] = megalodon.linear %[[H]]
// PAR: tensor.parallel_insert_slice %[[Y]]
// PAR: tensor.parallel_insert_slice %[[H]]
// PAR: return %[[LOOP]]#0, %[[LOOP]]#1
func.func @read_after_the_end(%x: tensor<1x256x64xf32>, %w: tensor<32x64xf32>)
    -> (tensor<1x256x32xf32>, tensor<1x256x64xf32>) {
  %h = megalodon.silu %x : tensor<1x256x64xf32>
  %y = megalodon.linear %h, %w : (tensor<1x256x64xf32>, tensor<32x64xf32>) -> tensor<1x256x32xf32>
  return %y, %h : tensor<1x256x32xf32>, tensor<1x256x64xf32>
}

// -----

// Attention joins a chain when a block holds whole chunks (rows = 16, one
// chunk per block): the rotary embedding and attention run per block, with
// both heads. With blocks of half a chunk it cannot: the rotary embeddings
// stay whole too (their positions restart every chunk), and the chain
// starts after attention.

// CHUNK-LABEL: func @attention
// CHUNK-NOT: megalodon.
// CHUNK: scf.for
// CHUNK: megalodon.rotary {{.*}} -> tensor<1x16x32xf32>
// CHUNK: megalodon.rotary {{.*}} -> tensor<1x16x32xf32>
// CHUNK: megalodon.chunk_attention {{.*}} {chunk_size = 16 : i64, num_heads = 2 : i64} : (tensor<1x16x32xf32>, tensor<1x16x32xf32>, tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
// CHUNK: megalodon.mul {{.*}} : tensor<1x16x64xf32>
// CHUNK: megalodon.linear {{.*}} -> tensor<1x16x32xf32>
// HALF-LABEL: func @attention
// HALF: megalodon.rotary
// HALF: megalodon.rotary
// HALF: megalodon.chunk_attention {{.*}} -> tensor<1x64x64xf32>
// HALF: scf.for
// HALF-NOT: megalodon.chunk_attention
// HALF: megalodon.mul {{.*}} : tensor<1x8x64xf32>
// HALF: megalodon.linear {{.*}} -> tensor<1x8x32xf32>
func.func @attention(%q: tensor<1x64x32xf32>, %k: tensor<1x64x32xf32>, %v: tensor<1x64x64xf32>,
                     %gate: tensor<1x64x64xf32>, %w: tensor<32x64xf32>) -> tensor<1x64x32xf32> {
  %qr = megalodon.rotary %q {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 16 : i64}
      : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
  %kr = megalodon.rotary %k {num_heads = 2 : i64, base = 1.0e+04 : f64, chunk_size = 16 : i64}
      : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
  %a = megalodon.chunk_attention %qr, %kr, %v {num_heads = 2 : i64, chunk_size = 16 : i64}
      : (tensor<1x64x32xf32>, tensor<1x64x32xf32>, tensor<1x64x64xf32>) -> tensor<1x64x64xf32>
  %m = megalodon.mul %a, %gate : tensor<1x64x64xf32>
  %y = megalodon.linear %m, %w : (tensor<1x64x64xf32>, tensor<32x64xf32>) -> tensor<1x64x32xf32>
  return %y : tensor<1x64x32xf32>
}

// ZERO: error: megalodon-tile-graph-rows: rows must be positive, got 0
