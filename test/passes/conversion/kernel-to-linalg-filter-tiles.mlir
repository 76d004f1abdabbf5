// RUN: dlc-opt %s -convert-kernel-to-linalg="pack-width=8 filter-tiles-min=16" | FileCheck %s

// A conv of one image with a constant filter of 16 filters (>= filter-tiles-
// min, a multiple of the 8-wide tiles) on 3x3 = 9 pixels (not a multiple of
// 8): the product is computed as [pixels, filters] = col^T [9, 4*2*2] x the
// filter packed at compile time in panels [16 / 8, 16, 8]; one generic reads
// it transposed back to [filters, pixels] with bias, residual, activation.
// CHECK-DAG: #[[GATHER:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d2, d0 + d3, d1 + d4)>
// CHECK-DAG: #[[PANEL:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2, d1 mod 8)>
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @filter_tiles
// CHECK: %[[PACKED:.*]] = arith.constant dense<{{.*}}> : tensor<2x16x8xf32>
// CHECK: linalg.generic {indexing_maps = [#[[GATHER]], {{.*}}]
// CHECK-SAME: outs(%{{.*}} : tensor<3x3x4x2x2xf32>)
// CHECK: %[[COLT:.*]] = tensor.collapse_shape %{{.*}} into tensor<9x16xf32>
// CHECK: %[[PROD:.*]] = linalg.generic {indexing_maps = [{{.*}}, #[[PANEL]], {{.*}}]
// CHECK-SAME: ins(%[[COLT]], %[[PACKED]] : tensor<9x16xf32>, tensor<2x16x8xf32>) outs(%{{.*}} : tensor<9x16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[T]], #[[ROW]], {{.*}}, {{.*}}]
// CHECK-SAME: ins(%[[PROD]], %{{.*}}, %{{.*}} : tensor<9x16xf32>, tensor<16xf32>, tensor<16x9xf32>) outs(%{{.*}} : tensor<16x9xf32>)
// CHECK:   arith.addf
// CHECK:   arith.addf
// CHECK:   arith.maximumf
// CHECK: tensor.expand_shape %{{.*}} into tensor<1x16x3x3xf32>
func.func @filter_tiles(%x: tensor<1x4x4x4xf32>, %b: tensor<16xf32>, %r: tensor<1x16x3x3xf32>) -> tensor<1x16x3x3xf32> {
  %w = arith.constant dense<0.5> : tensor<16x4x2x2xf32>
  %c = kernel.conv2d %x, %w bias %b residual %r {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, activation = "relu"} : (tensor<1x4x4x4xf32>, tensor<16x4x2x2xf32>, tensor<16xf32>, tensor<1x16x3x3xf32>) -> tensor<1x16x3x3xf32>
  return %c : tensor<1x16x3x3xf32>
}

// A filter that is not a constant (a trained parameter) keeps the
// [filters, pixels] product.
// CHECK-LABEL: func @runtime_filter
// CHECK: linalg.matmul
func.func @runtime_filter(%x: tensor<1x4x4x4xf32>, %w: tensor<16x4x2x2xf32>) -> tensor<1x16x3x3xf32> {
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x4x4xf32>, tensor<16x4x2x2xf32>) -> tensor<1x16x3x3xf32>
  return %c : tensor<1x16x3x3xf32>
}
