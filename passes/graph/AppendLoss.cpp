//===- AppendLoss.cpp - a loss on the model's first output ----------------===//
//
// `dlc model.onnx --train --loss=...` trains a model that does not end in a
// loss: the loss is appended here, in graph ops, in a copy of the model
// function, so that the inference model stays what the user gave. The
// definitions and the default reduction (mean) are PyTorch's.
//
//===----------------------------------------------------------------------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphGradient.h"

#include "llvm/ADT/StringExtras.h"

namespace dlc::graph {
#define GEN_PASS_DEF_APPENDLOSS
#include "passes/graph/Passes.h.inc"

llvm::ArrayRef<llvm::StringRef> trainingLosses() {
  static const llvm::StringRef names[] = {
      "mse", "l1", "huber", "bce", "bce-with-logits", "cross-entropy",
      "nll", "kl-div", "hinge"};
  return names;
}
} // namespace dlc::graph

using namespace mlir;
using namespace dlc::graph;

namespace {

bool usesClassIndices(StringRef loss) {
  return loss == "cross-entropy" || loss == "nll";
}

struct AppendLossPass
    : public dlc::graph::impl::AppendLossBase<AppendLossPass> {
  using AppendLossBase::AppendLossBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto model = module.lookupSymbol<func::FuncOp>(function);
    if (!model) {
      module.emitError("no function '") << function << "'";
      return signalPassFailure();
    }
    if (!llvm::is_contained(dlc::graph::trainingLosses(), loss)) {
      model.emitError("unknown loss '")
          << loss << "' (" << llvm::join(dlc::graph::trainingLosses(), ", ")
          << ")";
      return signalPassFailure();
    }
    auto outType = model.getNumResults()
                       ? dyn_cast<RankedTensorType>(model.getResultTypes()[0])
                       : RankedTensorType();
    if (!outType || !outType.getElementType().isF32() ||
        (usesClassIndices(loss) && outType.getRank() < 2)) {
      model.emitError("the first result cannot take the loss '")
          << loss << "': it must be float32"
          << (usesClassIndices(loss) ? " [N, C, ...]" : "");
      return signalPassFailure();
    }

    // Cross-entropy takes logits; a softmax output would be normalized twice
    // (PyTorch's F.cross_entropy has the same contract).
    if (loss == "cross-entropy") {
      Value first = model.getBody().front().getTerminator()->getOperand(0);
      if (first.getDefiningOp<SoftmaxOp>() || first.getDefiningOp<LogSoftmaxOp>())
        first.getDefiningOp()->emitWarning(
            "the loss cross-entropy takes logits, and the model's first "
            "output is already a (log-)softmax: use --loss=nll on a "
            "log-softmax, or the logits");
    }
    auto withLoss = cast<func::FuncOp>(model->clone());
    withLoss.setName(function + "_loss");
    OpBuilder b(model);
    b.setInsertionPointAfter(model);
    b.insert(withLoss);

    // labels goes after the model inputs, before the parameters.
    unsigned index = withLoss.getNumArguments();
    for (unsigned i = 0; i < withLoss.getNumArguments(); ++i)
      if (withLoss.getArgAttr(i, "graph.parameter") ||
          withLoss.getArgAttr(i, "graph.buffer")) {
        index = i;
        break;
      }
    RankedTensorType labelsType = outType;
    if (usesClassIndices(loss)) {
      SmallVector<int64_t> shape(outType.getShape());
      shape.erase(shape.begin() + 1);
      labelsType = RankedTensorType::get(shape, b.getI64Type());
    }
    if (failed(withLoss.insertArgument(
            index, labelsType,
            b.getDictionaryAttr(
                {b.getNamedAttr("graph.labels", b.getUnitAttr())}),
            withLoss.getLoc())))
      return signalPassFailure();
    Value labels = withLoss.getArgument(index);

    auto ret = cast<func::ReturnOp>(withLoss.getBody().front().getTerminator());
    b.setInsertionPoint(ret);
    GradientBuilder gb(b, withLoss.getLoc());
    Value value = buildLoss(gb, ret.getOperand(0), labels);
    if (!value)
      return signalPassFailure();

    // The loss, then the buffer updates; the model's other outputs go.
    SmallVector<Value> results = {value};
    SmallVector<DictionaryAttr> attrs = {b.getDictionaryAttr({})};
    for (unsigned i = 1; i < ret.getNumOperands(); ++i)
      if (auto dict = withLoss.getResultAttrDict(i);
          dict && dict.get("graph.buffer_update")) {
        results.push_back(ret.getOperand(i));
        attrs.push_back(dict);
      }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    withLoss.setType(FunctionType::get(&getContext(),
                                       withLoss.getArgumentTypes(),
                                       ValueRange(results).getTypes()));
    withLoss.setAllResultAttrs(attrs);
  }

  Value meanOf(GradientBuilder &gb, Value v) {
    auto all = llvm::to_vector(
        llvm::seq<int64_t>(0, GradientBuilder::typeOf(v).getRank()));
    return gb.reduce(v, "mean", all, false);
  }
  Value sumOf(GradientBuilder &gb, Value v) {
    auto all = llvm::to_vector(
        llvm::seq<int64_t>(0, GradientBuilder::typeOf(v).getRank()));
    return gb.sum(v, all, false);
  }

