// RUN: megalodon-opt %s --megalodon-approximate-math | FileCheck %s
// RUN: megalodon-opt %s --megalodon-approximate-math="ops=tanh" | FileCheck %s --check-prefix=TANH

// exp (scalar or vector) becomes arithmetic: no math.exp is left, the
// polynomial is evaluated with FMAs. sin is not in the default set.

// CHECK-LABEL: func @exp_vector
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<16xf32>
// CHECK-NOT: math.exp
// CHECK: return
// TANH-LABEL: func @exp_vector
// TANH: math.exp
func.func @exp_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.exp %x : vector<16xf32>
  return %y : vector<16xf32>
}

// CHECK-LABEL: func @mixed
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: math.sin
// TANH-LABEL: func @mixed
// TANH-NOT: math.tanh
// TANH: math.exp
// TANH: math.sin
func.func @mixed(%x: f32) -> (f32, f32, f32) {
  %a = math.tanh %x : f32
  %b = math.exp %x : f32
  %c = math.sin %x : f32
  return %a, %b, %c : f32, f32, f32
}
