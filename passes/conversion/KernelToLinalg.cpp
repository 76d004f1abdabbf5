//===- KernelToLinalg.cpp - kernel ops to linalg on tensors ---------------===//

#include "passes/conversion/Passes.h"

#include "dialects/graph/GraphShapes.h"
#include "dialects/graph/Weights.h"
#include "dialects/kernel/ConvAlgorithm.h"
#include "dialects/kernel/KernelDialect.h"
#include "passes/conversion/LinalgBuilders.h"
#include "passes/conversion/WinogradConv.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace dlc {
#define GEN_PASS_DEF_KERNELTOLINALG
#include "passes/conversion/Passes.h.inc"
} // namespace dlc

using namespace mlir;
namespace kernel = dlc::kernel;

namespace {

/// activation(acc + bias[channel] + residual), elementwise over `acc`.
Value buildEpilogue(OpBuilder &b, Location loc, Value acc, Value bias,
                    int64_t channelDim, Value residual, StringRef activation,
                    float alpha, float beta) {
  if (!bias && !residual && activation == "none")
    return acc;
  auto type = cast<RankedTensorType>(acc.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> inputs = {acc};
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx)));
  }
  if (residual) {
    inputs.push_back(residual);
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = dlc::emptyTensor(b, loc, type, acc);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  bool hasBias = static_cast<bool>(bias);
  bool hasResidual = static_cast<bool>(residual);
  auto generic = linalg::GenericOp::create(
      b, loc, type, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = args[0];
        unsigned next = 1;
        if (hasBias)
          x = arith::AddFOp::create(nb, nloc, x, args[next++]);
        if (hasResidual)
          x = arith::AddFOp::create(nb, nloc, x, args[next++]);
        x = dlc::applyActivation(nb, nloc, x, activation, alpha, beta);
        linalg::YieldOp::create(nb, nloc, x);
      });
  return generic.getResult(0);
}

/// The body of a multiply-accumulate generic: out += in0 * in1.
void yieldMultiplyAdd(OpBuilder &b, Location loc, ValueRange args) {
  Value product = arith::MulFOp::create(b, loc, args[0], args[1]);
  Value sum = arith::AddFOp::create(b, loc, args[2], product);
  linalg::YieldOp::create(b, loc, sum);
}

