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
