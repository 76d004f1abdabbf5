//===- GraphOps.cpp - verifiers, shape inference and folders --------------===//

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/GraphShapes.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APSInt.h"

#include <cmath>

using namespace mlir;
using namespace dlc::graph;

/// Constants folded at compile time stay small: shape arithmetic and scalar
/// parameters, not weights (materializing big ones costs time and memory).
static constexpr int64_t kMaxFoldedElements = 1 << 16;

/// `attr` as a dense attribute for a fold whose result is `type`. A weight
/// blob is copied only when the fold can use it: the folders build at most
/// kMaxFoldedElements elements from a constant that is not a splat (blobs
/// never are), and a copy lives as long as the context.
static DenseElementsAttr foldOperand(Attribute attr, Type type) {
  if (isa_and_nonnull<DenseResourceElementsAttr>(attr)) {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !shaped.hasStaticShape() ||
        shaped.getNumElements() > kMaxFoldedElements)
      return {};
  }
  return denseElements(attr);
}

namespace {

/// The declared result types may be less static than the inferred ones
/// (shape inference refines them) but must otherwise agree.
bool compatibleResultTypes(TypeRange declared, TypeRange inferred) {
  if (declared.size() != inferred.size())
    return false;
  for (auto [d, i] : llvm::zip(declared, inferred)) {
    auto dt = dyn_cast<RankedTensorType>(d);
    auto it = dyn_cast<RankedTensorType>(i);
    if (!dt || !it || dt.getElementType() != it.getElementType() ||
        failed(verifyCompatibleShape(dt.getShape(), it.getShape())))
      return false;
  }
  return true;
}

LogicalResult emitShapeError(std::optional<Location> loc, const Twine &msg) {
  if (loc)
    return emitError(*loc) << msg;
  return failure();
}

/// Fails with "<what> axis A is out of range for rank R" unless 0 <= A < R.
LogicalResult checkAxis(std::optional<Location> loc, int64_t axis,
                        int64_t rank, StringRef what) {
  if (axis >= 0 && axis < rank)
    return success();
  return emitShapeError(loc, what + " axis " + Twine(axis) +
                                 " is out of range for rank " + Twine(rank));
}

RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

} // namespace

#define DLC_COMPATIBLE_RETURN_TYPES(OP)                                        \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return compatibleResultTypes(l, r);                                        \
  }
DLC_COMPATIBLE_RETURN_TYPES(AddOp)
DLC_COMPATIBLE_RETURN_TYPES(SubOp)
DLC_COMPATIBLE_RETURN_TYPES(MulOp)
DLC_COMPATIBLE_RETURN_TYPES(DivOp)
DLC_COMPATIBLE_RETURN_TYPES(ReluOp)
DLC_COMPATIBLE_RETURN_TYPES(SigmoidOp)
DLC_COMPATIBLE_RETURN_TYPES(TanhOp)
DLC_COMPATIBLE_RETURN_TYPES(LeakyReluOp)
DLC_COMPATIBLE_RETURN_TYPES(ClipOp)
DLC_COMPATIBLE_RETURN_TYPES(SoftmaxOp)
DLC_COMPATIBLE_RETURN_TYPES(MatmulOp)
DLC_COMPATIBLE_RETURN_TYPES(Conv2dOp)
DLC_COMPATIBLE_RETURN_TYPES(BatchNormOp)
DLC_COMPATIBLE_RETURN_TYPES(MaxPool2dOp)
DLC_COMPATIBLE_RETURN_TYPES(AvgPool2dOp)
DLC_COMPATIBLE_RETURN_TYPES(MaxPool2dIndicesOp)
DLC_COMPATIBLE_RETURN_TYPES(GlobalAvgPoolOp)
DLC_COMPATIBLE_RETURN_TYPES(ReshapeOp)
DLC_COMPATIBLE_RETURN_TYPES(TransposeOp)
DLC_COMPATIBLE_RETURN_TYPES(ConcatOp)
DLC_COMPATIBLE_RETURN_TYPES(PadOp)
DLC_COMPATIBLE_RETURN_TYPES(PowOp)
DLC_COMPATIBLE_RETURN_TYPES(MaxOp)
DLC_COMPATIBLE_RETURN_TYPES(MinOp)
DLC_COMPATIBLE_RETURN_TYPES(ModOp)
DLC_COMPATIBLE_RETURN_TYPES(EqualOp)
DLC_COMPATIBLE_RETURN_TYPES(LessOp)
DLC_COMPATIBLE_RETURN_TYPES(LessEqualOp)
DLC_COMPATIBLE_RETURN_TYPES(GreaterOp)
DLC_COMPATIBLE_RETURN_TYPES(GreaterEqualOp)
DLC_COMPATIBLE_RETURN_TYPES(AndOp)
DLC_COMPATIBLE_RETURN_TYPES(OrOp)
DLC_COMPATIBLE_RETURN_TYPES(XorOp)
DLC_COMPATIBLE_RETURN_TYPES(WhereOp)
DLC_COMPATIBLE_RETURN_TYPES(UnaryOp)
DLC_COMPATIBLE_RETURN_TYPES(ReduceOp)
DLC_COMPATIBLE_RETURN_TYPES(ArgReduceOp)
DLC_COMPATIBLE_RETURN_TYPES(LayerNormOp)
DLC_COMPATIBLE_RETURN_TYPES(LogSoftmaxOp)
DLC_COMPATIBLE_RETURN_TYPES(GatherOp)
DLC_COMPATIBLE_RETURN_TYPES(SliceOp)
DLC_COMPATIBLE_RETURN_TYPES(ExpandOp)
DLC_COMPATIBLE_RETURN_TYPES(CastOp)
DLC_COMPATIBLE_RETURN_TYPES(RecurrentOp)
DLC_COMPATIBLE_RETURN_TYPES(GatherElementsOp)
DLC_COMPATIBLE_RETURN_TYPES(TriluOp)
DLC_COMPATIBLE_RETURN_TYPES(DropoutMaskOp)
DLC_COMPATIBLE_RETURN_TYPES(ModeSelectOp)
DLC_COMPATIBLE_RETURN_TYPES(ResizeOp)
DLC_COMPATIBLE_RETURN_TYPES(ScatterElementsOp)
DLC_COMPATIBLE_RETURN_TYPES(TopKOp)
DLC_COMPATIBLE_RETURN_TYPES(ShiftLeftOp)
DLC_COMPATIBLE_RETURN_TYPES(ShiftRightOp)
DLC_COMPATIBLE_RETURN_TYPES(Col2ImOp)
DLC_COMPATIBLE_RETURN_TYPES(GatherNDOp)
DLC_COMPATIBLE_RETURN_TYPES(ScatterNDOp)
DLC_COMPATIBLE_RETURN_TYPES(EinsumOp)
DLC_COMPATIBLE_RETURN_TYPES(GridSampleOp)

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static LogicalResult inferBroadcast(std::optional<Location> loc, Value lhs,
                                    Value rhs, SmallVectorImpl<Type> &types) {
  auto l = rankedType(lhs), r = rankedType(rhs);
  if (l.getElementType() != r.getElementType())
    return emitShapeError(loc, "operand element types differ");
  auto shape = broadcastShapes(l.getShape(), r.getShape());
  if (!shape)
    return emitShapeError(loc, "operand shapes do not broadcast");
  types.push_back(RankedTensorType::get(*shape, l.getElementType()));
  return success();
}

#define DLC_BINARY_INFER(OP)                                                   \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     Adaptor a, SmallVectorImpl<Type> &types) { \
    return inferBroadcast(l, a.getLhs(), a.getRhs(), types);                   \
  }
DLC_BINARY_INFER(AddOp)
DLC_BINARY_INFER(SubOp)
DLC_BINARY_INFER(MulOp)
DLC_BINARY_INFER(DivOp)
DLC_BINARY_INFER(PowOp)
DLC_BINARY_INFER(MaxOp)
DLC_BINARY_INFER(MinOp)
DLC_BINARY_INFER(ModOp)
DLC_BINARY_INFER(ShiftLeftOp)
DLC_BINARY_INFER(ShiftRightOp)
#undef DLC_BINARY_INFER

#define DLC_COMPARE_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(MLIRContext *ctx,                         \
                                     std::optional<Location> l, Adaptor a,     \
                                     SmallVectorImpl<Type> &types) {           \
    if (failed(inferBroadcast(l, a.getLhs(), a.getRhs(), types)))              \
      return failure();                                                        \
    types[0] = cast<RankedTensorType>(types[0]).clone(IntegerType::get(ctx, 1)); \
    return success();                                                          \
  }
DLC_COMPARE_INFER(EqualOp)
DLC_COMPARE_INFER(LessOp)
DLC_COMPARE_INFER(LessEqualOp)
DLC_COMPARE_INFER(GreaterOp)
DLC_COMPARE_INFER(GreaterEqualOp)
DLC_COMPARE_INFER(AndOp)
DLC_COMPARE_INFER(OrOp)
DLC_COMPARE_INFER(XorOp)
#undef DLC_COMPARE_INFER

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc, Adaptor a,
                                        SmallVectorImpl<Type> &types) {
  auto c = rankedType(a.getCondition()), x = rankedType(a.getX()),
       y = rankedType(a.getY());
  if (!c.getElementType().isInteger(1))
    return emitShapeError(loc, "where wants a bool condition");
  if (x.getElementType() != y.getElementType())
    return emitShapeError(loc, "where operands differ in element type");
  auto xy = broadcastShapes(x.getShape(), y.getShape());
  auto all = xy ? broadcastShapes(c.getShape(), *xy) : std::nullopt;
  if (!all)
    return emitShapeError(loc, "where operand shapes do not broadcast");
  types.push_back(RankedTensorType::get(*all, x.getElementType()));
  return success();
}

