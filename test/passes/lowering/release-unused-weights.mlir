// RUN: dlc-opt %s --pass-pipeline="builtin.module(release-unused-weights)" | FileCheck %s

// The weight blob a constant still uses keeps its bytes; the other (what a
// transform replaced) is freed, and nothing refers to it. What is freed, and
// that blobs of other names are left alone, is checked by dlc-weights-tests
// (test/unit/WeightsTest.cpp): LLVM's release builds count no pass
// statistics.

// CHECK: arith.constant dense_resource<dlc_weights> : tensor<2xf32>
// CHECK: dlc_weights: "0x080000000000803F00000040"
// CHECK-NOT: dlc_weights_1:
func.func @f() -> tensor<2xf32> {
  %0 = arith.constant dense_resource<dlc_weights> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      dlc_weights: "0x080000000000803F00000040",
      dlc_weights_1: "0x080000000000404000008040",
      someone_else: "0x080000000000404000008040"
    }
  }
#-}
