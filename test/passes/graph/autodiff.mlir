// RUN: dlc-opt %s -graph-autodiff -split-input-file -verify-diagnostics | FileCheck %s

// loss = sum(relu(x W^T + b)): the backward graph masks by the relu's result,
// undoes the bias broadcast with a sum over the batch, and takes W's
// gradient as g^T x. The forward function stays as it was.

// CHECK-LABEL: func.func @forward(
// CHECK-NOT: graph.greater
// CHECK: return

// CHECK-LABEL: func.func @forward_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<3x4xf32> {graph.gradient_of = "w"}, tensor<3xf32> {graph.gradient_of = "b"})
// CHECK: %[[MM:.*]] = graph.matmul %arg0, %arg1 {transpose_rhs = true}
// CHECK: %[[Y:.*]] = graph.add %[[MM]], %arg2
// CHECK: %[[R:.*]] = graph.relu %[[Y]]
// CHECK: %[[LOSS:.*]] = graph.reduce %[[R]] {{.*}}kind = "sum"
// CHECK: %[[SEED:.*]] = graph.expand
// CHECK: %[[POS:.*]] = graph.greater %[[R]]
// CHECK: %[[G:.*]] = graph.where %[[POS]], %[[SEED]]
// CHECK: %[[GB:.*]] = graph.reduce %[[G]] {axes = array<i64: 0>, keepdims = true, kind = "sum"}
// CHECK: %[[DB:.*]] = graph.reshape %[[GB]] {shape = array<i64: 3>}
// CHECK: %[[DW:.*]] = graph.matmul %[[G]], %arg0 {transpose_lhs = true}
// CHECK: return %[[LOSS]], %[[DW]], %[[DB]]
func.func @forward(%x: tensor<2x4xf32>, %w: tensor<3x4xf32> {graph.parameter = "w"},
                   %b: tensor<3xf32> {graph.parameter = "b"}) -> tensor<f32> {
  %0 = graph.matmul %x, %w {transpose_rhs = true} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %1 = graph.add %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = graph.relu %1 : tensor<2x3xf32>
  %3 = graph.reduce %2 {axes = array<i64: 0, 1>, keepdims = false, kind = "sum"} : (tensor<2x3xf32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// A parameter used twice: the two gradients are summed. A parameter the loss
// does not depend on gets zeros.

// CHECK-LABEL: func.func @fanout_grad(
// CHECK: %[[A:.*]] = graph.mul %{{.*}}, %arg0
// CHECK: %[[B:.*]] = graph.mul %{{.*}}, %arg0
// CHECK: %[[SUM:.*]] = graph.add %{{.*}}, %{{.*}}
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK: return %{{.*}}, %[[SUM]], %[[ZERO]]
func.func @fanout(%p: tensor<2xf32> {graph.parameter = "p"},
                  %unused: tensor<2xf32> {graph.parameter = "unused"}) -> tensor<f32> {
  %0 = graph.mul %p, %p : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = graph.reduce %0 {axes = array<i64: 0>, keepdims = false, kind = "sum"} : (tensor<2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Every op without a rule between a parameter and the loss is reported, and
// nothing is built.
func.func @no_rules(%p: tensor<4xf32> {graph.parameter = "p"}) -> tensor<f32> {
  // expected-error @+1 {{no gradient rule for the elementwise function 'floor'}}
  %0 = graph.unary %p {fn = "floor"} : tensor<4xf32>
  // expected-error @+1 {{no gradient rule for the elementwise function 'round'}}
  %1 = graph.unary %0 {fn = "round"} : tensor<4xf32>
  %2 = graph.reduce %1 {axes = array<i64: 0>, keepdims = false, kind = "sum"} : (tensor<4xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// expected-error @+1 {{the first result is not a float scalar}}
func.func @not_scalar(%p: tensor<4xf32> {graph.parameter = "p"}) -> tensor<4xf32> {
  %0 = graph.relu %p : tensor<4xf32>
  return %0 : tensor<4xf32>
}
