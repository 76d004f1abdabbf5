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

/// ONNX's default activations per direction; the lowering differentiates
/// these only.
SmallVector<StringRef> defaultActivations(StringRef cell) {
  if (cell == "lstm")
    return {"Sigmoid", "Tanh", "Tanh"};
  if (cell == "gru")
    return {"Sigmoid", "Tanh"};
  return {"Tanh"};
}

struct RecurrentRule
    : GradientOpInterface::ExternalModel<RecurrentRule, RecurrentOp> {
  bool hasGradientRule(Operation *o, std::string &why) const {
    auto op = cast<RecurrentOp>(o);
    SmallVector<StringRef> defaults = defaultActivations(op.getCell());
    for (auto [i, name] : llvm::enumerate(op.getActivations())) {
      StringRef activation = cast<StringAttr>(name).getValue();
      if (activation != defaults[i % defaults.size()]) {
        why = "no gradient rule for " + op.getCell().str() +
              " with activation '" + activation.str() +
              "' (only the default activations are supported)";
        return false;
      }
    }
    if (op.getClip())
      why = "no gradient rule for " + op.getCell().str() + " with clip";
    else if (op.getPeepholes())
      why = "no gradient rule for lstm with peepholes";
    return why.empty();
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
        op.getInitialH(), op.getInitialC(), dy, dyh, dyc, op.getCellAttr(),
        op.getDirectionAttr(), op.getHiddenSizeAttr(), op.getActivationsAttr(),
        op.getActivationAlphaAttr(), op.getActivationBetaAttr(),
        op.getClipAttr(), op.getLinearBeforeResetAttr());
    // Operands in order: input, input_weights, recurrent_weights, then the
    // optional ones that are present; results cover every operand but
    // peepholes.
    out[0] = grad.getInputGrad();
    out[1] = grad.getInputWeightsGrad();
    out[2] = grad.getRecurrentWeightsGrad();
    unsigned next = 3;
    for (auto [operand, result] :
         {std::pair{op.getBias(), grad.getBiasGrad()},
          {op.getRecurrentHBias(), grad.getRecurrentHBiasGrad()},
          {op.getInitialH(), grad.getInitialHGrad()},
          {op.getInitialC(), grad.getInitialCGrad()}})
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
