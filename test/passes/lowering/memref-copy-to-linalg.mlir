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
