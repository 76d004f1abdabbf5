//===- Passes.h - passes between bufferization and LLVM ---------*- C++ -*-===//

#ifndef DLC_PASSES_LOWERING_PASSES_H
#define DLC_PASSES_LOWERING_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace dlc {
#define GEN_PASS_DECL
#include "passes/lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

#endif // DLC_PASSES_LOWERING_PASSES_H
