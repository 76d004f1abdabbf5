// RUN: dlc-opt %s -split-input-file -verify-diagnostics
// graph.recurrent_grad differentiates the activations of graph.recurrent,
// takes peepholes for LSTM only, and checks its operands' shapes like
// graph.recurrent.

func.func @unknown_activation(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+1 {{unknown activation 'Gelu'}}
  %0:8 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Gelu"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return
}

// -----

func.func @activation_count(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+1 {{wants 1 activations, got 2}}
  %0:8 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Tanh", "Relu"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return
}

// -----

func.func @gru_peepholes(%x: tensor<5x2x3xf32>, %w: tensor<1x3x12xf32>, %r: tensor<1x4x12xf32>, %p: tensor<1x12xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+1 {{has peepholes, which only lstm takes}}
  %0:8 = graph.recurrent_grad %x, %w, %r, %p, %dy, %dh, %dh {cell = "gru", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return
}

// -----

func.func @peepholes_shape(%x: tensor<5x2x3xf32>, %w: tensor<1x3x16xf32>, %r: tensor<1x4x16xf32>, %p: tensor<1x16xf32>, %dy: tensor<5x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+2 {{recurrent_grad peepholes has the wrong shape}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:8 = graph.recurrent_grad %x, %w, %r, %p, %dy, %dh, %dh {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return
}

// -----

func.func @y_grad_shape(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32>, %r: tensor<1x4x4xf32>, %dy: tensor<4x1x2x4xf32>, %dh: tensor<1x2x4xf32>) {
  // expected-error @+2 {{recurrent_grad y_grad has the wrong shape}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:8 = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Tanh"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<4x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return
}
