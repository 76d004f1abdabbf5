//===- Weights.h - large constants in releasable blobs ----------*- C++ -*-===//
//
// A model's weights are its large constants, and the compile transforms
// most of them: batch norm folds into the convolution filters, the filters
// are packed in panels or Winograd-transformed. A dense attribute lives as
// long as its MLIR context, so every version of every filter would stay in
// memory until the compile ends. Large constants are therefore made as
// dense_resource attributes whose blob (builtin dialect resources) holds the
// bytes, and release-unused-weights frees the blobs a module no longer uses
// after each stage: a compile holds about one version of the weights at a
// time (issue 10's bound on its memory).
//
// Blobs made here are named "dlc_weights" (uniqued with a suffix). A module
// owns the blobs of its weights: another module of the same context must not
// share them past a stage that releases them.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DIALECTS_GRAPH_WEIGHTS_H
#define DLC_DIALECTS_GRAPH_WEIGHTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlc::graph {

/// Constants of at least this many bytes are made as weight blobs; smaller
/// ones (shapes, scalars, biases of small layers) stay dense attributes,
/// which folders and the printer read directly.
constexpr int64_t kWeightBlobBytes = 64 * 1024;

/// The bytes of a constant tensor as it lays them out in memory (row-major,
/// host byte order). `splat`: `data` holds one element that fills the
/// tensor.
struct ConstantBytes {
  llvm::ArrayRef<char> data;
  bool splat = false;
};

/// The bytes of `attr`, a dense or weight-blob constant of integers or
/// floats whose width is a whole number of bytes; nullopt for anything else
/// (i1, strings, a released blob).
std::optional<ConstantBytes> constantBytes(mlir::Attribute attr);

/// `attr` as a dense attribute: itself, or a dense copy of a weight blob (for
/// the folders, which compute with DenseElementsAttr; the copy lives as long
/// as the context). Null when `attr` is neither.
mlir::DenseElementsAttr denseElements(mlir::Attribute attr);

/// The float32 values of a dense or weight-blob constant of f32, splats
/// expanded; nullopt for anything else.
std::optional<std::vector<float>> float32Values(mlir::Attribute attr);

/// A constant of `type` with `bytes` (its memory layout, moved in): a weight
/// blob when it has at least kWeightBlobBytes, a dense attribute otherwise.
/// `bytes` must hold exactly the type's elements (whole-byte widths only).
mlir::ElementsAttr makeWeights(mlir::RankedTensorType type,
                               std::string &&bytes);
/// makeWeights of float32 values.
mlir::ElementsAttr makeWeights(mlir::RankedTensorType type,
                               llvm::ArrayRef<float> values);

/// Frees the blob of every weight constant that nothing in `module`
/// references any more (the blobs of this context named "dlc_weights..."):
/// their data goes, their (unused) attributes stay. Returns the bytes freed.
uint64_t releaseUnusedWeights(mlir::ModuleOp module);

} // namespace dlc::graph

#endif // DLC_DIALECTS_GRAPH_WEIGHTS_H
