// RUN: dlc-opt %s -vectorize-matmul="rows=2 vectors=1" | FileCheck %s
// RUN: dlc-opt %s -vectorize-matmul="rows=2 vectors=2" | FileCheck %s --check-prefix=TWO
// A 3x40 result with 2-row, 16-column register tiles: column tiles outside
// 2-row tiles, then the same for the last row with 1-row tiles, and masked
// columns past 40.

// CHECK-LABEL: func @matmul
func.func @matmul(%a: tensor<3x5xf32>, %b: tensor<5x40xf32>, %c: tensor<3x40xf32>) -> tensor<3x40xf32> {
  // CHECK-NOT: linalg.matmul
  // CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
  // CHECK:   scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
  // CHECK:     vector.create_mask %{{.*}} : vector<16xi1>
  // CHECK:     vector.transfer_read {{.*}} : tensor<3x40xf32>, vector<16xf32>
  // CHECK:     vector.transfer_read {{.*}} : tensor<3x40xf32>, vector<16xf32>
  // CHECK:     scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, vector<16xf32>)
  // CHECK:       vector.transfer_read %{{.*}}[%[[K]], %[[N]]]
  // CHECK:       tensor.extract
  // CHECK:       vector.broadcast
  // CHECK:       vector.fma
  // CHECK:       tensor.extract
  // CHECK:       vector.fma
  // CHECK:     vector.transfer_write
  // CHECK:     vector.transfer_write
  // Tiles write disjoint parts of C: both tile loops may be split.
  // CHECK:   } {dlc.parallel}
  // CHECK: } {dlc.parallel}
  // CHECK: scf.for
  // CHECK:   scf.for
  // CHECK:     scf.for {{.*}} -> (vector<16xf32>)
  %r = linalg.matmul ins(%a, %b : tensor<3x5xf32>, tensor<5x40xf32>) outs(%c : tensor<3x40xf32>) -> tensor<3x40xf32>
  return %r : tensor<3x40xf32>
}

// Transposed or non-f32 matmuls are left to the generic lowering.
// CHECK-LABEL: func @f64
func.func @f64(%a: tensor<3x5xf64>, %b: tensor<5x4xf64>, %c: tensor<3x4xf64>) -> tensor<3x4xf64> {
  // CHECK: linalg.matmul
  %r = linalg.matmul ins(%a, %b : tensor<3x5xf64>, tensor<5x4xf64>) outs(%c : tensor<3x4xf64>) -> tensor<3x4xf64>
  return %r : tensor<3x4xf64>
}

// A single-use elementwise consumer (bias per row, residual, relu) is applied
// to the accumulators before they are stored: the product is never written.
// CHECK-LABEL: func @fused_epilogue
func.func @fused_epilogue(%a: tensor<2x5xf32>, %b: tensor<5x16xf32>, %bias: tensor<2xf32>, %res: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x16xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16xf32>) -> tensor<2x16xf32>
  %p = linalg.matmul ins(%a, %b : tensor<2x5xf32>, tensor<5x16xf32>) outs(%c : tensor<2x16xf32>) -> tensor<2x16xf32>
  %out = tensor.empty() : tensor<2x16xf32>
  // CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
  // CHECK: tensor.extract %{{.*}} : tensor<2xf32>
  // CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
  // CHECK: vector.transfer_read %{{.*}} : tensor<2x16xf32>, vector<16xf32>
  // CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
  // CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
  // CHECK: vector.transfer_write
  // CHECK-NOT: linalg.generic
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%p, %bias, %res : tensor<2x16xf32>, tensor<2xf32>, tensor<2x16xf32>) outs(%out : tensor<2x16xf32>) {
  ^bb0(%x: f32, %bi: f32, %re: f32, %o: f32):
    %0 = arith.addf %x, %bi : f32
    %1 = arith.addf %0, %re : f32
    %zero2 = arith.constant 0.0 : f32
    %2 = arith.maximumf %1, %zero2 : f32
    linalg.yield %2 : f32
  } -> tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}

// B packed in panels of 16 columns ([N / 16, K, 16], as convolutions pack
// their im2col matrix to the tile width): each tile reads its panel's k row
// as one contiguous, unmasked vector. The 64 columns are exactly four tiles:
// no masks at all.
// CHECK-LABEL: func @packed
// CHECK-NOT: vector.create_mask
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c16
// CHECK:   %[[PANEL:.*]] = arith.divui %[[N]], %c16{{.*}}
// CHECK:   scf.for %[[K:[a-z0-9_]+]] = {{.*}} -> (vector<16xf32>)
// CHECK:     vector.transfer_read %{{.*}}[%[[PANEL]], %[[K]], %c0{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x5x16xf32>, vector<16xf32>
// CHECK:   vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<1x64xf32>
// With 32-column tiles, each of a tile's two vectors reads its own panel.
// TWO-LABEL: func @packed
// TWO: scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c32
// TWO-DAG: %[[P0:.*]] = arith.divui %[[N]], %c16
// TWO-DAG: %[[N1:.*]] = arith.addi %[[N]], %c16
// TWO-DAG: %[[P1:.*]] = arith.divui %[[N1]], %c16
// TWO: vector.transfer_read %{{.*}}[%[[P0]], %{{.*}}, %c0{{.*}}]{{.*}} : tensor<4x5x16xf32>, vector<16xf32>
// TWO: vector.transfer_read %{{.*}}[%[[P1]], %{{.*}}, %c0{{.*}}]{{.*}} : tensor<4x5x16xf32>, vector<16xf32>
#a = affine_map<(m, n, k) -> (m, k)>
#bp = affine_map<(m, n, k) -> (n floordiv 16, k, n mod 16)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @packed(%a: tensor<1x5xf32>, %b: tensor<4x5x16xf32>, %c: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %r = linalg.generic {indexing_maps = [#a, #bp, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x5xf32>, tensor<4x5x16xf32>) outs(%c : tensor<1x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x64xf32>
  return %r : tensor<1x64xf32>
}

