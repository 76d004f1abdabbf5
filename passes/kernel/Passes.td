//===- Passes.td - kernel-stage passes ---------------------*- tablegen -*-===//

#ifndef DLC_PASSES_KERNEL
#define DLC_PASSES_KERNEL

include "mlir/Pass/PassBase.td"

def FuseEpilogues : Pass<"kernel-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "Fuses bias, residual add and activation into conv and matmul kernels";
  let description = [{
    Absorbs the single-use elementwise consumers of a kernel.conv2d or
    kernel.matmul into it, in the order the kernel applies them:
    + per-channel constant (bias), + same-shape tensor (residual, conv only),
    then one activation (relu, leaky_relu, clip, sigmoid, tanh). Each kind can
    be switched off to measure what it buys.
  }];
  let options = [
    Option<"fuseBias", "bias", "bool", "true", "Fuse constant bias adds">,
    Option<"fuseResidual", "residual", "bool", "true",
           "Fuse residual adds into conv2d">,
    Option<"fuseActivation", "activation", "bool", "true",
           "Fuse activations">,
  ];
  let dependentDialects = ["dlc::graph::GraphDialect"];
}

#endif // DLC_PASSES_KERNEL
