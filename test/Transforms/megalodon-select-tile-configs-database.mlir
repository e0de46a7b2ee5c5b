// RUN: megalodon-opt %s --megalodon-select-tile-configs="database=%S/Inputs/tuning-db.json compiler=test-compiler target-key=test-target lanes=16 registers=32 l1-bytes=49152" -verify-diagnostics | FileCheck %s
// The other databases raise no warning at @rejected, so its expectation goes.
// RUN: grep -v expected-warning %s > %t.mlir
// RUN: megalodon-opt %t.mlir --megalodon-select-tile-configs="database=%S/Inputs/tuning-db-corrupt.json compiler=test-compiler target-key=test-target lanes=16 registers=32 l1-bytes=49152" 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: rm -f %t.missing.json
// RUN: megalodon-opt %t.mlir --megalodon-select-tile-configs="database=%t.missing.json compiler=test-compiler target-key=test-target lanes=16 registers=32 l1-bytes=49152" 2>&1 | FileCheck %s --check-prefix=MISSING

// The tuning database (Inputs/tuning-db.json) holds results for cema at
// L = 64 (a hit), at L = 48 for another compiler version and for another
// tile-space version (both stale; cema's space is 2), and at L = 40 with
// lanes that do not divide the channels (rejected). Only the hit is used;
// every other op gets its default. A corrupt database is a warning and
// defaults everywhere; a missing one is an empty one.

// CHECK-LABEL: func.func @hit
// CORRUPT: warning: {{.*}}tuning-db-corrupt.json: {{.*}}; using default tile configs
// CORRUPT-NOT: source = "database"
// MISSING-NOT: tuning database
// MISSING-NOT: source = "database"
func.func @hit(%x: tensor<1x64x32xf32>, %a: tensor<32x4x1xf32>, %t: tensor<32x1x1xf32>,
               %g: tensor<32x4x2xf32>, %o: tensor<32x1xf32>) {
  // CHECK: megalodon.cema {{.*}}#megalodon.tile_config<{block_time = 8 : i64, lanes = 8 : i64, state_group = 2 : i64}, source = "database">
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x64x32xf32>, tensor<32x4x1xf32>, tensor<32x4x1xf32>, tensor<32x1x1xf32>, tensor<32x4x2xf32>, tensor<32x1xf32>)
      -> (tensor<1x64x32xf32>, tensor<1x32x4xcomplex<f32>>)
  return
}

// CHECK-LABEL: func.func @stale_or_missing
func.func @stale_or_missing(%x: tensor<1x48x32xf32>, %x2: tensor<1x32x32xf32>,
                            %a: tensor<32x4x1xf32>, %t: tensor<32x1x1xf32>,
                            %g: tensor<32x4x2xf32>, %o: tensor<32x1xf32>) {
  // CHECK: megalodon.cema {{.*}}source = "default"
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x48x32xf32>, tensor<32x4x1xf32>, tensor<32x4x1xf32>, tensor<32x1x1xf32>, tensor<32x4x2xf32>, tensor<32x1xf32>)
      -> (tensor<1x48x32xf32>, tensor<1x32x4xcomplex<f32>>)
  // CHECK: megalodon.cema {{.*}}source = "default"
  %y2, %h2 = megalodon.cema %x2 params(%a, %a, %t, %g, %o)
      : (tensor<1x32x32xf32>, tensor<32x4x1xf32>, tensor<32x4x1xf32>, tensor<32x1x1xf32>, tensor<32x4x2xf32>, tensor<32x1xf32>)
      -> (tensor<1x32x32xf32>, tensor<1x32x4xcomplex<f32>>)
  return
}

// CHECK-LABEL: func.func @rejected
func.func @rejected(%x: tensor<1x40x32xf32>, %a: tensor<32x4x1xf32>, %t: tensor<32x1x1xf32>,
                    %g: tensor<32x4x2xf32>, %o: tensor<32x1xf32>) {
  // expected-warning @+2 {{tuning database entry ignored: 'megalodon.cema' op tile config: lanes (12) must be a power of two that divides the 32 channels}}
  // CHECK: megalodon.cema {{.*}}source = "default"
  %y, %h = megalodon.cema %x params(%a, %a, %t, %g, %o)
      : (tensor<1x40x32xf32>, tensor<32x4x1xf32>, tensor<32x4x1xf32>, tensor<32x1x1xf32>, tensor<32x4x2xf32>, tensor<32x1xf32>)
      -> (tensor<1x40x32xf32>, tensor<1x32x4xcomplex<f32>>)
  return
}
