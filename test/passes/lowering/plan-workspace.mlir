// RUN: dlc-opt %s -plan-workspace -cse | FileCheck %s
// Three 1 KiB buffers: %a and %b are alive together, %c only after %a's last
// use, so %c reuses %a's bytes and the workspace is 2 KiB.

// CHECK-LABEL: func @plan
// CHECK-SAME: %[[WS:arg[0-9]+]]: memref<2048xi8>
// CHECK-SAME: attributes {dlc.workspace_bytes = 2048 : i64}
func.func @plan(%in: memref<256xf32>, %out: memref<256xf32>) {
  // CHECK-NOT: memref.alloc
  // CHECK: %[[A:.*]] = memref.view %[[WS]][%[[OA:[a-z0-9_]+]]][] : memref<2048xi8> to memref<256xf32>
  %a = memref.alloc() : memref<256xf32>
  // CHECK: %[[B:.*]] = memref.view %[[WS]][%[[OB:[a-z0-9_]+]]][] : memref<2048xi8> to memref<256xf32>
  %b = memref.alloc() : memref<256xf32>
  memref.copy %in, %a : memref<256xf32> to memref<256xf32>
  memref.copy %a, %b : memref<256xf32> to memref<256xf32>
  // %c gets %a's offset: after CSE it is %a's view itself.
  // CHECK: memref.copy %[[B]], %[[A]]
  %c = memref.alloc() : memref<256xf32>
  memref.copy %b, %c : memref<256xf32> to memref<256xf32>
  memref.copy %c, %out : memref<256xf32> to memref<256xf32>
  // CHECK-NOT: memref.dealloc
  memref.dealloc %a : memref<256xf32>
  memref.dealloc %b : memref<256xf32>
  memref.dealloc %c : memref<256xf32>
  return
}

// A buffer of a loop body that no iteration hands to the next (it is copied
// out) lives in the workspace while the loop runs; one carried from an
// iteration to the next stays a heap allocation.

// CHECK-LABEL: func @loop_body
// CHECK-SAME: %[[WS:arg[0-9]+]]: memref<1024xi8>
// CHECK: scf.for
// CHECK-NOT: memref.alloc
// CHECK: %[[T:.*]] = memref.view %[[WS]]
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[T]])
func.func @loop_body(%in: memref<4x256xf32>, %out: memref<4x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<256xf32>
    %r = scf.for %j = %c0 to %c1 step %c1 iter_args(%acc = %t) -> (memref<256xf32>) {
      %src = memref.subview %in[%i, 0] [1, 256] [1, 1] : memref<4x256xf32> to memref<256xf32, strided<[1], offset: ?>>
      memref.copy %src, %acc : memref<256xf32, strided<[1], offset: ?>> to memref<256xf32>
      scf.yield %acc : memref<256xf32>
    }
    %dst = memref.subview %out[%i, 0] [1, 256] [1, 1] : memref<4x256xf32> to memref<256xf32, strided<[1], offset: ?>>
    memref.copy %r, %dst : memref<256xf32> to memref<256xf32, strided<[1], offset: ?>>
  }
  return
}

// CHECK-LABEL: func @carried
// CHECK: memref.alloc
func.func @carried(%in: memref<256xf32>) -> memref<256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%prev = %in) -> (memref<256xf32>) {
    %next = memref.alloc() : memref<256xf32>
    memref.copy %prev, %next : memref<256xf32> to memref<256xf32>
    scf.yield %next : memref<256xf32>
  }
  return %r : memref<256xf32>
}
