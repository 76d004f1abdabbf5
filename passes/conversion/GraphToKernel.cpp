//===- GraphToKernel.cpp - compute-heavy graph ops become kernels ---------===//
//
// Each conv2d, matmul and pooling op becomes one kernel op; the epilogue
// fusion pass then folds their elementwise consumers into them.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/Passes.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/kernel/KernelDialect.h"

#include "mlir/Transforms/DialectConversion.h"

namespace dlc {
#define GEN_PASS_DEF_GRAPHTOKERNEL
#include "passes/conversion/Passes.h.inc"
} // namespace dlc

using namespace mlir;
namespace graph = dlc::graph;
namespace kernel = dlc::kernel;

namespace {

struct ConvToKernel : OpRewritePattern<graph::Conv2dOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(graph::Conv2dOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<kernel::Conv2dOp>(
        op, op.getType(), op.getInput(), op.getFilter(), op.getBias(),
        /*residual=*/Value(), op.getStrides(), op.getPads(),
        op.getDilations(), op.getGroup(), "nchw", /*algorithm=*/StringAttr(),
        "none", APFloat(0.0f),
        APFloat(0.0f));
    return success();
  }
};

struct MatmulToKernel : OpRewritePattern<graph::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(graph::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<kernel::MatmulOp>(
        op, op.getType(), op.getLhs(), op.getRhs(), /*bias=*/Value(),
        op.getTransposeLhs(), op.getTransposeRhs(), "none", APFloat(0.0f),
        APFloat(0.0f));
    return success();
  }
};

template <typename PoolOp>
struct PoolToKernel : OpRewritePattern<PoolOp> {
  using OpRewritePattern<PoolOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op,
                                PatternRewriter &rewriter) const override {
    bool isMax = std::is_same_v<PoolOp, graph::MaxPool2dOp>;
    bool countPad = false;
    if constexpr (std::is_same_v<PoolOp, graph::AvgPool2dOp>)
      countPad = op.getCountIncludePad();
    // ceil_mode is carried by the result shape: the kernel pads as far as the
    // last window needs.
    rewriter.replaceOpWithNewOp<kernel::Pool2dOp>(
        op, op.getType(), op.getInput(), isMax ? "max" : "avg",
        op.getKernelShape(), op.getStrides(), op.getPads(), op.getDilations(),
        countPad);
    return success();
  }
};

struct GraphToKernelPass
    : public dlc::impl::GraphToKernelBase<GraphToKernelPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<ConvToKernel, MatmulToKernel,
                 PoolToKernel<graph::MaxPool2dOp>,
                 PoolToKernel<graph::AvgPool2dOp>>(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalOp<graph::Conv2dOp, graph::MatmulOp, graph::MaxPool2dOp,
                        graph::AvgPool2dOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
