// RUN: dlc-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(graph-tile-dynamic-batch{rows=8 samples=1}))' | FileCheck %s
// RUN: dlc-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(graph-tile-dynamic-batch{rows=8 samples=4}))' | FileCheck %s --check-prefix=LEVELS

// A run of batch-parallel ops over a batch known only at run time becomes
// one loop over the samples (its convolution does 2^26 FLOPs per sample): static [1, ...] ops in the body (the reshape's
// shape made static too), the samples of each result used after the loop
// inserted into a tensor of the batch's size. The matmul after them gets
// loops of its own: tiles of `rows` rows while whole ones remain, then one
// row at a time.
// CHECK-LABEL: func.func @cnn
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[INIT:.*]] = tensor.empty(%[[N]]) : tensor<?x64xf32>
// CHECK: %[[LOOP:.*]] = scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %c1{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (tensor<?x64xf32>)
// CHECK: %[[X:.*]] = tensor.extract_slice %arg0[%[[I]], 0, 0, 0] [1, 64, 32, 32] [1, 1, 1, 1] : tensor<?x64x32x32xf32> to tensor<1x64x32x32xf32>
// CHECK: %[[C:.*]] = graph.conv2d %[[X]], %arg1 {{.*}} -> tensor<1x64x32x32xf32>
// CHECK: %[[R:.*]] = graph.relu %[[C]] : tensor<1x64x32x32xf32>
// CHECK: %[[G:.*]] = graph.global_avg_pool %[[R]] : (tensor<1x64x32x32xf32>) -> tensor<1x64x1x1xf32>
// CHECK: %[[F:.*]] = graph.reshape %[[G]] {shape = array<i64: 1, 64>} : (tensor<1x64x1x1xf32>) -> tensor<1x64xf32>
// CHECK: %[[INS:.*]] = tensor.insert_slice %[[F]] into %[[ACC]][%[[I]], 0] [1, 64] [1, 1] : tensor<1x64xf32> into tensor<?x64xf32>
// CHECK: scf.yield %[[INS]]
// CHECK: %[[M:.*]] = tensor.dim %[[LOOP]], %c0
// CHECK: %[[LEFT:.*]] = arith.remui %{{.*}}, %c8
// CHECK: %[[WHOLE:.*]] = arith.subi %[[M]], %[[LEFT]]
// CHECK: %[[T:.*]] = scf.for %[[J:.*]] = %{{.*}} to %[[WHOLE]] step %c8
// CHECK: tensor.extract_slice %[[LOOP]][%[[J]], 0] [8, 64] [1, 1] : tensor<?x64xf32> to tensor<8x64xf32>
// CHECK: graph.matmul %{{.*}}, %arg2 : (tensor<8x64xf32>, tensor<64x3xf32>) -> tensor<8x3xf32>
// CHECK: %[[REST:.*]] = scf.for %{{.*}} = %[[WHOLE]] to %[[M]] step %c1{{.*}} iter_args(%{{.*}} = %[[T]])
// CHECK: graph.matmul %{{.*}}, %arg2 : (tensor<1x64xf32>, tensor<64x3xf32>) -> tensor<1x3xf32>
// CHECK: return %[[REST]]
// With `samples`, the matmul's loop takes tiles of that many samples after
// its tiles of `rows`, then one at a time; the convolutions' loop (much
// work per sample) still runs a sample at a time.
// LEVELS-LABEL: func.func @cnn
// LEVELS-NOT: tensor<4x64x32x32xf32>
// LEVELS: graph.conv2d {{.*}} -> tensor<1x64x32x32xf32>
// LEVELS: scf.for {{.*}} step %c8
// LEVELS: graph.matmul {{.*}} -> tensor<8x3xf32>
// LEVELS: scf.for {{.*}} step %c4
// LEVELS: graph.matmul {{.*}} -> tensor<4x3xf32>
// LEVELS: scf.for {{.*}} step %c1
// LEVELS: graph.matmul {{.*}} -> tensor<1x3xf32>
func.func @cnn(%x: tensor<?x64x32x32xf32>, %w: tensor<64x64x3x3xf32>, %m: tensor<64x3xf32>) -> tensor<?x3xf32> {
  %c = graph.conv2d %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<?x64x32x32xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x32x32xf32>
  %r = graph.relu %c : tensor<?x64x32x32xf32>
  %g = graph.global_avg_pool %r : (tensor<?x64x32x32xf32>) -> tensor<?x64x1x1xf32>
  %f = graph.reshape %g {shape = array<i64: -9223372036854775808, 64>} : (tensor<?x64x1x1xf32>) -> tensor<?x64xf32>
  %y = graph.matmul %f, %m : (tensor<?x64xf32>, tensor<64x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// Elementwise ops join a loop but start none; an op of two dynamic dims is
// not tiled.
// CHECK-LABEL: func.func @untiled
// CHECK-NOT: scf.for
// CHECK: graph.relu %arg0 : tensor<?x4xf32>
// CHECK: graph.relu %arg1 : tensor<?x?xf32>
func.func @untiled(%x: tensor<?x4xf32>, %y: tensor<?x?xf32>) -> (tensor<?x4xf32>, tensor<?x?xf32>) {
  %a = graph.relu %x : tensor<?x4xf32>
  %b = graph.relu %y : tensor<?x?xf32>
  return %a, %b : tensor<?x4xf32>, tensor<?x?xf32>
}

// -----

// A user of a loop's value that does not join it (a softmax over the
// batch) closes the loop before it: the pool after it starts another. Loops
// of little work per sample take tiles of samples first.
// CHECK-LABEL: func.func @split
// CHECK: scf.for {{.*}} step %c8
// CHECK: graph.max_pool2d {{.*}} : (tensor<8x1x4x4xf32>) -> tensor<8x1x2x2xf32>
// CHECK: scf.for {{.*}} step %c1
// CHECK: graph.max_pool2d {{.*}} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
// CHECK: scf.yield
// CHECK: graph.softmax %{{.*}} {axis = 0 : i64} : tensor<?x1x2x2xf32>
// CHECK: scf.for
// CHECK: graph.avg_pool2d
func.func @split(%x: tensor<?x1x4x4xf32>) -> (tensor<?x1x2x2xf32>, tensor<?x1x1x1xf32>) {
  %p = graph.max_pool2d %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<?x1x4x4xf32>) -> tensor<?x1x2x2xf32>
  %s = graph.softmax %p {axis = 0 : i64} : tensor<?x1x2x2xf32>
  %q = graph.avg_pool2d %p {count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<?x1x2x2xf32>) -> tensor<?x1x1x1xf32>
  return %s, %q : tensor<?x1x2x2xf32>, tensor<?x1x1x1xf32>
}
