// RUN: dlc-opt %s -convert-kernel-to-linalg="pack-width=16 pack-vector-width=8" | FileCheck %s

// A stride-1 conv whose output rows are a multiple of the vector width (8)
// and whose pixels (2 x 4 x 8 = 64) are a multiple of the tile width (16) is
// an implicit GEMM: one generic over (f, p, c, kh, kw) reading the padded
// input at the pixel's row and column, no im2col copy; bias and activation
// on the [F, N*OH*OW] product.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1 floordiv 32, d2, ((d1 floordiv 8) mod 4) * 2 + d3 * 2, d1 mod 8 + d4)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3, d4)>
// CHECK-DAG: #[[EVEN:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 * 2)>
// CHECK-DAG: #[[ODD:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3 * 2 + 1)>
// CHECK-LABEL: func @implicit
// CHECK: %[[PAD:.*]] = tensor.pad
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic {indexing_maps = [#[[W]], #[[IN]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%{{.*}}, %[[PAD]] : tensor<5x3x3x3xf32>, tensor<2x3x12x10xf32>) outs(%{{.*}} : tensor<5x64xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.transpose
func.func @implicit(%x: tensor<2x3x10x8xf32>, %w: tensor<5x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<2x5x4x8xf32> {
  %c = kernel.conv2d %x, %w bias %b {strides = array<i64: 2, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 1>, group = 1 : i64, activation = "relu"} : (tensor<2x3x10x8xf32>, tensor<5x3x3x3xf32>, tensor<5xf32>) -> tensor<2x5x4x8xf32>
  return %c : tensor<2x5x4x8xf32>
}

// Horizontal stride 2: the im2col matrix stays (packed by vectors here).
// CHECK-LABEL: func @strided
// CHECK: tensor.collapse_shape %{{.*}} into tensor<4x27x8xf32>
func.func @strided(%x: tensor<1x3x5x17xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x4x8xf32> {
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 2>, pads = array<i64: 1, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x5x17xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x4x8xf32>
  return %c : tensor<1x5x4x8xf32>
}

// Horizontal stride 2 with a constant filter: the padded input's even and
// odd columns are gathered into planes of their own, the filter's even (2)
// and odd (1) columns are split at compile time, and the product is two
// stride-1 implicit GEMMs, the odd one accumulating onto the even one (no
// zero tap for the odd KW).
// CHECK-LABEL: func @parity
// CHECK: %[[E:.*]] = linalg.generic {indexing_maps = [#[[EVEN]], {{.*}}]
// CHECK-SAME: outs(%{{.*}} : tensor<1x3x6x17xf32>)
// CHECK: %[[P0:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[E]] : tensor<5x3x3x2xf32>, tensor<1x3x6x17xf32>) outs(%{{.*}} : tensor<5x64xf32>)
// CHECK: %[[O:.*]] = linalg.generic {indexing_maps = [#[[ODD]], {{.*}}]
// CHECK-SAME: outs(%{{.*}} : tensor<1x3x6x16xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[O]] : tensor<5x3x3x1xf32>, tensor<1x3x6x16xf32>) outs(%[[P0]] : tensor<5x64xf32>)
func.func @parity(%x: tensor<1x3x6x34xf32>) -> tensor<1x5x4x16xf32> {
  %w = arith.constant dense<0.25> : tensor<5x3x3x3xf32>
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x6x34xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x4x16xf32>
  return %c : tensor<1x5x4x16xf32>
}
