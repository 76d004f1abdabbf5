// RUN: dlc-opt %s | dlc-opt | FileCheck %s
// Round trip: every graph op prints and parses back unchanged.

// CHECK-LABEL: func @all_ops
func.func @all_ops(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>,
                   %m: tensor<2x5xf32>, %n: tensor<5x6xf32>) -> tensor<1x4x4x4xf32> {
  // CHECK: graph.conv2d %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %c = graph.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: graph.batch_norm
  %bn = graph.batch_norm %c, %b, %b, %b, %b {epsilon = 1.0e-5 : f32} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: graph.relu
  %r = graph.relu %bn : tensor<1x4x8x8xf32>
  // CHECK: graph.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f32}
  %l = graph.leaky_relu %r {alpha = 0.1 : f32} : tensor<1x4x8x8xf32>
  // CHECK: graph.clip %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32}
  %cl = graph.clip %l {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x4x8x8xf32>
  // CHECK: graph.sigmoid
  %s = graph.sigmoid %cl : tensor<1x4x8x8xf32>
  // CHECK: graph.tanh
  %t = graph.tanh %s : tensor<1x4x8x8xf32>
  // CHECK: graph.add
  %a = graph.add %t, %t : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: graph.max_pool2d
  %p = graph.max_pool2d %t {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: graph.avg_pool2d %{{.*}} {ceil_mode = true, count_include_pad = true
  %q = graph.avg_pool2d %p {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true, count_include_pad = true} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: graph.global_avg_pool
  %g = graph.global_avg_pool %q : (tensor<1x4x4x4xf32>) -> tensor<1x4x1x1xf32>
  // CHECK: graph.matmul %{{.*}}, %{{.*}} : (tensor<2x5xf32>, tensor<5x6xf32>) -> tensor<2x6xf32>
  %mm = graph.matmul %m, %n : (tensor<2x5xf32>, tensor<5x6xf32>) -> tensor<2x6xf32>
  // CHECK: graph.softmax %{{.*}} {axis = 1 : i64}
  %sm = graph.softmax %mm {axis = 1 : i64} : tensor<2x6xf32>
  // CHECK: graph.transpose %{{.*}} {perm = array<i64: 1, 0>}
  %tr = graph.transpose %sm {perm = array<i64: 1, 0>} : (tensor<2x6xf32>) -> tensor<6x2xf32>
  // CHECK: graph.reshape %{{.*}} {shape = array<i64: 12>}
  %rs = graph.reshape %tr {shape = array<i64: 12>} : (tensor<6x2xf32>) -> tensor<12xf32>
  // CHECK: graph.concat
  %cc = graph.concat %rs, %rs {axis = 0 : i64} : (tensor<12xf32>, tensor<12xf32>) -> tensor<24xf32>
  // CHECK: graph.pad %{{.*}} {pads = array<i64: 1, 2>, value = 0.000000e+00 : f64}
  %pd = graph.pad %cc {pads = array<i64: 1, 2>, value = 0.0 : f64} : (tensor<24xf32>) -> tensor<27xf32>
  return %p : tensor<1x4x4x4xf32>
}
