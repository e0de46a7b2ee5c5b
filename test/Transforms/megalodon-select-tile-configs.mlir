// RUN: megalodon-opt %s --megalodon-select-tile-configs="lanes=16 registers=32 l1-bytes=49152 l2-bytes=2097152 threads=2" | FileCheck %s --check-prefix=AVX512
// RUN: megalodon-opt %s --megalodon-select-tile-configs="lanes=8 registers=16 l1-bytes=32768 l2-bytes=1048576 threads=2" | FileCheck %s --check-prefix=AVX2
// RUN: megalodon-opt %s --megalodon-select-tile-configs="lanes=16 registers=32 l1-bytes=49152 l2-bytes=2097152 threads=2 cema-matrix-block=64" | FileCheck %s --check-prefix=MATRIX
// RUN: megalodon-opt %s --megalodon-select-tile-configs="cema-matrix-block=64 defaults=false" | FileCheck %s --check-prefix=NODEFAULTS

// Defaults follow the target facts: the widest vector that divides D, as
// many states per pass as fit in the registers with their coefficients
// (7 G + 4 vectors), and a power-of-two block whose x and y slices fill a
// quarter of L1. The gradient checkpoints every ceil(sqrt(L)) steps and
// carries 7 vectors per state (7 G + 6 registers). A config already
// present is kept.

// AVX512-LABEL: func.func @wide
// AVX512: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 64 : i64, lanes = 16 : i64, state_group = 4 : i64}, source = "default">}
// AVX512: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 46 : i64, lanes = 16 : i64, state_group = 2 : i64}, source = "default">}
// AVX2-LABEL: func.func @wide
// AVX2: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 128 : i64, lanes = 8 : i64, state_group = 1 : i64}, source = "default">}
// AVX2: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 46 : i64, lanes = 8 : i64, state_group = 1 : i64}, source = "default">}
// cema-matrix-block=64 asks for the block form where 64 divides the length
// (2048 here, not 10 in @narrow), before the defaults.
// MATRIX-LABEL: func.func @wide
// MATRIX: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{matrix_block = 64 : i64}, source = "user">}
// MATRIX: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{matrix_block = 64 : i64}, source = "user">}
// MATRIX-LABEL: func.func @narrow
// MATRIX: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 10 : i64, lanes = 4 : i64, state_group = 3 : i64}, source = "default">}
// defaults=false: the block form where it fits, and no config elsewhere
// (the hand-written one stays).
// NODEFAULTS-LABEL: func.func @wide
// NODEFAULTS: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{matrix_block = 64 : i64}, source = "user">}
// NODEFAULTS: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{matrix_block = 64 : i64}, source = "user">}
// NODEFAULTS-LABEL: func.func @narrow
// NODEFAULTS-NOT: source = "default"
// NODEFAULTS: source = "user"
// NODEFAULTS-NOT: megalodon.tile_config
// NODEFAULTS-LABEL: func.func @attention
// NODEFAULTS-NOT: megalodon.tile_config
func.func @wide(%x: tensor<1x2048x256xf32>, %a: tensor<256x16x1xf32>,
                %t: tensor<256x1x1xf32>, %g: tensor<256x16x2xf32>,
                %o: tensor<256x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x2048x256xf32>, tensor<256x16x1xf32>, tensor<256x16x1xf32>, tensor<256x1x1xf32>, tensor<256x16x2xf32>, tensor<256x1xf32>)
      -> (tensor<1x2048x256xf32>, tensor<1x256x16xcomplex<f32>>)
  %gx, %ga, %gd, %gt, %gg, %go = megalodon.cema_grad %x params(%a, %a, %t, %g, %o) grad(%y)
      : (tensor<1x2048x256xf32>, tensor<256x16x1xf32>, tensor<256x16x1xf32>, tensor<256x1x1xf32>, tensor<256x16x2xf32>, tensor<256x1xf32>, tensor<1x2048x256xf32>)
      -> (tensor<1x2048x256xf32>, tensor<256x16x1xf32>, tensor<256x16x1xf32>, tensor<256x1x1xf32>, tensor<256x16x2xf32>, tensor<256x1xf32>)
  return
}

