//===- NN.cpp - importers of convolution, pooling and normalization -------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// Begin/end padding per spatial dim from `pads` or `auto_pad`.
FailureOr<SmallVector<int64_t>>
resolvePads(ImportContext &ctx, ArrayRef<int64_t> inputSpatial,
            ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
            ArrayRef<int64_t> dilations) {
  size_t n = inputSpatial.size();
  std::string autoPad = ctx.stringAttr("auto_pad", "NOTSET");
  SmallVector<int64_t> pads = ctx.intsAttr("pads");
  if (autoPad == "NOTSET") {
    if (pads.empty())
      pads.assign(2 * n, 0);
    if (pads.size() != 2 * n) {
      (void)ctx.error("pads has " + Twine(pads.size()) + " values, expected " +
                      Twine(2 * n));
      return failure();
    }
    return pads;
  }
  if (autoPad == "VALID")
    return SmallVector<int64_t>(2 * n, 0);
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") {
    (void)ctx.error("auto_pad '" + autoPad + "' is not one of NOTSET, VALID, "
                    "SAME_UPPER, SAME_LOWER");
    return failure();
  }
  pads.assign(2 * n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t out = (inputSpatial[i] + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 -
               inputSpatial[i]);
    int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[i + n] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}


/// 1-D ops run as 2-D ones over a height of 1: [N, C, W] -> [N, C, 1, W].
Value liftTo2d(ImportContext &ctx, Value v) {
  auto type = ImportContext::typeOf(v);
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1), 1,
                                type.getDimSize(2)};
  return ctx.build<graph::ReshapeOp>(v,
                                     ctx.builder.getDenseI64ArrayAttr(shape));
}

Value dropLiftedDim(ImportContext &ctx, Value v) {
  auto type = ImportContext::typeOf(v);
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1),
                                type.getDimSize(3)};
  return ctx.build<graph::ReshapeOp>(v,
                                     ctx.builder.getDenseI64ArrayAttr(shape));
}

/// Spatial attributes of a 1-D op extended to 2-D (height: kernel 1, no pad).
void liftAttrsTo2d(SmallVector<int64_t> &kernel, SmallVector<int64_t> &strides,
                   SmallVector<int64_t> &dilations,
                   SmallVector<int64_t> &pads) {
  kernel.insert(kernel.begin(), 1);
  strides.insert(strides.begin(), 1);
  dilations.insert(dilations.begin(), 1);
  pads = {0, pads[0], 0, pads[1]};
}

} // namespace

/// The `count` elements of `v` along dim `dim` from `start`, `step` apart
/// (a depth tap of a 3-D window: its plane for every output depth).
Value sliceDim(ImportContext &ctx, Value v, int64_t dim, int64_t start,
               int64_t count, int64_t step) {
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(v);
  SmallVector<int64_t> starts(type.getRank(), 0), sizes(type.getShape()),
      steps(type.getRank(), 1);
  starts[dim] = start;
  sizes[dim] = count;
  steps[dim] = step;
  return ctx.build<graph::SliceOp>(v, b.getDenseI64ArrayAttr(starts),
                                   b.getDenseI64ArrayAttr(sizes),
                                   b.getDenseI64ArrayAttr(steps));
}

/// A 3-D convolution as KD 2-D ones, KD the filter's depth: for each depth
/// tap kd, the input planes that tap reads for every output depth (a
/// strided slice along D of the D-padded input) become a batch of
/// N * OD images, convolved over (H, W) with the filter's kd-th plane, and
/// the KD results are summed. The graph grows with KD, not with the image.
Value buildConv3d(ImportContext &ctx, Value x, Value w, Value bias,
                  ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> dilations, ArrayRef<int64_t> pads,
                  int64_t group) {
  auto &b = ctx.builder;
  auto xType = ImportContext::typeOf(x), wType = ImportContext::typeOf(w);
  int64_t n = xType.getDimSize(0), c = xType.getDimSize(1),
          h = xType.getDimSize(3), wd = xType.getDimSize(4);
  int64_t f = wType.getDimSize(0), cg = wType.getDimSize(1);
  int64_t depth = xType.getDimSize(2) + pads[0] + pads[3];
  int64_t od = (depth - dilations[0] * (kernel[0] - 1) - 1) / strides[0] + 1;
  if (od < 1) {
    (void)ctx.error("the output would be empty");
    return {};
  }
  Value padded = x;
  if (pads[0] || pads[3])
    padded = ctx.build<graph::PadOp>(
        x, b.getDenseI64ArrayAttr({0, 0, pads[0], 0, 0, 0, 0, pads[3], 0, 0}),
        b.getF64FloatAttr(0.0));
  Value sum;
  for (int64_t kd = 0; kd < kernel[0] && padded; ++kd) {
    Value planes =
        sliceDim(ctx, padded, 2, kd * dilations[0], od, strides[0]);
    if (planes)
      planes = ctx.build<graph::TransposeOp>(
          planes, b.getDenseI64ArrayAttr({0, 2, 1, 3, 4}));
    if (planes)
      planes = ctx.build<graph::ReshapeOp>(
          planes, b.getDenseI64ArrayAttr({n * od, c, h, wd}));
    Value tap = sliceDim(ctx, w, 2, kd, 1, 1);
    if (tap)
      tap = ctx.build<graph::ReshapeOp>(
          tap, b.getDenseI64ArrayAttr({f, cg, kernel[1], kernel[2]}));
    if (!planes || !tap)
      return {};
    Value conv = ctx.build<graph::Conv2dOp>(
        planes, tap, kd == 0 ? bias : Value(),
        b.getDenseI64ArrayAttr({strides[1], strides[2]}),
        b.getDenseI64ArrayAttr({pads[1], pads[2], pads[4], pads[5]}),
        b.getDenseI64ArrayAttr({dilations[1], dilations[2]}),
        b.getI64IntegerAttr(group));
    if (!conv)
      return {};
    sum = sum ? ctx.build<graph::AddOp>(sum, conv, b.getBoolAttr(false)) : conv;
  }
  if (!sum)
    return {};
  // [N * OD, F, OH, OW] -> [N, OD, F, OH, OW] -> [N, F, OD, OH, OW]
  auto sumType = ImportContext::typeOf(sum);
  Value y = ctx.build<graph::ReshapeOp>(
      sum, b.getDenseI64ArrayAttr({n, od, f, sumType.getDimSize(2),
                                   sumType.getDimSize(3)}));
  return y ? ctx.build<graph::TransposeOp>(
                 y, b.getDenseI64ArrayAttr({0, 2, 1, 3, 4}))
           : y;
}

