// RUN: dlc-opt %s -split-input-file -verify-diagnostics
// graph.recurrent_grad differentiates the default activations without clip
// only, and checks its operands' shapes like graph.recurrent.

func.func @relu(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+1 {{supports only the default activations, got 'Relu'}}
  %0:7 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Relu"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @clip(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+1 {{does not support clip}}
  %0:7 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Tanh"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], clip = 1.0 : f32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @y_grad_shape(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<4x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+2 {{recurrent_grad y_grad has the wrong shape}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:7 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Tanh"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<4x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}
