//===- Math.cpp - importers of elementwise math, activations, matmul ------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include <cmath>
#include <limits>
#include <map>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// Floats or integers (not bools).
LogicalResult requireNumeric(ImportContext &ctx, Value v, StringRef what) {
  Type elem = ImportContext::typeOf(v).getElementType();
  if (isa<FloatType>(elem) || (elem.isInteger() && !elem.isInteger(1)))
    return success();
  return ctx.error(what + " must hold numbers, not bools");
}

/// Opset 1-6 broadcasting: without `broadcast`, A and B have one shape; with
/// broadcast=1, B's dims match A's from `axis` on (default: A's last dims),
/// i.e. B reshaped to A's rank with 1s around them broadcasts numpy-style.
Value legacyBroadcastOperand(ImportContext &ctx, Value a, Value b) {
  auto aType = ImportContext::typeOf(a), bType = ImportContext::typeOf(b);
  int64_t rankA = aType.getRank(), rankB = bType.getRank();
  if (ctx.intAttr("broadcast", 0) == 0) {
    if (aType.getShape() != bType.getShape()) {
      (void)ctx.error("opset " + Twine(ctx.opset) +
                      ": A and B differ in shape and 'broadcast' is not set");
      return Value();
    }
    return b;
  }
  int64_t axis = ctx.intAttr("axis", rankA - rankB);
  if (axis < 0)
    axis += rankA;
  if (axis < 0 || axis + rankB > rankA) {
    (void)ctx.error("opset " + Twine(ctx.opset) + ": B of rank " +
                    Twine(rankB) + " does not fit A of rank " + Twine(rankA) +
                    " from axis " + Twine(axis));
    return Value();
  }
  SmallVector<int64_t> shape(axis, 1);
  llvm::append_range(shape, bType.getShape());
  shape.resize(rankA, 1);
  return ctx.build<graph::ReshapeOp>(b,
                                     ctx.builder.getDenseI64ArrayAttr(shape));
}

template <typename Op>
LogicalResult importBinary(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b || failed(requireNumeric(ctx, a, "input A")) ||
      failed(requireNumeric(ctx, b, "input B")))
    return failure();
  if (ctx.opset < 7) {
    b = legacyBroadcastOperand(ctx, a, b);
    if (!b)
      return failure();
  }
  bool isUnsigned = ctx.unsignedValues.contains(a);
  Value result = ctx.build<Op>(a, b, ctx.builder.getBoolAttr(isUnsigned));
  if (result && isUnsigned)
    ctx.unsignedValues.insert(result);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importPow(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b || failed(requireNumeric(ctx, a, "input X")))
    return failure();
  if (ctx.opset < 7) {
    b = legacyBroadcastOperand(ctx, a, b);
    if (!b)
      return failure();
  }
  // Integer bases are raised in float64 (exact while the result fits its
  // 53-bit mantissa) and converted back; the exponent takes the base's
  // (float) type.
  Type elem = ImportContext::typeOf(a).getElementType();
  Type compute = isa<FloatType>(elem) ? elem : ctx.builder.getF64Type();
  auto as = [&](Value v, Type t) {
    return v && ImportContext::typeOf(v).getElementType() != t
               ? ctx.build<graph::CastOp>(v, TypeAttr::get(t))
               : v;
  };
  Value base = as(a, compute), exponent = as(b, compute);
  Value result = base && exponent ? ctx.build<graph::PowOp>(base, exponent) : Value();
  result = as(result, elem);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importMod(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b || failed(requireNumeric(ctx, a, "input A")))
    return failure();
  bool fmod = ctx.intAttr("fmod", 0) != 0;
  if (!fmod && isa<FloatType>(ImportContext::typeOf(a).getElementType()))
    return ctx.error("fmod=0 is only defined for integers");
  bool isUnsigned = ctx.unsignedValues.contains(a);
  Value result = ctx.build<graph::ModOp>(a, b, ctx.builder.getBoolAttr(isUnsigned),
                                         ctx.builder.getBoolAttr(fmod));
  if (result && isUnsigned)
    ctx.unsignedValues.insert(result);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Max, Min, Sum, Mean of any number of broadcasting inputs.