  Value buildLoss(GradientBuilder &gb, Value y, Value t) {
    Type f32 = gb.b.getF32Type();
    auto c = [&](double v) { return gb.scalar(f32, v); };
    if (loss == "mse") {
      Value d = gb.sub(y, t);
      return meanOf(gb, gb.mul(d, d));
    }
    if (loss == "l1")
      return meanOf(gb, gb.unary(gb.sub(y, t), "abs"));
    if (loss == "huber") {
      Value d = gb.unary(gb.sub(y, t), "abs");
      Value quadratic = gb.scale(gb.mul(d, d), 0.5);
      Value linear = gb.scale(gb.sub(d, c(0.5 * delta)), delta);
      return meanOf(gb, gb.where(gb.greater(c(delta), d), quadratic, linear));
    }
    if (loss == "bce") {
      // torch clamps each log at -100 so that y = 0 or 1 stays finite. The
      // argument is kept above 1e-44 (log: -101.3, clamped the same), so
      // that a saturated y = 0 or 1 also gets a finite (zero) gradient
      // instead of 0 * (1 / 0).
      auto clampedLog = [&](Value v) {
        Value safe = MaxOp::create(gb.b, gb.loc, v, c(1e-44),
                                   gb.b.getBoolAttr(false));
        return MaxOp::create(gb.b, gb.loc, gb.unary(safe, "log"), c(-100.0),
                             gb.b.getBoolAttr(false));
      };
      Value pos = gb.mul(t, clampedLog(y));
      Value neg = gb.mul(gb.sub(c(1.0), t), clampedLog(gb.sub(c(1.0), y)));
      return gb.neg(meanOf(gb, gb.add(pos, neg)));
    }
    if (loss == "bce-with-logits") {
      // max(x, 0) - x t + log(1 + exp(-|x|)), stable for large |x|.
      Value relu = ReluOp::create(gb.b, gb.loc, y);
      Value soft = gb.unary(gb.add(c(1.0), gb.unary(gb.neg(gb.unary(y, "abs")), "exp")),
                            "log");
      return meanOf(gb, gb.add(gb.sub(relu, gb.mul(y, t)), soft));
    }
    if (loss == "kl-div") {
      // torch.nn.KLDivLoss (reduction mean): y holds log-probabilities, t
      // probabilities; terms with t = 0 are 0 (xlogy), a negative t is nan
      // as in torch (and stops the step as a non-finite loss).
      Value term = gb.mul(t, gb.sub(gb.unary(t, "log"), y));
      return meanOf(gb, gb.where(gb.equal(t, c(0.0)), c(0.0), term));
    }
    if (loss == "hinge") // labels are +1 / -1
      return meanOf(gb, ReluOp::create(gb.b, gb.loc,
                                       gb.sub(c(1.0), gb.mul(y, t))));
    return classLoss(gb, y, t);
  }

  /// cross-entropy (on logits) and nll (on log-probabilities), with class
  /// weights, ignore_index and label smoothing as torch.nn.CrossEntropyLoss:
  /// mean = sum_i w[t_i] * l_i / sum_i w[t_i] over the rows not ignored.
  Value classLoss(GradientBuilder &gb, Value y, Value t) {
    auto yType = GradientBuilder::typeOf(y);
    int64_t classes = yType.getDimSize(1);
    if (!classWeights.empty() &&
        static_cast<int64_t>(classWeights.size()) != classes) {
      emitError(gb.loc) << "--class-weights has " << classWeights.size()
                        << " values for " << classes << " classes";
      return {};
    }
    Type f32 = gb.b.getF32Type(), i64 = gb.b.getI64Type();
    Value logp = loss == "cross-entropy"
                     ? Value(LogSoftmaxOp::create(gb.b, gb.loc, y, 1))
                     : y;
    Value ignored = gb.equal(t, gb.scalar(i64, ignoreIndex));
    Value safe = gb.where(ignored, gb.scalar(i64, 0), t);
    auto tShape = GradientBuilder::typeOf(t).getShape();
    SmallVector<int64_t> lifted(tShape);
    lifted.insert(lifted.begin() + 1, 1);
    Value index = gb.reshape(safe, lifted);
    Value picked = gb.reshape(
        GatherElementsOp::create(gb.b, gb.loc, logp, index, 1), tShape);
    // Per-row weight: w[t_i], 0 where ignored.
    Value w = gb.scalar(f32, 1.0);
    Value weights;
    if (!classWeights.empty()) {
      SmallVector<double> values(classWeights.begin(), classWeights.end());
      weights = gb.floatConstant({classes}, f32, values);
      w = GatherOp::create(gb.b, gb.loc, weights, safe, 0);
    }
    w = gb.where(ignored, gb.scalar(f32, 0.0), w);
    w = gb.expand(w, tShape);
    Value norm = sumOf(gb, w);
    Value nll = gb.div(sumOf(gb, gb.neg(gb.mul(picked, w))), norm);
    if (labelSmoothing == 0.0)
      return nll;
    // torch: (1 - e) * nll + e / C * sum_i rowweight_i * sum_c(-w_c logp_ic)
    // / norm, the row weight being 0 for ignored rows.
    Value perClass = gb.neg(logp);
    if (weights) {
      SmallVector<int64_t> shape(yType.getRank(), 1);
      shape[1] = classes;
      perClass = gb.mul(perClass, gb.reshape(weights, shape));
    }
    Value rowSum = gb.reshape(gb.sum(perClass, {1}, true), tShape);
    Value keep = gb.where(ignored, gb.scalar(f32, 0.0), gb.scalar(f32, 1.0));
    Value smooth = gb.div(sumOf(gb, gb.mul(rowSum, keep)), norm);
    return gb.add(gb.scale(nll, 1.0 - labelSmoothing),
                  gb.scale(smooth, labelSmoothing / classes));
  }
};

} // namespace