/// A grouped direct convolution as one linalg.generic over
/// (n, g, fg, c, kh, kw, oh, ow): output width innermost, so that the loops
/// it becomes read input and output rows contiguously (vectorizable), with
/// the filter tap invariant. Input [N, G*C, H, W] (already padded), filter
/// [G*FG, C, KH, KW], result [N, G*FG, OH, OW].
Value buildDirectConv(OpBuilder &b, Location loc, Value input, Value filter,
                      RankedTensorType resultType, ArrayRef<int64_t> strides,
                      ArrayRef<int64_t> dilations, int64_t group) {
  MLIRContext *ctx = b.getContext();
  auto inType = cast<RankedTensorType>(input.getType());
  auto filterType = cast<RankedTensorType>(filter.getType());
  Type elem = inType.getElementType();
  int64_t channels = inType.getDimSize(1), filters = filterType.getDimSize(0);
  auto groupedIn = RankedTensorType::get(
      {inType.getDimSize(0), group, channels / group, inType.getDimSize(2),
       inType.getDimSize(3)},
      elem);
  auto groupedFilter = RankedTensorType::get(
      {group, filters / group, filterType.getDimSize(1),
       filterType.getDimSize(2), filterType.getDimSize(3)},
      elem);
  auto groupedOut = RankedTensorType::get(
      {resultType.getDimSize(0), group, filters / group,
       resultType.getDimSize(2), resultType.getDimSize(3)},
      elem);
  Value in = tensor::ExpandShapeOp::create(
      b, loc, groupedIn, input,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  Value w = tensor::ExpandShapeOp::create(
      b, loc, groupedFilter, filter,
      ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
  Value init = dlc::createFilled(b, loc, groupedOut, 0.0);

  AffineExpr n, g, fg, c, kh, kw, oh, ow;
  bindDims(ctx, n, g, fg, c, kh, kw, oh, ow);
  SmallVector<AffineMap> maps = {
      AffineMap::get(8, 0,
                     {n, g, c, oh * strides[0] + kh * dilations[0],
                      ow * strides[1] + kw * dilations[1]},
                     ctx),
      AffineMap::get(8, 0, {g, fg, c, kh, kw}, ctx),
      AffineMap::get(8, 0, {n, g, fg, oh, ow}, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel,  IteratorType::parallel,  IteratorType::parallel,
      IteratorType::reduction, IteratorType::reduction, IteratorType::reduction,
      IteratorType::parallel,  IteratorType::parallel};
  auto conv = linalg::GenericOp::create(
      b, loc, groupedOut, ValueRange{in, w}, init, maps, iterators,
      yieldMultiplyAdd);
  return tensor::CollapseShapeOp::create(
      b, loc, resultType, conv.getResult(0),
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
}

/// A depthwise convolution as one linalg.generic over (n, c, oh, ow, kh, kw):
/// the taps innermost, the form vectorize-sliding-window turns into vector
/// code along output rows. Input [N, C, H, W] (already padded), filter
/// [C, 1, KH, KW], result [N, C, OH, OW].
Value buildDepthwiseConv(OpBuilder &b, Location loc, Value input, Value filter,
                         RankedTensorType resultType,
                         ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> dilations) {
  MLIRContext *ctx = b.getContext();
  AffineExpr n, c, oh, ow, kh, kw;
  bindDims(ctx, n, c, oh, ow, kh, kw);
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0,
                     {n, c, oh * strides[0] + kh * dilations[0],
                      ow * strides[1] + kw * dilations[1]},
                     ctx),
      AffineMap::get(6, 0, {c, getAffineConstantExpr(0, ctx), kh, kw}, ctx),
      AffineMap::get(6, 0, {n, c, oh, ow}, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators(4, IteratorType::parallel);
  iterators.append(2, IteratorType::reduction);
  Value init = dlc::createFilled(b, loc, resultType, 0.0);
  return linalg::GenericOp::create(b, loc, resultType, ValueRange{input, filter},
                                   init, maps, iterators, yieldMultiplyAdd)
      .getResult(0);
}

/// The epilogue of a kernel: activation(acc + bias + residual).
struct Epilogue {
  Value bias, residual;
  StringRef activation;
  float alpha, beta;
};

/// A tensor of `type` whose element at each index is input[inputMap(index)]:
/// an im2col copy. With `outputMap` the loops run in another order than the
/// result's dims (the result's index is outputMap(loops)).
Value buildGather(OpBuilder &b, Location loc, Value input,
                  RankedTensorType type, AffineMap inputMap,
                  AffineMap outputMap = AffineMap()) {
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  unsigned rank = type.getRank();
  if (!outputMap)
    outputMap = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  return linalg::GenericOp::create(
             b, loc, type, input, init, {inputMap, outputMap},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc, args[0]);
             })
      .getResult(0);
}

/// The im2col matrix packed in panels of `w` columns, [P / w, K, w]: panel t
/// holds columns [t*w, t*w + w) of col[K, P], each k row contiguous, so that
/// the matrix product reads a panel as one stream instead of K rows N*OH*OW
/// apart (a page each for a large image). Requires packsIntoRowPanels: a
/// panel is part of one output row, found from t alone; within it, the w
/// columns read the input contiguously (stride 1).
Value buildPackedIm2col(OpBuilder &b, Location loc, Value input,
                        RankedTensorType filterType,
                        RankedTensorType resultType, ArrayRef<int64_t> strides,
                        ArrayRef<int64_t> dilations, int64_t w) {
  MLIRContext *ctx = b.getContext();
  Type elem = cast<RankedTensorType>(input.getType()).getElementType();
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  int64_t p = resultType.getDimSize(0) * oh * ow;
  int64_t c = filterType.getDimSize(1), kh = filterType.getDimSize(2),
          kw = filterType.getDimSize(3);
  int64_t panelsPerRow = ow / w;
  AffineExpr dt, dc, dkh, dkw, dj;
  bindDims(ctx, dt, dc, dkh, dkw, dj);
  AffineExpr image = dt.floorDiv(oh * panelsPerRow);
  AffineExpr row = dt.floorDiv(panelsPerRow) % oh;
  AffineExpr column = (dt % panelsPerRow) * w + dj;
  Value packed = buildGather(
      b, loc, input, RankedTensorType::get({p / w, c, kh, kw, w}, elem),
      AffineMap::get(5, 0,
                     {image, dc, row * strides[0] + dkh * dilations[0],
                      column * strides[1] + dkw * dilations[1]},
                     ctx));
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({p / w, c * kh * kw, w}, elem), packed,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}, {4}});
}

/// The product of an implicit-GEMM convolution, C[F, N*OH*OW]: a generic
/// over (f, p, c, kh, kw) reading the filter [F, C, KH, KW] and the padded
/// input at In[n, c, oh*SH + kh*DH, ow + kw*DW] for pixel p = (n, oh, ow);
/// vectorize-matmul reads the input rows as the matmul's B vectors. No
/// im2col copy is made.
Value buildImplicitGemmConv(OpBuilder &b, Location loc, Value input,
                            Value filter, RankedTensorType resultType,
                            ArrayRef<int64_t> strides,
                            ArrayRef<int64_t> dilations,
                            Value accumulator = Value()) {
  MLIRContext *ctx = b.getContext();
  int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1);
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  AffineExpr df, dp, dc, dkh, dkw;
  bindDims(ctx, df, dp, dc, dkh, dkw);
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {df, dc, dkh, dkw}, ctx),
      AffineMap::get(5, 0,
                     {dp.floorDiv(oh * ow), dc,
                      (dp.floorDiv(ow) % oh) * strides[0] + dkh * dilations[0],
                      dp % ow + dkw * dilations[1]},
                     ctx),
      AffineMap::get(5, 0, {df, dp}, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
      IteratorType::reduction, IteratorType::reduction};
  auto productType =
      RankedTensorType::get({f, n * oh * ow}, resultType.getElementType());
  Value init = accumulator ? accumulator
                           : dlc::createFilled(b, loc, productType, 0.0);
  return linalg::GenericOp::create(b, loc, productType,
                                   ValueRange{filter, input}, init, maps,
                                   iterators, yieldMultiplyAdd)
      .getResult(0);
}

