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
#include "llvm/ADT/DenseSet.h"

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

    // Values that depend on a parameter, and values the loss depends on:
    // an op needs a rule when it is on a path from one to the other.
    llvm::DenseSet<Value> active(params.begin(), params.end());
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return active.contains(v); }))
        for (Value r : op.getResults())
          if (isFloatTensor(r))
            active.insert(r);
    llvm::DenseSet<Value> useful = {loss};
    for (Operation &op : llvm::reverse(body.without_terminator()))
      if (llvm::any_of(op.getResults(),
                       [&](Value v) { return useful.contains(v); }))
        useful.insert(op.operand_begin(), op.operand_end());
    SmallVector<Operation *> path;
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getResults(),
                       [&](Value v) {
                         return active.contains(v) && useful.contains(v);
                       }))
        path.push_back(&op);

    bool missing = false;
    for (Operation *op : path) {
      std::string why;
      auto rule = dyn_cast<GradientOpInterface>(op);
      if (!rule)
        why = "no gradient rule for '" + op->getName().getStringRef().str() +
              "'";
      else
        (void)rule.hasGradientRule(why);
      if (!why.empty()) {
        op->emitError(why);
        missing = true;
      }
    }
    if (missing) {
      grad.erase();
      return failure();
    }

    builder.setInsertionPoint(ret);
    llvm::DenseMap<Value, Value> grads;
    {
      GradientBuilder seed(builder, loss.getLoc());
      grads[loss] = seed.splat(cast<RankedTensorType>(loss.getType()), 1.0);
    }
    for (Operation *op : llvm::reverse(path)) {
      SmallVector<Value> resultGrads;
      for (Value r : op->getResults())
        resultGrads.push_back(grads.lookup(r));
      if (llvm::all_of(resultGrads, [](Value v) { return !v; }))
        continue;
      GradientBuilder gb(builder, op->getLoc());
      SmallVector<Value> operandGrads(op->getNumOperands());
      if (failed(cast<GradientOpInterface>(op).buildGradients(gb, resultGrads,
                                                              operandGrads))) {
        op->emitError("building the gradient failed");
        grad.erase();
        return failure();
      }
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!g || !active.contains(operand))
          continue;
        if (g.getType() != operand.getType()) {
          op->emitError("internal error: the gradient rule gave ")
              << g.getType() << " for an operand of type "
              << operand.getType();
          grad.erase();
          return failure();
        }
        Value &sum = grads[operand];
        sum = sum ? gb.add(sum, g) : g;
      }
    }

    SmallVector<Value> results = {loss};
    for (BlockArgument p : params) {
      Value g = grads.lookup(p);
      if (!g) {
        GradientBuilder gb(builder, p.getLoc());
        g = gb.zerosLike(p);
      }
      results.push_back(g);
    }
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
