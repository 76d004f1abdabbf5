// RUN: dlc-opt %s -memref-copy-to-linalg | FileCheck %s
// Copies into strided views become linalg copies, so that no runtime helper
// (memrefCopy) is needed by the generated library.

// CHECK-LABEL: func @copy
func.func @copy(%src: memref<2x3xf32>, %dst: memref<4x3xf32>) {
  %view = memref.subview %dst[1, 0] [2, 3] [1, 1] : memref<4x3xf32> to memref<2x3xf32, strided<[3, 1], offset: 3>>
  // CHECK-NOT: memref.copy
  // CHECK: linalg.generic
  memref.copy %src, %view : memref<2x3xf32> to memref<2x3xf32, strided<[3, 1], offset: 3>>
  return
}

// Two contiguous buffers (an output handed to the caller) are copied as 1-D
// views: one loop, which LLVM vectorizes with plain loads and stores.
// CHECK-LABEL: func @contiguous
// CHECK-DAG: %[[S:.*]] = memref.collapse_shape %arg0 {{\[\[}}0, 1, 2]] : memref<2x?x32xf32> into memref<?xf32>
// CHECK-DAG: %[[D:.*]] = memref.collapse_shape %arg1 {{\[\[}}0, 1, 2]] : memref<2x?x32xf32> into memref<?xf32>
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<?xf32>) outs(%[[D]] : memref<?xf32>)
func.func @contiguous(%src: memref<2x?x32xf32>, %dst: memref<2x?x32xf32>) {
  memref.copy %src, %dst : memref<2x?x32xf32> to memref<2x?x32xf32>
  return
}
