//===- ResizeToLinalg.cpp - nearest, linear and cubic resizing ------------===//
//
// Resize: one generic over the output: per resized dim, the output coordinate
// maps to an input coordinate, which gives 1 (nearest), 2 (linear) or 4
// (cubic) taps with weights; the result sums the weighted taps over all
// combinations. GridSample: the same with positions read from a grid.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
namespace graph = dlc::graph;

namespace {

/// The input taps of one dim for one output element.
struct Taps {
  SmallVector<Value> indices; ///< index-typed, clamped into the input
  SmallVector<Value> weights; ///< f32 (empty for a single tap)
};

/// How one resized dim maps output to input coordinates: f32 values
/// computed once, before the loops (constants for a static resize). The
/// coefficients are computed in f64 from the f32 scale, then rounded, as
/// ONNX's reference computes them.
struct AxisMapping {
  int64_t in;     ///< the input's size
  Value scale;    ///< f32 output / input
  Value factor;   ///< align_corners: (in - 1) / (in * scale - 1), or 0
  Value offset;   ///< half_pixel_symmetric: where the centre moved
  Value outIsOne; ///< i1: pytorch_half_pixel maps a length-1 output to 0
};

class ResizeBuilder {
public:
  ResizeBuilder(OpBuilder &b, Location l, const dlc::ResizeMode &mode)
      : b(b), l(l), mode(mode) {}

  Value c(double v) { return dlc::floatConstant(b, l, b.getF32Type(), v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, l, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, l, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, l, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, l, x, y); }

  /// The mapping of a dim of `in` elements resized to `out` (i64) by
  /// `scale` (f64 holding an f32), built where `b` stands (folded to
  /// constants when those are).
  AxisMapping mapping(int64_t in, Value scale, Value out) {
    Type f32 = b.getF32Type(), f64 = b.getF64Type();
    auto f64c = [&](double v) { return dlc::floatConstant(b, l, f64, v); };
    auto fold = [&](auto op, Value x, Value y) {
      return b.createOrFold<decltype(op)>(l, x, y);
    };
    Value outF = b.createOrFold<arith::SIToFPOp>(l, f64, out);
    Value length = fold(arith::MulFOp(), f64c(double(in)), scale);
    Value longer = b.createOrFold<arith::CmpFOp>(l, arith::CmpFPredicate::OGT,
                                                 length, f64c(1));
    Value factor = b.createOrFold<arith::SelectOp>(
        l, longer,
        fold(arith::DivFOp(), f64c(double(in - 1)),
             fold(arith::SubFOp(), length, f64c(1))),
        f64c(0));
    Value adjustment = fold(arith::DivFOp(), outF, length);
    Value offset = fold(arith::MulFOp(), f64c(double(in) / 2),
                        fold(arith::SubFOp(), f64c(1), adjustment));
    auto narrow = [&](Value v) {
      return b.createOrFold<arith::TruncFOp>(l, f32, v);
    };
    Value one = arith::ConstantIntOp::create(b, l, 1, 64);
    return {
        in, narrow(scale), narrow(factor), narrow(offset),
        b.createOrFold<arith::CmpIOp>(l, arith::CmpIPredicate::eq, out, one)};
  }

  /// The input coordinate of output coordinate `x` along a dim.
  Value sourceCoordinate(Value x, const AxisMapping &m) {
    StringRef coordinates = mode.coordinates;
    if (coordinates == "asymmetric")
      return div(x, m.scale);
    if (coordinates == "tf_half_pixel_for_nn")
      return div(add(x, c(0.5)), m.scale);
    if (coordinates == "align_corners") // ONNX: the unrounded length
      return mul(x, m.factor);
    Value halfPixel = sub(div(add(x, c(0.5)), m.scale), c(0.5));
    if (coordinates == "pytorch_half_pixel")
      return arith::SelectOp::create(b, l, m.outIsOne, c(0), halfPixel);
    if (coordinates == "half_pixel_symmetric")
      return add(m.offset, halfPixel);
    return halfPixel;
  }

