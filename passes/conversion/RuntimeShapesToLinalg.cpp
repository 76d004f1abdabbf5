//===- RuntimeShapesToLinalg.cpp - ops whose shapes come from run time ----===//
//
// The graph.runtime_* ops read their shape operands (a Reshape's shape, a
// Slice's starts, ...) at run time: each computes its result dims from those
// values with scalar arithmetic, checks them against the ONNX rules, and
// builds its result on tensors of those dynamic sizes. Values the rules
// refuse report the op's check site (the call fails with its message) and
// the op falls back to a result of a safe shape, so nothing reads or writes
// out of bounds and no absurd size is allocated.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
namespace graph = dlc::graph;

namespace {

/// The largest result these ops build (2^28 elements), the importer's limit
/// per tensor: larger requested sizes are reported, not allocated.
constexpr int64_t kMaxElements = int64_t(1) << 28;

/// Scalar i64 arithmetic on shape values, and the op's accumulated "the
/// values are invalid" flag.
class ShapeMath {
public:
  ShapeMath(OpBuilder &b, Location loc) : b(b), loc(loc) {
    bad = arith::ConstantIntOp::create(b, loc, 0, 1);
  }

  Value c(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  /// Element `i` of a 1-D tensor, or the one element of a single-value
  /// tensor of any rank (i = 0), as i64 (integers sign-extended).
  Value at(Value tensor, int64_t i) {
    auto type = cast<RankedTensorType>(tensor.getType());
    SmallVector<Value> indices(type.getRank(),
                               arith::ConstantIndexOp::create(b, loc, 0));
    if (type.getRank() > 0)
      indices.back() = arith::ConstantIndexOp::create(b, loc, i);
    Value v = tensor::ExtractOp::create(b, loc, tensor, indices);
    if (v.getType() != b.getI64Type() && v.getType().isInteger())
      v = arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
    return v;
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value lt(Value x, Value y) { return cmp(arith::CmpIPredicate::slt, x, y); }
  Value gt(Value x, Value y) { return cmp(arith::CmpIPredicate::sgt, x, y); }
  Value eq(Value x, Value y) { return cmp(arith::CmpIPredicate::eq, x, y); }
  Value ne(Value x, Value y) { return cmp(arith::CmpIPredicate::ne, x, y); }
  Value select(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivSIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemSIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value clamp(Value x, Value lo, Value hi) { return min(max(x, lo), hi); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value index(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }

  /// Marks the values invalid where `cond` holds.
  void refuse(Value cond) { bad = orI(bad, cond); }
  /// Refuses dims whose product exceeds kMaxElements (negative dims are
  /// refused by the caller; the product saturates instead of overflowing).
  void refuseTooLarge(ArrayRef<Value> dims) {
    Value cap = c(2 * kMaxElements), count = c(1);
    for (Value d : dims)
      count = min(mul(count, clamp(d, c(0), cap)), cap);
    refuse(gt(count, c(kMaxElements)));
  }
  /// `dims`, or `fallback` where the values were refused.
  SmallVector<Value> orFallback(ArrayRef<Value> dims,
                                ArrayRef<Value> fallback) {
    SmallVector<Value> result;
    for (auto [d, f] : llvm::zip_equal(dims, fallback))
      result.push_back(select(bad, f, d));
    return result;
  }
  /// Calls the generated code's report with `site` when the values were
  /// refused.
  void report(Operation *op) {
    auto site = op->getAttrOfType<IntegerAttr>("site");
    auto ifOp = scf::IfOp::create(b, loc, bad, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value number = arith::ConstantIntOp::create(b, loc, site.getInt(), 32);
    func::CallOp::create(b, loc, "dlc_report_error", TypeRange{}, number);
  }
  /// An empty tensor of the i64 `dims`; dims static in `like` (the op's
  /// result type, when given) stay static.
  Value empty(ArrayRef<Value> dims, Type element, RankedTensorType like = {}) {
    SmallVector<OpFoldResult> sizes;
    for (auto [i, d] : llvm::enumerate(dims))
      if (like && !like.isDynamicDim(i))
        sizes.push_back(b.getIndexAttr(like.getDimSize(i)));
      else
        sizes.push_back(index(d));
    return tensor::EmptyOp::create(b, loc, sizes, element);
  }

  OpBuilder &b;
  Location loc;
  Value bad;
};

/// Fails unless graph-number-runtime-checks numbered the op and declared the
/// report function (the patterns run on functions in parallel and must not
/// add to the module).
LogicalResult checkNumbered(Operation *op, PatternRewriter &rewriter) {
  if (!op->getAttrOfType<IntegerAttr>("site"))
    return rewriter.notifyMatchFailure(
        op, "not numbered (graph-number-runtime-checks)");
  if (!SymbolTable::lookupNearestSymbolFrom(
          op, rewriter.getStringAttr("dlc_report_error")))
    return rewriter.notifyMatchFailure(op, "no declaration of "
                                           "dlc_report_error");
  return success();
}

/// A generic writing each element of `init` from its indices.
Value generate(OpBuilder &b, Location loc, Value init, ValueRange inputs,
               ArrayRef<AffineMap> inputMaps,
               function_ref<Value(OpBuilder &, Location, ValueRange indices,
                                  ValueRange args)>
                   body) {
  int64_t rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(rank));
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> indices;
        for (int64_t d = 0; d < rank; ++d)
          indices.push_back(linalg::IndexOp::create(nb, l, d));
        linalg::YieldOp::create(nb, l, body(nb, l, indices, args));
      });
  return generic.getResult(0);
}

/// `input`'s elements under `dims` (i64), or [N, 1, ...] where refused.
Value reshapeTo(ShapeMath &m, Value input, ArrayRef<Value> dims,
                RankedTensorType resultType) {
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t rank = resultType.getRank();
  SmallVector<Value> fallback;
  for (int64_t i = 0; i < rank; ++i)
    fallback.push_back(m.c(i == 0 ? inType.getNumElements() : 1));
  SmallVector<Value> shape = m.orFallback(dims, fallback);
  auto shapeType = RankedTensorType::get({rank}, m.b.getI64Type());
  Value shapeTensor =
      tensor::FromElementsOp::create(m.b, m.loc, shapeType, shape);
  return tensor::ReshapeOp::create(m.b, m.loc, resultType, input, shapeTensor);
}

/// A result of `dims` (`fallback` where refused) whose element at each
/// index is the input's at `inputExprs` of that index.
Value copyInto(ShapeMath &m, ArrayRef<Value> dims, ArrayRef<Value> fallback,
               Value input, ArrayRef<AffineExpr> inputExprs) {
  m.refuseTooLarge(dims);
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  Value init = m.empty(m.orFallback(dims, fallback), element);
  auto map = AffineMap::get(dims.size(), 0, inputExprs, m.b.getContext());
  return generate(m.b, m.loc, init, input, map,
                  [](OpBuilder &, Location, ValueRange, ValueRange args) {
                    return args[0];
                  });
}

/// The pattern of an op with a check site: `build` makes its results (a
/// Value, or SmallVector<Value> for several) with `m`, whose refusals are
/// reported at the site.
template <typename Op, typename Results = Value>
struct RuntimeShapePattern : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using OpAdaptor = typename Op::Adaptor;
  LogicalResult
  matchAndRewrite(Op op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkNumbered(op, rewriter)))
      return failure();
    ShapeMath m(rewriter, op.getLoc());
    Results results = build(op, adaptor, m);
    m.report(op);
    rewriter.replaceOp(op, ValueRange(results));
    return success();
  }
  virtual Results build(Op op, OpAdaptor a, ShapeMath &m) const = 0;
};

/// ConstantOfShape: the dims as given.
struct FillPattern : RuntimeShapePattern<graph::RuntimeFillOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeFillOp op, OpAdaptor a,
              ShapeMath &m) const override {
    int64_t rank = op.getType().getRank();
    SmallVector<Value> dims, zeros;
    for (int64_t i = 0; i < rank; ++i) {
      dims.push_back(m.at(a.getShape(), i));
      m.refuse(m.lt(dims.back(), m.c(0)));
      zeros.push_back(m.c(0));
    }
    m.refuseTooLarge(dims);
    Value init = m.empty(m.orFallback(dims, zeros),
                         op.getType().getElementType(), op.getType());
    Value value = arith::ConstantOp::create(m.b, m.loc, op.getValue());
    return linalg::FillOp::create(m.b, m.loc, value, init).getResult(0);
  }
};

/// Reshape: 0 copies the input dim (unless allowzero), one -1 takes the
/// rest; the element count must stay. Falls back to [N, 1, ...].
struct ReshapePattern : RuntimeShapePattern<graph::RuntimeReshapeOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeReshapeOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = op.getType().getRank(), count = inType.getNumElements();
    SmallVector<Value> dims;
    Value minusOnes = m.c(0), known = m.c(1), cap = m.c(2 * kMaxElements);
    for (int64_t i = 0; i < rank; ++i) {
      Value d = m.at(a.getShape(), i);
      if (!op.getAllowzero()) {
        Value zero = m.eq(d, m.c(0));
        if (i < inType.getRank())
          d = m.select(zero, m.c(inType.getDimSize(i)), d);
        else
          m.refuse(zero);
      }
      Value inferred = m.eq(d, m.c(-1));
      m.refuse(m.lt(d, m.c(-1)));
      minusOnes = m.add(minusOnes, m.select(inferred, m.c(1), m.c(0)));
      known = m.select(inferred, known,
                       m.min(m.mul(known, m.clamp(d, m.c(0), cap)), cap));
      dims.push_back(d);
    }
    m.refuse(m.gt(minusOnes, m.c(1)));
    Value n = m.c(count), hasInferred = m.eq(minusOnes, m.c(1));
    Value divisor = m.select(m.eq(known, m.c(0)), m.c(1), known);
    Value rest = m.div(n, divisor);
    // With a -1: the known dims divide the count; without: they are it.
    m.refuse(
        m.select(hasInferred,
                 m.orI(m.eq(known, m.c(0)), m.ne(m.rem(n, divisor), m.c(0))),
                 m.ne(known, n)));
    for (int64_t i = 0; i < rank; ++i)
      dims[i] = m.select(m.eq(dims[i], m.c(-1)), rest, dims[i]);
    return reshapeTo(m, a.getInput(), dims, op.getType());
  }
};

