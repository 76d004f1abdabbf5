// RUN: dlc-opt %s -graph-infer-shapes | FileCheck %s
// A static argument type propagates through ops declared with dynamic dims,
// and into the function's result type.

// CHECK-LABEL: func @propagate
// CHECK-SAME: -> tensor<8x10xf32>
func.func @propagate(%x: tensor<8x784xf32>, %w: tensor<10x784xf32>) -> tensor<?x10xf32> {
  // CHECK: graph.matmul {{.*}} -> tensor<8x10xf32>
  %0 = graph.matmul %x, %w {transpose_rhs = true} : (tensor<8x784xf32>, tensor<10x784xf32>) -> tensor<?x10xf32>
  // CHECK: graph.relu %{{.*}} : tensor<8x10xf32>
  %1 = graph.relu %0 : tensor<?x10xf32>
  // CHECK: return %{{.*}} : tensor<8x10xf32>
  return %1 : tensor<?x10xf32>
}
