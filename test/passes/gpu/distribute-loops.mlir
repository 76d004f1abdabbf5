// RUN: dlc-opt %s --pass-pipeline="builtin.module(func.func(gpu-distribute-loops))" --split-input-file | FileCheck %s

// A 2-D loop becomes blocks of 256 threads over its 8x100 iterations, the
// last dim fastest; the last block's extra threads do nothing. The constant
// it reads moves into the loop.
memref.global "private" constant @w : memref<100xf32> = dense<1.0>
// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%out: memref<8x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c100 = arith.constant 100 : index
  %w = memref.get_global @w : memref<100xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c100) step (%c1, %c1) {
    %v = memref.load %w[%j] : memref<100xf32>
    memref.store %v, %out[%i, %j] : memref<8x100xf32>
    scf.reduce
  }
  return
}
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C800:.*]] = arith.constant 800 : index
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%c4{{(_[0-9]+)?}})
// CHECK: memref.get_global @w
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%[[C256]])
// CHECK: %[[LIN:.*]] = arith.addi %{{.*}}, %[[T]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[LIN]], %[[C800]]
// CHECK: scf.if %[[IN]]
// CHECK: arith.remui %[[LIN]], %{{.*}}
// CHECK: arith.divui %[[LIN]], %{{.*}}
// CHECK: memref.store
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x

// -----

// A loop smaller than a block runs in one block of whole warps; a nested loop
// runs sequentially in each thread.
// CHECK-LABEL: func.func @small
func.func @small(%a: memref<10x64xf32>, %out: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c10) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%i, %j] : memref<10x64xf32>
      memref.store %v, %out[%i] : memref<10xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: scf.parallel
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[C32]])
// CHECK: mapping = [#gpu.loop_dim_map<processor = sequential
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x

// -----

// Serial code that touches memory (a sum to a scalar) runs on one thread of
// the device; a host loop around kernels stays on the host.
// CHECK-LABEL: func.func @serial
func.func @serial(%a: memref<16xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %out[] : memref<f32>
  scf.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %a[%i] : memref<16xf32>
    %s = memref.load %out[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %out[] : memref<f32>
  }
  scf.for %step = %c0 to %c4 step %c1 {
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      %v = memref.load %a[%i] : memref<16xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%i] : memref<16xf32>
      scf.reduce
    }
  }
  return
}
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: scf.for
// CHECK: processor = thread_x
// CHECK: processor = block_x
// CHECK: scf.for
// CHECK: scf.parallel
// CHECK: processor = thread_x
// CHECK: processor = block_x
// CHECK: return

// -----

// A kernel that reads a view of a constant gets the global and the view
// itself (made on the host, the view would carry the host's address); an
// empty range still launches one block, whose threads do nothing.
memref.global "private" constant @table : memref<4x8xf32> = dense<1.0>
// CHECK-LABEL: func.func @view_of_global
func.func @view_of_global(%out: memref<8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.get_global @table : memref<4x8xf32>
  %row = memref.subview %t[1, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: 8>>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %row[%i] : memref<8xf32, strided<[1], offset: 8>>
    memref.store %v, %out[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %out[%c0] : memref<8xf32>
    memref.store %v, %out[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
// CHECK-NOT: memref.get_global
// CHECK: scf.parallel
// CHECK-NEXT: %[[G:.*]] = memref.get_global @table
// CHECK-NEXT: %[[R:.*]] = memref.subview %[[G]][1, 0] [1, 8] [1, 1]
// CHECK: memref.load %[[R]]
// CHECK: %[[COUNT:.*]] = arith.maxsi %arg1, %c0{{(_[0-9]+)?}}
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %[[COUNT]], %{{.*}}
// CHECK: %[[GRID:.*]] = arith.maxsi %[[BLOCKS]], %c1{{(_[0-9]+)?}}
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[GRID]])
