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

#endif // DLC_PASSES_LOWERING