/// A convolution with stride 2 along rows as two with stride 1, for
/// implicit GEMM: the (padded) input's even and odd columns, In_q[n, c, h,
/// j] = In[n, c, h, 2j + q], convolved with the filter's even and odd
/// columns, W_q[f, c, kh, j] = W[f, c, kh, 2j + q] (split at compile time),
/// the second product accumulating onto the first. Every vector then reads
/// contiguous input. (One conv over 2C interleaved channels would need a
/// zero tap for odd KW, and 0 * inf in a column no window reads is NaN.)
/// Returns the product [F, N*OH*OW], or null, building nothing, unless the
/// filter is a constant f32 tensor.
Value buildParitySplitConv(OpBuilder &b, Location loc, Value input,
                           Value filter, RankedTensorType resultType,
                           ArrayRef<int64_t> strides,
                           ArrayRef<int64_t> dilations) {
  auto filterType = cast<RankedTensorType>(filter.getType());
  Attribute dense;
  if (!filterType.getElementType().isF32() || !filterType.hasStaticShape() ||
      !matchPattern(filter, m_Constant(&dense)))
    return Value();
  std::optional<std::vector<float>> values = dlc::graph::float32Values(dense);
  if (!values)
    return Value();
  int64_t f = filterType.getDimSize(0), c = filterType.getDimSize(1),
          kh = filterType.getDimSize(2), kw = filterType.getDimSize(3);
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t n = inType.getDimSize(0), h = inType.getDimSize(2),
          w = inType.getDimSize(3);
  int64_t ow = resultType.getDimSize(3);
  MLIRContext *ctx = b.getContext();
  AffineExpr dn, dc, dh, dj;
  bindDims(ctx, dn, dc, dh, dj);
  Value product;
  for (int64_t q = 0; q < 2; ++q) {
    int64_t taps = (kw - q + 1) / 2; // columns q, q + 2, ... of the filter
    if (taps == 0)
      continue;
    std::vector<float> split(f * c * kh * taps);
    for (int64_t o = 0; o < f * c * kh; ++o)
      for (int64_t j = 0; j < taps; ++j)
        split[o * taps + j] = (*values)[o * kw + 2 * j + q];
    Value part = arith::ConstantOp::create(
        b, loc,
        cast<TypedAttr>(dlc::graph::makeWeights(
            RankedTensorType::get({f, c, kh, taps}, b.getF32Type()), split)));
    // The columns the taps read: 2j + q for j < OW + taps - 1, all inside
    // the padded input (the last is (OW - 1) * 2 + q + 2 * (taps - 1) <=
    // (OW - 1) * 2 + KW - 1 < W).
    int64_t cols = ow + taps - 1;
    assert(2 * (cols - 1) + q < w && "parity columns past the input");
    (void)w;
    Value plane = buildGather(
        b, loc, input,
        RankedTensorType::get({n, c, h, cols}, inType.getElementType()),
        AffineMap::get(4, 0, {dn, dc, dh, dj * 2 + q}, ctx));
    product = buildImplicitGemmConv(b, loc, plane, part, resultType,
                                    {strides[0], 1}, dilations, product);
  }
  return product;
}

/// C[M, N] = A[M, K] x Bp with B packed in panels [N / w, K, w]: the form
/// vectorize-matmul recognizes and reads panel by panel.
Value packedMatmul(OpBuilder &b, Location loc, Value lhs, Value packed,
                   RankedTensorType resultType) {
  MLIRContext *ctx = b.getContext();
  int64_t w = cast<RankedTensorType>(packed.getType()).getDimSize(2);
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0, {m, k}, ctx),
      AffineMap::get(3, 0, {n.floorDiv(w), k, n % w}, ctx),
      AffineMap::get(3, 0, {m, n}, ctx)};
  Value init = dlc::createFilled(b, loc, resultType, 0.0);
  return linalg::GenericOp::create(
             b, loc, resultType, ValueRange{lhs, packed}, init, maps,
             {utils::IteratorType::parallel, utils::IteratorType::parallel,
              utils::IteratorType::reduction},
             yieldMultiplyAdd)
      .getResult(0);
}

/// The filter [F, C, KH, KW] of a convolution as the packed B operand of
/// its transposed product, [F / w, C*KH*KW, w] (panel t holds filters
/// [t*w, t*w + w), each k row contiguous), computed at compile time from a
/// constant f32 filter; null otherwise.
Value packFilterPanels(OpBuilder &b, Location loc, Value filter, int64_t w) {
  auto type = cast<RankedTensorType>(filter.getType());
  Attribute dense;
  if (!type.getElementType().isF32() || !type.hasStaticShape() ||
      !matchPattern(filter, m_Constant(&dense)) ||
      type.getDimSize(0) % w != 0)
    return Value();
  std::optional<std::vector<float>> values = dlc::graph::float32Values(dense);
  if (!values)
    return Value();
  int64_t f = type.getDimSize(0), k = type.getNumElements() / f;
  std::vector<float> packed(type.getNumElements());
  for (int64_t row = 0; row < f; ++row)
    for (int64_t col = 0; col < k; ++col)
      packed[((row / w) * k + col) * w + row % w] = (*values)[row * k + col];
  auto packedType = RankedTensorType::get({f / w, k, w}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(dlc::graph::makeWeights(packedType, packed)));
}

