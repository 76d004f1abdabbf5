// RUN: dlc-opt %s --pass-pipeline="builtin.module(func.func(gpu-distribute-loops))" -verify-diagnostics --split-input-file

// A scalar read on the host from device memory is refused by name.
func.func @host_read(%a: memref<16xf32>, %n: memref<index>) -> index {
  // expected-error@+1 {{reads device memory for host code}}
  %v = memref.load %n[] : memref<index>
  return %v : index
}

// -----

// Only the planned workspace is device memory: a buffer the host allocates
// (dynamic, or carried by a loop) cannot reach a kernel.
func.func @host_buffer(%n: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{allocates a buffer on the host that a GPU kernel uses}}
  %b = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %b[%i] : memref<?xf32>
    memref.store %v, %out[%i] : memref<?xf32>
    scf.reduce
  }
  memref.dealloc %b : memref<?xf32>
  return
}

// -----

// A run-time check's report is a call: not in a kernel yet.
func.func private @dlc_report_error(i32)
func.func @check(%idx: memref<4xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c3 = arith.constant 3 : i64
  %site = arith.constant 1 : i32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %idx[%i] : memref<4xi64>
    %bad = arith.cmpi sgt, %v, %c3 : i64
    scf.if %bad {
      // expected-error@+1 {{in a GPU kernel: calls (a run-time check of indices or labels) are not supported}}
      func.call @dlc_report_error(%site) : (i32) -> ()
    }
    scf.reduce
  }
  return
}
