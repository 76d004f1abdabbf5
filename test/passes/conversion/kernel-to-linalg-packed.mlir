// RUN: dlc-opt %s -convert-kernel-to-linalg=pack-width=8 | FileCheck %s
// RUN: dlc-opt %s -convert-kernel-to-linalg="pack-width=32 pack-vector-width=16" | FileCheck %s --check-prefix=VEC

// With tiles 32 wide and vectors 16 wide (second RUN), the 16-wide output
// rows of @packed are packed in panels of one vector; the 6-wide ones are not.
// VEC-LABEL: func @packed
// VEC: tensor.collapse_shape %{{.*}} into tensor<16x27x16xf32>
// VEC-LABEL: func @unpacked
// VEC: linalg.matmul

// With pack-width=8 (the matmul kernel's tile width), a conv whose output
// rows are a multiple of 8 wide packs its im2col matrix in panels of 8
// columns, [P / 8, K, 8]: panel t is pixels [8 (t mod 2), +8) of output row
// (t floordiv 2) mod 8 of image t floordiv 16, read at stride 2.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0 floordiv 16, d1, ((d0 floordiv 2) mod 8) * 2 + d2, ((d0 mod 2) * 8 + d4) * 2 + d3)>
// CHECK-DAG: #[[PANEL:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2, d1 mod 8)>
// CHECK-LABEL: func @packed
func.func @packed(%x: tensor<2x3x17x33xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x8x16xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[IN]], {{.*}}]
  // CHECK-SAME: outs(%{{.*}} : tensor<32x3x3x3x8xf32>)
  // CHECK: tensor.collapse_shape %{{.*}} into tensor<32x27x8xf32>
  // CHECK: linalg.generic {indexing_maps = [{{.*}}, #[[PANEL]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
  // CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x27xf32>, tensor<32x27x8xf32>) outs(%{{.*}} : tensor<4x256xf32>)
  // CHECK:   arith.mulf
  // CHECK:   arith.addf
  %c = kernel.conv2d %x, %w bias %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, activation = "relu"} : (tensor<2x3x17x33xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x8x16xf32>
  return %c : tensor<2x4x8x16xf32>
}

// Rows that are not a multiple of 8 wide keep the plain im2col matrix.
// CHECK-LABEL: func @unpacked
func.func @unpacked(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x27xf32>, tensor<27x36xf32>)
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %c : tensor<1x4x6x6xf32>
}