Value buildConv(ImportContext &ctx, Value x, Value w, Value bias) {
  auto xType = ImportContext::typeOf(x), wType = ImportContext::typeOf(w);
  int64_t spatial = xType.getRank() - 2;
  if (spatial < 1 || spatial > 3) {
    (void)ctx.error("only 1-D, 2-D and 3-D convolutions are supported, this "
                    "one is " + Twine(spatial) + "-D");
    return {};
  }
  if (wType.getRank() != xType.getRank()) {
    (void)ctx.error("weight rank " + Twine(wType.getRank()) +
                    " differs from input rank " + Twine(xType.getRank()));
    return {};
  }
  SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
  SmallVector<int64_t> declared = ctx.intsAttr("kernel_shape");
  if (!declared.empty() && declared != kernel) {
    (void)ctx.error("kernel_shape does not match the weight's shape");
    return {};
  }
  auto strides = ctx.spatialAttr("strides", spatial, 1);
  auto dilations = ctx.spatialAttr("dilations", spatial, 1);
  if (strides.size() != (size_t)spatial || dilations.size() != (size_t)spatial) {
    (void)ctx.error("strides/dilations do not match the spatial rank");
    return {};
  }
  auto pads = resolvePads(ctx, xType.getShape().drop_front(2), kernel, strides,
                          dilations);
  if (failed(pads))
    return {};
  int64_t group = ctx.intAttr("group", 1);
  if (spatial == 3)
    return buildConv3d(ctx, x, w, bias, kernel, strides, dilations, *pads,
                       group);
  if (spatial == 1) {
    liftAttrsTo2d(kernel, strides, dilations, *pads);
    x = liftTo2d(ctx, x);
    w = liftTo2d(ctx, w);
  }
  // graph.conv2d takes pads as [top, left, bottom, right], ONNX's order too.
  Value result = ctx.build<graph::Conv2dOp>(
      x, w, bias, ctx.builder.getDenseI64ArrayAttr(strides),
      ctx.builder.getDenseI64ArrayAttr(*pads),
      ctx.builder.getDenseI64ArrayAttr(dilations),
      ctx.builder.getI64IntegerAttr(group));
  if (result && spatial == 1)
    result = dropLiftedDim(ctx, result);
  return result;
}

namespace {

LogicalResult importConv(ImportContext &ctx) {
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w || failed(ctx.requireFloat(x, "input X")))
    return failure();
  std::optional<Value> bias = ctx.optionalInput(2);
  Value result = buildConv(ctx, x, w, bias ? *bias : Value());
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Inserts `stride - 1` zeros between the elements of dim `dim`:
/// [.., n, ..] -> [.., (n - 1) * stride + 1, ..], with reshapes and pads.
Value insertZeros(ImportContext &ctx, Value x, int64_t dim, int64_t stride) {
  if (stride == 1 || !x)
    return x;
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  int64_t rank = type.getRank(), n = type.getDimSize(dim);
  // [.., n, ..] -> [.., n, 1, ..] -> pad to [.., n, stride, ..]
  SmallVector<int64_t> lifted(type.getShape());
  lifted.insert(lifted.begin() + dim + 1, 1);
  Value v = ctx.build<graph::ReshapeOp>(x, b.getDenseI64ArrayAttr(lifted));
  SmallVector<int64_t> pads(2 * (rank + 1), 0);
  pads[(rank + 1) + dim + 1] = stride - 1;
  v = v ? ctx.build<graph::PadOp>(v, b.getDenseI64ArrayAttr(pads),
                                  b.getF64FloatAttr(0.0))
        : v;
  // -> [.., n * stride, ..], then drop the trailing stride - 1 zeros.
  SmallVector<int64_t> merged(type.getShape());
  merged[dim] = n * stride;
  v = v ? ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(merged)) : v;
  SmallVector<int64_t> crop(2 * rank, 0);
  crop[rank + dim] = -(stride - 1);
  return v ? ctx.build<graph::PadOp>(v, b.getDenseI64ArrayAttr(crop),
                                     b.getF64FloatAttr(0.0))
           : v;
}

