//===- GraphToLinalg.cpp - remaining graph ops to linalg on tensors -------===//
//
// Elementwise ops, normalizations, reductions and data movement. The
// compute-heavy ops have become kernel ops by now.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/Passes.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace dlc {
#define GEN_PASS_DEF_GRAPHTOLINALG
#include "passes/conversion/Passes.h.inc"
} // namespace dlc

using namespace mlir;
namespace graph = dlc::graph;

namespace {

template <typename Op, typename ArithOp>
struct BinaryToLinalg : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!isa<FloatType>(type.getElementType()))
      return rewriter.notifyMatchFailure(op, "only float tensors for now");
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), type,
        ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        [](OpBuilder &b, Location loc, ValueRange args) {
          return ArithOp::create(b, loc, args[0], args[1]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// relu, sigmoid, tanh, leaky_relu and clip share the kernels' activations.
template <typename Op>
struct ActivationToLinalg : OpConversionPattern<Op> {
  ActivationToLinalg(MLIRContext *ctx, StringRef name)
      : OpConversionPattern<Op>(ctx), name(name) {}
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    float alpha = 0, beta = 0;
    if constexpr (std::is_same_v<Op, graph::LeakyReluOp>)
      alpha = op.getAlpha().convertToFloat();
    if constexpr (std::is_same_v<Op, graph::ClipOp>) {
      alpha = op.getMin().convertToFloat();
      beta = op.getMax().convertToFloat();
    }
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), ValueRange{adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return dlc::applyActivation(b, loc, args[0], name, alpha, beta);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
  std::string name;
};

/// A reduction over `axes` of `input` into a tensor that keeps those axes with
/// size 1, starting from `initValue` and combining with `combine`.
Value buildKeepDimsReduction(
    OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
    double initValue,
    function_ref<Value(OpBuilder &, Location, Value elem, Value acc)> combine) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    if (reduced)
      shape[d] = 1;
    outExprs.push_back(reduced ? getAffineConstantExpr(0, ctx)
                               : getAffineDimExpr(d, ctx));
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value init = dlc::createFilled(b, loc, outType, initValue);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, outType, input, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, args[0], args[1]));
      });
  return generic.getResult(0);
}

struct SoftmaxToLinalg : OpConversionPattern<graph::SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    int64_t axis = op.getAxis();
    // Subtracting the max keeps exp from overflowing.
    Value max = buildKeepDimsReduction(
        rewriter, loc, input, axis, -std::numeric_limits<double>::infinity(),
        [](OpBuilder &b, Location l, Value x, Value acc) {
          return arith::MaximumFOp::create(b, l, x, acc).getResult();
        });
    Value exp = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{input, max},
        [](OpBuilder &b, Location l, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
          return math::ExpOp::create(b, l, shifted).getResult();
        });
    Value sum = buildKeepDimsReduction(
        rewriter, loc, exp, axis, 0.0,
        [](OpBuilder &b, Location l, Value x, Value acc) {
          return arith::AddFOp::create(b, l, x, acc).getResult();
        });
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{exp, sum},
        [](OpBuilder &b, Location l, ValueRange args) {
          return arith::DivFOp::create(b, l, args[0], args[1]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// A rank-1 per-channel tensor reshaped to broadcast along dim 1 of a
/// rank-`rank` tensor: [C] -> [C, 1, ...].
Value asChannelVector(OpBuilder &b, Location loc, Value v, int64_t rank) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape = {type.getDimSize(0)};
  shape.append(rank - 2, 1);
  auto target = RankedTensorType::get(shape, type.getElementType());
  SmallVector<ReassociationIndices> reassociation(1);
  for (int64_t d = 0; d < rank - 1; ++d)
    reassociation[0].push_back(d);
  return tensor::ExpandShapeOp::create(b, loc, target, v, reassociation);
}

struct BatchNormToLinalg : OpConversionPattern<graph::BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::BatchNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t rank = op.getType().getRank();
    auto channel = [&](Value v) {
      return asChannelVector(rewriter, loc, v, rank);
    };
    double eps = op.getEpsilon().convertToDouble();
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(),
        ValueRange{adaptor.getInput(), channel(adaptor.getScale()),
                   channel(adaptor.getBias()), channel(adaptor.getMean()),
                   channel(adaptor.getVariance())},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Type t = args[0].getType();
          Value centered = arith::SubFOp::create(b, l, args[0], args[3]);
          Value var = arith::AddFOp::create(b, l, args[4],
                                            dlc::floatConstant(b, l, t, eps));
          Value invStd = math::RsqrtOp::create(b, l, var);
          Value normalized = arith::MulFOp::create(b, l, centered, invStd);
          Value scaled = arith::MulFOp::create(b, l, normalized, args[1]);
          return arith::AddFOp::create(b, l, scaled, args[2]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GlobalAvgPoolToLinalg : OpConversionPattern<graph::GlobalAvgPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GlobalAvgPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    SmallVector<int64_t> axes;
    int64_t count = 1;
    for (int64_t d = 2; d < inType.getRank(); ++d) {
      axes.push_back(d);
      count *= inType.getDimSize(d);
    }
    Value sum = buildKeepDimsReduction(
        rewriter, loc, adaptor.getInput(), axes, 0.0,
        [](OpBuilder &b, Location l, Value x, Value acc) {
          return arith::AddFOp::create(b, l, x, acc).getResult();
        });
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{sum},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value n = dlc::floatConstant(b, l, args[0].getType(), count);
          return arith::DivFOp::create(b, l, args[0], n).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ReshapeToLinalg : OpConversionPattern<graph::ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    auto outType = op.getType();
    if (inType.getRank() == 0 || outType.getRank() == 0) {
      // Rank-0 ends have no reassociation: reshape through a shape operand.
      auto shapeType = RankedTensorType::get({outType.getRank()},
                                             rewriter.getIndexType());
      SmallVector<APInt> dims;
      for (int64_t d : outType.getShape())
        dims.push_back(APInt(64, d));
      Value shape = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(shapeType, dims));
      rewriter.replaceOpWithNewOp<tensor::ReshapeOp>(op, outType,
                                                     adaptor.getInput(), shape);
      return success();
    }
    // Collapse to 1-D, then expand to the target: valid for any static pair.
    auto flatType = RankedTensorType::get({inType.getNumElements()},
                                          inType.getElementType());
    SmallVector<ReassociationIndices> collapse(1), expand(1);
    for (int64_t d = 0; d < inType.getRank(); ++d)
      collapse[0].push_back(d);
    for (int64_t d = 0; d < outType.getRank(); ++d)
      expand[0].push_back(d);
    Value flat = adaptor.getInput();
    if (inType.getRank() != 1)
      flat = tensor::CollapseShapeOp::create(rewriter, loc, flatType, flat,
                                             collapse);
    Value result = flat;
    if (outType.getRank() != 1)
      result = tensor::ExpandShapeOp::create(rewriter, loc, outType, flat,
                                             expand);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TransposeToLinalg : OpConversionPattern<graph::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = op.getType();
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), type.getShape(),
                                         type.getElementType());
    auto transpose = linalg::TransposeOp::create(
        rewriter, op.getLoc(), adaptor.getInput(), init, op.getPerm());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

