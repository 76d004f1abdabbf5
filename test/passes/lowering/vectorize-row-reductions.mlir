// RUN: dlc-opt %s -vectorize-row-reductions="lanes=8" | FileCheck %s

// Layer norm's mean: f32 rows (32 long, a run-time count of them) summed
// in f64 from a zero fill. One loop over the rows (each writes its own
// element: dlc.parallel), 8-lane chunks in a vector accumulator (no partial
// chunk: 8 divides 32), reduced into the row's element; the fill is never
// run, the sum starts from its value.
// CHECK-LABEL: func @mean
// CHECK-DAG: %[[NEUTRAL:.*]] = arith.constant dense<-0.000000e+00> : vector<8xf64>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x?x1xf64>)
// CHECK:   %[[AT:.*]]:2 = affine.delinearize_index %[[ROW]] into (2, %{{.*}})
// CHECK:   %[[ACC:.*]] = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %c8{{.*}} iter_args(%[[A:.*]] = %[[NEUTRAL]]) -> (vector<8xf64>)
// CHECK:     %[[X:.*]] = vector.transfer_read %arg0[%[[AT]]#0, %[[AT]]#1, %[[K]]], %{{.*}} {in_bounds = [true]} : tensor<2x?x32xf32>, vector<8xf32>
// CHECK:     %[[W:.*]] = arith.extf %[[X]] : vector<8xf32> to vector<8xf64>
// CHECK:     arith.addf %[[A]], %[[W]] : vector<8xf64>
// CHECK-NOT: vector.create_mask
// The 8 lanes added as a tree of halves, then the start value.
// CHECK:   %[[H0:.*]] = vector.extract_strided_slice %[[ACC]] {offsets = [4], sizes = [4], strides = [1]} : vector<8xf64> to vector<4xf64>
// CHECK:   %[[H1:.*]] = vector.extract_strided_slice %[[ACC]] {offsets = [0], sizes = [4], strides = [1]} : vector<8xf64> to vector<4xf64>
// CHECK:   arith.addf %[[H1]], %[[H0]] : vector<4xf64>
// CHECK:   arith.addf %{{.*}}, %{{.*}} : vector<2xf64>
// CHECK:   %[[LANES:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<1xf64>
// CHECK:   %[[LANE:.*]] = vector.extract %[[LANES]][0] : f64 from vector<1xf64>
// CHECK:   %[[SUM:.*]] = arith.addf %[[ZERO]], %[[LANE]] : f64
// CHECK:   tensor.insert %[[SUM]] into %[[OUT]][%[[AT]]#0, %[[AT]]#1, %c0{{.*}}]
// CHECK: } {dlc.parallel}
// CHECK-NOT: linalg.generic
#in = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func @mean(%x: tensor<2x?x32xf32>) -> tensor<2x?x1xf64> {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %n = tensor.dim %x, %c1 : tensor<2x?x32xf32>
  %e = tensor.empty(%n) : tensor<2x?x1xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e : tensor<2x?x1xf64>) -> tensor<2x?x1xf64>
  %r = linalg.generic {indexing_maps = [#in, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x?x32xf32>) outs(%f : tensor<2x?x1xf64>) {
  ^bb0(%a: f32, %o: f64):
    %w = arith.extf %a : f32 to f64
    %s = arith.addf %w, %o : f64
    linalg.yield %s : f64
  } -> tensor<2x?x1xf64>
  return %r : tensor<2x?x1xf64>
}

// Softmax's maximum over rows of run-time length, from an accumulator that
// is not a fill: each row starts from its element; the last partial chunk
// is read under a mask, its lanes past the row -inf.
// CHECK-LABEL: func @maximum
// CHECK-DAG: %[[NEG:.*]] = arith.constant dense<0xFF800000> : vector<8xf32>
// CHECK: scf.for %{{.*}} iter_args(%[[OUT:.*]] = %arg1)
// CHECK:   scf.for {{.*}} -> (vector<8xf32>)
// CHECK:     arith.maximumf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK:   %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:   vector.transfer_read %arg0[{{.*}}], %{{.*}}, %[[MASK]] {in_bounds = [true]}
// CHECK:   arith.select %[[MASK]], %{{.*}}, %[[NEG]]
// CHECK:   %[[START:.*]] = tensor.extract %[[OUT]]
// CHECK:   arith.maximumf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK:   arith.maximumf %[[START]], %{{.*}} : f32
#in2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
func.func @maximum(%x: tensor<4x?xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#in2, #row2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x?xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// Not rows: a reduction over an outer loop, and a product whose second
// input is read across the reduction (a matmul) stay generics.
// CHECK-LABEL: func @not_rows
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: scf.for
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @not_rows(%x: tensor<4x8xf32>, %init: tensor<8xf32>, %p: tensor<2x3xf32>, %q: tensor<3x5xf32>, %acc: tensor<2x5xf32>) -> (tensor<8xf32>, tensor<2x5xf32>) {
  %r = linalg.generic {indexing_maps = [#in2, #col], iterator_types = ["reduction", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %m = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%p, %q : tensor<2x3xf32>, tensor<3x5xf32>) outs(%acc : tensor<2x5xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %t = arith.mulf %u, %v : f32
    %s = arith.addf %o, %t : f32
    linalg.yield %s : f32
  } -> tensor<2x5xf32>
  return %r, %m : tensor<8xf32>, tensor<2x5xf32>
}
