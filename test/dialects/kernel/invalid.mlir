// RUN: dlc-opt %s -split-input-file -verify-diagnostics

func.func @bad_activation(%m: tensor<2x5xf32>, %n: tensor<5x6xf32>) {
  // expected-error @+1 {{unknown activation 'gelu'}}
  %mm = kernel.matmul %m, %n {activation = "gelu"} : (tensor<2x5xf32>, tensor<5x6xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @bad_conv_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{result spatial dim 0 is 8, expected 6}}
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @bad_layout(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{unsupported layout 'nhwc'}}
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, layout = "nhwc"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @bad_pool(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{kind must be 'max' or 'avg', got 'min'}}
  %p = kernel.pool2d %x {kind = "min", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}
