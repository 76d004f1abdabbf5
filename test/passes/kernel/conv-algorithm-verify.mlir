// RUN: not dlc-opt %s 2>&1 | FileCheck %s

// CHECK: error: 'kernel.conv2d' op unknown algorithm 'fft' (known: winograd, implicit_gemm, implicit_gemm_parity, filter_tiles, im2col_packed, im2col, pointwise, depthwise_rows, grouped)
func.func @unknown(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %y = kernel.conv2d %x, %w {algorithm = "fft", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}