/// The transposed product of a convolution of one image: col^T [OH*OW,
/// C*KH*KW] gathered from the (padded) input, times the filter packed in
/// panels (packFilterPanels), then one elementwise generic over [F, OH*OW]
/// that reads the product transposed and adds bias and residual and applies
/// the activation (vectorize-matmul applies it to the accumulators and
/// writes the NCHW result directly).
Value buildFilterTiledConv(OpBuilder &b, Location loc, Value input,
                           Value packedFilter, RankedTensorType filterType,
                           RankedTensorType resultType,
                           ArrayRef<int64_t> strides,
                           ArrayRef<int64_t> dilations,
                           const Epilogue &epilogue) {
  MLIRContext *ctx = b.getContext();
  Type elem = resultType.getElementType();
  int64_t f = resultType.getDimSize(1);
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  int64_t c = filterType.getDimSize(1), kh = filterType.getDimSize(2),
          kw = filterType.getDimSize(3);
  int64_t k = c * kh * kw, p = oh * ow;
  AffineExpr doh, dow, dc, dkh, dkw;
  bindDims(ctx, doh, dow, dc, dkh, dkw);
  Value colT5 = buildGather(
      b, loc, input, RankedTensorType::get({oh, ow, c, kh, kw}, elem),
      AffineMap::get(5, 0,
                     {getAffineConstantExpr(0, ctx), dc,
                      doh * strides[0] + dkh * dilations[0],
                      dow * strides[1] + dkw * dilations[1]},
                     ctx));
  Value colT = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({p, k}, elem), colT5,
      ArrayRef<ReassociationIndices>{{0, 1}, {2, 3, 4}});
  Value product = packedMatmul(b, loc, colT, packedFilter,
                               RankedTensorType::get({p, f}, elem));

  // out[f, hw] = activation(product[hw, f] + bias[f] + residual[f, hw])
  auto outType = RankedTensorType::get({f, p}, elem);
  AffineExpr df, dhw;
  bindDims(ctx, df, dhw);
  SmallVector<Value> inputs = {product};
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {dhw, df}, ctx)};
  if (epilogue.bias) {
    inputs.push_back(epilogue.bias);
    maps.push_back(AffineMap::get(2, 0, {df}, ctx));
  }
  if (epilogue.residual) {
    inputs.push_back(tensor::CollapseShapeOp::create(
        b, loc, outType, epilogue.residual,
        ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}}));
    maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
  Value init = tensor::EmptyOp::create(b, loc, outType.getShape(), elem);
  unsigned operands = inputs.size();
  auto out = linalg::GenericOp::create(
      b, loc, outType, inputs, init, maps,
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = args[0];
        for (unsigned i = 1; i < operands; ++i)
          x = arith::AddFOp::create(nb, nloc, x, args[i]);
        x = dlc::applyActivation(nb, nloc, x, epilogue.activation,
                                 epilogue.alpha, epilogue.beta);
        linalg::YieldOp::create(nb, nloc, x);
      });
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, out.getResult(0),
      ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}});
}

