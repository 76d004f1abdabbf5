// RUN: dlc-opt %s -collapse-contiguous-dims | FileCheck %s

// x * s[c] + t[c] over [2, 3, 4, 5], with s and t as [3, 1, 1] read at
// (c, 0, 0): they are read as [3], and the rows and columns, contiguous in
// every operand, become one loop of 20.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func @per_channel
// CHECK-DAG: %[[S:.*]] = tensor.collapse_shape %arg1 {{\[\[}}0, 1, 2]] : tensor<3x1x1xf32> into tensor<3xf32>
// CHECK-DAG: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1], [2, 3]] : tensor<2x3x4x5xf32> into tensor<2x3x20xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[C]], #[[C]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: outs(%{{.*}} : tensor<2x3x20xf32>)
// CHECK: tensor.expand_shape %[[R]] {{\[\[}}0], [1], [2, 3]] output_shape [2, 3, 4, 5]
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
func.func @per_channel(%x: tensor<2x3x4x5xf32>, %s: tensor<3x1x1xf32>, %t: tensor<3x1x1xf32>) -> tensor<2x3x4x5xf32> {
  %e = tensor.empty() : tensor<2x3x4x5xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #ch, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %s, %t : tensor<2x3x4x5xf32>, tensor<3x1x1xf32>, tensor<3x1x1xf32>) outs(%e : tensor<2x3x4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %y = arith.addf %m, %c : f32
    linalg.yield %y : f32
  } -> tensor<2x3x4x5xf32>
  return %r : tensor<2x3x4x5xf32>
}

// A transposed read: the leading dims are swapped, the last two stay
// contiguous and merge.
// CHECK-LABEL: func @transposed
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<3x2x20xf32>) outs(%{{.*}} : tensor<2x3x20xf32>)
#swap = affine_map<(d0, d1, d2, d3) -> (d1, d0, d2, d3)>
func.func @transposed(%x: tensor<3x2x4x5xf32>) -> tensor<2x3x4x5xf32> {
  %e = tensor.empty() : tensor<2x3x4x5xf32>
  %r = linalg.generic {indexing_maps = [#swap, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<3x2x4x5xf32>) outs(%e : tensor<2x3x4x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x3x4x5xf32>
  return %r : tensor<2x3x4x5xf32>
}

// Reductions keep their loops (and their order of summation).
// CHECK-LABEL: func @reduction
// CHECK-NOT: tensor.collapse_shape
// CHECK: iterator_types = ["parallel", "parallel", "reduction", "reduction"]
#red = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
func.func @reduction(%x: tensor<2x3x4x5xf32>, %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%x : tensor<2x3x4x5xf32>) outs(%init : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// Dims of run-time size collapse too, at most one in each run: expanding a
// run of two back (an expand_shape group [?, ?]) crashes LLVM 22's
// expand-strided-metadata. [2, ?, 32] is one loop; [2, 4, ?, ?] two.
// CHECK-LABEL: func @dynamic
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1, 2]] : tensor<2x?x32xf32> into tensor<?xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK: tensor.collapse_shape %arg1 {{\[\[}}0, 1, 2], [3]] : tensor<2x4x?x?xf32> into tensor<?x?xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @dynamic(%x: tensor<2x?x32xf32>, %y: tensor<2x4x?x?xf32>) -> (tensor<2x?x32xf32>, tensor<2x4x?x?xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %n = tensor.dim %x, %c1 : tensor<2x?x32xf32>
  %e = tensor.empty(%n) : tensor<2x?x32xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x?x32xf32>) outs(%e : tensor<2x?x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<2x?x32xf32>
  %p = tensor.dim %y, %c2 : tensor<2x4x?x?xf32>
  %q = tensor.dim %y, %c3 : tensor<2x4x?x?xf32>
  %e2 = tensor.empty(%p, %q) : tensor<2x4x?x?xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y : tensor<2x4x?x?xf32>) outs(%e2 : tensor<2x4x?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<2x4x?x?xf32>
  return %r, %s : tensor<2x?x32xf32>, tensor<2x4x?x?xf32>
}