  /// An integer index (from a float holding an integer) clamped into
  /// [0, size); `inside` says whether it was in range before clamping.
  Value clampIndex(Value f, int64_t size, Value *inside = nullptr) {
    Value i = arith::FPToSIOp::create(b, l, b.getI64Type(), f);
    Value zero = arith::ConstantIntOp::create(b, l, 0, 64);
    Value last = arith::ConstantIntOp::create(b, l, size - 1, 64);
    if (inside) {
      Value geZero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, i, zero);
      Value leLast = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, i, last);
      *inside = arith::AndIOp::create(b, l, geZero, leLast);
    }
    i = arith::MaxSIOp::create(b, l, i, zero);
    i = arith::MinSIOp::create(b, l, i, last);
    return arith::IndexCastOp::create(b, l, b.getIndexType(), i);
  }

  Taps taps(Value outIndex, const AxisMapping &m) {
    Value xo = arith::SIToFPOp::create(
        b, l, b.getF32Type(),
        arith::IndexCastOp::create(b, l, b.getI64Type(), outIndex));
    Value x = sourceCoordinate(xo, m);
    int64_t in = m.in;
    Taps t;
    if (mode.mode == "nearest") {
      StringRef rounding = mode.nearest;
      Value r;
      if (rounding == "floor")
        r = math::FloorOp::create(b, l, x);
      else if (rounding == "ceil")
        r = math::CeilOp::create(b, l, x);
      else if (rounding == "round_prefer_ceil")
        r = math::FloorOp::create(b, l, add(x, c(0.5)));
      else // round_prefer_floor: halves go down
        r = math::CeilOp::create(b, l, sub(x, c(0.5)));
      t.indices.push_back(clampIndex(r, in));
      return t;
    }
    Value x0 = math::FloorOp::create(b, l, x);
    Value frac = sub(x, x0);
    if (mode.mode == "linear") {
      t.indices = {clampIndex(x0, in), clampIndex(add(x0, c(1)), in)};
      t.weights = {sub(c(1), frac), frac};
      return t;
    }
    // Cubic convolution with coefficient a (Keys), taps x0-1 .. x0+2.
    double a = mode.cubicA;
    auto kernel = [&](Value d) { // |d| in [0, 2)
      Value d2 = mul(d, d), d3 = mul(d2, d);
      Value near = add(sub(mul(c(a + 2), d3), mul(c(a + 3), d2)), c(1));
      // a d^3 - 5a d^2 + 8a d - 4a
      Value far = add(add(mul(c(a), d3), mul(c(-5 * a), d2)),
                      sub(mul(c(8 * a), d), c(4 * a)));
      Value isNear = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, d, c(1));
      return arith::SelectOp::create(b, l, isNear, near, far).getResult();
    };
    SmallVector<Value> inside(4);
    for (int k = -1; k <= 2; ++k) {
      t.indices.push_back(clampIndex(add(x0, c(k)), in, &inside[k + 1]));
      Value distance = math::AbsFOp::create(b, l, sub(frac, c(k)));
      t.weights.push_back(kernel(distance));
    }
    if (mode.excludeOutside) {
      Value sum = c(0);
      for (int k = 0; k < 4; ++k) {
        t.weights[k] = arith::SelectOp::create(b, l, inside[k], t.weights[k], c(0));
        sum = add(sum, t.weights[k]);
      }
      for (int k = 0; k < 4; ++k)
        t.weights[k] = div(t.weights[k], sum);
    }
    return t;
  }

private:
  OpBuilder &b;
  Location l;
  const dlc::ResizeMode &mode;
};

struct ResizeToLinalg : OpConversionPattern<graph::ResizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ResizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    auto type = op.getType();
    if (!inType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "f32 only");
    ArrayRef<float> scales = op.getScales();
    // Dims that keep their size and scale 1 read straight through, unless
    // tf_half_pixel_for_nn's half-pixel shift moves them (the mapping of
    // every other mode is the identity then; the run-time form maps every
    // dim, as ONNX's definition does).
    dlc::ResizeMode mode = dlc::ResizeMode::of(op);
    bool shifts =
        mode.coordinates == "tf_half_pixel_for_nn" &&
        !(mode.mode == "nearest" &&
          (mode.nearest == "floor" || mode.nearest == "round_prefer_floor"));
    SmallVector<Value> scaleValues, outSizes;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      outSizes.push_back(
          arith::ConstantIntOp::create(rewriter, loc, type.getDimSize(d), 64));
      bool same = inType.getDimSize(d) == type.getDimSize(d) &&
                  scales[d] == 1.0f && !shifts;
      scaleValues.push_back(same ? Value()
                                 : dlc::floatConstant(rewriter, loc,
                                                      rewriter.getF64Type(),
                                                      double(scales[d])));
    }
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    rewriter.replaceOp(op, dlc::buildResize(rewriter, loc, input, init,
                                            scaleValues, outSizes, mode));
    return success();
  }
};

