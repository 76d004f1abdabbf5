//===- GraphShapes.cpp - shape rules shared by ops and lowerings ----------===//

#include "dialects/graph/GraphShapes.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"

using namespace llvm;

namespace dlc::graph {

std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                    ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l == 1)
      result[i] = r;
    else if (r == 1 || l == r)
      result[i] = l;
    else if (mlir::ShapedType::isDynamic(l) || mlir::ShapedType::isDynamic(r))
      result[i] = mlir::ShapedType::kDynamic;
    else
      return std::nullopt;
  }
  return result;
}

int64_t slidingWindowOutputSize(int64_t inputSize, int64_t kernel,
                                int64_t stride, int64_t padBegin,
                                int64_t padEnd, int64_t dilation,
                                bool ceilMode) {
  if (mlir::ShapedType::isDynamic(inputSize))
    return mlir::ShapedType::kDynamic;
  int64_t span = inputSize + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  int64_t out = span / stride + 1;
  if (ceilMode && span % stride != 0) {
    ++out;
    // The last window must start inside the input or the begin padding.
    if ((out - 1) * stride >= inputSize + padBegin)
      --out;
  }
  return out;
}

std::optional<EinsumSubscripts> parseEinsum(StringRef equation) {
  auto [lhs, output] = equation.split("->");
  if (!equation.contains("->"))
    return std::nullopt;
  EinsumSubscripts result;
  SmallVector<StringRef> inputs;
  lhs.split(inputs, ',');
  auto letters = [](StringRef s) {
    return llvm::all_of(s, [](char c) { return c >= 'a' && c <= 'z'; });
  };
  for (StringRef in : inputs) {
    if (!letters(in))
      return std::nullopt;
    result.inputs.push_back(in.str());
  }
  if (!letters(output))
    return std::nullopt;
  result.output = output.str();
  return result;
}

int64_t countPoolTaps(int64_t o, int64_t stride, int64_t padBegin,
                      int64_t kernel, int64_t dilation, int64_t lo,
                      int64_t hi) {
  int64_t count = 0;
  for (int64_t i = 0; i < kernel; ++i) {
    int64_t x = o * stride - padBegin + i * dilation;
    count += x >= lo && x < hi;
  }
  return count;
}

} // namespace dlc::graph
