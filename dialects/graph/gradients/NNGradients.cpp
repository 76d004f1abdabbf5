//===- NNGradients.cpp - rules of matmul, convolution, pooling, norms -----===//
//
// The backward ops are forward ops again: a matmul's gradients are matmuls, a
// convolution's input gradient is the transposed convolution (matmul +
// col2im, as ConvTranspose is imported) and its filter gradient a
// convolution of the input by the output gradient; max pooling routes each
// output's gradient to the first maximum of its window (PyTorch's choice)
// with a scatter-add.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/GraphGradient.h"
#include "dialects/graph/GraphShapes.h"

#include <limits>
#include <set>

using namespace mlir;

namespace dlc::graph {
namespace {

using Grads = SmallVectorImpl<Value>;
using GB = GradientBuilder;

LogicalResult matmulRule(MatmulOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value a = op.getLhs(), w = op.getRhs();
  if (GB::typeOf(a).getRank() < 2 || GB::typeOf(w).getRank() < 2)
    return op.emitOpError("gradient needs operands of rank >= 2");
  bool tl = op.getTransposeLhs(), tr = op.getTransposeRhs();
  // With A' = op(A), B' = op(B): dA' = G B'^T and dB' = A'^T G; a transposed
  // operand takes the transpose of that.
  Value da = tl ? b.matmul(w, g[0], tr, true) : b.matmul(g[0], w, false, !tr);
  out[0] = b.sumToShape(da, GB::typeOf(a));
  auto aType = GB::typeOf(a);
  if (GB::typeOf(w).getRank() == 2 && aType.getRank() > 2 && !tl) {
    // A 2-D weight shared by every batch (a linear layer on [..., K]): its
    // gradient is one matmul over all rows, not a batch of products summed
    // afterwards (which would materialize batch x K x N).
    int64_t rows = 1;
    for (int64_t d : aType.getShape().drop_back())
      rows *= d;
    int64_t k = aType.getShape().back(),
            n = GB::typeOf(g[0]).getShape().back();
    Value a2 = b.reshape(a, {rows, k}), g2 = b.reshape(g[0], {rows, n});
    out[1] = tr ? b.matmul(g2, a2, true, false) : b.matmul(a2, g2, true, false);
    return success();
  }
  Value dw = tr ? b.matmul(g[0], a, true, tl) : b.matmul(a, g[0], !tl, false);
  out[1] = b.sumToShape(dw, GB::typeOf(w));
  return success();
}

/// The im2col matrix [C*KH*KW, N*OH*OW] of x [N, C, H, W]: column
/// (n, oy, ox) of row (c, kh, kw) is x[n, c, oy*s - padTop + kh*d,
/// ox*s - padLeft + kw*d], zero outside. Each tap is a strided slice of the
/// padded input; they are stacked and transposed into rows.
Value im2col(GB &b, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
             ArrayRef<int64_t> d, int64_t padTop, int64_t padLeft,
             ArrayRef<int64_t> out) {
  auto type = GB::typeOf(x);
  int64_t n = type.getDimSize(0), c = type.getDimSize(1),
          h = type.getDimSize(2), w = type.getDimSize(3);
  int64_t needH = (out[0] - 1) * s[0] + (k[0] - 1) * d[0] + 1;
  int64_t needW = (out[1] - 1) * s[1] + (k[1] - 1) * d[1] + 1;
  Value padded = b.pad(x,
                       {0, 0, padTop, padLeft, 0, 0,
                        std::max<int64_t>(0, needH - h - padTop),
                        std::max<int64_t>(0, needW - w - padLeft)},
                       0.0);
  SmallVector<Value> taps;
  for (int64_t i = 0; i < k[0]; ++i)
    for (int64_t j = 0; j < k[1]; ++j)
      taps.push_back(b.reshape(
          b.slice(padded, {0, 0, i * d[0], j * d[1]}, {n, c, out[0], out[1]},
                  {1, 1, s[0], s[1]}),
          {n, c, 1, out[0], out[1]}));
  Value stacked = b.transpose(b.concat(taps, 2), {1, 2, 0, 3, 4});
  return b.reshape(stacked, {c * k[0] * k[1], n * out[0] * out[1]});
}

/// Input gradient of a group-1 convolution: the transposed convolution of
/// the output gradient, W^T G summed back into the input by col2im.
Value convInputGradient(GB &b, Conv2dOp op, Value g, Value w,
                        RankedTensorType xType) {
  auto wType = GB::typeOf(w), gType = GB::typeOf(g);
  int64_t n = gType.getDimSize(0), f = gType.getDimSize(1),
          oh = gType.getDimSize(2), ow = gType.getDimSize(3);
  int64_t c = wType.getDimSize(1), kh = wType.getDimSize(2),
          kw = wType.getDimSize(3);
  Value gCols = b.reshape(b.transpose(g, {1, 0, 2, 3}), {f, n * oh * ow});
  Value wRows = b.reshape(w, {f, c * kh * kw});
  Value cols = b.matmul(wRows, gCols, /*transposeLhs=*/true, false);
  ArrayRef<int64_t> pads = op.getPads();
  // Stride 1: col2im as a sum over the taps of shifted planes (each a pad
  // and an add over whole tensors, vectorized), not a gather per element.
  int64_t h = xType.getDimSize(2), wd = xType.getDimSize(3);
  // Each tap's plane is shifted by (i - top pad, j - left pad); a shift that
  // crops more than the plane (large pads or kernels on small maps) takes
  // col2im.
  bool shiftsFit = true;
  for (int64_t i = 0; i < kh && shiftsFit; ++i)
    for (int64_t j = 0; j < kw && shiftsFit; ++j) {
      int64_t top = i - pads[0], left = j - pads[1];
      int64_t bottom = h - oh - top, right = wd - ow - left;
      shiftsFit = -top < oh && -left < ow && -bottom < oh && -right < ow;
    }
  if (shiftsFit &&
      llvm::all_of(op.getStrides(), [](int64_t v) { return v == 1; }) &&
      llvm::all_of(op.getDilations(), [](int64_t v) { return v == 1; })) {
    Value taps = b.transpose(b.reshape(cols, {c, kh, kw, n, oh, ow}),
                             {1, 2, 3, 0, 4, 5});
    Value sum;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        Value tap = b.reshape(
            b.slice(taps, {i, j, 0, 0, 0, 0}, {1, 1, n, c, oh, ow},
                    {1, 1, 1, 1, 1, 1}),
            {n, c, oh, ow});
        int64_t top = i - pads[0], left = j - pads[1];
        Value placed = b.pad(tap, {0, 0, top, left, 0, 0, h - oh - top,
                                   wd - ow - left}, 0.0);
        sum = sum ? b.add(sum, placed) : placed;
      }
    return sum;
  }
  return Col2ImOp::create(
      b.b, b.loc, cols, n, ArrayRef<int64_t>{oh, ow}, ArrayRef<int64_t>{kh, kw},
      op.getStrides(), op.getDilations(), ArrayRef<int64_t>{pads[0], pads[1]},
      ArrayRef<int64_t>{xType.getDimSize(2), xType.getDimSize(3)});
}

/// Filter gradient of a group-1 convolution: dW[f, c] = sum_n x[n, c] (*) g[n, f]
/// is a convolution with batch and channels swapped, strides and dilations
/// exchanged; it covers at least the kernel, the rest is sliced off.
Value convFilterGradient(GB &b, Conv2dOp op, Value x, Value g,
                         RankedTensorType wType) {
  Value xt = b.transpose(x, {1, 0, 2, 3});
  Value gt = b.transpose(g, {1, 0, 2, 3});
  Value conv = Conv2dOp::create(b.b, b.loc, xt, gt, Value(), op.getDilations(),
                                op.getPads(), op.getStrides(), 1);
  auto convType = GB::typeOf(conv);
  int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  if (convType.getDimSize(2) != kh || convType.getDimSize(3) != kw)
    conv = b.slice(conv, {0, 0, 0, 0},
                   {convType.getDimSize(0), convType.getDimSize(1), kh, kw},
                   {1, 1, 1, 1});
  return b.transpose(conv, {1, 0, 2, 3});
}

LogicalResult conv2dRule(Conv2dOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value x = op.getInput(), w = op.getFilter();
  auto xType = GB::typeOf(x), wType = GB::typeOf(w);
  int64_t groups = op.getGroup();
  if (op.getBias())
    out[2] = b.sum(g[0], {0, 2, 3}, /*keepdims=*/false);
  if (groups == 1) {
    out[0] = convInputGradient(b, op, g[0], w, xType);
    out[1] = convFilterGradient(b, op, x, g[0], wType);
    return success();
  }
  // Grouped: each group is an independent convolution of its channels.
  int64_t n = xType.getDimSize(0), h = xType.getDimSize(2),
          wd = xType.getDimSize(3);
  int64_t cg = wType.getDimSize(1), fg = wType.getDimSize(0) / groups;
  auto gType = GB::typeOf(g[0]);
  SmallVector<Value> dxs, dws;
  for (int64_t i = 0; i < groups; ++i) {
    Value xi = b.slice(x, {0, i * cg, 0, 0}, {n, cg, h, wd}, {1, 1, 1, 1});
    Value wi = b.slice(w, {i * fg, 0, 0, 0},
                       {fg, cg, wType.getDimSize(2), wType.getDimSize(3)},
                       {1, 1, 1, 1});
    Value gi = b.slice(g[0], {0, i * fg, 0, 0},
                       {n, fg, gType.getDimSize(2), gType.getDimSize(3)},
                       {1, 1, 1, 1});
    dxs.push_back(convInputGradient(b, op, gi, wi, GB::typeOf(xi)));
    dws.push_back(convFilterGradient(b, op, xi, gi, GB::typeOf(wi)));
  }
  out[0] = b.concat(dxs, 1);
  out[1] = b.concat(dws, 0);
  return success();
}

/// The sizes a pooling gradient works with: input [n, c, h, w], output
/// [n, c, oh, ow].
struct PoolShape {
  Type elem;
  int64_t n, c, h, w, oh, ow;
  template <typename PoolOp> static PoolShape of(PoolOp op) {
    auto in = GB::typeOf(op.getInput()), out = GB::typeOf(op.getResult());
    return {in.getElementType(), in.getDimSize(0), in.getDimSize(1),
            in.getDimSize(2),    in.getDimSize(3), out.getDimSize(2),
            out.getDimSize(3)};
  }
};

/// Each output's gradient goes to the first maximum of its window (taps in
/// row-major order, as PyTorch's CPU kernel scans them): the window's taps
/// are stacked, arg_reduce picks the tap, and a scatter-add over the flattened
/// input plane accumulates overlapping windows.
LogicalResult maxPoolRule(MaxPool2dOp op, GB &b, ArrayRef<Value> g,
                          Grads &out) {
  Value x = op.getInput();
  auto xType = GB::typeOf(x);
  // Plain copies: lambdas below capture them (C++17 cannot capture
  // structured bindings).
  PoolShape ps = PoolShape::of(op);
  Type elem = ps.elem;
  int64_t n = ps.n, c = ps.c, h = ps.h, w = ps.w, oh = ps.oh, ow = ps.ow;
  ArrayRef<int64_t> k = op.getKernelShape(), s = op.getStrides(),
                    p = op.getPads(), d = op.getDilations();
  // Windows that tile the input (stride = kernel, no padding or dilation,
  // as LeNet's and VGG's pools): every input element belongs to at most one
  // window, so the gradient is laid out, not scattered. The first maximum
  // is found tap by tap (strictly greater replaces, as PyTorch scans).
  bool tiles = s == k && llvm::all_of(p, [](int64_t v) { return v == 0; }) &&
               llvm::all_of(d, [](int64_t v) { return v == 1; }) &&
               oh * k[0] <= h && ow * k[1] <= w;
  if (tiles) {
    auto tap = [&](int64_t i, int64_t j) {
      return b.slice(x, {0, 0, i, j}, {n, c, oh, ow}, {1, 1, k[0], k[1]});
    };
    Value best = tap(0, 0), chosen = b.scalar(elem, 0.0);
    for (int64_t t = 1; t < k[0] * k[1]; ++t) {
      Value v = tap(t / k[1], t % k[1]);
      Value better = b.greater(v, best);
      best = b.where(better, v, best);
      chosen = b.where(better, b.scalar(elem, double(t)), chosen);
    }
    chosen = b.expand(chosen, {n, c, oh, ow});
    SmallVector<Value> parts;
    for (int64_t t = 0; t < k[0] * k[1]; ++t)
      parts.push_back(b.reshape(
          b.mask(b.equal(chosen, b.scalar(elem, double(t))), g[0]),
          {n, c, oh, ow, 1}));
    Value laid = b.reshape(b.concat(parts, 4), {n, c, oh, ow, k[0], k[1]});
    laid = b.reshape(b.transpose(laid, {0, 1, 2, 4, 3, 5}),
                     {n, c, oh * k[0], ow * k[1]});
    out[0] = b.pad(laid, {0, 0, 0, 0, 0, 0, h - oh * k[0], w - ow * k[1]}, 0.0);
    return success();
  }
  // Pad so that every window (ceil_mode ones too) lies inside.
  int64_t needH = (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1;
  int64_t needW = (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1;
  int64_t endH = std::max<int64_t>(0, needH - h - p[0]);
  int64_t endW = std::max<int64_t>(0, needW - w - p[1]);
  Value padded = b.pad(x, {0, 0, p[0], p[1], 0, 0, endH, endW},
                       -std::numeric_limits<double>::infinity());
  SmallVector<Value> taps;
  for (int64_t i = 0; i < k[0]; ++i)
    for (int64_t j = 0; j < k[1]; ++j)
      taps.push_back(b.reshape(
          b.slice(padded, {0, 0, i * d[0], j * d[1]}, {n, c, oh, ow},
                  {1, 1, s[0], s[1]}),
          {n, c, oh, ow, 1}));
  Value stacked = b.concat(taps, 4);
  Value tap = ArgReduceOp::create(b.b, b.loc, stacked, "max", 4, false, false);
  // Flat input index of the chosen tap: (oy*s - p + kh*d) * W + (ox*s - p + kw*d).
  Value kernelW = b.int64Constant({}, {k[1]});
  Value row = DivOp::create(b.b, b.loc, tap, kernelW, b.b.getBoolAttr(false));
  Value col = b.sub(tap, b.mul(row, kernelW));
  SmallVector<int64_t> rows, cols;
  for (int64_t y = 0; y < oh; ++y)
    rows.push_back(y * s[0] - p[0]);
  for (int64_t xx = 0; xx < ow; ++xx)
    cols.push_back(xx * s[1] - p[1]);
  Value iy = b.add(b.int64Constant({oh, 1}, rows),
                   b.mul(row, b.int64Constant({}, {d[0]})));
  Value ix = b.add(b.int64Constant({1, ow}, cols),
                   b.mul(col, b.int64Constant({}, {d[1]})));
  Value flat = b.add(b.mul(iy, b.int64Constant({}, {w})), ix);
  Value index = b.reshape(flat, {n, c, oh * ow});
  Value updates = b.reshape(g[0], {n, c, oh * ow});
  Value zeros = b.splat(RankedTensorType::get({n, c, h * w}, elem), 0.0);
  Value scattered = ScatterElementsOp::create(b.b, b.loc, zeros, index,
                                              updates, 2, "add");
  out[0] = b.reshape(scattered, xType.getShape());
  return success();
}

/// Each output's gradient, divided by its window's divisor, spreads evenly
/// over the window's taps: a col2im of the scaled gradient repeated per tap.
LogicalResult avgPoolRule(AvgPool2dOp op, GB &b, ArrayRef<Value> g,
                          Grads &out) {
  // Plain copies: lambdas below capture them (C++17 cannot capture
  // structured bindings).
  PoolShape ps = PoolShape::of(op);
  Type elem = ps.elem;
  int64_t n = ps.n, c = ps.c, h = ps.h, w = ps.w, oh = ps.oh, ow = ps.ow;
  ArrayRef<int64_t> k = op.getKernelShape(), s = op.getStrides(),
                    p = op.getPads(), d = op.getDilations();
  bool countPad = op.getCountIncludePad();
  SmallVector<double> reciprocal;
  for (int64_t y = 0; y < oh; ++y) {
    int64_t rows = countPad ? countPoolTaps(y, s[0], p[0], k[0], d[0], -p[0], h + p[2])
                            : countPoolTaps(y, s[0], p[0], k[0], d[0], 0, h);
    for (int64_t xx = 0; xx < ow; ++xx) {
      int64_t cols = countPad ? countPoolTaps(xx, s[1], p[1], k[1], d[1], -p[1], w + p[3])
                              : countPoolTaps(xx, s[1], p[1], k[1], d[1], 0, w);
      reciprocal.push_back(rows * cols > 0 ? 1.0 / (rows * cols) : 0.0);
    }
  }
  Value scaled = b.mul(g[0], b.floatConstant({oh, ow}, elem, reciprocal));
  Value perChannel = b.reshape(b.transpose(scaled, {1, 0, 2, 3}),
                               {c, 1, n * oh * ow});
  Value cols = b.reshape(b.expand(perChannel, {c, k[0] * k[1], n * oh * ow}),
                         {c * k[0] * k[1], n * oh * ow});
  // col2im sums every tap inside the input; taps in the padding fall away.
  out[0] = Col2ImOp::create(b.b, b.loc, cols, n, ArrayRef<int64_t>{oh, ow}, k,
                            s, d, ArrayRef<int64_t>{p[0], p[1]},
                            ArrayRef<int64_t>{h, w});
  return success();
}

LogicalResult globalAvgPoolRule(GlobalAvgPoolOp op, GB &b, ArrayRef<Value> g,
                                Grads &out) {
  auto xType = GB::typeOf(op.getInput());
  int64_t count = 1;
  for (int64_t d = 2; d < xType.getRank(); ++d)
    count *= xType.getDimSize(d);
  out[0] = b.expand(b.scale(g[0], 1.0 / count), xType.getShape());
  return success();
}

LogicalResult softmaxRule(SoftmaxOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value y = op.getResult();
  int64_t axis = op.getAxis();
  out[0] = b.mul(y, b.sub(g[0], b.sum(b.mul(g[0], y), {axis}, true)));
  return success();
}

LogicalResult logSoftmaxRule(LogSoftmaxOp op, GB &b, ArrayRef<Value> g,
                             Grads &out) {
  Value y = op.getResult();
  int64_t axis = op.getAxis();
  out[0] = b.sub(g[0], b.mul(b.unary(y, "exp"), b.sum(g[0], {axis}, true)));
  return success();
}

/// xhat = (x - mean) * inv; y = xhat * scale + bias. With dxhat = g * scale:
/// dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means
/// over the normalized dims.
LogicalResult layerNormRule(LayerNormOp op, GB &b, ArrayRef<Value> g,
                            Grads &out) {
  Value x = op.getInput();
  auto xType = GB::typeOf(x);
  int64_t axis = op.getAxis();
  if (axis < 0)
    axis += xType.getRank();
  SmallVector<int64_t> axes;
  int64_t count = 1;
  for (int64_t d = axis; d < xType.getRank(); ++d) {
    axes.push_back(d);
    count *= xType.getDimSize(d);
  }
  Value centered = b.sub(x, op.getMean());
  Value xhat = b.mul(centered, op.getInvStdDev());
  Value dx;
  if (g[0]) {
    Value dxhat = b.mul(g[0], op.getScale());
    Value meanD = b.scale(b.sum(dxhat, axes, true), 1.0 / count);
    Value meanDX = b.scale(b.sum(b.mul(dxhat, xhat), axes, true), 1.0 / count);
    dx = b.mul(op.getInvStdDev(),
               b.sub(b.sub(dxhat, meanD), b.mul(xhat, meanDX)));
    out[1] = b.sumToShape(b.mul(g[0], xhat), GB::typeOf(op.getScale()));
    if (op.getBias())
      out[2] = b.sumToShape(g[0], GB::typeOf(op.getBias()));
  }
  // The statistics are results too: d mean / dx = 1/n; d inv / dx =
  // -inv^3 (x - mean) / n (the mean's own change cancels in the variance).
  if (g[1]) {
    Value d = b.expand(b.scale(g[1], 1.0 / count), xType.getShape());
    dx = dx ? b.add(dx, d) : d;
  }
  if (g[2]) {
    Value inv = op.getInvStdDev();
    Value cube = b.mul(inv, b.mul(inv, inv));
    Value d = b.scale(b.mul(b.mul(g[2], cube), centered), -1.0 / count);
    dx = dx ? b.add(dx, d) : d;
  }
  out[0] = dx;
  return success();
}

/// Inference batch normalization: an affine map per channel,
/// y = (x - mean) * inv * scale + bias with inv = 1 / sqrt(var + eps).
LogicalResult batchNormRule(BatchNormOp op, GB &b, ArrayRef<Value> g,
                            Grads &out) {
  Value x = op.getInput();
  auto xType = GB::typeOf(x);
  Type elem = xType.getElementType();
  SmallVector<int64_t> perChannel(xType.getRank(), 1);
  perChannel[1] = xType.getDimSize(1);
  auto channel = [&](Value v) { return b.reshape(v, perChannel); };
  Value mean = channel(op.getMean()), var = channel(op.getVariance());
  Value shifted = b.add(var, b.scalar(elem, op.getEpsilon().convertToDouble()));
  Value inv = b.unary(b.unary(shifted, "sqrt"), "reciprocal");
  Value scale = channel(op.getScale());
  Value xhat = b.mul(b.sub(x, mean), inv);
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < xType.getRank(); ++d)
    if (d != 1)
      axes.push_back(d);
  auto perChannelSum = [&](Value v) {
    return b.reshape(b.sum(v, axes, true), {xType.getDimSize(1)});
  };
  out[0] = b.mul(g[0], b.mul(scale, inv));
  out[1] = perChannelSum(b.mul(g[0], xhat));
  out[2] = perChannelSum(g[0]);
  // d/dmean = -sum(g * scale * inv); d/dvar = -0.5 sum(g * scale * xhat) / (var + eps)
  Value gs = b.mul(g[0], scale);
  out[3] = b.neg(perChannelSum(b.mul(gs, inv)));
  out[4] = b.reshape(b.scale(b.div(b.sum(b.mul(gs, xhat), axes, true), shifted),
                             -0.5),
                     {xType.getDimSize(1)});
  return success();
}

/// col2im sums taps into the output; its gradient reads them back (im2col):
/// column (n, iy, ix) of row (f, kh, kw) is g[n, f, iy*s - p + kh*d, ...],
/// zero outside. Each tap is a strided slice of the padded gradient.
LogicalResult col2imRule(Col2ImOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  ArrayRef<int64_t> p = op.getPads();
  out[0] = im2col(b, g[0], op.getKernelShape(), op.getStrides(),
                  op.getDilations(), p[0], p[1], op.getInputSize());
  return success();
}

/// The gradient of einsum input i is an einsum of the output gradient with
/// the other inputs onto i's subscripts; letters only i has (summed out of
/// i alone) come back by broadcasting.
struct EinsumRule : GradientOpInterface::ExternalModel<EinsumRule, EinsumOp> {
  bool hasGradientRule(Operation *op, std::string &why) const {
    auto subscripts = parseEinsum(cast<EinsumOp>(op).getEquation());
    for (const std::string &letters : subscripts->inputs)
      if (std::set<char>(letters.begin(), letters.end()).size() != letters.size()) {
        why = "no gradient rule for an einsum that reads a diagonal ('" +
              letters + "')";
        return false;
      }
    return true;
  }
  LogicalResult buildGradients(Operation *o, GB &b, ArrayRef<Value> g,
                               Grads &out) const {
    auto op = cast<EinsumOp>(o);
    auto subscripts = *parseEinsum(op.getEquation());
    auto inputs = op.getInputs();
    for (auto [i, input] : llvm::enumerate(inputs)) {
      if (!isa<FloatType>(GB::typeOf(input).getElementType()))
        continue;
      // A scalar output's gradient multiplies the result instead of being an
      // operand (an einsum operand needs subscripts).
      bool scalarOut = subscripts.output.empty();
      std::string equation = subscripts.output;
      std::set<char> available(subscripts.output.begin(),
                               subscripts.output.end());
      SmallVector<Value> operands;
      if (!scalarOut)
        operands.push_back(g[0]);
      for (auto [j, other] : llvm::enumerate(inputs)) {
        if (j == i)
          continue;
        equation += (equation.empty() && operands.empty() ? "" : ",") +
                    subscripts.inputs[j];
        available.insert(subscripts.inputs[j].begin(), subscripts.inputs[j].end());
        operands.push_back(other);
      }
      const std::string &mine = subscripts.inputs[i];
      std::string target;
      SmallVector<int64_t> kept;
      auto shape = GB::typeOf(input).getShape();
      for (auto [k, c] : llvm::enumerate(mine)) {
        bool has = available.count(c);
        if (has)
          target += c;
        kept.push_back(has ? shape[k] : 1);
      }
      Value grad;
      if (!operands.empty())
        grad = EinsumOp::create(b.b, b.loc, operands, equation + "->" + target);
      if (scalarOut)
        grad = grad ? b.mul(grad, g[0]) : g[0];
      out[i] = b.expand(b.reshape(grad, kept), shape);
    }
    return success();
  }
};

} // namespace

void attachNNGradients(MLIRContext &ctx) {
  EinsumOp::attachInterface<EinsumRule>(ctx);
  Col2ImOp::attachInterface<GradientRule<Col2ImOp, col2imRule>>(ctx);
  BatchNormOp::attachInterface<GradientRule<BatchNormOp, batchNormRule>>(ctx);
  MatmulOp::attachInterface<GradientRule<MatmulOp, matmulRule>>(ctx);
  Conv2dOp::attachInterface<GradientRule<Conv2dOp, conv2dRule>>(ctx);
  MaxPool2dOp::attachInterface<GradientRule<MaxPool2dOp, maxPoolRule>>(ctx);
  AvgPool2dOp::attachInterface<GradientRule<AvgPool2dOp, avgPoolRule>>(ctx);
  GlobalAvgPoolOp::attachInterface<
      GradientRule<GlobalAvgPoolOp, globalAvgPoolRule>>(ctx);
  SoftmaxOp::attachInterface<GradientRule<SoftmaxOp, softmaxRule>>(ctx);
  LogSoftmaxOp::attachInterface<GradientRule<LogSoftmaxOp, logSoftmaxRule>>(
      ctx);
  LayerNormOp::attachInterface<GradientRule<LayerNormOp, layerNormRule>>(ctx);
}

} // namespace dlc::graph
