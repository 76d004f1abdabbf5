//===- NormalizationToLinalg.cpp - reductions and normalizations ---===//
//
// Reductions, softmax, batch and layer normalization, global pooling.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"
#include "dialects/graph/GraphShapes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
namespace graph = dlc::graph;
using dlc::buildKeepDimsReduction;

namespace {
Value addF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y);
}

/// Sum over `axes` (kept as size-1 dims) of f(x), or of x without `f`.
/// Narrower floats accumulate in float64: a sequential float32 sum of n
/// terms loses about n * 2^-24 relatively, which batch statistics (means
/// over N*H*W) and losses (means over a whole batch) cannot afford.
Value sumOf(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
            function_ref<Value(OpBuilder &, Location, Value)> f = nullptr) {
  auto type = cast<RankedTensorType>(input.getType());
  Type elem = type.getElementType();
  if (elem.isF64())
    return buildKeepDimsReduction(
        b, loc, input, axes, 0.0,
        [&](OpBuilder &nb, Location l, Value x, Value acc) {
          return addF(nb, l, f ? f(nb, l, x) : x, acc);
        },
        {}, addF);
  Type f64 = b.getF64Type();
  Value wide = buildKeepDimsReduction(
      b, loc, input, axes, 0.0,
      [&](OpBuilder &nb, Location l, Value x, Value acc) {
        Value term = f ? f(nb, l, x) : x;
        return addF(nb, l, arith::ExtFOp::create(nb, l, f64, term), acc);
      },
      f64, addF);
  auto wideType = cast<RankedTensorType>(wide.getType());
  return dlc::buildElementwise(
      b, loc, RankedTensorType::get(wideType.getShape(), elem), wide,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::TruncFOp::create(nb, l, elem, args[0]).getResult();
      });
}

Value maxOf(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes) {
  auto maximum = [](OpBuilder &nb, Location l, Value x, Value acc) {
    return arith::MaximumFOp::create(nb, l, x, acc).getResult();
  };
  return buildKeepDimsReduction(b, loc, input, axes,
                                -std::numeric_limits<double>::infinity(),
                                maximum, {}, maximum);
}

struct SoftmaxToLinalg : OpConversionPattern<graph::SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    int64_t axis = op.getAxis();
    // Subtracting the max keeps exp from overflowing.
    Value max = maxOf(rewriter, loc, input, axis);
    Value exp = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{input, max},
        [](OpBuilder &b, Location l, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
          return math::ExpOp::create(b, l, shifted).getResult();
        });
    Value sum = sumOf(rewriter, loc, exp, axis);
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{exp, sum},
        [](OpBuilder &b, Location l, ValueRange args) {
          return arith::DivFOp::create(b, l, args[0], args[1]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// A rank-1 per-channel tensor reshaped to broadcast along dim 1 of a
/// rank-`rank` tensor: [C] -> [C, 1, ...].
Value asChannelVector(OpBuilder &b, Location loc, Value v, int64_t rank) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape = {type.getDimSize(0)};
  shape.append(rank - 2, 1);
  auto target = RankedTensorType::get(shape, type.getElementType());
  SmallVector<ReassociationIndices> reassociation(1);
  for (int64_t d = 0; d < rank - 1; ++d)
    reassociation[0].push_back(d);
  return tensor::ExpandShapeOp::create(b, loc, target, v, reassociation);
}

struct BatchNormToLinalg : OpConversionPattern<graph::BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::BatchNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t rank = op.getType().getRank();
    auto channel = [&](Value v) {
      return asChannelVector(rewriter, loc, v, rank);
    };
    double eps = op.getEpsilon().convertToDouble();
    // Per channel (as PyTorch's CPU kernel): s = scale / sqrt(var + eps) and
    // t = bias - mean * s, so that each element costs one multiply-add, not
    // a square root and a division.
    auto channelType = cast<RankedTensorType>(adaptor.getScale().getType());
    Value s = dlc::buildElementwise(
        rewriter, loc, channelType,
        ValueRange{adaptor.getScale(), adaptor.getVariance()},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value var = arith::AddFOp::create(
              b, l, args[1], dlc::floatConstant(b, l, args[1].getType(), eps));
          Value stddev = math::SqrtOp::create(b, l, var);
          return arith::DivFOp::create(b, l, args[0], stddev).getResult();
        });
    Value t = dlc::buildElementwise(
        rewriter, loc, channelType,
        ValueRange{adaptor.getBias(), adaptor.getMean(), s},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value shift = arith::MulFOp::create(b, l, args[1], args[2]);
          return arith::SubFOp::create(b, l, args[0], shift).getResult();
        });
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(),
        ValueRange{adaptor.getInput(), channel(s), channel(t)},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value scaled = arith::MulFOp::create(b, l, args[0], args[1]);
          return arith::AddFOp::create(b, l, scaled, args[2]).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GlobalAvgPoolToLinalg : OpConversionPattern<graph::GlobalAvgPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GlobalAvgPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    SmallVector<int64_t> axes;
    int64_t count = 1;
    for (int64_t d = 2; d < inType.getRank(); ++d) {
      axes.push_back(d);
      count *= inType.getDimSize(d);
    }
    Value sum = sumOf(rewriter, loc, adaptor.getInput(), axes);
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{sum},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value n = dlc::floatConstant(b, l, args[0].getType(), count);
          return arith::DivFOp::create(b, l, args[0], n).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Number of elements reduced over `axes` of `type`.