/// Folds an elementwise binary op on two constants of element type T (APFloat
/// or APInt), broadcasting.
template <typename T, typename Fn>
static Attribute foldBinaryOf(DenseElementsAttr l, DenseElementsAttr r,
                              RankedTensorType type, Fn fn) {
  if (l.isSplat() && r.isSplat())
    return DenseElementsAttr::get(
        type, fn(l.getSplatValue<T>(), r.getSplatValue<T>()));
  if (type.getNumElements() > kMaxFoldedElements)
    return {};
  ArrayRef<int64_t> shape = type.getShape();
  auto strides = [&](ShapedType t) {
    SmallVector<int64_t> s(shape.size(), 0);
    int64_t stride = 1;
    int64_t offset = shape.size() - t.getRank();
    for (int64_t i = t.getRank() - 1; i >= 0; --i) {
      if (t.getDimSize(i) != 1)
        s[offset + i] = stride;
      stride *= t.getDimSize(i);
    }
    return s;
  };
  SmallVector<int64_t> ls = strides(l.getType()), rs = strides(r.getType());
  SmallVector<T> lv(l.getValues<T>()), rv(r.getValues<T>());
  SmallVector<T> out;
  out.reserve(type.getNumElements());
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t n = 0; n < type.getNumElements(); ++n) {
    int64_t li = 0, ri = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      li += index[d] * ls[d];
      ri += index[d] * rs[d];
    }
    out.push_back(fn(lv[li], rv[ri]));
    for (int64_t d = shape.size() - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return DenseElementsAttr::get(type, out);
}

/// Folds a binary op on two float constants (`floatFn`) or two 32/64-bit
/// integer constants (`intFn`, which returns nullopt where it cannot fold,
/// e.g. a division by zero).
template <typename FloatFn, typename IntFn>
static Attribute foldBinary(Attribute lhs, Attribute rhs, Type resultType,
                            FloatFn floatFn, IntFn intFn) {
  if (!lhs || !rhs)
    return {};
  DenseElementsAttr l = foldOperand(lhs, resultType),
                    r = foldOperand(rhs, resultType);
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!l || !r || !type || !type.hasStaticShape() ||
      l.getElementType() != r.getElementType())
    return {};
  if (isa<FloatType>(l.getElementType()))
    return foldBinaryOf<APFloat>(l, r, type, floatFn);
  if (!l.getElementType().isInteger(64) && !l.getElementType().isInteger(32))
    return {};
  for (const APInt &v : r.getValues<APInt>())
    if (!intFn(APInt(v.getBitWidth(), 1), v))
      return {};
  return foldBinaryOf<APInt>(l, r, type, [&](const APInt &x, const APInt &y) {
    return *intFn(x, y);
  });
}

template <typename Fn>
static Attribute foldFloatBinary(Attribute lhs, Attribute rhs, Type resultType,
                                 Fn fn) {
  if (!lhs || !rhs)
    return {};
  auto l = dyn_cast_or_null<DenseFPElementsAttr>(foldOperand(lhs, resultType));
  auto r = dyn_cast_or_null<DenseFPElementsAttr>(foldOperand(rhs, resultType));
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!l || !r || !type || !type.hasStaticShape())
    return {};
  return foldBinaryOf<APFloat>(l, r, type, fn);
}

using IntResult = std::optional<APInt>;
constexpr auto kRound = APFloat::rmNearestTiesToEven;

OpFoldResult AddOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](APFloat x, const APFloat &y) { x.add(y, kRound); return x; },
      [](const APInt &x, const APInt &y) -> IntResult { return x + y; });
}
OpFoldResult SubOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](APFloat x, const APFloat &y) { x.subtract(y, kRound); return x; },
      [](const APInt &x, const APInt &y) -> IntResult { return x - y; });
}
OpFoldResult MulOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](APFloat x, const APFloat &y) { x.multiply(y, kRound); return x; },
      [](const APInt &x, const APInt &y) -> IntResult { return x * y; });
}
OpFoldResult DivOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](APFloat x, const APFloat &y) { x.divide(y, kRound); return x; },
      [](const APInt &x, const APInt &y) -> IntResult {
        if (y.isZero())
          return std::nullopt;
        return x.sdiv(y);
      });
}
OpFoldResult PowOp::fold(FoldAdaptor a) {
  return foldFloatBinary(a.getLhs(), a.getRhs(), getType(),
                         [](const APFloat &x, const APFloat &y) {
                           APFloat r(std::pow(x.convertToDouble(),
                                              y.convertToDouble()));
                           bool lost;
                           r.convert(x.getSemantics(), kRound, &lost);
                           return r;
                         });
}
OpFoldResult MaxOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](const APFloat &x, const APFloat &y) { return maximum(x, y); },
      [](const APInt &x, const APInt &y) -> IntResult {
        return x.sge(y) ? x : y;
      });
}
OpFoldResult MinOp::fold(FoldAdaptor a) {
  if (getUnsignedInts())
    return {};
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [](const APFloat &x, const APFloat &y) { return minimum(x, y); },
      [](const APInt &x, const APInt &y) -> IntResult {
        return x.sle(y) ? x : y;
      });
}

#define DLC_UNARY_INFER(OP)                                                    \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     Adaptor a, SmallVectorImpl<Type> &types) { \
    types.push_back(a.getInput().getType());                                   \
    return success();                                                          \
  }
DLC_UNARY_INFER(ReluOp)
DLC_UNARY_INFER(SigmoidOp)
DLC_UNARY_INFER(TanhOp)
DLC_UNARY_INFER(LeakyReluOp)
DLC_UNARY_INFER(ClipOp)
DLC_UNARY_INFER(SoftmaxOp)
#undef DLC_UNARY_INFER

LogicalResult ClipOp::verify() {
  if (getMin().convertToFloat() > getMax().convertToFloat())
    return emitOpError("min (") << getMin().convertToFloat()
                                << ") is greater than max ("
                                << getMax().convertToFloat() << ")";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  // I64Attr is signless (uint64_t): read it as the signed axis it is.
  auto axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank "
                                << rank << " (normalize negative axes first)";
  return success();
}

//===----------------------------------------------------------------------===//
// Matmul and convolution
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto l = rankedType(a.getLhs()), r = rankedType(a.getRhs());
  if (l.getRank() < 2 || r.getRank() < 2)
    return emitShapeError(loc, "matmul operands must have rank >= 2");
  if (l.getElementType() != r.getElementType())
    return emitShapeError(loc, "matmul operand element types differ");
  int64_t lr = l.getRank(), rr = r.getRank();
  bool tl = a.getTransposeLhs(), tr = a.getTransposeRhs();
  int64_t m = l.getDimSize(tl ? lr - 1 : lr - 2);
  int64_t kl = l.getDimSize(tl ? lr - 2 : lr - 1);
  int64_t kr = r.getDimSize(tr ? rr - 1 : rr - 2);
  int64_t n = r.getDimSize(tr ? rr - 2 : rr - 1);
  if (!ShapedType::isDynamic(kl) && !ShapedType::isDynamic(kr) && kl != kr)
    return emitShapeError(loc, "matmul contraction sizes differ: " +
                                   Twine(kl) + " vs " + Twine(kr));
  auto batch = broadcastShapes(l.getShape().drop_back(2),
                               r.getShape().drop_back(2));
  if (!batch)
    return emitShapeError(loc, "matmul batch dims do not broadcast");
  batch->push_back(m);
  batch->push_back(n);
  types.push_back(RankedTensorType::get(*batch, l.getElementType()));
  return success();
}

namespace {
/// A transposed constant operand is transposed once, at compile time (the
/// transpose folds), so that the kernel reads it row-major: Gemm weights
/// arrive as [N, K] with transB = 1.
struct TransposeConstantMatmulOperand : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto pretranspose = [&](Value v) -> Value {
      int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
      SmallVector<int64_t> perm;
      for (int64_t d = 0; d < rank; ++d)
        perm.push_back(d);
      std::swap(perm[rank - 1], perm[rank - 2]);
      return TransposeOp::create(rewriter, op.getLoc(), v,
                                 rewriter.getDenseI64ArrayAttr(perm));
    };
    bool lhs = op.getTransposeLhs() && matchPattern(op.getLhs(), m_Constant());
    bool rhs = op.getTransposeRhs() && matchPattern(op.getRhs(), m_Constant());
    if (!lhs && !rhs)
      return failure();
    Value newLhs = lhs ? pretranspose(op.getLhs()) : op.getLhs();
    Value newRhs = rhs ? pretranspose(op.getRhs()) : op.getRhs();
    rewriter.replaceOpWithNewOp<MatmulOp>(
        op, op.getType(), newLhs, newRhs,
        rewriter.getBoolAttr(op.getTransposeLhs() && !lhs),
        rewriter.getBoolAttr(op.getTransposeRhs() && !rhs));
    return success();
  }
};
} // namespace

void MatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<TransposeConstantMatmulOperand>(context);
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput()), w = rankedType(a.getFilter());
  if (in.getRank() != 4 || w.getRank() != 4)
    return emitShapeError(loc, "conv2d wants a rank-4 input and filter, got " +
                                   Twine(in.getRank()) + " and " +
                                   Twine(w.getRank()));
  ArrayRef<int64_t> strides = a.getStrides(), pads = a.getPads(),
                    dilations = a.getDilations();
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    return emitShapeError(loc, "conv2d wants 2 strides, 2 dilations, 4 pads");
  if (llvm::any_of(strides, [](int64_t s) { return s < 1; }) ||
      llvm::any_of(dilations, [](int64_t d) { return d < 1; }) ||
      llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return emitShapeError(loc, "conv2d strides and dilations must be >= 1 "
                               "and pads >= 0");
  int64_t group = a.getGroup();
  if (group < 1)
    return emitShapeError(loc, "conv2d group must be >= 1");
  int64_t c = in.getDimSize(1), f = w.getDimSize(0);
  if (!ShapedType::isDynamic(c) && c != w.getDimSize(1) * group)
    return emitShapeError(loc, "conv2d input has " + Twine(c) +
                                   " channels but filter expects " +
                                   Twine(w.getDimSize(1)) + " x group " +
                                   Twine(group));
  if (f % group != 0)
    return emitShapeError(loc, "conv2d filter count " + Twine(f) +
                                   " is not a multiple of group " +
                                   Twine(group));
  if (a.getBias()) {
    auto b = rankedType(a.getBias());
    if (b.getRank() != 1 || b.getDimSize(0) != f)
      return emitShapeError(loc, "conv2d bias must be [" + Twine(f) + "]");
  }
  SmallVector<int64_t> shape = {in.getDimSize(0), f};
  for (int i = 0; i < 2; ++i)
    shape.push_back(slidingWindowOutputSize(
        in.getDimSize(2 + i), w.getDimSize(2 + i), strides[i], pads[i],
        pads[2 + i], dilations[i], /*ceilMode=*/false));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult Col2ImOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto cols = rankedType(a.getColumns());
  ArrayRef<int64_t> in = a.getInputSize(), k = a.getKernelShape(),
                    out = a.getOutputSize();
  if (cols.getRank() != 2 || in.size() != 2 || k.size() != 2 ||
      out.size() != 2 || a.getStrides().size() != 2 ||
      a.getDilations().size() != 2 || a.getPads().size() != 2)
    return emitShapeError(loc, "col2im wants 2-D columns and 2-D geometry");
  auto n = static_cast<int64_t>(a.getBatch());
  if (n < 1 || cols.getDimSize(1) != n * in[0] * in[1] ||
      cols.getDimSize(0) % (k[0] * k[1]) != 0)
    return emitShapeError(loc, "col2im columns must be [F * KH * KW, N * H * W]");
  if (llvm::any_of(a.getStrides(), [](int64_t s) { return s < 1; }) ||
      llvm::any_of(a.getDilations(), [](int64_t d) { return d < 1; }))
    return emitShapeError(loc, "col2im strides and dilations must be >= 1");
  int64_t f = cols.getDimSize(0) / (k[0] * k[1]);
  types.push_back(RankedTensorType::get({n, f, out[0], out[1]},
                                        cols.getElementType()));
  return success();
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (in.getRank() < 2)
    return emitShapeError(loc, "batch_norm input must have rank >= 2");
  for (Value p : {a.getScale(), a.getBias(), a.getMean(), a.getVariance()}) {
    auto t = rankedType(p);
    if (t.getRank() != 1 || t.getDimSize(0) != in.getDimSize(1))
      return emitShapeError(loc, "batch_norm parameters must be [" +
                                     Twine(in.getDimSize(1)) + "]");
  }
  types.push_back(in);
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, Adaptor a,
                               SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  ArrayRef<int64_t> k = a.getKernelShape(), s = a.getStrides(),
                    p = a.getPads(), d = a.getDilations();
  if (in.getRank() != 4)
    return emitShapeError(loc, "pool2d wants a rank-4 NCHW input");
  if (k.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4)
    return emitShapeError(loc,
                          "pool2d wants 2 kernel dims, strides, dilations "
                          "and 4 pads");
  for (int i = 0; i < 2; ++i)
    if (k[i] < 1 || s[i] < 1 || d[i] < 1 || p[i] < 0 || p[i + 2] < 0)
      return emitShapeError(loc, "pool2d kernel, strides and dilations must "
                                 "be >= 1 and pads >= 0");
  for (int i = 0; i < 2; ++i)
    if (p[i] >= k[i] || p[i + 2] >= k[i])
      return emitShapeError(loc, "pool2d pads must be smaller than the kernel");
  SmallVector<int64_t> shape = {in.getDimSize(0), in.getDimSize(1)};
  for (int i = 0; i < 2; ++i)
    shape.push_back(slidingWindowOutputSize(in.getDimSize(2 + i), k[i], s[i],
                                            p[i], p[i + 2], d[i],
                                            a.getCeilMode()));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  return inferPool(loc, a, types);
}
LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  return inferPool(loc, a, types);
}

LogicalResult
MaxPool2dIndicesOp::inferReturnTypes(MLIRContext *ctx,
                                     std::optional<Location> loc, Adaptor a,
                                     SmallVectorImpl<Type> &types) {
  if (failed(inferPool(loc, a, types)))
    return failure();
  types.back() =
      cast<RankedTensorType>(types.back()).clone(IntegerType::get(ctx, 64));
  return success();
}

LogicalResult GlobalAvgPoolOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (in.getRank() < 3)
    return emitShapeError(loc, "global_avg_pool wants rank >= 3");
  SmallVector<int64_t> shape(in.getShape());
  for (int64_t i = 2; i < in.getRank(); ++i)
    shape[i] = 1;
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor a,
                                          SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  ArrayRef<int64_t> shape = a.getShape();
  // Dims known only at run time (kDynamic): the k-th is the input's k-th
  // run-time dim (the importer keeps their order), as many on both sides.
  if (llvm::any_of(
          shape, [](int64_t d) { return d < 0 && !ShapedType::isDynamic(d); }))
    return emitShapeError(loc, "reshape wants a fully static target shape");
  if (static_cast<size_t>(llvm::count_if(shape, ShapedType::isDynamic)) !=
      in.getNumDynamicDims())
    return emitShapeError(loc, "reshape takes as many dims known only at run "
                               "time as its input has");
  if (in.hasStaticShape()) {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    if (count != in.getNumElements())
      return emitShapeError(loc, "reshape from " + Twine(in.getNumElements()) +
                                     " to " + Twine(count) + " elements");
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput()))
    return dense.reshape(getType());
  // A weight blob: the same bytes under the new shape, no copy.
  if (auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(a.getInput()))
    if (getType().hasStaticShape())
      return DenseResourceElementsAttr::get(getType(), blob.getRawHandle());
  return {};
}

static bool isPermutation(ArrayRef<int64_t> perm) {
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  ArrayRef<int64_t> perm = a.getPerm();
  if (static_cast<int64_t>(perm.size()) != in.getRank() || !isPermutation(perm))
    return emitShapeError(loc, "transpose perm is not a permutation of the "
                               "input's " + Twine(in.getRank()) + " dims");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in.getDimSize(p));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor a) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == static_cast<int64_t>(i);
  if (identity)
    return getInput();
  if (!a.getInput() || !getType().hasStaticShape())
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(a.getInput());
      dense && dense.isSplat())
    return dense.resizeSplat(getType());
  // Permute raw elements of any type (dense or a weight blob): the weights
  // of a transposed Gemm.
  std::optional<ConstantBytes> constant = constantBytes(a.getInput());
  if (!constant || constant->splat || constant->data.empty())
    return {};
  auto inType = cast<RankedTensorType>(getInput().getType());
  unsigned bytes = inType.getElementTypeBitWidth() / 8;
  ArrayRef<char> raw = constant->data;
  int64_t rank = inType.getRank();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * inType.getDimSize(i + 1);
  ArrayRef<int64_t> outShape = getType().getShape();
  std::string out(raw.size(), '\0');
  SmallVector<int64_t> index(rank, 0);
  for (int64_t n = 0, e = getType().getNumElements(); n < e; ++n) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += index[d] * inStrides[perm[d]];
    std::memcpy(out.data() + n * bytes, raw.data() + src * bytes, bytes);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < outShape[d])
        break;
      index[d] = 0;
    }
  }
  return makeWeights(cast<RankedTensorType>(getType()), std::move(out));
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  if (a.getInputs().empty())
    return emitShapeError(loc, "concat wants at least one input");
  auto first = rankedType(a.getInputs().front());
  int64_t axis = a.getAxis();
  if (failed(checkAxis(loc, axis, first.getRank(), "concat")))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Value v : a.getInputs().drop_front()) {
    auto t = rankedType(v);
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return emitShapeError(loc, "concat inputs differ in rank or dtype");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == axis) {
        shape[d] = ShapedType::isDynamic(shape[d]) ||
                           ShapedType::isDynamic(t.getDimSize(d))
                       ? ShapedType::kDynamic
                       : shape[d] + t.getDimSize(d);
      } else if (t.getDimSize(d) != shape[d]) {
        return emitShapeError(loc, "concat inputs differ in dim " + Twine(d));
      }
    }
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor a) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  // Concatenated constants (shape vectors) fold to one constant.
  auto type = getType();
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldedElements)
    return {};
  SmallVector<SmallVector<Attribute>> parts;
  for (Attribute input : a.getInputs()) {
    DenseElementsAttr dense = denseElements(input);
    if (!dense)
      return {};
    parts.emplace_back(dense.getValues<Attribute>());
  }
  int64_t axis = getAxis(), outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= type.getDimSize(d);
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (auto [input, values] : llvm::zip(getInputs(), parts)) {
      int64_t chunk = cast<RankedTensorType>(input.getType()).getNumElements() /
                      std::max<int64_t>(outer, 1);
      out.append(values.begin() + o * chunk, values.begin() + (o + 1) * chunk);
    }
  return DenseElementsAttr::get(type, out);
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc, Adaptor a,
                                      SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  ArrayRef<int64_t> pads = a.getPads();
  if (static_cast<int64_t>(pads.size()) != 2 * in.getRank())
    return emitShapeError(loc, "pad wants 2 x rank (" +
                                   Twine(2 * in.getRank()) + ") pads, got " +
                                   Twine(pads.size()));
  StringRef mode = a.getMode();
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      mode != "wrap")
    return emitShapeError(loc,
                          "pad mode must be constant, edge, reflect or wrap");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t size = in.getDimSize(d);
    if (ShapedType::isDynamic(size)) {
      shape.push_back(size);
      continue;
    }
    int64_t begin = pads[d], end = pads[d + in.getRank()];
    if (mode == "reflect" && (begin >= size || end >= size))
      return emitShapeError(loc, "reflect pads must be smaller than the dim");
    if ((mode == "edge" || mode == "wrap") && size == 0 &&
        (begin > 0 || end > 0))
      return emitShapeError(loc, mode + " padding of an empty dim");
    size += pads[d] + pads[d + in.getRank()];
    if (size < 0)
      return emitShapeError(loc, "pad makes dim " + Twine(d) + " negative");
    shape.push_back(size);
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Unary math, reductions, normalization
//===----------------------------------------------------------------------===//

