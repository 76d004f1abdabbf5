//===- GraphToLinalgPatterns.h - graph op lowerings, by family --*- C++ -*-===//
//
// The patterns of the convert-graph-to-linalg pass, one file per op family.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H
#define DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H

namespace llvm {
class StringRef;
} // namespace llvm
#include "mlir/IR/OpDefinition.h"

namespace mlir {
class Location;
class OpBuilder;
class RewritePatternSet;
class Value;
} // namespace mlir

namespace dlc {
/// Elementwise arithmetic, comparisons, activations, math functions, casts.
void populateElementwiseToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// Reductions, softmax, batch and layer normalization, global pooling.
void populateNormalizationToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// Reshape, transpose, concat, pad, gather, slice, expand.
void populateDataMovementToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// Nearest, linear and cubic resizing.
void populateResizeToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// RNN, GRU and LSTM as loops over time steps; products whose rows (the
/// batch, the sequence times the batch) are known only at run time in tiles
/// of `rowTile` rows (0: one product of the run-time size).
void populateRecurrentToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                       int64_t rowTile = 0);
/// TopK of `input` along `axis`: the values and int64 indices of the `k`
/// largest (or smallest) elements, in order, equal values by lower index.
std::pair<mlir::Value, mlir::Value>
buildTopK(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
          int64_t axis, bool largest, mlir::OpFoldResult k);
/// How graph.resize and graph.runtime_resize interpolate (their
/// attributes of the same names).
struct ResizeMode {
  llvm::StringRef mode, coordinates, nearest;
  double cubicA;
  bool excludeOutside;
  template <typename Op> static ResizeMode of(Op op) {
    return {op.getMode(), op.getCoordinateMode(), op.getNearestMode(),
            op.getCubicA().convertToDouble(), op.getExcludeOutside()};
  }
};
/// Resizes the static f32 `input` into `init` (the result, static or not).
/// Per dim: `scales[d]`, output / input as an f64 value holding an f32, or
/// null where the dim reads straight through; `outSizes[d]`, the result's
/// size as an i64 value (two coordinate modes depend on it).
mlir::Value buildResize(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value input, mlir::Value init,
                        llvm::ArrayRef<mlir::Value> scales,
                        llvm::ArrayRef<mlir::Value> outSizes,
                        const ResizeMode &mode);
/// The graph.runtime_* ops: shapes computed from operand values at run time.
void populateRuntimeShapesToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// The scalar body of graph.unary's function `fn` (its names: "elu",
/// "softplus", ...) applied to `x`; also the recurrent ops' activations.
mlir::Value buildUnary(mlir::OpBuilder &b, mlir::Location l, mlir::Value x,
                       llvm::StringRef fn, double alpha, double beta,
                       double gamma);
} // namespace dlc

#endif // DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H
