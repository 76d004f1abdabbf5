// RUN: dlc-opt %s -split-input-file -convert-kernel-to-linalg="row-tile=4" -cse | FileCheck %s
// RUN: dlc-opt %s -split-input-file -convert-kernel-to-linalg -cse | FileCheck %s --check-prefix=UNTILED

// Rows known only at run time against a static matrix: static tiles of
// row-tile rows while whole ones remain, then at most one tile of half as
// many, then a row at a time, each product with its epilogue (bias,
// activation) on its own tile.
// CHECK-LABEL: func @rows
// CHECK: %[[M:.*]] = tensor.dim %{{.*}}, %c0 : tensor<?x5xf32>
// CHECK: %[[WHOLE:.*]] = arith.muli %{{.*}}, %c4
// CHECK: scf.for %{{.*}} = %c0 to %[[WHOLE]] step %c4
// CHECK:   tensor.extract_slice %{{.*}} [4, 5] [1, 1] : tensor<?x5xf32> to tensor<4x5xf32>
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x5xf32>, tensor<5x6xf32>)
// CHECK:   arith.maximumf
// CHECK:   tensor.insert_slice %{{.*}} [4, 6] [1, 1] : tensor<4x6xf32> into tensor<?x6xf32>
// CHECK: %[[LEFT:.*]] = arith.subi %[[M]], %[[WHOLE]]
// CHECK: %[[ODD:.*]] = arith.remui %[[LEFT]], %c2
// CHECK: %[[PAIRS:.*]] = arith.subi %[[M]], %[[ODD]]
// CHECK: scf.for %{{.*}} = %[[WHOLE]] to %[[PAIRS]] step %c2
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x5xf32>, tensor<5x6xf32>)
// CHECK: scf.for %{{.*}} = %[[PAIRS]] to %[[M]] step %c1
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x5xf32>, tensor<5x6xf32>)
// UNTILED-LABEL: func @rows
// UNTILED-NOT: scf.for
// UNTILED: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x5xf32>, tensor<5x6xf32>)
func.func @rows(%a: tensor<?x5xf32>, %b: tensor<5x6xf32>, %bias: tensor<6xf32>) -> tensor<?x6xf32> {
  %m = kernel.matmul %a, %b bias %bias {activation = "relu"} : (tensor<?x5xf32>, tensor<5x6xf32>, tensor<6xf32>) -> tensor<?x6xf32>
  return %m : tensor<?x6xf32>
}

// -----

// Leading dims known only at run time are collapsed into the rows, and the
// product expanded back with their sizes.
// CHECK-LABEL: func @leading
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<?x?x5xf32> into tensor<?x5xf32>
// CHECK: scf.for
// CHECK: %[[D0:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[D1:.*]] = tensor.dim %arg0, %c1
// CHECK: tensor.reshape
func.func @leading(%a: tensor<?x?x5xf32>, %b: tensor<5x6xf32>) -> tensor<?x?x6xf32> {
  %m = kernel.matmul %a, %b : (tensor<?x?x5xf32>, tensor<5x6xf32>) -> tensor<?x?x6xf32>
  return %m : tensor<?x?x6xf32>
}

// -----

// Equal static batch dims, M, K and N known only at run time (attention
// over a run-time token count): a loop over the batches of products sized
// at run time.
// CHECK-LABEL: func @attention
// CHECK: %[[M:.*]] = tensor.dim %arg0, %c2 : tensor<2x4x?x8xf32>
// CHECK: %[[N:.*]] = tensor.dim %arg1, %c3 : tensor<2x4x8x?xf32>
// CHECK: tensor.empty(%[[M]], %[[N]]) : tensor<8x?x?xf32>
// CHECK: scf.for
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x?xf32>)
func.func @attention(%q: tensor<2x4x?x8xf32>, %k: tensor<2x4x8x?xf32>) -> tensor<2x4x?x?xf32> {
  %m = kernel.matmul %q, %k : (tensor<2x4x?x8xf32>, tensor<2x4x8x?xf32>) -> tensor<2x4x?x?xf32>
  return %m : tensor<2x4x?x?xf32>
}