/// Squeeze and Unsqueeze with their axes read at run time: the same
/// elements under dims computed from the axes (the input's dims picked by
/// position with selects). Falls back to [N, 1, ...].
struct SqueezePattern : RuntimeShapePattern<graph::RuntimeSqueezeOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeSqueezeOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t inRank = inType.getRank(), rank = op.getType().getRank();
    int64_t length =
        cast<RankedTensorType>(a.getAxes().getType()).getDimSize(0);
    // The axes, counted in the result (unsqueeze) or the input (squeeze).
    int64_t span = op.getUnsqueeze() ? rank : inRank;
    SmallVector<Value> axes;
    for (int64_t j = 0; j < length; ++j) {
      Value axis = m.at(a.getAxes(), j);
      axis = m.select(m.lt(axis, m.c(0)), m.add(axis, m.c(span)), axis);
      m.refuse(m.orI(m.lt(axis, m.c(0)), m.gt(axis, m.c(span - 1))));
      for (Value earlier : axes)
        m.refuse(m.eq(axis, earlier));
      axes.push_back(axis);
    }
    Value no = arith::ConstantIntOp::create(m.b, m.loc, 0, 1);
    auto listed = [&](int64_t position) {
      Value hit = no;
      for (Value axis : axes)
        hit = m.orI(hit, m.eq(axis, m.c(position)));
      return hit;
    };
    // The input dim at a run-time position (0 past the end).
    auto inputDim = [&](Value position) {
      Value dim = m.c(0);
      for (int64_t k = 0; k < inRank; ++k)
        dim = m.select(m.eq(position, m.c(k)), m.c(inType.getDimSize(k)), dim);
      return dim;
    };
    SmallVector<Value> dims(rank, m.c(1));
    if (op.getUnsqueeze()) {
      // Result dim p: 1 where listed, else the next input dim.
      Value next = m.c(0);
      for (int64_t p = 0; p < rank; ++p) {
        Value inserted = listed(p);
        dims[p] = m.select(inserted, m.c(1), inputDim(next));
        next = m.select(inserted, next, m.add(next, m.c(1)));
      }
    } else {
      // Listed input dims must be 1; the kept ones fill the result in order.
      Value kept = m.c(0);
      for (int64_t k = 0; k < inRank; ++k) {
        Value dropped = listed(k);
        if (inType.getDimSize(k) != 1)
          m.refuse(dropped);
        for (int64_t q = 0; q < rank; ++q)
          dims[q] = m.select(m.andI(m.eq(kept, m.c(q)), m.eq(dropped, no)),
                             m.c(inType.getDimSize(k)), dims[q]);
        kept = m.select(dropped, kept, m.add(kept, m.c(1)));
      }
    }
    return reshapeTo(m, a.getInput(), dims, op.getType());
  }
};

/// Expand: numpy broadcasting both ways; an input dim of 1 takes the shape's
/// value, any other must meet 1 or itself. Falls back to the input's dims.
struct ExpandPattern : RuntimeShapePattern<graph::RuntimeExpandOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeExpandOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = op.getType().getRank(), inRank = inType.getRank();
    int64_t length =
        cast<RankedTensorType>(a.getShape().getType()).getDimSize(0);
    SmallVector<Value> dims, fallback;
    SmallVector<AffineExpr> inputExprs;
    for (int64_t k = 0; k < rank; ++k) {
      Value s =
          k >= rank - length ? m.at(a.getShape(), k - (rank - length)) : m.c(1);
      int64_t in =
          k >= rank - inRank ? inType.getDimSize(k - (rank - inRank)) : 1;
      if (in == 1) {
        m.refuse(m.lt(s, m.c(0)));
        dims.push_back(s);
      } else {
        m.refuse(m.andI(m.ne(s, m.c(1)), m.ne(s, m.c(in))));
        dims.push_back(m.c(in));
      }
      fallback.push_back(m.c(in));
      if (k >= rank - inRank)
        inputExprs.push_back(in == 1 ? m.b.getAffineConstantExpr(0)
                                     : m.b.getAffineDimExpr(k));
    }
    return copyInto(m, dims, fallback, a.getInput(), inputExprs);
  }
};

/// Tile: each dim times its repeat (>= 0). Falls back to one repeat.
struct TilePattern : RuntimeShapePattern<graph::RuntimeTileOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeTileOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = inType.getRank();
    SmallVector<Value> dims, fallback;
    SmallVector<AffineExpr> inputExprs;
    for (int64_t k = 0; k < rank; ++k) {
      Value r = m.at(a.getRepeats(), k);
      m.refuse(m.lt(r, m.c(0)));
      int64_t in = inType.getDimSize(k);
      // The product cannot overflow once the repeat is bounded.
      m.refuse(m.gt(r, m.c(kMaxElements)));
      dims.push_back(m.mul(m.clamp(r, m.c(0), m.c(kMaxElements)), m.c(in)));
      fallback.push_back(m.c(in));
      AffineExpr d = m.b.getAffineDimExpr(k);
      inputExprs.push_back(in > 0 ? d % in : d);
    }
    return copyInto(m, dims, fallback, a.getInput(), inputExprs);
  }
};

/// Range: max(ceil((limit - start) / delta), 0) elements start + i * delta.
struct RangePattern : RuntimeShapePattern<graph::RuntimeRangeOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeRangeOp op, OpAdaptor a,
              ShapeMath &m) const override {
    OpBuilder &b = m.b;
    Location loc = m.loc;
    Type element = op.getType().getElementType();
    auto scalar = [&](Value t) {
      auto type = cast<RankedTensorType>(t.getType());
      SmallVector<Value> zeros(type.getRank(),
                               arith::ConstantIndexOp::create(b, loc, 0));
      return tensor::ExtractOp::create(b, loc, t, zeros).getResult();
    };
    Value start = scalar(a.getStart()), limit = scalar(a.getLimit()),
          delta = scalar(a.getDelta());
    Value n;
    if (auto floatType = dyn_cast<FloatType>(element)) {
      // The count in the input's type, as ONNX computes it, then checked in
      // f64; a delta of 0 is refused whatever the limits.
      Type f64 = b.getF64Type();
      Value zeroT = arith::ConstantFloatOp::create(
          b, loc, floatType, APFloat::getZero(floatType.getFloatSemantics()));
      m.refuse(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, delta,
                                     zeroT));
      Value quotient = arith::DivFOp::create(
          b, loc, arith::SubFOp::create(b, loc, limit, start), delta);
      if (floatType != f64)
        quotient = arith::ExtFOp::create(b, loc, f64, quotient);
      Value count = math::CeilOp::create(b, loc, quotient);
      Value zero = arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f64),
                                                  APFloat(0.0));
      Value most = arith::ConstantFloatOp::create(
          b, loc, cast<FloatType>(f64), APFloat(double(kMaxElements)));
      // NaN fails the comparison.
      Value fits =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, count, most);
      m.refuse(arith::XOrIOp::create(
          b, loc, fits, arith::ConstantIntOp::create(b, loc, 1, 1)));
      count = arith::SelectOp::create(b, loc, fits, count, zero);
      count = arith::MaximumFOp::create(b, loc, count, zero);
      n = arith::FPToSIOp::create(b, loc, b.getI64Type(), count);
    } else {
      // In unsigned 64-bit arithmetic the distance from start to limit is
      // exact (it is below 2^64), and so is |delta|: no overflow, no trap.
      Value s = m.at(a.getStart(), 0), l = m.at(a.getLimit(), 0),
            d = m.at(a.getDelta(), 0);
      m.refuse(m.eq(d, m.c(0)));
      Value forward = m.gt(d, m.c(0));
      Value distance = m.select(forward, m.sub(l, s), m.sub(s, l));
      Value step = m.select(forward, d, m.sub(m.c(0), d));
      Value any = m.select(forward, m.gt(l, s), m.lt(l, s));
      Value safeStep = m.select(m.eq(step, m.c(0)), m.c(1), step);
      Value count = m.add(
          arith::DivUIOp::create(b, loc, m.sub(distance, m.c(1)), safeStep),
          m.c(1));
      count = m.select(any, count, m.c(0));
      m.refuse(m.cmp(arith::CmpIPredicate::ugt, count, m.c(kMaxElements)));
      n = count;
    }
    Value dim = m.orFallback({n}, {m.c(0)})[0];
    Value init = m.empty({dim}, element);
    return generate(
        b, loc, init, {}, {},
        [&](OpBuilder &nb, Location l, ValueRange indices, ValueRange) {
          Value i =
              arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[0]);
          if (isa<FloatType>(element)) {
            Value fi = arith::SIToFPOp::create(nb, l, element, i);
            return arith::AddFOp::create(
                       nb, l, start, arith::MulFOp::create(nb, l, fi, delta))
                .getResult();
          }
          Value ei =
              element == nb.getI64Type()
                  ? i
                  : arith::TruncIOp::create(nb, l, element, i).getResult();
          return arith::AddIOp::create(nb, l, start,
                                       arith::MulIOp::create(nb, l, ei, delta))
              .getResult();
        });
  }
};

/// Slice: per listed axis, starts and ends counted from the end when
/// negative and clamped as ONNX says for the step's sign. Falls back to the
/// whole input.
struct SlicePattern : RuntimeShapePattern<graph::RuntimeSliceOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeSliceOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = inType.getRank();
    int64_t length =
        cast<RankedTensorType>(a.getStarts().getType()).getDimSize(0);
    Value no = arith::ConstantIntOp::create(m.b, m.loc, 0, 1);
    SmallVector<Value> starts, sizes, steps, seen(rank, no), fallback;
    for (int64_t k = 0; k < rank; ++k) {
      starts.push_back(m.c(0));
      sizes.push_back(m.c(inType.getDimSize(k)));
      steps.push_back(m.c(1));
      fallback.push_back(sizes.back());
    }
    for (int64_t j = 0; j < length; ++j) {
      Value axis = m.at(a.getAxes(), j);
      axis = m.select(m.lt(axis, m.c(0)), m.add(axis, m.c(rank)), axis);
      m.refuse(m.orI(m.lt(axis, m.c(0)), m.gt(axis, m.c(rank - 1))));
      Value step = m.at(a.getSteps(), j);
      Value zeroStep = m.eq(step, m.c(0));
      m.refuse(zeroStep);
      step = m.select(zeroStep, m.c(1), step);
      Value forward = m.gt(step, m.c(0));
      Value first = m.at(a.getStarts(), j), end = m.at(a.getEnds(), j);
      for (int64_t k = 0; k < rank; ++k) {
        Value n = m.c(inType.getDimSize(k));
        Value hit = m.eq(axis, m.c(k));
        m.refuse(m.andI(hit, seen[k]));
        seen[k] = m.orI(seen[k], hit);
        Value s = m.select(m.lt(first, m.c(0)), m.add(first, n), first);
        Value e = m.select(m.lt(end, m.c(0)), m.add(end, n), end);
        // Forward: both in [0, n]. Backward: start in [0, n - 1], end in
        // [-1, n - 1].
        Value lastIndex = m.sub(n, m.c(1));
        s = m.select(forward, m.clamp(s, m.c(0), n),
                     m.clamp(s, m.c(0), lastIndex));
        e = m.select(forward, m.clamp(e, m.c(0), n),
                     m.clamp(e, m.c(-1), lastIndex));
        Value span = m.select(forward, m.sub(e, s), m.sub(s, e));
        Value stride = m.select(forward, step, m.sub(m.c(0), step));
        // (span - 1) / stride + 1 elements when span > 0: no overflow for
        // any stride (a stride of INT64_MIN wraps and still gives 1).
        Value size =
            m.select(m.gt(span, m.c(0)),
                     m.add(m.div(m.sub(span, m.c(1)), stride), m.c(1)), m.c(0));
        size = m.max(size, m.c(0));
        starts[k] =
            m.select(hit, m.select(m.gt(size, m.c(0)), s, m.c(0)), starts[k]);
        sizes[k] = m.select(hit, size, sizes[k]);
        steps[k] = m.select(hit, step, steps[k]);
      }
    }
    SmallVector<Value> ones, zeros;
    for (int64_t k = 0; k < rank; ++k) {
      ones.push_back(m.c(1));
      zeros.push_back(m.c(0));
    }
    SmallVector<Value> safeStarts = m.orFallback(starts, zeros);
    SmallVector<Value> safeSteps = m.orFallback(steps, ones);
    Value init =
        m.empty(m.orFallback(sizes, fallback), inType.getElementType());
    Value input = a.getInput();
    return generate(
        m.b, m.loc, init, {}, {},
        [&](OpBuilder &nb, Location l, ValueRange indices, ValueRange) {
          SmallVector<Value> at;
          for (int64_t k = 0; k < rank; ++k) {
            Value i =
                arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[k]);
            Value v = arith::AddIOp::create(
                nb, l, safeStarts[k],
                arith::MulIOp::create(nb, l, i, safeSteps[k]));
            at.push_back(
                arith::IndexCastOp::create(nb, l, nb.getIndexType(), v));
          }
          return tensor::ExtractOp::create(nb, l, input, at).getResult();
        });
  }
};

