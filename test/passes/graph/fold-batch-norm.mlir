// RUN: dlc-opt %s -graph-fold-batch-norm -canonicalize | FileCheck %s
// W' = W * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta.
// With gamma = 2, var = 3, eps = 1: s = 1; W' = W, b' = (0.5 - 1.5) * 1 + 0.25.

// CHECK-LABEL: func @fold
func.func @fold(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<2x2x1x1xf32>
  %b = arith.constant dense<0.5> : tensor<2xf32>
  %gamma = arith.constant dense<2.0> : tensor<2xf32>
  %beta = arith.constant dense<0.25> : tensor<2xf32>
  %mean = arith.constant dense<1.5> : tensor<2xf32>
  %var = arith.constant dense<3.0> : tensor<2xf32>
  // CHECK-DAG: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<2x2x1x1xf32>
  // CHECK-DAG: %[[B:.*]] = arith.constant dense<-7.500000e-01> : tensor<2xf32>
  // CHECK: graph.conv2d %{{.*}}, %[[W]], %[[B]]
  // CHECK-NOT: graph.batch_norm
  %c = graph.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %y = graph.batch_norm %c, %gamma, %beta, %mean, %var {epsilon = 1.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// A conv with a second user keeps its batch_norm: folding would change it.
// CHECK-LABEL: func @shared_conv
func.func @shared_conv(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = arith.constant dense<0.5> : tensor<2x2x1x1xf32>
  %p = arith.constant dense<1.0> : tensor<2xf32>
  %c = graph.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  // CHECK: graph.batch_norm
  %y = graph.batch_norm %c, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %c, %y : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
