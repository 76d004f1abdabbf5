//===- VectorizeSlidingWindow.cpp - vector code for sliding windows ------===//
//
// Depthwise convolution (one filter per channel) and pooling do a few
// operations per output, one per window tap: too few for a matrix product.
// As loops over (n, c, oh, ow, kh, kw) on an (already padded) input,
//
//   depthwise: out[n, c, oh, ow] += in[n, c, ih, iw] * w[c, 0, kh, kw]
//   max pool:  out[n, c, oh, ow] = max(out[n, c, oh, ow], in[n, c, ih, iw])
//   sum pool:  out[n, c, oh, ow] += in[n, c, ih, iw]
//   with ih = oh*SH + kh*DH, iw = ow*SW + kw*DW,
//
// they become vector code along the output row:
//
//   for nc in [0, N*C):                   (dlc.parallel: one plane each)
//     tap[kh][kw] = broadcast(w[c, 0, kh, kw])        (depthwise only)
//     for oh in [0, OH):
//       for ow0 in [0, OW) step L:        (the last vector masked)
//         acc = init
//         for kh, kw (unrolled):
//           acc = combine(acc, in[n, c, ih(oh, kh), iw(ow0, kw) ..], tap)
//         out[n, c, oh, ow0 ..] = epilogue(acc)
//
// The input row is read with stride SW: contiguous for SW = 1, two vectors
// whose even lanes are kept for SW = 2. Each output vector is written once,
// with the op's elementwise consumer (a conv's bias, residual and activation;
// an average pool's scaling) applied in registers when FusedEpilogue can.
// Other strides are left to the generic lowering.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"

namespace dlc {
#define GEN_PASS_DEF_VECTORIZESLIDINGWINDOW
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// What a sliding window op does per tap.
enum class Combiner { MultiplyAdd, Max, Add };

/// A sliding window op: its operands and geometry. `filter` is the
/// depthwise filter [C, 1, KH, KW], or for pooling the window tensor [KH, KW]
/// whose values are not read.
struct SlidingWindow {
  linalg::LinalgOp op;
  Combiner combiner;
  Value input, filter, init;
  int64_t window[2], strides[2], dilations[2];
};

/// The per-tap combination in `op`'s body: out + in0 * in1, max(out, in0)
/// or out + in0.
std::optional<Combiner> matchCombiner(linalg::LinalgOp op) {
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    if (dlc::isMultiplyAccumulate(generic))
      return Combiner::MultiplyAdd;
  Block *body = op.getBlock();
  if (body->getNumArguments() != 3 || body->getOperations().size() != 2)
    return std::nullopt;
  Operation *combine = body->getTerminator()->getOperand(0).getDefiningOp();
  if (!combine || combine->getNumOperands() != 2)
    return std::nullopt;
  Value in = body->getArgument(0), out = body->getArgument(2);
  Value lhs = combine->getOperand(0), rhs = combine->getOperand(1);
  if (!((lhs == in && rhs == out) || (lhs == out && rhs == in)))
    return std::nullopt;
  if (isa<arith::MaximumFOp>(combine))
    return Combiner::Max;
  if (isa<arith::AddFOp>(combine))
    return Combiner::Add;
  return std::nullopt;
}

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

/// A loop nest over (n, c, oh, ow, kh, kw) on static f32 tensors: the
/// depthwise convolution generic convert-kernel-to-linalg builds, or
/// linalg's NCHW max and sum pooling; with a horizontal stride of 1 or 2.
std::optional<SlidingWindow> matchSlidingWindow(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 6)
    return std::nullopt;
  std::optional<Combiner> combiner = matchCombiner(op);
  if (!combiner)
    return std::nullopt;
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned i = 0; i < 6; ++i)
    if (iterators[i] !=
        (i < 4 ? IteratorType::parallel : IteratorType::reduction))
      return std::nullopt;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getNumElements() == 0)
      return std::nullopt;
  }
  SlidingWindow window{op,
                       *combiner,
                       op.getDpsInputOperand(0)->get(),
                       op.getDpsInputOperand(1)->get(),
                       op.getDpsInitOperand(0)->get(),
                       {},
                       {},
                       {}};
  MLIRContext *ctx = op.getContext();
  AffineExpr n, c, oh, ow, kh, kw;
  bindDims(ctx, n, c, oh, ow, kh, kw);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap in = maps[0];
  if (in.getNumResults() != 4 || in.getResult(0) != n || in.getResult(1) != c ||
      !matchWindow(in.getResult(2), 2, 4, window.strides[0],
                   window.dilations[0]) ||
      !matchWindow(in.getResult(3), 3, 5, window.strides[1],
                   window.dilations[1]) ||
      window.strides[1] > 2 ||
      maps[2] != AffineMap::getMultiDimIdentityMap(6, ctx).getMajorSubMap(4))
    return std::nullopt;
  // The filter's taps are read per channel; a pooling window only gives
  // the window's size.
  bool depthwise = window.combiner == Combiner::MultiplyAdd;
  AffineMap filterMap =
      depthwise ? AffineMap::get(
                      6, 0, {c, getAffineConstantExpr(0, ctx), kh, kw}, ctx)
                : AffineMap::get(6, 0, {kh, kw}, ctx);
  if (maps[1] != filterMap)
    return std::nullopt;
  ArrayRef<int64_t> filterShape =
      cast<RankedTensorType>(window.filter.getType()).getShape();
  window.window[0] = filterShape[filterShape.size() - 2];
  window.window[1] = filterShape.back();
  // Taps are unrolled: keep the code size bounded.
  if (window.window[0] * window.window[1] > 64)
    return std::nullopt;
  return window;
}

