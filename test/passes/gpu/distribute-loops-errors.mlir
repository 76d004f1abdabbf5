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

// A kernel may call only a run-time check's report (gpu-merge-kernel-modules
// rewrites it for the device).
func.func private @log_value(f32)
func.func @call(%x: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %x[%i] : memref<4xf32>
    // expected-error@+1 {{in a GPU kernel: calls are not supported by the CUDA target}}
    func.call @log_value(%v) : (f32) -> ()
    scf.reduce
  }
  return
}
