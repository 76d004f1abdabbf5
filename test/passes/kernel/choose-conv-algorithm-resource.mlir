// RUN: dlc-opt %s -kernel-choose-conv-algorithm="tile-width=32 vector-width=16 winograd=all" | FileCheck %s
// RUN: dlc-opt %s -kernel-choose-conv-algorithm="tile-width=32 winograd=all" | FileCheck %s --check-prefix=NOLANES

// The algorithms that transform the filter at compile time read its bytes:
// a dense constant or a dense_resource one with its blob (the weights dlc
// imports), not an elided one (as `dlc --emit=kernel` prints large
// constants), which gets an algorithm that reads the filter at run time.
// Winograd also needs the vector width.
// CHECK-LABEL: func @filters
// CHECK: kernel.conv2d {{.*}}algorithm = "winograd"
// CHECK: kernel.conv2d {{.*}}algorithm = "winograd"
// CHECK: kernel.conv2d {{.*}}algorithm = "im2col"
// NOLANES-LABEL: func @filters
// NOLANES-NOT: winograd
func.func @filters(%x: tensor<1x1x8x8xf32>) -> (tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>) {
  %dense = arith.constant dense<1.0> : tensor<1x1x3x3xf32>
  %resource = arith.constant dense_resource<ones> : tensor<1x1x3x3xf32>
  %elided = arith.constant dense_resource<__elided__> : tensor<1x1x3x3xf32>
  %0 = kernel.conv2d %x, %dense {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x8x8xf32>
  %1 = kernel.conv2d %x, %resource {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x8x8xf32>
  %2 = kernel.conv2d %x, %elided {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x8x8xf32>
  return %0, %1, %2 : tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      ones: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}