/// Pad: begins then ends per dim, negative ones crop. Constant mode fills
/// with the value. The other modes crop first and pad the cropped extent of
/// n' elements (as onnxruntime does): edge clamps into it, reflect mirrors
/// (a triangle wave of period 2 (n' - 1)), wrap takes the index modulo n';
/// padding an extent cropped to nothing is refused. Falls back to no
/// padding.
struct PadPattern : RuntimeShapePattern<graph::RuntimePadOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimePadOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = inType.getRank();
    bool empty = inType.getNumElements() == 0;
    StringRef mode = op.getMode();
    SmallVector<Value> dims, begins, cropped, extents, fallback, zeros;
    for (int64_t k = 0; k < rank; ++k) {
      Value begin = m.at(a.getPads(), k), end = m.at(a.getPads(), k + rank);
      // Bounded first, so that the sum cannot overflow.
      for (Value p : {begin, end})
        m.refuse(
            m.orI(m.gt(p, m.c(kMaxElements)), m.lt(p, m.c(-kMaxElements))));
      Value bound = m.c(kMaxElements);
      begin = m.clamp(begin, m.c(-kMaxElements), bound);
      end = m.clamp(end, m.c(-kMaxElements), bound);
      Value n = m.c(inType.getDimSize(k));
      Value d = m.add(n, m.add(begin, end));
      m.refuse(m.lt(d, m.c(0)));
      // The extent left after cropping, and where it starts.
      Value cropBegin = m.max(m.sub(m.c(0), begin), m.c(0));
      Value extent =
          m.sub(m.sub(n, cropBegin), m.max(m.sub(m.c(0), end), m.c(0)));
      if (mode != "constant")
        m.refuse(m.andI(m.lt(extent, m.c(1)), m.gt(d, m.c(0))));
      dims.push_back(d);
      begins.push_back(begin);
      cropped.push_back(cropBegin);
      extents.push_back(extent);
      fallback.push_back(n);
      zeros.push_back(m.c(0));
    }
    m.refuseTooLarge(dims);
    SmallVector<Value> safeBegins = m.orFallback(begins, zeros);
    SmallVector<Value> safeCropped = m.orFallback(cropped, zeros);
    SmallVector<Value> safeExtents = m.orFallback(extents, fallback);
    Value init = m.empty(m.orFallback(dims, fallback), inType.getElementType());
    SmallVector<Value> zeroIndices(
        cast<RankedTensorType>(a.getValue().getType()).getRank(),
        arith::ConstantIndexOp::create(m.b, m.loc, 0));
    Value fill =
        tensor::ExtractOp::create(m.b, m.loc, a.getValue(), zeroIndices);
    Value input = a.getInput();
    return generate(
        m.b, m.loc, init, {}, {},
        [&](OpBuilder &nb, Location l, ValueRange indices, ValueRange) {
          if (empty)
            return fill;
          ShapeMath in(nb, l);
          SmallVector<Value> at;
          Value inside = arith::ConstantIntOp::create(nb, l, 1, 1);
          for (int64_t k = 0; k < rank; ++k) {
            Value i =
                arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[k]);
            Value last = in.c(inType.getDimSize(k) - 1);
            Value src = in.sub(i, safeBegins[k]);
            if (mode != "constant") {
              // Relative to the cropped extent of n' >= 1 elements (the
              // loop runs only when the result is not empty).
              Value nc = safeExtents[k], lastC = in.sub(nc, in.c(1));
              Value rel = in.sub(i, in.max(safeBegins[k], in.c(0)));
              if (mode == "reflect") {
                Value period = in.max(in.mul(in.c(2), lastC), in.c(1));
                Value r = in.rem(
                    in.select(in.lt(rel, in.c(0)), in.sub(in.c(0), rel), rel),
                    period);
                rel = in.select(in.gt(r, lastC), in.sub(period, r), r);
              } else if (mode == "wrap") {
                Value r = in.rem(rel, nc);
                rel = in.select(in.lt(r, in.c(0)), in.add(r, nc), r);
              }
              src = in.add(in.clamp(rel, in.c(0), lastC), safeCropped[k]);
            }
            inside = in.andI(
                inside, in.andI(in.cmp(arith::CmpIPredicate::sge, src, in.c(0)),
                                in.cmp(arith::CmpIPredicate::sle, src, last)));
            at.push_back(in.index(in.clamp(src, in.c(0), last)));
          }
          Value v = tensor::ExtractOp::create(nb, l, input, at);
          return mode == "constant" ? in.select(inside, v, fill) : v;
        });
  }
};

/// OneHot: along `axis`, values[1] where the index (negative ones count
/// from depth) equals the position, else values[0]. Falls back to depth 0.
struct OneHotPattern : RuntimeShapePattern<graph::RuntimeOneHotOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeOneHotOp op, OpAdaptor a,
              ShapeMath &m) const override {
    auto type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    Value depth = m.at(a.getDepth(), 0);
    m.refuse(m.lt(depth, m.c(1)));
    SmallVector<Value> dims;
    auto indicesType = cast<RankedTensorType>(a.getIndices().getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t k = 0, j = 0; k < rank; ++k) {
      if (k == axis) {
        dims.push_back(depth);
        continue;
      }
      dims.push_back(m.c(indicesType.getDimSize(j++)));
      exprs.push_back(m.b.getAffineDimExpr(k));
    }
    m.refuseTooLarge(dims);
    Value safeDepth = m.orFallback({depth}, {m.c(0)})[0];
    dims[axis] = safeDepth;
    Value init = m.empty(dims, type.getElementType(), type);
    auto valuesType = cast<RankedTensorType>(a.getValues().getType());
    auto value = [&](int64_t i) {
      SmallVector<Value> at(valuesType.getRank(),
                            arith::ConstantIndexOp::create(m.b, m.loc, 0));
      at.back() = arith::ConstantIndexOp::create(m.b, m.loc, i);
      return tensor::ExtractOp::create(m.b, m.loc, a.getValues(), at)
          .getResult();
    };
    Value off = value(0), on = value(1);
    auto map = AffineMap::get(rank, 0, exprs, m.b.getContext());
    return generate(
        m.b, m.loc, init, a.getIndices(), map,
        [&](OpBuilder &nb, Location l, ValueRange indices, ValueRange args) {
          ShapeMath in(nb, l);
          Value index = args[0];
          if (index.getType() != nb.getI64Type())
            index = arith::ExtSIOp::create(nb, l, nb.getI64Type(), index);
          index =
              in.select(in.lt(index, in.c(0)), in.add(index, safeDepth), index);
          Value position =
              arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[axis]);
          return in.select(in.eq(index, position), on, off);
        });
  }
};

/// Resize with its sizes or scales read at run time. Per axis, the output
/// size (a size, or floor(in * scale)) and the scale of the coordinate
/// mapping (the scale, or size / in, rounded to f32), as graph.resize's
/// importer computes them at compile time. Negative sizes, scales not above
/// 0 or not finite, and a non-empty output of an empty input fall back to an
/// empty result.
struct ResizePattern : RuntimeShapePattern<graph::RuntimeResizeOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeResizeOp op, OpAdaptor a,
              ShapeMath &m) const override {
    OpBuilder &b = m.b;
    Location loc = m.loc;
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = inType.getRank();
    Type f32 = b.getF32Type(), f64 = b.getF64Type();
    auto fc = [&](double v) { return dlc::floatConstant(b, loc, f64, v); };
    auto fcmp = [&](arith::CmpFPredicate p, Value x, Value y) {
      return arith::CmpFOp::create(b, loc, p, x, y).getResult();
    };
    auto f32Exact = [&](Value v) -> Value { // an f64 holding the nearest f32
      Value narrow = arith::TruncFOp::create(b, loc, f32, v);
      return arith::ExtFOp::create(b, loc, f64, narrow);
    };
    // A length in f64 as an i64 size, bounded before the conversion (which
    // would be poison past i64; NaN becomes the bound, and is refused).
    auto toSize = [&](Value length) -> Value {
      length = arith::MinNumFOp::create(
          b, loc, length, fc(std::numeric_limits<double>::infinity()));
      Value bounded = arith::MaxNumFOp::create(
          b, loc,
          arith::MinNumFOp::create(b, loc, length,
                                   fc(double(4 * kMaxElements))),
          fc(0));
      Value isNaN = fcmp(arith::CmpFPredicate::UNO, length, length);
      bounded = arith::SelectOp::create(b, loc, isNaN,
                                        fc(double(4 * kMaxElements)), bounded);
      return arith::FPToSIOp::create(b, loc, b.getI64Type(), bounded);
    };
    bool isSizes = isa<IntegerType>(
        cast<RankedTensorType>(a.getTarget().getType()).getElementType());
    ArrayRef<int64_t> axes = op.getAxes();
    SmallVector<Value> sizes, ratios;
    for (auto [i, axis] : llvm::enumerate(axes)) {
      double in = double(inType.getDimSize(axis));
      if (isSizes) {
        Value size = m.at(a.getTarget(), i);
        m.refuse(m.lt(size, m.c(0)));
        sizes.push_back(size);
        ratios.push_back(arith::DivFOp::create(
            b, loc, arith::SIToFPOp::create(b, loc, f64, size), fc(in)));
        continue;
      }
      Value scale = m.at(a.getTarget(), i);
      if (scale.getType() != f32)
        scale = cast<FloatType>(scale.getType()).getWidth() > 32
                    ? arith::TruncFOp::create(b, loc, f32, scale).getResult()
                    : arith::ExtFOp::create(b, loc, f32, scale).getResult();
      scale = arith::ExtFOp::create(b, loc, f64, scale);
      // Not above 0 (NaN included), or infinite.
      m.refuse(m.orI(fcmp(arith::CmpFPredicate::ULE, scale, fc(0)),
                     fcmp(arith::CmpFPredicate::OEQ, scale,
                          fc(std::numeric_limits<double>::infinity()))));
      // Bounded before the conversion, which would be poison past i64.
      Value length = arith::MinimumFOp::create(
          b, loc,
          math::FloorOp::create(b, loc,
                                arith::MulFOp::create(b, loc, fc(in), scale)),
          fc(double(4 * kMaxElements)));
      length = arith::MaximumFOp::create(b, loc, length, fc(0));
      sizes.push_back(arith::FPToSIOp::create(b, loc, b.getI64Type(), length));
      ratios.push_back(scale);
    }
    StringRef policy = op.getPolicy();
    if (isSizes && policy != "stretch" && !axes.empty()) {
      // One ratio for all axes, the smallest (not_larger) or the largest;
      // sizes rounded half up.
      Value common = ratios[0];
      for (Value r : ArrayRef(ratios).drop_front())
        common = policy == "not_larger"
                     ? arith::MinimumFOp::create(b, loc, common, r).getResult()
                     : arith::MaximumFOp::create(b, loc, common, r).getResult();
      for (auto [i, axis] : llvm::enumerate(axes)) {
        Value length = math::FloorOp::create(
            b, loc,
            arith::AddFOp::create(
                b, loc,
                arith::MulFOp::create(b, loc, common,
                                      fc(double(inType.getDimSize(axis)))),
                fc(0.5)));
        sizes[i] = toSize(length);
        ratios[i] = common;
      }
    }
    SmallVector<Value> dims, fallback, scales(rank), outSizes;
    for (int64_t d = 0; d < rank; ++d) {
      dims.push_back(m.c(inType.getDimSize(d)));
      fallback.push_back(dims.back());
    }
    for (auto [i, axis] : llvm::enumerate(axes)) {
      // An empty input has nothing to interpolate from.
      if (inType.getDimSize(axis) == 0)
        m.refuse(m.ne(sizes[i], m.c(0)));
      dims[axis] = sizes[i];
      fallback[axis] = m.c(0);
      scales[axis] = f32Exact(ratios[i]);
    }
    m.refuseTooLarge(dims);
    outSizes = m.orFallback(dims, fallback);
    Value init = m.empty(outSizes, inType.getElementType(), op.getType());
    return dlc::buildResize(b, loc, a.getInput(), init, scales, outSizes,
                            dlc::ResizeMode::of(op));
  }
};

