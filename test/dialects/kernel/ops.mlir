// RUN: dlc-opt %s | dlc-opt | FileCheck %s

// CHECK-LABEL: func @kernels
func.func @kernels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>,
                   %r: tensor<1x4x8x8xf32>, %m: tensor<2x5xf32>, %n: tensor<6x5xf32>,
                   %nb: tensor<6xf32>) -> tensor<1x4x4x4xf32> {
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} bias %{{.*}} residual %{{.*}} {activation = "relu"
  %c = kernel.conv2d %x, %w bias %b residual %r {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: kernel.matmul %{{.*}}, %{{.*}} bias %{{.*}} {activation = "clip", beta = 6.000000e+00 : f32, transpose_rhs = true}
  %mm = kernel.matmul %m, %n bias %nb {transpose_rhs = true, activation = "clip", alpha = 0.0 : f32, beta = 6.0 : f32} : (tensor<2x5xf32>, tensor<6x5xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  // CHECK: kernel.pool2d %{{.*}} {{{.*}}kind = "max"
  %p = kernel.pool2d %c {kind = "max", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  return %p : tensor<1x4x4x4xf32>
}