template <typename Op>
LogicalResult importVariadic(ImportContext &ctx, bool mean) {
  SmallVector<Value> inputs;
  for (int i = 0; i < ctx.node->input_size(); ++i) {
    Value v = ctx.input(i);
    if (!v || failed(requireNumeric(ctx, v, "an input")))
      return failure();
    inputs.push_back(v);
  }
  if (inputs.empty())
    return ctx.error("needs at least one input");
  bool isUnsigned = ctx.unsignedValues.contains(inputs[0]);
  Value result = inputs[0];
  for (Value v : ArrayRef(inputs).drop_front()) {
    result = ctx.build<Op>(result, v, ctx.builder.getBoolAttr(isUnsigned));
    if (!result)
      return failure();
  }
  if (isUnsigned)
    ctx.unsignedValues.insert(result);
  if (mean) {
    if (failed(ctx.requireFloat(result, "Mean's inputs")))
      return failure();
    Type elem = ImportContext::typeOf(result).getElementType();
    result = ctx.build<graph::DivOp>(result, ctx.scalar(elem, inputs.size()));
  }
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

template <typename Op>
LogicalResult importCompare(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b || failed(ctx.rejectUnsigned(a, "input A")) ||
      failed(ctx.rejectUnsigned(b, "input B")))
    return failure();
  Value result = ctx.build<Op>(a, b);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

template <typename Op>
LogicalResult importLogic(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b)
    return failure();
  if (!ImportContext::typeOf(a).getElementType().isInteger(1))
    return ctx.error("inputs must be bool tensors");
  Value result = ctx.build<Op>(a, b);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importWhere(ImportContext &ctx) {
  Value c = ctx.input(0), x = ctx.input(1), y = ctx.input(2);
  if (!c || !x || !y)
    return failure();
  Value result = ctx.build<graph::WhereOp>(c, x, y);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// A graph.unary importer for ONNX op `fn` with parameters read from the
/// node's attributes (name, default) into alpha, beta and gamma.
struct UnaryParam {
  const char *attribute;
  float fallback;
};
OpImportFn unaryImporter(std::string fn, std::vector<UnaryParam> params = {},
                         bool intsToo = false) {
  return [fn, params, intsToo](ImportContext &ctx) -> LogicalResult {
    Value x = ctx.input(0);
    if (!x)
      return failure();
    Type elem = ImportContext::typeOf(x).getElementType();
    if (fn == "not") {
      if (!elem.isInteger(1))
        return ctx.error("input X must be a bool tensor");
    } else if (intsToo) {
      if (failed(requireNumeric(ctx, x, "input X")))
        return failure();
    } else if (failed(ctx.requireFloat(x, "input X"))) {
      return failure();
    }
    float values[3] = {0, 0, 0};
    for (size_t i = 0; i < params.size(); ++i)
      values[i] = ctx.floatAttr(params[i].attribute, params[i].fallback);
    auto &b = ctx.builder;
    Value result = ctx.build<graph::UnaryOp>(
        x, b.getStringAttr(fn), b.getF32FloatAttr(values[0]),
        b.getF32FloatAttr(values[1]), b.getF32FloatAttr(values[2]));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  };
}

LogicalResult importPRelu(ImportContext &ctx) {
  Value x = ctx.input(0), slope = ctx.input(1);
  if (!x || !slope || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Type elem = ImportContext::typeOf(x).getElementType();
  // Opset 6 and earlier: a slope of C values is per channel (axis 1).
  auto xType = ImportContext::typeOf(x);
  auto slopeType = ImportContext::typeOf(slope);
  if (ctx.opset < 7 && slopeType.getRank() == 1 && xType.getRank() >= 2 &&
      slopeType.getDimSize(0) != 1 &&
      slopeType.getDimSize(0) == xType.getDimSize(1)) {
    SmallVector<int64_t> shape(xType.getRank() - 1, 1);
    shape[0] = slopeType.getDimSize(0);
    slope = ctx.build<graph::ReshapeOp>(
        slope, ctx.builder.getDenseI64ArrayAttr(shape));
    if (!slope)
      return failure();
  }
  // x < 0 ? x * slope : x, with slope broadcasting to x.
  Value negative = ctx.build<graph::LessOp>(x, ctx.scalar(elem, 0));
  Value scaled = negative ? ctx.build<graph::MulOp>(x, slope) : Value();
  Value result = scaled ? ctx.build<graph::WhereOp>(negative, scaled, x) : Value();
  if (result && ImportContext::typeOf(result) != ImportContext::typeOf(x))
    return ctx.error("slope does not broadcast to X's shape");
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

template <typename Op>
LogicalResult importUnary(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Value result = ctx.build<Op>(x);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importLeakyRelu(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  float alpha = ctx.floatAttr("alpha", 0.01f);
  Value result =
      ctx.build<graph::LeakyReluOp>(x, ctx.builder.getF32FloatAttr(alpha));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Clip of integers: max with the lower bound, min with the upper one (each
/// a constant of X's type, when given), unsigned-aware.
/// Clip's bound `i` as a rank-0 tensor (a [1] bound would otherwise widen a
/// rank-0 X when broadcast); null with an error unless it has one element.
Value clipBound(ImportContext &ctx, int i) {
  Value bound = ctx.input(i);
  if (!bound)
    return {};
  auto type = ImportContext::typeOf(bound);
  if (type.getNumElements() != 1) {
    (void)ctx.error("input '" + ctx.node->input(i) +
                    "' must have one element, not " +
                    Twine(type.getNumElements()));
    return {};
  }
  if (type.getRank() == 0)
    return bound;
  return ctx.build<graph::ReshapeOp>(bound,
                                     ctx.builder.getDenseI64ArrayAttr({}));
}

/// Clip as max(X, min) then min(., max): the bounds may be computed at run
/// time. Where min > max every output is max, as ONNX defines.
LogicalResult importClipByMinMax(ImportContext &ctx, Value x) {
  bool isUnsigned = ctx.unsignedValues.contains(x);
  auto &b = ctx.builder;
  Value result = x;
  for (int i : {1, 2}) {
    if (!ctx.optionalInput(i))
      continue;
    Value bound = clipBound(ctx, i);
    if (!bound)
      return failure();
    result = i == 1 ? ctx.build<graph::MaxOp>(result, bound,
                                              b.getBoolAttr(isUnsigned))
                    : ctx.build<graph::MinOp>(result, bound,
                                              b.getBoolAttr(isUnsigned));
    if (!result)
      return failure();
  }
  if (isUnsigned)
    ctx.unsignedValues.insert(result);
  ctx.setOutput(0, result);
  return success();
}

LogicalResult importClip(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  Type elem = ImportContext::typeOf(x).getElementType();
  if (ctx.opset >= 11 && elem.isInteger() && !elem.isInteger(1))
    return importClipByMinMax(ctx, x);
  if (failed(ctx.requireFloat(x, "input X")))
    return failure();
  double lo = -std::numeric_limits<float>::infinity();
  double hi = std::numeric_limits<float>::infinity();
  if (ctx.opset < 11) {
    lo = ctx.floatAttr("min", lo);
    hi = ctx.floatAttr("max", hi);
  } else {
    // Bounds computed at run time (an audio dB floor: max(x) - 80).
    for (int i : {1, 2})
      if (auto bound = ctx.optionalInput(i);
          bound && !matchPattern(*bound, m_Constant()))
        return importClipByMinMax(ctx, x);
    if (ctx.optionalInput(1)) {
      auto v = ctx.constantFloat(1);
      if (!v)
        return failure();
      lo = *v;
    }
    if (ctx.optionalInput(2)) {
      auto v = ctx.constantFloat(2);
      if (!v)
        return failure();
      hi = *v;
    }
  }
  if (lo > hi) {
    // ONNX defines min > max as all outputs equal to max.
    lo = hi;
  }
  Value result = ctx.build<graph::ClipOp>(
      x, ctx.builder.getF32FloatAttr(lo), ctx.builder.getF32FloatAttr(hi));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

template <typename Op>
LogicalResult importSoftmaxLike(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", ctx.opset < 13 ? 1 : -1),
                                rank);
  if (!axis)
    return failure();
  auto &b = ctx.builder;
  if (ctx.opset >= 13 || *axis == rank - 1) {
    Value result = ctx.build<Op>(x, b.getI64IntegerAttr(*axis));
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  // Before opset 13, Softmax normalizes over all dims from `axis` on, as a
  // [prod(dims < axis), prod(dims >= axis)] matrix.
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < *axis ? rows : cols) *= type.getDimSize(d);
  Value flat = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({rows, cols}));
  if (!flat)
    return failure();
  Value soft = ctx.build<Op>(flat, b.getI64IntegerAttr(1));
  if (!soft)
    return failure();
  Value result = ctx.build<graph::ReshapeOp>(soft, b.getDenseI64ArrayAttr(type.getShape()));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importGemm(ImportContext &ctx) {
  Value a = ctx.input(0), bm = ctx.input(1);
  if (!a || !bm || failed(ctx.requireFloat(a, "input A")))
    return failure();
  if (ImportContext::typeOf(a).getRank() != 2 ||
      ImportContext::typeOf(bm).getRank() != 2)
    return ctx.error("A and B must be matrices");
  auto &b = ctx.builder;
  Type elem = ImportContext::typeOf(a).getElementType();
  Value y = ctx.build<graph::MatmulOp>(
      a, bm, b.getBoolAttr(ctx.intAttr("transA", 0) != 0),
      b.getBoolAttr(ctx.intAttr("transB", 0) != 0));
  if (!y)
    return failure();
  float alpha = ctx.floatAttr("alpha", 1.0f);
  float beta = ctx.floatAttr("beta", 1.0f);
  if (alpha != 1.0f)
    y = ctx.build<graph::MulOp>(y, ctx.scalar(elem, alpha));
  if (std::optional<Value> c = ctx.optionalInput(2); c && y && beta != 0.0f) {
    Value scaled = *c;
    if (beta != 1.0f)
      scaled = ctx.build<graph::MulOp>(*c, ctx.scalar(elem, beta));
    if (!scaled)
      return failure();
    // C broadcasts to [M, N] (unidirectionally).
    y = ctx.build<graph::AddOp>(y, scaled);
  }
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importMatMul(ImportContext &ctx) {
  Value a = ctx.input(0), bm = ctx.input(1);
  if (!a || !bm || failed(ctx.requireFloat(a, "input A")))
    return failure();
  auto &b = ctx.builder;
  auto aType = ImportContext::typeOf(a), bType = ImportContext::typeOf(bm);
  // 1-D operands become matrices and lose the added dim afterwards.
  bool vecA = aType.getRank() == 1, vecB = bType.getRank() == 1;
  if (vecA)
    a = ctx.build<graph::ReshapeOp>(
        a, b.getDenseI64ArrayAttr({1, aType.getDimSize(0)}));
  if (vecB)
    bm = ctx.build<graph::ReshapeOp>(
        bm, b.getDenseI64ArrayAttr({bType.getDimSize(0), 1}));
  if (!a || !bm)
    return failure();
  Value y = ctx.build<graph::MatmulOp>(a, bm, b.getBoolAttr(false),
                                       b.getBoolAttr(false));
  if (!y)
    return failure();
  if (vecA || vecB) {
    auto shape = SmallVector<int64_t>(ImportContext::typeOf(y).getShape());
    if (vecB)
      shape.erase(shape.end() - 1);
    if (vecA)
      shape.erase(shape.end() - 1 - (vecB ? 0 : 1));
    y = ctx.build<graph::ReshapeOp>(y, b.getDenseI64ArrayAttr(shape));
  }
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// A constant int64 "iota" of `n` values along dim `axis` of a rank-`rank`
/// tensor (every other dim 1).
Value iotaAlong(ImportContext &ctx, int64_t n, int64_t axis, int64_t rank) {
  SmallVector<int64_t> shape(rank, 1), values;
  shape[axis] = n;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(i);
  auto type = RankedTensorType::get(shape, ctx.builder.getI64Type());
  return arith::ConstantOp::create(ctx.builder, ctx.loc(),
                                   DenseElementsAttr::get(type, ArrayRef(values)));
}

/// 1.0 at the first maximum along `axis`, 0.0 elsewhere.
Value hardmax(ImportContext &ctx, Value x, int64_t axis) {
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  Value arg = ctx.build<graph::ArgReduceOp>(x, b.getStringAttr("max"),
                                            b.getI64IntegerAttr(axis), b.getBoolAttr(true),
                                            b.getBoolAttr(false));
  Value hit = arg ? ctx.build<graph::EqualOp>(
                        iotaAlong(ctx, type.getDimSize(axis), axis, type.getRank()), arg)
                  : Value();
  return hit ? ctx.build<graph::CastOp>(hit, TypeAttr::get(type.getElementType())) : Value();
}

LogicalResult importHardmax(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", ctx.opset < 13 ? 1 : -1), rank);
  if (!axis)
    return failure();
  Value result;
  if (ctx.opset >= 13 || *axis == rank - 1) {
    result = hardmax(ctx, x, *axis);
  } else {
    // Before opset 13 the input is viewed as [prod(d < axis), prod(d >= axis)].
    int64_t rows = 1, cols = 1;
    for (int64_t d = 0; d < rank; ++d)
      (d < *axis ? rows : cols) *= type.getDimSize(d);
    auto &b = ctx.builder;
    Value flat = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({rows, cols}));
    Value hard = flat ? hardmax(ctx, flat, 1) : Value();
    result = hard ? ctx.build<graph::ReshapeOp>(hard, b.getDenseI64ArrayAttr(type.getShape()))
                  : Value();
  }
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importIsNaN(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  // NaN is the only value not equal to itself.
  Value same = ctx.build<graph::EqualOp>(x, x);
  Value result = ctx.unary(same, "not");
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importIsInf(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Type elem = ImportContext::typeOf(x).getElementType();
  bool positive = ctx.intAttr("detect_positive", 1) != 0;
  bool negative = ctx.intAttr("detect_negative", 1) != 0;
  double inf = std::numeric_limits<double>::infinity();
  Value pos = ctx.build<graph::EqualOp>(x, ctx.scalar(elem, inf));
  Value neg = ctx.build<graph::EqualOp>(x, ctx.scalar(elem, -inf));
  if (!pos || !neg)
    return failure();
  Value result;
  if (positive && negative)
    result = ctx.build<graph::OrOp>(pos, neg);
  else if (positive)
    result = pos;
  else if (negative)
    result = neg;
  else // nothing detected: all false
    result = ctx.build<graph::AndOp>(pos, neg);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// CumSum of `x` along `axis` as a product with a constant triangular
/// matrix: y[.., j] = sum_i x[.., i] * M[i, j].
static Value cumSumAlong(ImportContext &ctx, Value x, int64_t axis,
                         bool exclusive, bool reverse) {
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  int64_t n = type.getDimSize(axis);
  Type elem = type.getElementType();
  SmallVector<Attribute> m;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      bool take = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j);
      m.push_back(b.getFloatAttr(elem, take ? 1.0 : 0.0));
    }
  Value tri = arith::ConstantOp::create(
      b, ctx.loc(), DenseElementsAttr::get(RankedTensorType::get({n, n}, elem), m));
  // Move the axis last, view as a matrix, multiply, and undo.
  SmallVector<int64_t> perm, inverse(rank), moved;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  for (int64_t d = 0; d < rank; ++d) {
    inverse[perm[d]] = d;
    moved.push_back(type.getDimSize(perm[d]));
  }
  Value v = ctx.build<graph::TransposeOp>(x, b.getDenseI64ArrayAttr(perm));
  v = v ? ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr({type.getNumElements() / std::max<int64_t>(n, 1), n})) : v;
  v = v ? ctx.build<graph::MatmulOp>(v, tri, b.getBoolAttr(false), b.getBoolAttr(false)) : v;
  v = v ? ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(moved)) : v;
  return v ? ctx.build<graph::TransposeOp>(v, b.getDenseI64ArrayAttr(inverse))
           : v;
}

LogicalResult importCumSum(ImportContext &ctx) {
  Value x = ctx.input(0), axisInput = ctx.input(1);
  if (!x || !axisInput || failed(ctx.requireFloat(x, "input x")))
    return failure();
  bool exclusive = ctx.intAttr("exclusive", 0) != 0;
  bool reverse = ctx.intAttr("reverse", 0) != 0;
  int64_t rank = ImportContext::typeOf(x).getRank();
  if (!matchPattern(axisInput, m_Constant()) && rank > 0) {
    // The axis at run time: the sum along every axis, the one it names
    // picked (the shape is the same), and an axis outside [-rank, rank)
    // fails the call.
    auto &b = ctx.builder;
    Value axis = ctx.runtimeInts(1);
    if (!axis || ImportContext::typeOf(axis).getNumElements() != 1)
      return axis ? ctx.error("axis must hold one value") : failure();
    axis = ctx.build<graph::ReshapeOp>(axis, b.getDenseI64ArrayAttr({}));
    if (!axis)
      return failure();
    graph::CheckIndicesOp::create(
        b, ctx.loc(), axis, b.getI64IntegerAttr(-rank),
        b.getI64IntegerAttr(rank),
        ctx.runtimeMessage("input '" + ctx.node->input(1) +
                           "' is an axis outside [" + Twine(-rank) + ", " +
                           Twine(rank - 1) + "]"),
        IntegerAttr());
    Value result = cumSumAlong(ctx, x, 0, exclusive, reverse);
    for (int64_t k = 1; k < rank && result; ++k) {
      Value sum = cumSumAlong(ctx, x, k, exclusive, reverse);
      auto number = [&](int64_t v) -> Value {
        return arith::ConstantOp::create(
            b, ctx.loc(),
            DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   v));
      };
      Value named = ctx.build<graph::OrOp>(
          ctx.build<graph::EqualOp>(axis, number(k)),
          ctx.build<graph::EqualOp>(axis, number(k - rank)));
      result = sum && named ? ctx.build<graph::WhereOp>(named, sum, result)
                            : Value();
    }
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  auto axisValue = ctx.constantInts(1);
  if (!axisValue)
    return failure();
  auto axis = ctx.normalizeAxis((*axisValue)[0], rank);
  if (!axis)
    return failure();
  Value v = cumSumAlong(ctx, x, *axis, exclusive, reverse);
  ctx.setOutput(0, v);
  return success(static_cast<bool>(v));
}

LogicalResult importBitShift(ImportContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b)
    return failure();
  if (!ImportContext::typeOf(a).getElementType().isInteger() ||
      ImportContext::typeOf(a).getElementType().isInteger(1))
    return ctx.error("inputs must be integers");
  std::string direction = ctx.stringAttr("direction", "");
  Value result;
  auto &builder = ctx.builder;
  if (direction == "LEFT")
    result = ctx.build<graph::ShiftLeftOp>(a, b, builder.getBoolAttr(true));
  else if (direction == "RIGHT")
    result = ctx.build<graph::ShiftRightOp>(a, b, builder.getBoolAttr(true));
  else
    return ctx.error("direction must be LEFT or RIGHT, got '" + direction + "'");
  if (result)
    ctx.unsignedValues.insert(result);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Hann, Hamming and Blackman windows: constants of a constant size, else
/// graph.runtime_window (the size decides the result's length).
OpImportFn windowImporter(std::vector<double> cosineTerms) {
  return [cosineTerms](ImportContext &ctx) -> LogicalResult {
    Type elem =
        elementTypeOf(ctx.builder.getContext(),
                      ctx.intAttr("output_datatype", onnx::TensorProto::FLOAT));
    if (!elem)
      return ctx.error("unsupported output_datatype");
    bool periodic = ctx.intAttr("periodic", 1) != 0;
    if (ctx.isRuntimeValue(0)) {
      Value size = ctx.input(0);
      auto type = ImportContext::typeOf(size);
      if (type.getNumElements() != 1 || !type.getElementType().isInteger())
        return ctx.error("size must be one integer");
      auto &b = ctx.builder;
      Value result = ctx.build<graph::RuntimeWindowOp>(
          size, b.getDenseF64ArrayAttr(cosineTerms), b.getBoolAttr(periodic),
          TypeAttr::get(elem),
          ctx.runtimeMessage("input '" + ctx.node->input(0) +
                             "' is a negative size, or one above " +
                             Twine(kMaxTensorElements)),
          IntegerAttr());
      ctx.setOutput(0, result);
      return success(static_cast<bool>(result));
    }
    auto size = ctx.constantInts(0);
    if (!size)
      return failure();
    if (size->size() != 1 || (*size)[0] < 0)
      return ctx.error("size must be a non-negative scalar");
    int64_t n = (*size)[0];
    double denominator = periodic ? n : n - 1;
    SmallVector<Attribute> values;
    for (int64_t i = 0; i < n; ++i) {
      // sum_k a_k cos(2 pi k i / D), with a_k alternating in sign.
      double v = 0;
      for (size_t k = 0; k < cosineTerms.size(); ++k)
        v += (k % 2 ? -1 : 1) * cosineTerms[k] *
             std::cos(2 * M_PI * double(k) * double(i) / denominator);
      values.push_back(isa<FloatType>(elem)
                           ? Attribute(ctx.builder.getFloatAttr(elem, v))
                           : Attribute(ctx.builder.getIntegerAttr(elem, (int64_t)v)));
    }
    auto type = RankedTensorType::get({n}, elem);
    ctx.setOutput(0, arith::ConstantOp::create(ctx.builder, ctx.loc(),
                                               DenseElementsAttr::get(type, values)));
    return success();
  };
}

/// Einsum: the equation is made explicit (ellipses become letters, an
/// implicit output lists the letters used once, alphabetically).
LogicalResult importEinsum(ImportContext &ctx) {
  SmallVector<Value> inputs;
  for (int i = 0; i < ctx.node->input_size(); ++i) {
    Value v = ctx.input(i);
    if (!v || failed(ctx.requireFloat(v, "an input")))
      return failure();
    inputs.push_back(v);
  }
  std::string equation;
  for (char c : ctx.stringAttr("equation", ""))
    if (c != ' ')
      equation.push_back(c);
  auto [lhs, rhs] = StringRef(equation).split("->");
  bool hasOutput = StringRef(equation).contains("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != inputs.size())
    return ctx.error("equation '" + equation + "' does not have one term per input");
  // Letters not used by the equation stand for the ellipsis' dims.
  std::string unused;
  for (char c = 'a'; c <= 'z'; ++c)
    if (equation.find(c) == std::string::npos)
      unused.push_back(c);
  int64_t ellipsisRank = 0;
  SmallVector<std::string> explicitTerms;
  for (auto [term, input] : llvm::zip(terms, inputs)) {
    std::string t = term.str();
    size_t dots = t.find("...");
    if (dots != std::string::npos) {
      int64_t rank = ImportContext::typeOf(input).getRank();
      int64_t covered = rank - (static_cast<int64_t>(t.size()) - 3);
      if (covered < 0 || covered > static_cast<int64_t>(unused.size()))
        return ctx.error("cannot expand '...' in '" + equation + "'");
      ellipsisRank = std::max(ellipsisRank, covered);
      t = t.substr(0, dots) + unused.substr(unused.size() - covered) + t.substr(dots + 3);
    }
    explicitTerms.push_back(t);
  }
  std::string ellipsis = unused.substr(unused.size() - ellipsisRank);
  std::string output;
  if (hasOutput) {
    output = rhs.str();
    size_t dots = output.find("...");
    if (dots != std::string::npos)
      output = output.substr(0, dots) + ellipsis + output.substr(dots + 3);
  } else {
    // Implicit: the ellipsis dims, then the letters used once, sorted.
    std::map<char, int> counts;
    for (const std::string &t : explicitTerms)
      for (char c : t)
        ++counts[c];
    output = ellipsis;
    for (auto [c, n] : counts)
      if (n == 1 && ellipsis.find(c) == std::string::npos)
        output.push_back(c);
  }
  std::string normalized;
  for (size_t i = 0; i < explicitTerms.size(); ++i)
    normalized += (i ? "," : "") + explicitTerms[i];
  normalized += "->" + output;
  Value result = ctx.build<graph::EinsumOp>(inputs, ctx.builder.getStringAttr(normalized));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importMish(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Value t = ctx.build<graph::TanhOp>(ctx.unary(x, "softplus"));
  Value y = t ? ctx.build<graph::MulOp>(x, t) : Value();
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// Gelu: x/2 (1 + erf(x / sqrt 2)), or with approximate = "tanh"
/// x/2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
LogicalResult importGelu(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Type elem = ImportContext::typeOf(x).getElementType();
  std::string approximate = ctx.stringAttr("approximate", "none");
  Value inner;
  if (approximate == "none") {
    inner = ctx.unary(ctx.build<graph::MulOp>(x, ctx.scalar(elem, M_SQRT1_2)),
                      "erf");
  } else if (approximate == "tanh") {
    Value cube = ctx.build<graph::MulOp>(ctx.build<graph::MulOp>(x, x), x);
    Value sum = cube ? ctx.build<graph::AddOp>(
                           x, ctx.build<graph::MulOp>(
                                  cube, ctx.scalar(elem, 0.044715)))
                     : Value();
    inner = sum ? ctx.build<graph::TanhOp>(ctx.build<graph::MulOp>(
                      sum, ctx.scalar(elem, std::sqrt(2.0 / M_PI))))
                : Value();
  } else {
    return ctx.error("approximate must be 'none' or 'tanh', not '" +
                     approximate + "'");
  }
  Value onePlus =
      inner ? ctx.build<graph::AddOp>(inner, ctx.scalar(elem, 1.0)) : Value();
  Value half = ctx.build<graph::MulOp>(x, ctx.scalar(elem, 0.5));
  Value y = onePlus ? ctx.build<graph::MulOp>(half, onePlus) : Value();
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

} // namespace

/// DFT (opset 17) as one matrix product: along `axis` of [batch, signal
/// dims..., 1 or 2] (real, or real and imaginary parts), the L samples'
/// parts [a..., b...] times the constant [2L, 2K] matrix of cosines and
/// sines gives the K frequencies' parts [re..., im...]: forward
/// re = a cos + b sin, im = b cos - a sin at angle 2 pi k n / L; inverse the
/// conjugate, divided by L. L (dft_length) truncates or zero-pads the
/// signal; `onesided` keeps K = L / 2 + 1 frequencies. A direct product,
/// not an FFT: L*K is bounded.
LogicalResult importDFT(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input")))
    return failure();
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  if (rank < 3 || !type.hasStaticShape())
    return ctx.error("input must be [batch, signal dims..., 1 or 2] of "
                     "static shape");
  int64_t parts = type.getDimSize(rank - 1);
  if (parts != 1 && parts != 2)
    return ctx.error("the input's last dim must be 1 (real) or 2 (complex), "
                     "not " +
                     Twine(parts));
  // Opset 20 moved the axis to input 2, default -2 (the last signal dim).
  int64_t axis = ctx.intAttr("axis", 1);
  if (ctx.opset >= 20) {
    axis = -2;
    if (ctx.optionalInput(2)) {
      auto given = ctx.constantInts(2);
      if (!given)
        return failure();
      if (given->size() != 1)
        return ctx.error("axis must be one value");
      axis = (*given)[0];
    }
    if (!ctx.errors.empty())
      return failure();
  }
  if (axis < 0)
    axis += rank;
  if (axis < 1 || axis > rank - 2)
    return ctx.error("axis must name a signal dim (1 to " + Twine(rank - 2) +
                     ", or negative from the end before the last)");
  bool inverse = ctx.intAttr("inverse", 0) != 0;
  bool onesided = ctx.intAttr("onesided", 0) != 0;
  if (inverse && onesided)
    return ctx.error("an inverse onesided DFT is not supported");
  if (onesided && parts == 2)
    return ctx.error("onesided needs a real input");
  int64_t n = type.getDimSize(axis), length = n;
  if (std::optional<Value> given = ctx.optionalInput(1)) {
    auto values = ctx.constantInts(1);
    if (!values)
      return failure();
    if (values->size() != 1 || (*values)[0] < 1)
      return ctx.error("dft_length must be one positive value");
    length = (*values)[0];
  }
  if (!ctx.errors.empty())
    return failure();
  int64_t freqs = onesided ? length / 2 + 1 : length;
  // The matrix has 2 * parts * length * freqs elements (16 MiB at most).
  constexpr int64_t kMaxProducts = int64_t(1) << 20;
  if (length > kMaxProducts || length * freqs > kMaxProducts)
    return ctx.error("a DFT of length " + Twine(length) +
                     " is too long for dlc's direct (matrix) form");

  // [batch, ..., n, parts] with the axis moved before the parts.
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  perm.push_back(rank - 1);
  Value t = ctx.build<graph::TransposeOp>(x, b.getDenseI64ArrayAttr(perm));
  if (t && length < n)
    t = sliceDim(ctx, t, rank - 2, 0, length, 1);
  if (t && length > n) {
    SmallVector<int64_t> pads(2 * rank, 0);
    pads[rank + rank - 2] = length - n;
    t = ctx.build<graph::PadOp>(t, b.getDenseI64ArrayAttr(pads),
                                b.getF64FloatAttr(0.0));
  }
  // [batch, ..., parts * L]: the real parts, then the imaginary ones.
  SmallVector<int64_t> swapLast;
  for (int64_t d = 0; d < rank - 2; ++d)
    swapLast.push_back(d);
  swapLast.push_back(rank - 1);
  swapLast.push_back(rank - 2);
  if (t && parts == 2)
    t = ctx.build<graph::TransposeOp>(t, b.getDenseI64ArrayAttr(swapLast));
  auto tShape = t ? SmallVector<int64_t>(ImportContext::typeOf(t).getShape())
                  : SmallVector<int64_t>();
  SmallVector<int64_t> flat(tShape.begin(), tShape.end() - 2);
  flat.push_back(parts * length);
  if (t)
    t = ctx.build<graph::ReshapeOp>(t, b.getDenseI64ArrayAttr(flat));
  if (!t)
    return failure();

  std::vector<float> w(parts * length * 2 * freqs);
  double scale = inverse ? 1.0 / static_cast<double>(length) : 1.0;
  double sign = inverse ? -1.0 : 1.0;
  for (int64_t i = 0; i < length; ++i)
    for (int64_t k = 0; k < freqs; ++k) {
      // i * k modulo L keeps the angle in [0, 2 pi).
      double angle = 2.0 * M_PI * static_cast<double>((i * k) % length) /
                     static_cast<double>(length);
      double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
      int64_t cols = 2 * freqs;
      w[i * cols + k] = c;                 // a -> re
      w[i * cols + freqs + k] = -sign * s; // a -> im
      if (parts == 2) {
        w[(length + i) * cols + k] = sign * s;  // b -> re
        w[(length + i) * cols + freqs + k] = c; // b -> im
      }
    }
  auto wType =
      RankedTensorType::get({parts * length, 2 * freqs}, b.getF32Type());
  Value matrix = arith::ConstantOp::create(
      b, ctx.loc(), DenseElementsAttr::get(wType, ArrayRef<float>(w)));
  if (!type.getElementType().isF32())
    matrix =
        ctx.build<graph::CastOp>(matrix, TypeAttr::get(type.getElementType()));
  Value y = matrix ? ctx.build<graph::MatmulOp>(t, matrix, b.getBoolAttr(false),
                                                b.getBoolAttr(false))
                   : Value();
  // [batch, ..., 2, K] -> [batch, ..., K, 2] -> the frequencies at `axis`.
  SmallVector<int64_t> split(flat.begin(), flat.end() - 1);
  split.push_back(2);
  split.push_back(freqs);
  if (y)
    y = ctx.build<graph::ReshapeOp>(y, b.getDenseI64ArrayAttr(split));
  if (y)
    y = ctx.build<graph::TransposeOp>(y, b.getDenseI64ArrayAttr(swapLast));
  SmallVector<int64_t> back(rank);
  for (int64_t d = 0; d < rank; ++d)
    back[perm[d]] = d;
  if (y)
    y = ctx.build<graph::TransposeOp>(y, b.getDenseI64ArrayAttr(back));
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// Det: each [M, M] matrix of [..., M, M] by LU decomposition with partial
/// pivoting (the row of the largest magnitude in each column), the product
/// of the pivots with a sign per row swap; a zero pivot column makes it 0.
/// Loops over tensors (scf), as the matrices are small.
LogicalResult importDet(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto &b = ctx.builder;
  Location loc = ctx.loc();
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank();
  if (rank < 2 || !type.hasStaticShape() ||
      type.getDimSize(rank - 1) != type.getDimSize(rank - 2))
    return ctx.error("input X must be [..., M, M] of static shape");
  Type elem = type.getElementType();
  int64_t m = type.getDimSize(rank - 1);
  SmallVector<int64_t> batchShape(type.getShape().drop_back(2));
  int64_t batch = 1;
  for (int64_t d : batchShape)
    batch *= d;
  Value matrices =
      ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({batch, m, m}));
  if (!matrices)
    return failure();
  auto idx = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto fconst = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, v));
  };
  auto matrixType = RankedTensorType::get({m, m}, elem);
  Value zero = idx(0), one = idx(1), size = idx(m);
  Value fzero = fconst(0.0), fone = fconst(1.0);
  Value results =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{batch}, elem);
  auto batchLoop =
      scf::ForOp::create(b, loc, zero, idx(batch), one, ValueRange{results});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(batchLoop.getBody());
    Value n = batchLoop.getInductionVar();
    Value a = tensor::ExtractSliceOp::create(
        b, loc, matrixType, matrices,
        ArrayRef<OpFoldResult>{n, b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(m),
                               b.getIndexAttr(m)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
    auto columns =
        scf::ForOp::create(b, loc, zero, size, one, ValueRange{a, fone});
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(columns.getBody());
      Value j = columns.getInductionVar();
      Value lu = columns.getRegionIterArgs()[0];
      Value det = columns.getRegionIterArgs()[1];
      auto at = [&](Value t, Value r, Value c) {
        return tensor::ExtractOp::create(b, loc, t, ValueRange{r, c});
      };
      // The pivot: the first row from j of the largest magnitude.
      auto search = scf::ForOp::create(
          b, loc, j, size, one,
          ValueRange{j, math::AbsFOp::create(b, loc, at(lu, j, j))});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(search.getBody());
        Value i = search.getInductionVar();
        Value mag = math::AbsFOp::create(b, loc, at(lu, i, j));
        Value better =
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, mag,
                                  search.getRegionIterArgs()[1]);
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::SelectOp::create(b, loc, better, i,
                                               search.getRegionIterArgs()[0]),
                       arith::SelectOp::create(b, loc, better, mag,
                                               search.getRegionIterArgs()[1])});
      }
      Value p = search.getResult(0);
      Value pivot = at(lu, p, j);
      Value singular = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             pivot, fzero);
      auto step = scf::IfOp::create(b, loc, TypeRange{matrixType, elem},
                                    singular, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(step.thenBlock());
        scf::YieldOp::create(b, loc, ValueRange{lu, fzero});
        b.setInsertionPointToStart(step.elseBlock());
        // Rows j and p swapped.
        auto swap = scf::ForOp::create(b, loc, zero, size, one, ValueRange{lu});
        {
          OpBuilder::InsertionGuard s(b);
          b.setInsertionPointToStart(swap.getBody());
          Value c = swap.getInductionVar();
          Value t = swap.getRegionIterArgs()[0];
          Value rowJ = at(t, j, c), rowP = at(t, p, c);
          t = tensor::InsertOp::create(b, loc, rowP, t, ValueRange{j, c});
          t = tensor::InsertOp::create(b, loc, rowJ, t, ValueRange{p, c});
          scf::YieldOp::create(b, loc, t);
        }
        Value swapped = swap.getResult(0);
        Value moved =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, p, j);
        Value signedPivot = arith::SelectOp::create(
            b, loc, moved, arith::NegFOp::create(b, loc, pivot), pivot);
        Value nextDet = arith::MulFOp::create(b, loc, det, signedPivot);
        // Rows below j lose their multiple of row j.
        Value below = arith::AddIOp::create(b, loc, j, one);
        auto rows =
            scf::ForOp::create(b, loc, below, size, one, ValueRange{swapped});
        {
          OpBuilder::InsertionGuard s(b);
          b.setInsertionPointToStart(rows.getBody());
          Value i = rows.getInductionVar();
          Value t = rows.getRegionIterArgs()[0];
          Value factor = arith::DivFOp::create(b, loc, at(t, i, j), pivot);
          auto cols =
              scf::ForOp::create(b, loc, below, size, one, ValueRange{t});
          {
            OpBuilder::InsertionGuard c(b);
            b.setInsertionPointToStart(cols.getBody());
            Value col = cols.getInductionVar();
            Value u = cols.getRegionIterArgs()[0];
            Value updated = arith::SubFOp::create(
                b, loc, at(u, i, col),
                arith::MulFOp::create(b, loc, factor, at(u, j, col)));
            scf::YieldOp::create(b, loc,
                                 Value(tensor::InsertOp::create(
                                     b, loc, updated, u, ValueRange{i, col})));
          }
          scf::YieldOp::create(b, loc, cols.getResult(0));
        }
        scf::YieldOp::create(b, loc, ValueRange{rows.getResult(0), nextDet});
      }
      scf::YieldOp::create(b, loc, step.getResults());
    }
    Value det = columns.getResult(1);
    scf::YieldOp::create(
        b, loc,
        Value(tensor::InsertOp::create(
            b, loc, det, batchLoop.getRegionIterArgs()[0], ValueRange{n})));
  }
  Value y = ctx.build<graph::ReshapeOp>(batchLoop.getResult(0),
                                        b.getDenseI64ArrayAttr(batchShape));
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// TfIdfVectorizer over integer tokens: for each row of X ([C] or [N, C])
/// and each n-gram of the pool with min_gram_length <= n <= max_gram_length,
/// the number of its occurrences whose tokens are d apart, d from 1 to
/// max_skip_count + 1 (unigrams once), weighted by `mode` into the n-gram's
/// output slot. Loops over constant tables of the n-grams (start in the
/// pool, length, output slot, weight), so the code does not grow with the
/// pool.
LogicalResult importTfIdfVectorizer(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto &b = ctx.builder;
  Location loc = ctx.loc();
  auto type = ImportContext::typeOf(x);
  if (!type.hasStaticShape() || type.getRank() < 1 || type.getRank() > 2 ||
      !isa<IntegerType>(type.getElementType()))
    return ctx.error("input X must be integer tokens, [C] or [N, C], of "
                     "static shape (string pools are not supported)");
  if (ctx.attr("pool_strings"))
    return ctx.error("string pools are not supported");
  SmallVector<int64_t> pool = ctx.intsAttr("pool_int64s");
  SmallVector<int64_t> starts = ctx.intsAttr("ngram_counts");
  SmallVector<int64_t> slots = ctx.intsAttr("ngram_indexes");
  int64_t minGram = ctx.intAttr("min_gram_length", 0);
  int64_t maxGram = ctx.intAttr("max_gram_length", 0);
  int64_t maxSkip = ctx.intAttr("max_skip_count", 0);
  std::string mode = ctx.stringAttr("mode", "");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF")
    return ctx.error("mode must be TF, IDF or TFIDF");
  if (minGram < 1 || maxGram < minGram || maxSkip < 0 || maxSkip > 1024)
    return ctx.error("the gram lengths must be 1 <= min_gram_length <= "
                     "max_gram_length, and max_skip_count in [0, 1024]");
  std::vector<float> weights;
  if (const onnx::AttributeProto *w = ctx.attr("weights"))
    weights.assign(w->floats().begin(), w->floats().end());
  // The pool's n-grams in order: region k holds the (k + 1)-grams.
  SmallVector<int64_t> entryStart, entryLength, entrySlot;
  std::vector<float> entryWeight;
  int64_t entry = 0, outputs = 0;
  llvm::SmallDenseSet<int64_t> usedSlots;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t n = static_cast<int64_t>(k) + 1;
    int64_t begin = starts[k];
    int64_t end = k + 1 < starts.size() ? starts[k + 1]
                                        : static_cast<int64_t>(pool.size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) ||
        (end - begin) % n)
      return ctx.error("ngram_counts does not split the pool into n-grams");
    for (int64_t at = begin; at < end; at += n, ++entry) {
      if (entry >= static_cast<int64_t>(slots.size()))
        return ctx.error("ngram_indexes has fewer entries than the pool has "
                         "n-grams");
      int64_t slot = slots[entry];
      if (slot < 0 || slot >= kMaxTensorElements ||
          !usedSlots.insert(slot).second)
        return ctx.error("ngram_indexes must be distinct and non-negative");
      outputs = std::max(outputs, slot + 1);
      if (n < minGram || n > maxGram)
        continue;
      entryStart.push_back(at);
      entryLength.push_back(n);
      entrySlot.push_back(slot);
      entryWeight.push_back(weights.empty()
                                ? 1.0f
                                : (entry < static_cast<int64_t>(weights.size())
                                       ? weights[entry]
                                       : 0.0f));
    }
  }
  if (!weights.empty() && weights.size() != slots.size())
    return ctx.error("weights must have one value per n-gram");
  int64_t rows = type.getRank() == 2 ? type.getDimSize(0) : 1;
  int64_t tokens = type.getDimSize(type.getRank() - 1);
  if (rows * outputs > kMaxTensorElements)
    return ctx.error("the output would have more than " +
                     Twine(kMaxTensorElements) + " elements");
  auto i64Table = [&](ArrayRef<int64_t> values) -> Value {
    auto t = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                   b.getI64Type());
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(t, values));
  };
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto asIndex = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  };
  Value poolTable = i64Table(pool.empty() ? SmallVector<int64_t>{0} : pool);
  Value startTable = i64Table(entryStart), lengthTable = i64Table(entryLength),
        slotTable = i64Table(entrySlot);
  auto weightType = RankedTensorType::get(
      {static_cast<int64_t>(entryWeight.size())}, b.getF32Type());
  Value weightTable = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(weightType, ArrayRef<float>(entryWeight)));
  Value tokensOf = x;
  if (type.getRank() == 1)
    tokensOf =
        ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr({1, tokens}));
  if (!tokensOf)
    return failure();
  auto resultType = RankedTensorType::get({rows, outputs}, b.getF32Type());
  Value result = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(resultType, 0.0f));
  Value one = idx(1), zero = idx(0);
  auto token = [&](Value row, Value at) -> Value {
    Value v = tensor::ExtractOp::create(b, loc, tokensOf, ValueRange{row, at});
    return v.getType().isInteger(64)
               ? v
               : arith::ExtSIOp::create(b, loc, b.getI64Type(), v).getResult();
  };
  auto rowLoop =
      scf::ForOp::create(b, loc, zero, idx(rows), one, ValueRange{result});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(rowLoop.getBody());
    Value row = rowLoop.getInductionVar();
    auto entries =
        scf::ForOp::create(b, loc, zero, idx(entryStart.size()), one,
                           ValueRange{rowLoop.getRegionIterArgs()[0]});
    {
      OpBuilder::InsertionGuard h(b);
      b.setInsertionPointToStart(entries.getBody());
      Value e = entries.getInductionVar();
      Value start = asIndex(tensor::ExtractOp::create(b, loc, startTable, e));
      Value n = asIndex(tensor::ExtractOp::create(b, loc, lengthTable, e));
      Value slot = asIndex(tensor::ExtractOp::create(b, loc, slotTable, e));
      Value unigram =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, n, one);
      // Distances 1 .. max_skip_count + 1; unigrams are counted once.
      Value lastDistance =
          arith::SelectOp::create(b, loc, unigram, one, idx(maxSkip + 1));
      Value countZero = arith::ConstantIntOp::create(b, loc, 0, 64);
      auto distances = scf::ForOp::create(
          b, loc, one, arith::AddIOp::create(b, loc, lastDistance, one), one,
          ValueRange{countZero});
      {
        OpBuilder::InsertionGuard i(b);
        b.setInsertionPointToStart(distances.getBody());
        Value d = distances.getInductionVar();
        // Starts i with i + (n - 1) * d < C.
        Value span = arith::MulIOp::create(
            b, loc, arith::SubIOp::create(b, loc, n, one), d);
        Value firsts = arith::MaxSIOp::create(
            b, loc, zero, arith::SubIOp::create(b, loc, idx(tokens), span));
        auto positions =
            scf::ForOp::create(b, loc, zero, firsts, one,
                               ValueRange{distances.getRegionIterArgs()[0]});
        {
          OpBuilder::InsertionGuard j(b);
          b.setInsertionPointToStart(positions.getBody());
          Value at = positions.getInductionVar();
          auto match = scf::ForOp::create(
              b, loc, zero, n, one,
              ValueRange{arith::ConstantIntOp::create(b, loc, 1, 1)});
          {
            OpBuilder::InsertionGuard k(b);
            b.setInsertionPointToStart(match.getBody());
            Value jv = match.getInductionVar();
            Value tokenAt = arith::AddIOp::create(
                b, loc, at, arith::MulIOp::create(b, loc, jv, d));
            Value want = tensor::ExtractOp::create(
                b, loc, poolTable,
                ValueRange{arith::AddIOp::create(b, loc, start, jv)});
            Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               token(row, tokenAt), want);
            scf::YieldOp::create(
                b, loc,
                Value(arith::AndIOp::create(
                    b, loc, match.getRegionIterArgs()[0], same)));
          }
          Value counted = arith::AddIOp::create(
              b, loc, positions.getRegionIterArgs()[0],
              arith::ExtUIOp::create(b, loc, b.getI64Type(),
                                     match.getResult(0)));
          scf::YieldOp::create(b, loc, counted);
        }
        scf::YieldOp::create(b, loc, positions.getResult(0));
      }
      Value count = arith::SIToFPOp::create(b, loc, b.getF32Type(),
                                            distances.getResult(0));
      Value weight = tensor::ExtractOp::create(b, loc, weightTable, e);
      Value value = count;
      if (mode == "TFIDF")
        value = arith::MulFOp::create(b, loc, count, weight);
      else if (mode == "IDF")
        value = arith::SelectOp::create(
            b, loc,
            arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OGT, count,
                arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f))),
            weight, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)));
      scf::YieldOp::create(b, loc,
                           Value(tensor::InsertOp::create(
                               b, loc, value, entries.getRegionIterArgs()[0],
                               ValueRange{row, slot})));
    }
    scf::YieldOp::create(b, loc, entries.getResult(0));
  }
  Value y = rowLoop.getResult(0);
  if (type.getRank() == 1)
    y = ctx.build<graph::ReshapeOp>(y, b.getDenseI64ArrayAttr({outputs}));
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

