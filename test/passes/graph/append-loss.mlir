// RUN: dlc-opt %s -graph-append-loss="loss=cross-entropy" | FileCheck %s
// RUN: dlc-opt %s -graph-append-loss="loss=mse" | FileCheck %s --check-prefix=MSE
// RUN: not dlc-opt %s -graph-append-loss="loss=focal" 2>&1 | FileCheck %s --check-prefix=BAD

// The inference model stays; @forward_loss takes int64 labels [N] (class
// indices) after the inputs and returns the mean cross-entropy.

// CHECK-LABEL: func.func @forward(%arg0: tensor<4x3xf32>, %arg1: tensor<3x3xf32> {graph.parameter = "w"}) -> tensor<4x3xf32>
// CHECK-LABEL: func.func @forward_loss(
// CHECK-SAME: %arg0: tensor<4x3xf32>, %arg1: tensor<4xi64> {graph.labels}, %arg2: tensor<3x3xf32> {graph.parameter = "w"}) -> tensor<f32>
// CHECK: graph.log_softmax %{{.*}} {axis = 1 : i64}
// CHECK: graph.gather_elements
// CHECK: graph.div

// MSE-LABEL: func.func @forward_loss(
// MSE-SAME: %arg1: tensor<4x3xf32> {graph.labels}
// MSE: %[[D:.*]] = graph.sub
// MSE: %[[SQ:.*]] = graph.mul %[[D]], %[[D]]
// MSE: graph.reduce %[[SQ]] {axes = array<i64: 0, 1>, keepdims = false, kind = "mean"}

// BAD: unknown loss 'focal'
func.func @forward(%x: tensor<4x3xf32>, %w: tensor<3x3xf32> {graph.parameter = "w"}) -> tensor<4x3xf32> {
  %0 = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