/// ConvTranspose. 2-D without groups: a matmul of the transposed weights with
/// the input, whose columns col2im sums into the output. Otherwise a stride-1
/// convolution: zeros inserted between input elements, the border padded by
/// dilation * (kernel - 1) - pad (negative crops), and the filter
/// [C, F/g, kh, kw] regrouped to [F, C/g, kh, kw] and flipped spatially
/// (3-D: that convolution built as buildConv3d's 2-D ones). With constant
/// weights the weight rearrangements fold at compile time.
LogicalResult importConvTranspose(ImportContext &ctx) {
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w || failed(ctx.requireFloat(x, "input X")))
    return failure();
  std::optional<Value> bias = ctx.optionalInput(2);
  auto xType = ImportContext::typeOf(x), wType = ImportContext::typeOf(w);
  int64_t spatial = xType.getRank() - 2;
  if (spatial < 1 || spatial > 3)
    return ctx.error("only 1-D, 2-D and 3-D transposed convolutions are "
                     "supported, this one is " + Twine(spatial) + "-D");
  if (wType.getRank() != xType.getRank())
    return ctx.error("weight rank differs from input rank");
  int64_t group = ctx.intAttr("group", 1);
  int64_t c = xType.getDimSize(1);
  if (group < 1 || c % group != 0 || wType.getDimSize(0) != c)
    return ctx.error("weight [" + Twine(wType.getDimSize(0)) +
                     ", ...] does not match " + Twine(c) +
                     " input channels in " + Twine(group) + " group(s)");
  SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
  auto strides = ctx.spatialAttr("strides", spatial, 1);
  auto dilations = ctx.spatialAttr("dilations", spatial, 1);
  auto outputPadding = ctx.spatialAttr("output_padding", spatial, 0);
  SmallVector<int64_t> pads = ctx.intsAttr("pads");
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  SmallVector<int64_t> outputShape = ctx.intsAttr("output_shape");
  std::string autoPad = ctx.stringAttr("auto_pad", "NOTSET");
  if (strides.size() != (size_t)spatial || dilations.size() != (size_t)spatial ||
      outputPadding.size() != (size_t)spatial || pads.size() != 2 * (size_t)spatial)
    return ctx.error("strides, dilations, output_padding or pads do not match "
                     "the spatial rank");
  if (outputShape.size() > (size_t)spatial)
    outputShape.erase(outputShape.begin(), outputShape.end() - spatial);
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" || !outputShape.empty()) {
    // Padding follows from the requested output size (input * stride for
    // SAME), split as the spec says.
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t in = xType.getDimSize(2 + i);
      int64_t out = outputShape.empty() ? in * strides[i] : outputShape[i];
      int64_t total = strides[i] * (in - 1) + outputPadding[i] +
                      (kernel[i] - 1) * dilations[i] + 1 - out;
      // Floor division (as ONNX's reference): a negative total puts the
      // extra element at the end.
      int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      bool upper = autoPad == "SAME_UPPER";
      pads[i] = upper ? half : total - half;
      pads[i + spatial] = upper ? total - half : half;
    }
  } else if (autoPad != "NOTSET" && autoPad != "VALID") {
    return ctx.error("auto_pad '" + autoPad + "' is not one of NOTSET, VALID, "
                     "SAME_UPPER, SAME_LOWER");
  }

  auto &b = ctx.builder;
  int64_t f = wType.getDimSize(1) * group;
  if (spatial == 2 && group == 1) {
    // columns = W^T [F*KH*KW, C] x X [C, N*H*W] (one vectorized matmul, no
    // multiplications by inserted zeros), then col2im sums the taps.
    int64_t n = xType.getDimSize(0), h = xType.getDimSize(2),
            wd = xType.getDimSize(3), taps = kernel[0] * kernel[1];
    Value wt = ctx.build<graph::ReshapeOp>(w, b.getDenseI64ArrayAttr({c, f * taps}));
    wt = wt ? ctx.build<graph::TransposeOp>(wt, b.getDenseI64ArrayAttr({1, 0})) : wt;
    Value xc = n == 1 ? x
                      : ctx.build<graph::TransposeOp>(x, b.getDenseI64ArrayAttr({1, 0, 2, 3}));
    Value x2 = xc ? ctx.build<graph::ReshapeOp>(xc, b.getDenseI64ArrayAttr({c, n * h * wd}))
                  : Value();
    Value columns = wt && x2 ? ctx.build<graph::MatmulOp>(wt, x2, b.getBoolAttr(false),
                                                          b.getBoolAttr(false))
                             : Value();
    SmallVector<int64_t> outSize;
    for (int64_t i = 0; i < 2; ++i)
      outSize.push_back((xType.getDimSize(2 + i) - 1) * strides[i] - pads[i] -
                        pads[i + 2] + dilations[i] * (kernel[i] - 1) + 1 +
                        outputPadding[i]);
    if (outSize[0] < 1 || outSize[1] < 1)
      return ctx.error("the output would be empty");
    Value y = columns ? ctx.build<graph::Col2ImOp>(
                            columns, b.getI64IntegerAttr(n), b.getDenseI64ArrayAttr({h, wd}),
                            b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(strides),
                            b.getDenseI64ArrayAttr(dilations),
                            b.getDenseI64ArrayAttr({pads[0], pads[1]}),
                            b.getDenseI64ArrayAttr(outSize))
                      : Value();
    if (y && bias) {
      Value perChannel = ctx.build<graph::ReshapeOp>(*bias, b.getDenseI64ArrayAttr({f, 1, 1}));
      y = perChannel ? ctx.build<graph::AddOp>(y, perChannel) : Value();
    }
    ctx.setOutput(0, y);
    return success(static_cast<bool>(y));
  }
  // Filter [C, F/g, k..] -> [g, C/g, F/g, k..] -> [g, F/g, C/g, k..] ->
  // [F, C/g, k..], then flipped along every spatial dim.
  SmallVector<int64_t> grouped = {group, c / group, f / group};
  llvm::append_range(grouped, kernel);
  SmallVector<int64_t> perm = {0, 2, 1};
  for (int64_t i = 0; i < spatial; ++i)
    perm.push_back(3 + i);
  SmallVector<int64_t> convShape = {f, c / group};
  llvm::append_range(convShape, kernel);
  Value filter = ctx.build<graph::ReshapeOp>(w, b.getDenseI64ArrayAttr(grouped));
  filter = filter ? ctx.build<graph::TransposeOp>(filter, b.getDenseI64ArrayAttr(perm)) : filter;
  filter = filter ? ctx.build<graph::ReshapeOp>(filter, b.getDenseI64ArrayAttr(convShape)) : filter;
  SmallVector<int64_t> starts(convShape.size(), 0), steps(convShape.size(), 1);
  for (int64_t i = 0; i < spatial; ++i) {
    starts[2 + i] = kernel[i] - 1;
    steps[2 + i] = -1;
  }
  filter = filter ? ctx.build<graph::SliceOp>(filter, b.getDenseI64ArrayAttr(starts),
                                              b.getDenseI64ArrayAttr(convShape),
                                              b.getDenseI64ArrayAttr(steps))
                  : filter;

  // Input: zeros between elements, then the border.
  Value in = x;
  for (int64_t i = 0; i < spatial; ++i)
    in = insertZeros(ctx, in, 2 + i, strides[i]);
  SmallVector<int64_t> border(2 * (spatial + 2), 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t reach = dilations[i] * (kernel[i] - 1);
    border[2 + i] = reach - pads[i];
    border[(spatial + 2) + 2 + i] = reach - pads[i + spatial] + outputPadding[i];
  }
  in = in ? ctx.build<graph::PadOp>(in, b.getDenseI64ArrayAttr(border),
                                    b.getF64FloatAttr(0.0))
          : in;
  if (!in || !filter)
    return failure();

  SmallVector<int64_t> ones(spatial, 1), noPads(2 * spatial, 0);
  if (spatial == 3) {
    Value result = buildConv3d(ctx, in, filter, bias ? *bias : Value(),
                               kernel, ones, dilations, noPads, group);
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  if (spatial == 1) {
    liftAttrsTo2d(kernel, ones, dilations, noPads);
    in = liftTo2d(ctx, in);
    filter = liftTo2d(ctx, filter);
  }
  Value result = ctx.build<graph::Conv2dOp>(
      in, filter, bias ? *bias : Value(), b.getDenseI64ArrayAttr(ones),
      b.getDenseI64ArrayAttr(noPads), b.getDenseI64ArrayAttr(dilations),
      b.getI64IntegerAttr(group));
  if (result && spatial == 1)
    result = dropLiftedDim(ctx, result);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// A 3-D max or average pool (ceil_mode 0) as a 2-D pool over (H, W) of
/// every depth plane, then the same over depth: the KD strided slices of
/// the D-padded planes combined by max, or summed and divided by the
/// number of taps inside the input (all KD with count_include_pad). A box
/// window's valid count is the product of its depth and plane counts, so
/// the two averages make the 3-D one.
template <bool isMax>
Value buildPool3d(ImportContext &ctx, Value x, ArrayRef<int64_t> kernel,
                  ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                  ArrayRef<int64_t> pads, bool countPad) {
  auto &b = ctx.builder;
  auto xType = ImportContext::typeOf(x);
  Type elem = xType.getElementType();
  int64_t n = xType.getDimSize(0), c = xType.getDimSize(1),
          d = xType.getDimSize(2), h = xType.getDimSize(3),
          w = xType.getDimSize(4);
  int64_t depth = d + pads[0] + pads[3];
  int64_t od = (depth - dilations[0] * (kernel[0] - 1) - 1) / strides[0] + 1;
  if (od < 1) {
    (void)ctx.error("the output would be empty");
    return {};
  }
  Value planes = ctx.build<graph::TransposeOp>(
      x, b.getDenseI64ArrayAttr({0, 2, 1, 3, 4}));
  if (planes)
    planes = ctx.build<graph::ReshapeOp>(
        planes, b.getDenseI64ArrayAttr({n * d, c, h, w}));
  if (!planes)
    return {};
  auto kernel2d = b.getDenseI64ArrayAttr({kernel[1], kernel[2]});
  auto strides2d = b.getDenseI64ArrayAttr({strides[1], strides[2]});
  auto pads2d = b.getDenseI64ArrayAttr({pads[1], pads[2], pads[4], pads[5]});
  auto dilations2d = b.getDenseI64ArrayAttr({dilations[1], dilations[2]});
  Value pooled;
  if constexpr (isMax)
    pooled = ctx.build<graph::MaxPool2dOp>(planes, kernel2d, strides2d, pads2d,
                                           dilations2d, b.getBoolAttr(false));
  else
    pooled = ctx.build<graph::AvgPool2dOp>(planes, kernel2d, strides2d, pads2d,
                                           dilations2d, b.getBoolAttr(false),
                                           b.getBoolAttr(countPad));
  if (!pooled)
    return {};
  auto pooledType = ImportContext::typeOf(pooled);
  int64_t oh = pooledType.getDimSize(2), ow = pooledType.getDimSize(3);
  Value byDepth = ctx.build<graph::ReshapeOp>(
      pooled, b.getDenseI64ArrayAttr({n, d, c, oh, ow}));
  if (byDepth && (pads[0] || pads[3]))
    byDepth = ctx.build<graph::PadOp>(
        byDepth,
        b.getDenseI64ArrayAttr({0, pads[0], 0, 0, 0, 0, pads[3], 0, 0, 0}),
        b.getF64FloatAttr(isMax ? -std::numeric_limits<double>::infinity()
                                : 0.0));
  Value combined;
  for (int64_t kd = 0; kd < kernel[0] && byDepth; ++kd) {
    Value slice =
        sliceDim(ctx, byDepth, 1, kd * dilations[0], od, strides[0]);
    if (!slice)
      return {};
    if (!combined)
      combined = slice;
    else if constexpr (isMax)
      combined = ctx.build<graph::MaxOp>(combined, slice, b.getBoolAttr(false));
    else
      combined = ctx.build<graph::AddOp>(combined, slice, b.getBoolAttr(false));
  }
  if (!combined)
    return {};
  if constexpr (!isMax) {
    // Depth taps per output depth: inside [pads[0], pads[0] + d) unless
    // padding counts.
    std::vector<float> scale(od);
    for (int64_t o = 0; o < od; ++o) {
      int64_t taps = 0;
      for (int64_t kd = 0; kd < kernel[0]; ++kd) {
        int64_t at = o * strides[0] + kd * dilations[0];
        taps += countPad || (at >= pads[0] && at < pads[0] + d);
      }
      scale[o] = 1.0f / static_cast<float>(std::max<int64_t>(taps, 1));
    }
    auto scaleType = RankedTensorType::get({1, od, 1, 1, 1}, b.getF32Type());
    Value factor = arith::ConstantOp::create(
        b, ctx.loc(), DenseElementsAttr::get(scaleType, ArrayRef<float>(scale)));
    if (!elem.isF32())
      factor = ctx.build<graph::CastOp>(factor, TypeAttr::get(elem));
    combined = factor ? ctx.build<graph::MulOp>(combined, factor,
                                                b.getBoolAttr(false))
                      : Value();
  }
  return combined ? ctx.build<graph::TransposeOp>(
                        combined, b.getDenseI64ArrayAttr({0, 2, 1, 3, 4}))
                  : combined;
}

template <bool isMax>
LogicalResult importPool(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  // MaxPool of 8-bit integers (opset 12): pooled as floats, which hold them
  // exactly, and converted back through i32 (uint8's 255 wraps to 0xff).
  Type intElem;
  bool isUnsigned = ctx.unsignedValues.contains(x);
  if (auto it =
          dyn_cast<IntegerType>(ImportContext::typeOf(x).getElementType());
      isMax && it && it.getWidth() == 8) {
    intElem = it;
    x = ctx.build<graph::CastOp>(x, TypeAttr::get(ctx.builder.getF32Type()),
                                 ctx.builder.getBoolAttr(isUnsigned));
  }
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto setResult = [&](Value result) {
    if (result && intElem) {
      result = ctx.build<graph::CastOp>(result,
                                        TypeAttr::get(ctx.builder.getI32Type()),
                                        ctx.builder.getBoolAttr(false));
      if (result)
        result = ctx.build<graph::CastOp>(result, TypeAttr::get(intElem),
                                          ctx.builder.getBoolAttr(false));
      if (result && isUnsigned)
        ctx.unsignedValues.insert(result);
    }
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  };
  bool withIndices =
      isMax && ctx.node->output_size() > 1 && !ctx.node->output(1).empty();
  auto xType = ImportContext::typeOf(x);
  int64_t spatial = xType.getRank() - 2;
  if (withIndices && spatial == 3)
    return ctx.error("the Indices output of a 3-D MaxPool is not supported");
  if (spatial < 1 || spatial > 3)
    return ctx.error("only 1-D, 2-D and 3-D pooling is supported, this one "
                     "is " + Twine(spatial) + "-D");
  SmallVector<int64_t> kernel = ctx.intsAttr("kernel_shape");
  if (kernel.size() != (size_t)spatial)
    return ctx.error("kernel_shape must have " + Twine(spatial) + " values");
  auto strides = ctx.spatialAttr("strides", spatial, 1);
  auto dilations = ctx.spatialAttr("dilations", spatial, 1);
  auto pads = resolvePads(ctx, xType.getShape().drop_front(2), kernel, strides,
                          dilations);
  if (failed(pads))
    return failure();
  bool ceil = ctx.intAttr("ceil_mode", 0) != 0;
  if (spatial == 3) {
    if (ceil)
      return ctx.error("3-D pooling with ceil_mode is not supported");
    return setResult(
        buildPool3d<isMax>(ctx, x, kernel, strides, dilations, *pads,
                           ctx.intAttr("count_include_pad", 0) != 0));
  }
  if (spatial == 1) {
    liftAttrsTo2d(kernel, strides, dilations, *pads);
    x = liftTo2d(ctx, x);
  }
  auto &b = ctx.builder;
  Value result;
  if constexpr (isMax) {
    result = ctx.build<graph::MaxPool2dOp>(
        x, b.getDenseI64ArrayAttr(kernel),
        b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(*pads),
        b.getDenseI64ArrayAttr(dilations), b.getBoolAttr(ceil));
  } else {
    bool countPad = ctx.intAttr("count_include_pad", 0) != 0;
    result = ctx.build<graph::AvgPool2dOp>(
        x, b.getDenseI64ArrayAttr(kernel),
        b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(*pads),
        b.getDenseI64ArrayAttr(dilations), b.getBoolAttr(ceil),
        b.getBoolAttr(countPad));
  }
  if (!result)
    return failure();
  if (withIndices) {
    // A 1-D pool lifted to [N, C, 1, W] has the same flat indices.
    int64_t order = ctx.intAttr("storage_order", 0);
    if (order != 0 && order != 1)
      return ctx.error("storage_order must be 0 or 1");
    Value indices = ctx.build<graph::MaxPool2dIndicesOp>(
        x, b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(strides),
        b.getDenseI64ArrayAttr(*pads), b.getDenseI64ArrayAttr(dilations),
        b.getBoolAttr(ceil), b.getBoolAttr(order == 1));
    if (indices && spatial == 1)
      indices = dropLiftedDim(ctx, indices);
    if (!indices)
      return failure();
    ctx.setOutput(1, indices);
  }
  if (spatial == 1)
    result = dropLiftedDim(ctx, result);
  return setResult(result);
}

/// RoiAlign (16): for each region (x1, y1, x2, y2 scaled by spatial_scale,
/// shifted by half a pixel in the half_pixel mode) of its batch's image, an
/// output_height x output_width grid of bins, each the mean (or the max) of
/// sampling_ratio^2 bilinear samples (adaptively ceil(bin size) per axis
/// when sampling_ratio is 0), as onnxruntime computes them: samples more
/// than a pixel outside the image are 0, the max mode takes the largest
/// weighted corner. Loops over tensors: regions, channels, bins, samples.
LogicalResult importRoiAlign(ImportContext &ctx) {
  Value x = ctx.input(0), rois = ctx.input(1), batchIndices = ctx.input(2);
  if (!x || !rois || !batchIndices || failed(ctx.requireFloat(x, "input X")) ||
      failed(ctx.requireFloat(rois, "input rois")))
    return failure();
  auto &b = ctx.builder;
  Location loc = ctx.loc();
  auto xType = ImportContext::typeOf(x), rType = ImportContext::typeOf(rois),
       iType = ImportContext::typeOf(batchIndices);
  if (!xType.hasStaticShape() || xType.getRank() != 4 ||
      !rType.hasStaticShape() || rType.getRank() != 2 ||
      rType.getDimSize(1) != 4 || !iType.hasStaticShape() ||
      iType.getRank() != 1 || iType.getDimSize(0) != rType.getDimSize(0) ||
      !isa<IntegerType>(iType.getElementType()))
    return ctx.error("X must be [N, C, H, W], rois [R, 4] and batch_indices "
                     "[R] integers, of static shapes");
  Type f = xType.getElementType();
  if (rType.getElementType() != f)
    return ctx.error("X and rois must have one element type");
  int64_t n = xType.getDimSize(0), channels = xType.getDimSize(1),
          height = xType.getDimSize(2), width = xType.getDimSize(3),
          regions = rType.getDimSize(0);
  int64_t outH = ctx.intAttr("output_height", 1),
          outW = ctx.intAttr("output_width", 1),
          ratio = ctx.intAttr("sampling_ratio", 0);
  std::string mode = ctx.stringAttr("mode", "avg");
  std::string coordinates =
      ctx.stringAttr("coordinate_transformation_mode",
                     ctx.opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (outH < 1 || outW < 1 || outH > 4096 || outW > 4096 || ratio < 0 ||
      ratio > 64)
    return ctx.error("output_height and output_width must be in [1, 4096], "
                     "sampling_ratio in [0, 64]");
  if (mode != "avg" && mode != "max")
    return ctx.error("mode must be avg or max");
  if (coordinates != "half_pixel" && coordinates != "output_half_pixel")
    return ctx.error("coordinate_transformation_mode must be half_pixel or "
                     "output_half_pixel");
  // Each factor is at most 2^28 (static shapes) or 2^12: no overflow.
  if (regions * channels > kMaxTensorElements ||
      regions * channels * outH * outW > kMaxTensorElements)
    return ctx.error("the output would have more than " +
                     Twine(kMaxTensorElements) + " elements");
  bool aligned = coordinates == "half_pixel";
  double scale = ctx.floatAttr("spatial_scale", 1.0f);
  // A batch index outside [0, N) fails the call; the loops clamp it.
  graph::CheckIndicesOp::create(
      b, loc, batchIndices, 0, n,
      ctx.runtimeMessage("input '" + ctx.node->input(2) +
                         "' holds a batch index outside [0, " + Twine(n) + ")"),
      IntegerAttr());

  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto fc = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(f, v));
  };
  auto fadd = [&](Value p, Value q) -> Value {
    return arith::AddFOp::create(b, loc, p, q);
  };
  auto fsub = [&](Value p, Value q) -> Value {
    return arith::SubFOp::create(b, loc, p, q);
  };
  auto fmul = [&](Value p, Value q) -> Value {
    return arith::MulFOp::create(b, loc, p, q);
  };
  auto fdiv = [&](Value p, Value q) -> Value {
    return arith::DivFOp::create(b, loc, p, q);
  };
  auto toF = [&](Value i) -> Value {
    return arith::SIToFPOp::create(
        b, loc, f, arith::IndexCastOp::create(b, loc, b.getI64Type(), i));
  };
  auto resultType = RankedTensorType::get({regions, channels, outH, outW}, f);
  Value result = tensor::EmptyOp::create(b, loc, resultType.getShape(), f);
  Value zero = idx(0), one = idx(1);
  auto regionLoop =
      scf::ForOp::create(b, loc, zero, idx(regions), one, ValueRange{result});
  {
    OpBuilder::InsertionGuard g1(b);
    b.setInsertionPointToStart(regionLoop.getBody());
    Value r = regionLoop.getInductionVar();
    auto coord = [&](int64_t k) -> Value {
      Value v = tensor::ExtractOp::create(b, loc, rois, ValueRange{r, idx(k)});
      return fsub(fmul(v, fc(scale)), fc(aligned ? 0.5 : 0.0));
    };
    Value startW = coord(0), startH = coord(1);
    Value roiW = fsub(coord(2), startW), roiH = fsub(coord(3), startH);
    if (!aligned) {
      roiW = arith::MaximumFOp::create(b, loc, roiW, fc(1.0));
      roiH = arith::MaximumFOp::create(b, loc, roiH, fc(1.0));
    }
    Value binH = fdiv(roiH, fc(outH)), binW = fdiv(roiW, fc(outW));
    auto grid = [&](Value bin) -> Value {
      if (ratio > 0)
        return idx(ratio);
      // ceil(bin size), at least 1 and at most 64 samples per axis.
      Value c = math::CeilOp::create(b, loc, bin);
      c = arith::MaximumFOp::create(b, loc, c, fc(1.0));
      c = arith::MinimumFOp::create(b, loc, c, fc(64.0));
      return arith::IndexCastOp::create(
          b, loc, b.getIndexType(),
          arith::FPToSIOp::create(b, loc, b.getI64Type(), c));
    };
    Value gridH = grid(binH), gridW = grid(binW);
    Value count = fmul(toF(gridH), toF(gridW));
    Value image = tensor::ExtractOp::create(b, loc, batchIndices, r);
    Value imageIndex = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        image.getType().isInteger(64)
            ? image
            : arith::ExtSIOp::create(b, loc, b.getI64Type(), image)
                  .getResult());
    imageIndex = arith::MinSIOp::create(
        b, loc, arith::MaxSIOp::create(b, loc, imageIndex, zero), idx(n - 1));
    // Nested loops over channel, bin row and bin column.
    SmallVector<scf::ForOp> loops;
    Value carried = regionLoop.getRegionIterArgs()[0];
    for (int64_t size : {channels, outH, outW}) {
      auto loop =
          scf::ForOp::create(b, loc, zero, idx(size), one, ValueRange{carried});
      b.setInsertionPointToStart(loop.getBody());
      carried = loop.getRegionIterArgs()[0];
      loops.push_back(loop);
    }
    Value c = loops[0].getInductionVar(), ph = loops[1].getInductionVar(),
          pw = loops[2].getInductionVar();
    Value pixel = [&]() -> Value {
      // The samples' sum, or their max.
      Value init = mode == "avg" ? fc(0.0)
                                 : fc(-std::numeric_limits<double>::infinity());
      auto rowsLoop =
          scf::ForOp::create(b, loc, zero, gridH, one, ValueRange{init});
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(rowsLoop.getBody());
      Value iy = rowsLoop.getInductionVar();
      auto colsLoop =
          scf::ForOp::create(b, loc, zero, gridW, one,
                             ValueRange{rowsLoop.getRegionIterArgs()[0]});
      b.setInsertionPointToStart(colsLoop.getBody());
      Value ix = colsLoop.getInductionVar();
      // y = start + ph * bin + (iy + 0.5) * bin / grid.
      auto samplePos = [&](Value start, Value p, Value bin, Value i,
                           Value gridSize) {
        return fadd(fadd(start, fmul(toF(p), bin)),
                    fdiv(fmul(fadd(toF(i), fc(0.5)), bin), toF(gridSize)));
      };
      Value y = samplePos(startH, ph, binH, iy, gridH);
      Value xPos = samplePos(startW, pw, binW, ix, gridW);
      auto cmp = [&](arith::CmpFPredicate p, Value a, Value c2) -> Value {
        return arith::CmpFOp::create(b, loc, p, a, c2);
      };
      Value outside = arith::OrIOp::create(
          b, loc,
          arith::OrIOp::create(b, loc,
                               cmp(arith::CmpFPredicate::OLT, y, fc(-1.0)),
                               cmp(arith::CmpFPredicate::OGT, y, fc(height))),
          arith::OrIOp::create(
              b, loc, cmp(arith::CmpFPredicate::OLT, xPos, fc(-1.0)),
              cmp(arith::CmpFPredicate::OGT, xPos, fc(width))));
      // The low and high neighbours along one axis, and the position
      // between them.
      auto axisCorners = [&](Value pos, int64_t size) {
        pos = arith::MaximumFOp::create(b, loc, pos, fc(0.0));
        Value low = arith::FPToSIOp::create(b, loc, b.getI64Type(), pos);
        Value last = arith::ConstantIntOp::create(b, loc, size - 1, 64);
        Value atEnd =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, low, last);
        low = arith::SelectOp::create(b, loc, atEnd, last, low);
        Value high = arith::SelectOp::create(
            b, loc, atEnd, last,
            arith::AddIOp::create(b, loc, low,
                                  arith::ConstantIntOp::create(b, loc, 1, 64)));
        Value lowF = arith::SIToFPOp::create(b, loc, f, low);
        pos = arith::SelectOp::create(b, loc, atEnd, lowF, pos);
        Value frac = fsub(pos, lowF);
        auto asIdx = [&](Value v) -> Value {
          return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
        };
        return std::make_tuple(asIdx(low), asIdx(high), frac);
      };
      auto [yLow, yHigh, ly] = axisCorners(y, height);
      auto [xLow, xHigh, lx] = axisCorners(xPos, width);
      Value hy = fsub(fc(1.0), ly), hx = fsub(fc(1.0), lx);
      auto at = [&](Value yy, Value xx) -> Value {
        return tensor::ExtractOp::create(b, loc, x,
                                         ValueRange{imageIndex, c, yy, xx});
      };
      Value w1 = fmul(hy, hx), w2 = fmul(hy, lx), w3 = fmul(ly, hx),
            w4 = fmul(ly, lx);
      Value t1 = fmul(w1, at(yLow, xLow)), t2 = fmul(w2, at(yLow, xHigh)),
            t3 = fmul(w3, at(yHigh, xLow)), t4 = fmul(w4, at(yHigh, xHigh));
      Value acc = colsLoop.getRegionIterArgs()[0];
      Value next;
      if (mode == "avg") {
        Value sample = fadd(fadd(t1, t2), fadd(t3, t4));
        sample = arith::SelectOp::create(b, loc, outside, fc(0.0), sample);
        next = fadd(acc, sample);
      } else {
        Value sample = arith::MaximumFOp::create(
            b, loc, arith::MaximumFOp::create(b, loc, t1, t2),
            arith::MaximumFOp::create(b, loc, t3, t4));
        sample = arith::SelectOp::create(b, loc, outside, fc(0.0), sample);
        next = arith::MaximumFOp::create(b, loc, acc, sample);
      }
      scf::YieldOp::create(b, loc, next);
      b.setInsertionPointAfter(colsLoop);
      scf::YieldOp::create(b, loc, colsLoop.getResult(0));
      b.setInsertionPointAfter(rowsLoop);
      return rowsLoop.getResult(0);
    }();
    if (mode == "avg")
      pixel = fdiv(pixel, count);
    Value updated = tensor::InsertOp::create(b, loc, pixel, carried,
                                             ValueRange{r, c, ph, pw});
    // Close the loops inside out.
    scf::YieldOp::create(b, loc, updated);
    for (int k = 1; k >= 0; --k) {
      b.setInsertionPointAfter(loops[k + 1]);
      scf::YieldOp::create(b, loc, loops[k + 1].getResult(0));
    }
    b.setInsertionPointAfter(loops[0]);
    scf::YieldOp::create(b, loc, loops[0].getResult(0));
  }
  Value y = regionLoop.getResult(0);
  ctx.setOutput(0, y);
  return success();
}

