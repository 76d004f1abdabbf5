//===- KernelDialect.h - the kernel dialect ---------------------*- C++ -*-===//

#ifndef DLC_DIALECTS_KERNEL_KERNELDIALECT_H
#define DLC_DIALECTS_KERNEL_KERNELDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/kernel/KernelDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/kernel/KernelOps.h.inc"

namespace dlc::kernel {
/// True for the activation names kernel ops accept.
bool isKnownActivation(llvm::StringRef name);
} // namespace dlc::kernel

#endif // DLC_DIALECTS_KERNEL_KERNELDIALECT_H
