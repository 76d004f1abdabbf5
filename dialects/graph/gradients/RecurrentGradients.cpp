//===- RecurrentGradients.cpp - backpropagation through time --------------===//
//
// graph.recurrent's gradient is one graph.recurrent_grad op rather than a
// graph of per-step ops: the backward pass is a loop over time like the
// forward one (it recomputes the forward states and stores them per step, so
// memory stays O(T) and T = 1000 is still a loop), lowered next to the
// forward op in RecurrentToLinalg.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/GraphGradient.h"

using namespace mlir;

namespace dlc::graph {
namespace {

using GB = GradientBuilder;

struct RecurrentRule
    : GradientOpInterface::ExternalModel<RecurrentRule, RecurrentOp> {
  bool hasGradientRule(Operation *o, std::string &why) const {
    // graph.recurrent does not check its activation names; its gradient
    // does, so an unknown one is reported here rather than by the verifier.
    auto op = cast<RecurrentOp>(o);
    for (Attribute name : op.getActivations()) {
      StringRef activation = cast<StringAttr>(name).getValue();
      if (!RecurrentGradOp::isDifferentiableActivation(activation)) {
        why = "no gradient rule for " + op.getCell().str() +
              " with activation '" + activation.str() + "'";
        return false;
      }
    }
    return true;
  }

  LogicalResult buildGradients(Operation *o, GB &b, ArrayRef<Value> g,
                               SmallVectorImpl<Value> &out) const {
    auto op = cast<RecurrentOp>(o);
    auto orZeros = [&](Value grad, Value result) {
      return grad ? grad : b.zerosLike(result);
    };
    Value dy = orZeros(g[0], op.getY());
    Value dyh = orZeros(g[1], op.getYH());
    Value dyc = orZeros(g[2], op.getYC());
    // RNN and GRU return the last hidden state as y_c too.
    if (op.getCell() != "lstm" && g[2])
      dyh = g[1] ? b.add(g[1], g[2]) : g[2];
    auto grad = RecurrentGradOp::create(
        b.b, b.loc, op.getInput(), op.getInputWeights(),
        op.getRecurrentWeights(), op.getBias(), op.getRecurrentHBias(),
        op.getInitialH(), op.getInitialC(), op.getPeepholes(), dy, dyh, dyc,
        op.getCellAttr(),
        op.getDirectionAttr(), op.getHiddenSizeAttr(), op.getActivationsAttr(),
        op.getActivationAlphaAttr(), op.getActivationBetaAttr(),
        op.getClipAttr(), op.getLinearBeforeResetAttr());
    // Operands in order: input, input_weights, recurrent_weights, then the
    // optional ones that are present; results cover every operand.
    out[0] = grad.getInputGrad();
    out[1] = grad.getInputWeightsGrad();
    out[2] = grad.getRecurrentWeightsGrad();
    unsigned next = 3;
    for (auto [operand, result] :
         {std::pair{op.getBias(), grad.getBiasGrad()},
          {op.getRecurrentHBias(), grad.getRecurrentHBiasGrad()},
          {op.getInitialH(), grad.getInitialHGrad()},
          {op.getInitialC(), grad.getInitialCGrad()},
          {op.getPeepholes(), grad.getPeepholesGrad()}})
      if (operand)
        out[next++] = result;
    return success();
  }
};

} // namespace

void attachRecurrentGradients(MLIRContext &ctx) {
  RecurrentOp::attachInterface<RecurrentRule>(ctx);
}

} // namespace dlc::graph
