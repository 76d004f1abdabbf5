//===- Tensor.cpp - importers of shape and data-movement ops --------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

LogicalResult importIdentity(ImportContext &ctx) {
  std::optional<OnnxValue> x = ctx.valueInput(0);
  if (!x)
    return failure();
  ctx.setValueOutput(0, *x);
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
  for (int64_t d = 0; d < rank; ++d) {
    int64_t &side = d < axis ? rows : cols;
    // A dim known only at run time makes its side one too.
    side = ShapedType::isDynamic(side) || type.isDynamicDim(d)
               ? ShapedType::kDynamic
               : side * type.getDimSize(d);
  }
  Value result = ctx.build<graph::ReshapeOp>(
      x, ctx.builder.getDenseI64ArrayAttr({rows, cols}));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Reshape to a shape value of dims known only at run time (Shape
/// arithmetic on them): the result's dims are the shape's symbols and
/// constants, a 0 copies the input's dim, one -1 takes the static rest. The
/// element count must be provably the same, and graph.reshape's contract
/// kept (its k-th run-time dim is the input's k-th): the input's and the
/// result's run-time dims the same symbols in the same order, their static
/// dims the same product.
LogicalResult
importSymbolicReshape(ImportContext &ctx, Value x,
                      ArrayRef<ImportContext::ShapeElement> elements) {
  auto type = ImportContext::typeOf(x);
  SmallVector<int64_t> inSymbols =
      ctx.dimSymbols.count(x) ? ctx.dimSymbols[x]
                              : SmallVector<int64_t>(type.getRank(), -1);
  bool allowZero = ctx.intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> dims, symbols, inDynamic, outDynamic;
  int64_t inStatic = 1, outStatic = 1, inferred = -1;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      inStatic *= type.getDimSize(d);
    else if (inSymbols[d] < 0)
      return ctx.error("input 'data' has a dim known only at run time "
                       "without a name; dlc reshapes it by a shape computed "
                       "from named dims only");
    else
      inDynamic.push_back(inSymbols[d]);
  }
  for (auto [i, e] : llvm::enumerate(elements)) {
    int64_t d = static_cast<int64_t>(i);
    if (e.symbol >= 0) {
      dims.push_back(ShapedType::kDynamic);
      symbols.push_back(e.symbol);
      outDynamic.push_back(e.symbol);
      continue;
    }
    if (e.value == 0 && !allowZero) {
      if (d >= type.getRank())
        return ctx.error("shape[" + Twine(d) +
                         "] = 0 copies a dim the input does not have");
      dims.push_back(type.getDimSize(d));
      symbols.push_back(inSymbols[d]);
      if (type.isDynamicDim(d))
        outDynamic.push_back(inSymbols[d]);
      else
        outStatic *= type.getDimSize(d);
      continue;
    }
    if (e.value == -1 && inferred < 0) {
      inferred = d;
      dims.push_back(1);
      symbols.push_back(-1);
      continue;
    }
    if (e.value < 0)
      return ctx.error("shape[" + Twine(d) + "] = " + Twine(e.value) +
                       " is not a size");
    if (e.value > 0 && outStatic > kMaxTensorElements / e.value)
      return ctx.error("shape[" + Twine(d) + "] = " + Twine(e.value) +
                       " makes more than " + Twine(kMaxTensorElements) +
                       " elements");
    dims.push_back(e.value);
    symbols.push_back(-1);
    outStatic *= e.value;
  }
  bool provable = inDynamic == outDynamic &&
                  (inferred >= 0 ? outStatic > 0 && inStatic % outStatic == 0
                                 : inStatic == outStatic);
  if (!provable)
    return ctx.error("dlc cannot tell that the shape computed from dims known "
                     "only at run time keeps the input's element count (it "
                     "takes the same named dims on both sides, in the same "
                     "order, and static dims of one product): pin the dims "
                     "with --dim");
  if (inferred >= 0)
    dims[inferred] = inStatic / outStatic;
  Value result =
      ctx.build<graph::ReshapeOp>(x, ctx.builder.getDenseI64ArrayAttr(dims));
  if (result)
    ctx.dimSymbols[result] = symbols;
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importReshape(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  SmallVector<int64_t> shape;
  if (ctx.opset >= 5) {
    if (const auto *symbolic = shapeValueOf(ctx, 1))
      return importSymbolicReshape(ctx, x, *symbolic);
  }
  if (ctx.opset < 5 && !ImportContext::typeOf(x).hasStaticShape()) {
    return ctx.error("with dims known only at run time, dlc takes Reshape "
                     "from opset 5 on");
  } else if (ctx.opset < 5) {
    shape = ctx.intsAttr("shape");
  } else if (!ImportContext::typeOf(x).hasStaticShape()) {
    // Dims known only at run time: a constant shape that keeps dim 0 (0 or
    // -1 there) and reshapes the rest of each sample.
    auto type = ImportContext::typeOf(x);
    std::optional<SmallVector<int64_t>> s;
    if (!ctx.isRuntimeValue(1))
      s = ctx.constantInts(1);
    int64_t sample = 1, target = 1;
    for (int64_t d = 1; d < type.getRank(); ++d)
      sample *= type.getDimSize(d);
    bool ok = s && !s->empty() && ((*s)[0] == -1 || (*s)[0] == 0) &&
              ctx.intAttr("allowzero", 0) == 0;
    for (size_t i = 1; ok && i < s->size(); ++i) {
      int64_t d = (*s)[i] == 0 && static_cast<int64_t>(i) < type.getRank()
                      ? type.getDimSize(i)
                      : (*s)[i];
      ok = d > 0;
      target *= ok ? d : 1;
      shape.push_back(d);
    }
    if (!ok || target != sample)
      return ctx.error("with dims known only at run time, dlc takes a "
                       "constant shape that keeps dim 0 (0 or -1 there) and "
                       "reshapes the rest of each sample");
    shape.insert(shape.begin(), ShapedType::kDynamic);
    Value result =
        ctx.build<graph::ReshapeOp>(x, ctx.builder.getDenseI64ArrayAttr(shape));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  } else if (ctx.isRuntimeValue(1)) {
    Value shapeValue = ctx.runtimeInts(1);
    Value result =
        shapeValue
            ? ctx.build<graph::RuntimeReshapeOp>(
                  x, shapeValue,
                  ctx.builder.getBoolAttr(ctx.intAttr("allowzero", 0) != 0),
                  ctx.runtimeMessage(
                      "input '" + ctx.node->input(1) +
                      "' is not a shape of the input's " +
                      Twine(ImportContext::typeOf(x).getNumElements()) +
                      " elements (a dim below -1, more than one -1, a 0 "
                      "past the input's dims, or another element count)"),
                  IntegerAttr())
            : Value();
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
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
    // Each factor and the running product stay within what a tensor may
    // hold, so the product cannot overflow.
    if (shape[i] > kMaxTensorElements ||
        (known *= shape[i]) > kMaxTensorElements)
      return ctx.error("shape[" + Twine(i) + "] = " + Twine(shape[i]) +
                       ": the shape has more than " +
                       Twine(kMaxTensorElements) +
                       " elements (dlc's limit per tensor)");
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
    auto attr = tensorProtoToAttr(b.getContext(), a->t(), message,
                                  ctx.modelDir());
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
  if (!x)
    return failure();
  std::string mode = ctx.stringAttr("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return ctx.error("mode '" + mode +
                     "' is not constant, reflect, edge or wrap");
  SmallVector<int64_t> pads;
  double value = 0.0;
  if (ctx.opset < 11) {
    pads = ctx.intsAttr(ctx.opset < 2 ? "paddings" : "pads");
    value = ctx.floatAttr("value", 0.0f);
  } else if (!ctx.optionalInput(3) && ctx.isRuntimeValue(1)) {
    // `axes` keeps pads a compile-time constant.
    Value padsValue = ctx.runtimeInts(1);
    auto type = ImportContext::typeOf(x);
    Value fill = ctx.optionalInput(2)
                     ? ctx.build<graph::ReshapeOp>(
                           ctx.input(2), ctx.builder.getDenseI64ArrayAttr({}))
                     : ctx.scalar(type.getElementType(), 0.0);
    Value result =
        padsValue && fill
            ? ctx.build<graph::RuntimePadOp>(
                  x, padsValue, fill, ctx.builder.getStringAttr(mode),
                  ctx.runtimeMessage(
                      "input '" + ctx.node->input(1) + "' crops a dim below 0" +
                      (mode == "constant"
                           ? ""
                           : ", or pads a dim cropped to nothing") +
                      ", or the result has more than " +
                      Twine(kMaxTensorElements) + " elements"),
                  IntegerAttr())
            : Value();
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  } else {
    auto p = ctx.constantInts(1);
    if (!p)
      return failure();
    pads = *p;
    if (ctx.optionalInput(2)) {
      Value given = ctx.input(2);
      DenseElementsAttr attr;
      if (!matchPattern(given, m_Constant(&attr)) || attr.getNumElements() != 1)
        return ctx.error("input '" + ctx.node->input(2) +
                         "' must be a compile-time constant scalar");
      Attribute v = *attr.getValues<Attribute>().begin();
      value = isa<FloatAttr>(v) ? cast<FloatAttr>(v).getValueAsDouble()
                                : static_cast<double>(cast<IntegerAttr>(v).getInt());
    }
    // Opset 18: pads for the listed axes only, the others unpadded.
    if (ctx.optionalInput(3)) {
      auto axes = ctx.constantInts(3);
      if (!axes)
        return failure();
      int64_t rank = ImportContext::typeOf(x).getRank();
      if (pads.size() != 2 * axes->size())
        return ctx.error("pads needs two values per axis in 'axes'");
      SmallVector<int64_t> full(2 * rank, 0);
      for (auto [i, a] : llvm::enumerate(*axes)) {
        auto axis = ctx.normalizeAxis(a, rank);
        if (!axis)
          return failure();
        full[*axis] = pads[i];
        full[*axis + rank] = pads[i + axes->size()];
      }
      pads = full;
    }
  }
  Value result = ctx.build<graph::PadOp>(
      x, ctx.builder.getDenseI64ArrayAttr(pads), ctx.builder.getF64FloatAttr(value),
      ctx.builder.getStringAttr(mode));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// A constant int64 tensor of `values` with `shape`.
Value intConstant(ImportContext &ctx, ArrayRef<int64_t> values,
                  ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, ctx.builder.getI64Type());
  return arith::ConstantOp::create(ctx.builder, ctx.loc(),
                                   DenseElementsAttr::get(type, values));
}

LogicalResult importShape(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  // Static shapes: Shape is a compile-time constant.
  ArrayRef<int64_t> shape = ImportContext::typeOf(x).getShape();
  int64_t rank = shape.size();
  int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<int64_t> dims(shape.begin() + start, shape.begin() + end);
  ctx.setOutput(0, intConstant(ctx, dims, {(int64_t)dims.size()}));
  return success();
}

LogicalResult importSize(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  ctx.setOutput(0, intConstant(ctx, {ImportContext::typeOf(x).getNumElements()}, {}));
  return success();
}

/// The indices of Gather-like ops must lie in [-n, n) for an axis of n
/// entries: constant indices are checked now; others get a graph
/// check_indices that fails the call at run time (the op itself clamps).
LogicalResult checkIndices(ImportContext &ctx, Value indices, int64_t n,
                           int64_t axis, const std::string &component = "") {
  std::string what = "input '" + ctx.node->input(1) + "'" + component;
  std::string range = "[" + std::to_string(-n) + ", " + std::to_string(n - 1) +
                      "] (axis " + std::to_string(axis) + " of '" +
                      ctx.node->input(0) + "' has " + std::to_string(n) +
                      ")";
  DenseIntElementsAttr constant;
  if (matchPattern(indices, m_Constant(&constant))) {
    for (const APInt &v : constant.getValues<APInt>())
      if (v.getSExtValue() < -n || v.getSExtValue() >= n)
        return ctx.error(what + " holds " + Twine(v.getSExtValue()) +
                         ", outside " + range);
    return success();
  }
  if (ImportContext::typeOf(indices).getNumElements() == 0)
    return success();
  if (n == 0)
    return ctx.error(what + " indexes an empty axis");
  graph::CheckIndicesOp::create(
      ctx.builder, ctx.loc(), indices, ctx.builder.getI64IntegerAttr(-n),
      ctx.builder.getI64IntegerAttr(n),
      ctx.builder.getStringAttr(describeNode(*ctx.node, ctx.nodeIndex) + ": " +
                                what + " holds an index outside " + range),
      IntegerAttr());
  return success();
}

/// GatherND's and ScatterND's indices [..., K]: component k indexes dim
/// `first + k` of the data; each is checked as a Gather index is.
LogicalResult checkIndexTuples(ImportContext &ctx, Value data, Value indices,
                               int64_t first) {
  auto dataType = ImportContext::typeOf(data);
  auto type = ImportContext::typeOf(indices);
  if (type.getRank() == 0)
    return ctx.error("input '" + ctx.node->input(1) + "' is a scalar");
  int64_t rank = type.getRank(), k = type.getDimSize(rank - 1);
  if (first < 0 || first + k > dataType.getRank())
    return success(); // the op's own shape inference reports it
  auto &b = ctx.builder;
  for (int64_t c = 0; c < k; ++c) {
    SmallVector<int64_t> starts(rank, 0), sizes(type.getShape()),
        steps(rank, 1);
    starts[rank - 1] = c;
    sizes[rank - 1] = 1;
    Value component = ctx.build<graph::SliceOp>(
        indices, b.getDenseI64ArrayAttr(starts), b.getDenseI64ArrayAttr(sizes),
        b.getDenseI64ArrayAttr(steps));
    if (!component ||
        failed(checkIndices(ctx, component, dataType.getDimSize(first + c),
                            first + c,
                            " (component " + std::to_string(c) + ")")))
      return failure();
  }
  return success();
}

LogicalResult importGather(ImportContext &ctx) {
  Value data = ctx.input(0), indices = ctx.input(1);
  if (!data || !indices)
    return failure();
  if (ImportContext::typeOf(data).getRank() == 0)
    return ctx.error("input '" + ctx.node->input(0) + "' is a scalar; it "
                     "needs an axis to index");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0),
                                ImportContext::typeOf(data).getRank());
  if (!axis || failed(checkIndices(ctx, indices,
                                   ImportContext::typeOf(data).getDimSize(*axis),
                                   *axis)))
    return failure();
  Value result =
      ctx.build<graph::GatherOp>(data, indices, ctx.builder.getI64IntegerAttr(*axis));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importGatherElements(ImportContext &ctx) {
  Value data = ctx.input(0), indices = ctx.input(1);
  if (!data || !indices)
    return failure();
  if (ImportContext::typeOf(data).getRank() == 0)
    return ctx.error("input '" + ctx.node->input(0) + "' is a scalar; it "
                     "needs an axis to index");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0),
                                ImportContext::typeOf(data).getRank());
  if (!axis || failed(checkIndices(ctx, indices,
                                   ImportContext::typeOf(data).getDimSize(*axis),
                                   *axis)))
    return failure();
  Value result = ctx.build<graph::GatherElementsOp>(
      data, indices, ctx.builder.getI64IntegerAttr(*axis));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importTrilu(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int64_t k = 0;
  Value kValue; // k given at run time
  auto &b = ctx.builder;
  if (std::optional<Value> given = ctx.optionalInput(1)) {
    auto type = ImportContext::typeOf(*given);
    if (!type.getElementType().isInteger(64) || type.getNumElements() != 1)
      return ctx.error("k must be an int64 scalar");
    DenseIntElementsAttr constant;
    if (matchPattern(*given, m_Constant(&constant)))
      k = (*constant.getValues<APInt>().begin()).getSExtValue();
    else if (type.getRank() == 0)
      kValue = *given;
    else
      kValue = ctx.build<graph::ReshapeOp>(*given, b.getDenseI64ArrayAttr({}));
  }
  Value result = ctx.build<graph::TriluOp>(
      x, kValue, b.getBoolAttr(ctx.intAttr("upper", 1) != 0),
      b.getI64IntegerAttr(k));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importScatterElements(ImportContext &ctx) {
  Value data = ctx.input(0), indices = ctx.input(1), updates = ctx.input(2);
  if (!data || !indices || !updates)
    return failure();
  if (ImportContext::typeOf(data).getRank() == 0)
    return ctx.error("input '" + ctx.node->input(0) + "' is a scalar; it "
                     "needs an axis to index");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0),
                                ImportContext::typeOf(data).getRank());
  if (!axis || failed(checkIndices(ctx, indices,
                                   ImportContext::typeOf(data).getDimSize(*axis),
                                   *axis)))
    return failure();
  std::string reduction = ctx.stringAttr("reduction", "none");
  auto &b = ctx.builder;
  Value result = ctx.build<graph::ScatterElementsOp>(
      data, indices, updates, b.getI64IntegerAttr(*axis), b.getStringAttr(reduction));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importGatherND(ImportContext &ctx) {
  Value data = ctx.input(0), indices = ctx.input(1);
  if (!data || !indices)
    return failure();
  int64_t batchDims = ctx.intAttr("batch_dims", 0);
  if (failed(checkIndexTuples(ctx, data, indices, batchDims)))
    return failure();
  Value result = ctx.build<graph::GatherNDOp>(
      data, indices, ctx.builder.getI64IntegerAttr(batchDims));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importScatterND(ImportContext &ctx) {
  Value data = ctx.input(0), indices = ctx.input(1), updates = ctx.input(2);
  if (!data || !indices || !updates)
    return failure();
  if (failed(checkIndexTuples(ctx, data, indices, 0)))
    return failure();
  Value result = ctx.build<graph::ScatterNDOp>(
      data, indices, updates,
      ctx.builder.getStringAttr(ctx.stringAttr("reduction", "none")));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importTopK(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  int64_t k;
  if (ctx.opset < 10) {
    k = ctx.intAttr("k", -1);
  } else if (ctx.isRuntimeValue(1)) {
    Value kValue = ctx.runtimeInts(1);
    auto axis = ctx.normalizeAxis(ctx.intAttr("axis", -1),
                                  ImportContext::typeOf(x).getRank());
    if (!kValue || !axis)
      return failure();
    if (ImportContext::typeOf(kValue).getNumElements() != 1)
      return ctx.error("K must hold one value");
    auto &b = ctx.builder;
    auto op = graph::RuntimeTopKOp::create(
        b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, x, kValue,
        b.getI64IntegerAttr(*axis),
        b.getBoolAttr(ctx.intAttr("largest", 1) != 0),
        ctx.runtimeMessage("input '" + ctx.node->input(1) + "' is not in [0, " +
                           Twine(ImportContext::typeOf(x).getDimSize(*axis)) +
                           "] (the size of axis " + Twine(*axis) + ")"),
        IntegerAttr());
    if (failed(ctx.inferResultTypes(op)))
      return failure();
    ctx.setOutput(0, op.getValues());
    ctx.setOutput(1, op.getIndices());
    return success();
  } else {
    auto given = ctx.constantInts(1);
    if (!given || given->size() != 1)
      return given ? ctx.error("K must hold one value") : failure();
    k = (*given)[0];
  }
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", -1),
                                ImportContext::typeOf(x).getRank());
  if (!axis)
    return failure();
  auto &b = ctx.builder;
  // sorted=0 leaves the order free; the sorted order is one of them.
  auto op = graph::TopKOp::create(
      b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, x,
      b.getI64IntegerAttr(k), b.getI64IntegerAttr(*axis),
      b.getBoolAttr(ctx.intAttr("largest", 1) != 0));
  if (failed(ctx.inferResultTypes(op)))
    return failure();
  ctx.setOutput(0, op.getValues());
  ctx.setOutput(1, op.getIndices());
  return success();
}

/// Compress with a constant condition: a gather of the kept positions (of
/// the flattened input when no axis is given).
LogicalResult importCompress(ImportContext &ctx) {
  Value x = ctx.input(0), condition = ctx.input(1);
  if (!x || !condition)
    return failure();
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  int64_t axis;
  if (ctx.attr("axis")) {
    auto a = ctx.normalizeAxis(ctx.intAttr("axis", 0), type.getRank());
    if (!a)
      return failure();
    axis = *a;
  } else {
    x = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({type.getNumElements()}));
    if (!x)
      return failure();
    axis = 0;
  }
  auto condType = ImportContext::typeOf(condition);
  if (condType.getRank() != 1 || !condType.getElementType().isInteger(1))
    return ctx.error("input '" + ctx.node->input(1) +
                     "' must be a 1-D bool tensor");
  if (ctx.isRuntimeValue(1)) {
    // Which slices are kept is decided by the call.
    Value result = ctx.build<graph::RuntimeCompressOp>(
        x, condition, b.getI64IntegerAttr(axis));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  DenseElementsAttr cond;
  if (!matchPattern(condition, m_Constant(&cond))) {
    (void)ctx.constantInts(1); // reports why it must be a constant
    return failure();
  }
  int64_t size = ImportContext::typeOf(x).getDimSize(axis);
  SmallVector<int64_t> kept;
  int64_t i = 0;
  for (Attribute v : cond.getValues<Attribute>()) {
    bool keep = isa<IntegerAttr>(v) ? !cast<IntegerAttr>(v).getValue().isZero()
                                    : !cast<FloatAttr>(v).getValue().isZero();
    if (keep && i < size)
      kept.push_back(i);
    ++i;
  }
  auto indexType = RankedTensorType::get({(int64_t)kept.size()}, b.getI64Type());
  Value indices = arith::ConstantOp::create(
      b, ctx.loc(), DenseElementsAttr::get(indexType, ArrayRef(kept)));
  Value result = ctx.build<graph::GatherOp>(x, indices, b.getI64IntegerAttr(axis));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// NonMaxSuppression: graph.runtime_nms, the count of rows known at run
/// time. Absent inputs take the ONNX defaults: no box chosen without
/// max_output_boxes_per_class, an IoU threshold of 0, no score threshold.
LogicalResult importNonMaxSuppression(ImportContext &ctx) {
  Value boxes = ctx.input(0), scores = ctx.input(1);
  if (!boxes || !scores || failed(ctx.requireFloat(boxes, "input boxes")) ||
      failed(ctx.requireFloat(scores, "input scores")))
    return failure();
  auto &b = ctx.builder;
  std::optional<Value> count = ctx.optionalInput(2);
  std::optional<Value> iou = ctx.optionalInput(3);
  std::optional<Value> scoreLimit = ctx.optionalInput(4);
  if (!ctx.errors.empty())
    return failure();
  Type elem = ImportContext::typeOf(scores).getElementType();
  if (ImportContext::typeOf(boxes).getElementType() != elem)
    return ctx.error("boxes and scores must have one element type");
  auto one = [&](Value v, StringRef what, bool isFloat) -> Value {
    auto type = ImportContext::typeOf(v);
    if (type.getNumElements() != 1 || type.getRank() > 1 ||
        (isFloat ? !isa<FloatType>(type.getElementType())
                 : !type.getElementType().isInteger(64))) {
      (void)ctx.error(Twine(what) + " must be one " +
                      (isFloat ? "float" : "int64") + " value");
      return {};
    }
    if (isFloat && type.getElementType() != elem)
      return ctx.build<graph::CastOp>(v, TypeAttr::get(elem));
    return v;
  };
  Value countValue =
      count ? one(*count, "max_output_boxes_per_class", false)
            : arith::ConstantOp::create(
                  b, ctx.loc(),
                  DenseElementsAttr::get(
                      RankedTensorType::get({}, b.getI64Type()), int64_t(0)));
  Value iouValue =
      iou ? one(*iou, "iou_threshold", true) : ctx.scalar(elem, 0.0);
  Value scoreValue = scoreLimit ? one(*scoreLimit, "score_threshold", true)
                                : ctx.scalar(elem, 0.0);
  if (!countValue || !iouValue || !scoreValue)
    return failure();
  int64_t center = ctx.intAttr("center_point_box", 0);
  if (center != 0 && center != 1)
    return ctx.error("center_point_box must be 0 or 1");
  auto boxType = ImportContext::typeOf(boxes),
       scoreType = ImportContext::typeOf(scores);
  if (!boxType.hasStaticShape() || !scoreType.hasStaticShape() ||
      boxType.getRank() != 3 || scoreType.getRank() != 3 ||
      boxType.getDimSize(2) != 4 ||
      boxType.getDimSize(0) != scoreType.getDimSize(0) ||
      boxType.getDimSize(1) != scoreType.getDimSize(2))
    return ctx.error("boxes must be [B, N, 4] and scores [B, C, N]");
  Value result = ctx.build<graph::RuntimeNmsOp>(
      boxes, scores, countValue, iouValue, scoreValue, b.getBoolAttr(center),
      b.getBoolAttr(scoreLimit.has_value()));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Unique: graph.runtime_unique; the counts of distinct values or slices
/// are known at run time.
LogicalResult importUnique(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  if (!type.hasStaticShape() || type.getRank() == 0)
    return ctx.error("input X must have a static shape of rank 1 or more");
  const onnx::AttributeProto *axisAttr = ctx.attr("axis");
  int64_t axis = 0;
  if (axisAttr) {
    auto normalized = ctx.normalizeAxis(axisAttr->i(), type.getRank());
    if (!normalized)
      return failure();
    axis = *normalized;
  }
  auto &b = ctx.builder;
  bool isUnsigned = ctx.unsignedValues.contains(x);
  Type none = b.getNoneType();
  auto op = graph::RuntimeUniqueOp::create(
      b, ctx.loc(), TypeRange{none, none, none, none}, x,
      b.getI64IntegerAttr(axis), b.getBoolAttr(!axisAttr),
      b.getBoolAttr(ctx.intAttr("sorted", 1) != 0), b.getBoolAttr(isUnsigned));
  if (failed(ctx.inferResultTypes(op)))
    return failure();
  if (isUnsigned)
    ctx.unsignedValues.insert(op.getUnique());
  for (auto [i, v] : llvm::enumerate(op.getResults()))
    ctx.setOutput(i, v);
  return success();
}

/// NonZero: the coordinates of the nonzero elements, [rank, count]; folded
/// for a constant input, else counted at run time (graph.runtime_nonzero).
LogicalResult importNonZero(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  if (type.getRank() == 0)
    return ctx.error("input '" + ctx.node->input(0) +
                     "' must have a dim or more");
  auto &b = ctx.builder;
  DenseElementsAttr values;
  if (!matchPattern(x, m_Constant(&values))) {
    if (!ctx.isRuntimeValue(0)) {
      (void)ctx.constantInts(0); // reports why it must be a constant
      return failure();
    }
    Value result = ctx.build<graph::RuntimeNonZeroOp>(x);
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  SmallVector<int64_t> flat;
  int64_t position = 0;
  for (Attribute v : values.getValues<Attribute>()) {
    bool nonzero = isa<IntegerAttr>(v)
                       ? !cast<IntegerAttr>(v).getValue().isZero()
                       : !cast<FloatAttr>(v).getValue().isZero();
    if (nonzero)
      flat.push_back(position);
    ++position;
  }
  int64_t rank = type.getRank(), count = flat.size();
  SmallVector<int64_t> coordinates(rank * count);
  for (int64_t k = 0; k < count; ++k) {
    int64_t rest = flat[k];
    for (int64_t d = rank - 1; d >= 0; --d) {
      coordinates[d * count + k] = rest % type.getDimSize(d);
      rest /= type.getDimSize(d);
    }
  }
  ctx.setOutput(0, arith::ConstantOp::create(
                       b, ctx.loc(),
                       DenseElementsAttr::get(
                           RankedTensorType::get({rank, count}, b.getI64Type()),
                           ArrayRef(coordinates))));
  return success();
}

/// ReverseSequence: a gather along the time axis at the index pattern
/// t < len[b] ? len[b] - 1 - t : t (lengths clamped into [0, T]), a
/// constant for constant lengths, else computed in graph ops at run time.
LogicalResult importReverseSequence(ImportContext &ctx) {
  Value x = ctx.input(0), lensValue = ctx.input(1);
  if (!x || !lensValue)
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t batchAxis = ctx.intAttr("batch_axis", 1), timeAxis = ctx.intAttr("time_axis", 0);
  if (type.getRank() < 2 || (batchAxis != 0 && batchAxis != 1) ||
      (timeAxis != 0 && timeAxis != 1) || batchAxis == timeAxis)
    return ctx.error("batch_axis and time_axis must be 0 and 1 (either order)");
  int64_t batch = type.getDimSize(batchAxis), time = type.getDimSize(timeAxis);
  if (ImportContext::typeOf(lensValue).getNumElements() != batch)
    return ctx.error("sequence_lens needs one length per batch element");
  auto &builder = ctx.builder;
  if (!matchPattern(lensValue, m_Constant())) {
    // [T] positions along the time axis against [B] lengths along the batch
    // axis, broadcast to the input's shape.
    Value lens = ctx.runtimeInts(1);
    auto along = [&](int64_t axis, int64_t size) {
      SmallVector<int64_t> shape(type.getRank(), 1);
      shape[axis] = size;
      return builder.getDenseI64ArrayAttr(shape);
    };
    auto number = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          builder, ctx.loc(),
          DenseElementsAttr::get(
              RankedTensorType::get({}, builder.getI64Type()), v));
    };
    SmallVector<int64_t> positions(time);
    std::iota(positions.begin(), positions.end(), 0);
    Value t = arith::ConstantOp::create(
        builder, ctx.loc(),
        DenseElementsAttr::get(
            RankedTensorType::get({time}, builder.getI64Type()),
            ArrayRef(positions)));
    t = ctx.build<graph::ReshapeOp>(t, along(timeAxis, time));
    Value len = lens
                    ? ctx.build<graph::ReshapeOp>(lens, along(batchAxis, batch))
                    : Value();
    if (!t || !len)
      return failure();
    // ONNX asks for lengths in [0, T]: others fail the call (and are
    // clamped, so the gather stays in bounds).
    graph::CheckIndicesOp::create(
        builder, ctx.loc(), lens, builder.getI64IntegerAttr(0),
        builder.getI64IntegerAttr(time + 1),
        ctx.runtimeMessage("input '" + ctx.node->input(1) +
                           "' holds a length outside [0, " + Twine(time) + "]"),
        IntegerAttr());
    len = ctx.build<graph::MinOp>(ctx.build<graph::MaxOp>(len, number(0)),
                                  number(time));
    Value reversed =
        ctx.build<graph::SubOp>(ctx.build<graph::SubOp>(len, number(1)), t);
    Value idx = ctx.build<graph::WhereOp>(ctx.build<graph::LessOp>(t, len),
                                          reversed, t);
    idx = idx ? ctx.build<graph::ExpandOp>(
                    idx, builder.getDenseI64ArrayAttr(type.getShape()))
              : idx;
    Value result = idx ? ctx.build<graph::GatherElementsOp>(
                             x, idx, builder.getI64IntegerAttr(timeAxis))
                       : idx;
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  auto lens = ctx.constantInts(1);
  if (!lens)
    return failure();
  for (int64_t len : *lens)
    if (len < 0 || len > time)
      return ctx.error("sequence_lens holds " + Twine(len) + ", outside [0, " +
                       Twine(time) + "]");
  SmallVector<int64_t> strides(type.getRank(), 1);
  for (int64_t d = type.getRank() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * type.getDimSize(d + 1);
  SmallVector<int64_t> indices(type.getNumElements());
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    int64_t t = (i / strides[timeAxis]) % time, b = (i / strides[batchAxis]) % batch;
    int64_t len = (*lens)[b];
    indices[i] = t < len ? len - 1 - t : t;
  }
  Value idx = arith::ConstantOp::create(
      builder, ctx.loc(),
      DenseElementsAttr::get(RankedTensorType::get(type.getShape(), builder.getI64Type()),
                             ArrayRef(indices)));
  Value result = ctx.build<graph::GatherElementsOp>(x, idx, builder.getI64IntegerAttr(timeAxis));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// MaxUnpool: zeros of the output shape with X written at MaxPool's flat
/// indices I (a scatter into the flattened output).
LogicalResult importMaxUnpool(ImportContext &ctx) {
  Value x = ctx.input(0), indices = ctx.input(1);
  if (!x || !indices || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto type = ImportContext::typeOf(x);
  if (type.getRank() < 3)
    return ctx.error("input X must have a batch, a channel and a spatial dim");
  int64_t spatial = type.getRank() - 2;
  // MaxPool's indices address the default output, (in - 1) * stride -
  // pads + kernel per spatial dim; a given output_shape pads (or crops) its
  // end.
  SmallVector<int64_t> kernel = ctx.intsAttr("kernel_shape");
  SmallVector<int64_t> strides = ctx.spatialAttr("strides", spatial, 1);
  SmallVector<int64_t> pads = ctx.intsAttr("pads");
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if ((int64_t)kernel.size() != spatial || (int64_t)strides.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial)
    return ctx.error("kernel_shape, strides and pads do not match the spatial rank");
  // Bounded, so that the output size below cannot overflow.
  auto within = [](int64_t v, int64_t lo) {
    return v >= lo && v <= kMaxTensorElements;
  };
  if (!llvm::all_of(kernel, [&](int64_t v) { return within(v, 1); }) ||
      !llvm::all_of(strides, [&](int64_t v) { return within(v, 1); }) ||
      !llvm::all_of(pads, [&](int64_t v) { return within(v, 0); }))
    return ctx.error("kernel_shape and strides must be in [1, " +
                     Twine(kMaxTensorElements) + "], pads in [0, " +
                     Twine(kMaxTensorElements) + "]");
  SmallVector<int64_t> defaultShape = {type.getDimSize(0), type.getDimSize(1)};
  for (int64_t i = 0; i < spatial; ++i)
    defaultShape.push_back((type.getDimSize(2 + i) - 1) * strides[i] - pads[i] -
                           pads[i + spatial] + kernel[i]);
  SmallVector<int64_t> outShape = defaultShape;
  if (ctx.optionalInput(2)) {
    auto given = ctx.constantInts(2);
    if (!given)
      return failure();
    if (given->size() != defaultShape.size())
      return ctx.error("output_shape needs one value per dim");
    outShape = *given;
  }
  if (failed(ctx.checkShape(defaultShape, "the output")) ||
      failed(ctx.checkShape(outShape, "the output")))
    return failure();
  int64_t total = 1;
  for (int64_t d : defaultShape)
    total *= d;
  auto &b = ctx.builder;
  Type elem = type.getElementType();
  Value zeros = arith::ConstantOp::create(
      b, ctx.loc(), DenseElementsAttr::get(RankedTensorType::get({total}, elem),
                                           b.getFloatAttr(elem, 0.0)));
  int64_t count = type.getNumElements();
  Value flatIdx = ctx.build<graph::ReshapeOp>(indices, b.getDenseI64ArrayAttr({count}));
  Value flatX = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({count}));
  Value result = flatIdx && flatX
                     ? ctx.build<graph::ScatterElementsOp>(zeros, flatIdx, flatX,
                                                           b.getI64IntegerAttr(0),
                                                           b.getStringAttr("none"))
                     : Value();
  result = result ? ctx.build<graph::ReshapeOp>(result, b.getDenseI64ArrayAttr(defaultShape))
                  : Value();
  if (result && outShape != defaultShape) {
    SmallVector<int64_t> border(2 * outShape.size(), 0);
    for (size_t d = 0; d < outShape.size(); ++d)
      border[outShape.size() + d] = outShape[d] - defaultShape[d];
    result = ctx.build<graph::PadOp>(result, b.getDenseI64ArrayAttr(border),
                                     b.getF64FloatAttr(0.0), b.getStringAttr("constant"));
  }
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Slice with starts, ends, axes or steps known at run time: absent axes are
/// 0, 1, ...; absent steps 1.
LogicalResult importRuntimeSlice(ImportContext &ctx, Value x) {
  Value starts = ctx.runtimeInts(1), ends = ctx.runtimeInts(2);
  if (!starts || !ends)
    return failure();
  int64_t n = ImportContext::typeOf(starts).getRank() == 1
                  ? ImportContext::typeOf(starts).getDimSize(0)
                  : -1;
  if (n < 0)
    return ctx.error("starts must be 1-D with a static length");
  auto defaults = [&](int64_t first, int64_t step) {
    SmallVector<int64_t> values;
    for (int64_t i = 0; i < n; ++i)
      values.push_back(first + i * step);
    return intConstant(ctx, values, {n});
  };
  Value axes = ctx.optionalInput(3) ? ctx.runtimeInts(3) : defaults(0, 1);
  Value steps = ctx.optionalInput(4) ? ctx.runtimeInts(4) : defaults(1, 0);
  if (!axes || !steps)
    return failure();
  Value result = ctx.build<graph::RuntimeSliceOp>(
      x, starts, ends, axes, steps,
      ctx.runtimeMessage("an axis is out of range or repeated, or a step is "
                         "0"),
      IntegerAttr());
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importSlice(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    starts = ctx.intsAttr("starts");
    ends = ctx.intsAttr("ends");
    axes = ctx.intsAttr("axes");
  } else if (ctx.isRuntimeValue(1) || ctx.isRuntimeValue(2) ||
             ctx.isRuntimeValue(3) || ctx.isRuntimeValue(4)) {
    return importRuntimeSlice(ctx, x);
  } else {
    auto s = ctx.constantInts(1), e = ctx.constantInts(2);
    if (!s || !e)
      return failure();
    starts = *s;
    ends = *e;
    if (ctx.optionalInput(3)) {
      auto a = ctx.constantInts(3);
      if (!a)
        return failure();
      axes = *a;
    }
    if (ctx.optionalInput(4)) {
      auto st = ctx.constantInts(4);
      if (!st)
        return failure();
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return ctx.error("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> outStarts(rank, 0), sizes(type.getShape()),
      outSteps(rank, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto axis = ctx.normalizeAxis(axes[i], rank);
    if (!axis)
      return failure();
    int64_t n = type.getDimSize(*axis), step = steps[i];
    if (step == 0)
      return ctx.error("a step of 0 is invalid");
    // Clamp as ONNX says: negative values count from the end; positive
    // steps clamp to [0, n], negative ones to [-1, n - 1].
    auto clampIndex = [&](int64_t v) {
      if (v < 0)
        v += n;
      return step > 0 ? std::clamp<int64_t>(v, 0, n)
                      : std::clamp<int64_t>(v, -1, n - 1);
    };
    int64_t start = clampIndex(starts[i]), end = clampIndex(ends[i]);
    int64_t size = step > 0 ? std::max<int64_t>(0, (end - start + step - 1) / step)
                            : std::max<int64_t>(0, (start - end - step - 1) / -step);
    outStarts[*axis] = size ? start : 0;
    sizes[*axis] = size;
    outSteps[*axis] = step;
  }
  auto &b = ctx.builder;
  Value result = ctx.build<graph::SliceOp>(x, b.getDenseI64ArrayAttr(outStarts),
                                           b.getDenseI64ArrayAttr(sizes),
                                           b.getDenseI64ArrayAttr(outSteps));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// The axes of Squeeze/Unsqueeze: an attribute before opset 13, then an
/// optional input.
std::optional<SmallVector<int64_t>> squeezeAxes(ImportContext &ctx) {
  if (ctx.opset < 13)
    return ctx.intsAttr("axes");
  if (!ctx.optionalInput(1))
    return SmallVector<int64_t>();
  return ctx.constantInts(1);
}

/// Squeeze or Unsqueeze whose axes are known only at run time (opset 13+):
/// the result's dims are computed at run time.
LogicalResult importRuntimeSqueeze(ImportContext &ctx, Value x,
                                   bool unsqueeze) {
  Value axes = ctx.runtimeInts(1);
  if (!axes)
    return failure();
  auto type = ImportContext::typeOf(x);
  auto axesType = ImportContext::typeOf(axes);
  if (axesType.getRank() != 1)
    return ctx.error("axes must be 1-D");
  if (!unsqueeze && (axesType.getDimSize(0) > type.getRank() ||
                     (axesType.getDimSize(0) == type.getRank() &&
                      type.getNumElements() != 1)))
    return ctx.error("cannot squeeze " + Twine(axesType.getDimSize(0)) +
                     " dims of " + Twine(type.getNumElements()) +
                     " elements in " + Twine(type.getRank()) + " dims");
  Value result = ctx.build<graph::RuntimeSqueezeOp>(
      x, axes, ctx.builder.getBoolAttr(unsqueeze),
      ctx.runtimeMessage("input '" + ctx.node->input(1) +
                         "' holds an axis out of range or "
                         "twice" +
                         (unsqueeze ? "" : ", or one of a dim other than 1")),
      IntegerAttr());
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importSqueeze(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (x && ctx.opset >= 13 && ctx.isRuntimeValue(1))
    return importRuntimeSqueeze(ctx, x, /*unsqueeze=*/false);
  auto axes = squeezeAxes(ctx);
  if (!x || !axes)
    return failure();
  auto type = ImportContext::typeOf(x);
  SmallVector<bool> drop(type.getRank(), false);
  for (int64_t a : *axes) {
    auto axis = ctx.normalizeAxis(a, type.getRank());
    if (!axis)
      return failure();
    if (type.isDynamicDim(*axis))
      return ctx.error("cannot squeeze dim " + Twine(*axis) +
                       ", whose size is known only at run time");
    if (type.getDimSize(*axis) != 1)
      return ctx.error("cannot squeeze dim " + Twine(*axis) + " of size " +
                       Twine(type.getDimSize(*axis)));
    drop[*axis] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!(axes->empty() ? type.getDimSize(d) == 1 : drop[d]))
      shape.push_back(type.getDimSize(d));
  Value result = ctx.build<graph::ReshapeOp>(x, ctx.builder.getDenseI64ArrayAttr(shape));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importUnsqueeze(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (x && ctx.opset >= 13 && ctx.isRuntimeValue(1))
    return importRuntimeSqueeze(ctx, x, /*unsqueeze=*/true);
  auto axes = squeezeAxes(ctx);
  if (!x || !axes)
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t outRank = type.getRank() + axes->size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : *axes) {
    auto axis = ctx.normalizeAxis(a, outRank);
    if (!axis)
      return failure();
    if (inserted[*axis])
      return ctx.error("axis " + Twine(*axis) + " is given twice");
    inserted[*axis] = true;
  }
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    shape.push_back(inserted[d] ? 1 : type.getDimSize(next++));
  Value result = ctx.build<graph::ReshapeOp>(x, ctx.builder.getDenseI64ArrayAttr(shape));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importExpand(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (x && ctx.isRuntimeValue(1)) {
    Value shapeValue = ctx.runtimeInts(1);
    Value result =
        shapeValue
            ? ctx.build<graph::RuntimeExpandOp>(
                  x, shapeValue,
                  ctx.runtimeMessage("input '" + ctx.node->input(1) +
                                     "' is a shape the input does not "
                                     "broadcast to (or one of more than " +
                                     Twine(kMaxTensorElements) + " elements)"),
                  IntegerAttr())
            : Value();
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  auto shape = ctx.constantInts(1);
  if (!x || !shape)
    return failure();
  Value result = ctx.build<graph::ExpandOp>(x, ctx.builder.getDenseI64ArrayAttr(*shape));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importCast(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  Type to;
  if (ctx.node->op_type() == "CastLike") {
    Value like = ctx.input(1);
    if (!like)
      return failure();
    to = ImportContext::typeOf(like).getElementType();
  } else {
    int64_t dtype = ctx.intAttr("to", 0);
    to = elementTypeOf(ctx.builder.getContext(), dtype);
    if (!to)
      return ctx.error("cast to " + dtypeName(dtype) + " is not supported");
  }
  Value result = ctx.build<graph::CastOp>(
      x, TypeAttr::get(to), ctx.builder.getBoolAttr(ctx.unsignedValues.contains(x)));
  // The result of a cast to an unsigned ONNX type is unsigned.
  int64_t target = ctx.node->op_type() == "CastLike" ? -1 : ctx.intAttr("to", 0);
  bool toUnsigned = target == onnx::TensorProto::UINT8 || target == onnx::TensorProto::UINT16 ||
                    target == onnx::TensorProto::UINT32 || target == onnx::TensorProto::UINT64 ||
                    (target == -1 && ctx.unsignedValues.contains(ctx.lookup(ctx.node->input(1))));
  if (result && toUnsigned)
    ctx.unsignedValues.insert(result);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importConstantOfShape(ImportContext &ctx) {
  auto &b = ctx.builder;
  // A shape of dims known only at run time gives a result of those dims.
  const auto *symbolic = shapeValueOf(ctx, 0);
  bool runtime = symbolic || ctx.isRuntimeValue(0);
  std::optional<SmallVector<int64_t>> shape;
  if (!runtime) {
    shape = ctx.constantInts(0);
    if (!shape || failed(ctx.checkShape(*shape, "the output")))
      return failure();
  }
  Attribute fill = b.getF32FloatAttr(0.0f);
  if (const auto *a = ctx.attr("value")) {
    std::string message;
    auto value = tensorProtoToAttr(b.getContext(), a->t(), message,
                                  ctx.modelDir());
    if (failed(value))
      return ctx.error(message);
    if (value->getNumElements() != 1)
      return ctx.error("value must hold one element");
    fill = *value->getValues<Attribute>().begin();
  }
  if (runtime) {
    Value shapeValue = ctx.runtimeInts(0);
    Value result =
        shapeValue
            ? ctx.build<graph::RuntimeFillOp>(
                  shapeValue, cast<TypedAttr>(fill),
                  ctx.runtimeMessage("input '" + ctx.node->input(0) +
                                     "' holds a negative dim or a shape of "
                                     "more than " +
                                     Twine(kMaxTensorElements) + " elements"),
                  IntegerAttr())
            : Value();
    if (result && symbolic) {
      SmallVector<int64_t> dims, symbols;
      dimsOfShapeValue(ctx, *symbolic, dims, symbols);
      for (int64_t d : dims)
        if ((d < 0 && !ShapedType::isDynamic(d)) || d == 0)
          return ctx.error("input '" + ctx.node->input(0) +
                           "' holds a negative or 0 dim beside dims known "
                           "only at run time");
      ctx.dimSymbols[result] = symbols;
    }
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  auto type = RankedTensorType::get(*shape, cast<TypedAttr>(fill).getType());
  ctx.setOutput(0, arith::ConstantOp::create(b, ctx.loc(),
                                             DenseElementsAttr::get(type, fill)));
  return success();
}

LogicalResult importRange(ImportContext &ctx) {
  Value start = ctx.input(0);
  if (!start)
    return failure();
  Type elem = ImportContext::typeOf(start).getElementType();
  SmallVector<Attribute> values;
  auto &b = ctx.builder;
  if (ctx.isRuntimeValue(0) || ctx.isRuntimeValue(1) || ctx.isRuntimeValue(2)) {
    Value limit = ctx.input(1), delta = ctx.input(2);
    Value result =
        limit && delta
            ? ctx.build<graph::RuntimeRangeOp>(
                  start, limit, delta,
                  ctx.runtimeMessage("delta is 0, or the range has more "
                                     "than " +
                                     Twine(kMaxTensorElements) + " elements"),
                  IntegerAttr())
            : Value();
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  if (isa<FloatType>(elem)) {
    auto s = ctx.constantFloat(0), l = ctx.constantFloat(1), d = ctx.constantFloat(2);
    if (!s || !l || !d)
      return failure();
    if (*d == 0)
      return ctx.error("delta is 0");
    double count = std::ceil((*l - *s) / *d);
    if (count > kMaxTensorElements)
      return ctx.error("the range would have more than " +
                       Twine(kMaxTensorElements) + " elements");
    int64_t n = std::max<int64_t>(0, count);
    for (int64_t i = 0; i < n; ++i)
      values.push_back(b.getFloatAttr(elem, *s + i * *d));
  } else {
    auto s = ctx.constantInts(0), l = ctx.constantInts(1), d = ctx.constantInts(2);
    if (!s || !l || !d || s->size() != 1 || l->size() != 1 || d->size() != 1)
      return failure();
    if ((*d)[0] == 0)
      return ctx.error("delta is 0");
    double span = std::ceil(double((*l)[0] - (*s)[0]) / (*d)[0]);
    if (span > kMaxTensorElements)
      return ctx.error("the range would have more than " +
                       Twine(kMaxTensorElements) + " elements");
    int64_t n = std::max<int64_t>(0, span);
    for (int64_t i = 0; i < n; ++i)
      values.push_back(b.getIntegerAttr(elem, (*s)[0] + i * (*d)[0]));
  }
  auto type = RankedTensorType::get({(int64_t)values.size()}, elem);
  ctx.setOutput(0, arith::ConstantOp::create(b, ctx.loc(),
                                             DenseElementsAttr::get(type, values)));
  return success();
}

LogicalResult importSplit(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  if (type.getRank() == 0)
    return ctx.error("cannot split a scalar");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), type.getRank());
  if (!axis)
    return failure();
  int64_t outputs = ctx.node->output_size();
  if (outputs < 1)
    return ctx.error("has no outputs");
  SmallVector<int64_t> split;
  int64_t n = type.getDimSize(*axis);
  if (ctx.opset >= 13 && ctx.optionalInput(1) && ctx.isRuntimeValue(1)) {
    // Sizes read at run time: output i is the slice [start_i, start_i +
    // split_i) along the axis, the starts summed in graph ops; sizes below
    // 0, or not adding up to the dim, fail the call.
    Value sizes = ctx.runtimeInts(1);
    if (!sizes)
      return failure();
    if (ImportContext::typeOf(sizes).getRank() != 1 ||
        ImportContext::typeOf(sizes).getDimSize(0) != outputs)
      return ctx.error("input '" + ctx.node->input(1) +
                       "' needs one size per output");
    auto &b = ctx.builder;
    auto oneValue = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          b, ctx.loc(),
          DenseElementsAttr::get(RankedTensorType::get({1}, b.getI64Type()),
                                 v));
    };
    StringAttr message = ctx.runtimeMessage(
        "input '" + ctx.node->input(1) +
        "' holds a size below 0, or sizes that do not add up to " + Twine(n) +
        " (dim " + Twine(*axis) + ")");
    graph::CheckIndicesOp::create(b, ctx.loc(), sizes, b.getI64IntegerAttr(0),
                                  b.getI64IntegerAttr(n + 1), message,
                                  IntegerAttr());
    Value start = oneValue(0);
    for (int64_t i = 0; i < outputs && start; ++i) {
      Value size = ctx.build<graph::SliceOp>(sizes, b.getDenseI64ArrayAttr({i}),
                                             b.getDenseI64ArrayAttr({1}),
                                             b.getDenseI64ArrayAttr({1}));
      Value end = size ? ctx.build<graph::AddOp>(start, size) : Value();
      Value part = end ? ctx.build<graph::RuntimeSliceOp>(
                             x, start, end, oneValue(*axis), oneValue(1),
                             message, IntegerAttr())
                       : Value();
      if (!part)
        return failure();
      ctx.setOutput(i, part);
      start = end;
    }
    // The total, checked to be the dim (sizes in [0, n] cannot overflow).
    graph::CheckIndicesOp::create(b, ctx.loc(), start, b.getI64IntegerAttr(n),
                                  b.getI64IntegerAttr(n + 1), message,
                                  IntegerAttr());
    return success(static_cast<bool>(start));
  }
  if (ctx.opset < 13) {
    split = ctx.intsAttr("split");
  } else if (ctx.optionalInput(1)) {
    auto s = ctx.constantInts(1);
    if (!s)
      return failure();
    split = *s;
  }
  if (const auto *numOutputs = ctx.attr("num_outputs");
      numOutputs && numOutputs->i() != outputs)
    return ctx.error("num_outputs is " + Twine(numOutputs->i()) +
                     " and the node has " + Twine(outputs) + " outputs");
  if (split.empty()) {
    // Equal parts; with opset 18's num_outputs the last may be smaller.
    int64_t part = (n + outputs - 1) / outputs;
    for (int64_t i = 0; i < outputs; ++i)
      split.push_back(std::min(part, n - i * part));
  }
  int64_t total = 0;
  for (int64_t v : split) {
    if (v < 0 || v > n)
      return ctx.error("split size " + Twine(v) + " is outside [0, " +
                       Twine(n) + "]");
    total += v;
  }
  if ((int64_t)split.size() != outputs || total != n)
    return ctx.error("split sizes do not add up to dim " + Twine(*axis) +
                     " (" + Twine(n) + ") over " + Twine(outputs) + " outputs");
  auto &b = ctx.builder;
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<int64_t> starts(type.getRank(), 0), sizes(type.getShape()),
        steps(type.getRank(), 1);
    starts[*axis] = offset;
    sizes[*axis] = split[i];
    offset += split[i];
    Value part = ctx.build<graph::SliceOp>(x, b.getDenseI64ArrayAttr(starts),
                                           b.getDenseI64ArrayAttr(sizes),
                                           b.getDenseI64ArrayAttr(steps));
    if (!part)
      return failure();
    ctx.setOutput(i, part);
  }
  return success();
}

LogicalResult importTile(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (x && ctx.isRuntimeValue(1)) {
    Value repeatsValue = ctx.runtimeInts(1);
    Value result =
        repeatsValue
            ? ctx.build<graph::RuntimeTileOp>(
                  x, repeatsValue,
                  ctx.runtimeMessage("input '" + ctx.node->input(1) +
                                     "' holds a negative repeat, or the "
                                     "result has more than " +
                                     Twine(kMaxTensorElements) + " elements"),
                  IntegerAttr())
            : Value();
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  auto repeats = ctx.constantInts(1);
  if (!x || !repeats)
    return failure();
  auto type = ImportContext::typeOf(x);
  if ((int64_t)repeats->size() != type.getRank())
    return ctx.error("repeats needs one value per dim");
  // [d0, d1] tiled [r0, r1]: reshape to [1, d0, 1, d1], expand to
  // [r0, d0, r1, d1], reshape to [r0*d0, r1*d1].
  SmallVector<int64_t> lifted, expanded, result;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if ((*repeats)[d] < 0)
      return ctx.error("repeats must be >= 0");
    lifted.append({1, type.getDimSize(d)});
    expanded.append({(*repeats)[d], type.getDimSize(d)});
    result.push_back((*repeats)[d] * type.getDimSize(d));
  }
  auto &b = ctx.builder;
  Value v = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr(lifted));
  v = v ? ctx.build<graph::ExpandOp>(v, b.getDenseI64ArrayAttr(expanded)) : v;
  v = v ? ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(result)) : v;
  ctx.setOutput(0, v);
  return success(static_cast<bool>(v));
}

/// Reshape -> transpose -> reshape, the shape of DepthToSpace/SpaceToDepth.
Value reshapeTransposeReshape(ImportContext &ctx, Value x,
                              ArrayRef<int64_t> split, ArrayRef<int64_t> perm,
                              ArrayRef<int64_t> result) {
  auto &b = ctx.builder;
  Value v = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr(split));
  v = v ? ctx.build<graph::TransposeOp>(v, b.getDenseI64ArrayAttr(perm)) : v;
  return v ? ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(result)) : v;
}

/// Resize (opset 10+) and Upsample: the output size from `sizes`, or from
/// `scales` (floor(in * scale)); the coordinate mapping uses the scales.
LogicalResult importResize(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto type = ImportContext::typeOf(x);
  if (!type.getElementType().isF32())
    return ctx.error(
        "input X must be float32 (other float types are not supported)");
  int64_t rank = type.getRank();
  bool upsample = ctx.node->op_type() == "Upsample";
  bool legacy = upsample || ctx.opset < 11; // scales is input 1, asymmetric
  std::string mode = ctx.stringAttr("mode", "nearest");
  if (mode == "bilinear" || mode == "trilinear") // Upsample's spelling
    mode = "linear";
  std::string coordinates =
      legacy ? "asymmetric"
             : ctx.stringAttr("coordinate_transformation_mode", "half_pixel");
  std::string nearest =
      legacy ? "floor" : ctx.stringAttr("nearest_mode", "round_prefer_floor");
  if (coordinates == "tf_crop_and_resize")
    return ctx.error("coordinate_transformation_mode 'tf_crop_and_resize' is "
                     "not supported");
  if (ctx.intAttr("antialias", 0) != 0)
    return ctx.error("antialias is not supported");
  std::string policy = ctx.stringAttr("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return ctx.error("keep_aspect_ratio_policy must be stretch, not_larger "
                     "or not_smaller, not '" +
                     policy + "'");
  auto &b = ctx.builder;
  // Sizes or scales read at run time: graph.runtime_resize, for `axes`.
  auto buildRuntime = [&](int index) -> LogicalResult {
    Value target = ctx.input(index);
    if (!target)
      return failure();
    bool isSizes = !(legacy || index == 2);
    Type element = ImportContext::typeOf(target).getElementType();
    if (isSizes ? !element.isInteger(64) : !isa<FloatType>(element))
      return ctx.error("input '" + ctx.node->input(index) + "' must hold " +
                       (isSizes ? "int64" : "floats"));
    SmallVector<int64_t> axes;
    for (int64_t a : ctx.intsAttr("axes")) {
      auto axis = ctx.normalizeAxis(a, rank);
      if (!axis)
        return failure();
      axes.push_back(*axis);
    }
    if (axes.empty())
      axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    auto targetType = ImportContext::typeOf(target);
    if (targetType.getRank() != 1 ||
        targetType.getDimSize(0) != static_cast<int64_t>(axes.size()))
      return ctx.error(
          "input '" + ctx.node->input(index) + "' needs one value per " +
          (ctx.intsAttr("axes").empty() ? "dim" : "axis in 'axes'"));
    std::string why = isSizes
                          ? "holds a negative size, or sizes an empty dim"
                          : "holds a scale that is not above 0 or not finite";
    Value result = ctx.build<graph::RuntimeResizeOp>(
        x, target, b.getDenseI64ArrayAttr(axes),
        b.getStringAttr(isSizes ? policy : "stretch"), b.getStringAttr(mode),
        b.getStringAttr(coordinates), b.getStringAttr(nearest),
        b.getF32FloatAttr(ctx.floatAttr("cubic_coeff_a", -0.75f)),
        b.getBoolAttr(ctx.intAttr("exclude_outside", 0) != 0),
        ctx.runtimeMessage("input '" + ctx.node->input(index) + "' " + why +
                           ", or the result has more than " +
                           Twine(kMaxTensorElements) + " elements"),
        IntegerAttr());
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  };
  if (!(upsample && ctx.opset < 9)) {
    int index = legacy ? 1 : ctx.optionalInput(3) ? 3 : 2;
    if (ctx.isRuntimeValue(index))
      return buildRuntime(index);
  }
  SmallVector<double> scales;
  SmallVector<int64_t> sizes;
  auto readScales = [&](int index) -> LogicalResult {
    Value v = ctx.input(index);
    DenseFPElementsAttr attr;
    if (!v)
      return failure();
    if (!matchPattern(v, m_Constant(&attr)))
      return ctx.error("input '" + ctx.node->input(index) +
                       "' must be a compile-time constant");
    for (const APFloat &f : attr.getValues<APFloat>())
      scales.push_back(f.convertToDouble());
    return success();
  };
  if (upsample && ctx.opset < 9) {
    const auto *a = ctx.attr("scales");
    if (!a)
      return ctx.error("the scales attribute is required");
    scales.assign(a->floats().begin(), a->floats().end());
  } else if (legacy) {
    if (failed(readScales(1)))
      return failure();
  } else {
    if (ctx.optionalInput(3)) {
      auto s = ctx.constantInts(3);
      if (!s)
        return failure();
      sizes = *s;
    } else if (ctx.optionalInput(2)) {
      if (failed(readScales(2)))
        return failure();
    } else {
      return ctx.error("needs scales or sizes");
    }
    // Opset 18: scales or sizes for the listed axes only (the others keep
    // their size), and sizes may keep the aspect ratio of those axes.
    SmallVector<int64_t> axes = ctx.intsAttr("axes");
    if (!axes.empty()) {
      SmallVector<double> fullScales(rank, 1.0);
      SmallVector<int64_t> fullSizes(type.getShape());
      size_t given = sizes.empty() ? scales.size() : sizes.size();
      if (given != axes.size())
        return ctx.error(Twine(sizes.empty() ? "scales" : "sizes") +
                         " needs one value per axis in 'axes'");
      for (auto [i, a] : llvm::enumerate(axes)) {
        auto axis = ctx.normalizeAxis(a, rank);
        if (!axis)
          return failure();
        a = *axis;
        if (sizes.empty())
          fullScales[*axis] = scales[i];
        else
          fullSizes[*axis] = sizes[i];
      }
      if (sizes.empty())
        scales = fullScales;
      else
        sizes = fullSizes;
    } else {
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    }
    if (policy != "stretch" && !sizes.empty()) {
      if ((int64_t)sizes.size() != rank)
        return ctx.error("sizes needs one value per dim");
      // One scale for all the axes, the smallest or largest ratio; sizes
      // rounded half up, as ONNX's reference does.
      double common = policy == "not_larger"
                          ? std::numeric_limits<double>::infinity()
                          : 0.0;
      for (int64_t a : axes) {
        double ratio = double(sizes[a]) / type.getDimSize(a);
        common = policy == "not_larger" ? std::min(common, ratio)
                                        : std::max(common, ratio);
      }
      scales.assign(rank, 1.0);
      for (int64_t a : axes) {
        scales[a] = common;
        sizes[a] = static_cast<int64_t>(common * type.getDimSize(a) + 0.5);
      }
    }
  }
  if (!sizes.empty() && !scales.empty()) {
    // Both set by keep_aspect_ratio_policy.
  } else if (!sizes.empty()) {
    if ((int64_t)sizes.size() != rank)
      return ctx.error("sizes needs one value per dim");
    for (int64_t d = 0; d < rank; ++d)
      scales.push_back(double(sizes[d]) / type.getDimSize(d));
  } else {
    if ((int64_t)scales.size() != rank)
      return ctx.error("scales needs one value per dim");
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(static_cast<int64_t>(std::floor(type.getDimSize(d) * scales[d])));
  }
  SmallVector<float> scaleValues(scales.begin(), scales.end());
  Value result = ctx.build<graph::ResizeOp>(
      x, b.getDenseI64ArrayAttr(sizes), b.getDenseF32ArrayAttr(scaleValues),
      b.getStringAttr(mode), b.getStringAttr(coordinates), b.getStringAttr(nearest),
      b.getF32FloatAttr(ctx.floatAttr("cubic_coeff_a", -0.75f)),
      b.getBoolAttr(ctx.intAttr("exclude_outside", 0) != 0));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importDepthToSpace(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto t = ImportContext::typeOf(x);
  int64_t bs = ctx.intAttr("blocksize", 0);
  if (t.getRank() != 4 || bs < 1 || t.getDimSize(1) % (bs * bs) != 0)
    return ctx.error("wants [N, C, H, W] with C a multiple of blocksize^2");
  int64_t n = t.getDimSize(0), c = t.getDimSize(1), h = t.getDimSize(2),
          w = t.getDimSize(3), cc = c / (bs * bs);
  bool crd = ctx.stringAttr("mode", "DCR") == "CRD";
  Value result =
      crd ? reshapeTransposeReshape(ctx, x, {n, cc, bs, bs, h, w}, {0, 1, 4, 2, 5, 3},
                                    {n, cc, h * bs, w * bs})
          : reshapeTransposeReshape(ctx, x, {n, bs, bs, cc, h, w}, {0, 3, 4, 1, 5, 2},
                                    {n, cc, h * bs, w * bs});
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importSpaceToDepth(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto t = ImportContext::typeOf(x);
  int64_t bs = ctx.intAttr("blocksize", 0);
  if (t.getRank() != 4 || bs < 1 || t.getDimSize(2) % bs || t.getDimSize(3) % bs)
    return ctx.error("wants [N, C, H, W] with H and W multiples of blocksize");
  int64_t n = t.getDimSize(0), c = t.getDimSize(1), h = t.getDimSize(2),
          w = t.getDimSize(3);
  Value result = reshapeTransposeReshape(ctx, x, {n, c, h / bs, bs, w / bs, bs},
                                         {0, 3, 5, 1, 2, 4},
                                         {n, c * bs * bs, h / bs, w / bs});
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importOneHot(ImportContext &ctx) {
  if (ctx.isRuntimeValue(1)) {
    Value indices = ctx.input(0), depth = ctx.input(1), values = ctx.input(2);
    if (!indices || !depth || !values)
      return failure();
    auto &b = ctx.builder;
    if (ImportContext::typeOf(depth).getNumElements() != 1)
      return ctx.error("depth must hold one value");
    // ONNX's depth may have any numeric type; a float one is truncated.
    depth = ctx.build<graph::ReshapeOp>(depth, b.getDenseI64ArrayAttr({}));
    if (depth && !ImportContext::typeOf(depth).getElementType().isInteger(64))
      depth = ctx.build<graph::CastOp>(depth, TypeAttr::get(b.getI64Type()));
    if (indices &&
        !ImportContext::typeOf(indices).getElementType().isInteger(64))
      indices = ctx.build<graph::CastOp>(
          indices, TypeAttr::get(b.getI64Type()),
          b.getBoolAttr(ctx.unsignedValues.contains(indices)));
    auto axis = ctx.normalizeAxis(ctx.intAttr("axis", -1),
                                  ImportContext::typeOf(indices).getRank() + 1);
    if (!axis || !depth || !indices)
      return failure();
    Value result = ctx.build<graph::RuntimeOneHotOp>(
        indices, depth, values, b.getI64IntegerAttr(*axis),
        ctx.runtimeMessage("depth is below 1, or the result has more than " +
                           Twine(kMaxTensorElements) + " elements"),
        IntegerAttr());
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  Value indices = ctx.input(0), values = ctx.input(2);
  auto depthValue = ctx.constantFloat(1);
  if (!indices || !values || !depthValue)
    return failure();
  auto &b = ctx.builder;
  int64_t depth = static_cast<int64_t>(*depthValue);
  auto idxType = ImportContext::typeOf(indices);
  int64_t rank = idxType.getRank() + 1;
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank);
  if (!axis)
    return failure();
  Type i64 = b.getI64Type();
  // Unsigned indices are zero-extended: a large one is out of range.
  Value idx = ctx.build<graph::CastOp>(
      indices, TypeAttr::get(i64),
      b.getBoolAttr(ctx.unsignedValues.contains(indices)));
  // Negative indices count from the end of the depth.
  auto scalar = [&](int64_t v) {
    return arith::ConstantOp::create(
        b, ctx.loc(), DenseElementsAttr::get(RankedTensorType::get({}, i64), v));
  };
  Value negative = idx ? ctx.build<graph::LessOp>(idx, scalar(0)) : Value();
  Value wrapped = negative ? ctx.build<graph::AddOp>(idx, scalar(depth)) : Value();
  idx = wrapped ? ctx.build<graph::WhereOp>(negative, wrapped, idx) : Value();
  SmallVector<int64_t> lifted(idxType.getShape());
  lifted.insert(lifted.begin() + *axis, 1);
  idx = idx ? ctx.build<graph::ReshapeOp>(idx, b.getDenseI64ArrayAttr(lifted)) : Value();
  SmallVector<int64_t> iotaShape(rank, 1), iotaValues;
  iotaShape[*axis] = depth;
  for (int64_t i = 0; i < depth; ++i)
    iotaValues.push_back(i);
  Value iota = arith::ConstantOp::create(
      b, ctx.loc(), DenseElementsAttr::get(RankedTensorType::get(iotaShape, i64),
                                           ArrayRef(iotaValues)));
  Value hit = idx ? ctx.build<graph::EqualOp>(idx, iota) : Value();
  auto valType = ImportContext::typeOf(values);
  if (valType.getNumElements() != 2)
    return ctx.error("values must hold [off, on]");
  auto pick = [&](int64_t i) {
    return ctx.build<graph::SliceOp>(
        ctx.build<graph::ReshapeOp>(values, b.getDenseI64ArrayAttr({2})),
        b.getDenseI64ArrayAttr({i}), b.getDenseI64ArrayAttr({1}), b.getDenseI64ArrayAttr({1}));
  };
  Value off = pick(0), on = pick(1);
  Value result = hit && on && off ? ctx.build<graph::WhereOp>(hit, on, off) : Value();
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importEyeLike(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto t = ImportContext::typeOf(x);
  if (t.getRank() != 2)
    return ctx.error("input must be a matrix");
  Type elem = t.getElementType();
  if (const auto *a = ctx.attr("dtype")) {
    elem = elementTypeOf(ctx.builder.getContext(), a->i());
    if (!elem)
      return ctx.error("dtype " + dtypeName(a->i()) + " is not supported");
  }
  int64_t k = ctx.intAttr("k", 0), rows = t.getDimSize(0), cols = t.getDimSize(1);
  auto &b = ctx.builder;
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      bool one = j - i == k;
      values.push_back(isa<FloatType>(elem) ? Attribute(b.getFloatAttr(elem, one))
                                            : Attribute(b.getIntegerAttr(elem, one)));
    }
  ctx.setOutput(0, arith::ConstantOp::create(
                       b, ctx.loc(),
                       DenseElementsAttr::get(RankedTensorType::get({rows, cols}, elem),
                                              values)));
  return success();
}

} // namespace

void addTensorImporters(std::vector<OpImporter> &table) {
  table.push_back({"DepthToSpace", "Tensor", 1, "DCR and CRD", importDepthToSpace});
  table.push_back(
      {"Resize", "Tensor", 10,
       "nearest, linear, cubic; scales or sizes constant or at run time; "
       "axes, keep_aspect_ratio_policy; not tf_crop_and_resize or antialias",
       importResize});
  table.push_back({"Upsample", "Tensor", 7, "nearest, linear", importResize});
  table.push_back({"SpaceToDepth", "Tensor", 1, "", importSpaceToDepth});
  table.push_back({"OneHot", "Tensor", 9,
                   "depth constant or at run time, negative indices",
                   importOneHot});
  table.push_back({"EyeLike", "Tensor", 9, "", importEyeLike});
  table.push_back({"Shape", "Tensor", 1, "a constant (static shapes)", importShape});
  table.push_back({"Size", "Tensor", 1, "a constant (static shapes)", importSize});
  table.push_back({"Gather", "Tensor", 1, "negative indices", importGather});
  table.push_back({"GatherElements", "Tensor", 11, "negative indices", importGatherElements});
  table.push_back({"Trilu", "Tensor", 14, "k constant or given at run time", importTrilu});
  table.push_back({"Compress", "Tensor", 9, "condition constant or at run time",
                   importCompress});
  table.push_back({"NonMaxSuppression", "Tensor", 10,
                   "corner and center boxes; count and thresholds at run "
                   "time",
                   importNonMaxSuppression});
  table.push_back({"Unique", "Tensor", 11,
                   "flattened or along an axis, sorted or in order of first "
                   "occurrence; O(n^2) comparisons",
                   importUnique});
  table.push_back({"NonZero", "Tensor", 9,
                   "any element type; constant or at run time", importNonZero});
  table.push_back({"ReverseSequence", "Tensor", 10,
                   "sequence_lens constant or at run time",
                   importReverseSequence});
  table.push_back({"MaxUnpool", "Tensor", 9, "", importMaxUnpool});
  table.push_back({"ScatterElements", "Tensor", 11, "none, add, mul, max, min",
                   importScatterElements});
  table.push_back({"Scatter", "Tensor", 9, "as ScatterElements", importScatterElements});
  table.push_back({"GatherND", "Tensor", 11, "batch_dims, negative indices", importGatherND});
  table.push_back({"ScatterND", "Tensor", 11, "none, add, mul, max, min", importScatterND});
  table.push_back({"TopK", "Tensor", 1,
                   "float, K constant or at run time, largest/smallest",
                   importTopK});
  table.push_back(
      {"Slice", "Tensor", 1,
       "starts/ends/axes/steps constant or at run time, negative steps",
       importSlice});
  table.push_back(
      {"Squeeze", "Tensor", 1, "axes constant or at run time", importSqueeze});
  table.push_back({"Unsqueeze", "Tensor", 1, "axes constant or at run time",
                   importUnsqueeze});
  table.push_back(
      {"Expand", "Tensor", 8, "shape constant or at run time", importExpand});
  table.push_back({"Cast", "Tensor", 1, "float, int, bool", importCast});
  table.push_back({"CastLike", "Tensor", 15, "float, int, bool", importCast});
  table.push_back({"ConstantOfShape", "Tensor", 9,
                   "shape constant or at run time", importConstantOfShape});
  table.push_back({"Range", "Tensor", 11,
                   "start/limit/delta constant or at run time", importRange});
  table.push_back(
      {"Split", "Tensor", 1, "split constant or at run time", importSplit});
  table.push_back(
      {"Tile", "Tensor", 6, "repeats constant or at run time", importTile});
  table.push_back({"Identity", "Tensor", 1, "", importIdentity});
  table.push_back({"Flatten", "Tensor", 1, "any axis", importFlatten});
  table.push_back({"Reshape", "Tensor", 1,
                   "shape constant or at run time, 0, -1, allowzero",
                   importReshape});
  table.push_back({"Transpose", "Tensor", 1, "", importTranspose});
  table.push_back({"Concat", "Tensor", 1, "", importConcat});
  table.push_back({"Constant", "Tensor", 1, "dense values", importConstant});
  table.push_back(
      {"Pad", "Tensor", 1,
       "constant, reflect, edge, wrap; axes; pads at run time (without axes)",
       importPad});
}

} // namespace dlc::onnx_frontend