LogicalResult importGlobalAveragePool(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  Value result = ctx.build<graph::GlobalAvgPoolOp>(x);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// BatchNormalization with training_mode=1, composed of graph ops (so that
/// it differentiates and fuses like the rest): batch statistics over every
/// dim but the channels, biased variance for normalizing; running statistics
/// momentum * running + (1 - momentum) * batch. The batch variance blended
/// into the running one is the biased one in ONNX's definition, the unbiased
/// one in PyTorch (whose exports these are); a training step follows
/// PyTorch, so that it reproduces the framework the model comes from.
LogicalResult importTrainingBatchNorm(ImportContext &ctx, Value x, Value scale,
                                      Value bias, Value mean, Value var) {
  auto &b = ctx.builder;
  auto type = ImportContext::typeOf(x);
  Type elem = type.getElementType();
  float eps = ctx.floatAttr("epsilon", 1e-5f);
  float momentum = ctx.floatAttr("momentum", 0.9f);
  int64_t rank = type.getRank(), channels = type.getDimSize(1), count = 1;
  SmallVector<int64_t> axes, perChannel(rank, 1);
  perChannel[1] = channels;
  for (int64_t d = 0; d < rank; ++d)
    if (d != 1) {
      axes.push_back(d);
      count *= type.getDimSize(d);
    }
  auto reduceMean = [&](Value v) {
    return ctx.build<graph::ReduceOp>(v, b.getStringAttr("mean"),
                                      b.getDenseI64ArrayAttr(axes),
                                      b.getBoolAttr(true));
  };
  auto reshape = [&](Value v, ArrayRef<int64_t> shape) {
    return ctx.build<graph::ReshapeOp>(v, b.getDenseI64ArrayAttr(shape));
  };
  Value batchMean = reduceMean(x);
  Value centered = batchMean ? ctx.build<graph::SubOp>(x, batchMean) : Value();
  Value square = centered ? ctx.build<graph::MulOp>(centered, centered) : Value();
  Value batchVar = square ? reduceMean(square) : Value();
  Value shifted = batchVar ? ctx.build<graph::AddOp>(batchVar, ctx.scalar(elem, eps)) : Value();
  Value inv = shifted ? ctx.unary(ctx.unary(shifted, "sqrt"), "reciprocal") : Value();
  Value normalized = inv ? ctx.build<graph::MulOp>(centered, inv) : Value();
  Value s = normalized ? reshape(scale, perChannel) : Value();
  Value scaled = s ? ctx.build<graph::MulOp>(normalized, s) : Value();
  Value bb = scaled ? reshape(bias, perChannel) : Value();
  Value y = bb ? ctx.build<graph::AddOp>(scaled, bb) : Value();
  if (!y)
    return failure();
  // A training step normalizes with the batch; the trained model's inference
  // with the running statistics, as PyTorch's model.eval() does.
  if (ctx.training) {
    Value eval = ctx.build<graph::BatchNormOp>(x, scale, bias, mean, var,
                                               b.getF32FloatAttr(eps));
    y = eval ? ctx.build<graph::ModeSelectOp>(y, eval) : Value();
    if (!y)
      return failure();
  }
  ctx.setOutput(0, y);
  // The running statistics, when asked for (as outputs or as training state).
  auto blend = [&](Value running, Value batch) {
    Value old = ctx.build<graph::MulOp>(running, ctx.scalar(elem, momentum));
    Value now = ctx.build<graph::MulOp>(reshape(batch, {channels}),
                                        ctx.scalar(elem, 1.0 - momentum));
    return ctx.build<graph::AddOp>(old, now);
  };
  auto wanted = [&](int i) {
    return (ctx.node->output_size() > i && !ctx.node->output(i).empty()) ||
           ctx.stateBuffers.count(ctx.node->input(2 + i));
  };
  if (wanted(1)) {
    Value runningMean = blend(mean, batchMean);
    ctx.setOutput(1, runningMean);
    if (ctx.stateBuffers.count(ctx.node->input(3)))
      ctx.bufferUpdates[ctx.node->input(3)] = runningMean;
  }
  if (wanted(2)) {
    double unbiased =
        ctx.training && count > 1 ? double(count) / double(count - 1) : 1.0;
    Value runningVar = blend(
        var, ctx.build<graph::MulOp>(batchVar, ctx.scalar(elem, unbiased)));
    ctx.setOutput(2, runningVar);
    if (ctx.stateBuffers.count(ctx.node->input(4)))
      ctx.bufferUpdates[ctx.node->input(4)] = runningVar;
  }
  return success();
}

LogicalResult importBatchNormalization(ImportContext &ctx) {
  bool training = ctx.intAttr("training_mode", 0) != 0;
  if (!training)
    for (int i = 1; i < ctx.node->output_size(); ++i)
      if (!ctx.node->output(i).empty())
        return ctx.error("the running mean/variance outputs are only "
                         "defined with training_mode=1");
  if (ctx.opset < 9 && ctx.intAttr("spatial", 1) != 1)
    return ctx.error("spatial=0 is not supported");
  Value x = ctx.input(0);
  Value scale = ctx.input(1), bias = ctx.input(2), mean = ctx.input(3),
        var = ctx.input(4);
  if (!x || !scale || !bias || !mean || !var ||
      failed(ctx.requireFloat(x, "input X")))
    return failure();
  // Statistics are per channel: dim 1.
  if (ImportContext::typeOf(x).getRank() < 2)
    return ctx.error("input X must have a batch and a channel dim");
  if (training)
    return importTrainingBatchNorm(ctx, x, scale, bias, mean, var);
  float eps = ctx.floatAttr("epsilon", 1e-5f);
  Value result = ctx.build<graph::BatchNormOp>(
      x, scale, bias, mean, var, ctx.builder.getF32FloatAttr(eps));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// Dropout in training mode: x * mask, the mask an inverted-dropout draw of
/// graph.dropout_mask (a new one each training step, the same for the same
/// seed and step).
LogicalResult importTrainingDropout(ImportContext &ctx, Value x) {
  auto &b = ctx.builder;
  double ratio = 0.5;
  if (ctx.opset >= 12) {
    if (ctx.node->input_size() > 1 && !ctx.node->input(1).empty()) {
      auto r = ctx.constantFloat(1);
      if (!r)
        return failure();
      ratio = *r;
    }
  } else {
    ratio = ctx.floatAttr("ratio", 0.5f);
  }
  if (!(ratio >= 0.0 && ratio < 1.0))
    return ctx.error("ratio " + std::to_string(ratio) + " is not in [0, 1)");
  if (failed(ctx.requireFloat(x, "data")) ||
      !ImportContext::typeOf(x).getElementType().isF32())
    return ctx.error("training-mode dropout supports float32 data");
  auto type = ImportContext::typeOf(x);
  Value mask = ctx.build<graph::DropoutMaskOp>(
      Value(), b.getDenseI64ArrayAttr(type.getShape()),
      b.getF32FloatAttr(static_cast<float>(ratio)),
      // Without a seed (PyTorch exports none) each node draws its own masks:
      // the seed comes from its position in the graph.
      b.getI64IntegerAttr(ctx.attr("seed")
                              ? ctx.intAttr("seed", 0)
                              : 0x5EED0000 + int64_t(ctx.nodeIndex) * 7919));
  Value y = mask ? ctx.build<graph::MulOp>(x, mask) : Value();
  if (!y)
    return failure();
  ctx.setOutput(0, y);
  if (ctx.node->output_size() > 1 && !ctx.node->output(1).empty())
    ctx.setOutput(1, ctx.build<graph::GreaterOp>(
                         mask, ctx.scalar(b.getF32Type(), 0.0)));
  return success();
}

LogicalResult importDropout(ImportContext &ctx) {
  bool training = false;
  if (ctx.opset >= 12 && ctx.node->input_size() > 2 &&
      !ctx.node->input(2).empty()) {
    auto mode = ctx.constantInts(2);
    if (!mode)
      return failure();
    training = !mode->empty() && (*mode)[0] != 0;
  }
  Value x = ctx.input(0);
  if (!x)
    return failure();
  if (training)
    return importTrainingDropout(ctx, x);
  ctx.setOutput(0, x);
  // In inference nothing is dropped: the mask is all true.
  if (ctx.node->output_size() > 1 && !ctx.node->output(1).empty()) {
    auto maskType = ImportContext::typeOf(x).clone(ctx.builder.getI1Type());
    ctx.setOutput(1, arith::ConstantOp::create(
                         ctx.builder, ctx.loc(),
                         DenseElementsAttr::get(maskType, true)));
  }
  return success();
}

/// Reduces over every dim after the first two, keeping them as size 1.
Value reduceSpatial(ImportContext &ctx, Value x, StringRef kind) {
  auto &b = ctx.builder;
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < ImportContext::typeOf(x).getRank(); ++d)
    axes.push_back(d);
  return ctx.build<graph::ReduceOp>(x, b.getStringAttr(kind),
                                    b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true));
}

