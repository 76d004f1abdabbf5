// RUN: dlc-opt %s -convert-graph-to-linalg | FileCheck %s
// Backpropagation through time is two loops over the time steps, not a copy
// per step: the forward pass again, keeping each step's state and gates in
// [K, T, B, H], then the steps backwards, writing the gates' pre-activation
// gradients [T, B, G*H]; the weight gradients are matmuls after the loops.
// An activation's input is kept as well only where its derivative needs it.

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
  %dx, %dw, %dr, %db, %dhb, %dh0, %dc0, %dp = graph.recurrent_grad %x, %w, %r, %b, %hb, %dy, %dh, %dh {cell = "gru", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32], linear_before_reset = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1>} : (tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>, tensor<7x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return %dx, %dw, %dr, %db, %dhb : tensor<7x2x3xf32>, tensor<1x3x12xf32>, tensor<1x4x12xf32>, tensor<1x12xf32>, tensor<1x4xf32>
}

// With clip (and peepholes) the LSTM also keeps the new c and the gates'
// inputs: 7 + 1 + 4 slots. The clip's gradient zeroes where |input| > clip;
// the peepholes' gradients are column sums of dP's i, o, f blocks times c.
// CHECK-LABEL: func @lstm_peepholes_clip
// CHECK: scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<12x7x2x4xf32>) {
// CHECK: %[[BWD:.*]]:3 = scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<7x2x16xf32>) {
// CHECK:   linalg.generic
// CHECK:     math.absf
// CHECK:     arith.cmpf ole
// CHECK:     arith.select
// CHECK:   scf.yield
// CHECK: %[[DP:.*]] = tensor.collapse_shape %[[BWD]]#2 {{.*}} into tensor<14x16xf32>
// CHECK-COUNT-3: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<14x4xf32>, tensor<14x4xf32>) outs(%{{.*}} : tensor<1x4xf32>)
func.func @lstm_peepholes_clip(%x: tensor<7x2x3xf32>, %w: tensor<1x3x16xf32>, %r: tensor<1x4x16xf32>, %p: tensor<1x12xf32>, %dy: tensor<7x1x2x4xf32>, %dh: tensor<1x2x4xf32>) -> (tensor<1x3x16xf32>, tensor<1x12xf32>) {
  %dx, %dw, %dr, %db, %dhb, %dh0, %dc0, %dp = graph.recurrent_grad %x, %w, %r, %p, %dy, %dh, %dh {cell = "lstm", direction = "forward", hidden_size = 4 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0 : f32, 0.0 : f32, 0.0 : f32], activation_beta = [0.0 : f32, 0.0 : f32, 0.0 : f32], clip = 2.0 : f32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1>} : (tensor<7x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x12xf32>, tensor<7x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<7x2x3xf32>, tensor<1x3x16xf32>, tensor<1x4x16xf32>, tensor<1x16xf32>, tensor<1x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x12xf32>)
  return %dw, %dp : tensor<1x3x16xf32>, tensor<1x12xf32>
}

// Relu's derivative follows from its output (h > 0): the forward direction
// keeps h_prev and h only. Elu with a negative alpha does not tell the input's
// sign from its output: the reverse direction keeps its input too.
// CHECK-LABEL: func @rnn_relu_elu
// CHECK: scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x7x2x4xf32>) {
// CHECK: scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<7x2x4xf32>) {
// CHECK:   linalg.generic
// CHECK:     arith.cmpf ogt
// CHECK: scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<3x7x2x4xf32>) {
// CHECK: scf.for {{.*}} -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<7x2x4xf32>) {
func.func @rnn_relu_elu(%x: tensor<7x2x3xf32>, %w: tensor<2x3x4xf32>, %r: tensor<2x4x4xf32>, %dy: tensor<7x2x2x4xf32>, %dh: tensor<2x2x4xf32>) -> tensor<2x3x4xf32> {
  %dx, %dw, %dr, %db, %dhb, %dh0, %dc0, %dp = graph.recurrent_grad %x, %w, %r, %dy, %dh, %dh {cell = "rnn", direction = "bidirectional", hidden_size = 4 : i64, activations = ["Relu", "Elu"], activation_alpha = [0.0 : f32, -0.5 : f32], activation_beta = [0.0 : f32, 0.0 : f32], operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1>} : (tensor<7x2x3xf32>, tensor<2x3x4xf32>, tensor<2x4x4xf32>, tensor<7x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> (tensor<7x2x3xf32>, tensor<2x3x4xf32>, tensor<2x4x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x12xf32>)
  return %dw : tensor<2x3x4xf32>
}
