// RUN: dlc-opt %s -vectorize-sliding-window=lanes=16 -canonicalize -cse | FileCheck %s

#in_s2 = affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh * 2 + kh, ow * 2 + kw)>
#in_s1 = affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh + kh * 2, ow + kw * 2)>
#filter = affine_map<(n, c, oh, ow, kh, kw) -> (c, 0, kh, kw)>
#out = affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh, ow)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#chan = affine_map<(n, c, h, w) -> (c)>

// Stride 2, rows of 40 outputs: two full vectors and a masked one of 8
// lanes per row. Each tap reads 32 input columns (31 used) and keeps the even
// lanes; the epilogue (bias per channel, relu) runs on the accumulator, which
// is stored once; the channel planes are a dlc.parallel loop.
// CHECK-LABEL: func @stride2_epilogue
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: scf.for %[[NC:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:   %[[C:.*]] = arith.remui %[[NC]]
// CHECK-COUNT-9: tensor.extract %{{.*}}[%[[C]], %{{.*}}, %{{.*}}, %{{.*}}] : tensor<3x1x3x3xf32>
// CHECK:   scf.for
// CHECK:     scf.for %{{.*}} = %{{.*}} to %[[C32]] step
// CHECK:       vector.constant_mask [31] : vector<32xi1>
// CHECK:       vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<2x3x11x81xf32>, vector<32xf32>
// CHECK-NEXT:  vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xf32>, vector<32xf32>
// CHECK-NEXT:  vector.fma %{{.*}}, %{{.*}}, %[[ZERO]]
// CHECK-COUNT-8: vector.fma
// CHECK:       tensor.extract %{{.*}}[%[[C]]] : tensor<3xf32>
// CHECK:       arith.addf {{.*}} : vector<16xf32>
// CHECK:       arith.maximumf {{.*}} : vector<16xf32>
// CHECK:       vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<2x3x5x40xf32>
// CHECK:     vector.constant_mask [8] : vector<16xi1>
// CHECK:     vector.constant_mask [15] : vector<32xi1>
// CHECK-COUNT-9: vector.fma
// CHECK:     vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<2x3x5x40xf32>
// CHECK: } {dlc.parallel}
// CHECK-NOT: linalg.generic
func.func @stride2_epilogue(%x: tensor<2x3x11x81xf32>, %w: tensor<3x1x3x3xf32>, %b: tensor<3xf32>) -> tensor<2x3x5x40xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x5x40xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x5x40xf32>) -> tensor<2x3x5x40xf32>
  %conv = linalg.generic {indexing_maps = [#in_s2, #filter, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<2x3x11x81xf32>, tensor<3x1x3x3xf32>) outs(%init : tensor<2x3x5x40xf32>) {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %p = arith.mulf %in, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x5x40xf32>
  %e2 = tensor.empty() : tensor<2x3x5x40xf32>
  %y = linalg.generic {indexing_maps = [#id, #chan, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv, %b : tensor<2x3x5x40xf32>, tensor<3xf32>) outs(%e2 : tensor<2x3x5x40xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5x40xf32>
  return %y : tensor<2x3x5x40xf32>
}

// Stride 1, dilation 2, rows of 32 outputs: two full vectors, no mask; each
// tap reads its 16 columns directly. Without an epilogue the accumulator is
// the conv's own output.
// CHECK-LABEL: func @stride1_dilated
// CHECK-NOT: linalg.fill
// CHECK:     scf.for
// CHECK-NOT:   vector.shuffle
// CHECK-NOT:   constant_mask
// CHECK:       vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<1x2x8x36xf32>, vector<16xf32>
// CHECK:       vector.fma
// CHECK-COUNT-8: vector.fma
// CHECK:       vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<1x2x4x32xf32>
// CHECK-NOT: linalg.generic
func.func @stride1_dilated(%x: tensor<1x2x8x36xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x32xf32>) -> tensor<1x2x4x32xf32>
  %conv = linalg.generic {indexing_maps = [#in_s1, #filter, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<1x2x8x36xf32>, tensor<2x1x3x3xf32>) outs(%init : tensor<1x2x4x32xf32>) {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %p = arith.mulf %in, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4x32xf32>
  return %conv : tensor<1x2x4x32xf32>
}

// A max pool whose input is a -inf padding of %x reads %x itself: the border
// row (0) and vectors (0 and the last, 4 lanes) are emitted one by one, lanes
// whose column is in the padding taking -inf through a shuffle; interior
// rows are a loop. Max is cmpf ogt + select, NaNs tracked in a mask that
// turns the result into NaN. The -inf fill of the output is not run: the
// kernel starts from -inf in registers and writes every element.
// CHECK-LABEL: func @maxpool_padded
// CHECK-DAG: %[[NAN:.*]] = arith.constant dense<0x7FC00000> : vector<16xf32>
// CHECK-DAG: %[[NINF:.*]] = arith.constant dense<0xFF800000> : vector<32xf32>
// CHECK-NOT: tensor.pad
// CHECK-NOT: linalg.fill
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x2x4x20xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[E]])
// CHECK:   %[[M29:.*]] = vector.constant_mask [29] : vector<32xi1>
// CHECK:   %[[LEFT:.*]] = vector.transfer_read %arg0[%{{.*}}, %{{.*}}, %c0, %c1], %{{.*}}, %[[M29]] {in_bounds = [true]} : tensor<1x2x8x40xf32>, vector<32xf32>
// CHECK:   vector.shuffle %[[LEFT]], %[[NINF]] [32, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]
// CHECK:   arith.cmpf ogt
// CHECK:   arith.select
// CHECK:   arith.cmpf uno
// CHECK:   arith.ori
// CHECK:   arith.select %{{.*}}, %[[NAN]], %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK:   vector.transfer_write {{.*}}[%{{.*}}, %{{.*}}, %c0, %c0] {in_bounds = [true]}
// CHECK:   vector.constant_mask [4] : vector<16xi1>
// CHECK:   vector.shuffle %{{.*}}, %[[NINF]] [0, 2, 4, 6, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32]
// CHECK:   scf.for %{{.*}} = %c1 to %c4
func.func @maxpool_padded(%x: tensor<1x2x8x40xf32>) -> tensor<1x2x4x20xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %ninf : f32
  } : tensor<1x2x8x40xf32> to tensor<1x2x10x42xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x2x4x20xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x2x4x20xf32>) -> tensor<1x2x4x20xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%p, %win : tensor<1x2x10x42xf32>, tensor<3x3xf32>) outs(%init : tensor<1x2x4x20xf32>) -> tensor<1x2x4x20xf32>
  return %y : tensor<1x2x4x20xf32>
}

// Stride 3 is not handled: the generic stays.
// CHECK-LABEL: func @stride3
// CHECK: linalg.generic
func.func @stride3(%x: tensor<1x2x7x7xf32>, %w: tensor<2x1x3x3xf32>, %init: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %conv = linalg.generic {indexing_maps = [affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh * 3 + kh, ow * 3 + kw)>, #filter, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<1x2x7x7xf32>, tensor<2x1x3x3xf32>) outs(%init : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %p = arith.mulf %in, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32>
  return %conv : tensor<1x2x2x2xf32>
}
