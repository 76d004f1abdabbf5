//===- Outlining.h - moving a kernel's loops into a function ----*- C++ -*-===//
//
// What parallelize-loops (a kernel's outer loop as a thread-pool task) and
// outline-kernels (a serial kernel as a function of its own) share: which
// values the outlined code recreates and which it takes as arguments, and
// what LLVM may assume about those arguments.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_LOWERING_OUTLINING_H
#define DLC_PASSES_LOWERING_OUTLINING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

#include <optional>
#include <string>

namespace dlc {

/// The ONNX node an op comes from: the first name in its location.
std::string nodeName(mlir::Location loc);

/// `name` as a C identifier fragment, so that profilers name the outlined
/// kernels after the model's nodes: `forward__conv1_Conv_parallel_3`.
std::string identifierFragment(std::string name);

/// Whether `op` may be recreated inside outlined code: it has results, no
/// regions and no side effects (constants, views, globals' addresses, index
/// arithmetic).
bool isSinkable(mlir::Operation *op);

/// A buffer plan-workspace placed in a function's workspace: a memref.view
/// of an argument at a constant byte offset, of a static identity-layout
/// type. Returns its bytes [begin, end), or nullopt.
std::optional<std::pair<int64_t, int64_t>> workspaceBuffer(mlir::Value v);

/// The values outlined code uses from outside (`used`), split into ops to
/// recreate inside the outlined function (side-effect-free ops without regions:
/// constants, views, globals' addresses, index arithmetic; workspace buffers
/// excepted) and values to pass as arguments. Fails when an argument would be a
/// type the bare-pointer calling convention cannot pass (a dynamic or strided
/// memref, a vector).
mlir::LogicalResult collectCaptures(llvm::ArrayRef<mlir::Value> used,
                                    llvm::SetVector<mlir::Operation *> &sunk,
                                    llvm::SetVector<mlir::Value> &captures);

/// Clones `sunk` at the builder's insertion point, each after the sunk ops
/// its operands come from, recording the copies in `mapping`.
void cloneSunkOps(mlir::OpBuilder &b,
                  const llvm::SetVector<mlir::Operation *> &sunk,
                  mlir::IRMapping &mapping);

/// Marks the outlined function's workspace-buffer arguments (captures[i] is
/// argument firstCapture + i) `llvm.noalias` when no other argument or
/// recreated value reaches the same bytes: LLVM then knows that a kernel's
/// input and output buffers are distinct (views of one workspace pointer, at
/// offsets it cannot always compare) and vectorizes loops that read one and
/// write another.
void markDisjointBuffers(mlir::func::FuncOp body,
                         const llvm::SetVector<mlir::Value> &captures,
                         const llvm::SetVector<mlir::Operation *> &sunk,
                         unsigned firstCapture);

} // namespace dlc

#endif // DLC_PASSES_LOWERING_OUTLINING_H