// 12 channels take 4 lanes; a 10-step sequence caps the block at 10; a
// hand-written config stays.
// AVX512-LABEL: func.func @narrow
// AVX512: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 10 : i64, lanes = 4 : i64, state_group = 3 : i64}, source = "default">}
// AVX512: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 2 : i64, lanes = 2 : i64, state_group = 1 : i64}, source = "user">}
func.func @narrow(%x: tensor<2x10x12xf32>, %a: tensor<12x3x1xf32>,
                  %t: tensor<12x1x1xf32>, %g: tensor<12x3x2xf32>,
                  %o: tensor<12x1xf32>) {
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<2x10x12xf32>, tensor<12x3x1xf32>, tensor<12x3x1xf32>, tensor<12x1x1xf32>, tensor<12x3x2xf32>, tensor<12x1xf32>)
      -> (tensor<2x10x12xf32>, tensor<2x12x3xcomplex<f32>>)
  %y2, %h2 = megalodon.cema %x params(%a, %a, %t, %g, %o)
      {megalodon.tile_config = #megalodon.tile_config<{block_time = 2 : i64, lanes = 2 : i64, state_group = 1 : i64}, source = "user">}
      : (tensor<2x10x12xf32>, tensor<12x3x1xf32>, tensor<12x3x1xf32>, tensor<12x1x1xf32>, tensor<12x3x2xf32>, tensor<12x1xf32>)
      -> (tensor<2x10x12xf32>, tensor<2x12x3xcomplex<f32>>)
  return
}

// Chunk attention: 64 queries and the most keys (a power of two, 16..128)
// whose scores and weights fill half of L1, capped at the chunk's rows. The
// decoding form (a cache that is read) has no tiled lowering and gets no
// config.
// AVX512-LABEL: func.func @attention
// AVX512: megalodon.chunk_attention {{.*}}{chunk_size = 256 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 32 : i64, query_block = 64 : i64}, source = "default">, num_heads = 2 : i64}
// AVX512: megalodon.chunk_attention_grad {{.*}}{chunk_size = 256 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 32 : i64, query_block = 64 : i64}, source = "default">, num_heads = 2 : i64}
// AVX512: megalodon.chunk_attention {{.*}}{chunk_size = 2048 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 32 : i64, query_block = 64 : i64}, source = "default">, num_heads = 4 : i64}
// AVX512: megalodon.chunk_attention {{.*}}{chunk_size = 32 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 12 : i64, query_block = 12 : i64}, source = "default">, num_heads = 2 : i64}
// AVX512: megalodon.chunk_attention {{.*}} {chunk_size = 32 : i64, num_heads = 2 : i64}
// AVX2-LABEL: func.func @attention
// AVX2: megalodon.chunk_attention {{.*}}{chunk_size = 256 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 32 : i64, query_block = 64 : i64}, source = "default">, num_heads = 2 : i64}
// AVX2: megalodon.chunk_attention_grad
// AVX2: megalodon.chunk_attention {{.*}}{chunk_size = 2048 : i64, megalodon.tile_config = #megalodon.tile_config<{key_block = 32 : i64, query_block = 64 : i64}, source = "default">, num_heads = 4 : i64}
func.func @attention(%q: tensor<1x2048x64xf32>, %v: tensor<1x2048x512xf32>,
                     %bq: tensor<1x4096x512xf32>, %bv: tensor<1x4096x4096xf32>,
                     %sq: tensor<1x12x64xf32>, %sv: tensor<1x12x512xf32>,
                     %kc: tensor<1x32x64xf32>, %vc: tensor<1x32x512xf32>,
                     %len: tensor<i64>) {
  %o = megalodon.chunk_attention %q, %q, %v {num_heads = 2 : i64, chunk_size = 256 : i64}
      : (tensor<1x2048x64xf32>, tensor<1x2048x64xf32>, tensor<1x2048x512xf32>) -> tensor<1x2048x512xf32>
  %gq, %gk, %gv = megalodon.chunk_attention_grad %q, %q, %v grad(%o) {num_heads = 2 : i64, chunk_size = 256 : i64}
      : (tensor<1x2048x64xf32>, tensor<1x2048x64xf32>, tensor<1x2048x512xf32>, tensor<1x2048x512xf32>)
      -> (tensor<1x2048x64xf32>, tensor<1x2048x64xf32>, tensor<1x2048x512xf32>)
  %bo = megalodon.chunk_attention %bq, %bq, %bv {num_heads = 4 : i64, chunk_size = 2048 : i64}
      : (tensor<1x4096x512xf32>, tensor<1x4096x512xf32>, tensor<1x4096x4096xf32>) -> tensor<1x4096x4096xf32>
  %so = megalodon.chunk_attention %sq, %sq, %sv {num_heads = 2 : i64, chunk_size = 32 : i64}
      : (tensor<1x12x64xf32>, tensor<1x12x64xf32>, tensor<1x12x512xf32>) -> tensor<1x12x512xf32>
  %do = megalodon.chunk_attention %sq, %sq, %sv cache(%kc, %vc, %len) {num_heads = 2 : i64, chunk_size = 32 : i64}
      : (tensor<1x12x64xf32>, tensor<1x12x64xf32>, tensor<1x12x512xf32>, tensor<1x32x64xf32>, tensor<1x32x512xf32>, tensor<i64>) -> tensor<1x12x512xf32>
  return
}
