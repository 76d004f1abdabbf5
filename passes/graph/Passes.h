//===- Passes.h - graph-stage passes ----------------------------*- C++ -*-===//

#ifndef DLC_PASSES_GRAPH_PASSES_H
#define DLC_PASSES_GRAPH_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace dlc::graph {
#define GEN_PASS_DECL
#include "passes/graph/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

#endif // DLC_PASSES_GRAPH_PASSES_H