/// Border rows and vectors are emitted one by one (their taps differ);
/// beyond this many the padded copy is read instead.
constexpr int64_t kMaxBorderRows = 8, kMaxBorderVectors = 4;

class SlidingWindowEmitter {
public:
  SlidingWindowEmitter(OpBuilder &b, Location loc, const SlidingWindow &conv,
                       const std::optional<dlc::FusedEpilogue> &epilogue,
                       int64_t lanes)
      : b(b), loc(loc), conv(conv), epilogue(epilogue), lanes(lanes) {
    auto outType = cast<RankedTensorType>(conv.init.getType());
    shape.assign(outType.getShape().begin(), outType.getShape().end());
    kh = conv.window[0];
    kw = conv.window[1];
    vecType = VectorType::get({lanes}, b.getF32Type());
    rowMap = AffineMap::getMinorIdentityMap(4, 1, b.getContext());
    fillValue = dlc::constantFillValue(conv.init);
    source = conv.input;
    planSource();
    int64_t span = lanes * conv.strides[1];
    padVec = vector::BroadcastOp::create(b, loc, vecType, padValue);
    padWide = vector::BroadcastOp::create(
        b, loc, VectorType::get({span}, b.getF32Type()), padValue);
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

  /// Reads the unpadded input when the window op's input is a constant
  /// padding of it (along H and W) and the rows and vectors that reach into
  /// the padding are few: their taps in the padding take the padding value
  /// without any copy. Otherwise reads the input as it is.
  void planSource() {
    auto inType = cast<RankedTensorType>(source.getType());
    height = inType.getDimSize(2);
    width = inType.getDimSize(3);
    padValue = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    auto pad = source.getDefiningOp<tensor::PadOp>();
    if (!pad)
      return;
    Value value = pad.getConstantPaddingValue();
    ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
    if (!value || !matchPattern(value, m_Constant()) || low.size() != 4 ||
        low[0] != 0 || low[1] != 0 || high[0] != 0 || high[1] != 0 ||
        ShapedType::isDynamic(low[2]) || ShapedType::isDynamic(low[3]))
      return;
    auto unpadded = cast<RankedTensorType>(pad.getSource().getType());
    // Try the unpadded geometry; keep it if the borders are few.
    int64_t paddedHeight = height, paddedWidth = width;
    padTop = low[2];
    padLeft = low[3];
    height = unpadded.getDimSize(2);
    width = unpadded.getDimSize(3);
    int64_t rowsLo, rowsHi, vecLo, vecHi;
    interiorRows(rowsLo, rowsHi);
    interiorVectors(vecLo, vecHi);
    int64_t vectors = (shape[3] + lanes - 1) / lanes;
    if (rowsLo + (shape[2] - rowsHi) <= kMaxBorderRows &&
        vecLo + (vectors - vecHi) <= kMaxBorderVectors) {
      source = pad.getSource();
      padValue = value;
      return;
    }
    padTop = padLeft = 0;
    height = paddedHeight;
    width = paddedWidth;
  }

  /// The output rows [lo, hi) whose taps all read input rows.
  void interiorRows(int64_t &lo, int64_t &hi) {
    int64_t sh = conv.strides[0], reach = (kh - 1) * conv.dilations[0];
    lo = std::min<int64_t>((padTop + sh - 1) / sh, shape[2]);
    int64_t last = height - 1 + padTop - reach; // oh * sh must not pass it
    hi = last < 0 ? 0 : std::min<int64_t>(last / sh + 1, shape[2]);
    hi = std::max(hi, lo);
  }

  /// The output vectors [lo, hi) (of `lanes` columns from column 0) whose
  /// lanes are all outputs and whose taps all read input columns.
  void interiorVectors(int64_t &lo, int64_t &hi) {
    int64_t vectors = (shape[3] + lanes - 1) / lanes;
    auto interior = [&](int64_t v) {
      int64_t first = v * lanes, last = first + lanes - 1;
      return last < shape[3] && first * conv.strides[1] - padLeft >= 0 &&
             last * conv.strides[1] - padLeft + (kw - 1) * conv.dilations[1] <=
                 width - 1;
    };
    lo = 0;
    while (lo < vectors && !interior(lo))
      ++lo;
    hi = lo;
    while (hi < vectors && interior(hi))
      ++hi;
  }

  Value emitPlane(Value dest, Value n, Value c) {
    SmallVector<Value> taps;
    for (int64_t i = 0; conv.combiner == Combiner::MultiplyAdd && i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        taps.push_back(vector::BroadcastOp::create(
            b, loc, vecType,
            tensor::ExtractOp::create(
                b, loc, conv.filter,
                ValueRange{c, index(0), index(i), index(j)})));
    int64_t lo, hi;
    interiorRows(lo, hi);
    Value out = dest;
    for (int64_t r = 0; r < lo; ++r)
      out = emitRow(out, taps, n, c, index(r), r);
    if (hi > lo) {
      auto rows = scf::ForOp::create(
          b, loc, index(lo), index(hi), index(1), ValueRange{out},
          [&](OpBuilder &, Location, Value oh, ValueRange d) {
            scf::YieldOp::create(b, loc,
                                 emitRow(d[0], taps, n, c, oh, std::nullopt));
          });
      out = rows.getResult(0);
    }
    for (int64_t r = hi; r < shape[2]; ++r)
      out = emitRow(out, taps, n, c, index(r), r);
    return out;
  }

  /// One output row: its border vectors one by one, its interior ones in a
  /// loop. `staticRow` is the row's index when it is a border row.
  Value emitRow(Value dest, ArrayRef<Value> taps, Value n, Value c, Value oh,
                std::optional<int64_t> staticRow) {
    int64_t vectors = (shape[3] + lanes - 1) / lanes;
    int64_t lo, hi;
    interiorVectors(lo, hi);
    Value out = dest;
    auto border = [&](int64_t v) {
      int64_t ow0 = v * lanes;
      return emitVector(out, taps, n, c, oh, staticRow, index(ow0), ow0,
                        std::min(lanes, shape[3] - ow0));
    };
    for (int64_t v = 0; v < lo; ++v)
      out = border(v);
    if (hi > lo) {
      auto cols = scf::ForOp::create(
          b, loc, index(lo * lanes), index(hi * lanes), index(lanes),
          ValueRange{out}, [&](OpBuilder &, Location, Value ow0, ValueRange d) {
            scf::YieldOp::create(b, loc,
                                 emitVector(d[0], taps, n, c, oh, staticRow,
                                            ow0, std::nullopt, lanes));
          });
      out = cols.getResult(0);
    }
    for (int64_t v = hi; v < vectors; ++v)
      out = border(v);
    return out;
  }

  Value linear(Value v, int64_t scale, int64_t offset) {
    Value r = scale == 1
                  ? v
                  : arith::MulIOp::create(b, loc, v, index(scale)).getResult();
    return offset ? arith::AddIOp::create(b, loc, r, index(offset)).getResult()
                  : r;
  }

  Value constantMask(int64_t size, int64_t enabled) {
    if (enabled >= size)
      return Value();
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({size}, b.getI1Type()),
        ArrayRef<int64_t>{enabled});
  }

  /// The input vector of tap column `j` on input row `row` for the output
  /// vector at a border column `ow0`: lanes whose input column lies in the
  /// padding (or past the `count` outputs) take the padding value. The
  /// columns the other lanes read are loaded as one contiguous (masked)
  /// vector, rearranged by a shuffle unless they are already in place.
  Value readBorder(Value n, Value c, Value row, int64_t ow0, int64_t count,
                   int64_t j) {
    int64_t sw = conv.strides[1], span = lanes * sw;
    SmallVector<int64_t> columns;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = -1;
    for (int64_t l = 0; l < lanes; ++l) {
      int64_t iw = (ow0 + l) * sw - padLeft + j * conv.dilations[1];
      bool valid = l < count && iw >= 0 && iw < width;
      columns.push_back(valid ? iw : -1);
      if (valid) {
        lo = std::min(lo, iw);
        hi = std::max(hi, iw);
      }
    }
    if (hi < 0)
      return padVec;
    int64_t loaded = std::min(hi - lo + 1, span);
    Value chunk = vector::TransferReadOp::create(
        b, loc, VectorType::get({span}, b.getF32Type()), source,
        ValueRange{n, c, row, index(lo)}, rowMap, padValue,
        constantMask(span, loaded), b.getBoolArrayAttr({true}));
    SmallVector<int64_t> indices;
    bool inPlace = span == lanes;
    for (int64_t l = 0; l < lanes; ++l) {
      indices.push_back(columns[l] < 0 ? span : columns[l] - lo);
      inPlace &= columns[l] < 0 ? l >= loaded : columns[l] - lo == l;
    }
    if (inPlace)
      return chunk;
    return vector::ShuffleOp::create(b, loc, chunk, padWide, indices);
  }

  /// One output vector at (n, c, oh, ow0) with `count` lanes; `staticRow`
  /// and `staticColumn` are set for border rows and border vectors.
  Value emitVector(Value dest, ArrayRef<Value> taps, Value n, Value c, Value oh,
                   std::optional<int64_t> staticRow, Value ow0,
                   std::optional<int64_t> staticColumn, int64_t count) {
    Value mask = constantMask(lanes, count);
    auto inBounds = b.getBoolArrayAttr({true});
    SmallVector<Value> at = {n, c, oh, ow0};
    Value acc =
        fillValue
            ? vector::BroadcastOp::create(b, loc, vecType, fillValue)
                  .getResult()
            : vector::TransferReadOp::create(b, loc, vecType, conv.init, at,
                                             rowMap, padValue, mask, inBounds)
                  .getResult();
    Value anyNaN;
    if (conv.combiner == Combiner::Max)
      anyNaN = isNaN(acc);

    int64_t sw = conv.strides[1];
    SmallVector<int64_t> even;
    for (int64_t l = 0; l < lanes; ++l)
      even.push_back(2 * l);
    // Interior vectors: lane l of tap (i, j) reads input column
    // (ow0 + l)*SW - padLeft + j*DW, all inside the row.
    Value colBase = staticColumn ? Value() : linear(ow0, sw, -padLeft);
    for (int64_t i = 0; i < kh; ++i) {
      int64_t rowOffset = i * conv.dilations[0] - padTop;
      std::optional<int64_t> ih;
      if (staticRow)
        ih = *staticRow * conv.strides[0] + rowOffset;
      bool padRow = ih && (*ih < 0 || *ih >= height);
      Value row = padRow ? Value()
                  : ih   ? index(*ih)
                         : linear(oh, conv.strides[0], rowOffset);
      for (int64_t j = 0; j < kw; ++j) {
        Value x;
        if (padRow) {
          x = padVec;
        } else if (staticColumn) {
          x = readBorder(n, c, row, *staticColumn, count, j);
        } else {
          SmallVector<Value> from = {n, c, row,
                                     linear(colBase, 1, j * conv.dilations[1])};
          if (sw == 1) {
            x = vector::TransferReadOp::create(b, loc, vecType, source, from,
                                               rowMap, padValue, Value(),
                                               inBounds);
          } else {
            // The lanes' elements span 2L - 1 input columns, read as one
            // 2L-element vector whose last element is never needed.
            Value wide = vector::TransferReadOp::create(
                b, loc, VectorType::get({2 * lanes}, b.getF32Type()), source,
                from, rowMap, padValue, constantMask(2 * lanes, 2 * lanes - 1),
                inBounds);
            x = vector::ShuffleOp::create(b, loc, wide, wide, even);
          }
        }
        acc = combine(acc, x, taps.empty() ? Value() : taps[i * kw + j]);
        if (anyNaN)
          anyNaN = arith::OrIOp::create(b, loc, anyNaN, isNaN(x));
      }
    }
    if (anyNaN) {
      Value nan = vector::BroadcastOp::create(
          b, loc, vecType,
          arith::ConstantOp::create(
              b, loc,
              b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN())));
      acc = arith::SelectOp::create(b, loc, anyNaN, nan, acc);
    }
    if (epilogue)
      return dlc::writeFusedEpilogue(
          b, loc, *epilogue,
          dlc::applyFusedEpilogue(b, loc, *epilogue, acc, at, mask), dest, at,
          mask);
    return vector::TransferWriteOp::create(b, loc, dest.getType(), acc, dest,
                                           at, rowMap, mask, inBounds)
        .getResult();
  }

