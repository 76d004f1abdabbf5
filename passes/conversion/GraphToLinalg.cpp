//===- GraphToLinalg.cpp - remaining graph ops to linalg on tensors -------===//
//
// Elementwise ops, normalizations, reductions and data movement (patterns in
// one file per family). The compute-heavy ops have become kernel ops by now.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/Passes.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/GraphToLinalgPatterns.h"

#include "mlir/Transforms/DialectConversion.h"

namespace dlc {
#define GEN_PASS_DEF_GRAPHTOLINALG
#include "passes/conversion/Passes.h.inc"
} // namespace dlc

using namespace mlir;
namespace graph = dlc::graph;

namespace {

struct GraphToLinalgPass
    : public dlc::impl::GraphToLinalgBase<GraphToLinalgPass> {
  using GraphToLinalgBase::GraphToLinalgBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    dlc::populateElementwiseToLinalgPatterns(patterns);
    dlc::populateNormalizationToLinalgPatterns(patterns);
    dlc::populateDataMovementToLinalgPatterns(patterns);
    dlc::populateRecurrentToLinalgPatterns(patterns, rowTile);
    dlc::populateResizeToLinalgPatterns(patterns);
    dlc::populateRuntimeShapesToLinalgPatterns(patterns);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<graph::GraphDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
