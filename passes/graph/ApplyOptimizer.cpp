//===- ApplyOptimizer.cpp - the optimizer update as graph ops -------------===//
//
// Appends PyTorch's update rules to the function graph-autodiff built, so
// that a training step is one pure function: (inputs, lr, state) -> (loss,
// new state, gradients). Moments start at zero, which reproduces torch's
// first step exactly (its momentum buffer starts as the first gradient:
// 0 * momentum + g). The step counter is float32: exact up to 2^24 steps.
//
//===----------------------------------------------------------------------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphGradient.h"

namespace dlc::graph {
#define GEN_PASS_DEF_APPLYOPTIMIZER
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;
using namespace dlc::graph;

namespace {

struct ApplyOptimizerPass
    : public dlc::graph::impl::ApplyOptimizerBase<ApplyOptimizerPass> {
  using ApplyOptimizerBase::ApplyOptimizerBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> targets;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.getNumResults() > 1 &&
          func.getResultAttr(1, "graph.gradient_of"))
        targets.push_back(func);
    if (targets.size() > 1) {
      getOperation().emitError("more than one gradient function to train");
      return signalPassFailure();
    }
    for (func::FuncOp func : targets)
      if (failed(apply(func)))
        return signalPassFailure();
  }

  /// The optimizer's per-parameter state slots.
  SmallVector<StringRef> slots() const {
    if (optimizer == "sgd")
      return momentum != 0.0 ? SmallVector<StringRef>{"momentum_buffer"}
                             : SmallVector<StringRef>{};
    if (optimizer == "adam" || optimizer == "adamw")
      return {"exp_avg", "exp_avg_sq"};
    if (optimizer == "rmsprop")
      return {"square_avg"};
    return {"sum"}; // adagrad
  }

  DictionaryAttr stateAttr(Builder &b, StringRef name, StringRef role,
                           StringRef parameter) {
    SmallVector<NamedAttribute> fields = {b.getNamedAttr("name", b.getStringAttr(name)),
                                          b.getNamedAttr("role", b.getStringAttr(role))};
    if (!parameter.empty())
      fields.push_back(b.getNamedAttr("parameter", b.getStringAttr(parameter)));
    return b.getDictionaryAttr(fields);
  }

  LogicalResult apply(func::FuncOp func) {
    static const char *const known[] = {"sgd", "adam", "adamw", "rmsprop",
                                        "adagrad"};
    if (!llvm::is_contained(known, optimizer))
      return func.emitError("unknown optimizer '") << optimizer
             << "' (sgd, adam, adamw, rmsprop, adagrad)";
    if (nesterov && momentum <= 0.0)
      return func.emitError("Nesterov momentum needs a momentum > 0");
    double epsilon = eps >= 0 ? eps : (optimizer == "adagrad" ? 1e-10 : 1e-8);

    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    MLIRContext *ctx = func.getContext();
    OpBuilder b(ctx);

    // Parameters are the arguments marked graph.parameter, in order; the
    // gradient results follow the loss in the same order.
    // Buffers (graph.buffer) are state too, in the same argument order; their
    // new values are the results marked graph.buffer_update.
    SmallVector<unsigned> paramArgs, stateArgs;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      if (func.getArgAttr(i, "graph.parameter"))
        paramArgs.push_back(i);
      if (func.getArgAttr(i, "graph.parameter") || func.getArgAttr(i, "graph.buffer"))
        stateArgs.push_back(i);
    }
    unsigned firstParam = stateArgs.empty() ? func.getNumArguments() : stateArgs.front();
    auto f32Scalar = RankedTensorType::get({}, b.getF32Type());
    Location loc = func.getLoc();

