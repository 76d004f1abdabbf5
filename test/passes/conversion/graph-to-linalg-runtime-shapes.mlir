// RUN: dlc-opt %s -split-input-file -convert-graph-to-linalg -verify-diagnostics | FileCheck %s

// ConstantOfShape with its shape read at run time: the dims are extracted,
// refused when negative or too many elements (reported at the op's site, a
// safe shape of zeros instead), and the result filled at those sizes.
// CHECK-LABEL: func.func @fill
// CHECK-DAG: %[[D0:.*]] = tensor.extract %arg0[%{{.*}}] : tensor<2xi64>
// CHECK-DAG: %[[D1:.*]] = tensor.extract %arg0[%{{.*}}] : tensor<2xi64>
// CHECK: %[[S0:.*]] = arith.select %[[BAD:.*]], %{{.*}}, %[[D0]] : i64
// CHECK: %[[S1:.*]] = arith.select %[[BAD]], %{{.*}}, %[[D1]] : i64
// CHECK: %[[I0:.*]] = arith.index_cast %[[S0]] : i64 to index
// CHECK: %[[I1:.*]] = arith.index_cast %[[S1]] : i64 to index
// CHECK: %[[E:.*]] = tensor.empty(%[[I0]], %[[I1]]) : tensor<?x?xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x?xf32>)
// CHECK: scf.if %[[BAD]] {
// CHECK-NEXT: %[[SITE:.*]] = arith.constant 4 : i32
// CHECK-NEXT: func.call @dlc_report_error(%[[SITE]]) : (i32) -> ()
// CHECK: return %[[F]]
func.func private @dlc_report_error(i32)
func.func @fill(%s: tensor<2xi64>) -> tensor<?x?xf32> {
  %f = graph.runtime_fill %s {value = 1.5 : f32, message = "m", site = 4 : i32} : (tensor<2xi64>) -> tensor<?x?xf32>
  return %f : tensor<?x?xf32>
}

// -----

// A shape built from a run-time dim and constants (Shape arithmetic on a
// symbolic dim): the constant dims are static in the result type, only the
// run-time one is a size of the tensor.empty.
// CHECK-LABEL: func.func @fill_partly_static
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<1x?x20xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<1x?x20xf32>)
func.func private @dlc_report_error(i32)
func.func @fill_partly_static(%x: tensor<?x?x16xf32>) -> tensor<1x?x20xf32> {
  %c1 = arith.constant 1 : index
  %one = arith.constant 1 : i64
  %hidden = arith.constant 20 : i64
  %b = tensor.dim %x, %c1 : tensor<?x?x16xf32>
  %bi = arith.index_cast %b : index to i64
  %s = tensor.from_elements %one, %bi, %hidden : tensor<3xi64>
  %f = graph.runtime_fill %s {value = 0.0 : f32, message = "m", site = 2 : i32} : (tensor<3xi64>) -> tensor<1x?x20xf32>
  return %f : tensor<1x?x20xf32>
}

// -----

// Reshape: a view of the input under the shape computed at run time.
// CHECK-LABEL: func.func @reshape
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi64>
// CHECK: tensor.reshape %arg0(%[[SHAPE]]) : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
func.func private @dlc_report_error(i32)
func.func @reshape(%x: tensor<2x3x4xf32>, %s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %r = graph.runtime_reshape %x, %s {message = "m", site = 1 : i32} : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// Tile reads the input at each index modulo its dim; Expand broadcasts the
// input's dims of 1.
// CHECK: #[[TILE:.*]] = affine_map<(d0, d1) -> (d0 mod 2, d1 mod 3)>
// CHECK: #[[EXPAND:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-LABEL: func.func @tile
// CHECK: linalg.generic {indexing_maps = [#[[TILE]], {{.*}}]{{.*}} ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-LABEL: func.func @expand
// CHECK: linalg.generic {indexing_maps = [#[[EXPAND]], {{.*}}]{{.*}} ins(%arg0 : tensor<3x1xf32>) outs(%{{.*}} : tensor<?x?x?xf32>)
func.func private @dlc_report_error(i32)
func.func @tile(%x: tensor<2x3xf32>, %r: tensor<2xi64>) -> tensor<?x?xf32> {
  %t = graph.runtime_tile %x, %r {message = "m", site = 1 : i32} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %t : tensor<?x?xf32>
}
func.func @expand(%x: tensor<3x1xf32>, %s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %e = graph.runtime_expand %x, %s {message = "m", site = 1 : i32} : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %e : tensor<?x?x?xf32>
}

// -----

// Unnumbered (graph-number-runtime-checks did not run): not lowered.
func.func private @dlc_report_error(i32)
func.func @unnumbered(%s: tensor<2xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{failed to legalize operation 'graph.runtime_fill'}}
  %f = graph.runtime_fill %s {value = 1.5 : f32, message = "m"} : (tensor<2xi64>) -> tensor<?x?xf32>
  return %f : tensor<?x?xf32>
}

// -----

// TopK with k at run time: k selection passes, as many as k (0 when k is
// outside [0, 5]), into results of k columns.
// CHECK-LABEL: func.func @top_k
// CHECK: %[[K:.*]] = tensor.extract %arg1[%{{.*}}] : tensor<1xi64>
// CHECK: %[[SAFE:.*]] = arith.select %{{.*}}, %{{.*}}, %[[K]] : i64
// CHECK: %[[N:.*]] = arith.index_cast %[[SAFE]] : i64 to index
// CHECK: tensor.empty(%[[N]]) : tensor<3x?xf32>
// CHECK: tensor.empty(%[[N]]) : tensor<3x?xi64>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N]] step
func.func private @dlc_report_error(i32)
func.func @top_k(%x: tensor<3x5xf32>, %k: tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>) {
  %v, %i = graph.runtime_top_k %x, %k {axis = 1 : i64, largest = true, message = "m", site = 1 : i32} : (tensor<3x5xf32>, tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>)
  return %v, %i : tensor<3x?xf32>, tensor<3x?xi64>
}

