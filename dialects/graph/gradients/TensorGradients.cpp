//===- TensorGradients.cpp - rules of data movement and reductions --------===//
//
// Data movement moves gradients the other way (a reshape back, a slice
// padded, a concat sliced); gathers become scatter-adds, so that an element
// read several times receives the sum of its gradients; reductions stretch
// their gradient back over what they reduced.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/GraphGradient.h"

using namespace mlir;

namespace dlc::graph {
namespace {

using Grads = SmallVectorImpl<Value>;
using GB = GradientBuilder;

LogicalResult reshapeRule(ReshapeOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.reshape(g[0], GB::typeOf(op.getInput()).getShape());
  return success();
}

LogicalResult transposeRule(TransposeOp op, GB &b, ArrayRef<Value> g,
                            Grads &out) {
  ArrayRef<int64_t> perm = op.getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = static_cast<int64_t>(i);
  out[0] = b.transpose(g[0], inverse);
  return success();
}

LogicalResult expandRule(ExpandOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.sumToShape(g[0], GB::typeOf(op.getInput()));
  return success();
}

LogicalResult concatRule(ConcatOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto type = GB::typeOf(g[0]);
  int64_t axis = op.getAxis(), offset = 0;
  for (auto [i, input] : llvm::enumerate(op.getInputs())) {
    auto inType = GB::typeOf(input);
    SmallVector<int64_t> starts(type.getRank(), 0), steps(type.getRank(), 1);
    starts[axis] = offset;
    offset += inType.getDimSize(axis);
    out[i] = b.slice(g[0], starts, inType.getShape(), steps);
  }
  return success();
}

/// `g` with dim `d` stretched by `step`: element i lands at i * step, zeros
/// between (interleaving with a new axis of step - 1 zeros).
Value spreadAlong(GB &b, Value g, int64_t d, int64_t step) {
  if (step == 1)
    return g;
  SmallVector<int64_t> shape(GB::typeOf(g).getShape());
  SmallVector<int64_t> lifted(shape);
  lifted.insert(lifted.begin() + d + 1, 1);
  SmallVector<int64_t> pads(2 * lifted.size(), 0);
  pads[lifted.size() + d + 1] = step - 1;
  Value spread = b.pad(b.reshape(g, lifted), pads, 0.0);
  shape[d] *= step;
  return b.reshape(spread, shape);
}

/// A slice reads x[start + i * step] per dim; its gradient puts g back at
/// those positions and zeros elsewhere. A negative step reads backwards:
/// reversed, it is a positive-step slice from its last element.
LogicalResult sliceRule(SliceOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto inType = GB::typeOf(op.getInput());
  ArrayRef<int64_t> starts = op.getStarts(), sizes = op.getSizes(),
                    steps = op.getSteps();
  int64_t rank = inType.getRank();
  Value grad = g[0];
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = inType.getDimSize(d), size = sizes[d], step = steps[d];
    int64_t start = starts[d];
    if (size == 0)
      return op.emitOpError("gradient of an empty slice is not supported");
    SmallVector<int64_t> shape(GB::typeOf(grad).getShape());
    auto whole = [&](int64_t from, int64_t count, int64_t by) {
      SmallVector<int64_t> st(rank, 0), sz(shape), sp(rank, 1);
      st[d] = from;
      sz[d] = count;
      sp[d] = by;
      return std::make_tuple(st, sz, sp);
    };
    if (step < 0) {
      auto [st, sz, sp] = whole(size - 1, size, -1);
      grad = b.slice(grad, st, sz, sp);
      start = start + (size - 1) * step;
      step = -step;
    }
    grad = spreadAlong(b, grad, d, step);
    // The spread covers (size - 1) * step + 1 positions from start, plus
    // step - 1 trailing zeros that may run past the dim.
    int64_t covered = (size - 1) * step + 1;
    if (GB::typeOf(grad).getDimSize(d) != covered) {
      auto [st, sz, sp] = whole(0, covered, 1);
      grad = b.slice(grad, st, sz, sp);
    }
    SmallVector<int64_t> pads(2 * rank, 0);
    pads[d] = start;
    pads[rank + d] = dim - start - covered;
    grad = b.pad(grad, pads, 0.0);
  }
  out[0] = grad;
  return success();
}

/// Constant padding: the gradient drops what was added and puts zeros back
/// where a negative pad cropped. Edge and reflect padding also send the
/// padded elements' gradients back to the elements they copied.
LogicalResult padRule(PadOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto inType = GB::typeOf(op.getInput());
  ArrayRef<int64_t> pads = op.getPads();
  int64_t rank = inType.getRank();
  StringRef mode = op.getMode();
  Value grad = g[0];
  for (int64_t d = 0; d < rank; ++d) {
    int64_t before = pads[d], after = pads[rank + d], n = inType.getDimSize(d);
    if (before == 0 && after == 0)
      continue;
    SmallVector<int64_t> shape(GB::typeOf(grad).getShape());
    auto sliceDim = [&](Value v, int64_t from, int64_t count, int64_t by) {
      SmallVector<int64_t> st(rank, 0), sz(GB::typeOf(v).getShape()), sp(rank, 1);
      st[d] = from;
      sz[d] = count;
      sp[d] = by;
      return b.slice(v, st, sz, sp);
    };
    auto padDim = [&](Value v, int64_t lo, int64_t hi) {
      SmallVector<int64_t> p(2 * rank, 0);
      p[d] = lo;
      p[rank + d] = hi;
      return b.pad(v, p, 0.0);
    };
    // The part of g over the input (cropped sides excluded), then zeros for
    // the cropped sides.
    int64_t lo = std::max<int64_t>(before, 0), hi = std::max<int64_t>(after, 0);
    Value center = sliceDim(grad, lo, shape[d] - lo - hi, 1);
    center = padDim(center, std::max<int64_t>(-before, 0),
                    std::max<int64_t>(-after, 0));
    if (mode == "edge" && (lo || hi)) {
      // Every padded element copied the first or last input element.
      if (lo) {
        Value sum = b.sum(sliceDim(grad, 0, lo, 1), {d}, true);
        center = b.add(center, padDim(sum, 0, n - 1));
      }
      if (hi) {
        Value sum = b.sum(sliceDim(grad, shape[d] - hi, hi, 1), {d}, true);
        center = b.add(center, padDim(sum, n - 1, 0));
      }
    } else if (mode == "reflect" && (lo || hi)) {
      // Padded element j before the input copied x[lo - j] (mirrored
      // without the border); after it, x[n - 2 - j].
      if (lo) {
        Value part = sliceDim(grad, lo - 1, lo, -1); // x[1 .. lo]
        center = b.add(center, padDim(part, 1, n - 1 - lo));
      }
      if (hi) {
        Value part = sliceDim(grad, shape[d] - 1, hi, -1); // x[n-1-hi .. n-2]
        center = b.add(center, padDim(part, n - 1 - hi, 1));
      }
    } else if (mode != "constant") {
      return op.emitOpError("gradient of ") << mode << " padding is not supported";
    }
    grad = center;
  }
  out[0] = grad;
  return success();
}

/// Resize is linear and separable: y = (R_0 x ... x R_rank) x with one
/// interpolation matrix per resized dim. R_d^T is the resize of an identity
/// (each row a unit vector resized along that dim), computed by the same op
/// and lowering as the forward, so the gradient uses exactly its taps and
/// weights: dx = g contracted with each R_d along its dim.
LogicalResult resizeRule(ResizeOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto inType = GB::typeOf(op.getInput());
  auto outType = GB::typeOf(op.getResult());
  if (!inType.getElementType().isF32())
    return op.emitOpError("gradient of a resize is float32 only");
  int64_t rank = inType.getRank();
  ArrayRef<float> scales = op.getScales();
  Value grad = g[0];
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = inType.getDimSize(d), m = outType.getDimSize(d);
    if (n == m && scales[d] == 1.0f)
      continue;
    SmallVector<double> identity(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      identity[i * n + i] = 1.0;
    Value eye = b.floatConstant({n, n}, b.b.getF32Type(), identity);
    Value rT = ResizeOp::create(
        b.b, b.loc, eye, b.b.getDenseI64ArrayAttr({n, m}),
        b.b.getDenseF32ArrayAttr({1.0f, scales[d]}), op.getModeAttr(),
        op.getCoordinateModeAttr(), op.getNearestModeAttr(),
        op.getCubicAAttr(), op.getExcludeOutsideAttr());
    SmallVector<int64_t> perm, inverse(rank);
    for (int64_t k = 0; k < rank; ++k)
      if (k != d)
        perm.push_back(k);
    perm.push_back(d);
    for (auto [i, p] : llvm::enumerate(perm))
      inverse[p] = static_cast<int64_t>(i);
    Value moved = b.transpose(grad, perm);
    grad = b.transpose(b.matmul(moved, rT, false, /*transposeRhs=*/true),
                       inverse);
  }
  out[0] = grad;
  return success();
}

LogicalResult gatherElementsRule(GatherElementsOp op, GB &b,
                                 ArrayRef<Value> g, Grads &out) {
  Value zeros = b.zerosLike(op.getData());
  out[0] = ScatterElementsOp::create(b.b, b.loc, zeros, op.getIndices(), g[0],
                                     op.getAxis(), "add");
  return success();
}

/// gather along `axis` reads data[.., indices[i..], ..]: the gradient is a
/// scatter-add of g's slices into the gathered rows, done with scatter_nd on
/// the axis moved to the front.
LogicalResult gatherRule(GatherOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto dataType = GB::typeOf(op.getData());
  auto idxType = GB::typeOf(op.getIndices());
  int64_t rank = dataType.getRank(), axis = op.getAxis();
  if (axis < 0)
    axis += rank;
  int64_t q = idxType.getRank();
  // Data with `axis` first: [D_axis, pre..., post...].
  SmallVector<int64_t> dataPerm = {axis};
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      dataPerm.push_back(d);
  SmallVector<int64_t> permuted;
  for (int64_t d : dataPerm)
    permuted.push_back(dataType.getDimSize(d));
  // g is [pre..., idx..., post...]: move idx first.
  SmallVector<int64_t> gPerm;
  for (int64_t d = 0; d < q; ++d)
    gPerm.push_back(axis + d);
  for (int64_t d = 0; d < axis; ++d)
    gPerm.push_back(d);
  for (int64_t d = axis + q; d < rank - 1 + q; ++d)
    gPerm.push_back(d);
  Value updates = b.transpose(g[0], gPerm);
  // Negative indices count from the end.
  Value idx = op.getIndices();
  Type idxElem = idxType.getElementType();
  Value zero = b.scalar(idxElem, 0);
  idx = b.where(b.greater(zero, idx),
                b.add(idx, b.scalar(idxElem, dataType.getDimSize(axis))), idx);
  SmallVector<int64_t> idxShape(idxType.getShape());
  idxShape.push_back(1);
  idx = b.reshape(idx, idxShape);
  Value zeros = b.splat(RankedTensorType::get(permuted, dataType.getElementType()), 0.0);
  Value scattered =
      ScatterNDOp::create(b.b, b.loc, zeros, idx, updates, "add");
  SmallVector<int64_t> inverse(rank);
  for (auto [i, p] : llvm::enumerate(dataPerm))
    inverse[p] = static_cast<int64_t>(i);
  out[0] = b.transpose(scattered, inverse);
  return success();
}

struct ReduceRule : GradientOpInterface::ExternalModel<ReduceRule, ReduceOp> {
  bool hasGradientRule(Operation *op, std::string &why) const {
    StringRef kind = cast<ReduceOp>(op).getKind();
    if (llvm::is_contained(differentiableReductions(), kind))
      return true;
    why = "no gradient rule for the reduction '" + kind.str() + "'";
    return false;
  }
  LogicalResult buildGradients(Operation *o, GB &b, ArrayRef<Value> g,
                               Grads &out) const {
    auto op = cast<ReduceOp>(o);
    Value x = op.getInput();
    auto xType = GB::typeOf(x);
    SmallVector<int64_t> axes(op.getAxes());
    for (int64_t &a : axes)
      if (a < 0)
        a += xType.getRank();
    bool keep = op.getKeepdims();
    Value spread = b.broadcastReduced(g[0], xType, axes, keep);
    StringRef kind = op.getKind();
    if (kind == "sum") {
      out[0] = spread;
    } else if (kind == "mean") {
      int64_t count = 1;
      for (int64_t a : axes)
        count *= xType.getDimSize(a);
      out[0] = b.scale(spread, 1.0 / count);
    } else if (kind == "sum_square") {
      out[0] = b.mul(b.scale(x, 2.0), spread);
    } else {
      // l2: x / y; log_sum_exp: exp(x - y).
      Value y = b.broadcastReduced(op.getResult(), xType, axes, keep);
      // l2 at a zero norm: 0, as PyTorch's norm backward gives.
      Value d = kind == "l2"
                    ? b.where(b.equal(y, b.scalar(xType.getElementType(), 0.0)),
                              b.scalar(xType.getElementType(), 0.0), b.div(x, y))
                    : b.unary(b.sub(x, y), "exp");
      out[0] = b.mul(d, spread);
    }
    return success();
  }
};

} // namespace

ArrayRef<StringLiteral> differentiableReductions() {
  static const StringLiteral known[] = {"l2", "log_sum_exp", "mean", "sum",
                                        "sum_square"};
  return known;
}

void attachTensorGradients(MLIRContext &ctx) {
  ReshapeOp::attachInterface<GradientRule<ReshapeOp, reshapeRule>>(ctx);
  TransposeOp::attachInterface<GradientRule<TransposeOp, transposeRule>>(ctx);
  ExpandOp::attachInterface<GradientRule<ExpandOp, expandRule>>(ctx);
  ConcatOp::attachInterface<GradientRule<ConcatOp, concatRule>>(ctx);
  SliceOp::attachInterface<GradientRule<SliceOp, sliceRule>>(ctx);
  PadOp::attachInterface<GradientRule<PadOp, padRule>>(ctx);
  ResizeOp::attachInterface<GradientRule<ResizeOp, resizeRule>>(ctx);
  GatherElementsOp::attachInterface<
      GradientRule<GatherElementsOp, gatherElementsRule>>(ctx);
  GatherOp::attachInterface<GradientRule<GatherOp, gatherRule>>(ctx);
  ReduceOp::attachInterface<ReduceRule>(ctx);
}

} // namespace dlc::graph