/// GridSample: per output element, the grid gives a position in [-1, 1] per
/// axis; it is unnormalized, padded (border: clamped, reflection: mirrored)
/// and sampled with 1, 4 or 16 taps. With zeros padding, taps outside the
/// input contribute 0.
struct GridSampleToLinalg : OpConversionPattern<graph::GridSampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GridSampleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    auto type = op.getType();
    if (!inType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "f32 only");
    Value input = adaptor.getInput(), grid = adaptor.getGrid();
    StringRef mode = op.getMode(), padding = op.getPaddingMode();
    bool align = op.getAlignCorners();
    int64_t sizes[2] = {inType.getDimSize(2), inType.getDimSize(3)};
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{}, init,
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(4, rewriter.getContext())},
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          auto c = [&](double v) { return dlc::floatConstant(b, l, b.getF32Type(), v); };
          auto add = [&](Value x, Value y) { return arith::AddFOp::create(b, l, x, y).getResult(); };
          auto sub = [&](Value x, Value y) { return arith::SubFOp::create(b, l, x, y).getResult(); };
          auto mul = [&](Value x, Value y) { return arith::MulFOp::create(b, l, x, y).getResult(); };
          auto minf = [&](Value x, Value y) { return arith::MinimumFOp::create(b, l, x, y).getResult(); };
          auto maxf = [&](Value x, Value y) { return arith::MaximumFOp::create(b, l, x, y).getResult(); };
          Value n = linalg::IndexOp::create(b, l, 0), ch = linalg::IndexOp::create(b, l, 1);
          Value ho = linalg::IndexOp::create(b, l, 2), wo = linalg::IndexOp::create(b, l, 3);
          // Mirrors x into [lo, hi] (repeatedly, as a triangle wave).
          auto reflect = [&](Value x, double lo, double hi) {
            double span = hi - lo;
            if (span <= 0)
              return c(0);
            Value d = math::AbsFOp::create(b, l, sub(x, c(lo)));
            Value flips = math::FloorOp::create(b, l, arith::DivFOp::create(b, l, d, c(span)));
            Value extra = sub(d, mul(flips, c(span)));
            Value odd = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::ONE,
                sub(flips, mul(c(2), math::FloorOp::create(b, l, mul(flips, c(0.5))))), c(0));
            return arith::SelectOp::create(b, l, odd, sub(c(hi), extra), add(c(lo), extra))
                .getResult();
          };
          // Unnormalized, padded coordinate along one axis (0: y, 1: x).
          auto coordinate = [&](int axis) {
            Value g = tensor::ExtractOp::create(
                b, l, grid,
                ValueRange{n, ho, wo, arith::ConstantIndexOp::create(b, l, 1 - axis)});
            double size = sizes[axis];
            Value x = align ? mul(add(g, c(1)), c((size - 1) / 2))
                            : mul(sub(mul(add(g, c(1)), c(size)), c(1)), c(0.5));
            if (padding == "border")
              x = minf(maxf(x, c(0)), c(size - 1));
            else if (padding == "reflection") {
              x = align ? reflect(x, 0, size - 1) : reflect(x, -0.5, size - 0.5);
              x = minf(maxf(x, c(0)), c(size - 1));
            }
            return x;
          };
          // The value at integer tap (iy, ix) (f32 holding integers), 0
          // outside the input for zeros padding; other paddings clamp taps.
          auto tap = [&](Value fy, Value fx) {
            SmallVector<Value> idx;
            Value inside;
            for (int axis = 0; axis < 2; ++axis) {
              Value f = axis == 0 ? fy : fx;
              if (padding == "reflection" && mode == "bicubic")
                f = align ? reflect(f, 0, sizes[axis] - 1)
                          : reflect(f, -0.5, sizes[axis] - 0.5);
              Value i = arith::FPToSIOp::create(b, l, b.getI64Type(), f);
              Value zero = arith::ConstantIntOp::create(b, l, 0, 64);
              Value last = arith::ConstantIntOp::create(b, l, sizes[axis] - 1, 64);
              Value ok = arith::AndIOp::create(
                  b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, i, zero),
                  arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, i, last));
              inside = inside ? arith::AndIOp::create(b, l, inside, ok).getResult() : ok;
              i = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, i, zero), last);
              idx.push_back(arith::IndexCastOp::create(b, l, b.getIndexType(), i));
            }
            Value v = tensor::ExtractOp::create(b, l, input, ValueRange{n, ch, idx[0], idx[1]});
            if (padding != "zeros")
              return v;
            return arith::SelectOp::create(b, l, inside, v, c(0)).getResult();
          };
          Value y = coordinate(0), x = coordinate(1);
          Value result;
          if (mode == "nearest") {
            result = tap(math::RoundEvenOp::create(b, l, y), math::RoundEvenOp::create(b, l, x));
          } else if (mode == "bilinear") {
            Value y0 = math::FloorOp::create(b, l, y), x0 = math::FloorOp::create(b, l, x);
            Value wy = sub(y, y0), wx = sub(x, x0);
            Value y1 = add(y0, c(1)), x1 = add(x0, c(1));
            result = add(add(mul(mul(sub(c(1), wy), sub(c(1), wx)), tap(y0, x0)),
                             mul(mul(sub(c(1), wy), wx), tap(y0, x1))),
                         add(mul(mul(wy, sub(c(1), wx)), tap(y1, x0)),
                             mul(mul(wy, wx), tap(y1, x1))));
          } else { // bicubic, a = -0.75
            double a = -0.75;
            auto weights = [&](Value t) {
              // Keys' cubic at distances 1 + t, t, 1 - t, 2 - t.
              auto near = [&](Value d) {
                Value d2 = mul(d, d);
                return add(sub(mul(c(a + 2), mul(d2, d)), mul(c(a + 3), d2)), c(1));
              };
              auto far = [&](Value d) {
                Value d2 = mul(d, d);
                return sub(add(sub(mul(c(a), mul(d2, d)), mul(c(5 * a), d2)), mul(c(8 * a), d)),
                           c(4 * a));
              };
              return SmallVector<Value>{far(add(t, c(1))), near(t), near(sub(c(1), t)),
                                        far(sub(c(2), t))};
            };
            Value y0 = math::FloorOp::create(b, l, y), x0 = math::FloorOp::create(b, l, x);
            auto wy = weights(sub(y, y0)), wx = weights(sub(x, x0));
            result = c(0);
            for (int i = 0; i < 4; ++i)
              for (int j = 0; j < 4; ++j)
                result = add(result, mul(mul(wy[i], wx[j]),
                                         tap(add(y0, c(i - 1)), add(x0, c(j - 1)))));
          }
          linalg::YieldOp::create(b, l, result);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

