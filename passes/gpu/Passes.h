//===- Passes.h - passes of the CUDA target ---------------------*- C++ -*-===//

#ifndef DLC_PASSES_GPU_PASSES_H
#define DLC_PASSES_GPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace dlc {
#define GEN_PASS_DECL
#include "passes/gpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/gpu/Passes.h.inc"
} // namespace dlc

#endif // DLC_PASSES_GPU_PASSES_H
