//===- ConvAlgorithm.h - how a kernel.conv2d is computed --------*- C++ -*-===//
//
// kernel.conv2d's `algorithm` attribute names the way convert-kernel-to-linalg
// computes the convolution. kernel-choose-conv-algorithm sets it from the
// shapes, the filter (constant or not) and the target's vector and matmul
// tile widths, so that `dlc --emit=kernel` shows each decision; a conv
// without the attribute is lowered with the same choice.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DIALECTS_KERNEL_CONVALGORITHM_H
#define DLC_DIALECTS_KERNEL_CONVALGORITHM_H

#include "dialects/kernel/KernelDialect.h"

#include <optional>
#include <string>

namespace dlc::kernel {

enum class ConvAlgorithm {
  /// Winograd F(4x4, 3x3): 3x3, stride 1, one group, constant filter.
  Winograd,
  /// A matrix product that reads the padded input where im2col columns
  /// would be: stride 1 along rows, output rows a multiple of the vector
  /// width, pixels a multiple of the matmul tile width.
  ImplicitGemm,
  /// The same for stride 2 along rows: two stride-1 products over the
  /// input's even and odd columns (constant filter, split at compile time).
  ImplicitGemmParity,
  /// [pixels, filters] = im2col^T x the filter packed at compile time: one
  /// image, many filters, pixels that do not fill the tiles.
  FilterTiles,
  /// im2col packed in panels of the tile (or vector) width: output rows a
  /// multiple of it.
  Im2colPacked,
  /// A plain im2col copy and matrix product.
  Im2col,
  /// A 1x1 stride-1 convolution of one image: the input is the matrix.
  Pointwise,
  /// Depthwise: vector code along output rows (stride 1 or 2 along rows).
  DepthwiseRows,
  /// Other grouped convolutions: loops over the window.
  Grouped,
};

llvm::StringRef stringifyConvAlgorithm(ConvAlgorithm algorithm);
std::optional<ConvAlgorithm> symbolizeConvAlgorithm(llvm::StringRef name);
/// Every algorithm's name, comma-separated (for diagnostics).
std::string convAlgorithmNames();

/// What the target's kernels need of a convolution.
struct ConvTarget {
  int64_t tileWidth = 0;        ///< matmul register tile width (0: unknown)
  int64_t vectorWidth = 0;      ///< f32 lanes per vector (0: unknown)
  int64_t filterTilesMin = 0;   ///< fewest filters for FilterTiles (0: never)
  std::string winograd = "off"; ///< off, auto or all
};

/// The algorithm convert-kernel-to-linalg uses for `op` on `target`.
ConvAlgorithm chooseConvAlgorithm(Conv2dOp op, const ConvTarget &target);

/// Whether `algorithm` can compute `op` on `target`; if not, why.
std::optional<std::string> convAlgorithmInapplicable(Conv2dOp op,
                                                     ConvAlgorithm algorithm,
                                                     const ConvTarget &target);

/// The im2col panel width of an Im2colPacked conv: the tile width when the
/// output rows are a multiple of it, else the vector width.
int64_t im2colPanelWidth(Conv2dOp op, const ConvTarget &target);

/// Whether Winograd F(4x4, 3x3) is expected to beat the direct kernels on
/// an eligible convolution (see ConvAlgorithm.cpp for the measurements).
bool isWinogradProfitable(Conv2dOp op);

} // namespace dlc::kernel

#endif // DLC_DIALECTS_KERNEL_CONVALGORITHM_H
