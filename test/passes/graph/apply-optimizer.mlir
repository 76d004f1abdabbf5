// RUN: dlc-opt %s -graph-apply-optimizer="optimizer=adam beta1=0.9 beta2=0.999 clip-grad-norm=1" | FileCheck %s
// RUN: dlc-opt %s -graph-apply-optimizer="optimizer=sgd momentum=0.9 nesterov=true weight-decay=0.01" | FileCheck %s --check-prefix=SGD
// RUN: not dlc-opt %s -graph-apply-optimizer="optimizer=lion" 2>&1 | FileCheck %s --check-prefix=BAD

// The gradient function graph-autodiff makes becomes train_step: lr after the
// model inputs, Adam's two moments per parameter and the step counter after
// the parameters; results: loss, new state in argument order, raw gradients.

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %arg0: tensor<2xf32>, %arg1: tensor<f32> {graph.learning_rate},
// CHECK-SAME: %arg2: tensor<2xf32> {graph.parameter = "w", graph.state = {name = "w", role = "parameter"}}
// CHECK-SAME: %arg3: tensor<2xf32> {graph.state = {name = "w:exp_avg", parameter = "w", role = "moment"}}
// CHECK-SAME: %arg4: tensor<2xf32> {graph.state = {name = "w:exp_avg_sq", parameter = "w", role = "moment"}}
// CHECK-SAME: %arg5: tensor<f32> {graph.state = {name = "step", role = "step"}}
// CHECK-SAME: -> (tensor<f32>, tensor<2xf32> {graph.state = {name = "w", role = "parameter"}}, tensor<2xf32> {graph.state = {name = "w:exp_avg", {{.*}}}}, tensor<2xf32> {graph.state = {name = "w:exp_avg_sq", {{.*}}}}, tensor<f32> {graph.state = {name = "step", role = "step"}}, tensor<2xf32> {graph.gradient_of = "w"})
// Clipping by the global norm: sqrt of the summed squares, coefficient
// max_norm / (norm + 1e-6) capped at 1.
// CHECK: graph.reduce %[[G:.*]] {{.*}}kind = "sum_square"
// CHECK: graph.unary %{{.*}} {fn = "sqrt"}
// CHECK: graph.min
// Bias corrections 1 - beta^t with t the incremented step.
// CHECK: graph.pow
// CHECK: graph.pow
// CHECK: return

// SGD-LABEL: func.func @train_step(
// SGD-SAME: {graph.state = {name = "w:momentum_buffer", parameter = "w", role = "moment"}}
// Weight decay is added to the gradient; Nesterov steps along g + m * buf.
// SGD: %[[DECAY:.*]] = graph.mul %arg2, %{{.*}}
// SGD: %[[G:.*]] = graph.add %{{.*}}, %[[DECAY]]
// SGD: %[[BUF:.*]] = graph.add %{{.*}}, %[[G]]
// SGD: %[[LOOK:.*]] = graph.mul %[[BUF]], %{{.*}}
// SGD: graph.add %[[G]], %[[LOOK]]

// BAD: unknown optimizer 'lion'
func.func @forward_grad(%x: tensor<2xf32>, %w: tensor<2xf32> {graph.parameter = "w"})
    -> (tensor<f32>, tensor<2xf32> {graph.gradient_of = "w"}) {
  %0 = graph.mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = graph.reduce %0 {axes = array<i64: 0>, keepdims = false, kind = "sum"} : (tensor<2xf32>) -> tensor<f32>
  return %1, %x : tensor<f32>, tensor<2xf32>
}
