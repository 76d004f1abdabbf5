// RUN: dlc-opt %s --pass-pipeline="builtin.module(func.func(copy-repeated-results))" | FileCheck %s
// RUN: dlc-opt %s --pass-pipeline="builtin.module(func.func(copy-repeated-results),one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},buffer-results-to-out-params{modify-public-functions=1 hoist-static-allocs=1})" | FileCheck %s --check-prefix=BUFFERS

// A value returned twice (after CSE, the equal gradients of two biases that
// feed one sum) is returned once as itself and once as a copy; a value
// returned once is left alone.
// CHECK-LABEL: func.func @step
func.func @step(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.add ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %g, %a, %g : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
// CHECK: %[[G:.*]] = linalg.add
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C:.*]] = linalg.copy ins(%[[G]] : tensor<4xf32>) outs(%[[E]] : tensor<4xf32>)
// CHECK: return %[[G]], %arg0, %[[C]]

// Bufferized, each result is written into its own out-parameter (before,
// buffer-results-to-out-params crashed on the second use of one buffer).
// BUFFERS: func.func @step(%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>, %[[O0:.*]]: memref<4xf32>, %[[O1:.*]]: memref<4xf32>, %[[O2:.*]]: memref<4xf32>)
// BUFFERS: linalg.add {{.*}} outs(%[[O0]]
// BUFFERS: linalg.copy ins(%[[O0]] : memref<4xf32>) outs(%[[O2]]