/// A reduction over axes read at run time. Each result element (the
/// kept-dims form) loops over the reduced elements in row-major order.
/// Axes out of range, and without keepdims an axis given twice, fall back to
/// reducing nothing (without keepdims: the first dims, as many as axes).
struct ReducePattern : RuntimeShapePattern<graph::RuntimeReduceOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeReduceOp op, OpAdaptor a,
              ShapeMath &m) const override {
    OpBuilder &b = m.b;
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t rank = inType.getRank();
    int64_t n = cast<RankedTensorType>(a.getAxes().getType()).getDimSize(0);
    Value no = arith::ConstantIntOp::create(b, m.loc, 0, 1);
    SmallVector<Value> mask(rank, no);
    for (int64_t i = 0; i < n; ++i) {
      Value axis = m.at(a.getAxes(), i);
      m.refuse(m.orI(m.lt(axis, m.c(-rank)), m.gt(axis, m.c(rank - 1))));
      axis = m.select(m.lt(axis, m.c(0)), m.add(axis, m.c(rank)), axis);
      for (int64_t d = 0; d < rank; ++d) {
        Value hit = m.eq(axis, m.c(d));
        if (!op.getKeepdims())
          m.refuse(m.andI(mask[d], hit));
        mask[d] = m.orI(mask[d], hit);
      }
    }
    SmallVector<Value> keepDims, sizes;
    Value count = m.c(1);
    for (int64_t d = 0; d < rank; ++d) {
      Value fallback =
          arith::ConstantIntOp::create(b, m.loc, !op.getKeepdims() && d < n, 1);
      mask[d] = m.select(m.bad, fallback, mask[d]);
      sizes.push_back(m.c(inType.getDimSize(d)));
      keepDims.push_back(m.select(mask[d], m.c(1), sizes[d]));
      count = m.mul(count, m.select(mask[d], sizes[d], m.c(1)));
    }
    Type element = inType.getElementType();
    Value init = m.empty(keepDims, element);
    Value input = a.getInput();
    StringRef kind = op.getKind();
    Value kept = generate(
        b, m.loc, init, {}, {},
        [&](OpBuilder &nb, Location l, ValueRange out, ValueRange) -> Value {
          ShapeMath in(nb, l);
          auto fc = [&](double v) {
            return dlc::floatConstant(nb, l, element, v);
          };
          // Folds x into the accumulator over the reduced elements.
          auto loop =
              [&](Value start,
                  function_ref<Value(OpBuilder &, Location, Value, Value)>
                      step) {
                auto forOp = scf::ForOp::create(
                    nb, l, arith::ConstantIndexOp::create(nb, l, 0),
                    in.index(count), arith::ConstantIndexOp::create(nb, l, 1),
                    ValueRange{start},
                    [&](OpBuilder &fb, Location fl, Value k, ValueRange acc) {
                      ShapeMath f(fb, fl);
                      Value rest = arith::IndexCastOp::create(
                          fb, fl, fb.getI64Type(), k);
                      SmallVector<Value> at(rank);
                      for (int64_t d = rank - 1; d >= 0; --d) {
                        Value o = arith::IndexCastOp::create(
                            fb, fl, fb.getI64Type(), out[d]);
                        at[d] = f.index(
                            f.select(mask[d], f.rem(rest, sizes[d]), o));
                        rest = f.select(mask[d], f.div(rest, sizes[d]), rest);
                      }
                      Value x = tensor::ExtractOp::create(fb, fl, input, at);
                      scf::YieldOp::create(fb, fl, step(fb, fl, x, acc[0]));
                    });
                return forOp.getResult(0);
              };
          auto addF = [](OpBuilder &fb, Location fl, Value x, Value y) {
            return arith::AddFOp::create(fb, fl, x, y).getResult();
          };
          auto sumOf =
              [&](function_ref<Value(OpBuilder &, Location, Value)> f) {
                return loop(
                    fc(0), [&](OpBuilder &fb, Location fl, Value x, Value acc) {
                      return addF(fb, fl, acc, f ? f(fb, fl, x) : x);
                    });
              };
          auto square = [](OpBuilder &fb, Location fl, Value x) {
            return arith::MulFOp::create(fb, fl, x, x).getResult();
          };
          if (kind == "sum")
            return sumOf(nullptr);
          if (kind == "mean") {
            Value total = arith::SIToFPOp::create(nb, l, element, count);
            return arith::DivFOp::create(nb, l, sumOf(nullptr), total);
          }
          if (kind == "l1")
            return sumOf([](OpBuilder &fb, Location fl, Value x) {
              return math::AbsFOp::create(fb, fl, x).getResult();
            });
          if (kind == "sum_square")
            return sumOf(square);
          if (kind == "l2")
            return math::SqrtOp::create(nb, l, sumOf(square));
          if (kind == "log_sum")
            return math::LogOp::create(nb, l, sumOf(nullptr));
          if (kind == "prod")
            return loop(
                fc(1), [](OpBuilder &fb, Location fl, Value x, Value acc) {
                  return arith::MulFOp::create(fb, fl, acc, x).getResult();
                });
          bool isMin = kind == "min";
          Value extreme = loop(
              fc(isMin ? std::numeric_limits<double>::infinity()
                       : -std::numeric_limits<double>::infinity()),
              [&](OpBuilder &fb, Location fl, Value x, Value acc) -> Value {
                if (isMin)
                  return arith::MinimumFOp::create(fb, fl, acc, x);
                return arith::MaximumFOp::create(fb, fl, acc, x);
              });
          if (kind != "log_sum_exp")
            return extreme;
          // Shifted by the max to stay finite.
          Value shifted = sumOf([&](OpBuilder &fb, Location fl, Value x) {
            return math::ExpOp::create(
                       fb, fl, arith::SubFOp::create(fb, fl, x, extreme))
                .getResult();
          });
          return addF(nb, l, math::LogOp::create(nb, l, shifted), extreme);
        });
    if (op.getKeepdims())
      return kept;
    // Without keepdims: the dims not reduced, in order (dim j of the result
    // is the j-th unreduced one); the elements keep their order.
    int64_t outRank = rank - n;
    SmallVector<Value> dims(outRank, m.c(0));
    Value position = m.c(0);
    for (int64_t d = 0; d < rank; ++d) {
      for (int64_t j = 0; j < outRank; ++j)
        dims[j] = m.select(m.andI(m.eq(position, m.c(j)), m.eq(mask[d], no)),
                           sizes[d], dims[j]);
      position = m.add(position, m.select(mask[d], m.c(0), m.c(1)));
    }
    auto shapeType = RankedTensorType::get({outRank}, b.getI64Type());
    Value shape = tensor::FromElementsOp::create(b, m.loc, shapeType, dims);
    return tensor::ReshapeOp::create(b, m.loc, op.getType(), kept, shape);
  }
};

/// Hann, Hamming and Blackman windows of a size read at run time, in f64
/// as the importer computes a constant one: sum_k (-1)^k a_k
/// cos(2 pi k i / D). Falls back to an empty window.
struct WindowPattern : RuntimeShapePattern<graph::RuntimeWindowOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeWindowOp op, OpAdaptor a,
              ShapeMath &m) const override {
    Value size = m.at(a.getSize(), 0);
    m.refuse(m.lt(size, m.c(0)));
    m.refuseTooLarge({size});
    Value n = m.orFallback({size}, {m.c(0)})[0];
    Type f64 = m.b.getF64Type();
    Value denominator = arith::SIToFPOp::create(
        m.b, m.loc, f64, op.getPeriodic() ? n : m.sub(n, m.c(1)));
    Type element = op.getElement();
    Value init = m.empty({n}, element);
    ArrayRef<double> terms = op.getTerms();
    return generate(
        m.b, m.loc, init, {}, {},
        [&](OpBuilder &nb, Location l, ValueRange indices, ValueRange) {
          auto c = [&](double v) { return dlc::floatConstant(nb, l, f64, v); };
          Value i = arith::SIToFPOp::create(
              nb, l, f64,
              arith::IndexCastOp::create(nb, l, nb.getI64Type(), indices[0]));
          Value sum = c(0);
          for (auto [k, term] : llvm::enumerate(terms)) {
            Value angle = arith::DivFOp::create(
                nb, l, arith::MulFOp::create(nb, l, c(2 * M_PI * double(k)), i),
                denominator);
            Value v = arith::MulFOp::create(nb, l, c((k % 2 ? -1 : 1) * term),
                                            math::CosOp::create(nb, l, angle));
            sum = arith::AddFOp::create(nb, l, sum, v);
          }
          if (isa<FloatType>(element))
            return element.isF64()
                       ? sum
                       : arith::TruncFOp::create(nb, l, element, sum)
                             .getResult();
          return arith::FPToSIOp::create(nb, l, element, sum).getResult();
        });
  }
};

/// Whether scalar `v` (any number type, or a bool) is nonzero; NaN is.
Value isNonZero(OpBuilder &b, Location loc, Value v) {
  if (isa<FloatType>(v.getType()))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                 dlc::floatConstant(b, loc, v.getType(), 0.0));
  return arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ne, v,
      arith::ConstantIntOp::create(b, loc, v.getType(), 0));
}

/// The indices of row-major position `flat` (index) in static `type`.
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value flat,
                               RankedTensorType type) {
  SmallVector<Value> at(type.getRank());
  for (int64_t d = type.getRank() - 1; d >= 0; --d) {
    Value size = arith::ConstantIndexOp::create(b, loc, type.getDimSize(d));
    at[d] = arith::RemUIOp::create(b, loc, flat, size);
    flat = arith::DivUIOp::create(b, loc, flat, size);
  }
  return at;
}

/// The element of static `input` at row-major position `flat` (index).
Value extractFlat(OpBuilder &b, Location loc, Value input, Value flat) {
  return tensor::ExtractOp::create(
      b, loc, input,
      delinearize(b, loc, flat, cast<RankedTensorType>(input.getType())));
}

/// Loops over the `n` row-major positions of `input`, counting those whose
/// element is nonzero.
Value countNonZero(OpBuilder &b, Location loc, Value input, int64_t n) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, arith::ConstantIndexOp::create(b, loc, n), one,
      ValueRange{zero},
      [&](OpBuilder &nb, Location l, Value i, ValueRange count) {
        Value hit = isNonZero(nb, l, extractFlat(nb, l, input, i));
        Value next = arith::AddIOp::create(nb, l, count[0], one);
        scf::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, hit, next, count[0])});
      });
  return loop.getResult(0);
}

