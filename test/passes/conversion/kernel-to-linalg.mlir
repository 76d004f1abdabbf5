// RUN: dlc-opt %s -convert-kernel-to-linalg | FileCheck %s

// CHECK-DAG: #[[GIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d3, d6 * 3 + d4, d7 * 3 + d5)>
// CHECK-DAG: #[[DWIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-DAG: #[[DWF:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>

// A fused conv: padded input, im2col copy, [F, C*KH*KW] x [C*KH*KW, OH*OW]
// matmul, one epilogue for bias + relu on the 2-D product (where the matmul
// vectorizer can apply it in registers).
// CHECK-LABEL: func @conv
func.func @conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
  // CHECK: linalg.generic
  // CHECK-SAME: outs(%{{.*}} : tensor<3x3x3x1x8x8xf32>)
  // CHECK: tensor.collapse_shape %{{.*}} : tensor<3x3x3x1x8x8xf32> into tensor<27x64xf32>
  // CHECK: tensor.collapse_shape %{{.*}} : tensor<4x3x3x3xf32> into tensor<4x27xf32>
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x27xf32>, tensor<27x64xf32>)
  // CHECK: linalg.generic
  // CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x64xf32>, tensor<4xf32>)
  // CHECK:   arith.addf
  // CHECK:   arith.maximumf
  // CHECK: tensor.expand_shape %{{.*}} : tensor<4x64xf32> into tensor<1x4x8x8xf32>
  %c = kernel.conv2d %x, %w bias %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  return %c : tensor<1x4x8x8xf32>
}

// A batch of images: the [F, N*OH*OW] product is transposed to NCHW.
// CHECK-LABEL: func @conv_batch
func.func @conv_batch(%x: tensor<2x3x4x4xf32>, %w: tensor<5x3x1x1xf32>) -> tensor<2x5x4x4xf32> {
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<5x3xf32>, tensor<3x32xf32>)
  // CHECK: linalg.transpose ins(%{{.*}} : tensor<5x2x4x4xf32>) outs(%{{.*}} : tensor<2x5x4x4xf32>) permutation = [1, 0, 2, 3]
  %c = kernel.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x4x4xf32>, tensor<5x3x1x1xf32>) -> tensor<2x5x4x4xf32>
  return %c : tensor<2x5x4x4xf32>
}

// Depthwise convs (one filter per channel, horizontal stride 1 or 2) are a
// generic over (n, c, oh, ow, kh, kw) with the taps innermost, the form
// vectorize-sliding-window reads. Other grouped convs are one
// direct-convolution generic over (n, g, fg, c, kh, kw, oh, ow), output
// width innermost.
// CHECK-LABEL: func @grouped
func.func @grouped(%x: tensor<1x4x6x6xf32>, %dw: tensor<4x1x3x3xf32>, %gw: tensor<4x2x3x3xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x4x4x4xf32>, tensor<1x4x2x2xf32>) {
  // CHECK: linalg.generic {indexing_maps = [#[[DWIN]], #[[DWF]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
  // CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>)
  %d = kernel.conv2d %x, %dw {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64} : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32>
  // CHECK: linalg.generic
  // CHECK-SAME: tensor<1x2x2x6x6xf32>, tensor<2x2x2x3x3xf32>
  %g = kernel.conv2d %x, %gw {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: linalg.generic {indexing_maps = [#[[GIN]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]}
  // CHECK-SAME: tensor<1x4x1x6x6xf32>, tensor<4x1x1x3x3xf32>
  %s = kernel.conv2d %x, %dw {strides = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64} : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %d, %g, %s : tensor<1x4x2x2xf32>, tensor<1x4x4x4xf32>, tensor<1x4x2x2xf32>
}

// A runtime-transposed operand is transposed once; the product is a named
// matmul with bias and activation in one epilogue.
// CHECK-LABEL: func @matmul
func.func @matmul(%a: tensor<2x5xf32>, %b: tensor<6x5xf32>, %bias: tensor<6xf32>) -> tensor<2x6xf32> {
  // CHECK: linalg.transpose ins(%{{.*}} : tensor<6x5xf32>) outs(%{{.*}} : tensor<5x6xf32>) permutation = [1, 0]
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x5xf32>, tensor<5x6xf32>)
  // CHECK: linalg.generic
  // CHECK:   arith.addf
  // CHECK:   arith.maximumf
  %m = kernel.matmul %a, %b bias %bias {transpose_rhs = true, activation = "relu"} : (tensor<2x5xf32>, tensor<6x5xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  return %m : tensor<2x6xf32>
}

// [B, T, K] x [K, N] (a linear layer on a sequence) is one [B*T, K] matmul.
// CHECK-LABEL: func @sequence_linear
func.func @sequence_linear(%a: tensor<4x3x5xf32>, %b: tensor<5x6xf32>) -> tensor<4x3x6xf32> {
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<4x3x5xf32> into tensor<12x5xf32>
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<12x5xf32>, tensor<5x6xf32>)
  // CHECK: tensor.expand_shape
  %m = kernel.matmul %a, %b : (tensor<4x3x5xf32>, tensor<5x6xf32>) -> tensor<4x3x6xf32>
  return %m : tensor<4x3x6xf32>
}

// Equal batch dims (attention's Q x K^T): a loop of 2-D matmuls.
// CHECK-LABEL: func @batched
func.func @batched(%q: tensor<2x4x3x8xf32>, %k: tensor<2x4x8x3xf32>) -> tensor<2x4x3x3xf32> {
  // CHECK: scf.for
  // CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<3x8xf32>, tensor<8x3xf32>)
  // CHECK:   tensor.insert_slice
  %m = kernel.matmul %q, %k : (tensor<2x4x3x8xf32>, tensor<2x4x8x3xf32>) -> tensor<2x4x3x3xf32>
  return %m : tensor<2x4x3x3xf32>
}

// Broadcast batch dims stay one generic with a reduction.
// CHECK-LABEL: func @broadcast_batch
func.func @broadcast_batch(%a: tensor<1x3x5xf32>, %b: tensor<2x5x6xf32>) -> tensor<2x3x6xf32> {
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]
  %m = kernel.matmul %a, %b : (tensor<1x3x5xf32>, tensor<2x5x6xf32>) -> tensor<2x3x6xf32>
  return %m : tensor<2x3x6xf32>
}

// Average pooling without counting the padding divides by a constant map of
// tap counts: 1/4 in the corner, 1/6 on the edge, 1/9 inside.
// CHECK-LABEL: func @avg_pool
func.func @avg_pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  // CHECK: tensor.pad
  // CHECK: linalg.pooling_nchw_sum
  // CHECK: arith.constant dense<{{\[\[\[\[}}2.500000e-01, 0.166666672, 0.166666672, 2.500000e-01]
  // CHECK: arith.mulf
  %p = kernel.pool2d %x {kind = "avg", kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %p : tensor<1x1x4x4xf32>
}

// Max pooling pads with -inf, and further than declared when the result
// shape asks for it (ceil_mode).
// CHECK-LABEL: func @max_pool_ceil
func.func @max_pool_ceil(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  // CHECK: tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 0, 1, 1]
  // CHECK: 0xFF800000
  // CHECK: linalg.pooling_nchw_max
  %p = kernel.pool2d %x {kind = "max", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32>
  return %p : tensor<1x1x3x3xf32>
}
