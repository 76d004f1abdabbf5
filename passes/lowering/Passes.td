//===- Passes.td - passes between bufferization and LLVM ---*- tablegen -*-===//

#ifndef DLC_PASSES_LOWERING
#define DLC_PASSES_LOWERING

include "mlir/Pass/PassBase.td"

def MemRefCopyToLinalg : Pass<"memref-copy-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Rewrites memref.copy as a linalg copy so that it becomes loops";
  let description = [{
    The LLVM lowering of a memref.copy between non-contiguous views calls
    `memrefCopy` from MLIR's runner utilities, a library a standalone model
    must not need. As a linalg.generic the copy becomes plain loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def VectorizeMatmul : Pass<"vectorize-matmul", "mlir::func::FuncOp"> {
  let summary = "Register-tiled vector code for static 2-D linalg.matmul on tensors";
  let description = [{
    Rewrites C += A x B into loops over tiles of `rows` x (16 * `vectors`)
    elements of C, whose accumulators stay in vector registers across the
    whole reduction: for each k, the row of B is loaded once as vectors and
    each A element is broadcast and multiplied into it (outer products with
    fused multiply-adds). Columns past the end are masked; the rows past the
    last full tile use a one-row tile.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", "8", "Rows of C per register tile">,
    Option<"vectors", "vectors", "int64_t", "2",
           "16-wide vectors of C per register tile row">,
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"
  ];
}

#endif // DLC_PASSES_LOWERING
