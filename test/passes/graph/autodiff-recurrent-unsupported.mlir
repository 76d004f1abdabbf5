// RUN: dlc-opt --graph-autodiff --split-input-file --verify-diagnostics %s
// Recurrent ops whose gradient is not supported are named before any
// backward op is built.

func.func @relu_rnn(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32> {graph.parameter = "w"}, %r: tensor<1x4x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{no gradient rule for rnn with activation 'Relu' (only the default activations are supported)}}
  %y, %yh, %yc = graph.recurrent %x, %w, %r {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Relu"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false, kind = "sum"} : (tensor<5x1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// -----

func.func @clipped_gru(%x: tensor<5x2x3xf32>, %w: tensor<1x3x12xf32> {graph.parameter = "w"}, %r: tensor<1x4x12xf32>) -> tensor<f32> {
  // expected-error @+1 {{no gradient rule for gru with clip}}
  %y, %yh, %yc = graph.recurrent %x, %w, %r {cell = "gru", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], clip = 3.0 : f32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<5x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %yh {axes = array<i64: 0, 1, 2>, keepdims = false, kind = "sum"} : (tensor<1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// -----

func.func @peephole_lstm(%x: tensor<5x2x3xf32>, %w: tensor<1x3x16xf32> {graph.parameter = "w"}, %r: tensor<1x4x16xf32>, %p: tensor<1x12xf32>) -> tensor<f32> {
  // expected-error @+1 {{no gradient rule for lstm with peepholes}}
  %y, %yh, %yc = graph.recurrent %x, %w, %r, %p {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1>} : (tensor<5x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x12xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %yc {axes = array<i64: 0, 1, 2>, keepdims = false, kind = "sum"} : (tensor<1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