Value dlc::buildResize(OpBuilder &b, Location loc, Value input, Value init,
                       ArrayRef<Value> scales, ArrayRef<Value> outSizes,
                       const ResizeMode &mode) {
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t rank = inType.getRank();
  ResizeBuilder outside(b, loc, mode);
  SmallVector<std::optional<AxisMapping>> mappings;
  for (int64_t d = 0; d < rank; ++d)
    mappings.push_back(scales[d]
                           ? std::optional(outside.mapping(
                                 inType.getDimSize(d), scales[d], outSizes[d]))
                           : std::nullopt);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{}, init,
      SmallVector<AffineMap>{
          AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange) {
        ResizeBuilder builder(nb, l, mode);
        SmallVector<Taps> perDim;
        for (int64_t d = 0; d < rank; ++d) {
          Value index = linalg::IndexOp::create(nb, l, d);
          perDim.push_back(mappings[d] ? builder.taps(index, *mappings[d])
                                       : Taps{{index}, {}});
        }
        // Sum over every combination of taps.
        Value sum = builder.c(0);
        SmallVector<int64_t> pick(rank, 0);
        while (true) {
          SmallVector<Value> coords;
          Value weight;
          for (int64_t d = 0; d < rank; ++d) {
            coords.push_back(perDim[d].indices[pick[d]]);
            if (!perDim[d].weights.empty())
              weight = weight ? builder.mul(weight, perDim[d].weights[pick[d]])
                              : perDim[d].weights[pick[d]];
          }
          Value v = tensor::ExtractOp::create(nb, l, input, coords);
          sum = builder.add(sum, weight ? builder.mul(weight, v) : v);
          int64_t d = rank - 1;
          for (; d >= 0; --d) {
            if (++pick[d] < static_cast<int64_t>(perDim[d].indices.size()))
              break;
            pick[d] = 0;
          }
          if (d < 0)
            break;
        }
        linalg::YieldOp::create(nb, l, sum);
      });
  return generic.getResult(0);
}

void dlc::populateResizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ResizeToLinalg, GridSampleToLinalg>(patterns.getContext());
}