void addMathImporters(std::vector<OpImporter> &table) {
  table.push_back({"TfIdfVectorizer", "Math", 9,
                   "integer tokens and pool; TF, IDF, TFIDF, weights",
                   importTfIdfVectorizer});
  table.push_back({"Det", "Math", 11,
                   "float; LU with partial pivoting per matrix", importDet});
  table.push_back({"DFT", "Math", 17,
                   "real or complex input, inverse, onesided, dft_length "
                   "constant; a direct product (length * frequencies <= "
                   "2^20)",
                   importDFT});
  table.push_back({"Einsum", "Math", 12, "float, ellipses, implicit output", importEinsum});
  table.push_back({"BitShift", "Math", 11, "unsigned integers", importBitShift});
  table.push_back({"HannWindow", "Math", 17, "size constant or at run time",
                   windowImporter({0.5, 0.5})});
  table.push_back({"HammingWindow", "Math", 17, "size constant or at run time",
                   windowImporter({25.0 / 46.0, 21.0 / 46.0})});
  table.push_back({"BlackmanWindow", "Math", 17, "size constant or at run time",
                   windowImporter({0.42, 0.5, 0.08})});
  table.push_back({"Hardmax", "Math", 1, "any axis (opset < 13: flattened)", importHardmax});
  table.push_back({"IsNaN", "Math", 9, "", importIsNaN});
  table.push_back({"IsInf", "Math", 10, "detect_positive, detect_negative", importIsInf});
  table.push_back({"CumSum", "Math", 11,
                   "float, exclusive, reverse; axis at run time",
                   importCumSum});
  table.push_back({"Add", "Math", 1, "float, numpy broadcasting (opset < 7: broadcast, axis)",
                   importBinary<graph::AddOp>});
  table.push_back({"Sub", "Math", 1, "float, numpy broadcasting (opset < 7: broadcast, axis)",
                   importBinary<graph::SubOp>});
  table.push_back({"Mul", "Math", 1, "float, numpy broadcasting (opset < 7: broadcast, axis)",
                   importBinary<graph::MulOp>});
  table.push_back({"Div", "Math", 1, "float, numpy broadcasting (opset < 7: broadcast, axis)",
                   importBinary<graph::DivOp>});
  table.push_back({"Relu", "Math", 1, "", importUnary<graph::ReluOp>});
  table.push_back({"Sigmoid", "Math", 1, "", importUnary<graph::SigmoidOp>});
  table.push_back({"Tanh", "Math", 1, "", importUnary<graph::TanhOp>});
  table.push_back({"LeakyRelu", "Math", 1, "", importLeakyRelu});
  table.push_back({"Clip", "Math", 1, "float and integer; min/max constant or computed at run time", importClip});
  table.push_back({"Softmax", "Math", 1, "any axis (opset < 13: flattened)",
                   importSoftmaxLike<graph::SoftmaxOp>});
  table.push_back({"LogSoftmax", "Math", 1, "any axis (opset < 13: flattened)",
                   importSoftmaxLike<graph::LogSoftmaxOp>});
  table.push_back({"Pow", "Math", 1, "float or integer base (opset < 7: broadcast, axis)", importPow});
  table.push_back({"Mod", "Math", 10, "fmod for floats; both for ints",
                   importMod});
  table.push_back({"Max", "Math", 6, "variadic, broadcasting",
                   [](ImportContext &c) { return importVariadic<graph::MaxOp>(c, false); }});
  table.push_back({"Min", "Math", 6, "variadic, broadcasting",
                   [](ImportContext &c) { return importVariadic<graph::MinOp>(c, false); }});
  table.push_back({"Sum", "Math", 6, "variadic, broadcasting",
                   [](ImportContext &c) { return importVariadic<graph::AddOp>(c, false); }});
  table.push_back({"Mean", "Math", 6, "variadic, broadcasting",
                   [](ImportContext &c) { return importVariadic<graph::AddOp>(c, true); }});
  table.push_back({"Equal", "Math", 7, "", importCompare<graph::EqualOp>});
  table.push_back({"Less", "Math", 7, "", importCompare<graph::LessOp>});
  table.push_back({"LessOrEqual", "Math", 12, "", importCompare<graph::LessEqualOp>});
  table.push_back({"Greater", "Math", 7, "", importCompare<graph::GreaterOp>});
  table.push_back({"GreaterOrEqual", "Math", 12, "", importCompare<graph::GreaterEqualOp>});
  table.push_back({"And", "Math", 7, "", importLogic<graph::AndOp>});
  table.push_back({"Or", "Math", 7, "", importLogic<graph::OrOp>});
  table.push_back({"Xor", "Math", 7, "", importLogic<graph::XorOp>});
  table.push_back({"Not", "Math", 1, "", unaryImporter("not")});
  table.push_back({"Where", "Math", 9, "broadcasting", importWhere});
  table.push_back({"PRelu", "Math", 1, "broadcasting slope (opset < 7: per channel)", importPRelu});
  struct Unary { const char *onnx, *fn; std::vector<UnaryParam> params; bool ints; };
  const Unary unaries[] = {
      {"Abs", "abs", {}, true}, {"Neg", "neg", {}, true}, {"Sign", "sign", {}, true},
      {"Exp", "exp", {}, false}, {"Log", "log", {}, false},
      {"Sqrt", "sqrt", {}, false}, {"Reciprocal", "reciprocal", {}, false},
      {"Floor", "floor", {}, false}, {"Ceil", "ceil", {}, false},
      {"Round", "round", {}, false}, {"Sin", "sin", {}, false},
      {"Cos", "cos", {}, false}, {"Tan", "tan", {}, false},
      {"Asin", "asin", {}, false}, {"Acos", "acos", {}, false},
      {"Atan", "atan", {}, false}, {"Sinh", "sinh", {}, false},
      {"Cosh", "cosh", {}, false}, {"Asinh", "asinh", {}, false},
      {"Acosh", "acosh", {}, false}, {"Atanh", "atanh", {}, false},
      {"Erf", "erf", {}, false}, {"Softplus", "softplus", {}, false},
      {"Softsign", "softsign", {}, false},
      {"Elu", "elu", {{"alpha", 1.0f}}, false},
      {"Celu", "celu", {{"alpha", 1.0f}}, false},
      {"Selu", "selu", {{"alpha", 1.67326319217681884765625f}, {"unused", 0.0f},
                        {"gamma", 1.05070102214813232421875f}}, false},
      {"HardSigmoid", "hard_sigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}}, false},
      {"HardSwish", "hard_swish", {}, false},
      {"ThresholdedRelu", "thresholded_relu", {{"alpha", 1.0f}}, false},
      {"Shrink", "shrink", {{"lambd", 0.5f}, {"bias", 0.0f}}, false},
  };
  for (const Unary &u : unaries)
    table.push_back({u.onnx, "Math", 1, "", unaryImporter(u.fn, u.params, u.ints)});
  table.push_back({"Mish", "Math", 18, "x tanh(softplus(x))", importMish});
  table.push_back({"Gelu", "Math", 20, "exact (erf) and tanh approximation",
                   importGelu});
  table.push_back({"Gemm", "Math", 1, "alpha, beta, transA, transB",
                   importGemm});
  table.push_back({"MatMul", "Math", 1, "batched, broadcasting, 1-D operands",
                   importMatMul});
}

} // namespace dlc::onnx_frontend
