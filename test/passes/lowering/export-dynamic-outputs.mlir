// RUN: dlc-opt %s -split-input-file -export-dynamic-outputs -verify-diagnostics | FileCheck %s

// The out-param of a dynamic shape (from buffer-results-to-out-params)
// becomes a slot: the function allocates the result, copies into it, and
// stores its address and dims for the caller. Static out-params stay.
// CHECK-LABEL: func.func @main(%arg0: memref<6xf32>, %arg1: memref<4xf32>, %arg2: memref<3xi64>)
// CHECK: %[[D0:.*]] = memref.dim %[[SRC:.*]], %c0
// CHECK: %[[D1:.*]] = memref.dim %[[SRC]], %c1
// CHECK: %[[BUF:.*]] = memref.alloc(%[[D0]], %[[D1]]) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK: memref.copy %[[SRC]], %[[BUF]]
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[BUF]]
// CHECK: %[[PI:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK: memref.store %[[PI]], %arg2[%{{.*}}]
// CHECK: arith.index_cast %[[D0]] : index to i64
// CHECK: memref.store
// CHECK: arith.index_cast %[[D1]] : index to i64
// CHECK: memref.store
// CHECK-NOT: memref.dealloc %[[BUF]]
// CHECK: return
func.func @main(%x: memref<6xf32>, %static: memref<4xf32>, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %shape = memref.alloc() : memref<2xindex>
  memref.store %c2, %shape[%c0] : memref<2xindex>
  memref.store %c3, %shape[%c1] : memref<2xindex>
  %v = memref.reshape %x(%shape) : (memref<6xf32>, memref<2xindex>) -> memref<?x?xf32>
  memref.copy %v, %out : memref<?x?xf32> to memref<?x?xf32>
  memref.dealloc %shape : memref<2xindex>
  return
}

// -----

// Dynamic inputs are not supported yet: refused, not miscompiled.
func.func @input(%x: memref<?xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{an argument of a run-time shape that is not an output}}
  %v = memref.load %x[%c0] : memref<?xf32>
  return
}

// -----

// A copy of an empty static buffer: recorded before canonicalization folds
// it away, then handed over as an empty buffer of the recorded shape.
// CHECK-LABEL: func.func @empty(%arg0: memref<3xi64>)
// CHECK: %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<0xf32>
// CHECK: memref.extract_aligned_pointer_as_index %[[BUF]]
// CHECK: memref.store %{{.*}}, %arg0[%c0
// CHECK: %[[D0:.*]] = arith.index_cast %c2{{.*}} : index to i64
// CHECK: memref.store %[[D0]], %arg0[%c1
// CHECK: %[[D1:.*]] = arith.index_cast %c0{{.*}} : index to i64
// CHECK: memref.store %[[D1]], %arg0[%c2
// CHECK-NOT: dlc.output_shape
func.func @empty(%out: memref<2x?xf32> {dlc.output_shape = array<i64: 2, 0>}) {
  return
}

// -----

// An output of a run-time shape that nothing writes is an error.
// expected-error @+1 {{an output of a run-time shape is never written}}
func.func @unwritten(%out: memref<2x?xf32>) {
  return
}
