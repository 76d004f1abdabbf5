// RUN: dlc-opt %s -convert-graph-to-linalg | FileCheck %s

// CHECK-DAG: #[[BCAST:.*]] = affine_map<(d0, d1, d2) -> (0, d2)>

// Broadcasting reads a size-1 dim at index 0 and drops missing leading dims.
// CHECK-LABEL: func @broadcast_add
func.func @broadcast_add(%a: tensor<2x3x4xf32>, %b: tensor<1x4xf32>) -> tensor<2x3x4xf32> {
  // CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BCAST]], #{{.*}}]
  // CHECK: arith.addf
  %c = graph.add %a, %b : (tensor<2x3x4xf32>, tensor<1x4xf32>) -> tensor<2x3x4xf32>
  return %c : tensor<2x3x4xf32>
}

// Softmax: max-reduce, exp of the shifted input, sum-reduce, divide.
// CHECK-LABEL: func @softmax
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // CHECK: arith.maximumf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: arith.divf
  %s = graph.softmax %x {axis = 1 : i64} : tensor<2x5xf32>
  return %s : tensor<2x5xf32>
}

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<6xf32>, tensor<4x3xf32>, tensor<3x5xf32>) {
  // CHECK: linalg.transpose
  %t = graph.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK: tensor.collapse_shape
  %r = graph.reshape %x {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  // CHECK: tensor.insert_slice
  // CHECK: tensor.insert_slice
  %c = graph.concat %x, %x {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  // Negative pads crop before padding.
  // CHECK: tensor.extract_slice %{{.*}}[0, 0] [1, 3] [1, 1]
  // CHECK: tensor.pad %{{.*}} low[2, 1] high[0, 1]
  %p = graph.pad %x {pads = array<i64: 2, 1, -1, 1>, value = 0.0 : f64} : (tensor<2x3xf32>) -> tensor<3x5xf32>
  return %t, %r, %c, %p : tensor<3x2xf32>, tensor<6xf32>, tensor<4x3xf32>, tensor<3x5xf32>
}

// Unfused batch_norm: per channel s = gamma / sqrt(var + eps) and
// t = beta - mean * s, then x * s + t per element.
// CHECK-LABEL: func @batch_norm
func.func @batch_norm(%x: tensor<1x2x3x3xf32>, %p: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  // CHECK: %[[S:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2xf32>)
  // CHECK:   math.sqrt
  // CHECK:   arith.divf
  // CHECK: %[[T:.*]] = linalg.generic {{.*}} ins(%arg1, %arg1, %[[S]] : {{.*}}) outs(%{{.*}} : tensor<2xf32>)
  // CHECK:   arith.mulf
  // CHECK:   arith.subf
  // CHECK: tensor.expand_shape %[[S]] {{\[\[}}0, 1, 2]] output_shape [2, 1, 1]
  // CHECK: tensor.expand_shape %[[T]] {{\[\[}}0, 1, 2]] output_shape [2, 1, 1]
  // CHECK: linalg.generic
  // CHECK:   arith.mulf
  // CHECK:   arith.addf
  // CHECK-NOT: math.sqrt
  %y = graph.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// Reflect padding mirrors without repeating the border: index math, no copy
// of a constant.
// CHECK-LABEL: func @reflect
func.func @reflect(%x: tensor<4xi32>) -> tensor<7xi32> {
  // CHECK: linalg.generic
  // CHECK:   arith.maxsi
  // CHECK:   arith.minsi
  // CHECK:   tensor.extract
  %p = graph.pad %x {pads = array<i64: 2, 1>, value = 0.0 : f64, mode = "reflect"} : (tensor<4xi32>) -> tensor<7xi32>
  return %p : tensor<7xi32>
}
