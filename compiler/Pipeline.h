//===- Pipeline.h - which passes run, in which order ------------*- C++ -*-===//

#ifndef DLC_COMPILER_PIPELINE_H
#define DLC_COMPILER_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace dlc {

/// The stages a model passes through; `dlc --emit=<stage>` stops after one.
enum class Stage { Graph, Kernel, Linalg, LLVM };

/// Switches of the pipeline; the fusion switches exist to measure what each
/// fusion buys.
struct PipelineOptions {
  bool foldBatchNorm = true;
  bool fuseBias = true;
  bool fuseResidual = true;
  bool fuseActivation = true;
  /// Print the IR after every pass that changed it (debugging).
  bool printIRAfterChange = false;
};

/// The model's weights as compiled: the float constants left after the graph
/// and kernel stages (batch norms folded, transposes done).
struct ParameterStats {
  int64_t count = 0, bytes = 0;
};

/// Runs the passes that take an imported graph-dialect module to `stage`;
/// fills `parameters` when given and the kernel stage is reached.
mlir::LogicalResult lowerToStage(mlir::ModuleOp module, Stage stage,
                                 const PipelineOptions &options,
                                 ParameterStats *parameters = nullptr);

} // namespace dlc

#endif // DLC_COMPILER_PIPELINE_H
