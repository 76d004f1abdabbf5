// RUN: dlc-opt %s -approximate-math | FileCheck %s
// tanh, exp, log and erf become plain arithmetic (vectorizable); other math
// ops are left for libm.

// CHECK-LABEL: func @approximate
func.func @approximate(%x: vector<16xf32>, %s: f32) -> (vector<16xf32>, vector<16xf32>, f32) {
  // CHECK-NOT: math.tanh
  // CHECK-NOT: math.exp
  // CHECK: arith.mulf
  %t = math.tanh %x : vector<16xf32>
  %e = math.exp %t : vector<16xf32>
  // CHECK: math.sin
  %sin = math.sin %s : f32
  return %t, %e, %sin : vector<16xf32>, vector<16xf32>, f32
}
