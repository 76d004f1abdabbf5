//===- LinalgBuilders.h - helpers that build linalg on tensors --*- C++ -*-===//
//
// Shared by the lowerings of graph and kernel ops, so that an activation or a
// broadcast is built the same way wherever it appears.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_CONVERSION_LINALGBUILDERS_H
#define DLC_PASSES_CONVERSION_LINALGBUILDERS_H

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace dlc {

/// tensor.empty of `type`. Each dynamic dim takes its size from the first
/// of `sizeSources` (ranked tensors, dims aligned right as in broadcasting)
/// whose dim at that position is dynamic too: the operand that result dim
/// comes from. Without one the op lacks the size and fails verification.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type,
                        mlir::ValueRange sizeSources = {});

/// tensor.empty of `type` (sized as emptyTensor does) filled with `value`.
mlir::Value createFilled(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, double value,
                         mlir::ValueRange sizeSources = {});

/// The map from the iteration space of a rank-`resultRank` elementwise op to
/// an operand of shape `operandShape` under numpy broadcasting: operand dims
/// align right, and a size-1 dim reads index 0.
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx,
                             llvm::ArrayRef<int64_t> operandShape,
                             int64_t resultRank,
                             llvm::ArrayRef<int64_t> resultShape);

/// A linalg.generic computing `body` elementwise over broadcast `inputs`.
mlir::Value buildElementwise(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultType,
    mlir::ValueRange inputs,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);

/// Applies a named activation (see the kernel dialect) to scalar `x`.
mlir::Value applyActivation(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value x, llvm::StringRef name, float alpha,
                            float beta);

/// Applies an activation of ONNX's recurrent ops, by its ONNX name
/// ("Sigmoid", "HardSigmoid", ...), to scalar `x`.
mlir::Value applyRecurrentActivation(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::Value x, llvm::StringRef name,
                                     double alpha, double beta);

/// Whether applyRecurrentActivationDerivative needs the activation's input:
/// most derivatives follow from the output alone, which the gradient keeps
/// anyway.
bool recurrentActivationDerivativeNeedsInput(llvm::StringRef name,
                                             double alpha);

/// The derivative of applyRecurrentActivation at input `x`, given its output
/// `y` there; `x` may be null unless recurrentActivationDerivativeNeedsInput.
/// At a kink it takes the side PyTorch does (relu'(0) = 0).
mlir::Value applyRecurrentActivationDerivative(mlir::OpBuilder &b,
                                               mlir::Location loc,
                                               mlir::Value x, mlir::Value y,
                                               llvm::StringRef name,
                                               double alpha, double beta);

/// A scalar constant of `type` (float, integer or index).
mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Type type, double value);

/// A reduction over `axes` of `input` into a tensor that keeps those axes
/// with size 1, starting from `initValue` and combining with `combine`. The
/// accumulator (and result) has element type `accumulator` when given, the
/// input's otherwise.
///
/// With `merge` (combining two accumulators), a reduction of only the
/// innermost axis whose size is a multiple of 16 keeps 16 partial
/// accumulators, element k going to partial k mod 16, and merges them at
/// the end: the partials are a parallel dimension, so the loop vectorizes
/// (a single accumulator is a chain that LLVM may not reorder). The order of
/// the operations depends only on the shape.
mlir::Value buildKeepDimsReduction(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
    llvm::ArrayRef<int64_t> axes, double initValue,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::Value elem, mlir::Value acc)>
        combine,
    mlir::Type accumulator = {},
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::Value partial, mlir::Value acc)>
        merge = nullptr);

/// tensor.pad of `input` with `low`/`high` per dim and constant `value`;
/// `input` itself when every pad is zero.
mlir::Value padWithConstant(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value input, llvm::ArrayRef<int64_t> low,
                            llvm::ArrayRef<int64_t> high, double value);

/// lhs [M, K] x rhs [K, N] as a linalg.matmul (which vectorize-matmul
/// register-tiles when static) accumulating from zero, into `dest` when
/// given; M and N may be known only at run time.
mlir::Value zeroFilledMatmul(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value lhs, mlir::Value rhs,
                             mlir::Value dest = {});

/// lhs [M, K] x rhs [K, N] (K, N static) for an M known only at run time:
/// tiles of `rows` rows while whole ones remain, then whole tiles of rows/2,
/// rows/4, .. 2 rows (one each when `rows` is a power of two), and the last
/// rows one at a time, each a
/// static product finished by `finish` (an epilogue; may be null).
mlir::Value rowTiledMatmul(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs, mlir::Value rhs,
    int64_t rows,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value)> finish =
        nullptr);

/// tensor.expand_shape of `value` to `type` by `groups`, with the result's
/// `sizes`; a tensor.reshape where a group has several dynamic dims (which
/// MLIR 22's expand-strided-metadata cannot lower).
mlir::Value expandShape(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type, mlir::Value value,
                        llvm::ArrayRef<mlir::ReassociationIndices> groups,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// `value` with the same elements in shape `type`: any static pair, or
/// dims known only at run time where the result's k-th is the input's k-th
/// (graph.reshape's contract; null when the result has more of them).
mlir::Value reshapeTensor(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value value, mlir::RankedTensorType type);

} // namespace dlc

#endif // DLC_PASSES_CONVERSION_LINALGBUILDERS_H
