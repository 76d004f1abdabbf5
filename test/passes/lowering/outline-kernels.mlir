// RUN: dlc-opt %s -outline-kernels=min-kernels=1 | FileCheck %s
// RUN: dlc-opt %s -outline-kernels | FileCheck %s --check-prefix=FEW

// Two kernels, each a run of ops from one node: "scale" (a loop that writes
// a workspace buffer) and "sum" (a loop that reduces into a vector, and the
// store of that vector: the loop's result stays inside the run). Each
// becomes a function marked noinline for LLVM, called where the run was;
// constants are recreated inside, buffers passed, the workspace buffer that
// no other argument reaches marked noalias.
// CHECK-LABEL: func.func private @forward_scale_kernel_0
// CHECK-SAME: (%[[OUT:.*]]: memref<64xf32> {llvm.noalias}, %[[IN:.*]]: memref<64xf32>)
// CHECK-SAME: attributes {passthrough = ["noinline"]}
// CHECK-DAG:   arith.constant 2.0
// CHECK:       scf.for
// CHECK:         memref.store %{{.*}}, %[[OUT]]
// CHECK:       return
// CHECK-LABEL: func.func private @forward_sum_kernel_1
// CHECK:       %[[ACC:.*]] = scf.for {{.*}} -> (f32)
// CHECK:       memref.store %[[ACC]]
// CHECK-LABEL: func.func @forward
// CHECK:       %[[VIEW:.*]] = memref.view %arg2
// CHECK-NEXT:  call @forward_scale_kernel_0(%[[VIEW]], %arg0)
// CHECK-NEXT:  call @forward_sum_kernel_1(%arg1, %[[VIEW]])
// CHECK-NEXT:  return

// With few kernels (at most min-kernels, 16 by default) nothing moves.
// FEW-NOT: func.func private
// FEW: scf.for
func.func @forward(%in: memref<64xf32>, %out: memref<f32>, %ws: memref<256xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %two = arith.constant 2.0 : f32
  %zero = arith.constant 0.0 : f32
  %buf = memref.view %ws[%c0][] : memref<256xi8> to memref<64xf32>
  scf.for %i = %c0 to %c64 step %c1 {
    %x = memref.load %in[%i] : memref<64xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %buf[%i] : memref<64xf32>
  } loc(#scale)
  %acc = scf.for %i = %c0 to %c64 step %c1 iter_args(%a = %zero) -> (f32) {
    %x = memref.load %buf[%i] : memref<64xf32>
    %s = arith.addf %a, %x : f32
    scf.yield %s : f32
  } loc(#sum)
  memref.store %acc, %out[] : memref<f32> loc(#sum)
  return
}
#scale = loc("scale")
#sum = loc("sum")
