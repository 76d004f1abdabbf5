//===- Reduce.cpp - importers of reductions and normalizations ------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// ReduceSum, ReduceMean, ...: axes from the attribute, or (ReduceSum from
/// opset 13, the others from 18) from the optional second input, constant
/// or read at run time; no axes means all of them unless
/// noop_with_empty_axes.
OpImportFn reduceImporter(std::string kind) {
  return [kind](ImportContext &ctx) -> LogicalResult {
    Value x = ctx.input(0);
    if (!x || failed(ctx.requireFloat(x, "input data")))
      return failure();
    int64_t rank = ImportContext::typeOf(x).getRank();
    SmallVector<int64_t> axes = ctx.intsAttr("axes");
    bool axesFromInput = kind == "sum" ? ctx.opset >= 13 : ctx.opset >= 18;
    bool keepdims = ctx.intAttr("keepdims", 1) != 0;
    auto &b = ctx.builder;
    if (axesFromInput && ctx.optionalInput(1) && ctx.isRuntimeValue(1) &&
        ImportContext::typeOf(ctx.input(1)).getNumElements() != 0) {
      // Axes given at run time: which dims the result keeps is decided by
      // the call (an empty axes input is known to be empty here).
      int64_t given = ImportContext::typeOf(ctx.input(1)).getNumElements();
      if (!keepdims && given > rank)
        return ctx.error("input '" + ctx.node->input(1) + "' has " +
                         Twine(given) + " axes, more than the " + Twine(rank) +
                         " dims that keepdims=0 can remove");
      Value axesValue = ctx.runtimeInts(1);
      Value result = axesValue
                         ? ctx.build<graph::RuntimeReduceOp>(
                               x, axesValue, b.getStringAttr(kind),
                               b.getBoolAttr(keepdims),
                               ctx.runtimeMessage(
                                   "input '" + ctx.node->input(1) +
                                   "' holds an axis outside [" + Twine(-rank) +
                                   ", " + Twine(rank - 1) + "]" +
                                   (keepdims ? "" : ", or one twice")),
                               IntegerAttr())
                         : Value();
      ctx.setOutput(0, result);
      return success(static_cast<bool>(result));
    }
    if (axesFromInput && ctx.optionalInput(1) &&
        ImportContext::typeOf(ctx.input(1)).getNumElements() != 0) {
      auto given = ctx.constantInts(1);
      if (!given)
        return failure();
      axes = *given;
    }
    if (axes.empty()) {
      if (ctx.intAttr("noop_with_empty_axes", 0) != 0) {
        ctx.setOutput(0, x);
        return success();
      }
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    }
    SmallVector<int64_t> normalized;
    for (int64_t a : axes) {
      auto axis = ctx.normalizeAxis(a, rank);
      if (!axis)
        return failure();
      if (!llvm::is_contained(normalized, *axis))
        normalized.push_back(*axis);
    }
    llvm::sort(normalized);
    Value result = ctx.build<graph::ReduceOp>(
        x, b.getStringAttr(kind), b.getDenseI64ArrayAttr(normalized),
        b.getBoolAttr(keepdims));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  };
}

OpImportFn argReduceImporter(std::string kind) {
  return [kind](ImportContext &ctx) -> LogicalResult {
    Value x = ctx.input(0);
    if (!x || failed(ctx.requireFloat(x, "input data")))
      return failure();
    auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0),
                                  ImportContext::typeOf(x).getRank());
    if (!axis)
      return failure();
    auto &b = ctx.builder;
    Value result = ctx.build<graph::ArgReduceOp>(
        x, b.getStringAttr(kind), b.getI64IntegerAttr(*axis),
        b.getBoolAttr(ctx.intAttr("keepdims", 1) != 0),
        b.getBoolAttr(ctx.intAttr("select_last_index", 0) != 0));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  };
}

LogicalResult importLayerNormalization(ImportContext &ctx) {
  Value x = ctx.input(0), scale = ctx.input(1);
  if (!x || !scale || failed(ctx.requireFloat(x, "input X")))
    return failure();
  std::optional<Value> bias = ctx.optionalInput(2);
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", -1),
                                ImportContext::typeOf(x).getRank());
  if (!axis)
    return failure();
  if (ctx.intAttr("stash_type", 1) != 1)
    return ctx.error("stash_type other than float32 is not supported");
  auto &b = ctx.builder;
  auto op = graph::LayerNormOp::create(
      b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType(), b.getNoneType()},
      x, scale, bias ? *bias : Value(), b.getI64IntegerAttr(*axis),
      b.getF32FloatAttr(ctx.floatAttr("epsilon", 1e-5f)));
  if (failed(ctx.inferResultTypes(op)))
    return failure();
  for (int i = 0; i < 3; ++i)
    ctx.setOutput(i, op->getResult(i));
  return success();
}

} // namespace

void addReduceImporters(std::vector<OpImporter> &table) {
  const std::pair<const char *, const char *> reductions[] = {
      {"ReduceSum", "sum"},         {"ReduceMean", "mean"},
      {"ReduceMax", "max"},         {"ReduceMin", "min"},
      {"ReduceProd", "prod"},       {"ReduceL1", "l1"},
      {"ReduceL2", "l2"},           {"ReduceLogSum", "log_sum"},
      {"ReduceLogSumExp", "log_sum_exp"}, {"ReduceSumSquare", "sum_square"}};
  for (auto [onnx, kind] : reductions)
    table.push_back({onnx, "Reduce", 1,
                     "float, axes constant or at run time, keepdims",
                     reduceImporter(kind)});
  table.push_back({"ArgMax", "Reduce", 1, "float, select_last_index",
                   argReduceImporter("max")});
  table.push_back({"ArgMin", "Reduce", 1, "float, select_last_index",
                   argReduceImporter("min")});
  table.push_back({"LayerNormalization", "Reduce", 17, "any axis",
                   importLayerNormalization});
}

} // namespace dlc::onnx_frontend
