//===- ApproximateMath.cpp - vectorizable approximations of math ops ------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dlc {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct ApproximateMathPass
    : public dlc::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          name.consume_front("math.");
          return llvm::is_contained({"tanh", "exp", "log", "erf"}, name);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
