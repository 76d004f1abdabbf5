//===- ChooseConvAlgorithm.cpp - decide how each convolution runs ---------===//
//
// Sets `algorithm` on every kernel.conv2d that has none, from its shapes,
// its filter and the target (dialects/kernel/ConvAlgorithm.h), so that the
// decision is part of the kernel-stage IR that `dlc --emit=kernel` prints.
//
//===----------------------------------------------------------------------===//

#include "passes/kernel/Passes.h"

#include "dialects/kernel/ConvAlgorithm.h"

namespace dlc::kernel {
#define GEN_PASS_DEF_CHOOSECONVALGORITHM
#include "passes/kernel/Passes.h.inc"
} // namespace dlc::kernel

using namespace mlir;
using namespace dlc::kernel;

namespace {

struct ChooseConvAlgorithmPass
    : public dlc::kernel::impl::ChooseConvAlgorithmBase<
          ChooseConvAlgorithmPass> {
  using ChooseConvAlgorithmBase::ChooseConvAlgorithmBase;

  void runOnOperation() override {
    if (winograd != "off" && winograd != "auto" && winograd != "all") {
      getOperation().emitError("kernel-choose-conv-algorithm: winograd must "
                               "be off, auto or all, not '")
          << winograd << "'";
      return signalPassFailure();
    }
    ConvTarget target{tileWidth, vectorWidth, filterTilesMin, winograd};
    getOperation().walk([&](Conv2dOp op) {
      if (op.getAlgorithm())
        return;
      op.setAlgorithm(stringifyConvAlgorithm(chooseConvAlgorithm(op, target)));
    });
  }
};

} // namespace
