// RUN: dlc-opt %s -split-empty-tensors | FileCheck %s

// Two ops whose destination is one (CSE'd) tensor.empty get one each,
// created beside the original, outside the loop that one of them is in.
// CHECK-LABEL: func @shared
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<3xf32>
// CHECK: linalg.fill ins(%{{.*}}) outs(%[[E1]]
// CHECK: scf.for
// CHECK-NOT: tensor.empty
// CHECK:   linalg.fill ins(%{{.*}}) outs(%[[E0]]
func.func @shared(%n: index) -> (tensor<3xf32>, tensor<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<3xf32>
  %a = linalg.fill ins(%one : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %b = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %a) -> tensor<3xf32> {
    %f = linalg.fill ins(%one : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
    scf.yield %f : tensor<3xf32>
  }
  return %a, %b : tensor<3xf32>, tensor<3xf32>
}