/// A convolution of one group computed by `algorithm` (one of the matrix
/// product forms: ImplicitGemm, ImplicitGemmParity, FilterTiles,
/// Im2colPacked with panels of `panelWidth`, Pointwise, Im2col), or null
/// when a form that needs a constant filter does not have one.
Value buildIm2colConv(OpBuilder &b, Location loc, Value input, Value filter,
                      RankedTensorType resultType, ArrayRef<int64_t> strides,
                      ArrayRef<int64_t> dilations, const Epilogue &epilogue,
                      kernel::ConvAlgorithm algorithm, int64_t panelWidth) {
  using kernel::ConvAlgorithm;
  MLIRContext *ctx = b.getContext();
  auto inType = cast<RankedTensorType>(input.getType());
  auto filterType = cast<RankedTensorType>(filter.getType());
  Type elem = inType.getElementType();
  int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1);
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  int64_t c = filterType.getDimSize(1), kh = filterType.getDimSize(2),
          kw = filterType.getDimSize(3);
  int64_t k = c * kh * kw, p = n * oh * ow;

  if (algorithm == ConvAlgorithm::FilterTiles) {
    Value packedFilter = packFilterPanels(b, loc, filter, panelWidth);
    return packedFilter
               ? buildFilterTiledConv(b, loc, input, packedFilter, filterType,
                                      resultType, strides, dilations, epilogue)
               : Value();
  }
  // Stride 2 along rows: implicit GEMM once the columns are split by parity.
  Value paritySplit;
  if (algorithm == ConvAlgorithm::ImplicitGemmParity) {
    paritySplit = buildParitySplitConv(b, loc, input, filter, resultType,
                                       strides, dilations);
    if (!paritySplit)
      return Value();
  }
  bool implicit = algorithm == ConvAlgorithm::ImplicitGemm || paritySplit;
  bool packed = algorithm == ConvAlgorithm::Im2colPacked;
  Value col;
  if (implicit) {
    // No im2col matrix: the product reads the input.
  } else if (packed) {
    col = buildPackedIm2col(b, loc, input, filterType, resultType, strides,
                            dilations, panelWidth);
  } else if (algorithm == ConvAlgorithm::Pointwise) {
    // A 1x1 stride-1 conv of one image reads the input as it is.
    col = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({k, p}, elem), input,
        ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}});
  } else {
    // Threads split the outer loops; the matrix product splits its columns.
    // So that each thread mostly reads the columns it wrote itself, the
    // outer loops are images (several) or output rows (one image): loops
    // (n, c, kh, kw, oh, ow) or (n, oh, c, kh, kw, ow). (With several
    // images, rows outermost would write each k row in pieces of one output
    // row, P elements apart: twice as slow for lenet5_b64.)
    AffineExpr dn, doh, dc, dkh, dkw, dow;
    AffineMap outputMap;
    if (n > 1) {
      bindDims(ctx, dn, dc, dkh, dkw, doh, dow);
      outputMap = AffineMap::get(6, 0, {dc, dkh, dkw, dn, doh, dow}, ctx);
    } else {
      bindDims(ctx, dn, doh, dc, dkh, dkw, dow);
      outputMap = AffineMap::get(6, 0, {dc, dkh, dkw, dn, doh, dow}, ctx);
    }
    Value col6 = buildGather(
        b, loc, input, RankedTensorType::get({c, kh, kw, n, oh, ow}, elem),
        AffineMap::get(6, 0,
                       {dn, dc, doh * strides[0] + dkh * dilations[0],
                        dow * strides[1] + dkw * dilations[1]},
                       ctx),
        outputMap);
    col = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({k, p}, elem), col6,
        ArrayRef<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
  }
  Value weights =
      implicit ? Value()
               : tensor::CollapseShapeOp::create(
                     b, loc, RankedTensorType::get({f, k}, elem), filter,
                     ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}})
                     .getResult();
  auto productType = RankedTensorType::get({f, p}, elem);
  Value product;
  if (implicit) {
    product = paritySplit ? paritySplit
                          : buildImplicitGemmConv(b, loc, input, filter,
                                                  resultType, strides,
                                                  dilations);
  } else if (packed) {
    product = packedMatmul(b, loc, weights, col, productType);
  } else {
    Value init = dlc::createFilled(b, loc, productType, 0.0);
    product = linalg::MatmulOp::create(b, loc, productType,
                                       ValueRange{weights, col}, init)
                  .getResult(0);
  }
  // The epilogue runs on the [F, N*OH*OW] product, right behind the matmul
  // (the matmul vectorizer applies it to the accumulators in registers):
  // bias per row; the residual too when there is one image.
  Value residual2d;
  if (epilogue.residual && n == 1)
    residual2d = tensor::CollapseShapeOp::create(
        b, loc, productType, epilogue.residual,
        ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}});
  product = buildEpilogue(b, loc, product, epilogue.bias, /*channelDim=*/0,
                          residual2d,
                          epilogue.residual && n != 1 ? "none"
                                                      : epilogue.activation,
                          epilogue.alpha, epilogue.beta);

  if (n == 1)
    return tensor::ExpandShapeOp::create(
        b, loc, resultType, product,
        ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}});
  // [F, N, OH, OW] -> [N, F, OH, OW]
  auto fnType = RankedTensorType::get({f, n, oh, ow}, elem);
  Value fn = tensor::ExpandShapeOp::create(
      b, loc, fnType, product, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  Value out = tensor::EmptyOp::create(b, loc, resultType.getShape(), elem);
  Value nchw = linalg::TransposeOp::create(b, loc, fn, out,
                                           ArrayRef<int64_t>{1, 0, 2, 3})
                   .getResult()[0];
  if (!epilogue.residual)
    return nchw;
  return buildEpilogue(b, loc, nchw, Value(), 1, epilogue.residual,
                       epilogue.activation, epilogue.alpha, epilogue.beta);
}

struct ConvToLinalg : OpConversionPattern<kernel::Conv2dOp> {
  ConvToLinalg(MLIRContext *ctx, kernel::ConvTarget target)
      : OpConversionPattern(ctx), target(std::move(target)) {}

