//===- Loss.cpp - importers of loss functions -----------------------------===//
//
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, composed of graph
// ops (log-softmax, gather of the target class, weights, reductions) so that
// they lower, fuse and differentiate like any other graph.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// loss[n, d..] = -input[n, target[n, d..], d..] * weight[target], zero
/// where target == ignore_index, then reduced ("none", "sum" or "mean",
/// the mean dividing by the summed weights).
Value negativeLogLikelihood(ImportContext &ctx, Value input, Value target,
                            std::optional<Value> weight) {
  auto &b = ctx.builder;
  auto inType = ImportContext::typeOf(input);
  auto targetType = ImportContext::typeOf(target);
  Type elem = inType.getElementType();
  std::string reduction = ctx.stringAttr("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    (void)ctx.error("reduction '" + reduction + "' is not none, sum or mean");
    return {};
  }
  if (inType.getRank() < 2 || targetType.getRank() != inType.getRank() - 1) {
    (void)ctx.error("input must be [N, C, d...] and target [N, d...]");
    return {};
  }
  Type targetElem = targetType.getElementType();
  // A target that is a graph input is checked by the runtime before a call.
  if (isa<BlockArgument>(target)) {
    std::optional<int64_t> ignore;
    if (const auto *a = ctx.attr("ignore_index"))
      ignore = a->i();
    ctx.indexInputs[ctx.node->input(1)] = {inType.getDimSize(1), ignore};
  }
  auto intScalar = [&](int64_t v) {
    auto type = RankedTensorType::get({}, targetElem);
    return arith::ConstantOp::create(
        b, ctx.loc(), DenseElementsAttr::get(type, b.getIntegerAttr(targetElem, v)));
  };
  // Ignored positions read class 0 (any valid class) and get weight 0.
  Value ignored, safeTarget = target;
  if (const auto *a = ctx.attr("ignore_index")) {
    ignored = ctx.build<graph::EqualOp>(target, intScalar(a->i()));
    safeTarget = ignored ? ctx.build<graph::WhereOp>(ignored, intScalar(0), target) : Value();
    if (!safeTarget)
      return {};
  }
  SmallVector<int64_t> lifted(targetType.getShape());
  lifted.insert(lifted.begin() + 1, 1);
  Value index = ctx.build<graph::ReshapeOp>(safeTarget, b.getDenseI64ArrayAttr(lifted));
  Value picked = index ? ctx.build<graph::GatherElementsOp>(input, index, b.getI64IntegerAttr(1)) : Value();
  picked = picked ? ctx.build<graph::ReshapeOp>(picked, b.getDenseI64ArrayAttr(targetType.getShape())) : Value();
  Value loss = ctx.unary(picked, "neg");
  if (!loss)
    return {};
  Value w;
  if (weight)
    w = ctx.build<graph::GatherOp>(*weight, safeTarget, b.getI64IntegerAttr(0));
  if (ignored) {
    Value zero = ctx.scalar(elem, 0.0);
    w = ctx.build<graph::WhereOp>(ignored, zero, w ? w : ctx.scalar(elem, 1.0));
    if (w && ImportContext::typeOf(w).getShape() != targetType.getShape())
      w = ctx.build<graph::ExpandOp>(w, b.getDenseI64ArrayAttr(targetType.getShape()));
  }
  if (w)
    loss = ctx.build<graph::MulOp>(loss, w);
  if (!loss || reduction == "none")
    return loss;
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < targetType.getRank(); ++d)
    all.push_back(d);
  auto reduce = [&](Value v, StringRef kind) {
    return ctx.build<graph::ReduceOp>(v, b.getStringAttr(kind),
                                      b.getDenseI64ArrayAttr(all), b.getBoolAttr(false));
  };
  if (reduction == "sum")
    return reduce(loss, "sum");
  if (!w)
    return reduce(loss, "mean");
  Value total = reduce(loss, "sum"), norm = reduce(w, "sum");
  return total && norm ? ctx.build<graph::DivOp>(total, norm) : Value();
}

LogicalResult importNegativeLogLikelihoodLoss(ImportContext &ctx) {
  Value input = ctx.input(0), target = ctx.input(1);
  if (!input || !target || failed(ctx.requireFloat(input, "input")))
    return failure();
  Value loss = negativeLogLikelihood(ctx, input, target, ctx.optionalInput(2));
  ctx.setOutput(0, loss);
  return success(static_cast<bool>(loss));
}

LogicalResult importSoftmaxCrossEntropyLoss(ImportContext &ctx) {
  Value scores = ctx.input(0), labels = ctx.input(1);
  if (!scores || !labels || failed(ctx.requireFloat(scores, "scores")))
    return failure();
  if (ImportContext::typeOf(scores).getRank() < 2)
    return ctx.error("scores must be [N, C, d...]");
  Value logProb = ctx.build<graph::LogSoftmaxOp>(scores, ctx.builder.getI64IntegerAttr(1));
  Value loss = logProb ? negativeLogLikelihood(ctx, logProb, labels, ctx.optionalInput(2))
                       : Value();
  ctx.setOutput(0, loss);
  ctx.setOutput(1, logProb);
  return success(static_cast<bool>(loss));
}

} // namespace

void addLossImporters(std::vector<OpImporter> &table) {
  table.push_back({"NegativeLogLikelihoodLoss", "Loss", 12,
                   "every reduction, weights, ignore_index",
                   importNegativeLogLikelihoodLoss});
  table.push_back({"SoftmaxCrossEntropyLoss", "Loss", 12,
                   "every reduction, weights, ignore_index, log_prob output",
                   importSoftmaxCrossEntropyLoss});
}

} // namespace dlc::onnx_frontend
