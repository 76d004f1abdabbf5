//===- Tensor.cpp - importers of shape and data-movement ops --------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

LogicalResult importIdentity(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  ctx.setOutput(0, x);
  return success();
}

LogicalResult importFlatten(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.error("axis " + Twine(axis) + " is out of range for rank " +
                     Twine(rank));
  if (axis < 0)
    axis += rank;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? rows : cols) *= type.getDimSize(d);
  Value result = ctx.build<graph::ReshapeOp>(
      x, ctx.builder.getDenseI64ArrayAttr({rows, cols}));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importReshape(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  SmallVector<int64_t> shape;
  if (ctx.opset < 5) {
    shape = ctx.intsAttr("shape");
  } else {
    auto s = ctx.constantInts(1);
    if (!s)
      return failure();
    shape = *s;
  }
  auto type = ImportContext::typeOf(x);
  bool allowZero = ctx.intAttr("allowzero", 0) != 0;
  // 0 copies the input dim (unless allowzero); one -1 is inferred.
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= type.getRank())
        return ctx.error("shape[" + Twine(i) + "] = 0 copies a dim the input "
                         "does not have");
      shape[i] = type.getDimSize(i);
    }
    if (shape[i] == -1) {
      if (inferred >= 0)
        return ctx.error("shape has more than one -1");
      inferred = i;
      continue;
    }
    if (shape[i] < 0)
      return ctx.error("shape[" + Twine(i) + "] = " + Twine(shape[i]) +
                       " is invalid");
    known *= shape[i];
  }
  if (inferred >= 0) {
    if (known == 0 || type.getNumElements() % known != 0)
      return ctx.error("cannot infer the -1 dim: " +
                       Twine(type.getNumElements()) +
                       " elements do not divide by " + Twine(known));
    shape[inferred] = type.getNumElements() / known;
  }
  Value result =
      ctx.build<graph::ReshapeOp>(x, ctx.builder.getDenseI64ArrayAttr(shape));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importTranspose(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int64_t rank = ImportContext::typeOf(x).getRank();
  SmallVector<int64_t> perm = ctx.intsAttr("perm");
  if (!ctx.attr("perm"))
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  Value result =
      ctx.build<graph::TransposeOp>(x, ctx.builder.getDenseI64ArrayAttr(perm));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importConcat(ImportContext &ctx) {
  SmallVector<Value> inputs;
  for (int i = 0; i < ctx.node->input_size(); ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    inputs.push_back(v);
  }
  if (inputs.empty())
    return ctx.error("needs at least one input");
  if (!ctx.attr("axis"))
    return ctx.error("the axis attribute is required");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0),
                                ImportContext::typeOf(inputs[0]).getRank());
  if (!axis)
    return failure();
  Value result =
      ctx.build<graph::ConcatOp>(inputs, ctx.builder.getI64IntegerAttr(*axis));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importConstant(ImportContext &ctx) {
  auto &b = ctx.builder;
  DenseElementsAttr value;
  if (const auto *a = ctx.attr("value")) {
    std::string message;
    auto attr = tensorProtoToAttr(b.getContext(), a->t(), message);
    if (failed(attr))
      return ctx.error(message);
    value = *attr;
  } else if (const auto *a = ctx.attr("value_float")) {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   a->f());
  } else if (const auto *a = ctx.attr("value_floats")) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getF32Type()),
        ArrayRef<float>(v));
  } else if (const auto *a = ctx.attr("value_int")) {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(a->i()));
  } else if (const auto *a = ctx.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    return ctx.error("only value, value_float(s) and value_int(s) constants "
                     "are supported");
  }
  ctx.setOutput(0, arith::ConstantOp::create(b, ctx.loc(), value));
  return success();
}

LogicalResult importPad(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input data")))
    return failure();
  std::string mode = ctx.stringAttr("mode", "constant");
  if (mode != "constant")
    return ctx.error("mode '" + mode + "' is not supported (only 'constant')");
  SmallVector<int64_t> pads;
  double value = 0.0;
  if (ctx.opset < 11) {
    pads = ctx.intsAttr(ctx.opset < 2 ? "paddings" : "pads");
    value = ctx.floatAttr("value", 0.0f);
  } else {
    auto p = ctx.constantInts(1);
    if (!p)
      return failure();
    pads = *p;
    if (ctx.optionalInput(2)) {
      auto v = ctx.constantFloat(2);
      if (!v)
        return failure();
      value = *v;
    }
    if (ctx.node->input_size() > 3 && !ctx.node->input(3).empty())
      return ctx.error("the axes input is not supported");
  }
  Value result = ctx.build<graph::PadOp>(
      x, ctx.builder.getDenseI64ArrayAttr(pads), ctx.builder.getF64FloatAttr(value));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

} // namespace

void addTensorImporters(std::vector<OpImporter> &table) {
  table.push_back({"Identity", "Tensor", 1, "", importIdentity});
  table.push_back({"Flatten", "Tensor", 1, "any axis", importFlatten});
  table.push_back({"Reshape", "Tensor", 1, "constant shape, 0, -1, allowzero",
                   importReshape});
  table.push_back({"Transpose", "Tensor", 1, "", importTranspose});
  table.push_back({"Concat", "Tensor", 1, "", importConcat});
  table.push_back({"Constant", "Tensor", 1, "dense values", importConstant});
  table.push_back({"Pad", "Tensor", 1, "constant mode", importPad});
}

} // namespace dlc::onnx_frontend
