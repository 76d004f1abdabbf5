// RUN: dlc-opt %s -split-input-file -import-dynamic-inputs | FileCheck %s

// Inputs of dynamic dims arrive as bare data pointers (memref<1xT>) and one
// trailing array of their dynamic dims, in argument then dim order; the body
// reads each input through a row-major view of the sizes given. Static
// inputs stay.
// CHECK-LABEL: func.func @main(%arg0: memref<1xf32>, %arg1: memref<4xf32>, %arg2: memref<1xi64>, %arg3: memref<3xi64>)
// CHECK-SAME: dlc.dynamic_dims = 3 : i64
// CHECK: %[[N:.*]] = memref.load %arg3[%c0]
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : i64 to index
// CHECK-NOT: arith.muli
// CHECK: %[[XC:.*]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [%[[NI]], 4], strides: [4, 1] : memref<1xf32> to memref<?x4xf32>
// CHECK: %[[A:.*]] = memref.load %arg3[%c1]
// CHECK: %[[AI:.*]] = arith.index_cast %[[A]] : i64 to index
// CHECK: %[[B:.*]] = memref.load %arg3[%c2]
// CHECK: %[[BI:.*]] = arith.index_cast %[[B]] : i64 to index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %[[BI]]
// CHECK: memref.reinterpret_cast %arg2 to offset: [0], sizes: [%[[AI]], %[[BI]], 2], strides: [%[[S0]], 2, 1] : memref<1xi64> to memref<?x?x2xi64>
// CHECK: memref.dim %[[XC]], %c0
func.func @main(%x: memref<?x4xf32>, %s: memref<4xf32>, %y: memref<?x?x2xi64>) -> index {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %m = memref.dim %y, %c0 : memref<?x?x2xi64>
  %r = arith.addi %n, %m : index
  return %r : index
}

// -----

// Static functions are left alone.
// CHECK-LABEL: func.func @static(%arg0: memref<4xf32>) {
// CHECK-NOT: dlc.dynamic_dims
func.func @static(%x: memref<4xf32>) {
  return
}
