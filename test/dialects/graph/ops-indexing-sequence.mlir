// RUN: dlc-opt %s | dlc-opt | FileCheck %s
// Round trip of the sequence, attention, indexing and math ops.

// CHECK-LABEL: func @ops
func.func @ops(%x: tensor<2x3xf32>, %i: tensor<2xi64>, %s: tensor<5x1x4xf32>,
               %w: tensor<1x4x6xf32>, %r: tensor<1x2x6xf32>) -> tensor<2x3xf32> {
  // CHECK: graph.unary %{{.*}} {alpha = 1.000000e+00 : f32, fn = "elu"} : tensor<2x3xf32>
  %0 = graph.unary %x {fn = "elu", alpha = 1.0 : f32} : tensor<2x3xf32>
  // CHECK: graph.reduce %{{.*}} {axes = array<i64: 1>, keepdims = true, kind = "log_sum_exp"}
  %1 = graph.reduce %0 {kind = "log_sum_exp", axes = array<i64: 1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  // CHECK: graph.gather
  %2 = graph.gather %x, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  // CHECK: graph.slice %{{.*}} {sizes = array<i64: 2, 3>, starts = array<i64: 0, 2>, steps = array<i64: 1, -1>}
  %3 = graph.slice %x {starts = array<i64: 0, 2>, sizes = array<i64: 2, 3>, steps = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: graph.less
  %4 = graph.less %x, %3 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK: graph.where
  %5 = graph.where %4, %x, %3 : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: graph.cast %{{.*}} {to = i64}
  %6 = graph.cast %5 {to = i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
  // CHECK: graph.recurrent {{.*}}cell = "gru"
  %y, %yh, %yc = graph.recurrent %s, %w, %r {cell = "gru", direction = "forward", hidden_size = 2 : i64, activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<5x1x4xf32>, tensor<1x4x6xf32>, tensor<1x2x6xf32>) -> (tensor<5x1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>)
  return %5 : tensor<2x3xf32>
}
