//===- GraphToLinalgPatterns.h - graph op lowerings, by family --*- C++ -*-===//
//
// The patterns of the convert-graph-to-linalg pass, one file per op family.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H
#define DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H

namespace mlir {
class RewritePatternSet;
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
/// RNN, GRU and LSTM as loops over time steps.
void populateRecurrentToLinalgPatterns(mlir::RewritePatternSet &patterns);
} // namespace dlc

#endif // DLC_PASSES_CONVERSION_GRAPHTOLINALGPATTERNS_H
