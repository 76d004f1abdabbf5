//===- GraphShapes.h - shape rules shared by ops and lowerings --*- C++ -*-===//
//
// The output-size arithmetic of the graph ops, in one place, so that the ops'
// shape inference, the importer and the lowerings agree.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DIALECTS_GRAPH_GRAPHSHAPES_H
#define DLC_DIALECTS_GRAPH_GRAPHSHAPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include <cstdint>
#include <optional>
#include <string>

namespace dlc::graph {

/// Numpy broadcasting of two shapes; nullopt when they do not broadcast.
/// Dynamic dims (ShapedType::kDynamic) broadcast to dynamic.
std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

/// Output length of a sliding window over `inputSize` elements.
/// floor((in + padBegin + padEnd - dilation*(kernel-1) - 1) / stride) + 1,
/// or rounded up with `ceilMode`, where (as ONNX and PyTorch do) a last window
/// that would start inside the end padding only is dropped.
int64_t slidingWindowOutputSize(int64_t inputSize, int64_t kernel,
                                int64_t stride, int64_t padBegin,
                                int64_t padEnd, int64_t dilation,
                                bool ceilMode);

/// How many taps of a pooling window at output position `o` fall inside the
/// counted range [lo, hi) of input coordinates (inputs start at 0; pads are
/// negative coordinates and those past the end): the divisor of an average
/// pool, [-padBegin, in + padEnd) with count_include_pad, [0, in) without.
int64_t countPoolTaps(int64_t o, int64_t stride, int64_t padBegin,
                      int64_t kernel, int64_t dilation, int64_t lo,
                      int64_t hi);

/// An explicit einsum equation split into per-input subscripts and the
/// output's ("ab,bc->ac" -> {"ab", "bc"}, "ac"); nullopt when malformed.
struct EinsumSubscripts {
  llvm::SmallVector<std::string> inputs;
  std::string output;
};
std::optional<EinsumSubscripts> parseEinsum(llvm::StringRef equation);

} // namespace dlc::graph

#endif // DLC_DIALECTS_GRAPH_GRAPHSHAPES_H
