// RUN: dlc-opt %s -split-input-file -convert-graph-to-linalg -verify-diagnostics | FileCheck %s

// A numbered check reduces "any index outside [lower, upper)" over all of
// the indices and reports its site when that is set (graph-number-runtime-
// checks declared the report function).
// CHECK-LABEL: func.func @gather_rows
// CHECK: %[[ANY:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}} ins(%arg0 : tensor<2x3xi32>) outs(%{{.*}} : tensor<i1>)
// CHECK:   arith.extsi %{{.*}} : i32 to i64
// CHECK:   arith.cmpi slt, %{{.*}}, %c-5_i64
// CHECK:   arith.cmpi sge, %{{.*}}, %c5_i64
// CHECK: %[[FAILED:.*]] = tensor.extract %[[ANY]][] : tensor<i1>
// CHECK: scf.if %[[FAILED]] {
// CHECK-NEXT: %[[SITE:.*]] = arith.constant 7 : i32
// CHECK-NEXT: func.call @dlc_report_error(%[[SITE]]) : (i32) -> ()
func.func private @dlc_report_error(i32)
func.func @gather_rows(%i: tensor<2x3xi32>) {
  graph.check_indices %i {lower = -5 : i64, upper = 5 : i64, message = "m", site = 7 : i32} : tensor<2x3xi32>
  return
}

// -----

// An empty range cannot hold an index.
func.func @empty(%i: tensor<2xi64>) {
  // expected-error @+1 {{the range [0, 0) is empty}}
  graph.check_indices %i {lower = 0 : i64, upper = 0 : i64, message = "m"} : tensor<2xi64>
  return
}
