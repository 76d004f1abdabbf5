//===- Quantization.cpp - importers of (de)quantization ops ---------------===//
//
// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, composed of
// graph ops in float32: y = saturate(round(x / scale) + zero_point) and
// x = (y - zero_point) * scale, with 8-bit integers stored as i8 (uint8
// values marked unsigned, as the importer tracks them).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// Helpers over one node's import.
struct Quantizer {
  ImportContext &ctx;
  OpBuilder &b;

  explicit Quantizer(ImportContext &ctx) : ctx(ctx), b(ctx.builder) {}

  Value cast(Value v, Type to) {
    if (!v || ImportContext::typeOf(v).getElementType() == to)
      return v;
    return ctx.build<graph::CastOp>(v, TypeAttr::get(to),
                                    b.getBoolAttr(ctx.unsignedValues.contains(v)));
  }
  Value clip(Value v, double lo, double hi) {
    return v ? ctx.build<graph::ClipOp>(v, b.getF32FloatAttr(lo), b.getF32FloatAttr(hi)) : v;
  }
  /// A per-axis parameter [C] reshaped to broadcast along `axis` of a rank
  /// `rank` tensor; scalars stay as they are.
  Value alongAxis(Value v, int64_t axis, int64_t rank) {
    if (!v || ImportContext::typeOf(v).getRank() != 1 || rank <= 1)
      return v;
    auto type = ImportContext::typeOf(v);
    SmallVector<int64_t> shape(rank, 1);
    shape[axis] = type.getDimSize(0);
    bool isUnsigned = ctx.unsignedValues.contains(v);
    Value r = ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(shape));
    if (r && isUnsigned)
      ctx.unsignedValues.insert(r);
    return r;
  }
  /// float32 values (already rounded and saturated) to 8-bit integers:
  /// through int32 so that uint8 values above 127 keep their bits.
  Value toInt8(Value v, bool isUnsigned) {
    Value i32 = cast(v, b.getI32Type());
    Value out = i32 ? ctx.build<graph::CastOp>(i32, TypeAttr::get(b.getI8Type()),
                                               b.getBoolAttr(false))
                    : Value();
    if (out && isUnsigned)
      ctx.unsignedValues.insert(out);
    return out;
  }
};

/// The axis of a per-axis scale; 0 (unused) for a per-tensor one, whatever
/// the attribute says.
std::optional<int64_t> quantizationAxis(ImportContext &ctx, Value x, Value scale) {
  if (ImportContext::typeOf(scale).getNumElements() == 1)
    return 0;
  return ctx.normalizeAxis(ctx.intAttr("axis", 1), ImportContext::typeOf(x).getRank());
}

/// (v - zero_point) as float32, the zero point per tensor, per row (a
/// [M] zero point of an [M, K] matrix: `rowZeroPoint`) or broadcasting.
Value centered(Quantizer &q, Value v, std::optional<Value> zp, bool rowZeroPoint = false) {
  Type f32 = q.b.getF32Type();
  Value out = q.cast(v, f32);
  if (!zp || !out)
    return out;
  Value z = q.cast(*zp, f32);
  auto zType = ImportContext::typeOf(*zp);
  if (z && rowZeroPoint && zType.getRank() == 1 && zType.getNumElements() > 1)
    z = q.ctx.build<graph::ReshapeOp>(z, q.b.getDenseI64ArrayAttr({zType.getDimSize(0), 1}));
  return z ? q.ctx.build<graph::SubOp>(out, z) : Value();
}

/// (v - zero_point) * scale as float32.
Value dequantize(Quantizer &q, Value v, Value scale, std::optional<Value> zp,
                 bool rowZeroPoint = false) {
  Value x = centered(q, v, zp, rowZeroPoint);
  return x ? q.ctx.build<graph::MulOp>(x, q.cast(scale, q.b.getF32Type())) : x;
}

/// saturate(round(y / scale) + zero_point) as 8-bit integers.
Value requantize(Quantizer &q, Value y, Value scale, std::optional<Value> zp) {
  Type f32 = q.b.getF32Type();
  bool isUnsigned = !zp || q.ctx.unsignedValues.contains(*zp);
  Value r = y ? q.ctx.build<graph::DivOp>(y, q.cast(scale, f32)) : y;
  r = q.ctx.unary(r, "round");
  if (zp && r)
    r = q.ctx.build<graph::AddOp>(r, q.cast(*zp, f32));
  r = isUnsigned ? q.clip(r, 0, 255) : q.clip(r, -128, 127);
  return r ? q.toInt8(r, isUnsigned) : r;
}