int64_t reducedCount(RankedTensorType type, ArrayRef<int64_t> axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= type.getDimSize(a);
  return n;
}

struct ReduceToLinalg : OpConversionPattern<graph::ReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inType = op.getInput().getType();
    ArrayRef<int64_t> axes = op.getAxes();
    StringRef kind = op.getKind();
    auto square = [](OpBuilder &b, Location l, Value v) {
      return arith::MulFOp::create(b, l, v, v).getResult();
    };
    auto abs = [](OpBuilder &b, Location l, Value v) {
      return math::AbsFOp::create(b, l, v).getResult();
    };
    auto mapResult = [&](Value t, function_ref<Value(OpBuilder &, Location, Value)> f) {
      return dlc::buildElementwise(rewriter, loc,
                                   cast<RankedTensorType>(t.getType()), t,
                                   [&](OpBuilder &b, Location l, ValueRange a) {
                                     return f(b, l, a[0]);
                                   });
    };
    Value reduced;
    if (kind == "sum") {
      reduced = sumOf(rewriter, loc, x, axes);
    } else if (kind == "mean") {
      double n = reducedCount(inType, axes);
      reduced = mapResult(sumOf(rewriter, loc, x, axes),
                          [&](OpBuilder &b, Location l, Value v) {
                            return arith::DivFOp::create(
                                       b, l, v, dlc::floatConstant(b, l, v.getType(), n))
                                .getResult();
                          });
    } else if (kind == "max" || kind == "min") {
      bool isMax = kind == "max";
      reduced = buildKeepDimsReduction(
          rewriter, loc, x, axes,
          isMax ? -std::numeric_limits<double>::infinity()
                : std::numeric_limits<double>::infinity(),
          [&](OpBuilder &b, Location l, Value v, Value acc) -> Value {
            return isMax ? arith::MaximumFOp::create(b, l, v, acc).getResult()
                         : arith::MinimumFOp::create(b, l, v, acc).getResult();
          });
    } else if (kind == "prod") {
      reduced = buildKeepDimsReduction(
          rewriter, loc, x, axes, 1.0,
          [](OpBuilder &b, Location l, Value v, Value acc) {
            return arith::MulFOp::create(b, l, v, acc).getResult();
          });
    } else if (kind == "l1") {
      reduced = sumOf(rewriter, loc, x, axes, abs);
    } else if (kind == "l2") {
      reduced = mapResult(sumOf(rewriter, loc, x, axes, square),
                          [](OpBuilder &b, Location l, Value v) {
                            return math::SqrtOp::create(b, l, v).getResult();
                          });
    } else if (kind == "sum_square") {
      reduced = sumOf(rewriter, loc, x, axes, square);
    } else if (kind == "log_sum") {
      reduced = mapResult(sumOf(rewriter, loc, x, axes),
                          [](OpBuilder &b, Location l, Value v) {
                            return math::LogOp::create(b, l, v).getResult();
                          });
    } else { // log_sum_exp, shifted by the max to stay finite
      Value max = maxOf(rewriter, loc, x, axes);
      auto keepType = cast<RankedTensorType>(max.getType());
      Value shifted = dlc::buildElementwise(
          rewriter, loc, inType, ValueRange{x, max},
          [](OpBuilder &b, Location l, ValueRange a) {
            return math::ExpOp::create(
                       b, l, arith::SubFOp::create(b, l, a[0], a[1]))
                .getResult();
          });
      Value sum = sumOf(rewriter, loc, shifted, axes);
      reduced = dlc::buildElementwise(
          rewriter, loc, keepType, ValueRange{sum, max},
          [](OpBuilder &b, Location l, ValueRange a) {
            return addF(b, l, math::LogOp::create(b, l, a[0]), a[1]);
          });
    }
    rewriter.replaceOp(op, dlc::reshapeTensor(rewriter, loc, reduced,
                                              op.getType()));
    return success();
  }
};

