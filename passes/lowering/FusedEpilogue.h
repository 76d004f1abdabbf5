//===- FusedEpilogue.h - elementwise epilogues applied in registers -*- C++
//-*-===//
//
// A kernel that vector code computes (a register-tiled matmul, a sliding
// window) often has one elementwise consumer: the bias, residual and
// activation that kernel-fuse-epilogues attached to it, or the transpose
// back to NCHW of a convolution computed as [pixels, filters]. The vector
// code applies that consumer to its accumulators and stores its result
// directly, so the kernel's own result is never written to memory.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_LOWERING_FUSEDEPILOGUE_H
#define DLC_PASSES_LOWERING_FUSEDEPILOGUE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

#include <optional>

namespace dlc {

/// An elementwise linalg.generic over the iteration space of a kernel's
/// result (up to a permutation) that reads that result.
struct FusedEpilogue {
  mlir::linalg::GenericOp op;
  mlir::Value product;        ///< the kernel's result, an input of `op`
  mlir::AffineMap productMap; ///< how `op` reads it: a permutation
};

/// The epilogue `product` (a static f32 tensor) can carry: its only user, an
/// all-parallel generic with one output, of the product's element count,
/// written with the identity map and not read, that reads `product` through
/// a permutation of its loops; its other inputs are f32 tensors read
/// through projected permutations, and its body is elementwise arith/math.
std::optional<FusedEpilogue> findFusedEpilogue(mlir::Value product);

/// The epilogue's body on one vector `acc` of the product: the product's
/// elements at `productIndices` (the first lane's) and the next ones along
/// its innermost dimension. Inputs are read as vectors where that dimension
/// is their innermost one, element by element where it is another, and as
/// one broadcast element where they do not depend on it. Only the lanes
/// `mask` enables are read (all when `mask` is null; the caller guarantees
/// they are in bounds).
mlir::Value applyFusedEpilogue(mlir::OpBuilder &b, mlir::Location loc,
                               const FusedEpilogue &epilogue, mlir::Value acc,
                               mlir::ValueRange productIndices,
                               mlir::Value mask);

/// Clones the ops of a linalg body of scalar arith/math ops as the same ops
/// on vectors of `lanes` lanes, after `mapping` maps the block arguments to
/// vectors: constants and values from outside the body are broadcast.
/// `skip` (may be null) is left out.
void cloneBodyOnVectors(mlir::OpBuilder &b, mlir::Block &body,
                        mlir::IRMapping &mapping, int64_t lanes,
                        mlir::Operation *skip = nullptr);

/// Writes `vec` (applyFusedEpilogue's result for `productIndices`) into
/// `dest`, the epilogue's output tensor; returns the updated tensor.
mlir::Value writeFusedEpilogue(mlir::OpBuilder &b, mlir::Location loc,
                               const FusedEpilogue &epilogue, mlir::Value vec,
                               mlir::Value dest,
                               mlir::ValueRange productIndices,
                               mlir::Value mask);

/// Where a vector kernel writes its result: the epilogue's output tensor
/// when it carries one, else `init`, the kernel's own; when `init` is a
/// constant fill (which the kernel starts from in registers and never reads),
/// the fill's destination, so that the fill is not run only to be
/// overwritten. The kernel must write every element.
mlir::Value kernelDestination(const std::optional<FusedEpilogue> &epilogue,
                              mlir::Value init);

/// Replaces the kernel op `kernel` (and its epilogue, when it carries one)
/// by `result`, the vector code's output, and erases them.
void replaceKernel(mlir::Operation *kernel,
                   const std::optional<FusedEpilogue> &epilogue,
                   mlir::Value result);

/// The constant a linalg.fill gave `init`, a kernel's accumulator, or null:
/// the vector code then starts its accumulators from it in registers.
mlir::Value constantFillValue(mlir::Value init);

/// Whether `generic` is an accumulation out + in0 * in1 (its body reads its
/// two inputs and its output, in that role).
bool isMultiplyAccumulate(mlir::linalg::GenericOp generic);

} // namespace dlc

#endif // DLC_PASSES_LOWERING_FUSEDEPILOGUE_H
