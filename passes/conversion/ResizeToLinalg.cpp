//===- ResizeToLinalg.cpp - nearest, linear and cubic resizing ------------===//
//
// One generic over the output: per resized dim, the output coordinate maps to
// an input coordinate, which gives 1 (nearest), 2 (linear) or 4 (cubic) taps
// with weights; the result sums the weighted taps over all combinations.
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

} // namespace

void dlc::populateResizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ResizeToLinalg>(patterns.getContext());
}