struct ConcatToLinalg : OpConversionPattern<graph::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    int64_t axis = op.getAxis();
    Value result = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                           type.getElementType());
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      auto inType = cast<RankedTensorType>(input.getType());
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(type.getRank(),
                                               rewriter.getIndexAttr(1));
      offsets[axis] = rewriter.getIndexAttr(offset);
      for (int64_t d : inType.getShape())
        sizes.push_back(rewriter.getIndexAttr(d));
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result,
                                             offsets, sizes, strides);
      offset += inType.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct PadToLinalg : OpConversionPattern<graph::PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    if (!isa<FloatType>(inType.getElementType()))
      return rewriter.notifyMatchFailure(op, "only float tensors for now");
    int64_t rank = inType.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    // Negative pads crop: slice first, then pad with what is left.
    SmallVector<OpFoldResult> offsets, sizes,
        strides(rank, rewriter.getIndexAttr(1));
    SmallVector<int64_t> low, high, croppedShape;
    bool crops = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t begin = pads[d], end = pads[d + rank];
      int64_t cropBegin = begin < 0 ? -begin : 0;
      int64_t cropEnd = end < 0 ? -end : 0;
      crops |= cropBegin || cropEnd;
      offsets.push_back(rewriter.getIndexAttr(cropBegin));
      croppedShape.push_back(inType.getDimSize(d) - cropBegin - cropEnd);
      sizes.push_back(rewriter.getIndexAttr(croppedShape.back()));
      low.push_back(std::max<int64_t>(begin, 0));
      high.push_back(std::max<int64_t>(end, 0));
    }
    Value input = adaptor.getInput();
    if (crops)
      input = tensor::ExtractSliceOp::create(
          rewriter, loc,
          RankedTensorType::get(croppedShape, inType.getElementType()), input,
          offsets, sizes, strides);
    Value result = dlc::padWithConstant(rewriter, loc, input, low, high,
                                        op.getValue().convertToDouble());
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GraphToLinalgPass
    : public dlc::impl::GraphToLinalgBase<GraphToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<BinaryToLinalg<graph::AddOp, arith::AddFOp>,
                 BinaryToLinalg<graph::SubOp, arith::SubFOp>,
                 BinaryToLinalg<graph::MulOp, arith::MulFOp>,
                 BinaryToLinalg<graph::DivOp, arith::DivFOp>, SoftmaxToLinalg,
                 BatchNormToLinalg, GlobalAvgPoolToLinalg, ReshapeToLinalg,
                 TransposeToLinalg, ConcatToLinalg, PadToLinalg>(ctx);
    patterns.add<ActivationToLinalg<graph::ReluOp>>(ctx, "relu");
    patterns.add<ActivationToLinalg<graph::SigmoidOp>>(ctx, "sigmoid");
    patterns.add<ActivationToLinalg<graph::TanhOp>>(ctx, "tanh");
    patterns.add<ActivationToLinalg<graph::LeakyReluOp>>(ctx, "leaky_relu");
    patterns.add<ActivationToLinalg<graph::ClipOp>>(ctx, "clip");
    ConversionTarget target(*ctx);
    target.addIllegalDialect<graph::GraphDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