// -----

// Unsqueeze with its axes at run time: the input's elements under dims
// picked by position with selects, as a reshape.
// CHECK-LABEL: func.func @unsqueeze
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi64>
// CHECK: tensor.reshape %arg0(%[[SHAPE]]) : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
func.func private @dlc_report_error(i32)
func.func @unsqueeze(%x: tensor<2x3xf32>, %axes: tensor<1xi64>) -> tensor<?x?x?xf32> {
  %r = graph.runtime_squeeze %x, %axes {unsqueeze = true, message = "m", site = 1 : i32} : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// Resize with its scales read at run time: a scale not above 0 or infinite
// is refused; each resized size is floor(in * scale) (bounded before the
// conversion to i64), 0 where refused; the static dims (axes 0 and 1 not
// resized) stay static and read straight through.
// CHECK-LABEL: func.func @resize_scales
// CHECK: %[[S:.*]] = tensor.extract %arg1[%{{.*}}] : tensor<2xf32>
// CHECK: %[[W:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK: arith.cmpf ule, %[[W]], %{{.*}} : f64
// CHECK: math.floor
// CHECK: arith.fptosi %{{.*}} : f64 to i64
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<1x2x?x?xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<1x2x?x?xf32>)
// CHECK: func.call @dlc_report_error
func.func private @dlc_report_error(i32)
func.func @resize_scales(%x: tensor<1x2x4x4xf32>, %s: tensor<2xf32>) -> tensor<1x2x?x?xf32> {
  %y = graph.runtime_resize %x, %s {axes = array<i64: 2, 3>, policy = "stretch", mode = "linear", coordinate_mode = "half_pixel", nearest_mode = "round_prefer_floor", cubic_a = -7.500000e-01 : f32, exclude_outside = false, message = "m", site = 1 : i32} : (tensor<1x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x?x?xf32>
  return %y : tensor<1x2x?x?xf32>
}

// -----

// The result type keeps the dims that are not resized and checks the rest.
func.func @resize_bad_axes(%x: tensor<1x2x4x4xf32>, %s: tensor<2xi64>) -> tensor<1x2x?x?xf32> {
  // expected-error @+2 {{runtime_resize: a static input, and int64 sizes or float scales, one per axis}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = graph.runtime_resize %x, %s {axes = array<i64: 3>, policy = "stretch", mode = "linear", coordinate_mode = "half_pixel", nearest_mode = "round_prefer_floor", cubic_a = -7.500000e-01 : f32, exclude_outside = false, message = "m"} : (tensor<1x2x4x4xf32>, tensor<2xi64>) -> tensor<1x2x?x?xf32>
  return %y : tensor<1x2x?x?xf32>
}

// -----

// A reduction over axes read at run time: a mask per dim from the axes,
// refused out of range (or, without keepdims, an axis twice); each element
// of the kept-dims result loops over the reduced elements; without
// keepdims a reshape drops the reduced dims.
// CHECK-LABEL: func.func @reduce_axes
// CHECK: tensor.extract %arg1[%{{.*}}] : tensor<1xi64>
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}, %{{.*}}, %{{.*}}) : tensor<?x?x?xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?x?x?xf32>)
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: tensor.reshape %{{.*}}(%{{.*}}) : (tensor<?x?x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
// CHECK: func.call @dlc_report_error
func.func private @dlc_report_error(i32)
func.func @reduce_axes(%x: tensor<2x3x4xf32>, %axes: tensor<1xi64>) -> tensor<?x?xf32> {
  %y = graph.runtime_reduce %x, %axes {kind = "sum", keepdims = false, message = "m", site = 1 : i32} : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// Compress: the true entries counted, their positions collected, then the
// slices at those positions gathered; no check can fail.
// CHECK-LABEL: func.func @compress
// CHECK: %[[N:.*]] = scf.for {{.*}} -> (index)
// CHECK: %[[P:.*]] = tensor.empty(%[[N]]) : tensor<?xindex>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[P]], %{{.*}} = %{{.*}}) -> (tensor<?xindex>, index)
// CHECK: tensor.insert
// CHECK: tensor.empty(%[[N]]) : tensor<2x?xf32>
// CHECK-NOT: dlc_report_error
func.func @compress(%x: tensor<2x3xf32>, %c: tensor<4xi1>) -> tensor<2x?xf32> {
  %y = graph.runtime_compress %x, %c {axis = 1 : i64} : (tensor<2x3xf32>, tensor<4xi1>) -> tensor<2x?xf32>
  return %y : tensor<2x?xf32>
}

// -----

// NonZero: the nonzero elements counted, then each one's coordinates
// written as a column of the [rank, count] result.
// CHECK-LABEL: func.func @nonzero
// CHECK: %[[N:.*]] = scf.for {{.*}} -> (index)
// CHECK: arith.cmpf une
// CHECK: tensor.empty(%[[N]]) : tensor<2x?xi64>
// CHECK: scf.if
// CHECK: tensor.insert
func.func @nonzero(%x: tensor<2x3xf32>) -> tensor<2x?xi64> {
  %y = graph.runtime_nonzero %x : (tensor<2x3xf32>) -> tensor<2x?xi64>
  return %y : tensor<2x?xi64>
}