/// MaxPool's Indices: per output element, a reduction over the window's
/// taps that keeps the first largest value inside the input and its flat
/// index.
struct MaxPoolIndicesToLinalg : OpConversionPattern<graph::MaxPool2dIndicesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::MaxPool2dIndicesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    auto type = op.getType();
    Type elem = inType.getElementType();
    MLIRContext *ctx = rewriter.getContext();
    ArrayRef<int64_t> kernel = op.getKernelShape(), strides = op.getStrides(),
                      pads = op.getPads(), dilations = op.getDilations();
    int64_t channels = inType.getDimSize(1), height = inType.getDimSize(2),
            width = inType.getDimSize(3);
    auto valueType = RankedTensorType::get(type.getShape(), elem);
    Value best = dlc::createFilled(rewriter, loc, valueType,
                                   -std::numeric_limits<double>::infinity());
    Value where = dlc::createFilled(rewriter, loc, type, -1);
    // The window's taps, only for their sizes.
    Value taps = tensor::EmptyOp::create(rewriter, loc, kernel, elem);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    AffineMap tapMap = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    iterators.append(2, utils::IteratorType::reduction);
    bool columnMajor = op.getColumnMajor();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valueType, type}, ValueRange{taps},
        ValueRange{best, where}, SmallVector<AffineMap>{tapMap, outMap, outMap},
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          auto i64 = [&](int64_t v) {
            return arith::ConstantIntOp::create(b, l, v, 64).getResult();
          };
          auto dim = [&](unsigned i) {
            return arith::IndexCastOp::create(b, l, b.getI64Type(),
                                              linalg::IndexOp::create(b, l, i))
                .getResult();
          };
          auto add = [&](Value x, Value y) {
            return arith::AddIOp::create(b, l, x, y).getResult();
          };
          auto mul = [&](Value x, Value y) {
            return arith::MulIOp::create(b, l, x, y).getResult();
          };
          // Input coordinates of this tap: o * stride + k * dilation - pad.
          Value h = add(
              add(mul(dim(2), i64(strides[0])), mul(dim(4), i64(dilations[0]))),
              i64(-pads[0]));
          Value w = add(
              add(mul(dim(3), i64(strides[1])), mul(dim(5), i64(dilations[1]))),
              i64(-pads[1]));
          auto within = [&](Value v, int64_t size) {
            return arith::AndIOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, v,
                                      i64(0)),
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, v,
                                      i64(size)));
          };
          Value inside =
              arith::AndIOp::create(b, l, within(h, height), within(w, width));
          auto clampIndex = [&](Value v, int64_t size) {
            Value c = arith::MinSIOp::create(
                b, l, arith::MaxSIOp::create(b, l, v, i64(0)), i64(size - 1));
            return arith::IndexCastOp::create(b, l, b.getIndexType(), c)
                .getResult();
          };
          Value x = tensor::ExtractOp::create(
              b, l, input,
              ValueRange{linalg::IndexOp::create(b, l, 0),
                         linalg::IndexOp::create(b, l, 1),
                         clampIndex(h, height), clampIndex(w, width)});
          Value plane =
              mul(add(mul(dim(0), i64(channels)), dim(1)), i64(height * width));
          Value flat = columnMajor ? add(plane, add(mul(w, i64(height)), h))
                                   : add(plane, add(mul(h, i64(width)), w));
          // Strictly larger, or the first tap inside the input.
          Value larger = arith::OrIOp::create(
              b, l,
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x,
                                    args[1]),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, args[2],
                                    i64(-1)));
          Value take = arith::AndIOp::create(b, l, inside, larger);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, take, x, args[1]),
                         arith::SelectOp::create(b, l, take, flat, args[2])});
        });
    rewriter.replaceOp(op, generic.getResult(1));
    return success();
  }
};