/// Loops over the `n` row-major positions of `input` and, for each nonzero
/// element, has `write` insert into `init` at the next slot `k`.
Value forEachNonZero(OpBuilder &b, Location loc, Value input, int64_t n,
                     Value init,
                     function_ref<Value(OpBuilder &, Location, Value tensor,
                                        Value position, Value k)>
                         write) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, arith::ConstantIndexOp::create(b, loc, n), one,
      ValueRange{init, zero},
      [&](OpBuilder &nb, Location l, Value i, ValueRange state) {
        Value hit = isNonZero(nb, l, extractFlat(nb, l, input, i));
        auto ifOp = scf::IfOp::create(
            nb, l, hit,
            [&](OpBuilder &tb, Location tl) {
              Value written = write(tb, tl, state[0], i, state[1]);
              scf::YieldOp::create(
                  tb, tl,
                  ValueRange{written,
                             arith::AddIOp::create(tb, tl, state[1], one)});
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(eb, el, state);
            });
        scf::YieldOp::create(nb, l, ifOp.getResults());
      });
  return loop.getResult(0);
}

/// Compress: the positions of the true entries (up to the axis' size), then
/// the input's slices at those positions.
struct CompressPattern : OpConversionPattern<graph::RuntimeCompressOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeCompressOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    int64_t axis = op.getAxis();
    Value condition = a.getCondition();
    int64_t length = cast<RankedTensorType>(condition.getType()).getDimSize(0);
    int64_t n = std::min(inType.getDimSize(axis), length);
    if (n < length)
      condition = tensor::ExtractSliceOp::create(
          rewriter, loc, condition,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
    Value count = countNonZero(rewriter, loc, condition, n);
    Value positions = forEachNonZero(
        rewriter, loc, condition, n,
        tensor::EmptyOp::create(rewriter, loc, ArrayRef<OpFoldResult>{count},
                                rewriter.getIndexType()),
        [](OpBuilder &b, Location l, Value t, Value position, Value k) {
          return tensor::InsertOp::create(b, l, position, t, k).getResult();
        });
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < inType.getRank(); ++d)
      sizes.push_back(d == axis ? OpFoldResult(count)
                                : rewriter.getIndexAttr(inType.getDimSize(d)));
    Value init =
        tensor::EmptyOp::create(rewriter, loc, sizes, inType.getElementType());
    Value input = a.getInput();
    rewriter.replaceOp(
        op, generate(rewriter, loc, init, {}, {},
                     [&](OpBuilder &b, Location l, ValueRange indices,
                         ValueRange) -> Value {
                       SmallVector<Value> at(indices);
                       at[axis] = tensor::ExtractOp::create(b, l, positions,
                                                            indices[axis]);
                       return tensor::ExtractOp::create(b, l, input, at);
                     }));
    return success();
  }
};

/// NonZero: count, then write each nonzero element's coordinates as column
/// k of the [rank, count] result.
struct NonZeroPattern : OpConversionPattern<graph::RuntimeNonZeroOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeNonZeroOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = a.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    int64_t n = inType.getNumElements(), rank = inType.getRank();
    Value count = countNonZero(rewriter, loc, input, n);
    Value init = tensor::EmptyOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(rank), count},
        rewriter.getI64Type());
    rewriter.replaceOp(
        op, forEachNonZero(
                rewriter, loc, input, n, init,
                [&](OpBuilder &b, Location l, Value t, Value flat, Value k) {
                  for (auto [d, at] :
                       llvm::enumerate(delinearize(b, l, flat, inType))) {
                    Value coordinate =
                        arith::IndexCastOp::create(b, l, b.getI64Type(), at);
                    t = tensor::InsertOp::create(
                        b, l, coordinate, t,
                        ValueRange{arith::ConstantIndexOp::create(b, l, d), k});
                  }
                  return t;
                }));
    return success();
  }
};

/// NonMaxSuppression as loops: per batch and class, a flag per box (its
/// score is above the threshold and it is not dropped yet), then while
/// boxes are left and fewer than the count are chosen: the best flagged box
/// is chosen (its row (batch, class, box) appended to the result) and the
/// flagged boxes that overlap it too much lose their flags. The result has
/// room for every box of every class; its first `total` rows are returned.
struct NmsPattern : OpConversionPattern<graph::RuntimeNmsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeNmsOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    ShapeMath m(b, loc);
    Value boxes = a.getBoxes(), scores = a.getScores();
    auto scoreType = cast<RankedTensorType>(scores.getType());
    int64_t batch = scoreType.getDimSize(0), classes = scoreType.getDimSize(1),
            n = scoreType.getDimSize(2);
    Type f = scoreType.getElementType();
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    // At most n per class: the count clamped to [0, n].
    Value limit = m.index(m.clamp(m.at(a.getMaxPerClass(), 0), m.c(0), m.c(n)));
    Value iouLimit = m.at(a.getIouThreshold(), 0);
    Value scoreLimit = m.at(a.getScoreThreshold(), 0);
    bool center = op.getCenterPointBox(), filter = op.getHasScoreThreshold();
    auto fc = [&](double v) { return dlc::floatConstant(b, loc, f, v); };
    auto fmin = [&](Value x, Value y) -> Value {
      return arith::MinimumFOp::create(b, loc, x, y);
    };
    auto fmax = [&](Value x, Value y) -> Value {
      return arith::MaximumFOp::create(b, loc, x, y);
    };
    auto fsub = [&](Value x, Value y) -> Value {
      return arith::SubFOp::create(b, loc, x, y);
    };
    auto fmul = [&](Value x, Value y) -> Value {
      return arith::MulFOp::create(b, loc, x, y);
    };
    auto fgt = [&](Value x, Value y) -> Value {
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, y);
    };
    // Box i of batch `s` as (ymin, xmin, ymax, xmax).
    auto corners = [&](Value s, Value i) {
      SmallVector<Value> c;
      for (int64_t k = 0; k < 4; ++k)
        c.push_back(
            tensor::ExtractOp::create(b, loc, boxes, ValueRange{s, i, idx(k)}));
      if (center) {
        // (x, y, w, h): half sizes either side.
        Value half = fc(0.5);
        Value hw = fmul(c[2], half), hh = fmul(c[3], half);
        return SmallVector<Value>{fsub(c[1], hh), fsub(c[0], hw),
                                  arith::AddFOp::create(b, loc, c[1], hh),
                                  arith::AddFOp::create(b, loc, c[0], hw)};
      }
      return SmallVector<Value>{fmin(c[0], c[2]), fmin(c[1], c[3]),
                                fmax(c[0], c[2]), fmax(c[1], c[3])};
    };
    auto area = [&](ArrayRef<Value> c) {
      return fmul(fsub(c[2], c[0]), fsub(c[3], c[1]));
    };

    auto flagType = RankedTensorType::get({n}, b.getI1Type());
    Value rows = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{batch * classes * n, 3}, b.getI64Type());
    auto pairs = scf::ForOp::create(b, loc, idx(0), idx(batch * classes),
                                    idx(1), ValueRange{rows, idx(0)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(pairs.getBody());
      Value pair = pairs.getInductionVar();
      Value s = arith::DivUIOp::create(b, loc, pair, idx(classes));
      Value cls = arith::RemUIOp::create(b, loc, pair, idx(classes));
      auto scoreAt = [&](Value i) -> Value {
        return tensor::ExtractOp::create(b, loc, scores, ValueRange{s, cls, i});
      };
      // The boxes in play: all, or those scored above the threshold.
      Value flags =
          tensor::EmptyOp::create(b, loc, flagType.getShape(), b.getI1Type());
      auto init =
          scf::ForOp::create(b, loc, idx(0), idx(n), idx(1), ValueRange{flags});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(init.getBody());
        Value i = init.getInductionVar();
        Value keep =
            filter ? fgt(scoreAt(i), scoreLimit)
                   : arith::ConstantIntOp::create(b, loc, 1, 1).getResult();
        scf::YieldOp::create(
            b, loc,
            Value(tensor::InsertOp::create(b, loc, keep,
                                           init.getRegionIterArgs()[0], i)));
      }
      // (flags, chosen, rows, total); the after region also gets the box
      // chosen.
      SmallVector<Type> types = {flagType, b.getIndexType(), rows.getType(),
                                 b.getIndexType()};
      SmallVector<Value> inits = {init.getResult(0), idx(0),
                                  pairs.getRegionIterArgs()[0],
                                  pairs.getRegionIterArgs()[1]};
      SmallVector<Type> afterTypes(types);
      afterTypes.push_back(b.getIndexType());
      auto choose = scf::WhileOp::create(b, loc, afterTypes, inits);
      SmallVector<Location> locs(types.size(), loc);
      {
        OpBuilder::InsertionGuard g(b);
        Block *before = b.createBlock(&choose.getBefore(), {}, types, locs);
        Value live = before->getArgument(0);
        // The first flagged box of the highest score.
        auto best = scf::ForOp::create(
            b, loc, idx(0), idx(n), idx(1),
            ValueRange{idx(0), fc(0.0),
                       arith::ConstantIntOp::create(b, loc, 0, 1)});
        {
          OpBuilder::InsertionGuard h(b);
          b.setInsertionPointToStart(best.getBody());
          Value i = best.getInductionVar();
          auto args = best.getRegionIterArgs();
          Value score = scoreAt(i);
          Value flagged = tensor::ExtractOp::create(b, loc, live, i);
          Value better = m.andI(
              flagged, m.orI(arith::XOrIOp::create(
                                 b, loc, args[2],
                                 arith::ConstantIntOp::create(b, loc, 1, 1)),
                             fgt(score, args[1])));
          scf::YieldOp::create(b, loc,
                               ValueRange{m.select(better, i, args[0]),
                                          m.select(better, score, args[1]),
                                          m.orI(args[2], flagged)});
        }
        Value go =
            m.andI(best.getResult(2),
                   arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         before->getArgument(1), limit));
        SmallVector<Value> carried(before->getArguments());
        carried.push_back(best.getResult(0));
        scf::ConditionOp::create(b, loc, go, carried);
      }
      {
        OpBuilder::InsertionGuard g(b);
        SmallVector<Location> afterLocs(afterTypes.size(), loc);
        Block *after =
            b.createBlock(&choose.getAfter(), {}, afterTypes, afterLocs);
        Value live = after->getArgument(0), chosen = after->getArgument(1);
        Value out = after->getArgument(2), total = after->getArgument(3);
        Value pick = after->getArgument(4);
        auto i64 = [&](Value v) -> Value {
          return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
        };
        for (auto [k, v] :
             llvm::enumerate(SmallVector<Value>{i64(s), i64(cls), i64(pick)}))
          out = tensor::InsertOp::create(b, loc, v, out,
                                         ValueRange{total, idx(k)});
        live = tensor::InsertOp::create(
            b, loc, arith::ConstantIntOp::create(b, loc, 0, 1), live, pick);
        SmallVector<Value> picked = corners(s, pick);
        Value pickedArea = area(picked);
        auto drop = scf::ForOp::create(b, loc, idx(0), idx(n), idx(1),
                                       ValueRange{live});
        {
          OpBuilder::InsertionGuard h(b);
          b.setInsertionPointToStart(drop.getBody());
          Value i = drop.getInductionVar();
          Value flags = drop.getRegionIterArgs()[0];
          SmallVector<Value> other = corners(s, i);
          Value zero = fc(0.0);
          Value ih = fmax(
              fsub(fmin(picked[2], other[2]), fmax(picked[0], other[0])), zero);
          Value iw = fmax(
              fsub(fmin(picked[3], other[3]), fmax(picked[1], other[1])), zero);
          Value inter = fmul(ih, iw);
          Value otherArea = area(other);
          Value uni =
              fsub(arith::AddFOp::create(b, loc, pickedArea, otherArea), inter);
          // Boxes without area, or without overlap, are never dropped.
          Value overlaps =
              m.andI(m.andI(fgt(inter, zero), fgt(uni, zero)),
                     m.andI(fgt(pickedArea, zero), fgt(otherArea, zero)));
          Value iou = arith::DivFOp::create(b, loc, inter, uni);
          Value dropIt = m.andI(overlaps, fgt(iou, iouLimit));
          Value flag = tensor::ExtractOp::create(b, loc, flags, i);
          Value kept =
              m.andI(flag, arith::XOrIOp::create(
                               b, loc, dropIt,
                               arith::ConstantIntOp::create(b, loc, 1, 1)));
          scf::YieldOp::create(
              b, loc, Value(tensor::InsertOp::create(b, loc, kept, flags, i)));
        }
        Value one = idx(1);
        scf::YieldOp::create(
            b, loc,
            ValueRange{drop.getResult(0),
                       arith::AddIOp::create(b, loc, chosen, one), out,
                       arith::AddIOp::create(b, loc, total, one)});
      }
      scf::YieldOp::create(
          b, loc, ValueRange{choose.getResult(2), choose.getResult(3)});
    }
    Value total = pairs.getResult(1);
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, cast<RankedTensorType>(op.getType()), pairs.getResult(0),
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{total, b.getIndexAttr(3)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    return success();
  }
};

