//===- InferShapes.cpp - propagate static shapes through the graph --------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphDialect.h"

namespace dlc::graph {
#define GEN_PASS_DEF_INFERSHAPES
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;

namespace {

struct InferShapesPass
    : public dlc::graph::impl::InferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    WalkResult result = func.walk([&](InferTypeOpInterface op) {
      if (!isa<dlc::graph::GraphDialect>(op->getDialect()))
        return WalkResult::advance();
      SmallVector<Type> inferred;
      if (failed(op.inferReturnTypes(
              op->getContext(), op->getLoc(), op->getOperands(),
              op->getAttrDictionary(), op->getPropertiesStorage(),
              op->getRegions(), inferred)))
        return WalkResult::interrupt();
      for (auto [value, type] : llvm::zip(op->getResults(), inferred))
        value.setType(type);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();

    // The returned values may now be more static than the signature says.
    Operation *terminator = func.getBody().back().getTerminator();
    func.setType(FunctionType::get(func.getContext(),
                                   func.getArgumentTypes(),
                                   terminator->getOperandTypes()));
  }
};

} // namespace
