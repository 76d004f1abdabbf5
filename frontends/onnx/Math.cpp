//===- Math.cpp - importers of elementwise math, activations, matmul ------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include <limits>

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

template <typename Op>
LogicalResult importBinary(ImportContext &ctx) {
  if (ctx.opset < 7 && ctx.intAttr("broadcast", 0) != 0)
    return ctx.error("legacy (opset < 7) broadcast with 'axis' is not "
                     "supported");
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b || failed(ctx.requireFloat(a, "input A")))
    return failure();
  Value result = ctx.build<Op>(a, b);
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

LogicalResult importClip(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  double lo = -std::numeric_limits<float>::infinity();
  double hi = std::numeric_limits<float>::infinity();
  if (ctx.opset < 11) {
    lo = ctx.floatAttr("min", lo);
    hi = ctx.floatAttr("max", hi);
  } else {
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

LogicalResult importSoftmax(ImportContext &ctx) {
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
    Value result = ctx.build<graph::SoftmaxOp>(x, b.getI64IntegerAttr(*axis));
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
  Value soft = ctx.build<graph::SoftmaxOp>(flat, b.getI64IntegerAttr(1));
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

} // namespace

void addMathImporters(std::vector<OpImporter> &table) {
  table.push_back({"Add", "Math", 7, "float, numpy broadcasting",
                   importBinary<graph::AddOp>});
  table.push_back({"Sub", "Math", 7, "float, numpy broadcasting",
                   importBinary<graph::SubOp>});
  table.push_back({"Mul", "Math", 7, "float, numpy broadcasting",
                   importBinary<graph::MulOp>});
  table.push_back({"Div", "Math", 7, "float, numpy broadcasting",
                   importBinary<graph::DivOp>});
  table.push_back({"Relu", "Math", 1, "", importUnary<graph::ReluOp>});
  table.push_back({"Sigmoid", "Math", 1, "", importUnary<graph::SigmoidOp>});
  table.push_back({"Tanh", "Math", 1, "", importUnary<graph::TanhOp>});
  table.push_back({"LeakyRelu", "Math", 1, "", importLeakyRelu});
  table.push_back({"Clip", "Math", 1, "constant min/max", importClip});
  table.push_back({"Softmax", "Math", 1, "any axis (opset < 13: flattened)",
                   importSoftmax});
  table.push_back({"Gemm", "Math", 1, "alpha, beta, transA, transB",
                   importGemm});
  table.push_back({"MatMul", "Math", 1, "batched, broadcasting, 1-D operands",
                   importMatMul});
}

} // namespace dlc::onnx_frontend