/// Unique as loops over the L slices (elements when flattened) of the
/// input viewed as [outer, L, inner]: each slice's first equal slice, the
/// first occurrences in order (selection-sorted by their elements in
/// row-major order when `sorted`), each one's rank, and from those the four
/// results, the first three sized by the count U of distinct slices.
/// O(L^2) slice comparisons: for the small tensors Unique sees in models.
struct UniquePattern : OpConversionPattern<graph::RuntimeUniqueOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeUniqueOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    ShapeMath m(b, loc);
    Value input = a.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    int64_t rank = inType.getRank();
    Type elem = inType.getElementType();
    int64_t length = inType.getNumElements(), outer = 1, inner = 1;
    int64_t axis = op.getAxis();
    if (!op.getFlatten()) {
      length = inType.getDimSize(axis);
      for (int64_t d = 0; d < rank; ++d)
        (d < axis ? outer : inner) *= d == axis ? 1 : inType.getDimSize(d);
    }
    int64_t sliceSize = outer * inner;
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto add = [&](Value x, Value y) -> Value {
      return arith::AddIOp::create(b, loc, x, y);
    };
    auto mul = [&](Value x, Value y) -> Value {
      return arith::MulIOp::create(b, loc, x, y);
    };
    auto extract = [&](Value t, ValueRange at) -> Value {
      return tensor::ExtractOp::create(b, loc, t, at);
    };
    auto insert = [&](Value v, Value t, ValueRange at) -> Value {
      return tensor::InsertOp::create(b, loc, v, t, at);
    };
    ReassociationIndices all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(d);
    Value flat = tensor::CollapseShapeOp::create(
        b, loc, input, ArrayRef<ReassociationIndices>{all});
    // Element s (row-major over [outer, inner]) of slice k.
    auto elementAt = [&](Value k, Value s) {
      Value o = arith::DivUIOp::create(b, loc, s, idx(inner));
      Value i = arith::RemUIOp::create(b, loc, s, idx(inner));
      return extract(flat,
                     add(mul(add(mul(o, idx(length)), k), idx(inner)), i));
    };
    bool isFloat = isa<FloatType>(elem);
    auto compare = [&](Value x, Value y, bool less) -> Value {
      if (isFloat)
        return arith::CmpFOp::create(
            b, loc,
            less ? arith::CmpFPredicate::OLT : arith::CmpFPredicate::OEQ, x, y);
      auto p = !less                  ? arith::CmpIPredicate::eq
               : op.getUnsignedInts() ? arith::CmpIPredicate::ult
                                      : arith::CmpIPredicate::slt;
      return arith::CmpIOp::create(b, loc, p, x, y);
    };
    Value falseV = arith::ConstantIntOp::create(b, loc, 0, 1);
    Value trueV = arith::ConstantIntOp::create(b, loc, 1, 1);
    // (slices j and k are equal, slice j < slice k): the first element
    // that differs decides.
    auto order = [&](Value j, Value k) -> std::pair<Value, Value> {
      auto scan = scf::ForOp::create(b, loc, idx(0), idx(sliceSize), idx(1),
                                     ValueRange{falseV, falseV});
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(scan.getBody());
      Value s = scan.getInductionVar();
      Value decided = scan.getRegionIterArgs()[0];
      Value x = elementAt(j, s), y = elementAt(k, s);
      Value eq = compare(x, y, false), lt = compare(x, y, true);
      scf::YieldOp::create(
          b, loc,
          ValueRange{m.orI(decided, arith::XOrIOp::create(b, loc, eq, trueV)),
                     m.select(decided, scan.getRegionIterArgs()[1], lt)});
      b.setInsertionPointAfter(scan);
      return {arith::XOrIOp::create(b, loc, scan.getResult(0), trueV),
              scan.getResult(1)};
    };
    auto indexTensor = RankedTensorType::get({length}, b.getIndexType());
    Value firstOf = tensor::EmptyOp::create(b, loc, indexTensor.getShape(),
                                            b.getIndexType());
    Value firsts = tensor::EmptyOp::create(b, loc, indexTensor.getShape(),
                                           b.getIndexType());
    // Each slice's first equal slice; the first occurrences in order.
    auto scanSlices = scf::ForOp::create(b, loc, idx(0), idx(length), idx(1),
                                         ValueRange{firstOf, firsts, idx(0)});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(scanSlices.getBody());
      Value k = scanSlices.getInductionVar();
      auto args = scanSlices.getRegionIterArgs();
      auto search = scf::ForOp::create(b, loc, idx(0), add(k, idx(1)), idx(1),
                                       ValueRange{falseV, k});
      {
        OpBuilder::InsertionGuard h(b);
        b.setInsertionPointToStart(search.getBody());
        Value j = search.getInductionVar();
        Value found = search.getRegionIterArgs()[0];
        Value equal = order(j, k).first;
        scf::YieldOp::create(
            b, loc,
            ValueRange{m.orI(found, equal),
                       m.select(found, search.getRegionIterArgs()[1], j)});
      }
      Value first = search.getResult(1);
      Value isNew =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, first, k);
      Value count = args[2];
      scf::YieldOp::create(
          b, loc,
          ValueRange{insert(first, args[0], k), insert(k, args[1], count),
                     m.select(isNew, add(count, idx(1)), count)});
    }
    firstOf = scanSlices.getResult(0);
    firsts = scanSlices.getResult(1);
    Value distinct = scanSlices.getResult(2);
    if (op.getSorted()) {
      // Selection sort of the first occurrences by their slices.
      auto sort = scf::ForOp::create(b, loc, idx(0), distinct, idx(1),
                                     ValueRange{firsts});
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(sort.getBody());
      Value r = sort.getInductionVar();
      Value list = sort.getRegionIterArgs()[0];
      auto least = scf::ForOp::create(b, loc, add(r, idx(1)), distinct, idx(1),
                                      ValueRange{r});
      {
        OpBuilder::InsertionGuard h(b);
        b.setInsertionPointToStart(least.getBody());
        Value q = least.getInductionVar();
        Value best = least.getRegionIterArgs()[0];
        Value less = order(extract(list, q), extract(list, best)).second;
        scf::YieldOp::create(b, loc, m.select(less, q, best));
      }
      Value best = least.getResult(0);
      Value atR = extract(list, r), atBest = extract(list, best);
      list = insert(atBest, list, r);
      list = insert(atR, list, best);
      scf::YieldOp::create(b, loc, list);
      b.setInsertionPointAfter(sort);
      firsts = sort.getResult(0);
    }
    // Each first occurrence's rank; each slice's, and the counts.
    Value rankOf = tensor::EmptyOp::create(b, loc, indexTensor.getShape(),
                                           b.getIndexType());
    auto ranks = scf::ForOp::create(b, loc, idx(0), distinct, idx(1),
                                    ValueRange{rankOf});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ranks.getBody());
      Value r = ranks.getInductionVar();
      scf::YieldOp::create(
          b, loc, insert(r, ranks.getRegionIterArgs()[0], extract(firsts, r)));
    }
    rankOf = ranks.getResult(0);
    Type i64 = b.getI64Type();
    auto toI64 = [&](Value v) -> Value {
      return arith::IndexCastOp::create(b, loc, i64, v);
    };
    Value zeros =
        linalg::FillOp::create(
            b, loc, arith::ConstantIntOp::create(b, loc, 0, 64).getResult(),
            Value(tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{length},
                                          i64)))
            .getResult(0);
    Value inverse =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{length}, i64);
    auto tally = scf::ForOp::create(b, loc, idx(0), idx(length), idx(1),
                                    ValueRange{inverse, zeros});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(tally.getBody());
      Value k = tally.getInductionVar();
      auto args = tally.getRegionIterArgs();
      Value r = extract(rankOf, extract(firstOf, k));
      Value counted =
          arith::AddIOp::create(b, loc, extract(args[1], r),
                                arith::ConstantIntOp::create(b, loc, 1, 64));
      scf::YieldOp::create(b, loc,
                           ValueRange{insert(toI64(r), args[0], k),
                                      insert(counted, args[1], r)});
    }
    inverse = tally.getResult(0);
    auto firstU = [&](Value t) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({ShapedType::kDynamic}, i64), t,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{distinct},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    };
    Value counts = firstU(tally.getResult(1));
    Value indices = generate(
        b, loc,
        tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{distinct}, i64),
        {}, {}, [&](OpBuilder &nb, Location l, ValueRange at, ValueRange) {
          return arith::IndexCastOp::create(
                     nb, l, i64, tensor::ExtractOp::create(nb, l, firsts, at))
              .getResult();
        });
    // The distinct slices.
    auto uniqueType = cast<RankedTensorType>(op.getUnique().getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < uniqueType.getRank(); ++d)
      sizes.push_back(
          uniqueType.isDynamicDim(d)
              ? OpFoldResult(distinct)
              : OpFoldResult(b.getIndexAttr(uniqueType.getDimSize(d))));
    int64_t slicedDim = op.getFlatten() ? 0 : axis;
    Value unique = generate(
        b, loc, tensor::EmptyOp::create(b, loc, sizes, elem), {}, {},
        [&](OpBuilder &nb, Location l, ValueRange at, ValueRange) -> Value {
          Value k = tensor::ExtractOp::create(nb, l, firsts, at[slicedDim]);
          if (op.getFlatten())
            return tensor::ExtractOp::create(nb, l, flat, k);
          SmallVector<Value> from(at);
          from[axis] = k;
          return tensor::ExtractOp::create(nb, l, input, from);
        });
    rewriter.replaceOp(op, ValueRange{unique, indices, inverse, counts});
    return success();
  }
};

