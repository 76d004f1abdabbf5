//===- GraphDialect.h - the graph dialect -----------------------*- C++ -*-===//

#ifndef DLC_DIALECTS_GRAPH_GRAPHDIALECT_H
#define DLC_DIALECTS_GRAPH_GRAPHDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/graph/GraphDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/graph/GraphOps.h.inc"

namespace dlc::graph {

/// A sequence's table (the graph.runtime_sequence_* ops): a row per tensor
/// of its offset, its rank (at most kSequenceMaxRank) and its dims.
inline constexpr int64_t kSequenceMaxRank = 8;
inline constexpr int64_t kSequenceRowWidth = 2 + kSequenceMaxRank;

/// Replaces every graph.mode_select under `root` by its training operand
/// (a training step) or its inference one (a model's inference function,
/// or a compile without training).
void resolveModeSelects(mlir::Operation *root, bool training);

} // namespace dlc::graph

#endif // DLC_DIALECTS_GRAPH_GRAPHDIALECT_H