    // lr goes between the model inputs and the state.
    if (failed(func.insertArgument(firstParam, f32Scalar,
                                   b.getDictionaryAttr({b.getNamedAttr(
                                       "graph.learning_rate", b.getUnitAttr())}),
                                   loc)))
      return failure();
    Value lr = func.getArgument(firstParam);
    SmallVector<Value> params, grads;
    SmallVector<StringAttr> names;
    for (unsigned i : paramArgs) {
      unsigned index = i + 1;
      params.push_back(func.getArgument(index));
      auto name = func.getArgAttrOfType<StringAttr>(index, "graph.parameter");
      names.push_back(name);
      func.setArgAttr(index, "graph.state",
                      stateAttr(b, name.getValue(), "parameter", ""));
    }
    llvm::StringMap<Value> bufferUpdates;
    for (unsigned r = 1; r < ret.getNumOperands(); ++r) {
      if (auto name = func.getResultAttrOfType<StringAttr>(r, "graph.buffer_update"))
        bufferUpdates[name.getValue()] = ret.getOperand(r);
      else
        grads.push_back(ret.getOperand(r));
    }
    SmallVector<std::pair<unsigned, Value>> buffers; // argument, new value
    for (unsigned i : stateArgs) {
      auto name = func.getArgAttrOfType<StringAttr>(i + 1, "graph.buffer");
      if (!name)
        continue;
      Value update = bufferUpdates.lookup(name.getValue());
      if (!update)
        return func.emitError("no update of the state buffer '")
               << name.getValue() << "'";
      func.setArgAttr(i + 1, "graph.state",
                      stateAttr(b, name.getValue(), "buffer", ""));
      buffers.emplace_back(i + 1, update);
    }

    // Moments, slot-major, then the step counter.
    SmallVector<SmallVector<Value>> moments;
    for (StringRef slot : slots()) {
      moments.emplace_back();
      for (auto [p, name] : llvm::zip(params, names)) {
        unsigned index = func.getNumArguments();
        std::string stateName = (name.getValue() + ":" + slot).str();
        if (failed(func.insertArgument(
                index, p.getType(),
                b.getDictionaryAttr({b.getNamedAttr(
                    "graph.state",
                    stateAttr(b, stateName, "moment", name.getValue()))}),
                loc)))
          return failure();
        moments.back().push_back(func.getArgument(index));
      }
    }
    unsigned stepIndex = func.getNumArguments();
    if (failed(func.insertArgument(
            stepIndex, f32Scalar,
            b.getDictionaryAttr({b.getNamedAttr(
                "graph.state", stateAttr(b, "step", "step", ""))}),
            loc)))
      return failure();
    Value step = func.getArgument(stepIndex);

    b.setInsertionPoint(ret);
    GradientBuilder gb(b, loc);
    Type f32 = b.getF32Type();
    auto c = [&](double v) { return gb.scalar(f32, v); };
    Value newStep = gb.add(step, c(1.0));

    // Clipping works on the gradients the update sees; the raw gradients are
    // returned.
    SmallVector<Value> used(grads);
    if (clipGradValue > 0)
      for (Value &g : used)
        g = ClipOp::create(b, loc, g, b.getF32FloatAttr(-clipGradValue),
                           b.getF32FloatAttr(clipGradValue));
    if (clipGradNorm > 0 && !used.empty()) {
      Value total;
      for (Value g : used) {
        auto all = llvm::to_vector(
            llvm::seq<int64_t>(0, GradientBuilder::typeOf(g).getRank()));
        Value sq = all.empty() ? gb.mul(g, g) : gb.reduce(g, "sum_square", all, false);
        total = total ? gb.add(total, sq) : sq;
      }
      Value norm = gb.unary(total, "sqrt");
      // torch.nn.utils.clip_grad_norm_: coef = max / (norm + 1e-6), at most 1.
      Value coef = gb.div(c(clipGradNorm), gb.add(norm, c(1e-6)));
      coef = MinOp::create(b, loc, coef, c(1.0), b.getBoolAttr(false));
      for (Value &g : used)
        g = gb.mul(g, coef);
    }