  LogicalResult
  matchAndRewrite(kernel::Conv2dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    using kernel::ConvAlgorithm;
    // The algorithm kernel-choose-conv-algorithm set, or the same choice.
    ConvAlgorithm algorithm;
    if (std::optional<StringRef> name = op.getAlgorithm()) {
      algorithm = *kernel::symbolizeConvAlgorithm(*name);
      if (std::optional<std::string> why =
              kernel::convAlgorithmInapplicable(op, algorithm, target))
        return op.emitOpError("cannot use algorithm '")
               << *name << "': " << *why;
    } else {
      algorithm = kernel::chooseConvAlgorithm(op, target);
    }
    Location loc = op.getLoc();
    auto resultType = op.getType();
    ArrayRef<int64_t> pads = op.getPads();
    Value input = dlc::padWithConstant(rewriter, loc, adaptor.getInput(),
                                       {0, 0, pads[0], pads[1]},
                                       {0, 0, pads[2], pads[3]}, 0.0);
    Epilogue epilogue{adaptor.getBias(), adaptor.getResidual(),
                      op.getActivation(), op.getAlpha().convertToFloat(),
                      op.getBeta().convertToFloat()};
    Value result;
    switch (algorithm) {
    case ConvAlgorithm::Winograd:
      // The epilogue is part of the output transform.
      result = dlc::buildWinogradConv(
          rewriter, loc, input, adaptor.getFilter(), resultType, epilogue.bias,
          epilogue.residual, epilogue.activation, epilogue.alpha,
          epilogue.beta, target.vectorWidth);
      break;
    case ConvAlgorithm::DepthwiseRows:
    case ConvAlgorithm::Grouped: {
      Value conv =
          algorithm == ConvAlgorithm::DepthwiseRows
              ? buildDepthwiseConv(rewriter, loc, input, adaptor.getFilter(),
                                   resultType, op.getStrides(),
                                   op.getDilations())
              : buildDirectConv(rewriter, loc, input, adaptor.getFilter(),
                                resultType, op.getStrides(), op.getDilations(),
                                op.getGroup());
      result = buildEpilogue(rewriter, loc, conv, epilogue.bias,
                             /*channelDim=*/1, epilogue.residual,
                             epilogue.activation, epilogue.alpha,
                             epilogue.beta);
      break;
    }
    default:
      result = buildIm2colConv(
          rewriter, loc, input, adaptor.getFilter(), resultType,
          op.getStrides(), op.getDilations(), epilogue, algorithm,
          algorithm == ConvAlgorithm::FilterTiles
              ? target.tileWidth
              : kernel::im2colPanelWidth(op, target));
      break;
    }
    // The forms that need a constant filter were chosen (or checked) with
    // one; the adaptor's filter is the same value.
    if (!result)
      return op.emitOpError("algorithm '")
             << kernel::stringifyConvAlgorithm(algorithm)
             << "' could not be built";
    rewriter.replaceOp(op, result);
    return success();
  }

  kernel::ConvTarget target;
};

/// `v` with its last two dims swapped, materialized.
Value transposeLastTwo(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(d);
  std::swap(perm[rank - 1], perm[rank - 2]);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  std::swap(sizes[rank - 1], sizes[rank - 2]);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return linalg::TransposeOp::create(b, loc, v, init, perm).getResult()[0];
}

/// Reassociation that collapses all leading dims of a rank-`rank` tensor
/// into one, keeping the last `keep` dims.
SmallVector<ReassociationIndices> collapseLeading(int64_t rank, int64_t keep) {
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t d = 0; d < rank - keep; ++d)
    groups[0].push_back(d);
  for (int64_t d = rank - keep; d < rank; ++d)
    groups.push_back({d});
  return groups;
}

struct MatmulToLinalg : OpConversionPattern<kernel::MatmulOp> {
  MatmulToLinalg(MLIRContext *ctx, int64_t rowTile)
      : OpConversionPattern(ctx), rowTile(rowTile) {}
  int64_t rowTile;

