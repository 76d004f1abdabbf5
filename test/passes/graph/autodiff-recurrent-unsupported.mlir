// RUN: dlc-opt --graph-autodiff --split-input-file --verify-diagnostics %s
// A recurrent activation that graph.recurrent_grad does not know (the
// importer only makes those it does) is named before any backward op is
// built.

func.func @unknown_activation(%x: tensor<5x2x3xf32>, %w: tensor<1x3x4xf32> {graph.parameter = "w"}, %r: tensor<1x4x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{no gradient rule for rnn with activation 'Gelu'}}
  %y, %yh, %yc = graph.recurrent %x, %w, %r {cell = "rnn", direction = "forward", hidden_size = 4 : i64, activations = ["Gelu"], activation_alpha = [0.0 : f32], activation_beta = [0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<5x2x3xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  %s = graph.reduce %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false, kind = "sum"} : (tensor<5x1x2x4xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
