//===- NumberRuntimeChecks.cpp - number the module's run-time checks
//-------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"

namespace dlc::graph {
#define GEN_PASS_DEF_NUMBERRUNTIMECHECKS
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;

namespace {

struct NumberRuntimeChecksPass
    : public dlc::graph::impl::NumberRuntimeChecksBase<
          NumberRuntimeChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(module.getContext());
    llvm::MapVector<StringAttr, int32_t> sites;
    // check_indices and the ops whose shapes are computed at run time
    // report their `message` under the number set in `site`.
    module.walk([&](Operation *op) {
      using namespace dlc::graph;
      if (!isa<CheckIndicesOp, RuntimeReshapeOp, RuntimeExpandOp, RuntimeFillOp,
               RuntimeRangeOp, RuntimeTileOp, RuntimeSliceOp, RuntimePadOp,
               RuntimeOneHotOp, RuntimeTopKOp, RuntimeSqueezeOp,
               RuntimeResizeOp, RuntimeWindowOp, RuntimeReduceOp,
               RuntimeSequenceInsertOp, RuntimeSequenceEraseOp,
               RuntimeSequenceAtOp, RuntimeSequenceConcatOp,
               RuntimeSequenceSplitOp>(op))
        return;
      auto message = op->getAttrOfType<StringAttr>("message");
      auto [it, inserted] =
          sites.try_emplace(message, int32_t(sites.size() + 1));
      op->setAttr("site", b.getI32IntegerAttr(it->second));
    });
    if (sites.empty())
      return;
    SmallVector<Attribute> messages;
    for (const auto &entry : sites)
      messages.push_back(entry.first);
    module->setAttr("dlc.runtime_checks", b.getArrayAttr(messages));
    // What the lowered checks call (Codegen defines it); declared here, in
    // a module pass, because the lowering runs on functions in parallel.
    if (!module.lookupSymbol("dlc_report_error")) {
      OpBuilder ob(module.getBodyRegion());
      auto decl =
          func::FuncOp::create(ob, module.getLoc(), "dlc_report_error",
                               ob.getFunctionType({ob.getI32Type()}, {}));
      decl.setPrivate();
    }
  }
};

} // namespace
