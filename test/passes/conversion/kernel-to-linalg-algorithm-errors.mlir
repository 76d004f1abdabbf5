// RUN: not dlc-opt %s -convert-kernel-to-linalg="pack-width=32 pack-vector-width=16" 2>&1 | FileCheck %s
// RUN: not dlc-opt %s -kernel-choose-conv-algorithm="winograd=maybe" 2>&1 | FileCheck %s --check-prefix=OPTION

// An algorithm set by hand that cannot compute the convolution is refused
// with the reason; an unknown name by the verifier.
// CHECK: error: 'kernel.conv2d' op cannot use algorithm 'winograd': it needs a constant f32 3x3 filter, stride and dilation 1
// OPTION: winograd must be off, auto or all, not 'maybe'
func.func @stride2(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2x3x3xf32>
  %y = kernel.conv2d %x, %w {algorithm = "winograd", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