/// TopK with k read at run time: k outside [0, the axis' size] falls back
/// to 0.
struct TopKPattern : OpConversionPattern<graph::RuntimeTopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeTopKOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkNumbered(op, rewriter)))
      return failure();
    ShapeMath m(rewriter, op.getLoc());
    auto inType = cast<RankedTensorType>(a.getInput().getType());
    Value k = m.at(a.getK(), 0);
    m.refuse(
        m.orI(m.lt(k, m.c(0)), m.gt(k, m.c(inType.getDimSize(op.getAxis())))));
    Value safe = m.index(m.orFallback({k}, {m.c(0)})[0]);
    auto [values, indices] =
        dlc::buildTopK(rewriter, op.getLoc(), a.getInput(), op.getAxis(),
                       op.getLargest(), safe);
    m.report(op);
    rewriter.replaceOp(op, ValueRange{values, indices});
    return success();
  }
};

/// A dim of `t` as i64.
Value dimOf(ShapeMath &m, Value t, int64_t d) {
  auto type = cast<RankedTensorType>(t.getType());
  if (!type.isDynamicDim(d))
    return m.c(type.getDimSize(d));
  return arith::IndexCastOp::create(m.b, m.loc, m.b.getI64Type(),
                                    tensor::DimOp::create(m.b, m.loc, t, d));
}

/// `t`'s elements in row-major order as a 1-D tensor, and their count.
std::pair<Value, Value> flattenTensor(ShapeMath &m, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value count = m.c(1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    count = m.mul(count, dimOf(m, t, d));
  if (type.getRank() == 1)
    return {t, count};
  if (type.getRank() == 0)
    return {tensor::FromElementsOp::create(
                m.b, m.loc, RankedTensorType::get({1}, type.getElementType()),
                ValueRange{tensor::ExtractOp::create(m.b, m.loc, t)}),
            count};
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return {tensor::CollapseShapeOp::create(m.b, m.loc, t,
                                          ArrayRef<ReassociationIndices>{all}),
          count};
}

/// The table row of `t` stored at `offset`: offset, rank, dims, zeros.
SmallVector<Value> sequenceRow(ShapeMath &m, Value t, Value offset) {
  int64_t rank = cast<RankedTensorType>(t.getType()).getRank();
  SmallVector<Value> row = {offset, m.c(rank)};
  for (int64_t d = 0; d < rank; ++d)
    row.push_back(dimOf(m, t, d));
  while (row.size() < graph::kSequenceRowWidth)
    row.push_back(m.c(0));
  return row;
}

/// `values` with `flat` (`count` elements) appended.
/// `values` with the 1-D `flat` (`count` elements) written from `at` on.
Value writeValues(ShapeMath &m, Value values, Value flat, Value count,
                  Value at) {
  // Sizes given as values: the slice's type says they are dynamic.
  Type element = cast<RankedTensorType>(values.getType()).getElementType();
  flat = tensor::CastOp::create(
      m.b, m.loc, RankedTensorType::get({ShapedType::kDynamic}, element), flat);
  return tensor::InsertSliceOp::create(
      m.b, m.loc, flat, values, ArrayRef<OpFoldResult>{m.index(at)},
      ArrayRef<OpFoldResult>{m.index(count)},
      ArrayRef<OpFoldResult>{m.b.getIndexAttr(1)});
}

/// `values` with `flat` (`count` elements) appended.
Value appendValues(ShapeMath &m, Value values, Value flat, Value count) {
  Value length = dimOf(m, values, 0);
  Type element = cast<RankedTensorType>(values.getType()).getElementType();
  Value out = m.empty({m.add(length, count)}, element);
  out = writeValues(m, out, values, length, m.c(0));
  return writeValues(m, out, flat, count, length);
}

/// Copies rows [from, from + count) of `table` to rows [to, ...) of `out`.
Value copyRows(ShapeMath &m, Value table, Value out, Value from, Value count,
               Value to) {
  OpFoldResult zero = m.b.getIndexAttr(0), one = m.b.getIndexAttr(1),
               width = m.b.getIndexAttr(graph::kSequenceRowWidth);
  Value rows = tensor::ExtractSliceOp::create(
      m.b, m.loc, table, ArrayRef<OpFoldResult>{m.index(from), zero},
      ArrayRef<OpFoldResult>{m.index(count), width},
      ArrayRef<OpFoldResult>{one, one});
  return tensor::InsertSliceOp::create(
      m.b, m.loc, rows, out, ArrayRef<OpFoldResult>{m.index(to), zero},
      ArrayRef<OpFoldResult>{m.index(count), width},
      ArrayRef<OpFoldResult>{one, one});
}

/// `table` with row `at` (i64) set to `row` (zeros after it).
Value placeRow(ShapeMath &m, ArrayRef<Value> row, Value table, Value at) {
  SmallVector<Value> padded(row);
  padded.resize(graph::kSequenceRowWidth, m.c(0));
  Value rowTensor = tensor::FromElementsOp::create(
      m.b, m.loc,
      RankedTensorType::get({1, graph::kSequenceRowWidth}, m.b.getI64Type()),
      padded);
  return copyRows(m, rowTensor, table, m.c(0), m.c(1), at);
}

/// A position in a sequence of `rows` tensors, negative ones from the end;
/// refused outside [0, rows) (`end`: [0, rows]).
Value sequencePosition(ShapeMath &m, Value position, Value rows, bool end) {
  Value p = m.at(position, 0);
  p = m.select(m.lt(p, m.c(0)), m.add(p, rows), p);
  m.refuse(m.orI(m.lt(p, m.c(0)),
                 end ? m.gt(p, rows) : m.gt(m.add(p, m.c(1)), rows)));
  return p;
}

RankedTensorType tableType(MLIRContext *ctx) {
  return RankedTensorType::get({ShapedType::kDynamic, graph::kSequenceRowWidth},
                               IntegerType::get(ctx, 64));
}

/// SequenceConstruct: the tensors one after the other; the table a
/// constant-shaped tensor of their rows.
struct SequenceConstructPattern
    : OpConversionPattern<graph::RuntimeSequenceConstructOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeSequenceConstructOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    ShapeMath m(rewriter, op.getLoc());
    Type element = op.getElementType();
    Value values = m.empty({m.c(0)}, element);
    SmallVector<Value> rows;
    for (Value t : a.getTensors()) {
      auto [flat, count] = flattenTensor(m, t);
      llvm::append_range(rows, sequenceRow(m, t, dimOf(m, values, 0)));
      values = appendValues(m, values, flat, count);
    }
    auto type = tableType(getContext());
    Value table;
    if (rows.empty()) {
      table = m.empty({m.c(0), m.c(graph::kSequenceRowWidth)},
                      rewriter.getI64Type(), type);
    } else {
      table = tensor::FromElementsOp::create(
          rewriter, op.getLoc(),
          RankedTensorType::get(
              {int64_t(rows.size()) / graph::kSequenceRowWidth,
               graph::kSequenceRowWidth},
              rewriter.getI64Type()),
          rows);
      table = tensor::CastOp::create(rewriter, op.getLoc(), type, table);
    }
    rewriter.replaceOp(op, ValueRange{values, table});
    return success();
  }
};

/// SequenceInsert: the tensor's elements appended to the values, its row
/// inserted into the table.
struct SequenceInsertPattern
    : RuntimeShapePattern<graph::RuntimeSequenceInsertOp, SmallVector<Value>> {
  using RuntimeShapePattern::RuntimeShapePattern;
  SmallVector<Value> build(graph::RuntimeSequenceInsertOp op, OpAdaptor a,
                           ShapeMath &m) const override {
    Value rows = dimOf(m, a.getTable(), 0);
    Value p = a.getPosition() ? sequencePosition(m, a.getPosition(), rows,
                                                 /*end=*/true)
                              : rows;
    p = m.select(m.bad, rows, p);
    auto [flat, count] = flattenTensor(m, a.getTensor());
    SmallVector<Value> row =
        sequenceRow(m, a.getTensor(), dimOf(m, a.getValues(), 0));
    Value values = appendValues(m, a.getValues(), flat, count);
    Value table = m.empty({m.add(rows, m.c(1)), m.c(graph::kSequenceRowWidth)},
                          m.b.getI64Type(), tableType(getContext()));
    table = copyRows(m, a.getTable(), table, m.c(0), p, m.c(0));
    table = placeRow(m, row, table, p);
    table =
        copyRows(m, a.getTable(), table, p, m.sub(rows, p), m.add(p, m.c(1)));
    return {values, table};
  }
};

/// SequenceErase: the table without the row (the values stay).
struct SequenceErasePattern
    : RuntimeShapePattern<graph::RuntimeSequenceEraseOp, SmallVector<Value>> {
  using RuntimeShapePattern::RuntimeShapePattern;
  SmallVector<Value> build(graph::RuntimeSequenceEraseOp op, OpAdaptor a,
                           ShapeMath &m) const override {
    Value rows = dimOf(m, a.getTable(), 0);
    Value p;
    if (a.getPosition()) {
      p = sequencePosition(m, a.getPosition(), rows, /*end=*/false);
    } else {
      p = m.sub(rows, m.c(1));
      m.refuse(m.lt(p, m.c(0)));
    }
    // Refused: every row stays.
    Value head = m.select(m.bad, rows, p);
    Value tail = m.select(m.bad, rows, m.add(p, m.c(1)));
    Value kept = m.add(head, m.sub(rows, tail));
    Value table = m.empty({kept, m.c(graph::kSequenceRowWidth)},
                          m.b.getI64Type(), tableType(getContext()));
    table = copyRows(m, a.getTable(), table, m.c(0), head, m.c(0));
    table = copyRows(m, a.getTable(), table, tail, m.sub(rows, tail), head);
    return {a.getValues(), table};
  }
};

/// A table row: where the tensor's elements start in the values, how many
/// there are, and its dims.
struct SequenceRow {
  Value offset, count;
  SmallVector<Value> dims;
};

/// Reads row `p` (i64) of `table`, refusing (in `m`) a row whose rank is
/// not `rank` or whose elements lie outside `values`; zeros where `m` has
/// refused, so nothing is read out of bounds.
SequenceRow readSequenceRow(ShapeMath &m, Value values, Value table, Value p,
                            int64_t rank) {
  OpBuilder &b = m.b;
  Location loc = m.loc;
  SmallVector<Type> types(2 + rank, b.getI64Type());
  auto read = scf::IfOp::create(b, loc, types, m.bad, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(read.thenBlock());
    scf::YieldOp::create(b, loc, SmallVector<Value>(2 + rank, m.c(0)));
    b.setInsertionPointToStart(read.elseBlock());
    SmallVector<Value> row;
    for (int64_t i = 0; i < 2 + rank; ++i)
      row.push_back(tensor::ExtractOp::create(
          b, loc, table,
          ValueRange{m.index(p), arith::ConstantIndexOp::create(b, loc, i)}));
    scf::YieldOp::create(b, loc, row);
  }
  SequenceRow row;
  row.offset = read.getResult(0);
  m.refuse(m.ne(read.getResult(1), m.select(m.bad, m.c(0), m.c(rank))));
  row.count = m.c(1);
  for (int64_t d = 0; d < rank; ++d) {
    Value size = read.getResult(2 + d);
    m.refuse(m.lt(size, m.c(0)));
    row.dims.push_back(size);
    row.count = m.mul(row.count, m.max(size, m.c(0)));
  }
  m.refuse(m.orI(m.lt(row.offset, m.c(0)),
                 m.gt(m.add(row.offset, row.count), dimOf(m, values, 0))));
  return row;
}

