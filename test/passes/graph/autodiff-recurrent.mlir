// RUN: dlc-opt --graph-autodiff %s | FileCheck %s
// The gradient of graph.recurrent is one graph.recurrent_grad (a loop over
// time once lowered) fed with the gradients of Y, Y_h and Y_c, zeros where a
// result is unused; each present operand takes its result.

// CHECK-LABEL: func.func @lstm_grad
// CHECK-SAME: -> (tensor<f32>, tensor<1x3x16xf32> {graph.gradient_of = "w"}, tensor<1x4x16xf32> {graph.gradient_of = "r"}, tensor<1x16xf32> {graph.gradient_of = "b"}, tensor<1x2x4xf32> {graph.gradient_of = "h0"}, tensor<1x2x4xf32> {graph.gradient_of = "c0"})
// CHECK: %[[DY:.*]] = graph.expand
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<1x2x4xf32>
// CHECK: %[[DX:.*]], %[[DW:.*]], %[[DR:.*]], %[[DB:.*]], %{{.*}}, %[[DH0:.*]], %[[DC0:.*]], %{{.*}} = graph.recurrent_grad %arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %[[DY]], %[[ZERO]], %{{.*}} {{.*}}cell = "lstm"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1>}
// CHECK-SAME: -> (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
// CHECK: return %{{.*}}, %[[DW]], %[[DR]], %[[DB]], %[[DH0]], %[[DC0]]
func.func @lstm(%x: tensor<5x2x3xf32>, %w: tensor<1x3x16xf32> {graph.parameter = "w"},
                %r: tensor<1x4x16xf32> {graph.parameter = "r"}, %b: tensor<1x16xf32> {graph.parameter = "b"},
                %h0: tensor<1x2x4xf32> {graph.parameter = "h0"}, %c0: tensor<1x2x4xf32> {graph.parameter = "c0"}) -> tensor<f32> {
  %y, %yh, %yc = graph.recurrent %x, %w, %r, %b, %h0, %c0 {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0>} : (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false, kind = "sum"} : (tensor<5x1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// A GRU returns its last hidden state as Y_h and Y_c: both gradients reach
// Y_h; the input takes its gradient when it depends on a parameter.
// CHECK-LABEL: func.func @bigru_grad
// CHECK: %[[GH:.*]] = graph.add
// CHECK: %[[DX:.*]], %[[DW:.*]], %[[DR:.*]], %[[DB:.*]], %[[DHB:.*]], %{{.*}}, %{{.*}}, %{{.*}} = graph.recurrent_grad %{{.*}}, %arg1, %arg2, %arg3, %arg4, %{{.*}}, %[[GH]], %{{.*}} {{.*}}cell = "gru", direction = "bidirectional"{{.*}}linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1>}
// CHECK: graph.mul %[[DX]]
// CHECK: return %{{.*}}, %[[DW]], %[[DR]], %[[DB]], %[[DHB]], %{{.*}}
func.func @bigru(%x: tensor<5x2x3xf32>, %w: tensor<2x3x12xf32> {graph.parameter = "w"},
                 %r: tensor<2x4x12xf32> {graph.parameter = "r"}, %b: tensor<2x12xf32> {graph.parameter = "b"},
                 %hb: tensor<2x4xf32> {graph.parameter = "hb"}, %s: tensor<1xf32> {graph.parameter = "s"}) -> tensor<f32> {
  %xs = graph.mul %x, %s : (tensor<5x2x3xf32>, tensor<1xf32>) -> tensor<5x2x3xf32>
  %y, %yh, %yc = graph.recurrent %xs, %w, %r, %b, %hb {cell = "gru", direction = "bidirectional", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32, 0.0 : f32], linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<5x2x3xf32>, tensor<2x3x12xf32>, tensor<2x4x12xf32>, tensor<2x12xf32>, tensor<2x4xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
  %p = graph.mul %yh, %yc : (tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %l = graph.reduce %p {axes = array<i64: 0, 1, 2>, keepdims = false, kind = "sum"} : (tensor<2x2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// Peepholes take their gradient too; clip and the activations pass through
// unchanged.
// CHECK-LABEL: func.func @peephole_lstm_grad
// CHECK-SAME: -> (tensor<f32>, tensor<1x3x16xf32> {graph.gradient_of = "w"}, tensor<1x12xf32> {graph.gradient_of = "p"})
// CHECK: %{{.*}}, %[[DW:.*]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[DP:.*]] = graph.recurrent_grad %arg0, %arg1, %arg2, %arg3, %{{.*}}, %{{.*}}, %{{.*}} {activation_alpha = [2.000000e-01 : f32, 0.000000e+00 : f32, 1.000000e+00 : f32], activation_beta = [5.000000e-01 : f32, 0.000000e+00 : f32, 0.000000e+00 : f32], activations = ["HardSigmoid", "Softsign", "Elu"], cell = "lstm", clip = 3.000000e+00 : f32{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>}
// CHECK: return %{{.*}}, %[[DW]], %[[DP]]
func.func @peephole_lstm(%x: tensor<5x2x3xf32>, %w: tensor<1x3x16xf32> {graph.parameter = "w"}, %r: tensor<1x4x16xf32>,
                         %p: tensor<1x12xf32> {graph.parameter = "p"}) -> tensor<f32> {
  %y, %yh, %yc = graph.recurrent %x, %w, %r, %p {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["HardSigmoid", "Softsign", "Elu"], activation_alpha = [0.2 : f32, 0.0 : f32, 1.0 : f32], activation_beta = [0.5 : f32, 0.0 : f32, 0.0 : f32], clip = 3.0 : f32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1>} : (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x12xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %yc {axes = array<i64: 0, 1, 2>, keepdims = false, kind = "sum"} : (tensor<1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
