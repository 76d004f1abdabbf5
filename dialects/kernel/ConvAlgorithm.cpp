//===- ConvAlgorithm.cpp - how a kernel.conv2d is computed ----------------===//

#include "dialects/kernel/ConvAlgorithm.h"

#include "dialects/graph/Weights.h"

#include "mlir/IR/Matchers.h"

#include "llvm/ADT/StringExtras.h"

#include <limits>

using namespace mlir;

namespace dlc::kernel {

namespace {

constexpr std::pair<ConvAlgorithm, llvm::StringLiteral> kNames[] = {
    {ConvAlgorithm::Winograd, "winograd"},
    {ConvAlgorithm::ImplicitGemm, "implicit_gemm"},
    {ConvAlgorithm::ImplicitGemmParity, "implicit_gemm_parity"},
    {ConvAlgorithm::FilterTiles, "filter_tiles"},
    {ConvAlgorithm::Im2colPacked, "im2col_packed"},
    {ConvAlgorithm::Im2col, "im2col"},
    {ConvAlgorithm::Pointwise, "pointwise"},
    {ConvAlgorithm::DepthwiseRows, "depthwise_rows"},
    {ConvAlgorithm::Grouped, "grouped"},
};

/// The facts about a convolution that the algorithms depend on.
struct ConvShape {
  RankedTensorType filter, result;
  int64_t paddedH, paddedW; ///< input rows and columns with the padding
  ArrayRef<int64_t> strides, dilations;
  int64_t group, channels;
  bool constantFilter;

  explicit ConvShape(Conv2dOp op)
      : filter(op.getFilter().getType()), result(op.getType()),
        strides(op.getStrides()), dilations(op.getDilations()),
        group(op.getGroup()), channels(op.getInput().getType().getDimSize(1)) {
    auto in = op.getInput().getType();
    ArrayRef<int64_t> pads = op.getPads();
    paddedH = in.getDimSize(2) + pads[0] + pads[2];
    paddedW = in.getDimSize(3) + pads[1] + pads[3];
    // The builders that transform the filter at compile time read its
    // bytes: a dense constant or a weight blob (not an elided one, as
    // `--emit=kernel` prints large constants).
    Attribute constant;
    constantFilter = filter.getElementType().isF32() &&
                     filter.hasStaticShape() &&
                     matchPattern(op.getFilter(), m_Constant(&constant)) &&
                     dlc::graph::constantBytes(constant).has_value();
  }

  int64_t images() const { return result.getDimSize(0); }
  int64_t filters() const { return result.getDimSize(1); }
  int64_t oh() const { return result.getDimSize(2); }
  int64_t ow() const { return result.getDimSize(3); }

  /// 1x1, stride 1, one image: the input is the product's matrix.
  bool readsInputDirectly() const {
    return filter.getDimSize(2) == 1 && filter.getDimSize(3) == 1 &&
           strides[0] == 1 && strides[1] == 1 && paddedH == oh() &&
           paddedW == ow() && images() == 1;
  }

  /// Output rows of whole panels of `w` columns: each panel is consecutive
  /// pixels of one output row.
  bool packsIntoRowPanels(int64_t w) const { return w > 0 && ow() % w == 0; }

  /// Implicit GEMM with horizontal stride `strideW`: 1 along rows, output
  /// rows a multiple of the vector width, pixels of the tile width.
  bool isImplicitGemm(const ConvTarget &target, int64_t strideW) const {
    int64_t pixels = images() * oh() * ow();
    return target.tileWidth > 0 && target.vectorWidth > 0 && strideW == 1 &&
           ow() % target.vectorWidth == 0 && pixels % target.tileWidth == 0;
  }

  /// [pixels, filters] tiles: one image, a constant filter of at least
  /// filterTilesMin filters that fill whole tiles, and pixels that do not
  /// (or an im2col matrix that could not be packed).
  bool usesFilterTiles(const ConvTarget &target, bool packed) const {
    int64_t w = target.tileWidth;
    if (w <= 0 || target.filterTilesMin <= 0 ||
        filters() < target.filterTilesMin || filters() % w != 0 ||
        images() != 1 || !constantFilter)
      return false;
    return (oh() * ow()) % w != 0 || (!readsInputDirectly() && !packed);
  }

  bool isWinogradEligible(const ConvTarget &target) const {
    // The transforms address the input and result with 32-bit offsets.
    constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();
    return target.vectorWidth > 0 && group == 1 && constantFilter &&
           filter.getDimSize(2) == 3 && filter.getDimSize(3) == 3 &&
           strides[0] == 1 && strides[1] == 1 && dilations[0] == 1 &&
           dilations[1] == 1 && result.getNumElements() > 0 &&
           result.getNumElements() <= kMaxElements &&
           images() * channels * (paddedH + 3) * (paddedW + 3) <= kMaxElements;
  }

  /// Implicit GEMM over the input's even and odd columns: stride 2 and
  /// dilation 1 along rows, a constant filter (split at compile time).
  bool isImplicitGemmParity(const ConvTarget &target) const {
    return strides[1] == 2 && dilations[1] == 1 && constantFilter &&
           isImplicitGemm(target, 1);
  }

  /// The im2col panel width: the tile width when the output rows are a
  /// multiple of it, else the vector width, else 0.
  int64_t panelWidth(const ConvTarget &target) const {
    for (int64_t w : {target.tileWidth, target.vectorWidth})
      if (packsIntoRowPanels(w))
        return w;
    return 0;
  }