// An epilogue that reads the product transposed (a convolution computed as
// [pixels, filters], written back as [filters, pixels]) is applied in
// registers too: the bias per filter read as a vector, the residual read and
// the result written along their outer dimension (transfers with a
// permutation map, unrolled element by element after bufferization).
// CHECK-LABEL: func @transposed_epilogue
// CHECK-NOT: linalg.generic
// CHECK: vector.fma
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<16xf32>, vector<16xf32>
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true], permutation_map = #{{[a-z0-9]+}}} : tensor<16x3xf32>, vector<16xf32>
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: vector.transfer_write %{{.*}} {in_bounds = [true], permutation_map = #{{[a-z0-9]+}}} : vector<16xf32>, tensor<16x3xf32>
func.func @transposed_epilogue(%a: tensor<3x5xf32>, %b: tensor<1x5x16xf32>, %bias: tensor<16xf32>, %res: tensor<16x3xf32>) -> tensor<16x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %r = linalg.generic {indexing_maps = [#a, #bp, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<3x5xf32>, tensor<1x5x16xf32>) outs(%c : tensor<3x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x16xf32>
  %e2 = tensor.empty() : tensor<16x3xf32>
  %out = linalg.generic {indexing_maps = [affine_map<(f, p) -> (p, f)>, affine_map<(f, p) -> (f)>, affine_map<(f, p) -> (f, p)>, affine_map<(f, p) -> (f, p)>], iterator_types = ["parallel", "parallel"]} ins(%r, %bias, %res : tensor<3x16xf32>, tensor<16xf32>, tensor<16x3xf32>) outs(%e2 : tensor<16x3xf32>) {
  ^bb0(%x: f32, %bb: f32, %rr: f32, %o: f32):
    %s = arith.addf %x, %bb : f32
    %t = arith.addf %s, %rr : f32
    linalg.yield %t : f32
  } -> tensor<16x3xf32>
  return %out : tensor<16x3xf32>
}


// A batch of products (Winograd's 36): a loop over the batch that
// parallelize-loops may split, each product's tiles on rank-reduced slices,
// written back into the batch result. The accumulator is a zero fill: the
// tiles start from zero in registers and write into the fill's destination,
// so the fill is never run.
// CHECK-LABEL: func @batch
// CHECK: %[[E:.*]] = tensor.empty() : tensor<3x2x16xf32>
// CHECK: scf.for %[[B:.*]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%[[ACC:.*]] = %[[E]])
// CHECK:   %[[DEST:.*]] = tensor.extract_slice %[[ACC]][%[[B]], 0, 0] [1, 2, 16] [1, 1, 1] : tensor<3x2x16xf32> to tensor<2x16xf32>
// CHECK:   %[[A:.*]] = tensor.extract_slice %arg0[%[[B]], 0, 0] [1, 2, 5] [1, 1, 1] : tensor<3x2x5xf32> to tensor<2x5xf32>
// CHECK:   %[[R:.*]] = tensor.extract_slice %arg1[%[[B]], 0, 0] [1, 5, 16] [1, 1, 1] : tensor<3x5x16xf32> to tensor<5x16xf32>
// CHECK:   vector.broadcast %cst
// CHECK:   vector.transfer_read %[[R]]
// CHECK:   vector.fma
// CHECK:   tensor.insert_slice %{{.*}} into %[[ACC]][%[[B]], 0, 0] [1, 2, 16] [1, 1, 1]
// CHECK: } {dlc.parallel}
// CHECK-NOT: linalg.batch_matmul
func.func @batch(%a: tensor<3x2x5xf32>, %b: tensor<3x5x16xf32>) -> tensor<3x2x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x2x16xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2x16xf32>) -> tensor<3x2x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<3x2x5xf32>, tensor<3x5x16xf32>) outs(%c : tensor<3x2x16xf32>) -> tensor<3x2x16xf32>
  return %r : tensor<3x2x16xf32>
}

// Sizes known only at run time (attention's q k^T over a symbolic token
// count): the column loop runs to N read from the accumulator, every
// column vector is masked, K comes from A, and the rows past the last full
// 2-row tile run as 1-row tiles; register tiles keep their static size.
// CHECK-LABEL: func @dynamic
// CHECK-DAG: %[[M:.*]] = tensor.dim %arg0, %c0
// CHECK-DAG: %[[N:.*]] = tensor.dim %arg2, %c1
// CHECK-DAG: %[[K:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[LEFT:.*]] = arith.remui %{{.*}}, %c2
// CHECK: %[[FULL:.*]] = arith.subi %[[M]], %[[LEFT]]
// CHECK: scf.for %[[N0:.*]] = %c0{{.*}} to %[[N]] step %c16
// CHECK:   scf.for %{{.*}} = %c0{{.*}} to %[[FULL]] step %c2
// CHECK:     %[[COLS:.*]] = arith.subi %[[N]], %[[N0]]
// CHECK:     vector.create_mask %[[COLS]] : vector<16xi1>
// CHECK:     scf.for %{{.*}} = %c0{{.*}} to %[[K]] step %c1{{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK: } {dlc.parallel}
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[N]] step %c16
// CHECK:   scf.for %{{.*}} = %[[FULL]] to %[[M]] step %c1
// CHECK:     scf.for {{.*}} -> (vector<16xf32>)
// CHECK-NOT: linalg.matmul
func.func @dynamic(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %c: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>) outs(%c : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
