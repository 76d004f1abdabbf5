//===- FoldBatchNorm.cpp - fold batch_norm into the producing conv2d ------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/Weights.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace dlc::graph {
#define GEN_PASS_DEF_FOLDBATCHNORM
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;
using namespace dlc::graph;

namespace {

/// The float values of a constant f32 tensor (dense or a weight blob), or
/// failure.
FailureOr<std::vector<float>> constantValues(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return failure();
  std::optional<std::vector<float>> values = float32Values(attr);
  if (!values)
    return failure();
  return std::move(*values);
}

struct FoldBatchNormIntoConv : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getInput().getDefiningOp<Conv2dOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "input is not a single-use conv");
    auto filter = constantValues(conv.getFilter());
    auto gamma = constantValues(bn.getScale());
    auto beta = constantValues(bn.getBias());
    auto mean = constantValues(bn.getMean());
    auto var = constantValues(bn.getVariance());
    if (failed(filter) || failed(gamma) || failed(beta) || failed(mean) ||
        failed(var))
      return rewriter.notifyMatchFailure(bn, "weights are not f32 constants");
    int64_t channels = gamma->size();
    std::vector<float> bias(channels, 0.0f);
    if (conv.getBias()) {
      auto convBias = constantValues(conv.getBias());
      if (failed(convBias))
        return rewriter.notifyMatchFailure(bn, "conv bias is not constant");
      bias = *convBias;
    }

    // Scale each output channel's filter and shift its bias; double keeps the
    // folded weights as close as possible to the unfused result.
    int64_t perChannel = filter->size() / channels;
    float eps = bn.getEpsilon().convertToFloat();
    std::vector<float> newFilter(filter->size()), newBias(channels);
    for (int64_t c = 0; c < channels; ++c) {
      double s = (double)(*gamma)[c] / std::sqrt((double)(*var)[c] + eps);
      for (int64_t i = 0; i < perChannel; ++i)
        newFilter[c * perChannel + i] =
            static_cast<float>((*filter)[c * perChannel + i] * s);
      newBias[c] = static_cast<float>(((double)bias[c] - (*mean)[c]) * s +
                                      (*beta)[c]);
    }

    auto filterType = cast<RankedTensorType>(conv.getFilter().getType());
    auto biasType = RankedTensorType::get({channels}, rewriter.getF32Type());
    // A weight blob when large: released once packed (Weights.h).
    Value filterConst = arith::ConstantOp::create(
        rewriter, conv.getLoc(),
        cast<TypedAttr>(makeWeights(filterType, newFilter)));
    Value biasConst = arith::ConstantOp::create(
        rewriter, bn.getLoc(),
        DenseElementsAttr::get(biasType, ArrayRef<float>(newBias)));
    // The fused op keeps both source locations for diagnostics.
    Location loc = rewriter.getFusedLoc({conv.getLoc(), bn.getLoc()});
    auto folded = Conv2dOp::create(
        rewriter, loc, bn.getType(), conv.getInput(), filterConst, biasConst,
        conv.getStridesAttr(), conv.getPadsAttr(), conv.getDilationsAttr(),
        conv.getGroupAttr());
    rewriter.replaceOp(bn, folded.getResult());
    rewriter.eraseOp(conv);
    return success();
  }
};

struct FoldBatchNormPass
    : public dlc::graph::impl::FoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldBatchNormIntoConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
