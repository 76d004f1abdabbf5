// RUN: dlc-opt %s -convert-graph-to-linalg | FileCheck %s

// CHECK-DAG: #[[EA:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[EB:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// Recurrent ops, gathers, reversed slices and resizing.

// An LSTM: one matmul for every step's input projection, then a loop over
// the time steps carrying (h, c, Y), with the recurrent matmul and one gate
// kernel producing both new states in place.
// CHECK-LABEL: func @lstm
func.func @lstm(%x: tensor<7x2x3xf32>, %w: tensor<1x3x16xf32>, %r: tensor<1x4x16xf32>) -> tensor<7x1x2x4xf32> {
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<14x3xf32>, tensor<3x16xf32>)
  // CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<7x1x2x4xf32>)
  // CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x16xf32>)
  // CHECK:   linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x4xf32>)
  // CHECK:     math.tanh
  // CHECK:   tensor.insert_slice
  // CHECK:   scf.yield
  %y, %yh, %yc = graph.recurrent %x, %w, %r {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<7x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>) -> (tensor<7x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return %y : tensor<7x1x2x4xf32>
}

// Indices are read per element, wrapped when negative and clamped.
// CHECK-LABEL: func @gather
func.func @gather(%d: tensor<5x3xf32>, %i: tensor<2xi64>) -> tensor<2x3xf32> {
  // CHECK: linalg.generic
  // CHECK:   arith.index_cast
  // CHECK:   arith.select
  // CHECK:   arith.minsi
  // CHECK:   tensor.extract
  %g = graph.gather %d, %i {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %g : tensor<2x3xf32>
}

// Positive steps are a strided extract_slice, negative ones index math.
// CHECK-LABEL: func @slices
func.func @slices(%x: tensor<8xf32>) -> (tensor<3xf32>, tensor<4xf32>) {
  // CHECK: tensor.extract_slice %{{.*}}[1] [3] [2]
  %a = graph.slice %x {starts = array<i64: 1>, sizes = array<i64: 3>, steps = array<i64: 2>} : (tensor<8xf32>) -> tensor<3xf32>
  // CHECK: linalg.generic
  // CHECK:   arith.muli
  // CHECK:   tensor.extract
  %b = graph.slice %x {starts = array<i64: 7>, sizes = array<i64: 4>, steps = array<i64: -2>} : (tensor<8xf32>) -> tensor<4xf32>
  return %a, %b : tensor<3xf32>, tensor<4xf32>
}

// Bilinear upsampling: four taps per output element (two per resized dim).
// CHECK-LABEL: func @resize
func.func @resize(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32> {
  // CHECK: linalg.generic
  // CHECK-COUNT-4: tensor.extract
  %r = graph.resize %x {sizes = array<i64: 1, 1, 4, 4>, scales = array<f32: 1.0, 1.0, 2.0, 2.0>, mode = "linear", coordinate_mode = "half_pixel", nearest_mode = "round_prefer_floor", cubic_a = -0.75 : f32, exclude_outside = false} : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  return %r : tensor<1x1x4x4xf32>
}

// col2im: a reduction over the kernel taps (extent from a window operand),
// each tap read only where it lands on the stride grid.
// CHECK-LABEL: func @col2im
func.func @col2im(%cols: tensor<18x4xf32>) -> tensor<1x2x5x5xf32> {
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
  // CHECK-SAME: ins(%{{.*}} : tensor<3x3xf32>)
  // CHECK:   arith.remsi
  // CHECK:   tensor.extract
  // CHECK:   arith.select
  %y = graph.col2im %cols {batch = 1 : i64, input_size = array<i64: 2, 2>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0>, output_size = array<i64: 5, 5>} : (tensor<18x4xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// Einsum is one generic: subscripts are the maps, missing letters reduce.
// CHECK-LABEL: func @einsum
func.func @einsum(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[EA]], #[[EB]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
  %r = graph.einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %r : tensor<2x3x5xf32>
}
