//===- Passes.h - graph-stage passes ----------------------------*- C++ -*-===//

#ifndef DLC_PASSES_GRAPH_PASSES_H
#define DLC_PASSES_GRAPH_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace dlc::graph {
/// The losses graph-append-loss builds, as its `loss` option names them.
llvm::ArrayRef<llvm::StringRef> trainingLosses();
/// The optimizers graph-apply-optimizer builds, as its `optimizer` option
/// names them.
llvm::ArrayRef<llvm::StringRef> trainingOptimizers();

#define GEN_PASS_DECL
#include "passes/graph/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

#endif // DLC_PASSES_GRAPH_PASSES_H