static bool isKnownUnaryFunction(StringRef fn) {
  return llvm::is_contained(
      {"abs", "neg", "exp", "log", "sqrt", "reciprocal", "floor", "ceil",
       "round", "sign", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
       "cosh", "asinh", "acosh", "atanh", "erf", "softplus", "softsign", "elu",
       "selu", "celu", "hard_sigmoid", "hard_swish", "thresholded_relu",
       "shrink", "not", "identity", "gelu", "mish"},
      fn);
}

LogicalResult UnaryOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location>, Adaptor a,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(a.getInput().getType());
  return success();
}

LogicalResult UnaryOp::verify() {
  if (!isKnownUnaryFunction(getFn()))
    return emitOpError("unknown function '") << getFn() << "'";
  Type elem = getInput().getType().getElementType();
  bool logical = getFn() == "not";
  bool intOk = llvm::is_contained({"abs", "neg", "sign", "identity"}, getFn());
  if (logical && !elem.isInteger(1))
    return emitOpError("'not' wants bool elements");
  if (!logical && !isa<FloatType>(elem) && !(intOk && elem.isIntOrIndex()))
    return emitOpError("'") << getFn() << "' wants float elements";
  return success();
}

OpFoldResult UnaryOp::fold(FoldAdaptor a) {
  if (getFn() == "identity")
    return getInput();
  // neg and abs of (small) constants: sign arithmetic on shapes.
  bool neg = getFn() == "neg", abs = getFn() == "abs";
  if (!a.getInput() || (!neg && !abs) ||
      getInput().getType().getNumElements() > kMaxFoldedElements)
    return {};
  DenseElementsAttr data = denseElements(a.getInput());
  if (!data)
    return {};
  SmallVector<Attribute> out;
  for (Attribute v : data.getValues<Attribute>()) {
    if (auto f = dyn_cast<FloatAttr>(v)) {
      APFloat x = f.getValue();
      if (neg || x.isNegative())
        x.changeSign();
      out.push_back(FloatAttr::get(f.getType(), x));
    } else if (auto i = dyn_cast<IntegerAttr>(v)) {
      APInt x = i.getValue();
      out.push_back(IntegerAttr::get(i.getType(), neg ? -x : x.abs()));
    } else {
      return {};
    }
  }
  return DenseElementsAttr::get(getType(), out);
}

/// The result shape of reducing `shape` over `axes`.
static SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape,
                                         ArrayRef<int64_t> axes,
                                         bool keepdims) {
  SmallVector<int64_t> result;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (!llvm::is_contained(axes, d))
      result.push_back(shape[d]);
    else if (keepdims)
      result.push_back(1);
  }
  return result;
}

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  for (int64_t axis : a.getAxes())
    if (failed(checkAxis(loc, axis, in.getRank(), "reduce")))
      return failure();
  types.push_back(RankedTensorType::get(
      reducedShape(in.getShape(), a.getAxes(), a.getKeepdims()),
      in.getElementType()));
  return success();
}

LogicalResult ReduceOp::verify() {
  if (!llvm::is_contained({"sum", "mean", "max", "min", "prod", "l1", "l2",
                           "log_sum", "log_sum_exp", "sum_square"},
                          getKind()))
    return emitOpError("unknown reduction '") << getKind() << "'";
  return success();
}

LogicalResult ArgReduceOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  int64_t axis = a.getAxis();
  if (failed(checkAxis(loc, axis, in.getRank(), "arg_reduce")))
    return failure();
  types.push_back(RankedTensorType::get(
      reducedShape(in.getShape(), {axis}, a.getKeepdims()),
      IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  int64_t axis = a.getAxis();
  if (failed(checkAxis(loc, axis, in.getRank(), "layer_norm")))
    return failure();
  ArrayRef<int64_t> normalized = in.getShape().drop_front(axis);
  for (Value p : {a.getScale(), a.getBias()}) {
    if (!p)
      continue;
    if (!broadcastShapes(rankedType(p).getShape(), normalized) ||
        rankedType(p).getRank() > static_cast<int64_t>(normalized.size()))
      return emitShapeError(loc, "layer_norm scale/bias do not broadcast to "
                                 "the normalized dims");
  }
  types.push_back(in);
  SmallVector<int64_t> stats(in.getShape());
  for (int64_t d = axis; d < in.getRank(); ++d)
    stats[d] = 1;
  types.push_back(RankedTensorType::get(stats, in.getElementType()));
  types.push_back(RankedTensorType::get(stats, in.getElementType()));
  return success();
}

LogicalResult LogSoftmaxOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor a,
                                             SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto axis = static_cast<int64_t>(a.getAxis());
  if (failed(checkAxis(loc, axis, in.getRank(), "log_softmax")))
    return failure();
  types.push_back(in);
  return success();
}

//===----------------------------------------------------------------------===//
// Indexing and shape
//===----------------------------------------------------------------------===//

/// Row-major strides of a shape.
static SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Builds a constant of `type` whose element i is element `source(i)` of
/// `input` (any element type), reading raw values.
static Attribute gatherElements(DenseElementsAttr input, RankedTensorType type,
                                function_ref<int64_t(int64_t)> source) {
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldedElements)
    return {};
  if (input.isSplat())
    return input.resizeSplat(type);
  SmallVector<Attribute> values(input.getValues<Attribute>());
  SmallVector<Attribute> out;
  out.reserve(type.getNumElements());
  for (int64_t i = 0; i < type.getNumElements(); ++i)
    out.push_back(values[source(i)]);
  return DenseElementsAttr::get(type, out);
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto data = rankedType(a.getData()), indices = rankedType(a.getIndices());
  int64_t axis = a.getAxis();
  if (failed(checkAxis(loc, axis, data.getRank(), "gather")))
    return failure();
  if (!indices.getElementType().isInteger(64) &&
      !indices.getElementType().isInteger(32))
    return emitShapeError(loc, "gather indices must be int32 or int64");
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult CheckIndicesOp::verify() {
  // I64Attr's getters are unsigned; the bounds are signed.
  int64_t lower = getLowerAttr().getInt(), upper = getUpperAttr().getInt();
  if (lower >= upper)
    return emitOpError("the range [") << lower << ", " << upper << ") is empty";
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor a) {
  if (!a.getData() || !a.getIndices())
    return {};
  DenseElementsAttr data = foldOperand(a.getData(), getType());
  auto indices = dyn_cast_or_null<DenseIntElementsAttr>(
      foldOperand(a.getIndices(), getType()));
  auto type = getType();
  if (!data || !indices || !type.hasStaticShape())
    return {};
  auto dataType = cast<RankedTensorType>(data.getType());
  int64_t axis = getAxis(), axisSize = dataType.getDimSize(axis);
  SmallVector<int64_t> idx;
  for (const APInt &v : indices.getValues<APInt>()) {
    int64_t i = v.getSExtValue();
    if (i < -axisSize || i >= axisSize)
      return {}; // out of range: left for the runtime check to report
    idx.push_back(i < 0 ? i + axisSize : i);
  }
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < dataType.getRank(); ++d)
    inner *= dataType.getDimSize(d);
  int64_t count = idx.size();
  return gatherElements(data, type, [&](int64_t i) {
    int64_t in = i % inner, rest = i / inner;
    int64_t k = rest % count, o = rest / count;
    return (o * axisSize + idx[k]) * inner + in;
  });
}

