//===- Passes.td - graph-stage passes ----------------------*- tablegen -*-===//

#ifndef DLC_PASSES_GRAPH
#define DLC_PASSES_GRAPH

include "mlir/Pass/PassBase.td"

def InferShapes : Pass<"graph-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Refines every dynamic or stale result type to the inferred one";
  let description = [{
    Graph ops infer their result types from their operands. After an input
    type has been made static (e.g. a batch size fixed on the command line),
    this pass propagates the static shapes through the function, op by op, and
    updates the function's signature.
  }];
}

def FoldBatchNorm : Pass<"graph-fold-batch-norm", "mlir::func::FuncOp"> {
  let summary = "Folds inference batch_norm into the preceding conv2d";
  let description = [{
    batch_norm(conv(x, W) + b) = conv(x, W * s) + (b - mean) * s + beta with
    s = gamma / sqrt(var + eps), when W and the BN parameters are constants and
    the conv has no other user. Weights are rewritten at compile time.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // DLC_PASSES_GRAPH
