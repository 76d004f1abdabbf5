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

#include "llvm/ADT/StringExtras.h"

namespace dlc::graph {
#define GEN_PASS_DEF_APPLYOPTIMIZER
#include "passes/graph/Passes.h.inc"

llvm::ArrayRef<llvm::StringRef> trainingOptimizers() {
  static const llvm::StringRef names[] = {"sgd", "adam", "adamw", "rmsprop",
                                          "adagrad"};
  return names;
}
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

  /// The optimizer's new parameters, moments and step counter.
  struct Update {
    SmallVector<Value> params;
    SmallVector<SmallVector<Value>> moments;
    Value step;
  };

  Update buildUpdate(OpBuilder &b, Location loc, Value lr,
                     ArrayRef<Value> params,
                     ArrayRef<SmallVector<Value>> moments, Value step,
                     ArrayRef<Value> grads) {
    double epsilon = eps >= 0 ? eps : (optimizer == "adagrad" ? 1e-10 : 1e-8);
    GradientBuilder gb(b, loc);
    Type f32 = b.getF32Type();
    auto c = [&](double v) { return gb.scalar(f32, v); };
    Update out;
    out.step = gb.add(step, c(1.0));
    Value newStep = out.step;

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

    out.moments.resize(moments.size());
    for (auto [i, p] : llvm::enumerate(params)) {
      Value g = used[i];
      Value param = p;
      if (weightDecay != 0.0) {
        if (optimizer == "adamw")
          param = gb.mul(param, gb.sub(c(1.0), gb.scale(lr, weightDecay)));
        else
          g = gb.add(g, gb.scale(p, weightDecay));
      }
      if (optimizer == "sgd") {
        Value direction = g; // what lr multiplies
        if (momentum != 0.0) {
          Value buf = gb.add(gb.scale(moments[0][i], momentum), g);
          out.moments[0].push_back(buf);
          direction = nesterov ? gb.add(g, gb.scale(buf, momentum)) : buf;
        }
        param = gb.sub(param, gb.mul(lr, direction));
      } else if (optimizer == "adam" || optimizer == "adamw") {
        Value m = gb.add(gb.scale(moments[0][i], beta1), gb.scale(g, 1 - beta1));
        Value v = gb.add(gb.scale(moments[1][i], beta2),
                         gb.scale(gb.mul(g, g), 1 - beta2));
        out.moments[0].push_back(m);
        out.moments[1].push_back(v);
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
        out.moments[0].push_back(v);
        Value denom = gb.add(gb.unary(v, "sqrt"), c(epsilon));
        param = gb.sub(param, gb.mul(lr, gb.div(g, denom)));
      } else { // adagrad
        Value sum = gb.add(moments[0][i], gb.mul(g, g));
        out.moments[0].push_back(sum);
        Value denom = gb.add(gb.unary(sum, "sqrt"), c(epsilon));
        param = gb.sub(param, gb.mul(lr, gb.div(g, denom)));
      }
      out.params.push_back(param);
    }
    return out;
  }

  /// apply_gradients(lr, state..., gradients...) -> new state: the update of
  /// train_step from gradients the caller gives (data-parallel training sums
  /// them across workers); buffers keep their values.
  LogicalResult buildApplyGradients(func::FuncOp step, unsigned lrIndex,
                                    ArrayRef<Value> grads) {
    OpBuilder b(step);
    b.setInsertionPointAfter(step);
    Location loc = step.getLoc();
    SmallVector<Type> types = {step.getArgumentTypes()[lrIndex]};
    SmallVector<DictionaryAttr> argAttrs = {b.getDictionaryAttr({})};
    SmallVector<unsigned> stateArgs;
    for (unsigned i = lrIndex + 1; i < step.getNumArguments(); ++i) {
      stateArgs.push_back(i);
      types.push_back(step.getArgumentTypes()[i]);
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("graph.state", step.getArgAttr(i, "graph.state"))}));
    }
    for (Value g : grads) {
      types.push_back(g.getType());
      argAttrs.push_back(b.getDictionaryAttr({}));
    }
    auto apply = func::FuncOp::create(b, loc, "apply_gradients",
                                      b.getFunctionType(types, {}));
    apply.setAllArgAttrs(argAttrs);
    Block *body = apply.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value lr = body->getArgument(0);
    SmallVector<Value> state(body->getArguments().begin() + 1,
                             body->getArguments().begin() + 1 + stateArgs.size());
    SmallVector<Value> applied(body->getArguments().begin() + 1 + stateArgs.size(),
                               body->getArguments().end());
    SmallVector<Value> params, stepValue;
    SmallVector<SmallVector<Value>> moments(slots().size());
    SmallVector<StringRef> roles;
    for (auto [i, v] : llvm::enumerate(state)) {
      auto attr = cast<DictionaryAttr>(step.getArgAttr(stateArgs[i], "graph.state"));
      StringRef role = cast<StringAttr>(attr.get("role")).getValue();
      roles.push_back(role);
      if (role == "parameter")
        params.push_back(v);
      else if (role == "step")
        stepValue.push_back(v);
    }
    // Moments are slot-major, one per parameter.
    unsigned m = 0;
    for (auto [i, v] : llvm::enumerate(state))
      if (roles[i] == "moment") {
        moments[m / params.size()].push_back(v);
        ++m;
      }
    if (stepValue.size() != 1 || applied.size() != params.size())
      return step.emitError("internal error: unexpected training state");
    Update update = buildUpdate(b, loc, lr, params, moments, stepValue[0], applied);
    SmallVector<Value> results;
    unsigned p = 0;
    m = 0;
    for (auto [i, v] : llvm::enumerate(state)) {
      if (roles[i] == "parameter")
        results.push_back(update.params[p++]);
      else if (roles[i] == "moment") {
        results.push_back(update.moments[m / params.size()][m % params.size()]);
        ++m;
      } else if (roles[i] == "step")
        results.push_back(update.step);
      else
        results.push_back(v); // buffers
    }
    func::ReturnOp::create(b, loc, results);
    apply.setType(b.getFunctionType(types, ValueRange(results).getTypes()));
    return success();
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
    if (!llvm::is_contained(dlc::graph::trainingOptimizers(), optimizer))
      return func.emitError("unknown optimizer '")
             << optimizer << "' ("
             << llvm::join(dlc::graph::trainingOptimizers(), ", ") << ")";
    if (nesterov && momentum <= 0.0)
      return func.emitError("Nesterov momentum needs a momentum > 0");

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
    // Dropout draws a new mask every step: its counter is the step count.
    func.walk([&](DropoutMaskOp mask) {
      if (!mask.getCounter())
        mask.getCounterMutable().assign(step);
    });

    b.setInsertionPoint(ret);
    Update update = buildUpdate(b, loc, lr, params, moments, step, grads);
    SmallVector<Value> &newParams = update.params;
    SmallVector<SmallVector<Value>> &newMoments = update.moments;
    Value newStep = update.step;

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
    return buildApplyGradients(func, firstParam, grads);
  }
};

} // namespace