/// The products of 8-bit integers are computed in float32: exact while every
/// accumulated sum stays below 2^24 (e.g. K * 255 * 255 for K < 258), which
/// is the case for the ONNX tests and typical quantized layers' partial
/// sums. Beyond that the int32 result can be off by float32 rounding.
LogicalResult importMatMulInteger(ImportContext &ctx) {
  Quantizer q(ctx);
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b)
    return failure();
  Value lhs = centered(q, a, ctx.optionalInput(2), /*rowZeroPoint=*/true);
  Value rhs = centered(q, b, ctx.optionalInput(3));
  Value y = lhs && rhs ? ctx.build<graph::MatmulOp>(lhs, rhs, q.b.getBoolAttr(false),
                                                    q.b.getBoolAttr(false))
                       : Value();
  y = y ? q.cast(ctx.unary(y, "round"), q.b.getI32Type()) : y;
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importConvInteger(ImportContext &ctx) {
  Quantizer q(ctx);
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w)
    return failure();
  Value xf = centered(q, x, ctx.optionalInput(2));
  // A per-output-channel weight zero point broadcasts as [F, 1, 1, 1].
  std::optional<Value> wzp = ctx.optionalInput(3);
  if (wzp)
    wzp = q.alongAxis(*wzp, 0, ImportContext::typeOf(w).getRank());
  Value wf = centered(q, w, wzp);
  Value y = xf && wf ? buildConv(ctx, xf, wf, Value()) : Value();
  y = y ? q.cast(ctx.unary(y, "round"), q.b.getI32Type()) : y;
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importQLinearMatMul(ImportContext &ctx) {
  Quantizer q(ctx);
  Value a = ctx.input(0), aScale = ctx.input(1), aZp = ctx.input(2);
  Value b = ctx.input(3), bScale = ctx.input(4), bZp = ctx.input(5);
  Value yScale = ctx.input(6), yZp = ctx.input(7);
  if (!a || !aScale || !aZp || !b || !bScale || !bZp || !yScale || !yZp)
    return failure();
  Value lhs = dequantize(q, a, aScale, aZp, /*rowZeroPoint=*/true);
  Value rhs = dequantize(q, b, bScale, bZp);
  Value y = lhs && rhs ? ctx.build<graph::MatmulOp>(lhs, rhs, q.b.getBoolAttr(false),
                                                    q.b.getBoolAttr(false))
                       : Value();
  y = requantize(q, y, yScale, yZp);
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importQLinearConv(ImportContext &ctx) {
  Quantizer q(ctx);
  Value x = ctx.input(0), xScale = ctx.input(1), xZp = ctx.input(2);
  Value w = ctx.input(3), wScale = ctx.input(4), wZp = ctx.input(5);
  Value yScale = ctx.input(6), yZp = ctx.input(7);
  if (!x || !xScale || !xZp || !w || !wScale || !wZp || !yScale || !yZp)
    return failure();
  Type f32 = q.b.getF32Type();
  int64_t wRank = ImportContext::typeOf(w).getRank();
  Value xf = dequantize(q, x, xScale, xZp);
  Value wf = dequantize(q, w, q.alongAxis(wScale, 0, wRank),
                        q.alongAxis(wZp, 0, wRank));
  // The int32 bias is in units of x_scale * w_scale.
  Value bias;
  if (std::optional<Value> bb = ctx.optionalInput(8)) {
    Value s = ctx.build<graph::MulOp>(q.cast(xScale, f32), q.cast(wScale, f32));
    bias = s ? ctx.build<graph::MulOp>(q.cast(*bb, f32), s) : Value();
    if (bias && ImportContext::typeOf(bias).getRank() != 1)
      bias = ctx.build<graph::ReshapeOp>(
          bias, q.b.getDenseI64ArrayAttr({ImportContext::typeOf(*bb).getNumElements()}));
  }
  Value y = xf && wf ? buildConv(ctx, xf, wf, bias) : Value();
  y = requantize(q, y, yScale, yZp);
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importQuantizeLinear(ImportContext &ctx) {
  Quantizer q(ctx);
  Value x = ctx.input(0), scale = ctx.input(1);
  if (!x || !scale || failed(ctx.requireFloat(x, "input x")))
    return failure();
  std::optional<Value> zp = ctx.optionalInput(2);
  if (zp && !ImportContext::typeOf(*zp).getElementType().isInteger(8))
    return ctx.error("only 8-bit zero points are supported");
  int64_t rank = ImportContext::typeOf(x).getRank();
  auto axis = quantizationAxis(ctx, x, scale);
  if (!axis)
    return failure();
  if (zp)
    zp = q.alongAxis(*zp, *axis, rank);
  Value y = requantize(q, q.cast(x, ctx.builder.getF32Type()),
                       q.alongAxis(scale, *axis, rank), zp);
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importDequantizeLinear(ImportContext &ctx) {
  Quantizer q(ctx);
  Value x = ctx.input(0), scale = ctx.input(1);
  if (!x || !scale)
    return failure();
  std::optional<Value> zp = ctx.optionalInput(2);
  int64_t rank = ImportContext::typeOf(x).getRank();
  auto axis = quantizationAxis(ctx, x, scale);
  if (!axis)
    return failure();
  if (zp)
    zp = q.alongAxis(*zp, *axis, rank);
  Value y = dequantize(q, x, q.alongAxis(scale, *axis, rank), zp);
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// uint8 quantization with scale and zero point from the data's range
/// (which always includes 0).
LogicalResult importDynamicQuantizeLinear(ImportContext &ctx) {
  Quantizer q(ctx);
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input x")))
    return failure();
  auto &b = ctx.builder;
  Type f32 = b.getF32Type();
  x = q.cast(x, f32);
  int64_t rank = ImportContext::typeOf(x).getRank();
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < rank; ++d)
    all.push_back(d);
  auto reduce = [&](StringRef kind) {
    return ctx.build<graph::ReduceOp>(x, b.getStringAttr(kind), b.getDenseI64ArrayAttr(all),
                                      b.getBoolAttr(false));
  };
  Value zero = ctx.scalar(f32, 0.0);
  Value hi = reduce("max"), lo = reduce("min");
  hi = hi ? ctx.build<graph::MaxOp>(hi, zero) : hi;
  lo = lo ? ctx.build<graph::MinOp>(lo, zero) : lo;
  Value scale = hi && lo ? ctx.build<graph::DivOp>(ctx.build<graph::SubOp>(hi, lo),
                                                   ctx.scalar(f32, 255.0))
                         : Value();
  Value zpFloat = scale ? q.clip(ctx.unary(ctx.build<graph::DivOp>(
                                             ctx.build<graph::SubOp>(zero, lo), scale),
                                         "round"),
                                 0, 255)
                        : Value();
  Value y = zpFloat ? ctx.build<graph::AddOp>(
                          ctx.unary(ctx.build<graph::DivOp>(x, scale), "round"), zpFloat)
                    : Value();
  y = q.clip(y, 0, 255);
  y = y ? q.toInt8(y, true) : y;
  Value zp = zpFloat ? q.toInt8(zpFloat, true) : Value();
  ctx.setOutput(0, y);
  ctx.setOutput(1, scale);
  ctx.setOutput(2, zp);
  return success(y && scale && zp);
}

} // namespace

void addQuantizationImporters(std::vector<OpImporter> &table) {
  table.push_back({"MatMulInteger", "Quantization", 10, "8-bit, computed in float32",
                   importMatMulInteger});
  table.push_back({"ConvInteger", "Quantization", 10, "8-bit, computed in float32",
                   importConvInteger});
  table.push_back({"QLinearMatMul", "Quantization", 10, "8-bit, computed in float32",
                   importQLinearMatMul});
  table.push_back({"QLinearConv", "Quantization", 10, "8-bit, computed in float32",
                   importQLinearConv});
  table.push_back({"QuantizeLinear", "Quantization", 10,
                   "8-bit, per tensor or per axis", importQuantizeLinear});
  table.push_back({"DequantizeLinear", "Quantization", 10,
                   "8-bit and int32, per tensor or per axis", importDequantizeLinear});
  table.push_back({"DynamicQuantizeLinear", "Quantization", 11, "uint8",
                   importDynamicQuantizeLinear});
}

} // namespace dlc::onnx_frontend
