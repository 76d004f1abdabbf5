//===- CopyRepeatedResults.cpp - one tensor per function result -----------===//

#include "passes/lowering/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace dlc {
#define GEN_PASS_DEF_COPYREPEATEDRESULTS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct CopyRepeatedResultsPass
    : public dlc::impl::CopyRepeatedResultsBase<CopyRepeatedResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      llvm::DenseSet<Value> seen;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value value = operand.get();
        auto type = dyn_cast<RankedTensorType>(value.getType());
        if (!type || seen.insert(value).second)
          continue;
        SmallVector<OpFoldResult> sizes =
            tensor::getMixedSizes(b, ret.getLoc(), value);
        Value empty = tensor::EmptyOp::create(b, ret.getLoc(), sizes,
                                              type.getElementType());
        operand.set(
            linalg::CopyOp::create(b, ret.getLoc(), value, empty).getResult(0));
      }
    });
  }
};

} // namespace