  LogicalResult
  matchAndRewrite(kernel::MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getType();
    Type elem = resultType.getElementType();
    int64_t rank = resultType.getRank();
    // Transposed operands are materialized once (constant ones were
    // transposed at compile time already), so that every case below reads
    // row-major operands.
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    if (op.getTransposeLhs())
      lhs = transposeLastTwo(rewriter, loc, lhs);
    if (op.getTransposeRhs())
      rhs = transposeLastTwo(rewriter, loc, rhs);
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    Value bias = adaptor.getBias();
    bool columnBias =
        bias && cast<RankedTensorType>(bias.getType()).getRank() == 1;
    auto epilogue = [&](Value product, Value columnBiasValue) {
      return buildEpilogue(rewriter, loc, product, columnBiasValue,
                           cast<RankedTensorType>(product.getType()).getRank() - 1,
                           Value(), op.getActivation(),
                           op.getAlpha().convertToFloat(),
                           op.getBeta().convertToFloat());
    };

    if (rt.getRank() == 2 && (!bias || columnBias)) {
      // [..., M, K] x [K, N]: the rows of every batch form one matrix; bias
      // and activation run on it, in the matmul's registers.
      Value lhs2 = lt.getRank() == 2
                       ? lhs
                       : tensor::CollapseShapeOp::create(
                             rewriter, loc,
                             RankedTensorType::get(
                                 {lt.hasStaticShape()
                                      ? lt.getNumElements() /
                                            lt.getDimSize(lt.getRank() - 1)
                                      : ShapedType::kDynamic,
                                  lt.getDimSize(lt.getRank() - 1)},
                                 elem),
                             lhs, collapseLeading(lt.getRank(), 1));
      Value columnBiasValue = columnBias ? bias : Value();
      Value product;
      if (rowTile > 0 &&
          cast<RankedTensorType>(lhs2.getType()).isDynamicDim(0) &&
          rt.hasStaticShape()) {
        // Rows known only at run time: static tiles of them.
        product = dlc::rowTiledMatmul(
            rewriter, loc, lhs2, rhs, rowTile, [&](OpBuilder &b, Value p) {
              return buildEpilogue(b, loc, p, columnBiasValue, 1, Value(),
                                   op.getActivation(),
                                   op.getAlpha().convertToFloat(),
                                   op.getBeta().convertToFloat());
            });
      } else {
        product = epilogue(dlc::zeroFilledMatmul(rewriter, loc, lhs2, rhs),
                           columnBiasValue);
      }
      if (rank != 2) {
        // The leading dims are lhs's (some may be known only at run time).
        SmallVector<OpFoldResult> sizes =
            tensor::getMixedSizes(rewriter, loc, lhs);
        sizes.back() = rewriter.getIndexAttr(resultType.getDimSize(rank - 1));
        product = dlc::expandShape(rewriter, loc, resultType, product,
                                   collapseLeading(rank, 1), sizes);
      }
      rewriter.replaceOp(op, product);
      return success();
    }

    Value product;
    bool sameBatch = lt.getRank() == rank && rt.getRank() == rank &&
                     lt.getShape().drop_back(2) == rt.getShape().drop_back(2);
    if (sameBatch) {
      // Equal batch dims: one vectorized 2-D matmul per batch, in a loop.
      int64_t batch = 1;
      for (int64_t d : resultType.getShape().drop_back(2))
        batch *= d;
      // M, K and N may be known only at run time (attention over a
      // symbolic token count); the batch dims are static.
      int64_t m = lt.getDimSize(rank - 2), k = lt.getDimSize(rank - 1),
              n = rt.getDimSize(rank - 1);
      OpFoldResult mSize = tensor::getMixedSize(rewriter, loc, lhs, rank - 2),
                   kSize = tensor::getMixedSize(rewriter, loc, lhs, rank - 1),
                   nSize = tensor::getMixedSize(rewriter, loc, rhs, rank - 1);
      auto flat = [&](Value v, int64_t rows, int64_t cols) -> Value {
        if (rank == 3)
          return v;
        return tensor::CollapseShapeOp::create(
            rewriter, loc, RankedTensorType::get({batch, rows, cols}, elem), v,
            collapseLeading(rank, 2));
      };
      Value lhs3 = flat(lhs, m, k), rhs3 = flat(rhs, k, n);
      Value out = tensor::EmptyOp::create(
          rewriter, loc, {rewriter.getIndexAttr(batch), mSize, nSize}, elem);
      auto slice = [&](OpBuilder &b, Value v, Value index, OpFoldResult rows,
                       OpFoldResult cols) -> Value {
        auto type = RankedTensorType::get(
            {getConstantIntValue(rows).value_or(ShapedType::kDynamic),
             getConstantIntValue(cols).value_or(ShapedType::kDynamic)},
            elem);
        return tensor::ExtractSliceOp::create(
            b, loc, type, v,
            SmallVector<OpFoldResult>{index, b.getIndexAttr(0),
                                      b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), rows, cols},
            SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
      };
      auto loop = scf::ForOp::create(
          rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
          arith::ConstantIndexOp::create(rewriter, loc, batch),
          arith::ConstantIndexOp::create(rewriter, loc, 1), ValueRange{out},
          [&](OpBuilder &b, Location, Value index, ValueRange acc) {
            // The product is computed in its slice of the result: no buffer
            // per batch, so batches are independent and may run in parallel.
            Value mm = dlc::zeroFilledMatmul(
                b, loc, slice(b, lhs3, index, mSize, kSize),
                slice(b, rhs3, index, kSize, nSize),
                slice(b, acc[0], index, mSize, nSize));
            Value next = tensor::InsertSliceOp::create(
                b, loc, mm, acc[0],
                SmallVector<OpFoldResult>{index, b.getIndexAttr(0),
                                          b.getIndexAttr(0)},
                SmallVector<OpFoldResult>{b.getIndexAttr(1), mSize, nSize},
                SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
            scf::YieldOp::create(b, loc, next);
          });
      loop->setAttr("dlc.parallel", rewriter.getUnitAttr());
      product = loop.getResult(0);
      if (rank != 3) {
        SmallVector<OpFoldResult> sizes;
        for (int64_t d = 0; d < rank - 2; ++d)
          sizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(d)));
        sizes.push_back(mSize);
        sizes.push_back(nSize);
        product = dlc::expandShape(rewriter, loc, resultType, product,
                                   collapseLeading(rank, 2), sizes);
      }
    } else {
      // Broadcast batch dims: one generic over (batch..., m, n, k).
      MLIRContext *ctx = rewriter.getContext();
      int64_t batchRank = rank - 2;
      AffineExpr m = getAffineDimExpr(batchRank, ctx);
      AffineExpr n = getAffineDimExpr(batchRank + 1, ctx);
      AffineExpr k = getAffineDimExpr(batchRank + 2, ctx);
      auto operandMap = [&](RankedTensorType type, AffineExpr rows,
                            AffineExpr cols) {
        int64_t operandBatch = type.getRank() - 2;
        SmallVector<AffineExpr> exprs;
        for (int64_t d = 0; d < operandBatch; ++d) {
          int64_t resultDim = d + batchRank - operandBatch;
          bool broadcast = type.getDimSize(d) == 1 &&
                           resultType.getDimSize(resultDim) != 1;
          exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                    : getAffineDimExpr(resultDim, ctx));
        }
        exprs.push_back(rows);
        exprs.push_back(cols);
        return AffineMap::get(rank + 1, 0, exprs, ctx);
      };
      SmallVector<AffineExpr> outExprs;
      for (int64_t d = 0; d < rank; ++d)
        outExprs.push_back(getAffineDimExpr(d, ctx));
      SmallVector<AffineMap> maps = {operandMap(lt, m, k), operandMap(rt, k, n),
                                     AffineMap::get(rank + 1, 0, outExprs, ctx)};
      SmallVector<utils::IteratorType> iterators(rank,
                                                 utils::IteratorType::parallel);
      iterators.push_back(utils::IteratorType::reduction);
      Value init = dlc::createFilled(rewriter, loc, resultType, 0.0);
      product = linalg::GenericOp::create(
                    rewriter, loc, resultType, ValueRange{lhs, rhs}, init, maps,
                    iterators, yieldMultiplyAdd)
                    .getResult(0);
    }
    // A bias that is not per column broadcasts to the whole result.
    if (bias)
      product = dlc::buildElementwise(
          rewriter, loc, resultType, ValueRange{product, bias},
          [](OpBuilder &b, Location l, ValueRange a) {
            return arith::AddFOp::create(b, l, a[0], a[1]).getResult();
          });
    rewriter.replaceOp(op, epilogue(product, Value()));
    return success();
  }
};