LogicalResult GatherElementsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  auto data = rankedType(a.getData()), indices = rankedType(a.getIndices());
  auto axis = static_cast<int64_t>(a.getAxis());
  if (data.getRank() != indices.getRank())
    return emitShapeError(loc, "gather_elements data and indices differ in rank");
  if (failed(checkAxis(loc, axis, data.getRank(), "gather_elements")))
    return failure();
  if (!indices.getElementType().isInteger(64) &&
      !indices.getElementType().isInteger(32))
    return emitShapeError(loc, "gather_elements indices must be int32 or int64");
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (d != axis && indices.getDimSize(d) > data.getDimSize(d))
      return emitShapeError(loc, "gather_elements indices are larger than "
                                 "data in dim " + Twine(d));
  types.push_back(indices.clone(data.getElementType()));
  return success();
}

LogicalResult ScatterElementsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  auto data = rankedType(a.getData()), indices = rankedType(a.getIndices()),
       updates = rankedType(a.getUpdates());
  auto axis = static_cast<int64_t>(a.getAxis());
  if (indices.getShape() != updates.getShape() ||
      indices.getRank() != data.getRank())
    return emitShapeError(loc, "scatter_elements indices and updates must have "
                               "one shape, of data's rank");
  if (failed(checkAxis(loc, axis, data.getRank(), "scatter_elements")))
    return failure();
  if (updates.getElementType() != data.getElementType())
    return emitShapeError(loc, "scatter_elements updates differ in dtype");
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, a.getReduction()))
    return emitShapeError(loc, "unknown scatter reduction");
  types.push_back(data);
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor a,
                                           SmallVectorImpl<Type> &types) {
  auto data = rankedType(a.getData()), indices = rankedType(a.getIndices());
  auto b = static_cast<int64_t>(a.getBatchDims());
  if (indices.getRank() < 1 || b < 0 || b >= indices.getRank() ||
      b > data.getRank())
    return emitShapeError(loc, "gather_nd batch_dims is out of range");
  int64_t q = indices.getDimSize(indices.getRank() - 1);
  if (q < 1 || b + q > data.getRank())
    return emitShapeError(loc, "gather_nd index tuples are longer than data's rank");
  for (int64_t d = 0; d < b; ++d)
    if (data.getDimSize(d) != indices.getDimSize(d))
      return emitShapeError(loc, "gather_nd batch dims of data and indices differ");
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  llvm::append_range(shape, data.getShape().drop_front(b + q));
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult ScatterNDOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto data = rankedType(a.getData()), indices = rankedType(a.getIndices()),
       updates = rankedType(a.getUpdates());
  if (indices.getRank() < 1)
    return emitShapeError(loc, "scatter_nd indices must have rank >= 1");
  int64_t q = indices.getDimSize(indices.getRank() - 1);
  SmallVector<int64_t> expected(indices.getShape().drop_back());
  if (q < 1 || q > data.getRank())
    return emitShapeError(loc, "scatter_nd index tuples are longer than data's rank");
  llvm::append_range(expected, data.getShape().drop_front(q));
  if (updates.getShape() != ArrayRef<int64_t>(expected))
    return emitShapeError(loc, "scatter_nd updates have the wrong shape");
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, a.getReduction()))
    return emitShapeError(loc, "unknown scatter reduction");
  types.push_back(data);
  return success();
}

LogicalResult EinsumOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto subscripts = parseEinsum(a.getEquation());
  if (!subscripts || subscripts->inputs.size() != a.getInputs().size() ||
      a.getInputs().empty())
    return emitShapeError(loc, "einsum equation '" + a.getEquation() +
                                   "' does not match its inputs");
  llvm::DenseMap<char, int64_t> sizes;
  for (auto [letters, input] : llvm::zip(subscripts->inputs, a.getInputs())) {
    auto type = rankedType(input);
    if (static_cast<int64_t>(letters.size()) != type.getRank())
      return emitShapeError(loc, "einsum subscripts '" + letters +
                                     "' do not match an input's rank");
    for (auto [c, size] : llvm::zip(letters, type.getShape())) {
      auto [it, inserted] = sizes.try_emplace(c, size);
      if (!inserted && it->second != size)
        return emitShapeError(loc, "einsum letter '" + std::string(1, c) +
                                       "' has two sizes");
    }
  }
  SmallVector<int64_t> shape;
  for (char c : subscripts->output) {
    if (!sizes.count(c))
      return emitShapeError(loc, "einsum output letter '" + std::string(1, c) +
                                     "' is not in any input");
    shape.push_back(sizes[c]);
  }
  types.push_back(RankedTensorType::get(
      shape, rankedType(a.getInputs().front()).getElementType()));
  return success();
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc, Adaptor a,
                                       SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto axis = static_cast<int64_t>(a.getAxis());
  auto k = static_cast<int64_t>(a.getK());
  if (failed(checkAxis(loc, axis, in.getRank(), "top_k")))
    return failure();
  if (k < 0 || k > in.getDimSize(axis))
    return emitShapeError(loc, "top_k k=" + Twine(k) + " exceeds the " +
                                   Twine(in.getDimSize(axis)) + " elements along the axis");
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = k;
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  types.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc, Adaptor a,
                                        SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  ArrayRef<int64_t> starts = a.getStarts(), sizes = a.getSizes(),
                    steps = a.getSteps();
  int64_t rank = in.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(sizes.size()) != rank ||
      static_cast<int64_t>(steps.size()) != rank)
    return emitShapeError(loc, "slice wants one start, size and step per dim");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = in.getDimSize(d);
    if (steps[d] == 0 || sizes[d] < 0)
      return emitShapeError(loc, "slice steps must be non-zero and sizes >= 0");
    if (sizes[d] == 0 || ShapedType::isDynamic(n))
      continue;
    int64_t last = starts[d] + (sizes[d] - 1) * steps[d];
    if (starts[d] < 0 || starts[d] >= n || last < 0 || last >= n)
      return emitShapeError(loc, "slice of dim " + Twine(d) +
                                     " reads outside [0, " + Twine(n) + ")");
  }
  types.push_back(RankedTensorType::get(sizes, in.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor a) {
  auto inType = getInput().getType();
  if (inType == getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  DenseElementsAttr data = foldOperand(a.getInput(), getType());
  if (!data || !inType.hasStaticShape())
    return {};
  SmallVector<int64_t> inStrides = stridesOf(inType.getShape());
  SmallVector<int64_t> outStrides = stridesOf(getType().getShape());
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  return gatherElements(data, getType(), [&](int64_t i) {
    int64_t src = 0;
    for (size_t d = 0; d < outStrides.size(); ++d) {
      int64_t k = (i / outStrides[d]) % getType().getDimSize(d);
      src += (starts[d] + k * steps[d]) * inStrides[d];
    }
    return src;
  });
}

LogicalResult ResizeOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (static_cast<int64_t>(a.getSizes().size()) != in.getRank() ||
      static_cast<int64_t>(a.getScales().size()) != in.getRank())
    return emitShapeError(loc, "resize wants one size and scale per dim");
  if (llvm::any_of(a.getSizes(), [](int64_t s) { return s < 1; }) ||
      llvm::any_of(a.getScales(), [](float s) { return !(s > 0); }))
    return emitShapeError(loc, "resize sizes and scales must be positive");
  if (!llvm::is_contained({"nearest", "linear", "cubic"}, a.getMode()))
    return emitShapeError(loc, "resize mode must be nearest, linear or cubic");
  if (!llvm::is_contained({"half_pixel", "pytorch_half_pixel", "align_corners",
                           "asymmetric", "tf_half_pixel_for_nn",
                           "half_pixel_symmetric"},
                          a.getCoordinateMode()))
    return emitShapeError(loc, "unsupported coordinate mode");
  if (!llvm::is_contained({"round_prefer_floor", "round_prefer_ceil", "floor",
                           "ceil"},
                          a.getNearestMode()))
    return emitShapeError(loc, "unsupported nearest mode");
  types.push_back(RankedTensorType::get(a.getSizes(), in.getElementType()));
  return success();
}

LogicalResult GridSampleOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor a,
                                             SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput()), grid = rankedType(a.getGrid());
  if (in.getRank() != 4 || grid.getRank() != 4 || grid.getDimSize(3) != 2 ||
      grid.getDimSize(0) != in.getDimSize(0))
    return emitShapeError(loc, "grid_sample wants input [N, C, H, W] and grid "
                               "[N, Ho, Wo, 2]");
  if (!llvm::is_contained({"bilinear", "nearest", "bicubic"}, a.getMode()) ||
      !llvm::is_contained({"zeros", "border", "reflection"}, a.getPaddingMode()))
    return emitShapeError(loc, "unsupported grid_sample mode or padding mode");
  types.push_back(RankedTensorType::get(
      {in.getDimSize(0), in.getDimSize(1), grid.getDimSize(1), grid.getDimSize(2)},
      in.getElementType()));
  return success();
}

LogicalResult TriluOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc, Adaptor a,
                                        SmallVectorImpl<Type> &types) {
  if (rankedType(a.getInput()).getRank() < 2)
    return emitShapeError(loc, "trilu wants rank >= 2");
  types.push_back(a.getInput().getType());
  return success();
}

void dlc::graph::resolveModeSelects(Operation *root, bool training) {
  root->walk([&](ModeSelectOp select) {
    select.getResult().replaceAllUsesWith(training ? select.getTraining()
                                                   : select.getInference());
    select.erase();
  });
}

LogicalResult ModeSelectOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor a,
                                             SmallVectorImpl<Type> &types) {
  if (a.getTraining().getType() != a.getInference().getType())
    return emitShapeError(loc, "mode_select wants operands of one type");
  types.push_back(a.getTraining().getType());
  return success();
}

