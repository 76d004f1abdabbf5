// RUN: dlc-opt %s -kernel-fuse-epilogues -canonicalize | FileCheck %s
// RUN: dlc-opt %s -kernel-fuse-epilogues="activation=false residual=false" -canonicalize | FileCheck %s --check-prefix=NOACT

// conv -> + per-channel bias -> + residual -> relu becomes one kernel.
// CHECK-LABEL: func @conv_bias_residual_relu
func.func @conv_bias_residual_relu(%x: tensor<1x2x4x4xf32>, %skip: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<2x2x1x1xf32>
  %b = arith.constant dense<[[[0.1]], [[0.2]]]> : tensor<2x1x1xf32>
  // CHECK: %[[B:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} bias %[[B]] residual %{{.*}} {activation = "relu"
  // CHECK-NOT: graph.
  // NOACT: kernel.conv2d %{{.*}}, %{{.*}} bias %{{.*}} {
  // NOACT: graph.add
  // NOACT: graph.relu
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %cb = graph.add %c, %b : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %s = graph.add %skip, %cb : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %r = graph.relu %s : tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// matmul -> + bias -> leaky_relu; a non-channel add is left alone.
// CHECK-LABEL: func @matmul_bias_leaky
func.func @matmul_bias_leaky(%x: tensor<3x5xf32>, %w: tensor<4x5xf32>) -> tensor<3x4xf32> {
  %b = arith.constant dense<1.0> : tensor<4xf32>
  // CHECK: kernel.matmul %{{.*}}, %{{.*}} bias %{{.*}} {activation = "leaky_relu", alpha = 1.000000e-01 : f32
  %m = kernel.matmul %x, %w {transpose_rhs = true} : (tensor<3x5xf32>, tensor<4x5xf32>) -> tensor<3x4xf32>
  %a = graph.add %m, %b : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %l = graph.leaky_relu %a {alpha = 0.1 : f32} : tensor<3x4xf32>
  return %l : tensor<3x4xf32>
}

// A kernel result with two users cannot absorb either of them.
// CHECK-LABEL: func @two_users
func.func @two_users(%x: tensor<3x5xf32>, %w: tensor<4x5xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  // CHECK: kernel.matmul %{{.*}}, %{{.*}} {transpose_rhs = true}
  // CHECK: graph.relu
  %m = kernel.matmul %x, %w {transpose_rhs = true} : (tensor<3x5xf32>, tensor<4x5xf32>) -> tensor<3x4xf32>
  %r = graph.relu %m : tensor<3x4xf32>
  return %m, %r : tensor<3x4xf32>, tensor<3x4xf32>
}
