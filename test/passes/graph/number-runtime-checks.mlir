// RUN: dlc-opt %s --graph-number-runtime-checks | FileCheck %s

// Each distinct message gets a site, 1 + its position; copies of a check (a
// training library's forward and step) share theirs. The module lists the
// messages in site order, and the report function the lowered checks call
// is declared.

// CHECK: module attributes {dlc.runtime_checks = ["node 'g' (Gather): bad", "node 'h' (Gather): bad", "node 'r' (Reshape): bad"]}
// CHECK: func.func private @dlc_report_error(i32)
// CHECK-LABEL: func.func @forward
// CHECK: graph.check_indices %arg0 {lower = -3 : i64, message = "node 'g' (Gather): bad", site = 1 : i32, upper = 3 : i64}
// CHECK: graph.check_indices %arg1 {lower = -2 : i64, message = "node 'h' (Gather): bad", site = 2 : i32, upper = 2 : i64}
func.func @forward(%i: tensor<4xi64>, %j: tensor<2xi32>) {
  graph.check_indices %i {lower = -3 : i64, upper = 3 : i64, message = "node 'g' (Gather): bad"} : tensor<4xi64>
  graph.check_indices %j {lower = -2 : i64, upper = 2 : i64, message = "node 'h' (Gather): bad"} : tensor<2xi32>
  return
}
// CHECK-LABEL: func.func @train_step
// CHECK: graph.check_indices %arg0 {{.*}}site = 1 : i32
func.func @train_step(%i: tensor<4xi64>) {
  graph.check_indices %i {lower = -3 : i64, upper = 3 : i64, message = "node 'g' (Gather): bad"} : tensor<4xi64>
  return
}

// The ops whose shapes are computed at run time report through sites too,
// numbered with the checks (their messages in one list).
// CHECK-LABEL: func.func @runtime_shapes
// CHECK: graph.runtime_reshape %arg1, %arg0 {message = "node 'r' (Reshape): bad", site = 3 : i32}
// CHECK: graph.runtime_fill %arg0 {message = "node 'g' (Gather): bad", site = 1 : i32, value = 1.000000e+00 : f32}
func.func @runtime_shapes(%s: tensor<2xi64>, %x: tensor<6xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %r = graph.runtime_reshape %x, %s {allowzero = false, message = "node 'r' (Reshape): bad"} : (tensor<6xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %f = graph.runtime_fill %s {value = 1.0 : f32, message = "node 'g' (Gather): bad"} : (tensor<2xi64>) -> tensor<?x?xf32>
  return %r, %f : tensor<?x?xf32>, tensor<?x?xf32>
}
