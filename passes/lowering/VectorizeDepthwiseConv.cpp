//===- VectorizeDepthwiseConv.cpp - vector code for depthwise convolution -===//
//
// A depthwise convolution (one filter per channel) does KH*KW multiply-adds
// per output, too few for a matrix product. As the generic
//
//   out[n, c, oh, ow] += in[n, c, oh*SH + kh*DH, ow*SW + kw*DW] * w[c, 0, kh,
//   kw]
//
// (input already padded) it becomes vector code along the output row:
//
//   for nc in [0, N*C):                   (dlc.parallel: one plane each)
//     tap[kh][kw] = broadcast(w[c, 0, kh, kw])
//     for oh in [0, OH):
//       for ow0 in [0, OW) step L:        (the last vector masked)
//         acc = init
//         for kh, kw (unrolled):
//           acc += in[n, c, oh*SH + kh*DH, ow0*SW + kw*DW ..] * tap[kh][kw]
//         out[n, c, oh, ow0 ..] = epilogue(acc)
//
// The input row is read with stride SW: contiguous for SW = 1, two vectors
// whose even lanes are kept for SW = 2. Each output vector is written once,
// with the kernel's epilogue (bias, residual, activation) applied in
// registers. Other strides are left to the generic lowering.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"

namespace dlc {
#define GEN_PASS_DEF_VECTORIZEDEPTHWISECONV
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// A depthwise convolution generic: its operands and geometry.
struct DepthwiseConv {
  linalg::GenericOp op;
  Value input, filter, init;
  int64_t strides[2], dilations[2];
};

/// The coefficient of dim `dim` in `expr`, a linear form of 6 dims.
int64_t coefficient(AffineExpr expr, unsigned dim) {
  MLIRContext *ctx = expr.getContext();
  SmallVector<AffineExpr> unit(6, getAffineConstantExpr(0, ctx));
  unit[dim] = getAffineConstantExpr(1, ctx);
  auto value = dyn_cast<AffineConstantExpr>(expr.replaceDims(unit));
  return value ? value.getValue() : 0;
}

/// `expr` as outer * stride + inner * dilation (dims `outer`, `inner`), with
/// positive constants.
bool matchWindow(AffineExpr expr, unsigned outer, unsigned inner,
                 int64_t &stride, int64_t &dilation) {
  MLIRContext *ctx = expr.getContext();
  stride = coefficient(expr, outer);
  dilation = coefficient(expr, inner);
  return stride > 0 && dilation > 0 &&
         expr == getAffineDimExpr(outer, ctx) * stride +
                     getAffineDimExpr(inner, ctx) * dilation;
}

/// The generic over (n, c, oh, ow, kh, kw) that convert-kernel-to-linalg
/// builds for a depthwise convolution, on static f32 tensors, with a
/// horizontal stride of 1 or 2.
std::optional<DepthwiseConv> matchDepthwise(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 6 ||
      !dlc::isMultiplyAccumulate(op))
    return std::nullopt;
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned i = 0; i < 6; ++i)
    if (iterators[i] !=
        (i < 4 ? IteratorType::parallel : IteratorType::reduction))
      return std::nullopt;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() != 4 || !type.hasStaticShape() ||
        !type.getElementType().isF32() || type.getNumElements() == 0)
      return std::nullopt;
  }
  DepthwiseConv conv{op,
                     op.getDpsInputOperand(0)->get(),
                     op.getDpsInputOperand(1)->get(),
                     op.getDpsInitOperand(0)->get(),
                     {},
                     {}};
  MLIRContext *ctx = op.getContext();
  AffineExpr n, c, oh, ow, kh, kw;
  bindDims(ctx, n, c, oh, ow, kh, kw);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap in = maps[0];
  if (in.getNumResults() != 4 || in.getResult(0) != n || in.getResult(1) != c ||
      !matchWindow(in.getResult(2), 2, 4, conv.strides[0], conv.dilations[0]) ||
      !matchWindow(in.getResult(3), 3, 5, conv.strides[1], conv.dilations[1]) ||
      conv.strides[1] > 2)
    return std::nullopt;
  if (maps[1] != AffineMap::get(
                     6, 0, {c, getAffineConstantExpr(0, ctx), kh, kw}, ctx) ||
      maps[2] != AffineMap::getMultiDimIdentityMap(6, ctx).getMajorSubMap(4))
    return std::nullopt;
  auto filterType = cast<RankedTensorType>(conv.filter.getType());
  // Taps are unrolled: keep the code size bounded.
  if (filterType.getDimSize(2) * filterType.getDimSize(3) > 64)
    return std::nullopt;
  return conv;
}

