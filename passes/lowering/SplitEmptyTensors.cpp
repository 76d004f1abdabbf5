//===- SplitEmptyTensors.cpp - one tensor.empty per user ------------------===//
//
// CSE merges every `tensor.empty() : tensor<3xf32>` of a function into one
// value, so a chain of n elementwise ops all name the same destination.
// One-shot bufferization then treats them as n writes to one alias set and
// checks every pair for conflicts: a 2,000-op chain took over six minutes.
// Each user gets its own tensor.empty (they allocate nothing until
// bufferization, which places each buffer anyway), and the analysis sees
// independent destinations.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

namespace dlc {
#define GEN_PASS_DEF_SPLITEMPTYTENSORS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct SplitEmptyTensorsPass
    : public dlc::impl::SplitEmptyTensorsBase<SplitEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> shared;
    getOperation().walk([&](tensor::EmptyOp op) {
      if (!op->hasOneUse() && !op->use_empty())
        shared.push_back(op);
    });
    OpBuilder b(&getContext());
    for (tensor::EmptyOp op : shared) {
      // The first use keeps the original; each other gets a copy beside
      // it (not beside the user: a user inside a loop would allocate at
      // every iteration).
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : op->getUses())
        uses.push_back(&use);
      b.setInsertionPointAfter(op);
      for (OpOperand *use : llvm::drop_begin(uses))
        use->set(b.clone(*op)->getResult(0));
    }
  }
};

} // namespace
