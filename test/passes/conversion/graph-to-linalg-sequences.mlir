// RUN: dlc-opt %s -split-input-file -convert-graph-to-linalg | FileCheck %s

// A sequence of two tensors: their elements one after the other, a table
// row each (offset, rank, dims).
// CHECK-LABEL: func.func @construct
// CHECK: tensor.collapse_shape %arg0
// CHECK: tensor.insert_slice
// CHECK: tensor.from_elements {{.*}} : tensor<2x10xi64>
// CHECK: tensor.cast {{.*}} : tensor<2x10xi64> to tensor<?x10xi64>
func.func @construct(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> (tensor<?xf32>, tensor<?x10xi64>) {
  %v, %t = graph.runtime_sequence_construct %a, %b {element_type = f32} : (tensor<2x3xf32>, tensor<4xf32>) -> (tensor<?xf32>, tensor<?x10xi64>)
  return %v, %t : tensor<?xf32>, tensor<?x10xi64>
}

// -----

// Inserting: the elements appended, the row placed at the position (checked
// against the length, reported at the op's site).
// CHECK-LABEL: func.func @insert
// CHECK: tensor.empty({{.*}}) : tensor<?xf32>
// CHECK: tensor.insert_slice
// CHECK: tensor.empty({{.*}}) : tensor<?x10xi64>
// CHECK: tensor.from_elements {{.*}} : tensor<1x10xi64>
// CHECK: scf.if
// CHECK-NEXT: arith.constant 2 : i32
// CHECK-NEXT: func.call @dlc_report_error
func.func private @dlc_report_error(i32)
func.func @insert(%v: tensor<?xf32>, %t: tensor<?x10xi64>, %x: tensor<3xf32>, %p: tensor<i64>) -> (tensor<?xf32>, tensor<?x10xi64>) {
  %nv, %nt = graph.runtime_sequence_insert %v, %t, %x, %p {message = "m", site = 2 : i32} : (tensor<?xf32>, tensor<?x10xi64>, tensor<3xf32>, tensor<i64>) -> (tensor<?xf32>, tensor<?x10xi64>)
  return %nv, %nt : tensor<?xf32>, tensor<?x10xi64>
}

// -----

// SequenceAt: the row read under a check of the position (no read when it
// is refused), its elements a slice of the values reshaped to its dims.
// CHECK-LABEL: func.func @at
// CHECK: scf.if %{{.*}} -> (i64, i64, i64, i64)
// CHECK: } else {
// CHECK: tensor.extract %arg1
// CHECK: tensor.extract_slice %arg0
// CHECK: linalg.copy
// CHECK: tensor.reshape {{.*}} -> tensor<?x?xf32>
func.func private @dlc_report_error(i32)
func.func @at(%v: tensor<?xf32>, %t: tensor<?x10xi64>, %p: tensor<i64>) -> tensor<?x?xf32> {
  %x = graph.runtime_sequence_at %v, %t, %p {rank = 2 : i64, message = "m", site = 1 : i32} : (tensor<?xf32>, tensor<?x10xi64>, tensor<i64>) -> tensor<?x?xf32>
  return %x : tensor<?x?xf32>
}

// -----

// Rank 0: one element, 0 where the row is refused (an empty buffer is
// never read).
// CHECK-LABEL: func.func @at_scalar
// CHECK: %[[E:.*]] = scf.if %{{.*}} -> (f32) {
// CHECK:   arith.constant 0.000000e+00 : f32
// CHECK: } else {
// CHECK:   tensor.extract %arg0
// CHECK: tensor.from_elements %[[E]] : tensor<f32>
func.func private @dlc_report_error(i32)
func.func @at_scalar(%v: tensor<?xf32>, %t: tensor<?x10xi64>, %p: tensor<i64>) -> tensor<f32> {
  %x = graph.runtime_sequence_at %v, %t, %p {rank = 0 : i64, message = "m", site = 1 : i32} : (tensor<?xf32>, tensor<?x10xi64>, tensor<i64>) -> tensor<f32>
  return %x : tensor<f32>
}

// -----

// ConcatFromSequence of a sequence built at run time: a scan of the rows
// sizes the result, a second loop copies each tensor into place.
// CHECK-LABEL: func.func @concat
// CHECK: scf.for {{.*}} -> (i1, i64)
// CHECK: tensor.empty({{.*}}) : tensor<?x?xf32>
// CHECK: scf.for {{.*}} -> (tensor<?x?xf32>, i64)
// CHECK:   tensor.insert_slice
func.func private @dlc_report_error(i32)
func.func @concat(%v: tensor<?xf32>, %t: tensor<?x10xi64>) -> tensor<?x?xf32> {
  %x = graph.runtime_sequence_concat %v, %t {rank = 2 : i64, axis = 0 : i64, new_axis = false, message = "m", site = 1 : i32} : (tensor<?xf32>, tensor<?x10xi64>) -> tensor<?x?xf32>
  return %x : tensor<?x?xf32>
}

// -----

// SplitToSequence by sizes read at run time: their sum checked first, then
// a slice per size copied into the values.
// CHECK-LABEL: func.func @split
// CHECK: scf.for {{.*}} -> (i64, i1)
// CHECK: scf.for {{.*}} -> (tensor<?xf32>, tensor<?x10xi64>, i64, i64)
// CHECK:   tensor.extract_slice %arg0
// CHECK:   tensor.insert_slice
func.func private @dlc_report_error(i32)
func.func @split(%x: tensor<2x?xf32>, %s: tensor<3xi64>) -> (tensor<?xf32>, tensor<?x10xi64>) {
  %v, %t = graph.runtime_sequence_split %x, %s {axis = 1 : i64, keepdims = true, message = "m", site = 1 : i32} : (tensor<2x?xf32>, tensor<3xi64>) -> (tensor<?xf32>, tensor<?x10xi64>)
  return %v, %t : tensor<?xf32>, tensor<?x10xi64>
}
