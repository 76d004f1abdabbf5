//===- FusedEpilogue.h - elementwise epilogues applied in registers -*- C++
//-*-===//
//
// A kernel that vector code computes (a register-tiled matmul, a depthwise
// convolution) often has one elementwise consumer: the bias, residual and
// activation that kernel-fuse-epilogues attached to it. The vector code
// applies that consumer to its accumulators before storing them, so the
// kernel's own result is never written to memory.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_LOWERING_FUSEDEPILOGUE_H
#define DLC_PASSES_LOWERING_FUSEDEPILOGUE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace dlc {

/// An elementwise linalg.generic over the iteration space of a kernel's
/// result that reads that result with the identity map.
struct FusedEpilogue {
  mlir::linalg::GenericOp op;
  mlir::Value product; ///< the kernel's result, an input of `op`
};

/// The epilogue `product` (a static f32 tensor) can carry: its only user, an
/// all-parallel generic with one output of the same type that reads
/// `product` with the identity map and does not read its output, whose
/// other inputs are f32 tensors read either along the innermost dimension
/// (their last index is the innermost loop) or independently of it, and
/// whose body is elementwise arith/math.
std::optional<FusedEpilogue> findFusedEpilogue(mlir::Value product);

/// The epilogue's body on one vector `acc` of the product: the elements at
/// `indices` (one per loop; the first lane's) and the next lanes along the
/// innermost dimension. Only the lanes `mask` enables are read (all when
/// `mask` is null; the caller guarantees they are in bounds).
mlir::Value applyFusedEpilogue(mlir::OpBuilder &b, mlir::Location loc,
                               const FusedEpilogue &epilogue, mlir::Value acc,
                               mlir::ValueRange indices, mlir::Value mask);

/// Whether `generic` is an accumulation out + in0 * in1 (its body reads its
/// two inputs and its output, in that role).
bool isMultiplyAccumulate(mlir::linalg::GenericOp generic);

} // namespace dlc

#endif // DLC_PASSES_LOWERING_FUSEDEPILOGUE_H
