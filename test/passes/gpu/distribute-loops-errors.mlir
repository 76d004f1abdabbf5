// RUN: dlc-opt %s --pass-pipeline="builtin.module(func.func(gpu-distribute-loops))" -verify-diagnostics

// A scalar read on the host from device memory is refused by name.
func.func @host_read(%a: memref<16xf32>, %n: memref<index>) -> index {
  // expected-error@+1 {{reads device memory for host code}}
  %v = memref.load %n[] : memref<index>
  return %v : index
}
