//===- GraphOps.cpp - verifiers, shape inference and folders --------------===//

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/GraphShapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace dlc::graph;

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
DLC_COMPATIBLE_RETURN_TYPES(GlobalAvgPoolOp)
DLC_COMPATIBLE_RETURN_TYPES(ReshapeOp)
DLC_COMPATIBLE_RETURN_TYPES(TransposeOp)
DLC_COMPATIBLE_RETURN_TYPES(ConcatOp)
DLC_COMPATIBLE_RETURN_TYPES(PadOp)
#undef DLC_COMPATIBLE_RETURN_TYPES

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
#undef DLC_BINARY_INFER

/// Folds an elementwise binary op on two float constants, broadcasting.
template <typename Fn>
static Attribute foldFloatBinary(Attribute lhs, Attribute rhs, Type resultType,
                                 Fn fn) {
  auto l = dyn_cast_or_null<DenseFPElementsAttr>(lhs);
  auto r = dyn_cast_or_null<DenseFPElementsAttr>(rhs);
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!l || !r || !type || !type.hasStaticShape())
    return {};
  if (l.isSplat() && r.isSplat())
    return DenseElementsAttr::get(
        type, fn(l.getSplatValue<APFloat>(), r.getSplatValue<APFloat>()));
  // Materializing big folded tensors costs compile time and memory; only fold
  // what is small (shape arithmetic, scalar parameters).
  if (type.getNumElements() > (1 << 16))
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
  SmallVector<APFloat> lv(l.getValues<APFloat>()), rv(r.getValues<APFloat>());
  SmallVector<APFloat> out;
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

OpFoldResult AddOp::fold(FoldAdaptor a) {
  return foldFloatBinary(a.getLhs(), a.getRhs(), getType(),
                         [](APFloat x, const APFloat &y) { x.add(y, APFloat::rmNearestTiesToEven); return x; });
}
OpFoldResult SubOp::fold(FoldAdaptor a) {
  return foldFloatBinary(a.getLhs(), a.getRhs(), getType(),
                         [](APFloat x, const APFloat &y) { x.subtract(y, APFloat::rmNearestTiesToEven); return x; });
}
OpFoldResult MulOp::fold(FoldAdaptor a) {
  return foldFloatBinary(a.getLhs(), a.getRhs(), getType(),
                         [](APFloat x, const APFloat &y) { x.multiply(y, APFloat::rmNearestTiesToEven); return x; });
}
OpFoldResult DivOp::fold(FoldAdaptor a) {
  return foldFloatBinary(a.getLhs(), a.getRhs(), getType(),
                         [](APFloat x, const APFloat &y) { x.divide(y, APFloat::rmNearestTiesToEven); return x; });
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
  if (getAxis() < 0 || getAxis() >= rank)
    return emitOpError("axis ") << getAxis() << " is out of range for rank "
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
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return emitShapeError(loc, "reshape wants a fully static target shape");
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
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  if (!dense || !getType().hasStaticShape())
    return {};
  if (dense.isSplat())
    return dense.resizeSplat(getType());
  // Permute raw elements of any type: the weights of a transposed Gemm.
  auto inType = cast<RankedTensorType>(dense.getType());
  if (!inType.getElementType().isIntOrFloat() || dense.getRawData().empty())
    return {};
  unsigned bytes = (inType.getElementTypeBitWidth() + 7) / 8;
  if (inType.getElementTypeBitWidth() % 8 != 0)
    return {};
  ArrayRef<char> raw = dense.getRawData();
  int64_t rank = inType.getRank();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * inType.getDimSize(i + 1);
  ArrayRef<int64_t> outShape = getType().getShape();
  std::vector<char> out(raw.size());
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
  return DenseElementsAttr::getFromRawBuffer(getType(), out);
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor a,
                                         SmallVectorImpl<Type> &types) {
  if (a.getInputs().empty())
    return emitShapeError(loc, "concat wants at least one input");
  auto first = rankedType(a.getInputs().front());
  int64_t axis = a.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return emitShapeError(loc, "concat axis " + Twine(axis) +
                                   " is out of range for rank " +
                                   Twine(first.getRank()));
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

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  return {};
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
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t size = in.getDimSize(d);
    if (ShapedType::isDynamic(size)) {
      shape.push_back(size);
      continue;
    }
    size += pads[d] + pads[d + in.getRank()];
    if (size < 0)
      return emitShapeError(loc, "pad makes dim " + Twine(d) + " negative");
    shape.push_back(size);
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

#define GET_OP_CLASSES
#include "dialects/graph/GraphOps.cpp.inc"
