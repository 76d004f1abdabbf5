// RUN: dlc-opt %s -kernel-choose-conv-algorithm="tile-width=32 vector-width=16 filter-tiles-min=32 winograd=auto" | FileCheck %s
// RUN: dlc-opt %s -kernel-choose-conv-algorithm="tile-width=32 vector-width=16 filter-tiles-min=32 winograd=off" | FileCheck %s --check-prefix=OFF

// Each convolution gets the algorithm kernel-to-linalg would pick for it, in
// the order of preference (ConvAlgorithm.h).
// CHECK-LABEL: func @choices
// 3x3 stride 1, constant filter, 32 channels, 16 tiles of 4x4.
// CHECK: kernel.conv2d {{.*}}algorithm = "winograd"
// OFF: kernel.conv2d {{.*}}algorithm = "implicit_gemm"
// Rows of 32 (two vectors), 512 pixels: implicit GEMM (the filter is not a
// constant, so no Winograd).
// CHECK: kernel.conv2d {{.*}}algorithm = "implicit_gemm"
// Stride 2 along rows, constant filter: implicit GEMM on column parities.
// CHECK: kernel.conv2d {{.*}}algorithm = "implicit_gemm_parity"
// One image, 32 constant filters, 7x7 pixels: tiles along the filters.
// CHECK: kernel.conv2d {{.*}}algorithm = "filter_tiles"
// Rows of 16, 48 pixels: im2col packed in 16-column panels.
// CHECK: kernel.conv2d {{.*}}algorithm = "im2col_packed"
// A 4x4 output: plain im2col.
// CHECK: kernel.conv2d {{.*}}algorithm = "im2col"
// 1x1 stride 1 of one image: the input is the matrix.
// CHECK: kernel.conv2d {{.*}}algorithm = "pointwise"
// One filter per channel; two groups of two.
// CHECK: kernel.conv2d {{.*}}algorithm = "depthwise_rows"
// CHECK: kernel.conv2d {{.*}}algorithm = "grouped"
// A choice already made stays.
// CHECK: kernel.conv2d {{.*}}algorithm = "im2col"
func.func @choices(%x32: tensor<1x32x16x16xf32>, %x3: tensor<1x3x16x32xf32>,
                   %xs2: tensor<1x3x32x64xf32>, %x7: tensor<1x4x7x7xf32>,
                   %x5: tensor<1x2x5x18xf32>, %x4: tensor<1x2x4x4xf32>,
                   %w3: tensor<4x3x3x3xf32>, %w2: tensor<4x2x3x3xf32>,
                   %w1: tensor<4x2x1x1xf32>, %wd: tensor<2x1x3x3xf32>,
                   %wg: tensor<4x1x3x3xf32>)
    -> (tensor<1x8x16x16xf32>, tensor<1x4x16x32xf32>, tensor<1x4x16x32xf32>,
        tensor<1x32x7x7xf32>, tensor<1x4x3x16xf32>, tensor<1x4x2x2xf32>,
        tensor<1x4x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x4x4x4xf32>,
        tensor<1x4x16x32xf32>) {
  %cw = arith.constant dense<1.0> : tensor<8x32x3x3xf32>
  %cs2 = arith.constant dense<1.0> : tensor<4x3x3x3xf32>
  %cft = arith.constant dense<1.0> : tensor<32x4x3x3xf32>
  %0 = kernel.conv2d %x32, %cw {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x32x16x16xf32>, tensor<8x32x3x3xf32>) -> tensor<1x8x16x16xf32>
  %1 = kernel.conv2d %x3, %w3 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x16x32xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x16x32xf32>
  %2 = kernel.conv2d %xs2, %cs2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x32x64xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x16x32xf32>
  %3 = kernel.conv2d %x7, %cft {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x7x7xf32>, tensor<32x4x3x3xf32>) -> tensor<1x32x7x7xf32>
  %4 = kernel.conv2d %x5, %w2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x5x18xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x16xf32>
  %5 = kernel.conv2d %x4, %w2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x2x2xf32>
  %6 = kernel.conv2d %x4, %w1 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x4x4xf32>
  %7 = kernel.conv2d %x4, %wd {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  %8 = kernel.conv2d %x4, %wg {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  %9 = kernel.conv2d %x3, %w3 {algorithm = "im2col", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x16x32xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x16x32xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9 : tensor<1x8x16x16xf32>, tensor<1x4x16x32xf32>, tensor<1x4x16x32xf32>, tensor<1x32x7x7xf32>, tensor<1x4x3x16xf32>, tensor<1x4x2x2xf32>, tensor<1x4x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x16x32xf32>
}

// A large image (its transforms go in blocks of tiles) is Winograd too.
// CHECK-LABEL: func @large_image
// CHECK: kernel.conv2d {{.*}}algorithm = "winograd"
func.func @large_image(%x: tensor<1x96x160x160xf32>) -> tensor<1x24x160x160xf32> {
  %w = arith.constant dense<1.0> : tensor<24x96x3x3xf32>
  %y = kernel.conv2d %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x96x160x160xf32>, tensor<24x96x3x3xf32>) -> tensor<1x24x160x160xf32>
  return %y : tensor<1x24x160x160xf32>
}
