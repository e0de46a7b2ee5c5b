// RUN: megalodon-opt %s --megalodon-select-tile-configs="lanes=16 registers=32 l1-bytes=49152 l2-bytes=2097152 threads=2" | FileCheck %s --check-prefix=AVX512
// RUN: megalodon-opt %s --megalodon-select-tile-configs="lanes=8 registers=16 l1-bytes=32768 l2-bytes=1048576 threads=2" | FileCheck %s --check-prefix=AVX2

// Defaults follow the target facts: the widest vector that divides D, as
// many states per pass as fit in the registers with their coefficients
// (7 G + 4 vectors), and a power-of-two block whose x and y slices fill a
// quarter of L1. A config already present is kept.

// AVX512-LABEL: func.func @wide
// AVX512: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 64 : i64, lanes = 16 : i64, state_group = 4 : i64}, source = "default">}
// AVX512: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 46 : i64}, source = "default">}
// AVX2-LABEL: func.func @wide
// AVX2: megalodon.cema {{.*}}{megalodon.tile_config = #megalodon.tile_config<{block_time = 128 : i64, lanes = 8 : i64, state_group = 1 : i64}, source = "default">}
// AVX2: megalodon.cema_grad {{.*}}{megalodon.tile_config = #megalodon.tile_config<{checkpoint_block = 46 : i64}, source = "default">}
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