  Value isNaN(Value v) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
  }

  /// One tap. Max is x > acc ? x : acc, one vmaxps on x86, with NaNs
  /// tracked apart (emitVector) so that they still propagate as in
  /// arith.maximumf, whose NaN-exact lowering costs several instructions.
  Value combine(Value acc, Value x, Value tap) {
    switch (conv.combiner) {
    case Combiner::MultiplyAdd:
      return vector::FMAOp::create(b, loc, x, tap, acc);
    case Combiner::Max:
      return arith::SelectOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, acc), x,
          acc);
    case Combiner::Add:
      return arith::AddFOp::create(b, loc, acc, x);
    }
    llvm_unreachable("unknown combiner");
  }

  OpBuilder &b;
  Location loc;
  const SlidingWindow &conv;
  std::optional<dlc::FusedEpilogue> epilogue;
  int64_t lanes;              ///< f32 elements per vector
  SmallVector<int64_t> shape; ///< of the output, [N, C, OH, OW]
  int64_t kh, kw;
  Value fillValue; ///< the constant the accumulator starts from, if any
  /// The tensor the taps read, its rows and columns, and the padding around
  /// it that the kernel supplies itself (none when it reads a padded copy).
  Value source;
  int64_t height = 0, width = 0, padTop = 0, padLeft = 0;
  Value padValue, padVec, padWide;
  VectorType vecType;
  AffineMap rowMap;
};

struct VectorizeSlidingWindowPass
    : public dlc::impl::VectorizeSlidingWindowBase<VectorizeSlidingWindowPass> {
  using VectorizeSlidingWindowBase::VectorizeSlidingWindowBase;

  void runOnOperation() override {
    SmallVector<SlidingWindow> windows;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<SlidingWindow> window = matchSlidingWindow(op))
        windows.push_back(*window);
    });
    for (const SlidingWindow &window : windows) {
      Operation *op = window.op;
      std::optional<dlc::FusedEpilogue> epilogue =
          dlc::findFusedEpilogue(op->getResult(0));
      // Emitted where the epilogue was, after all its inputs.
      OpBuilder b(epilogue ? epilogue->op : op);
      Value result =
          SlidingWindowEmitter(b, op->getLoc(), window, epilogue, lanes)
              .emit(dlc::kernelDestination(epilogue, window.init));
      dlc::replaceKernel(op, epilogue, result);
    }
  }
};

} // namespace
