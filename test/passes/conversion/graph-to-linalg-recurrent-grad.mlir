// RUN: dlc-opt %s -convert-graph-to-linalg | FileCheck %s
// Backpropagation through time is two loops over the time steps, not a copy
// per step: the forward pass again, keeping each step's state and gates in
// [K, T, B, H], then the steps backwards, writing the gates' pre-activation
// gradients [T, B, G*H]; the weight gradients are matmuls after the loops.

// CHECK-LABEL: func @gru
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<14x3xf32>, tensor<3x12xf32>)
// CHECK: %[[FWD:.*]]:3 = scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<5x7x2x4xf32>) {
// CHECK:   tensor.insert_slice %{{.*}} into %{{.*}}[0, %{{.*}}, 0, 0] [1, 1, 2, 4]
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x12xf32>)
// CHECK:   linalg.generic
// CHECK:   scf.yield
// CHECK: %[[BWD:.*]]:4 = scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<7x2x12xf32>, tensor<7x2x4xf32>) {
// CHECK:   tensor.extract_slice %[[FWD]]#2
// CHECK:   linalg.generic
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<8x4xf32>)
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x4xf32>)
// CHECK:   scf.yield
// CHECK-NOT: scf.for
// CHECK: %[[DP:.*]] = tensor.collapse_shape %[[BWD]]#2 {{.*}} into tensor<14x12xf32>
// CHECK: linalg.matmul ins(%[[DP]], %{{.*}} : tensor<14x12xf32>, tensor<12x3xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %[[DP]] : tensor<3x14xf32>, tensor<14x12xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x14xf32>, tensor<14x8xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x14xf32>, tensor<14x4xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]{{.*}} ins(%[[DP]] : tensor<14x12xf32>)
func.func @gru(%x: tensor<7x2x3xf32>, %w: tensor<1x3x12xf32>, %r: tensor<1x4x12xf32>, %b: tensor<1x12xf32>, %hb: tensor<1x4xf32>, %dy: tensor<7x1x2x4xf32>, %dh: tensor<1x2x4xf32>) -> (tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>) {
  %dx, %dw, %dr, %db, %dhb, %dh0, %dc0 = graph.recurrent_grad %x, %w, %r, %b, %hb, %dy, %dh, %dh {cell = "gru", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 1, 1, 1>} : (tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>, tensor<7x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return %dx, %dw, %dr, %db, %dhb : tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>
}
