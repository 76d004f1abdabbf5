// RUN: dlc-opt %s -split-input-file -verify-diagnostics
// The verifiers and shape inference reject bad attributes and shapes with a
// message that names the problem.

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+2 {{conv2d input has 3 channels but filter expects 2 x group 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{conv2d strides and dilations must be >= 1 and pads >= 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.conv2d %x, %w {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{failed to infer returned types}}
  // expected-error @+1 {{'graph.conv2d' op inferred type(s) 'tensor<1x4x6x6xf32>' are incompatible with return type(s) of operation 'tensor<1x4x8x8xf32>'}}
  %c = graph.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{operand shapes do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{matmul contraction sizes differ: 3 vs 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @clip_range(%a: tensor<2xf32>) {
  // expected-error @+1 {{min (1.000000e+00) is greater than max (0.000000e+00)}}
  %c = graph.clip %a {min = 1.0 : f32, max = 0.0 : f32} : tensor<2xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %c = graph.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{reshape from 6 to 8 elements}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.reshape %a {shape = array<i64: 2, 4>} : (tensor<2x3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{transpose perm is not a permutation of the input's 2 dims}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.transpose %a {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @pool_pads(%a: tensor<1x1x4x4xf32>) {
  // expected-error @+2 {{pool2d pads must be smaller than the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.max_pool2d %a {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 2, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x5x3xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+2 {{concat inputs differ in dim 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = graph.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @unknown_fn(%a: tensor<2xf32>) {
  // expected-error @+1 {{unknown function 'frobnicate'}}
  %c = graph.unary %a {fn = "frobnicate"} : tensor<2xf32>
  return
}

// -----

func.func @unknown_reduction(%a: tensor<2xf32>) {
  // expected-error @+1 {{unknown reduction 'median'}}
  %c = graph.reduce %a {kind = "median", axes = array<i64: 0>, keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return
}

// -----

func.func @rnn_activations(%s: tensor<5x1x4xf32>, %w: tensor<1x4x2xf32>, %r: tensor<1x2x2xf32>) {
  // expected-error @+1 {{wants 1 activations, got 2}}
  %y, %yh, %yc = graph.recurrent %s, %w, %r {cell = "rnn", direction = "forward", hidden_size = 2 : i64, activations = ["Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<5x1x4xf32>, tensor<1x4x2xf32>, tensor<1x2x2xf32>) -> (tensor<5x1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>)
  return
}
