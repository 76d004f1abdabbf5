//===- Passes.td - conversions between dialects ------------*- tablegen -*-===//

#ifndef DLC_PASSES_CONVERSION
#define DLC_PASSES_CONVERSION

include "mlir/Pass/PassBase.td"

def GraphToKernel : Pass<"convert-graph-to-kernel", "mlir::func::FuncOp"> {
  let summary = "Turns compute-heavy graph ops (conv2d, matmul, pooling) into kernels";
  let dependentDialects = ["dlc::kernel::KernelDialect"];
}

def KernelToLinalg : Pass<"convert-kernel-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lowers kernel ops to linalg on tensors";
  let options = [
    Option<"packWidth", "pack-width", "int64_t", "0",
           "Pack convolutions' im2col matrices in panels of this many columns "
           "(the matmul kernel's tile width; 0: no packing)">,
    Option<"packVectorWidth", "pack-vector-width", "int64_t", "0",
           "Else in panels of this many (the kernel's vector width) when the "
           "output rows are a multiple of it">,
    Option<"filterTilesMin", "filter-tiles-min", "int64_t", "0",
           "Compute convolutions with a constant filter of at least this many "
           "filters (a multiple of pack-width) as [pixels, filters] products "
           "with the filter packed at compile time, when their pixels do not "
           "fill whole tiles or could not be packed (0: never)">,
    Option<"winograd", "winograd", "std::string", "\"off\"",
           "Compute 3x3 stride-1 convolutions with a constant filter and "
           "output sizes divisible by 4 by Winograd F(4x4, 3x3), with vectors "
           "of pack-vector-width lanes: off, auto (where it is expected to "
           "be faster) or all (less exact: see WinogradConv.h)">,
    Option<"rowTile", "row-tile", "int64_t", "0",
           "Compute matmuls whose row count is known only at run time in "
           "static tiles of this many rows, then the rest a row at a time "
           "(0: one product of the run-time size)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect"
  ];
}

def GraphToLinalg : Pass<"convert-graph-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lowers the remaining graph ops (elementwise, data movement) to linalg";
  let options = [
    Option<"rowTile", "row-tile", "int64_t", "0",
           "Compute the recurrent ops' products whose row count is known "
           "only at run time in static tiles of this many rows, then the "
           "rest a row at a time (0: one product of the run-time size)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
    "mlir::scf::SCFDialect"
  ];
}

#endif // DLC_PASSES_CONVERSION
