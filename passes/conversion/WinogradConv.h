//===- WinogradConv.h - F(4x4, 3x3) Winograd convolution --------*- C++ -*-===//
//
// Lavin and Gray's minimal filtering algorithm F(4x4, 3x3): each 4x4 block
// of a 3x3 stride-1 convolution's output is computed from a 6x6 input tile as
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.): elementwise product)
//
// 36 multiplications per channel pair instead of 144. Across channels the
// elementwise products become 36 independent matrix products [F, C] x
// [C, tiles], so the convolution costs a quarter of the multiply-adds plus
// two cheap transforms. Its rounding error is larger than a direct
// convolution's (the transforms scale values by up to 8 and 1/24); the
// corpus allows rtol 1e-3 for it (its models stay within 1e-4), and
// `dlc --winograd=off` keeps the direct kernels. A NaN or infinite input
// reaches all 16 outputs of the tiles whose 6x6 inputs hold it (NaN, where
// a direct convolution gives NaN or +-inf to the 3x3 outputs that read it):
// the transforms add and subtract it.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_CONVERSION_WINOGRADCONV_H
#define DLC_PASSES_CONVERSION_WINOGRADCONV_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace dlc {

/// The convolution of the (already padded) NCHW `input` with the constant
/// `filter` by F(4x4, 3x3), followed by activation(y + bias[f] +
/// residual[n, f, oh, ow]) (bias and residual may be null), as:
///   U [36, F, C]      the filter transform, a constant computed here;
///   V [36, C, N*T]    the input transform of every 6x6 tile (stride 4),
///                     vector code over `lanes` tiles at a time (gathers),
///                     one channel per parallel unit;
///   M = U x V         linalg.batch_matmul (register-tiled by
///                     vectorize-matmul);
///   Y                 the output transform with the epilogue applied,
///                     scattered into NCHW, one filter per parallel unit.
/// Requires what ConvAlgorithm.h's Winograd applicability checks (a vector
/// width, tensors under 2^31 elements); returns null when the filter is not
/// a dense constant.
mlir::Value buildWinogradConv(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value input, mlir::Value filter,
                              mlir::RankedTensorType resultType,
                              mlir::Value bias, mlir::Value residual,
                              llvm::StringRef activation, float alpha,
                              float beta, int64_t lanes);

} // namespace dlc

#endif // DLC_PASSES_CONVERSION_WINOGRADCONV_H