/// The tensor of `row` with dims all known at run time (zero elements where
/// `m` has refused): its slice of the values, reshaped.
Value sequenceTensor(ShapeMath &m, Value values, SequenceRow row) {
  OpBuilder &b = m.b;
  Location loc = m.loc;
  int64_t rank = row.dims.size();
  for (Value &d : row.dims)
    d = m.select(m.bad, m.c(0), d);
  Value offset = m.select(m.bad, m.c(0), row.offset);
  Value count = m.select(m.bad, m.c(0), row.count);
  Type element = cast<RankedTensorType>(values.getType()).getElementType();
  if (rank == 0) {
    // One element, which a refused row does not have: 0 then.
    auto pick = scf::IfOp::create(b, loc, TypeRange{element}, m.bad,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(pick.thenBlock());
      scf::YieldOp::create(
          b, loc,
          ValueRange{arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(b.getZeroAttr(element)))});
      b.setInsertionPointToStart(pick.elseBlock());
      scf::YieldOp::create(b, loc,
                           ValueRange{tensor::ExtractOp::create(
                               b, loc, values, ValueRange{m.index(offset)})});
    }
    return tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, element), pick.getResult(0));
  }
  OpFoldResult one = b.getIndexAttr(1);
  Value flat = tensor::ExtractSliceOp::create(
      b, loc, values, ArrayRef<OpFoldResult>{m.index(offset)},
      ArrayRef<OpFoldResult>{m.index(count)}, ArrayRef<OpFoldResult>{one});
  if (rank == 1)
    return flat;
  auto type = RankedTensorType::get(
      SmallVector<int64_t>(rank, ShapedType::kDynamic), element);
  auto shapeType = RankedTensorType::get({rank}, b.getI64Type());
  Value shape = tensor::FromElementsOp::create(b, loc, shapeType, row.dims);
  // A reshape reads its source from the start: the slice as a tensor of its
  // own.
  Value copy = m.empty({count}, element);
  copy = linalg::CopyOp::create(b, loc, flat, copy).getResult(0);
  return tensor::ReshapeOp::create(b, loc, type, copy, shape);
}

/// SequenceAt: the row's dims read from the table (under a check of the
/// position, the rank and the values' bounds), the elements a slice of the
/// values reshaped to them.
struct SequenceAtPattern : RuntimeShapePattern<graph::RuntimeSequenceAtOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeSequenceAtOp op, OpAdaptor a,
              ShapeMath &m) const override {
    Value rows = dimOf(m, a.getTable(), 0);
    Value p = sequencePosition(m, a.getPosition(), rows, /*end=*/false);
    SequenceRow row =
        readSequenceRow(m, a.getValues(), a.getTable(), p, op.getRank());
    return sequenceTensor(m, a.getValues(), row);
  }
};

/// ConcatFromSequence: a scan of the rows (one rank, equal dims but along
/// the axis, or all with new_axis) that sizes the result, then a copy of
/// each tensor into its place along the axis.
struct SequenceConcatPattern
    : RuntimeShapePattern<graph::RuntimeSequenceConcatOp> {
  using RuntimeShapePattern::RuntimeShapePattern;
  Value build(graph::RuntimeSequenceConcatOp op, OpAdaptor a,
              ShapeMath &m) const override {
    OpBuilder &builder = m.b;
    Location loc = m.loc;
    Value values = a.getValues(), table = a.getTable();
    int64_t rank = op.getRank(), axis = op.getAxis();
    bool newAxis = op.getNewAxis();
    Value rows = dimOf(m, table, 0);
    m.refuse(m.lt(rows, m.c(1)));
    SequenceRow first = readSequenceRow(m, values, table, m.c(0), rank);
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    auto scan = scf::ForOp::create(
        builder, loc, zero, m.index(rows), one, ValueRange{m.bad, m.c(0)},
        [&](OpBuilder &b, Location l, Value k, ValueRange args) {
          ShapeMath mk(b, l);
          mk.bad = args[0];
          SequenceRow row = readSequenceRow(
              mk, values, table,
              arith::IndexCastOp::create(b, l, b.getI64Type(), k), rank);
          for (int64_t d = 0; d < rank; ++d)
            if (newAxis || d != axis)
              mk.refuse(mk.ne(row.dims[d], first.dims[d]));
          Value along = newAxis ? mk.c(1) : row.dims[axis];
          scf::YieldOp::create(b, l,
                               ValueRange{mk.bad, mk.add(args[1], along)});
        });
    m.bad = scan.getResult(0);
    SmallVector<Value> dims(first.dims);
    if (newAxis)
      dims.insert(dims.begin() + axis, rows);
    else
      dims[axis] = scan.getResult(1);
    m.refuseTooLarge(dims);
    for (Value &d : dims)
      d = m.select(m.bad, m.c(0), d);
    auto resultType = cast<RankedTensorType>(op.getType());
    Value result = m.empty(dims, resultType.getElementType());
    Value count = m.select(m.bad, m.c(0), rows);
    auto copy = scf::ForOp::create(
        builder, loc, zero, m.index(count), one, ValueRange{result, m.c(0)},
        [&](OpBuilder &b, Location l, Value k, ValueRange args) {
          ShapeMath mk(b, l);
          SequenceRow row = readSequenceRow(
              mk, values, table,
              arith::IndexCastOp::create(b, l, b.getI64Type(), k), rank);
          SmallVector<Value> sizes(row.dims);
          Value part = sequenceTensor(mk, values, row);
          if (newAxis) {
            sizes.insert(sizes.begin() + axis, mk.c(1));
            auto shapeType = RankedTensorType::get({rank + 1}, b.getI64Type());
            part = tensor::ReshapeOp::create(
                b, l, resultType, part,
                tensor::FromElementsOp::create(b, l, shapeType, sizes));
          }
          SmallVector<OpFoldResult> offsets(rank + newAxis, b.getIndexAttr(0)),
              strides(rank + newAxis, b.getIndexAttr(1)), extents;
          offsets[axis] = mk.index(args[1]);
          for (Value size : sizes)
            extents.push_back(mk.index(size));
          Value placed = tensor::InsertSliceOp::create(
              b, l, part, args[0], offsets, extents, strides);
          Value along = newAxis ? mk.c(1) : row.dims[axis];
          scf::YieldOp::create(b, l,
                               ValueRange{placed, mk.add(args[1], along)});
        });
    return copy.getResult(0);
  }
};

/// SplitToSequence: the slice count and sizes from the split (checked:
/// positive chunk, sizes that are not negative and add up to the axis),
/// then each slice copied to its place in the values with its table row.
struct SequenceSplitPattern
    : RuntimeShapePattern<graph::RuntimeSequenceSplitOp, SmallVector<Value>> {
  using RuntimeShapePattern::RuntimeShapePattern;
  SmallVector<Value> build(graph::RuntimeSequenceSplitOp op, OpAdaptor a,
                           ShapeMath &m) const override {
    OpBuilder &builder = m.b;
    Location loc = m.loc;
    Value input = a.getInput(), split = a.getSplit();
    auto inType = cast<RankedTensorType>(input.getType());
    int64_t rank = inType.getRank(), axis = op.getAxis();
    Value size = dimOf(m, input, axis);
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    bool sizes =
        split && cast<RankedTensorType>(split.getType()).getRank() == 1;
    // The size of slice k (i64) of a 1-D split.
    auto sizeAt = [&](OpBuilder &b, Location l, Value k) -> Value {
      Value v = tensor::ExtractOp::create(b, l, split, ValueRange{k});
      if (v.getType() != b.getI64Type())
        v = arith::ExtSIOp::create(b, l, b.getI64Type(), v);
      return v;
    };
    Value count, chunk;
    if (!split) {
      count = size;
    } else if (!sizes) {
      chunk = m.at(split, 0);
      m.refuse(m.lt(chunk, m.c(1)));
      Value safe = m.max(chunk, m.c(1));
      count = m.div(m.add(size, m.sub(safe, m.c(1))), safe);
    } else {
      count = dimOf(m, split, 0);
      auto sum = scf::ForOp::create(
          builder, loc, zero, m.index(count), one, ValueRange{m.c(0), m.bad},
          [&](OpBuilder &b, Location l, Value k, ValueRange args) {
            ShapeMath mk(b, l);
            mk.bad = args[1];
            Value s = sizeAt(b, l, k);
            mk.refuse(mk.lt(s, mk.c(0)));
            scf::YieldOp::create(b, l, ValueRange{mk.add(args[0], s), mk.bad});
          });
      m.bad = sum.getResult(1);
      m.refuse(m.ne(sum.getResult(0), size));
    }
    count = m.select(m.bad, m.c(0), count);
    bool squeeze = !split && !op.getKeepdims();
    Value total = m.c(1);
    for (int64_t d = 0; d < rank; ++d)
      total = m.mul(total, dimOf(m, input, d));
    Type element = inType.getElementType();
    Value values = m.empty({total}, element);
    Value table = m.empty({count, m.c(graph::kSequenceRowWidth)},
                          builder.getI64Type(), tableType(getContext()));
    auto fill = scf::ForOp::create(
        builder, loc, zero, m.index(count), one,
        ValueRange{values, table, m.c(0), m.c(0)},
        [&](OpBuilder &b, Location l, Value k, ValueRange args) {
          ShapeMath mk(b, l);
          Value start = args[2], at = args[3];
          Value length = !split  ? mk.c(1)
                         : sizes ? sizeAt(b, l, k)
                                 : mk.min(chunk, mk.sub(size, start));
          SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
              extents = tensor::getMixedSizes(b, l, input),
              strides(rank, b.getIndexAttr(1));
          offsets[axis] = mk.index(start);
          extents[axis] = mk.index(length);
          Value slice = tensor::ExtractSliceOp::create(b, l, input, offsets,
                                                       extents, strides);
          auto [flat, elements] = flattenTensor(mk, slice);
          Value placed = writeValues(mk, args[0], flat, elements, at);
          SmallVector<Value> row = {at, mk.c(rank - squeeze)};
          for (int64_t d = 0; d < rank; ++d)
            if (d != axis || !squeeze)
              row.push_back(d == axis ? length : dimOf(mk, input, d));
          Value rows =
              placeRow(mk, row, args[1],
                       arith::IndexCastOp::create(b, l, b.getI64Type(), k));
          scf::YieldOp::create(b, l,
                               ValueRange{placed, rows, mk.add(start, length),
                                          mk.add(at, elements)});
        });
    return {fill.getResult(0), fill.getResult(1)};
  }
};

/// SequenceLength: the table's rows.
struct SequenceLengthPattern
    : OpConversionPattern<graph::RuntimeSequenceLengthOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RuntimeSequenceLengthOp op, OpAdaptor a,
                  ConversionPatternRewriter &builder) const override {
    ShapeMath m(builder, op.getLoc());
    builder.replaceOpWithNewOp<tensor::FromElementsOp>(
        op, op.getType(), ValueRange{dimOf(m, a.getTable(), 0)});
    return success();
  }
};

} // namespace

void dlc::populateRuntimeShapesToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<FillPattern, ReshapePattern, ExpandPattern, TilePattern,
               RangePattern, SlicePattern, PadPattern, OneHotPattern,
               TopKPattern, SqueezePattern, ResizePattern, WindowPattern,
               ReducePattern, CompressPattern, NonZeroPattern, NmsPattern,
               UniquePattern, SequenceConstructPattern, SequenceInsertPattern,
               SequenceErasePattern, SequenceAtPattern, SequenceConcatPattern,
               SequenceSplitPattern, SequenceLengthPattern>(
      patterns.getContext());
}
