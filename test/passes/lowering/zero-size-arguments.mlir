// RUN: dlc-opt %s -split-input-file -zero-size-arguments | FileCheck %s

// An empty input and an empty out-param whose zero-size dim is not the
// first arrive as memref<0xT>, viewed at their shapes with row-major
// strides; arguments with elements, and a 1-D empty one, stay.
// CHECK-LABEL: func.func @main(%arg0: memref<0xi64>, %arg1: memref<2x3xf32>, %arg2: memref<0xf32>, %arg3: memref<0xi64>)
// CHECK-DAG: %[[X:.*]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [3, 0, 5], strides: [0, 5, 1] : memref<0xi64> to memref<3x0x5xi64>
// CHECK-DAG: %[[Y:.*]] = memref.reinterpret_cast %arg3 to offset: [0], sizes: [3, 0, 5], strides: [0, 5, 1] : memref<0xi64> to memref<3x0x5xi64>
// CHECK: memref.copy %[[X]], %[[Y]]
func.func @main(%x: memref<3x0x5xi64>, %s: memref<2x3xf32>, %e: memref<0xf32>,
                %y: memref<3x0x5xi64>) {
  memref.copy %x, %y : memref<3x0x5xi64> to memref<3x0x5xi64>
  return
}

// -----

// Private functions keep their types.
// CHECK-LABEL: func.func private @helper(%arg0: memref<2x0xf32>)
func.func private @helper(%x: memref<2x0xf32>) {
  return
}