LogicalResult DropoutMaskOp::inferReturnTypes(MLIRContext *context,
                                              std::optional<Location> loc,
                                              Adaptor a,
                                              SmallVectorImpl<Type> &types) {
  types.push_back(
      RankedTensorType::get(a.getShape(), Float32Type::get(context)));
  return success();
}

LogicalResult DropoutMaskOp::verify() {
  double ratio = getRatio().convertToDouble();
  if (!(ratio >= 0.0 && ratio < 1.0))
    return emitOpError("ratio must be in [0, 1), got ") << ratio;
  if (getCounter() && cast<RankedTensorType>(getCounter().getType()).getRank() != 0)
    return emitOpError("counter must be a scalar");
  return success();
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto shape = broadcastShapes(in.getShape(), a.getShape());
  if (!shape)
    return emitShapeError(loc, "expand: the input does not broadcast to the "
                               "requested shape");
  types.push_back(RankedTensorType::get(*shape, in.getElementType()));
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  auto inType = getInput().getType();
  if (!a.getInput() || !getType().hasStaticShape())
    return {};
  DenseElementsAttr data = foldOperand(a.getInput(), getType());
  if (!data)
    return {};
  SmallVector<int64_t> inStrides = stridesOf(inType.getShape());
  SmallVector<int64_t> outStrides = stridesOf(getType().getShape());
  int64_t offset = getType().getRank() - inType.getRank();
  return gatherElements(data, getType(), [&](int64_t i) {
    int64_t src = 0;
    for (int64_t d = 0; d < inType.getRank(); ++d) {
      int64_t k = (i / outStrides[d + offset]) % getType().getDimSize(d + offset);
      if (inType.getDimSize(d) != 1)
        src += k * inStrides[d];
    }
    return src;
  });
}

LogicalResult CastOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc, Adaptor a,
                                       SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  Type to = a.getTo();
  if (!to.isIntOrFloat())
    return emitShapeError(loc, "cast target must be an integer or float type");
  types.push_back(in.clone(to));
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  if (!a.getInput() || getType().getNumElements() > kMaxFoldedElements)
    return {};
  DenseElementsAttr data = denseElements(a.getInput());
  if (!data)
    return {};
  Type to = getTo();
  auto convert = [&](Attribute value) -> Attribute {
    if (auto f = dyn_cast<FloatAttr>(value)) {
      APFloat v = f.getValue();
      if (auto toFloat = dyn_cast<FloatType>(to)) {
        bool lost;
        v.convert(toFloat.getFloatSemantics(), kRound, &lost);
        return FloatAttr::get(to, v);
      }
      APSInt result(to.getIntOrFloatBitWidth(), /*isUnsigned=*/false);
      bool exact;
      v.convertToInteger(result, APFloat::rmTowardZero, &exact);
      return IntegerAttr::get(to, result);
    }
    auto i = cast<IntegerAttr>(value);
    APInt v = i.getValue();
    bool isUnsigned = getUnsignedSource() || v.getBitWidth() == 1;
    if (auto toFloat = dyn_cast<FloatType>(to)) {
      APFloat f(toFloat.getFloatSemantics());
      f.convertFromAPInt(v, /*isSigned=*/!isUnsigned, kRound);
      return FloatAttr::get(to, f);
    }
    unsigned width = to.getIntOrFloatBitWidth();
    if (width == 1)
      return IntegerAttr::get(to, APInt(1, !v.isZero()));
    return IntegerAttr::get(to, isUnsigned ? v.zextOrTrunc(width)
                                           : v.sextOrTrunc(width));
  };
  SmallVector<Attribute> out;
  for (Attribute value : data.getValues<Attribute>())
    out.push_back(convert(value));
  return DenseElementsAttr::get(getType(), out);
}

//===----------------------------------------------------------------------===//
// Recurrent networks
//===----------------------------------------------------------------------===//

/// Gates per cell type, in ONNX order.
static int64_t gatesOf(StringRef cell) {
  return cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
}

/// The sizes of a recurrent op (T, B, I, D, H, G), after checking the
/// operands graph.recurrent and graph.recurrent_grad share.
struct RecurrentSizes {
  int64_t t, b, i, d, h, g;
};

template <typename AdaptorT>
static FailureOr<RecurrentSizes>
checkRecurrentOperands(std::optional<Location> loc, AdaptorT a, StringRef op) {
  auto x = rankedType(a.getInput());
  if (x.getRank() != 3)
    return emitShapeError(loc, op + " input must be [T, B, I]");
  RecurrentSizes s;
  s.d = a.getDirection() == "bidirectional" ? 2 : 1;
  s.h = a.getHiddenSize();
  s.g = gatesOf(a.getCell());
  s.t = x.getDimSize(0);
  s.b = x.getDimSize(1);
  s.i = x.getDimSize(2);
  auto expect = [&](Value v, ArrayRef<int64_t> shape, StringRef name) {
    if (v && rankedType(v).getShape() != shape)
      return emitShapeError(loc, op + " " + name + " has the wrong shape");
    return success();
  };
  int64_t d = s.d, h = s.h, g = s.g, b = s.b;
  if (failed(expect(a.getInputWeights(), {d, s.i, g * h}, "input_weights")) ||
      failed(expect(a.getRecurrentWeights(), {d, h, g * h},
                    "recurrent_weights")) ||
      failed(expect(a.getBias(), {d, g * h}, "bias")) ||
      failed(expect(a.getRecurrentHBias(), {d, h}, "recurrent_h_bias")) ||
      failed(expect(a.getInitialH(), {d, b, h}, "initial_h")) ||
      failed(expect(a.getInitialC(), {d, b, h}, "initial_c")) ||
      failed(expect(a.getPeepholes(), {d, 3 * h}, "peepholes")))
    return failure();
  return s;
}

/// Cell, direction and activation attributes, shared by both recurrent ops.
template <typename OpT> static LogicalResult verifyRecurrentAttributes(OpT op) {
  if (!llvm::is_contained({"rnn", "gru", "lstm"}, op.getCell()))
    return op.emitOpError("unknown cell '") << op.getCell() << "'";
  if (!llvm::is_contained({"forward", "reverse", "bidirectional"},
                          op.getDirection()))
    return op.emitOpError("unknown direction '") << op.getDirection() << "'";
  int64_t perDirection =
      op.getCell() == "lstm" ? 3 : op.getCell() == "gru" ? 2 : 1;
  int64_t d = op.getDirection() == "bidirectional" ? 2 : 1;
  if (static_cast<int64_t>(op.getActivations().size()) != perDirection * d)
    return op.emitOpError("wants ")
           << perDirection * d << " activations, got "
           << op.getActivations().size();
  if (op.getActivationAlpha().size() != op.getActivations().size() ||
      op.getActivationBeta().size() != op.getActivations().size())
    return op.emitOpError("wants one alpha and one beta per activation");
  return success();
}

LogicalResult RecurrentOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor a,
                                            SmallVectorImpl<Type> &types) {
  auto sizes = checkRecurrentOperands(loc, a, "recurrent");
  if (failed(sizes))
    return failure();
  auto [t, b, i, d, h, g] = *sizes;
  Type elem = rankedType(a.getInput()).getElementType();
  types.push_back(RankedTensorType::get({t, d, b, h}, elem));
  types.push_back(RankedTensorType::get({d, b, h}, elem));
  types.push_back(RankedTensorType::get({d, b, h}, elem));
  return success();
}

LogicalResult RecurrentOp::verify() { return verifyRecurrentAttributes(*this); }

bool RecurrentGradOp::isCompatibleReturnTypes(TypeRange l, TypeRange r) {
  return compatibleResultTypes(l, r);
}

LogicalResult RecurrentGradOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto sizes = checkRecurrentOperands(loc, a, "recurrent_grad");
  if (failed(sizes))
    return failure();
  auto [t, b, i, d, h, g] = *sizes;
  auto expect = [&](Value v, ArrayRef<int64_t> shape, StringRef name) {
    if (v && rankedType(v).getShape() != shape)
      return emitShapeError(loc,
                            "recurrent_grad " + name + " has the wrong shape");
    return success();
  };
  if (failed(expect(a.getYGrad(), {t, d, b, h}, "y_grad")) ||
      failed(expect(a.getYHGrad(), {d, b, h}, "y_h_grad")) ||
      failed(expect(a.getYCGrad(), {d, b, h}, "y_c_grad")))
    return failure();
  Type elem = rankedType(a.getInput()).getElementType();
  auto add = [&](ArrayRef<int64_t> shape) {
    types.push_back(RankedTensorType::get(shape, elem));
  };
  add({t, b, i});
  add({d, i, g * h});
  add({d, h, g * h});
  add({d, g * h});
  add({d, h});
  add({d, b, h});
  add({d, b, h});
  add({d, 3 * h});
  return success();
}

bool RecurrentGradOp::isDifferentiableActivation(StringRef name) {
  return llvm::is_contained(
      {"Sigmoid", "Tanh", "Relu", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
       "HardSigmoid", "Elu", "Softsign", "Softplus", "Affine"},
      name);
}