    SmallVector<Value> newParams;
    SmallVector<SmallVector<Value>> newMoments(moments.size());
    for (auto [i, p] : llvm::enumerate(params)) {
      Value g = used[i];
      Value param = p;
      if (weightDecay != 0.0) {
        if (optimizer == "adamw")
          param = gb.mul(param, gb.sub(c(1.0), gb.scale(lr, weightDecay)));
        else
          g = gb.add(g, gb.scale(p, weightDecay));
      }
      Value update; // what lr multiplies
      if (optimizer == "sgd") {
        update = g;
        if (momentum != 0.0) {
          Value buf = gb.add(gb.scale(moments[0][i], momentum), g);
          newMoments[0].push_back(buf);
          update = nesterov ? gb.add(g, gb.scale(buf, momentum)) : buf;
        }
        param = gb.sub(param, gb.mul(lr, update));
      } else if (optimizer == "adam" || optimizer == "adamw") {
        Value m = gb.add(gb.scale(moments[0][i], beta1), gb.scale(g, 1 - beta1));
        Value v = gb.add(gb.scale(moments[1][i], beta2),
                         gb.scale(gb.mul(g, g), 1 - beta2));
        newMoments[0].push_back(m);
        newMoments[1].push_back(v);
        // torch: step_size = lr / (1 - b1^t);
        // denom = sqrt(v) / sqrt(1 - b2^t) + eps.
        Value bc1 = gb.sub(c(1.0), gb.pow(c(beta1), newStep));
        Value bc2 = gb.sub(c(1.0), gb.pow(c(beta2), newStep));
        Value stepSize = gb.div(lr, bc1);
        Value denom = gb.add(gb.div(gb.unary(v, "sqrt"), gb.unary(bc2, "sqrt")),
                             c(epsilon));
        param = gb.sub(param, gb.mul(stepSize, gb.div(m, denom)));
      } else if (optimizer == "rmsprop") {
        Value v = gb.add(gb.scale(moments[0][i], alpha),
                         gb.scale(gb.mul(g, g), 1 - alpha));
        newMoments[0].push_back(v);
        Value denom = gb.add(gb.unary(v, "sqrt"), c(epsilon));
        param = gb.sub(param, gb.mul(lr, gb.div(g, denom)));
      } else { // adagrad
        Value s = gb.add(moments[0][i], gb.mul(g, g));
        newMoments[0].push_back(s);
        Value denom = gb.add(gb.unary(s, "sqrt"), c(epsilon));
        param = gb.sub(param, gb.mul(lr, gb.div(g, denom)));
      }
      newParams.push_back(param);
    }

    SmallVector<Value> results = {ret.getOperand(0)};
    SmallVector<DictionaryAttr> resultAttrs = {b.getDictionaryAttr({})};
    auto stateResult = [&](unsigned argIndex) {
      return b.getDictionaryAttr(
          {b.getNamedAttr("graph.state", func.getArgAttr(argIndex, "graph.state"))});
    };
    // Parameters and buffers in argument order.
    SmallVector<std::pair<unsigned, Value>> updated(buffers);
    for (auto [i, p] : llvm::enumerate(newParams))
      updated.emplace_back(cast<BlockArgument>(params[i]).getArgNumber(), p);
    llvm::sort(updated, [](const auto &l, const auto &r) { return l.first < r.first; });
    for (auto [arg, value] : updated) {
      results.push_back(value);
      resultAttrs.push_back(stateResult(arg));
    }
    for (auto [slot, values] : llvm::enumerate(newMoments))
      for (auto [i, v] : llvm::enumerate(values)) {
        results.push_back(v);
        resultAttrs.push_back(
            stateResult(cast<BlockArgument>(moments[slot][i]).getArgNumber()));
      }
    results.push_back(newStep);
    resultAttrs.push_back(stateResult(stepIndex));
    for (auto [g, name] : llvm::zip(grads, names)) {
      results.push_back(g);
      resultAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("graph.gradient_of", name)}));
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    func.setType(FunctionType::get(ctx, func.getArgumentTypes(),
                                   ValueRange(results).getTypes()));
    func.setAllResultAttrs(resultAttrs);
    func.setName("train_step");
    return success();
  }
};

} // namespace