struct PoolToLinalg : OpConversionPattern<kernel::Pool2dOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(kernel::Pool2dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    auto resultType = op.getType();
    Type elem = inType.getElementType();
    ArrayRef<int64_t> k = op.getKernelShape(), s = op.getStrides(),
                      p = op.getPads(), d = op.getDilations();
    bool isMax = op.getKind() == "max";

    // Pad as far as the last window reaches (ceil_mode may need more than
    // the declared end padding).
    SmallVector<int64_t> low = {0, 0, p[0], p[1]}, high = {0, 0, 0, 0};
    for (int i = 0; i < 2; ++i) {
      int64_t needed =
          (resultType.getDimSize(2 + i) - 1) * s[i] + d[i] * (k[i] - 1) + 1;
      high[2 + i] = std::max<int64_t>(
          p[2 + i], needed - inType.getDimSize(2 + i) - p[i]);
    }
    double padValue = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
    Value input =
        dlc::padWithConstant(rewriter, loc, adaptor.getInput(), low, high,
                             padValue);
    Value window = tensor::EmptyOp::create(rewriter, loc, k, elem);
    auto strides = rewriter.getI64TensorAttr(s);
    auto dilations = rewriter.getI64TensorAttr(d);
    Value init = dlc::createFilled(rewriter, loc, resultType, padValue);
    if (isMax) {
      Value pooled = linalg::PoolingNchwMaxOp::create(
                         rewriter, loc, resultType, ValueRange{input, window},
                         init, strides, dilations)
                         .getResult(0);
      rewriter.replaceOp(op, pooled);
      return success();
    }
    Value sum = linalg::PoolingNchwSumOp::create(
                    rewriter, loc, resultType, ValueRange{input, window}, init,
                    strides, dilations)
                    .getResult(0);

    // Divide by the number of counted taps per output position, a constant.
    int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
    int64_t h = inType.getDimSize(2), w = inType.getDimSize(3);
    bool countPad = op.getCountIncludePad();
    SmallVector<float> reciprocal;
    reciprocal.reserve(oh * ow);
    for (int64_t y = 0; y < oh; ++y) {
      int64_t rows = countPad ? dlc::graph::countPoolTaps(y, s[0], p[0], k[0], d[0], -p[0],
                                          h + p[2])
                              : dlc::graph::countPoolTaps(y, s[0], p[0], k[0], d[0], 0, h);
      for (int64_t x = 0; x < ow; ++x) {
        int64_t cols = countPad ? dlc::graph::countPoolTaps(x, s[1], p[1], k[1], d[1], -p[1],
                                            w + p[3])
                                : dlc::graph::countPoolTaps(x, s[1], p[1], k[1], d[1], 0, w);
        int64_t taps = rows * cols;
        reciprocal.push_back(taps > 0 ? 1.0f / taps : 0.0f);
      }
    }
    auto scaleType = RankedTensorType::get({1, 1, oh, ow}, rewriter.getF32Type());
    Value scale = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(scaleType, ArrayRef(reciprocal)));
    if (!elem.isF32())
      scale = arith::TruncFOp::create(
          rewriter, loc, RankedTensorType::get({1, 1, oh, ow}, elem), scale);
    Value result = dlc::buildElementwise(
        rewriter, loc, resultType, ValueRange{sum, scale},
        [](OpBuilder &b, Location l, ValueRange args) {
          return arith::MulFOp::create(b, l, args[0], args[1]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KernelToLinalgPass
    : public dlc::impl::KernelToLinalgBase<KernelToLinalgPass> {
  using KernelToLinalgBase::KernelToLinalgBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    if (winograd != "off" && winograd != "auto" && winograd != "all") {
      getOperation().emitError("convert-kernel-to-linalg: winograd must be "
                               "off, auto or all, not '")
          << winograd << "'";
      return signalPassFailure();
    }
    RewritePatternSet patterns(ctx);
    patterns.add<ConvToLinalg>(
        ctx, kernel::ConvTarget{packWidth, packVectorWidth, filterTilesMin,
                                winograd});
    patterns.add<MatmulToLinalg>(ctx, rowTile);
    patterns.add<PoolToLinalg>(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<kernel::KernelDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
