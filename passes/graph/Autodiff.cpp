//===- Autodiff.cpp - reverse-mode differentiation on the graph dialect ---===//
//
// The backward graph is built in the same function as a copy of the forward
// one: the forward values the rules read (activations, pooling inputs,
// normalization statistics) are simply the forward ops' results, so
// nothing is recomputed and the workspace planner sees one dataflow graph.
//
//===----------------------------------------------------------------------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphGradient.h"

#include "llvm/ADT/BitVector.h"

namespace dlc::graph {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;
using namespace dlc::graph;

namespace {

bool isFloatTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && isa<FloatType>(type.getElementType());
}

struct AutodiffPass : public dlc::graph::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> targets;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if ((function.empty() || func.getName() == function) &&
          llvm::any_of(llvm::seq(func.getNumArguments()), [&](unsigned i) {
            return func.getArgAttr(i, "graph.parameter");
          }))
        targets.push_back(func);
    if (!function.empty() && targets.empty()) {
      getOperation().emitError("no function '")
          << function << "' with parameters to differentiate";
      return signalPassFailure();
    }
    for (func::FuncOp func : targets)
      if (failed(differentiate(func)))
        return signalPassFailure();
    // Buffer updates belong to the training step only: every function
    // (the inference model too) returns the model's outputs alone.
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(dropBufferUpdates(func)))
        return signalPassFailure();
  }

  static LogicalResult dropBufferUpdates(func::FuncOp func) {
    if (StringRef(func.getName()).ends_with("_grad"))
      return success();
    // The model function of a training library runs inference: the
    // inference side of every mode_select, and dropout keeps everything (a
    // mask of ones).
    resolveModeSelects(func, /*training=*/false);
    func.walk([](DropoutMaskOp mask) {
      OpBuilder b(mask);
      GradientBuilder gb(b, mask.getLoc());
      mask.getResult().replaceAllUsesWith(
          gb.splat(cast<RankedTensorType>(mask.getType()), 1.0));
      mask.erase();
    });
    llvm::BitVector erase(func.getNumResults());
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (func.getResultAttr(i, "graph.buffer_update"))
        erase.set(i);
    if (erase.none())
      return success();
    func.getBody().front().getTerminator()->eraseOperands(erase);
    return func.eraseResults(erase);
  }

  LogicalResult differentiate(func::FuncOp forward) {
    auto grad = cast<func::FuncOp>(forward->clone());
    grad.setName((forward.getName() + "_grad").str());
    OpBuilder builder(forward);
    builder.setInsertionPointAfter(forward);
    builder.insert(grad);

    // The training step takes the training side of every mode_select.
    resolveModeSelects(grad, /*training=*/true);
    Block &body = grad.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (ret.getNumOperands() == 0 || !isFloatTensor(ret.getOperand(0)) ||
        cast<RankedTensorType>(ret.getOperand(0).getType()).getNumElements() !=
            1) {
      grad.erase();
      return forward.emitError("the first result is not a float scalar, so "
                               "it cannot be a loss to differentiate");
    }
    Value loss = ret.getOperand(0);
    // Results that update state buffers (BatchNormalization's running
    // statistics) go with the training step, not with inference.
    SmallVector<std::pair<Value, Attribute>> bufferUpdates;
    for (unsigned i = 0; i < forward.getNumResults(); ++i)
      if (Attribute name = forward.getResultAttr(i, "graph.buffer_update"))
        bufferUpdates.emplace_back(ret.getOperand(i), name);

    SmallVector<BlockArgument> params;
    SmallVector<StringAttr> names;
    for (BlockArgument arg : body.getArguments())
      if (auto name = grad.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                       "graph.parameter")) {
        params.push_back(arg);
        names.push_back(name);
      }

    builder.setInsertionPoint(ret);
    GradientBuilder seed(builder, loss.getLoc());
    auto grads = buildReverseGradients(
        builder, loss, seed.splat(cast<RankedTensorType>(loss.getType()), 1.0),
        SmallVector<Value>(params.begin(), params.end()));
    if (failed(grads)) {
      grad.erase();
      return failure();
    }
    SmallVector<Value> results = {loss};
    results.append(grads->begin(), grads->end());
    for (auto [value, name] : bufferUpdates)
      results.push_back(value);
    func::ReturnOp::create(builder, ret.getLoc(), results);
    ret.erase();
    grad.setType(FunctionType::get(grad.getContext(), grad.getArgumentTypes(),
                                   ValueRange(results).getTypes()));
    grad.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
    for (auto [i, name] : llvm::enumerate(names))
      grad.setResultAttr(i + 1, "graph.gradient_of", name);
    for (auto [i, update] : llvm::enumerate(bufferUpdates))
      grad.setResultAttr(1 + names.size() + i, "graph.buffer_update",
                         update.second);

    return success();
  }
};

} // namespace