LogicalResult importGlobalMaxPool(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  if (ImportContext::typeOf(x).getRank() < 3)
    return ctx.error("input must have rank >= 3");
  Value result = reduceSpatial(ctx, x, "max");
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// (x - mean) / sqrt(mean((x - mean)^2) + eps) over `axes`.
Value normalizeOver(ImportContext &ctx, Value x, ArrayRef<int64_t> axes,
                    double epsilon) {
  auto &b = ctx.builder;
  Type elem = ImportContext::typeOf(x).getElementType();
  auto mean = [&](Value v) {
    return ctx.build<graph::ReduceOp>(v, b.getStringAttr("mean"),
                                      b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true));
  };
  Value mu = mean(x);
  Value centered = mu ? ctx.build<graph::SubOp>(x, mu) : Value();
  Value var = centered ? mean(ctx.build<graph::MulOp>(centered, centered)) : Value();
  Value shifted = var ? ctx.build<graph::AddOp>(var, ctx.scalar(elem, epsilon)) : Value();
  Value std = ctx.unary(shifted, "sqrt");
  return std ? ctx.build<graph::DivOp>(centered, std) : Value();
}

LogicalResult importInstanceNormalization(ImportContext &ctx) {
  Value x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2);
  if (!x || !scale || !bias || failed(ctx.requireFloat(x, "input")))
    return failure();
  auto t = ImportContext::typeOf(x);
  if (t.getRank() < 3)
    return ctx.error("input must have rank >= 3");
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < t.getRank(); ++d)
    axes.push_back(d);
  Value y = normalizeOver(ctx, x, axes, ctx.floatAttr("epsilon", 1e-5f));
  // scale and bias are per channel: [C] -> [C, 1, ...].
  SmallVector<int64_t> channel = {t.getDimSize(1)};
  channel.append(t.getRank() - 2, 1);
  auto &b = ctx.builder;
  Value s = ctx.build<graph::ReshapeOp>(scale, b.getDenseI64ArrayAttr(channel));
  Value c = ctx.build<graph::ReshapeOp>(bias, b.getDenseI64ArrayAttr(channel));
  y = y && s ? ctx.build<graph::MulOp>(y, s) : Value();
  y = y && c ? ctx.build<graph::AddOp>(y, c) : Value();
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// GroupNormalization: X [N, C, ...] normalized over each group of C / G
/// channels and the spatial dims, then scaled and shifted per group
/// (opset 18) or per channel (opset 21).
LogicalResult importGroupNormalization(ImportContext &ctx) {
  Value x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2);
  if (!x || !scale || !bias || failed(ctx.requireFloat(x, "input")))
    return failure();
  auto t = ImportContext::typeOf(x);
  int64_t groups = ctx.intAttr("num_groups", 0);
  if (t.getRank() < 2)
    return ctx.error("input must have rank >= 2");
  int64_t channels = t.getDimSize(1);
  if (groups < 1 || channels % groups != 0)
    return ctx.error("num_groups (" + Twine(groups) +
                     ") must divide the channels (" + Twine(channels) + ")");
  int64_t perAffine = ctx.opset >= 21 ? channels : groups;
  for (Value v : {scale, bias})
    if (ImportContext::typeOf(v).getNumElements() != perAffine)
      return ctx.error("scale and bias need " + Twine(perAffine) +
                       " values (one per " +
                       (ctx.opset >= 21 ? "channel" : "group") + ")");
  auto &b = ctx.builder;
  // The elements of one group: its channels times the spatial dims (not
  // a division by the batch, which may be 0).
  int64_t rest = channels / groups;
  for (int64_t d = 2; d < t.getRank(); ++d)
    rest *= t.getDimSize(d);
  Value grouped = ctx.build<graph::ReshapeOp>(
      x, b.getDenseI64ArrayAttr({t.getDimSize(0), groups, rest}));
  Value y = grouped ? normalizeOver(ctx, grouped, {2},
                                    ctx.floatAttr("epsilon", 1e-5f))
                    : Value();
  auto affine = [&](Value v, ArrayRef<int64_t> shape) -> Value {
    if (!v)
      return {};
    Value s = ctx.build<graph::ReshapeOp>(scale, b.getDenseI64ArrayAttr(shape));
    Value c = ctx.build<graph::ReshapeOp>(bias, b.getDenseI64ArrayAttr(shape));
    v = s ? ctx.build<graph::MulOp>(v, s) : Value();
    return v && c ? ctx.build<graph::AddOp>(v, c) : Value();
  };
  if (ctx.opset < 21)
    y = affine(y, {groups, 1});
  y = y ? ctx.build<graph::ReshapeOp>(y, b.getDenseI64ArrayAttr(t.getShape()))
        : Value();
  if (ctx.opset >= 21) {
    SmallVector<int64_t> channel = {channels};
    channel.append(t.getRank() - 2, 1);
    y = affine(y, channel);
  }
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importMeanVarianceNormalization(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input")))
    return failure();
  int64_t rank = ImportContext::typeOf(x).getRank();
  SmallVector<int64_t> axes = ctx.intsAttr("axes");
  if (!ctx.attr("axes"))
    axes = {0, 2, 3};
  for (int64_t &a : axes) {
    auto axis = ctx.normalizeAxis(a, rank);
    if (!axis)
      return failure();
    a = *axis;
  }
  llvm::sort(axes);
  // ONNX's function body adds 1e-9 to the variance.
  Value y = normalizeOver(ctx, x, axes, 1e-9);
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

/// LRN: x / (bias + alpha / size * sum of x^2 over `size` neighbouring
/// channels)^beta. The channel window sum is an average pool over a
/// [N, 1, C, H*W] view (padding counted), times size.
LogicalResult importLRN(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto t = ImportContext::typeOf(x);
  if (t.getRank() < 3)
    return ctx.error("input must have rank >= 3");
  int64_t size = ctx.intAttr("size", 0);
  if (size < 1)
    return ctx.error("attribute size must be >= 1");
  double alpha = ctx.floatAttr("alpha", 1e-4f), beta = ctx.floatAttr("beta", 0.75f),
         bias = ctx.floatAttr("bias", 1.0f);
  auto &b = ctx.builder;
  Type elem = t.getElementType();
  int64_t spatial = t.getNumElements() / (t.getDimSize(0) * t.getDimSize(1));
  Value sq = ctx.build<graph::MulOp>(x, x);
  Value view = sq ? ctx.build<graph::ReshapeOp>(
                        sq, b.getDenseI64ArrayAttr({t.getDimSize(0), 1, t.getDimSize(1), spatial}))
                  : Value();
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  Value avg = view ? ctx.build<graph::AvgPool2dOp>(
                         view, b.getDenseI64ArrayAttr({size, 1}), b.getDenseI64ArrayAttr({1, 1}),
                         b.getDenseI64ArrayAttr({before, 0, after, 0}),
                         b.getDenseI64ArrayAttr({1, 1}), b.getBoolAttr(false), b.getBoolAttr(true))
                   : Value();
  avg = avg ? ctx.build<graph::ReshapeOp>(avg, b.getDenseI64ArrayAttr(t.getShape())) : avg;
  // avg = sum / size, so alpha / size * sum = alpha * avg.
  Value scaled = avg ? ctx.build<graph::MulOp>(avg, ctx.scalar(elem, alpha)) : Value();
  Value base = scaled ? ctx.build<graph::AddOp>(scaled, ctx.scalar(elem, bias)) : Value();
  Value denom = base ? ctx.build<graph::PowOp>(base, ctx.scalar(elem, beta)) : Value();
  Value y = denom ? ctx.build<graph::DivOp>(x, denom) : Value();
  ctx.setOutput(0, y);
  return success(static_cast<bool>(y));
}

LogicalResult importGridSample(ImportContext &ctx) {
  Value x = ctx.input(0), grid = ctx.input(1);
  if (!x || !grid || failed(ctx.requireFloat(x, "input X")))
    return failure();
  auto &b = ctx.builder;
  std::string mode = ctx.stringAttr("mode", "bilinear");
  if (mode == "linear") // opset 20's spelling
    mode = "bilinear";
  if (mode == "cubic")
    mode = "bicubic";
  Value result = ctx.build<graph::GridSampleOp>(
      x, grid, b.getStringAttr(mode),
      b.getStringAttr(ctx.stringAttr("padding_mode", "zeros")),
      b.getBoolAttr(ctx.intAttr("align_corners", 0) != 0));
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

} // namespace

void addNNImporters(std::vector<OpImporter> &table) {
  table.push_back({"GridSample", "NN", 16, "2-D; bilinear, nearest, bicubic; zeros, "
                   "border, reflection", importGridSample});
  table.push_back({"GlobalMaxPool", "NN", 1, "", importGlobalMaxPool});
  table.push_back({"InstanceNormalization", "NN", 1, "", importInstanceNormalization});
  table.push_back({"GroupNormalization", "NN", 18,
                   "scale and bias per group (18) or per channel (21)",
                   importGroupNormalization});
  table.push_back({"MeanVarianceNormalization", "NN", 9, "", importMeanVarianceNormalization});
  table.push_back({"LRN", "NN", 1, "", importLRN});
  table.push_back({"Conv", "NN", 1, "1-D, 2-D and 3-D (as 2-D convs per depth tap), groups, auto_pad",
                   importConv});
  table.push_back({"ConvTranspose", "NN", 1, "1-D, 2-D and 3-D, groups, "
                   "output_padding, output_shape, auto_pad", importConvTranspose});
  table.push_back({"MaxPool", "NN", 1,
                   "1-D, 2-D and 3-D (no ceil_mode), ceil_mode, dilations; "
                   "the Indices output (1-D and 2-D, storage_order); int8 "
                   "and uint8 (12)",
                   importPool<true>});
  table.push_back({"AveragePool", "NN", 1, "1-D, 2-D and 3-D (no ceil_mode), ceil_mode, "
                   "count_include_pad", importPool<false>});
  table.push_back({"GlobalAveragePool", "NN", 1, "", importGlobalAveragePool});
  table.push_back({"RoiAlign", "NN", 10,
                   "avg and max, half_pixel and output_half_pixel, fixed or "
                   "adaptive sampling; batch indices checked at run time",
                   importRoiAlign});
  table.push_back({"BatchNormalization", "NN", 1,
                   "inference; training_mode=1 (batch statistics, running "
                   "statistics updated)",
                   importBatchNormalization});
  table.push_back({"Dropout", "NN", 1,
                   "identity; training_mode=1: seeded counter-based masks",
                   importDropout});
}

} // namespace dlc::onnx_frontend