/// The max (or min) along `axis` of `input` and its int64 index, both with
/// the axis kept as size 1; the first occurrence wins unless `last`.
std::pair<Value, Value> buildArgReduce(OpBuilder &b, Location loc, Value input,
                                       int64_t axis, bool isMax, bool last) {
  auto inType = cast<RankedTensorType>(input.getType());
  Type elem = inType.getElementType();
  MLIRContext *ctx = b.getContext();
  int64_t rank = inType.getRank();
  SmallVector<int64_t> keepShape(inType.getShape());
  keepShape[axis] = 1;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    outExprs.push_back(d == axis ? getAffineConstantExpr(0, ctx)
                                 : getAffineDimExpr(d, ctx));
    iterators.push_back(d == axis ? utils::IteratorType::reduction
                                  : utils::IteratorType::parallel);
  }
  auto valueType = RankedTensorType::get(keepShape, elem);
  auto indexType = RankedTensorType::get(keepShape, b.getI64Type());
  Value values = dlc::createFilled(
      b, loc, valueType,
      isMax ? -std::numeric_limits<double>::infinity()
            : std::numeric_limits<double>::infinity());
  Value indices = dlc::createFilled(b, loc, indexType, 0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{valueType, indexType}, ValueRange{input},
      ValueRange{values, indices},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx),
                             outMap, outMap},
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value x = args[0], best = args[1], bestIndex = args[2];
        arith::CmpFPredicate pred =
            isMax ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                  : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT);
        Value take = arith::CmpFOp::create(nb, l, pred, x, best);
        Value position = arith::IndexCastOp::create(
            nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, axis));
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, take, x, best),
                       arith::SelectOp::create(nb, l, take, position, bestIndex)});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

struct ArgReduceToLinalg : OpConversionPattern<graph::ArgReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ArgReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<FloatType>(op.getInput().getType().getElementType()))
      return rewriter.notifyMatchFailure(op, "float inputs only");
    auto [values, indices] =
        buildArgReduce(rewriter, op.getLoc(), adaptor.getInput(), op.getAxis(),
                       op.getKind() == "max", op.getSelectLastIndex());
    (void)values;
    rewriter.replaceOp(op, dlc::reshapeTensor(rewriter, op.getLoc(), indices,
                                              op.getType()));
    return success();
  }
};

} // namespace

