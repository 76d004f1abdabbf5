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

def ChooseConvAlgorithm : Pass<"kernel-choose-conv-algorithm", "mlir::func::FuncOp"> {
  let summary = "Decides how each convolution is computed";
  let description = [{
    Sets the `algorithm` attribute of every kernel.conv2d that has none
    (Winograd, implicit GEMM, im2col packed or not, tiles along the filters,
    ...) from its shapes, its filter and the target's vector and matmul tile
    widths, the choice convert-kernel-to-linalg makes for a conv without
    it (dialects/kernel/ConvAlgorithm.h).
  }];
  let options = [
    Option<"tileWidth", "tile-width", "int64_t", "0",
           "The matmul kernel's register tile width (0: unknown)">,
    Option<"vectorWidth", "vector-width", "int64_t", "0",
           "f32 lanes per vector (0: unknown)">,
    Option<"filterTilesMin", "filter-tiles-min", "int64_t", "0",
           "Fewest filters for tiles along the filters (0: never)">,
    Option<"winograd", "winograd", "std::string", "\"off\"",
           "Winograd F(4x4, 3x3) for eligible convolutions: off, auto "
           "(where it is expected to be faster) or all">,
  ];
}

#endif // DLC_PASSES_KERNEL
