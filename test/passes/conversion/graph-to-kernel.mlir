// RUN: dlc-opt %s -convert-graph-to-kernel | FileCheck %s
// conv2d, matmul and pooling become kernels one to one; the rest stays.

// CHECK-LABEL: func @convert
func.func @convert(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %m: tensor<2x5xf32>, %n: tensor<5x6xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<2x6xf32>) {
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %c = graph.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: graph.relu
  %r = graph.relu %c : tensor<1x4x8x8xf32>
  // CHECK: kernel.pool2d %{{.*}} {{{.*}}kind = "max"
  %p = graph.max_pool2d %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: kernel.pool2d %{{.*}} {count_include_pad = true, {{.*}}kind = "avg"
  %a = graph.avg_pool2d %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad = true} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: kernel.matmul
  %mm = graph.matmul %m, %n : (tensor<2x5xf32>, tensor<5x6xf32>) -> tensor<2x6xf32>
  return %p, %a, %mm : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<2x6xf32>
}