LogicalResult RecurrentGradOp::verify() {
  if (failed(verifyRecurrentAttributes(*this)))
    return failure();
  for (Attribute name : getActivations())
    if (!isDifferentiableActivation(cast<StringAttr>(name).getValue()))
      return emitOpError("unknown activation '")
             << cast<StringAttr>(name).getValue() << "'";
  if (getPeepholes() && getCell() != "lstm")
    return emitOpError("has peepholes, which only lstm takes");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/graph/GraphOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shapes computed at run time
//===----------------------------------------------------------------------===//

namespace {

/// The static length of a 1-D shape-like operand ("shape", "repeats", ...).
FailureOr<int64_t> shapeOperandLength(std::optional<Location> loc, Value v,
                                      StringRef op, StringRef what) {
  auto type = rankedType(v);
  if (type.getRank() != 1 || type.isDynamicDim(0))
    return emitShapeError(loc, op + ": " + what +
                                   " must be 1-D with a static length");
  return type.getDimSize(0);
}

/// A tensor of `rank` dims, all known only at run time.
RankedTensorType dynamicType(int64_t rank, Type element) {
  return RankedTensorType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                               element);
}

} // namespace

DLC_COMPATIBLE_RETURN_TYPES(RuntimeReshapeOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeExpandOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeFillOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeRangeOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeTileOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSliceOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimePadOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeOneHotOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeTopKOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSqueezeOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeResizeOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeWindowOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeReduceOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeCompressOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeNonZeroOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeNmsOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeUniqueOp)

LogicalResult RuntimeReshapeOp::inferReturnTypes(MLIRContext *,
                                                 std::optional<Location> loc,
                                                 Adaptor a,
                                                 SmallVectorImpl<Type> &types) {
  auto rank = shapeOperandLength(loc, a.getShape(), "runtime_reshape", "shape");
  if (failed(rank))
    return failure();
  if (!rankedType(a.getInput()).hasStaticShape())
    return emitShapeError(loc, "runtime_reshape: the input must be static");
  types.push_back(
      dynamicType(*rank, rankedType(a.getInput()).getElementType()));
  return success();
}

LogicalResult RuntimeSqueezeOp::inferReturnTypes(MLIRContext *,
                                                 std::optional<Location> loc,
                                                 Adaptor a,
                                                 SmallVectorImpl<Type> &types) {
  auto n = shapeOperandLength(loc, a.getAxes(), "runtime_squeeze", "axes");
  if (failed(n))
    return failure();
  auto in = rankedType(a.getInput());
  int64_t rank = in.getRank() + (a.getUnsqueeze() ? *n : -*n);
  if (!in.hasStaticShape() || rank < 0 ||
      (rank == 0 && in.getNumElements() != 1))
    return emitShapeError(loc, "runtime_squeeze: a static input with as "
                               "many dims as the axes remove");
  types.push_back(dynamicType(rank, in.getElementType()));
  return success();
}

LogicalResult RuntimeExpandOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto rank = shapeOperandLength(loc, a.getShape(), "runtime_expand", "shape");
  if (failed(rank))
    return failure();
  auto in = rankedType(a.getInput());
  if (!in.hasStaticShape())
    return emitShapeError(loc, "runtime_expand: the input must be static");
  types.push_back(
      dynamicType(std::max(*rank, in.getRank()), in.getElementType()));
  return success();
}

LogicalResult RuntimeFillOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor a,
                                              SmallVectorImpl<Type> &types) {
  auto rank = shapeOperandLength(loc, a.getShape(), "runtime_fill", "shape");
  if (failed(rank))
    return failure();
  // Dims the shape operand holds as constants (a shape built from a
  // run-time dim and constants) are static.
  RankedTensorType type = dynamicType(*rank, a.getValue().getType());
  SmallVector<int64_t> dims(type.getShape());
  if (auto elements = a.getShape().getDefiningOp<tensor::FromElementsOp>())
    for (auto [i, e] : llvm::enumerate(elements.getElements())) {
      APInt value;
      if (matchPattern(e, m_ConstantInt(&value)) && !value.isNegative())
        dims[i] = value.getSExtValue();
    }
  types.push_back(RankedTensorType::get(dims, type.getElementType()));
  return success();
}

LogicalResult RuntimeRangeOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor a,
                                               SmallVectorImpl<Type> &types) {
  Type element = rankedType(a.getStart()).getElementType();
  for (Value v : {a.getStart(), a.getLimit(), a.getDelta()})
    if (rankedType(v).getNumElements() != 1 ||
        !rankedType(v).hasStaticShape() ||
        rankedType(v).getElementType() != element)
      return emitShapeError(loc, "runtime_range: start, limit and delta must "
                                 "be single values of one type");
  if (!isa<FloatType>(element) && !element.isInteger())
    return emitShapeError(loc, "runtime_range: numbers only");
  types.push_back(dynamicType(1, element));
  return success();
}

LogicalResult RuntimeTileOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor a,
                                              SmallVectorImpl<Type> &types) {
  auto rank =
      shapeOperandLength(loc, a.getRepeats(), "runtime_tile", "repeats");
  if (failed(rank))
    return failure();
  auto in = rankedType(a.getInput());
  if (!in.hasStaticShape() || *rank != in.getRank())
    return emitShapeError(loc, "runtime_tile: the input must be static, with "
                               "one repeat per dim");
  types.push_back(dynamicType(in.getRank(), in.getElementType()));
  return success();
}

LogicalResult RuntimeSliceOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor a,
                                               SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (!in.hasStaticShape())
    return emitShapeError(loc, "runtime_slice: the input must be static");
  std::optional<int64_t> length;
  for (auto [v, what] : {std::pair{a.getStarts(), "starts"},
                         {a.getEnds(), "ends"},
                         {a.getAxes(), "axes"},
                         {a.getSteps(), "steps"}}) {
    auto n = shapeOperandLength(loc, v, "runtime_slice", what);
    if (failed(n))
      return failure();
    if (length && *length != *n)
      return emitShapeError(loc, "runtime_slice: starts, ends, axes and "
                                 "steps must have one length");
    length = *n;
  }
  types.push_back(dynamicType(in.getRank(), in.getElementType()));
  return success();
}

LogicalResult RuntimePadOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor a,
                                             SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto n = shapeOperandLength(loc, a.getPads(), "runtime_pad", "pads");
  if (failed(n))
    return failure();
  if (!in.hasStaticShape() || *n != 2 * in.getRank())
    return emitShapeError(loc, "runtime_pad: the input must be static, with "
                               "two pads per dim");
  auto value = rankedType(a.getValue());
  if (value.getNumElements() != 1 || !value.hasStaticShape() ||
      value.getElementType() != in.getElementType())
    return emitShapeError(loc, "runtime_pad: the value must be one element "
                               "of the input's type");
  StringRef mode = a.getMode();
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      mode != "wrap")
    return emitShapeError(loc, "runtime_pad: mode must be constant, edge, "
                               "reflect or wrap");
  types.push_back(dynamicType(in.getRank(), in.getElementType()));
  return success();
}