/// TopK as k selection passes: take the best remaining element along the
/// axis, record it, and exclude it (set it to -inf, or +inf for smallest).
std::pair<Value, Value> dlc::buildTopK(OpBuilder &b, Location loc, Value input,
                                       int64_t axis, bool largest,
                                       OpFoldResult k) {
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t rank = inType.getRank();
  Type elem = inType.getElementType();
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(d == axis ? k : b.getIndexAttr(inType.getDimSize(d)));
  Value values = tensor::EmptyOp::create(b, loc, sizes, elem);
  Value indices = tensor::EmptyOp::create(b, loc, sizes, b.getI64Type());
  auto insertAt = [&](OpBuilder &nb, Value part, Value dest, Value j) {
    auto partType = cast<RankedTensorType>(part.getType());
    SmallVector<OpFoldResult> offsets(rank, nb.getIndexAttr(0)), partSizes,
        strides(rank, nb.getIndexAttr(1));
    offsets[axis] = j;
    for (int64_t d : partType.getShape())
      partSizes.push_back(nb.getIndexAttr(d));
    return tensor::InsertSliceOp::create(nb, loc, part, dest, offsets,
                                         partSizes, strides)
        .getResult();
  };
  double excluded = largest ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
  Value upper = getValueOrCreateConstantIndexOp(b, loc, k);
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 0), upper,
      arith::ConstantIndexOp::create(b, loc, 1),
      ValueRange{input, values, indices},
      [&](OpBuilder &nb, Location, Value j, ValueRange state) {
        auto [best, bestIndex] =
            buildArgReduce(nb, loc, state[0], axis, largest, /*last=*/false);
        Value newValues = insertAt(nb, best, state[1], j);
        Value newIndices = insertAt(nb, bestIndex, state[2], j);
        Value work = dlc::buildElementwise(
            nb, loc, inType, ValueRange{state[0], bestIndex},
            [&](OpBuilder &eb, Location l, ValueRange a) {
              Value position = arith::IndexCastOp::create(
                  eb, l, eb.getI64Type(), linalg::IndexOp::create(eb, l, axis));
              Value taken = arith::CmpIOp::create(
                  eb, l, arith::CmpIPredicate::eq, position, a[1]);
              return arith::SelectOp::create(
                         eb, l, taken,
                         dlc::floatConstant(eb, l, elem, excluded), a[0])
                  .getResult();
            });
        scf::YieldOp::create(nb, loc, ValueRange{work, newValues, newIndices});
      });
  return {loop.getResult(1), loop.getResult(2)};
}

namespace {

struct TopKToLinalg : OpConversionPattern<graph::TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto [values, indices] =
        dlc::buildTopK(rewriter, op.getLoc(), adaptor.getInput(), op.getAxis(),
                       op.getLargest(), rewriter.getIndexAttr(op.getK()));
    rewriter.replaceOp(op, ValueRange{values, indices});
    return success();
  }
};

