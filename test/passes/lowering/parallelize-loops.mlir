// RUN: dlc-opt %s -parallelize-loops=min-work=32768 | FileCheck %s
// RUN: dlc-opt %s -parallelize-loops=min-work=1000000000 | FileCheck %s --check-prefix=SMALL

// A 128x1024 elementwise loop: the 128 rows are the units (>= 64), each a
// 1024-wide inner loop. Chunks of at least 4 rows pay for a wake-up. The
// constant is recreated in the body; the buffers are its arguments, the
// workspace buffer marked noalias (no other argument reaches its bytes).
// CHECK-LABEL: func.func private @add_parallel_0
// CHECK-SAME: (%[[BEGIN:.*]]: index, %[[END:.*]]: index, %[[OUT:.*]]: memref<128x1024xf32> {llvm.noalias}, %[[IN:.*]]: memref<128x1024xf32>)
// CHECK-DAG:   %[[ONE:.*]] = arith.constant 1.0
// The units loop has constant bounds (so that LLVM knows the range of the
// offsets); each thread runs the units in its [begin, end).
// CHECK:       scf.for %[[U:.*]] = %c0{{.*}} to %c128{{.*}}
// CHECK-DAG:     %[[GE:.*]] = arith.cmpi uge, %[[U]], %[[BEGIN]]
// CHECK-DAG:     %[[LT:.*]] = arith.cmpi ult, %[[U]], %[[END]]
// CHECK:         %[[MINE:.*]] = arith.andi
// CHECK:         scf.if %[[MINE]]
// CHECK:         scf.parallel (%[[J:.*]]) =
// CHECK:           memref.load %[[IN]][%[[U]], %[[J]]]
// CHECK:           arith.addf %{{.*}}, %[[ONE]]
// CHECK:           memref.store %{{.*}}, %[[OUT]][%[[U]], %[[J]]]
// CHECK:       return
// CHECK: func.func private @add_parallel_0_launch(index, index, memref<128x1024xf32>, memref<128x1024xf32>)
// CHECK-SAME: attributes {dlc.kernel_name = "add", dlc.parallel_body = @add_parallel_0}
// CHECK-LABEL: func.func @add
// CHECK:     %[[VIEW:.*]] = memref.view %arg1
// CHECK:     call @add_parallel_0_launch(%c128{{.*}}, %c4, %[[VIEW]], %arg0)
// CHECK-NOT: scf.parallel
// Below the work threshold every loop stays where it is.
// SMALL-LABEL: func.func @add
// SMALL: scf.parallel
// SMALL-NOT: call
func.func @add(%in: memref<128x1024xf32>, %ws: memref<524288xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %c1024 = arith.constant 1024 : index
  %one = arith.constant 1.0 : f32
  %out = memref.view %ws[%c0][] : memref<524288xi8> to memref<128x1024xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c128, %c1024) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<128x1024xf32>
    %y = arith.addf %x, %one : f32
    memref.store %y, %out[%i, %j] : memref<128x1024xf32>
    scf.reduce
  }
  return
}

// The matmul kernel's marked row and column tile loops become one 2-D
// space; 4 x 8 tiles are too few units for one dimension, so both are
// distributed and a unit is split into its row and column tile.
// CHECK-LABEL: func.func private @tiles_parallel_0
// CHECK:       scf.for %[[U:.*]] = %c0{{.*}} to %c32
// CHECK:         scf.if
// CHECK-DAG:     %[[COL:.*]] = arith.remui %[[U]], %c8
// CHECK-DAG:     %[[ROW:.*]] = arith.divui %[[U]], %c8
// CHECK-DAG:     arith.muli %[[ROW]], %c8{{.*}}
// CHECK-DAG:     arith.muli %[[COL]], %c32
// CHECK-LABEL: func.func @tiles
// CHECK: call @tiles_parallel_0_launch(%c32
func.func @tiles(%c: memref<32x256xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %c256 = arith.constant 256 : index
  %k = arith.constant 512 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant dense<0.0> : vector<16xf32>
  scf.for %m = %c0 to %c32 step %c8 {
    scf.for %n = %c0 to %c256 step %c32 {
      %acc = scf.for %kk = %c0 to %k step %c1 iter_args(%a = %z) -> vector<16xf32> {
        %s = arith.addf %a, %a : vector<16xf32>
        scf.yield %s : vector<16xf32>
      }
      vector.transfer_write %acc, %c[%m, %n] : vector<16xf32>, memref<32x256xf32>
    } {dlc.parallel}
  } {dlc.parallel}
  return
}

