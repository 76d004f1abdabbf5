// RUN: dlc-opt %s | dlc-opt | FileCheck %s
// Round trip of graph.recurrent_grad: optional operands as in graph.recurrent,
// every gradient always a result.

// CHECK-LABEL: func @recurrent_grad
func.func @recurrent_grad(%x: tensor<5x2x3xf32>, %w: tensor<2x3x12xf32>, %r: tensor<2x4x12xf32>,
                          %b: tensor<2x12xf32>, %hb: tensor<2x4xf32>, %h0: tensor<2x2x4xf32>,
                          %dy: tensor<5x2x2x4xf32>, %dyh: tensor<2x2x4xf32>,
                          %w2: tensor<1x3x16xf32>, %r2: tensor<1x4x16xf32>, %p: tensor<1x12xf32>,
                          %dy1: tensor<5x1x2x4xf32>, %dyh1: tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x12xf32>) {
  // CHECK: graph.recurrent_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {{.*}}cell = "gru", direction = "bidirectional"{{.*}}linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<2x3x12xf32>, tensor<2x4x12xf32>, tensor<2x12xf32>, tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<2x3x12xf32>, tensor<2x4x12xf32>, tensor<2x12xf32>, tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x12xf32>)
  %dx, %dw, %dr, %db, %dhb, %dh0, %dc0, %dp = graph.recurrent_grad %x, %w, %r, %b, %hb, %h0, %dy, %dyh, %dyh {cell = "gru", direction = "bidirectional", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "LeakyRelu", "ScaledTanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.1 : f32, 1.5 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32, 0.5 : f32], linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<2x3x12xf32>, tensor<2x4x12xf32>, tensor<2x12xf32>, tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<2x3x12xf32>, tensor<2x4x12xf32>, tensor<2x12xf32>, tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x12xf32>)
  // An LSTM with peepholes, clip and other activations; the peepholes'
  // gradient is the last result.
  // CHECK: graph.recurrent_grad {{.*}}cell = "lstm", clip = 5.000000e-01 : f32, direction = "reverse"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>}
  // CHECK-SAME: -> (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  %ldx, %ldw, %ldr, %ldb, %ldhb, %ldh0, %ldc0, %ldp = graph.recurrent_grad %x, %w2, %r2, %p, %dy1, %dyh1, %dyh1 {cell = "lstm", direction = "reverse", hidden_size = 4 : i64, activations = ["HardSigmoid", "Softsign", "Elu"], activation_alpha = [0.2 : f32, 0.0 : f32, 1.0 : f32], activation_beta = [0.5 : f32, 0.0 : f32, 0.0 : f32], clip = 0.5 : f32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x12xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return %dx, %ldp : tensor<5x2x3xf32>, tensor<1x12xf32>
}
