//===- Passes.h - kernel-stage passes ---------------------------*- C++ -*-===//

#ifndef DLC_PASSES_KERNEL_PASSES_H
#define DLC_PASSES_KERNEL_PASSES_H

#include "dialects/graph/GraphDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace dlc::kernel {
#define GEN_PASS_DECL
#include "passes/kernel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/kernel/Passes.h.inc"
} // namespace dlc::kernel

#endif // DLC_PASSES_KERNEL_PASSES_H
