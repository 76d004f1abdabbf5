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

class ResizeBuilder {
public:
  ResizeBuilder(OpBuilder &b, Location l, graph::ResizeOp op)
      : b(b), l(l), op(op) {}

  Value c(double v) { return dlc::floatConstant(b, l, b.getF32Type(), v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, l, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, l, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, l, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, l, x, y); }

  /// The input coordinate of output coordinate `x` along a dim.
  Value sourceCoordinate(Value x, int64_t in, int64_t out, float scale) {
    StringRef mode = op.getCoordinateMode();
    if (mode == "asymmetric")
      return div(x, c(scale));
    if (mode == "tf_half_pixel_for_nn")
      return div(add(x, c(0.5)), c(scale));
    if (mode == "align_corners") {
      // ONNX uses the unrounded output length, in * scale.
      double length = double(in) * scale;
      return length <= 1 ? c(0) : mul(x, c(double(in - 1) / (length - 1)));
    }
    if (mode == "pytorch_half_pixel" && out == 1)
      return c(0);
    if (mode == "half_pixel_symmetric") {
      // Centred: half_pixel shifted by how much rounding the output length
      // to `out` moved its centre.
      double adjustment = double(out) / (double(in) * scale);
      double offset = double(in) / 2 * (1 - adjustment);
      return add(c(offset), sub(div(add(x, c(0.5)), c(scale)), c(0.5)));
    }
    return sub(div(add(x, c(0.5)), c(scale)), c(0.5)); // half_pixel
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

  Taps taps(Value outIndex, int64_t in, int64_t out, float scale) {
    Value xo = arith::SIToFPOp::create(
        b, l, b.getF32Type(),
        arith::IndexCastOp::create(b, l, b.getI64Type(), outIndex));
    Value x = sourceCoordinate(xo, in, out, scale);
    StringRef mode = op.getMode();
    Taps t;
    if (mode == "nearest") {
      StringRef rounding = op.getNearestMode();
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
    if (mode == "linear") {
      t.indices = {clampIndex(x0, in), clampIndex(add(x0, c(1)), in)};
      t.weights = {sub(c(1), frac), frac};
      return t;
    }
    // Cubic convolution with coefficient a (Keys), taps x0-1 .. x0+2.
    double a = op.getCubicA().convertToDouble();
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
    if (op.getExcludeOutside()) {
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
  graph::ResizeOp op;
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
    int64_t rank = type.getRank();
    ArrayRef<float> scales = op.getScales();
    MLIRContext *ctx = rewriter.getContext();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{}, init,
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          ResizeBuilder builder(b, l, op);
          // Dims that keep their size and scale 1 read straight through.
          SmallVector<Taps> perDim;
          for (int64_t d = 0; d < rank; ++d) {
            Value index = linalg::IndexOp::create(b, l, d);
            if (inType.getDimSize(d) == type.getDimSize(d) && scales[d] == 1.0f) {
              perDim.push_back({{index}, {}});
              continue;
            }
            perDim.push_back(builder.taps(index, inType.getDimSize(d),
                                          type.getDimSize(d), scales[d]));
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
            Value v = tensor::ExtractOp::create(b, l, input, coords);
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
          linalg::YieldOp::create(b, l, sum);
        });
    rewriter.replaceOp(op, generic.getResult(0));
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

void dlc::populateResizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ResizeToLinalg, GridSampleToLinalg>(patterns.getContext());
}