class DepthwiseEmitter {
public:
  DepthwiseEmitter(OpBuilder &b, Location loc, const DepthwiseConv &conv,
                   const std::optional<dlc::FusedEpilogue> &epilogue,
                   int64_t lanes)
      : b(b), loc(loc), conv(conv), epilogue(epilogue), lanes(lanes) {
    auto outType = cast<RankedTensorType>(conv.init.getType());
    auto filterType = cast<RankedTensorType>(conv.filter.getType());
    shape.assign(outType.getShape().begin(), outType.getShape().end());
    kh = filterType.getDimSize(2);
    kw = filterType.getDimSize(3);
    vecType = VectorType::get({lanes}, b.getF32Type());
    rowMap = AffineMap::getMinorIdentityMap(4, 1, b.getContext());
    if (auto fill = conv.init.getDefiningOp<linalg::FillOp>())
      if (matchPattern(fill.getDpsInputOperand(0)->get(), m_Constant()))
        fillValue = fill.getDpsInputOperand(0)->get();
  }

  /// Emits the loops writing every output vector into `dest`.
  Value emit(Value dest) {
    int64_t channels = shape[1];
    auto planes = scf::ForOp::create(
        b, loc, index(0), index(shape[0] * channels), index(1),
        ValueRange{dest}, [&](OpBuilder &, Location, Value nc, ValueRange d) {
          Value n = arith::DivUIOp::create(b, loc, nc, index(channels));
          Value c = arith::RemUIOp::create(b, loc, nc, index(channels));
          scf::YieldOp::create(b, loc, emitPlane(d[0], n, c));
        });
    planes->setAttr("dlc.parallel", b.getUnitAttr());
    return planes.getResult(0);
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value emitPlane(Value dest, Value n, Value c) {
    SmallVector<Value> taps;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        taps.push_back(vector::BroadcastOp::create(
            b, loc, vecType,
            tensor::ExtractOp::create(
                b, loc, conv.filter,
                ValueRange{c, index(0), index(i), index(j)})));
    int64_t full = shape[3] / lanes * lanes, rest = shape[3] - full;
    auto rows = scf::ForOp::create(
        b, loc, index(0), index(shape[2]), index(1), ValueRange{dest},
        [&](OpBuilder &, Location, Value oh, ValueRange d) {
          Value out = d[0];
          if (full > 0) {
            auto cols = scf::ForOp::create(
                b, loc, index(0), index(full), index(lanes), ValueRange{out},
                [&](OpBuilder &, Location, Value ow0, ValueRange dd) {
                  scf::YieldOp::create(
                      b, loc, emitVector(dd[0], taps, n, c, oh, ow0, 0));
                });
            out = cols.getResult(0);
          }
          if (rest > 0)
            out = emitVector(out, taps, n, c, oh, index(full), rest);
          scf::YieldOp::create(b, loc, out);
        });
    return rows.getResult(0);
  }

  /// One output vector at (n, c, oh, ow0): all lanes, or the first `count`.
  Value emitVector(Value dest, ArrayRef<Value> taps, Value n, Value c, Value oh,
                   Value ow0, int64_t count) {
    auto maskOf = [&](int64_t size, int64_t enabled) -> Value {
      if (enabled >= size)
        return Value();
      return vector::ConstantMaskOp::create(
          b, loc, VectorType::get({size}, b.getI1Type()),
          ArrayRef<int64_t>{enabled});
    };
    Value mask = maskOf(lanes, count ? count : lanes);
    auto inBounds = b.getBoolArrayAttr({true});
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    SmallVector<Value> at = {n, c, oh, ow0};
    Value acc =
        fillValue
            ? vector::BroadcastOp::create(b, loc, vecType, fillValue)
                  .getResult()
            : vector::TransferReadOp::create(b, loc, vecType, conv.init, at,
                                             rowMap, zero, mask, inBounds)
                  .getResult();

    // Input element of lane l for tap (i, j):
    // [oh*SH + i*DH, (ow0 + l)*SW + j*DW].
    auto linear = [&](Value v, int64_t scale, int64_t offset) {
      Value r =
          scale == 1
              ? v
              : arith::MulIOp::create(b, loc, v, index(scale)).getResult();
      return offset
                 ? arith::AddIOp::create(b, loc, r, index(offset)).getResult()
                 : r;
    };
    int64_t sw = conv.strides[1];
    // With stride 2 the lanes' elements span 2L - 1 input columns, read as
    // one 2L-element vector whose last element is never needed.
    int64_t used = count ? count : lanes;
    Value wideMask = sw == 2 ? maskOf(2 * lanes, 2 * used - 1) : Value();
    SmallVector<int64_t> even;
    for (int64_t l = 0; l < lanes; ++l)
      even.push_back(2 * l);
    Value colBase = linear(ow0, sw, 0);
    for (int64_t i = 0; i < kh; ++i) {
      Value row = linear(oh, conv.strides[0], i * conv.dilations[0]);
      for (int64_t j = 0; j < kw; ++j) {
        Value col = linear(colBase, 1, j * conv.dilations[1]);
        SmallVector<Value> from = {n, c, row, col};
        Value x;
        if (sw == 1) {
          x = vector::TransferReadOp::create(b, loc, vecType, conv.input, from,
                                             rowMap, zero, mask, inBounds);
        } else {
          Value wide = vector::TransferReadOp::create(
              b, loc, VectorType::get({2 * lanes}, b.getF32Type()), conv.input,
              from, rowMap, zero, wideMask, inBounds);
          x = vector::ShuffleOp::create(b, loc, wide, wide, even);
        }
        acc = vector::FMAOp::create(b, loc, x, taps[i * kw + j], acc);
      }
    }
    if (epilogue)
      acc = dlc::applyFusedEpilogue(b, loc, *epilogue, acc, at, mask);
    return vector::TransferWriteOp::create(b, loc, dest.getType(), acc, dest,
                                           at, rowMap, mask, inBounds)
        .getResult();
  }

  OpBuilder &b;
  Location loc;
  const DepthwiseConv &conv;
  std::optional<dlc::FusedEpilogue> epilogue;
  int64_t lanes;              ///< f32 elements per vector
  SmallVector<int64_t> shape; ///< of the output, [N, C, OH, OW]
  int64_t kh, kw;
  Value fillValue; ///< the constant the accumulator starts from, if any
  VectorType vecType;
  AffineMap rowMap;
};

struct VectorizeDepthwiseConvPass
    : public dlc::impl::VectorizeDepthwiseConvBase<VectorizeDepthwiseConvPass> {
  using VectorizeDepthwiseConvBase::VectorizeDepthwiseConvBase;

  void runOnOperation() override {
    SmallVector<DepthwiseConv> convs;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<DepthwiseConv> conv = matchDepthwise(op))
        convs.push_back(*conv);
    });
    for (const DepthwiseConv &conv : convs) {
      linalg::GenericOp op = conv.op;
      std::optional<dlc::FusedEpilogue> epilogue =
          dlc::findFusedEpilogue(op->getResult(0));
      // Emitted where the epilogue was, after all its inputs.
      OpBuilder b(epilogue ? epilogue->op : op);
      Value dest =
          epilogue ? epilogue->op.getDpsInitOperand(0)->get() : conv.init;
      Value result =
          DepthwiseEmitter(b, op.getLoc(), conv, epilogue, lanes).emit(dest);
      if (epilogue) {
        epilogue->op->getResult(0).replaceAllUsesWith(result);
        epilogue->op->erase();
      } else {
        op->getResult(0).replaceAllUsesWith(result);
      }
      op->erase();
    }
  }
};

} // namespace
