// RUN: dlc-opt %s --gpu-merge-kernel-modules="upload-bytes=64" --split-input-file | FileCheck %s

// Two outlined kernels that read the same weights end up in one device
// module with one copy of them; the weights (64 bytes and more) have no value
// on the device and their host copy is marked for upload; a small constant
// keeps its value in the PTX.
module attributes {gpu.container_module} {
  memref.global "private" constant @w : memref<16xf32> = dense<2.0>
  memref.global "private" constant @b : memref<2xf32> = dense<[1.0, 2.0]>
  func.func @forward(%out: memref<16xf32>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1) args(%out : memref<16xf32>)
    gpu.launch_func @forward_kernel_0::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1) args(%out : memref<16xf32>)
    return
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel(%out: memref<16xf32>) kernel {
      %i = gpu.thread_id x
      %w = memref.get_global @w : memref<16xf32>
      %v = memref.load %w[%i] : memref<16xf32>
      memref.store %v, %out[%i] : memref<16xf32>
      gpu.return
    }
    memref.global "private" constant @w : memref<16xf32> = dense<2.0>
  }
  gpu.module @forward_kernel_0 {
    gpu.func @forward_kernel(%out: memref<16xf32>) kernel {
      %c0 = arith.constant 0 : index
      %i = gpu.thread_id x
      %w = memref.get_global @w : memref<16xf32>
      %b = memref.get_global @b : memref<2xf32>
      %v = memref.load %w[%i] : memref<16xf32>
      %s = memref.load %b[%c0] : memref<2xf32>
      %t = arith.addf %v, %s : f32
      memref.store %t, %out[%i] : memref<16xf32>
      gpu.return
    }
    memref.global "private" constant @w : memref<16xf32> = dense<2.0>
    memref.global "private" constant @b : memref<2xf32> = dense<[1.0, 2.0]>
  }
}
// CHECK: memref.global "private" constant @w : memref<16xf32> = dense<2.000000e+00> {dlc.device_copy = "dlc_kernels"}
// CHECK: memref.global "private" constant @b : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>{{$}}
// CHECK: gpu.launch_func  @dlc_kernels::@forward_kernel blocks
// CHECK: gpu.launch_func  @dlc_kernels::@forward_kernel_0 blocks
// CHECK-NOT: gpu.module @forward_kernel
// CHECK: gpu.module @dlc_kernels {
// CHECK-NEXT: gpu.func @forward_kernel(
// CHECK: memref.global @w : memref<16xf32> = uninitialized
// CHECK-NEXT: gpu.func @forward_kernel_0(
// CHECK: memref.global "private" constant @b : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>
// CHECK-NOT: memref.global
// CHECK-NOT: gpu.module

// -----

// A kernel's report of a failed run-time check becomes an atomic write of
// its site into the module's error site (the first failure is kept); the
// outlined copy of the report's declaration goes.
// CHECK-LABEL: module attributes {dlc.device_error_site = "dlc_device_error_site", gpu.container_module}
module attributes {gpu.container_module} {
  func.func private @dlc_report_error(i32)
  func.func @forward(%idx: memref<4xi64>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%idx : memref<4xi64>)
    return
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel(%idx: memref<4xi64>) kernel {
      %c0 = arith.constant 0 : index
      %c3 = arith.constant 3 : i64
      %site = arith.constant 2 : i32
      %v = memref.load %idx[%c0] : memref<4xi64>
      %bad = arith.cmpi sgt, %v, %c3 : i64
      scf.if %bad {
        func.call @dlc_report_error(%site) : (i32) -> ()
      }
      gpu.return
    }
    func.func private @dlc_report_error(i32)
  }
}
// CHECK: gpu.module @dlc_kernels {
// CHECK-NEXT: memref.global @dlc_device_error_site : memref<i32> = dense<0>
// CHECK: %[[SITE:.*]] = arith.constant 2 : i32
// CHECK: scf.if
// CHECK: %[[G:.*]] = memref.get_global @dlc_device_error_site : memref<i32>
// CHECK: memref.generic_atomic_rmw %[[G]][] : memref<i32> {
// CHECK: ^bb0(%[[CUR:.*]]: i32):
// CHECK: %[[UNSET:.*]] = arith.cmpi eq, %[[CUR]], %c0_i32
// CHECK: %[[NEW:.*]] = arith.select %[[UNSET]], %[[SITE]], %[[CUR]]
// CHECK: memref.atomic_yield %[[NEW]]
// CHECK-NOT: func.call
// CHECK-NOT: func.func private @dlc_report_error(i32) attributes