LogicalResult
RuntimeCompressOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor a, SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto condition = rankedType(a.getCondition());
  int64_t axis = a.getAxis();
  if (!in.hasStaticShape() || axis < 0 || axis >= in.getRank() ||
      condition.getRank() != 1 || !condition.hasStaticShape() ||
      !condition.getElementType().isInteger(1))
    return emitShapeError(loc, "runtime_compress: a static input, an axis of "
                               "it and a 1-D bool condition");
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = ShapedType::kDynamic;
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult RuntimeNonZeroOp::inferReturnTypes(MLIRContext *ctx,
                                                 std::optional<Location> loc,
                                                 Adaptor a,
                                                 SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (!in.hasStaticShape() || in.getRank() == 0)
    return emitShapeError(loc, "runtime_nonzero: a static input of rank 1 "
                               "or more");
  types.push_back(RankedTensorType::get({in.getRank(), ShapedType::kDynamic},
                                        IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult RuntimeUniqueOp::inferReturnTypes(MLIRContext *ctx,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  int64_t axis = a.getAxis();
  if (!in.hasStaticShape() || in.getRank() == 0 ||
      (!a.getFlatten() && (axis < 0 || axis >= in.getRank())))
    return emitShapeError(loc, "runtime_unique: a static input of rank 1 or "
                               "more, and an axis of it unless flattened");
  SmallVector<int64_t> shape = {ShapedType::kDynamic};
  int64_t slices = in.getNumElements();
  if (!a.getFlatten()) {
    shape.assign(in.getShape().begin(), in.getShape().end());
    shape[axis] = ShapedType::kDynamic;
    slices = in.getDimSize(axis);
  }
  auto i64 = IntegerType::get(ctx, 64);
  auto count = RankedTensorType::get({ShapedType::kDynamic}, i64);
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  types.push_back(count);
  types.push_back(RankedTensorType::get({slices}, i64));
  types.push_back(count);
  return success();
}

LogicalResult RuntimeNmsOp::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor a,
                                             SmallVectorImpl<Type> &types) {
  auto boxes = rankedType(a.getBoxes()), scores = rankedType(a.getScores());
  auto one = [](Value v) {
    auto t = rankedType(v);
    return t.hasStaticShape() && t.getNumElements() == 1 && t.getRank() <= 1;
  };
  if (!boxes.hasStaticShape() || !scores.hasStaticShape() ||
      boxes.getRank() != 3 || scores.getRank() != 3 ||
      boxes.getDimSize(2) != 4 || boxes.getDimSize(0) != scores.getDimSize(0) ||
      boxes.getDimSize(1) != scores.getDimSize(2) || !one(a.getMaxPerClass()) ||
      !one(a.getIouThreshold()) || !one(a.getScoreThreshold()))
    return emitShapeError(loc, "runtime_nms: static boxes [B, N, 4] and "
                               "scores [B, C, N], one-element count and "
                               "thresholds");
  types.push_back(RankedTensorType::get({ShapedType::kDynamic, 3},
                                        IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult RuntimeReduceOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto n = shapeOperandLength(loc, a.getAxes(), "runtime_reduce", "axes");
  if (failed(n))
    return failure();
  // With keepdims an axis may repeat; without, each removes a dim.
  if (!in.hasStaticShape() || *n < 1 || (!a.getKeepdims() && *n > in.getRank()))
    return emitShapeError(loc, "runtime_reduce: a static input, and 1 to "
                               "rank axes (any number with keepdims)");
  if (!llvm::is_contained({"sum", "mean", "max", "min", "prod", "l1", "l2",
                           "log_sum", "log_sum_exp", "sum_square"},
                          a.getKind()))
    return emitShapeError(loc, "runtime_reduce: an unknown kind");
  types.push_back(dynamicType(
      a.getKeepdims() ? in.getRank() : in.getRank() - *n, in.getElementType()));
  return success();
}

LogicalResult RuntimeWindowOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto size = rankedType(a.getSize());
  if (!size.hasStaticShape() || size.getNumElements() != 1 ||
      !size.getElementType().isInteger() || size.getElementType().isInteger(1))
    return emitShapeError(loc, "runtime_window: size must be one integer");
  Type element = a.getElement();
  if (!isa<FloatType>(element) && !element.isInteger())
    return emitShapeError(loc, "runtime_window: a number type");
  types.push_back(dynamicType(1, element));
  return success();
}

LogicalResult RuntimeResizeOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto n = shapeOperandLength(loc, a.getTarget(), "runtime_resize", "target");
  if (failed(n))
    return failure();
  Type element = rankedType(a.getTarget()).getElementType();
  ArrayRef<int64_t> axes = a.getAxes();
  if (!in.hasStaticShape() || *n != static_cast<int64_t>(axes.size()) ||
      !(element.isInteger(64) || isa<FloatType>(element)))
    return emitShapeError(loc, "runtime_resize: a static input, and int64 "
                               "sizes or float scales, one per axis");
  SmallVector<int64_t> shape(in.getShape());
  for (int64_t axis : axes) {
    if (axis < 0 || axis >= in.getRank() || ShapedType::isDynamic(shape[axis]))
      return emitShapeError(loc, "runtime_resize: axes must be distinct "
                                 "dims of the input");
    shape[axis] = ShapedType::kDynamic;
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult RuntimeOneHotOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor a,
                                                SmallVectorImpl<Type> &types) {
  auto indices = rankedType(a.getIndices());
  auto depth = rankedType(a.getDepth());
  auto values = rankedType(a.getValues());
  if (!indices.hasStaticShape() || !indices.getElementType().isInteger() ||
      !depth.hasStaticShape() || depth.getNumElements() != 1 ||
      !depth.getElementType().isInteger(64) || !values.hasStaticShape() ||
      values.getNumElements() != 2)
    return emitShapeError(loc, "runtime_one_hot: static integer indices, one "
                               "int64 depth and two values");
  int64_t rank = indices.getRank() + 1;
  if (failed(checkAxis(loc, a.getAxis(), rank, "runtime_one_hot")))
    return failure();
  SmallVector<int64_t> shape(indices.getShape());
  shape.insert(shape.begin() + a.getAxis(), ShapedType::kDynamic);
  types.push_back(RankedTensorType::get(shape, values.getElementType()));
  return success();
}

LogicalResult RuntimeTopKOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor a,
                                              SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  auto k = rankedType(a.getK());
  if (!in.hasStaticShape() || !k.hasStaticShape() || k.getNumElements() != 1)
    return emitShapeError(loc, "runtime_top_k: a static input and one k");
  if (failed(checkAxis(loc, a.getAxis(), in.getRank(), "runtime_top_k")))
    return failure();
  SmallVector<int64_t> shape(in.getShape());
  shape[a.getAxis()] = ShapedType::kDynamic;
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  types.push_back(
      RankedTensorType::get(shape, IntegerType::get(in.getContext(), 64)));
  return success();
}

namespace {
/// A sequence's two tensors: values tensor<?xT>, table tensor<?x10xi64>.
void sequenceTypes(Type element, SmallVectorImpl<Type> &types) {
  types.push_back(RankedTensorType::get({ShapedType::kDynamic}, element));
  types.push_back(
      RankedTensorType::get({ShapedType::kDynamic, kSequenceRowWidth},
                            IntegerType::get(element.getContext(), 64)));
}

/// Checks the values and table operands of a sequence op.
LogicalResult checkSequence(std::optional<Location> loc, Value values,
                            Value table, StringRef op) {
  auto v = rankedType(values), t = rankedType(table);
  if (v.getRank() != 1 || t.getRank() != 2 ||
      t.getDimSize(1) != kSequenceRowWidth)
    return emitShapeError(loc, op + ": a sequence's values [n] and table "
                                    "[length, 10]");
  return success();
}

LogicalResult checkPosition(std::optional<Location> loc, Value position,
                            StringRef op) {
  if (position && rankedType(position).getNumElements() != 1)
    return emitShapeError(loc, op + ": a position of one element");
  return success();
}
} // namespace

DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceConstructOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceInsertOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceEraseOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceAtOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceLengthOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceConcatOp)
DLC_COMPATIBLE_RETURN_TYPES(RuntimeSequenceSplitOp)

LogicalResult RuntimeSequenceConstructOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  Type element = a.getElementType();
  for (Value t : a.getTensors())
    if (rankedType(t).getElementType() != element ||
        rankedType(t).getRank() > kSequenceMaxRank)
      return emitShapeError(loc, "runtime_sequence_construct: tensors of the "
                                 "element type, of rank 8 or less");
  sequenceTypes(element, types);
  return success();
}

LogicalResult RuntimeSequenceInsertOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  if (failed(checkSequence(loc, a.getValues(), a.getTable(),
                           "runtime_sequence_insert")) ||
      failed(checkPosition(loc, a.getPosition(), "runtime_sequence_insert")))
    return failure();
  Type element = rankedType(a.getValues()).getElementType();
  auto tensor = rankedType(a.getTensor());
  if (tensor.getElementType() != element || tensor.getRank() > kSequenceMaxRank)
    return emitShapeError(loc, "runtime_sequence_insert: a tensor of the "
                               "sequence's element type, of rank 8 or less");
  sequenceTypes(element, types);
  return success();
}

LogicalResult
RuntimeSequenceEraseOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc, Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  if (failed(checkSequence(loc, a.getValues(), a.getTable(),
                           "runtime_sequence_erase")) ||
      failed(checkPosition(loc, a.getPosition(), "runtime_sequence_erase")))
    return failure();
  sequenceTypes(rankedType(a.getValues()).getElementType(), types);
  return success();
}

LogicalResult
RuntimeSequenceAtOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc, Adaptor a,
                                      SmallVectorImpl<Type> &types) {
  if (failed(checkSequence(loc, a.getValues(), a.getTable(),
                           "runtime_sequence_at")) ||
      failed(checkPosition(loc, a.getPosition(), "runtime_sequence_at")))
    return failure();
  int64_t rank = static_cast<int64_t>(a.getRank());
  if (rank < 0 || rank > kSequenceMaxRank)
    return emitShapeError(loc, "runtime_sequence_at: a rank of 0 to 8");
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  types.push_back(
      RankedTensorType::get(shape, rankedType(a.getValues()).getElementType()));
  return success();
}

LogicalResult RuntimeSequenceConcatOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  if (failed(checkSequence(loc, a.getValues(), a.getTable(),
                           "runtime_sequence_concat")))
    return failure();
  // I64Attr getters are unsigned.
  int64_t elementRank = static_cast<int64_t>(a.getRank());
  int64_t axis = static_cast<int64_t>(a.getAxis());
  int64_t rank = elementRank + (a.getNewAxis() ? 1 : 0);
  if (elementRank < 0 || elementRank > kSequenceMaxRank || axis < 0 ||
      axis >= rank)
    return emitShapeError(loc, "runtime_sequence_concat: a rank of 0 to 8 "
                               "and an axis of the result");
  types.push_back(
      RankedTensorType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                            rankedType(a.getValues()).getElementType()));
  return success();
}

LogicalResult
RuntimeSequenceSplitOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc, Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  auto in = rankedType(a.getInput());
  if (in.getRank() == 0 || in.getRank() > kSequenceMaxRank)
    return emitShapeError(loc, "runtime_sequence_split: an input of rank 1 "
                               "to 8");
  if (failed(
          checkAxis(loc, a.getAxis(), in.getRank(), "runtime_sequence_split")))
    return failure();
  if (a.getSplit() && rankedType(a.getSplit()).getRank() > 1)
    return emitShapeError(loc, "runtime_sequence_split: a split of rank 0 "
                               "or 1");
  sequenceTypes(in.getElementType(), types);
  return success();
}

LogicalResult RuntimeSequenceLengthOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor a,
    SmallVectorImpl<Type> &types) {
  auto t = rankedType(a.getTable());
  if (t.getRank() != 2 || t.getDimSize(1) != kSequenceRowWidth)
    return emitShapeError(loc, "runtime_sequence_length: a table [length, 10]");
  types.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 64)));
  return success();
}

#undef DLC_COMPATIBLE_RETURN_TYPES
