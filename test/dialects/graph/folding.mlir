// RUN: dlc-opt %s -canonicalize | FileCheck %s
// Folders: constant arithmetic, transposes of weights, no-op reshapes.

// CHECK-LABEL: func @fold_constants
func.func @fold_constants() -> (tensor<2xf32>, tensor<3x2xf32>) {
  %a = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = arith.constant dense<3.0> : tensor<f32>
  %s = graph.mul %a, %b : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %t = graph.add %s, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %wt = graph.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK-DAG: arith.constant dense<[4.000000e+00, 8.000000e+00]> : tensor<2xf32>
  // CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK-NOT: graph.
  return %t, %wt : tensor<2xf32>, tensor<3x2xf32>
}

// CHECK-LABEL: func @identity_reshape
func.func @identity_reshape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: graph.reshape
  // CHECK-NOT: graph.transpose
  %r = graph.reshape %x {shape = array<i64: 2, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %t = graph.transpose %r {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %t : tensor<2x3xf32>
}

// Sign arithmetic on constant shapes folds too.
// CHECK-LABEL: func @fold_neg
func.func @fold_neg() -> tensor<1xi64> {
  %a = arith.constant dense<[2]> : tensor<1xi64>
  %n = graph.unary %a {fn = "neg"} : tensor<1xi64>
  // CHECK: arith.constant dense<-2> : tensor<1xi64>
  // CHECK-NOT: graph.unary
  return %n : tensor<1xi64>
}