/// Einsum as one generic: output letters are the parallel loops, the other
/// letters the reduction loops; each input's subscripts are its map.
struct EinsumToLinalg : OpConversionPattern<graph::EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::EinsumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = rewriter.getContext();
    auto subscripts = *graph::parseEinsum(op.getEquation());
    std::string loops = subscripts.output;
    for (const std::string &in : subscripts.inputs)
      for (char c : in)
        if (loops.find(c) == std::string::npos)
          loops.push_back(c);
    auto mapOf = [&](StringRef letters) {
      SmallVector<AffineExpr> exprs;
      for (char c : letters)
        exprs.push_back(getAffineDimExpr(loops.find(c), ctx));
      return AffineMap::get(loops.size(), 0, exprs, ctx);
    };
    SmallVector<AffineMap> maps;
    for (const std::string &in : subscripts.inputs)
      maps.push_back(mapOf(in));
    maps.push_back(mapOf(subscripts.output));
    SmallVector<utils::IteratorType> iterators;
    for (size_t i = 0; i < loops.size(); ++i)
      iterators.push_back(i < subscripts.output.size()
                              ? utils::IteratorType::parallel
                              : utils::IteratorType::reduction);
    auto type = op.getType();
    Value init = dlc::createFilled(rewriter, op.getLoc(), type, 0.0);
    auto generic = linalg::GenericOp::create(
        rewriter, op.getLoc(), type, adaptor.getInputs(), init, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value product = args[0];
          for (Value v : args.drop_front().drop_back())
            product = arith::MulFOp::create(b, l, product, v);
          linalg::YieldOp::create(b, l, addF(b, l, args.back(), product));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LayerNormToLinalg : OpConversionPattern<graph::LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    SmallVector<int64_t> axes;
    for (int64_t d = op.getAxis(); d < type.getRank(); ++d)
      axes.push_back(d);
    double n = reducedCount(type, axes);
    double eps = op.getEpsilon().convertToDouble();
    Value sum = sumOf(rewriter, loc, x, axes);
    auto keepType = cast<RankedTensorType>(sum.getType());
    Value mean = dlc::buildElementwise(
        rewriter, loc, keepType, sum, [&](OpBuilder &b, Location l, ValueRange a) {
          return arith::DivFOp::create(
                     b, l, a[0], dlc::floatConstant(b, l, a[0].getType(), n))
              .getResult();
        });
    Value centered = dlc::buildElementwise(
        rewriter, loc, type, ValueRange{x, mean},
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::SubFOp::create(b, l, a[0], a[1]).getResult();
        });
    Value squares = sumOf(rewriter, loc, centered, axes,
                          [](OpBuilder &b, Location l, Value v) {
                            return arith::MulFOp::create(b, l, v, v).getResult();
                          });
    Value invStd = dlc::buildElementwise(
        rewriter, loc, keepType, squares,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type t = a[0].getType();
          Value var = arith::DivFOp::create(b, l, a[0], dlc::floatConstant(b, l, t, n));
          Value shifted = addF(b, l, var, dlc::floatConstant(b, l, t, eps));
          return math::RsqrtOp::create(b, l, shifted).getResult();
        });
    SmallVector<Value> inputs = {centered, invStd, adaptor.getScale()};
    if (adaptor.getBias())
      inputs.push_back(adaptor.getBias());
    bool hasBias = static_cast<bool>(adaptor.getBias());
    Value result = dlc::buildElementwise(
        rewriter, loc, type, inputs,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value y = arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], a[1]), a[2]);
          return hasBias ? addF(b, l, y, a[3]) : y;
        });
    rewriter.replaceOp(op, ValueRange{result, mean, invStd});
    return success();
  }
};

struct LogSoftmaxToLinalg : OpConversionPattern<graph::LogSoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::LogSoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t axis = op.getAxis();
    Value max = maxOf(rewriter, loc, x, axis);
    Value sum = sumOf(rewriter, loc,
                      dlc::buildElementwise(
                          rewriter, loc, op.getType(), ValueRange{x, max},
                          [](OpBuilder &b, Location l, ValueRange a) {
                            return math::ExpOp::create(
                                       b, l,
                                       arith::SubFOp::create(b, l, a[0], a[1]))
                                .getResult();
                          }),
                      axis, [](OpBuilder &, Location, Value v) { return v; });
    Value result = dlc::buildElementwise(
        rewriter, loc, op.getType(), ValueRange{x, max, sum},
        [](OpBuilder &b, Location l, ValueRange a) {
          Value shifted = arith::SubFOp::create(b, l, a[0], a[1]);
          return arith::SubFOp::create(b, l, shifted,
                                       math::LogOp::create(b, l, a[2]))
              .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void dlc::populateNormalizationToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<SoftmaxToLinalg, LogSoftmaxToLinalg, BatchNormToLinalg,
               LayerNormToLinalg, GlobalAvgPoolToLinalg, ReduceToLinalg,
               ArgReduceToLinalg, TopKToLinalg, EinsumToLinalg,
               MaxPoolIndicesToLinalg>(patterns.getContext());
}
