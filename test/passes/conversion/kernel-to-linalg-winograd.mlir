// RUN: dlc-opt %s -convert-kernel-to-linalg="pack-vector-width=4 winograd=all" -canonicalize -cse | FileCheck %s
// RUN: dlc-opt %s -convert-kernel-to-linalg="pack-vector-width=4 winograd=auto" | FileCheck %s --check-prefix=AUTO
// RUN: not dlc-opt %s -convert-kernel-to-linalg="winograd=sometimes" 2>&1 | FileCheck %s --check-prefix=BAD

// F(4x4, 3x3) of a 3x3 stride-1 conv with an 8x16 output (2 x 4 tiles of
// 4x4, 8 columns of V and M): the filter transform G g G^T is a constant
// (for g = 1: U[0] = 1/16, U[35] = 1: little-endian f32 0000803D and
// 0000803F in the printed hex); the input transform gathers the 36
// elements of 4 tiles at a time from the flattened input, one channel per
// parallel iteration, and writes them to V [36, C, tiles]; 36 products
// U[p] [F, C] x V[p] [C, tiles]; the output transform reads M, adds the
// bias, applies the activation and scatters 16 vectors into the NCHW
// result, one filter per parallel iteration.
// CHECK-LABEL: func @winograd
// CHECK: %[[U:.*]] = arith.constant dense<"0x0000803D0000803D{{[0-9A-F]*}}0000803F0000803F"> : tensor<36x3x2xf32>
// CHECK: %[[IN:.*]] = tensor.collapse_shape %arg0 {{.*}} into tensor<360xf32>
// CHECK: %[[V:.*]] = scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args
// CHECK:   scf.for %{{.*}} = %c0 to %c8 step %c4
// CHECK-COUNT-36: vector.gather %[[IN]]
// CHECK-COUNT-36: vector.transfer_write
// CHECK: } {dlc.parallel}
// CHECK: %[[M:.*]] = linalg.batch_matmul ins(%[[U]], %[[V]] : tensor<36x3x2xf32>, tensor<36x2x8xf32>)
// CHECK: %[[OUT:.*]] = scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args
// CHECK:   tensor.extract %arg1
// CHECK:   scf.for %{{.*}} = %c0 to %c8 step %c4
// CHECK-COUNT-36: vector.transfer_read %[[M]]
// CHECK: arith.maximumf
// CHECK: vector.scatter
// CHECK: } {dlc.parallel}
// CHECK: tensor.expand_shape %[[OUT]] {{.*}} into tensor<1x3x8x16xf32>
// AUTO-LABEL: func @winograd
// AUTO-NOT: linalg.batch_matmul
// AUTO: return
// BAD: winograd must be off, auto or all, not 'sometimes'
func.func @winograd(%x: tensor<1x2x10x18xf32>, %b: tensor<3xf32>) -> tensor<1x3x8x16xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2x3x3xf32>
  %y = kernel.conv2d %x, %w bias %b {activation = "relu", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x10x18xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x8x16xf32>
  return %y : tensor<1x3x8x16xf32>
}

// 529 tiles of 64 channels: their transformed inputs (36 x 64 floats each)
// would take 19 MB, so the three stages run per block of 452 tiles (4 MB,
// a multiple of the 4 lanes),
// the last block masked past tile 529.
// CHECK-LABEL: func @blocks
// CHECK: scf.for %{{.*}} = %c0 to %c529 step %c452 iter_args
// CHECK:   scf.for %{{.*}} = %c0 to %c64 step %c1 iter_args
// CHECK:     scf.for %{{.*}} = %c0 to %c452 step %c4 iter_args
// CHECK:   linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<36x8x64xf32>, tensor<36x64x452xf32>)
// CHECK:   scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args
func.func @blocks(%x: tensor<1x64x94x94xf32>) -> tensor<1x8x92x92xf32> {
  %w = arith.constant dense<1.0> : tensor<8x64x3x3xf32>
  %y = kernel.conv2d %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x64x94x94xf32>, tensor<8x64x3x3xf32>) -> tensor<1x8x92x92xf32>
  return %y : tensor<1x8x92x92xf32>
}

// Not eligible: stride 2; dilation 2; a filter that is not a constant.
// CHECK-LABEL: func @not_winograd
// CHECK-NOT: linalg.batch_matmul
// CHECK: return
func.func @not_winograd(%x: tensor<1x2x10x18xf32>, %w2: tensor<3x2x3x3xf32>) -> (tensor<1x3x4x8xf32>, tensor<1x3x6x14xf32>, tensor<1x3x8x16xf32>) {
  %w = arith.constant dense<1.0> : tensor<3x2x3x3xf32>
  %s2 = kernel.conv2d %x, %w {activation = "none", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x10x18xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x4x8xf32>
  %d2 = kernel.conv2d %x, %w {activation = "none", dilations = array<i64: 2, 2>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x10x18xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x6x14xf32>
  %v = kernel.conv2d %x, %w2 {activation = "none", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x10x18xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x8x16xf32>
  return %s2, %d2, %v : tensor<1x3x4x8xf32>, tensor<1x3x6x14xf32>, tensor<1x3x8x16xf32>
}
