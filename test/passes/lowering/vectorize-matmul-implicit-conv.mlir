// RUN: dlc-opt %s -vectorize-matmul="lanes=4 rows=2 vectors=2" | FileCheck %s

// An implicit-GEMM convolution (C[f, p] += W[f, c, kh, kw] * In[...], the
// input read in place): channels in a loop, the 2x2 taps unrolled, each B
// vector read from one input row at the pixel's row and column.
// CHECK-LABEL: func @implicit_conv
// CHECK: scf.for %[[P:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c8
// CHECK:   %[[IMG:.*]] = arith.divui %[[P]], %c16
// CHECK:   arith.remui %{{.*}}, %c4
// CHECK:   %[[COL:.*]] = arith.remui %[[P]], %c4
// CHECK:   scf.for %[[C:[a-z0-9_]+]] = %c0{{.*}} to %c3
// CHECK:     vector.transfer_read %{{.*}}[%[[IMG]], %[[C]], %{{.*}}, %[[COL]]]{{.*}} {in_bounds = [true]} : tensor<2x3x5x5xf32>, vector<4xf32>
// CHECK:     tensor.extract %{{.*}}[%{{.*}}, %[[C]], %c0{{.*}}, %c0{{.*}}] : tensor<6x3x2x2xf32>
// CHECK-COUNT-6: vector.transfer_read %{{.*}} : tensor<2x3x5x5xf32>, vector<4xf32>
// CHECK:     scf.yield
func.func @implicit_conv(%w: tensor<6x3x2x2xf32>, %x: tensor<2x3x5x5xf32>, %c: tensor<6x32xf32>) -> tensor<6x32xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(f, p, c, kh, kw) -> (f, c, kh, kw)>, affine_map<(f, p, c, kh, kw) -> (p floordiv 16, c, (p floordiv 4) mod 4 + kh, p mod 4 + kw)>, affine_map<(f, p, c, kh, kw) -> (f, p)>], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%w, %x : tensor<6x3x2x2xf32>, tensor<2x3x5x5xf32>) outs(%c : tensor<6x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<6x32xf32>
  return %r : tensor<6x32xf32>
}

// A 5x5 window (more than 16 taps): the filter rows are a loop inside the
// channel loop, the 5 taps of a row unrolled.
// CHECK-LABEL: func @large_window
// CHECK: scf.for %[[C:[a-z0-9_]+]] = %c0{{[_0-9]*}} to %c2{{[_0-9]*}} step %c1{{[_0-9]*}} iter_args
// CHECK:   scf.for %[[R:[a-z0-9_]+]] = %c0{{.*}} to %c5
// CHECK:     tensor.extract %{{.*}}[%{{.*}}, %[[C]], %[[R]], %c0{{.*}}] : tensor<2x2x5x5xf32>
// CHECK-COUNT-4: tensor.extract %{{.*}}[%{{.*}}, %[[C]], %[[R]], %{{.*}}] : tensor<2x2x5x5xf32>
func.func @large_window(%w: tensor<2x2x5x5xf32>, %x: tensor<1x2x8x8xf32>, %c: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(f, p, c, kh, kw) -> (f, c, kh, kw)>, affine_map<(f, p, c, kh, kw) -> (p floordiv 16, c, (p floordiv 4) mod 4 + kh, p mod 4 + kw)>, affine_map<(f, p, c, kh, kw) -> (f, p)>], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%w, %x : tensor<2x2x5x5xf32>, tensor<1x2x8x8xf32>) outs(%c : tensor<2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}
