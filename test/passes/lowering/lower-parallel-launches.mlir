// RUN: dlc-opt %s -lower-parallel-launches | FileCheck %s

// The launcher packs its captures (a buffer and a scalar) into a stack frame
// and hands the frame, a task and the kernel's name to the thread pool; the
// task unpacks them and calls the body over its range.

// CHECK-LABEL: llvm.func @k_parallel_0(
llvm.func @k_parallel_0(%begin: i64, %end: i64, %buf: !llvm.ptr, %s: f32) {
  llvm.return
}
// CHECK-LABEL: llvm.func internal @k_parallel_0_task(
// CHECK-SAME: %[[FRAME:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK:   %[[P0:.*]] = llvm.getelementptr %[[FRAME]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, f32)>
// CHECK:   %[[BUF:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK:   %[[P1:.*]] = llvm.getelementptr %[[FRAME]][0, 1]
// CHECK:   %[[S:.*]] = llvm.load %[[P1]] : !llvm.ptr -> f32
// CHECK:   llvm.call @k_parallel_0(%[[BEGIN]], %[[END]], %[[BUF]], %[[S]])

// The kernel's name for the pool's profile.
// CHECK: llvm.mlir.global internal constant @k_parallel_0_launch_name("/block/conv\00")
// CHECK-LABEL: llvm.func internal @k_parallel_0_launch(
// CHECK-SAME: %[[UNITS:.*]]: i64, %[[MIN:.*]]: i64, %[[B:.*]]: !llvm.ptr, %[[X:.*]]: f32)
// CHECK-NOT: dlc.parallel_body
// CHECK:   %[[F:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, f32)>
// CHECK:   llvm.store %[[B]]
// CHECK:   llvm.store %[[X]]
// CHECK:   %[[TASK:.*]] = llvm.mlir.addressof @k_parallel_0_task
// CHECK:   %[[NAME:.*]] = llvm.mlir.addressof @k_parallel_0_launch_name
// CHECK:   llvm.call @dlc_pool_parallel_for(%[[TASK]], %[[F]], %[[UNITS]], %[[MIN]], %[[NAME]])
llvm.func @k_parallel_0_launch(i64, i64, !llvm.ptr, f32) attributes {dlc.parallel_body = @k_parallel_0, dlc.kernel_name = "/block/conv"}

// CHECK: llvm.func @dlc_pool_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr)