// Unmarked sequential loops and loops using a value that cannot be passed
// to another thread (a vector) are not split.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: call
// CHECK: scf.for
// CHECK: scf.parallel
func.func @kept(%c: memref<256x256xf32>, %v: vector<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  scf.for %i = %c0 to %c256 step %c1 {
    scf.for %j = %c0 to %c256 step %c1 {
      %x = memref.load %c[%i, %j] : memref<256x256xf32>
      %y = arith.mulf %x, %x : f32
      memref.store %y, %c[%i, %j] : memref<256x256xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    scf.for %j = %c0 to %c256 step %c1 {
      vector.transfer_write %v, %c[%i, %j] : vector<4xf32>, memref<256x256xf32>
    }
    scf.reduce
  }
  return
}

// A marked loop whose body makes a view of the workspace (a buffer that
// plan-workspace hoisted out of the iterations) would share that buffer
// between threads: it is not split.
// CHECK-LABEL: func.func @shared_scratch
// CHECK-NOT: call
// CHECK: scf.for
func.func @shared_scratch(%ws: memref<4096xi8>, %out: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  scf.for %i = %c0 to %c64 step %c1 {
    %tmp = memref.view %ws[%c0][] : memref<4096xi8> to memref<1024xf32>
    scf.for %j = %c0 to %c1024 step %c1 {
      %x = memref.load %out[%i, %j] : memref<64x1024xf32>
      memref.store %x, %tmp[%j] : memref<1024xf32>
      %y = memref.load %tmp[%j] : memref<1024xf32>
      %z = arith.addf %y, %x : f32
      memref.store %z, %out[%i, %j] : memref<64x1024xf32>
    }
  } {dlc.parallel}
  return
}

// Two workspace buffers whose bytes overlap are not marked noalias.
// CHECK-LABEL: func.func private @overlap_parallel_0
// CHECK-SAME: memref<64x1024xf32>, %{{.*}}: memref<64x1024xf32>)
// CHECK-NOT: llvm.noalias
// CHECK-LABEL: func.func @overlap
func.func @overlap(%ws: memref<524288xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  %half = arith.constant 131072 : index
  %a = memref.view %ws[%c0][] : memref<524288xi8> to memref<64x1024xf32>
  %b = memref.view %ws[%half][] : memref<524288xi8> to memref<64x1024xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c1024) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<64x1024xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %b[%i, %j] : memref<64x1024xf32>
    scf.reduce
  }
  return
}

// A buffer carried by an enclosing loop may be any buffer, the workspace's
// included: next to it, no workspace buffer is marked noalias.
// CHECK-LABEL: func.func private @carried_parallel_0
// CHECK-SAME: %{{.*}}: memref<64x1024xf32>, %{{.*}}: memref<64x1024xf32>)
// CHECK-NOT: llvm.noalias
// CHECK-LABEL: func.func @carried
func.func @carried(%ws: memref<524288xi8>, %init: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  %v = memref.view %ws[%c0][] : memref<524288xi8> to memref<64x1024xf32>
  %r = scf.for %t = %c0 to %c2 step %c1 iter_args(%buf = %init) -> memref<64x1024xf32> {
    scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c1024) step (%c1, %c1) {
      %x = memref.load %buf[%i, %j] : memref<64x1024xf32>
      %y = arith.mulf %x, %x : f32
      memref.store %y, %v[%i, %j] : memref<64x1024xf32>
      scf.reduce
    }
    scf.yield %buf : memref<64x1024xf32>
  }
  return
}

// A long 1-D elementwise loop (a flattened same-shape operation) is blocked:
// 64 units of 1024 elements, each block a loop of its own.
// CHECK-LABEL: func.func private @flat_parallel_0
// CHECK:       scf.for %[[U:[a-z0-9_]+]] = %c0{{.*}} to %c64
// CHECK:         scf.if
// CHECK:           scf.parallel (%[[J:[a-z0-9_]+]]) = (%c0{{.*}}) to (%c1024{{.*}})
// CHECK:             %[[BASE:.*]] = arith.muli %[[U]], %c1024
// CHECK:             %[[I:.*]] = arith.addi %[[BASE]], %[[J]]
// CHECK:             memref.load %{{.*}}[%[[I]]]
// CHECK-LABEL: func.func @flat
// CHECK: call @flat_parallel_0_launch(%c64
func.func @flat(%in: memref<65536xf32>, %out: memref<65536xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 65536 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %in[%i] : memref<65536xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %out[%i] : memref<65536xf32>
    scf.reduce
  }
  return
}