  bool isWinogradProfitable() const {
    // Measured on resnet18, vgg_small_b8 and cnn_bn (AMD EPYC, AVX-512): 32
    // or more input channels (with 3 the transforms cost more than the
    // products save: vgg_small_b8's first conv 0.08 -> 0.21 ms) and 16 or
    // more output tiles (cnn_bn's 8x8 conv of one image, 4 tiles, 0.15 ->
    // 0.22 ms: the 36 transformed filter matrices are read for too few
    // columns).
    int64_t tiles =
        images() * llvm::divideCeil(oh(), 4) * llvm::divideCeil(ow(), 4);
    return channels >= 32 && tiles >= 16;
  }

  bool isDepthwiseRows() const {
    return group == channels && group == filters() &&
           filter.getDimSize(1) == 1 && strides[1] <= 2;
  }
};

} // namespace

llvm::StringRef stringifyConvAlgorithm(ConvAlgorithm algorithm) {
  for (auto [value, name] : kNames)
    if (value == algorithm)
      return name;
  llvm_unreachable("every algorithm has a name");
}

std::optional<ConvAlgorithm> symbolizeConvAlgorithm(llvm::StringRef name) {
  for (auto [value, known] : kNames)
    if (known == name)
      return value;
  return std::nullopt;
}

std::string convAlgorithmNames() {
  SmallVector<StringRef> names;
  for (auto [value, name] : kNames)
    names.push_back(name);
  return llvm::join(names, ", ");
}

bool isWinogradProfitable(Conv2dOp op) {
  return ConvShape(op).isWinogradProfitable();
}

int64_t im2colPanelWidth(Conv2dOp op, const ConvTarget &target) {
  return ConvShape(op).panelWidth(target);
}

ConvAlgorithm chooseConvAlgorithm(Conv2dOp op, const ConvTarget &target) {
  ConvShape shape(op);
  if (target.winograd != "off" && shape.isWinogradEligible(target) &&
      (target.winograd == "all" || shape.isWinogradProfitable()))
    return ConvAlgorithm::Winograd;
  if (shape.group != 1)
    return shape.isDepthwiseRows() ? ConvAlgorithm::DepthwiseRows
                                   : ConvAlgorithm::Grouped;
  bool direct = shape.readsInputDirectly();
  bool packed = !direct && shape.panelWidth(target) > 0;
  if (shape.usesFilterTiles(target, packed))
    return ConvAlgorithm::FilterTiles;
  if (!direct && shape.isImplicitGemm(target, shape.strides[1]))
    return ConvAlgorithm::ImplicitGemm;
  if (!direct && shape.isImplicitGemmParity(target))
    return ConvAlgorithm::ImplicitGemmParity;
  if (packed)
    return ConvAlgorithm::Im2colPacked;
  if (direct)
    return ConvAlgorithm::Pointwise;
  return ConvAlgorithm::Im2col;
}

std::optional<std::string> convAlgorithmInapplicable(Conv2dOp op,
                                                     ConvAlgorithm algorithm,
                                                     const ConvTarget &target) {
  ConvShape shape(op);
  bool grouped = algorithm == ConvAlgorithm::DepthwiseRows ||
                 algorithm == ConvAlgorithm::Grouped;
  if (shape.group != 1 && !grouped)
    return std::string("it is for convolutions of one group");
  if (shape.group == 1 && grouped)
    return std::string("it is for grouped convolutions");
  switch (algorithm) {
  case ConvAlgorithm::Winograd:
    if (!shape.isWinogradEligible(target))
      return std::string("it needs a constant f32 3x3 filter, stride and "
                         "dilation 1, under 2^31 elements and a vector "
                         "width");
    break;
  case ConvAlgorithm::ImplicitGemm:
    if (shape.readsInputDirectly() ||
        !shape.isImplicitGemm(target, shape.strides[1]))
      return std::string("it needs stride 1 along rows, output rows a "
                         "multiple of the vector width and pixels of the "
                         "tile width");
    break;
  case ConvAlgorithm::ImplicitGemmParity:
    if (!shape.isImplicitGemmParity(target))
      return std::string("it needs stride 2 and dilation 1 along rows, a "
                         "constant filter, output rows a multiple of the "
                         "vector width and pixels of the tile width");
    break;
  case ConvAlgorithm::FilterTiles:
    if (!shape.constantFilter || shape.images() != 1 || target.tileWidth <= 0 ||
        shape.filters() % target.tileWidth != 0)
      return std::string("it needs one image and a constant filter of whole "
                         "tiles of filters");
    break;
  case ConvAlgorithm::Im2colPacked:
    if (shape.readsInputDirectly() || shape.panelWidth(target) == 0)
      return std::string("it needs output rows a multiple of the tile or "
                         "vector width");
    break;
  case ConvAlgorithm::Pointwise:
    if (!shape.readsInputDirectly())
      return std::string("it needs a 1x1 stride-1 unpadded convolution of one "
                         "image");
    break;
  case ConvAlgorithm::DepthwiseRows:
    if (!shape.isDepthwiseRows())
      return std::string("it needs one filter per channel and a stride of 1 "
                         "or 2 along rows");
    break;
  case ConvAlgorithm::Im2col:
  case ConvAlgorithm::Grouped:
    break;
  }
  return std::nullopt;
}

} // namespace dlc::kernel
