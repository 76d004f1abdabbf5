//===- KernelToLinalg.cpp - kernel ops to linalg on tensors ---------------===//

#include "passes/conversion/Passes.h"

#include "dialects/kernel/KernelDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
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
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(),
                                       type.getElementType());
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

struct ConvToLinalg : OpConversionPattern<kernel::Conv2dOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(kernel::Conv2dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getType();
    auto inType = op.getInput().getType();
    auto filterType = op.getFilter().getType();
    ArrayRef<int64_t> pads = op.getPads();
    Value input = dlc::padWithConstant(rewriter, loc, adaptor.getInput(),
                                       {0, 0, pads[0], pads[1]},
                                       {0, 0, pads[2], pads[3]}, 0.0);
    auto strides = rewriter.getI64TensorAttr(op.getStrides());
    auto dilations = rewriter.getI64TensorAttr(op.getDilations());
    int64_t group = op.getGroup();
    int64_t channels = inType.getDimSize(1);
    int64_t filters = filterType.getDimSize(0);
    Value conv;
    if (group == 1) {
      Value init = dlc::createFilled(rewriter, loc, resultType, 0.0);
      conv = linalg::Conv2DNchwFchwOp::create(
                 rewriter, loc, resultType, ValueRange{input, adaptor.getFilter()},
                 init, strides, dilations)
                 .getResult(0);
    } else if (group == channels && filters == channels) {
      // Depthwise with multiplier 1: filter [C, 1, KH, KW] -> [C, KH, KW].
      auto dwFilterType = RankedTensorType::get(
          {channels, filterType.getDimSize(2), filterType.getDimSize(3)},
          filterType.getElementType());
      Value filter = tensor::CollapseShapeOp::create(
          rewriter, loc, dwFilterType, adaptor.getFilter(),
          ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
      Value init = dlc::createFilled(rewriter, loc, resultType, 0.0);
      conv = linalg::DepthwiseConv2DNchwChwOp::create(
                 rewriter, loc, resultType, ValueRange{input, filter}, init,
                 strides, dilations)
                 .getResult(0);
    } else {
      // General grouped conv: split channels and filters into groups.
      auto padded = cast<RankedTensorType>(input.getType());
      Type elem = padded.getElementType();
      auto groupedIn = RankedTensorType::get(
          {padded.getDimSize(0), group, channels / group, padded.getDimSize(2),
           padded.getDimSize(3)},
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
          rewriter, loc, groupedIn, input,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
      Value filter = tensor::ExpandShapeOp::create(
          rewriter, loc, groupedFilter, adaptor.getFilter(),
          ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
      Value init = dlc::createFilled(rewriter, loc, groupedOut, 0.0);
      Value out = linalg::Conv2DNgchwGfchwOp::create(
                      rewriter, loc, groupedOut, ValueRange{in, filter}, init,
                      strides, dilations)
                      .getResult(0);
      conv = tensor::CollapseShapeOp::create(
          rewriter, loc, resultType, out,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    }
    Value result = buildEpilogue(
        rewriter, loc, conv, adaptor.getBias(), /*channelDim=*/1,
        adaptor.getResidual(), op.getActivation(),
        op.getAlpha().convertToFloat(), op.getBeta().convertToFloat());
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MatmulToLinalg : OpConversionPattern<kernel::MatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(kernel::MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto resultType = op.getType();
    int64_t rank = resultType.getRank();
    int64_t batchRank = rank - 2;
    // Iteration space: batch dims, m, n, k.
    AffineExpr m = getAffineDimExpr(batchRank, ctx);
    AffineExpr n = getAffineDimExpr(batchRank + 1, ctx);
    AffineExpr k = getAffineDimExpr(batchRank + 2, ctx);
    auto operandMap = [&](Value v, AffineExpr rows, AffineExpr cols,
                          bool transposed) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t operandBatch = type.getRank() - 2;
      SmallVector<AffineExpr> exprs;
      for (int64_t d = 0; d < operandBatch; ++d) {
        int64_t resultDim = d + batchRank - operandBatch;
        bool broadcast = type.getDimSize(d) == 1 &&
                         resultType.getDimSize(resultDim) != 1;
        exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                  : getAffineDimExpr(resultDim, ctx));
      }
      exprs.push_back(transposed ? cols : rows);
      exprs.push_back(transposed ? rows : cols);
      return AffineMap::get(rank + 1, 0, exprs, ctx);
    };
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < rank; ++d)
      outExprs.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps = {
        operandMap(adaptor.getLhs(), m, k, op.getTransposeLhs()),
        operandMap(adaptor.getRhs(), k, n, op.getTransposeRhs()),
        AffineMap::get(rank + 1, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);

    // The accumulator starts from the bias when there is one.
    Value init;
    if (Value bias = adaptor.getBias())
      init = dlc::buildElementwise(rewriter, loc, resultType, bias,
                                   [](OpBuilder &, Location, ValueRange args) {
                                     return args[0];
                                   });
    else
      init = dlc::createFilled(rewriter, loc, resultType, 0.0);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        init, maps, iterators,
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value product = arith::MulFOp::create(b, nloc, args[0], args[1]);
          Value sum = arith::AddFOp::create(b, nloc, args[2], product);
          linalg::YieldOp::create(b, nloc, sum);
        });
    Value result = buildEpilogue(rewriter, loc, generic.getResult(0), Value(),
                                 rank - 1, Value(), op.getActivation(),
                                 op.getAlpha().convertToFloat(),
                                 op.getBeta().convertToFloat());
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// How many window taps of output position `o` fall inside the counted range
/// [lo, hi) of padded-input coordinates (input coordinates start at 0).
int64_t countTaps(int64_t o, int64_t stride, int64_t padBegin, int64_t kernel,
                  int64_t dilation, int64_t lo, int64_t hi) {
  int64_t count = 0;
  for (int64_t i = 0; i < kernel; ++i) {
    int64_t x = o * stride - padBegin + i * dilation;
    count += x >= lo && x < hi;
  }
  return count;
}

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
      int64_t rows = countPad ? countTaps(y, s[0], p[0], k[0], d[0], -p[0],
                                          h + p[2])
                              : countTaps(y, s[0], p[0], k[0], d[0], 0, h);
      for (int64_t x = 0; x < ow; ++x) {
        int64_t cols = countPad ? countTaps(x, s[1], p[1], k[1], d[1], -p[1],
                                            w + p[3])
                                : countTaps(x, s[1], p[1], k[1], d[1], 0, w);
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
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<ConvToLinalg, MatmulToLinalg, PoolToLinalg>(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<kernel::KernelDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
