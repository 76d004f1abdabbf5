//===- GraphGradient.cpp - the vocabulary of gradient rules ---------------===//

#include "dialects/graph/GraphGradient.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

#include "dialects/graph/GraphGradient.cpp.inc"

namespace dlc::graph {

Value GradientBuilder::scalar(Type elem, double value) {
  return splat(RankedTensorType::get({}, elem), value);
}

Value GradientBuilder::splat(RankedTensorType type, double value) {
  Type elem = type.getElementType();
  Attribute element;
  if (auto f = dyn_cast<FloatType>(elem))
    element = b.getFloatAttr(f, value);
  else
    element = b.getIntegerAttr(elem, static_cast<int64_t>(value));
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, element));
}

Value GradientBuilder::int64Constant(ArrayRef<int64_t> shape,
                                     ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value GradientBuilder::floatConstant(ArrayRef<int64_t> shape, Type elem,
                                     ArrayRef<double> values) {
  auto type = RankedTensorType::get(shape, elem);
  SmallVector<Attribute> attrs;
  for (double v : values)
    attrs.push_back(b.getFloatAttr(elem, v));
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, attrs));
}

Value GradientBuilder::add(Value l, Value r) {
  return AddOp::create(b, loc, l, r, b.getBoolAttr(false));
}
Value GradientBuilder::sub(Value l, Value r) {
  return SubOp::create(b, loc, l, r, b.getBoolAttr(false));
}
Value GradientBuilder::mul(Value l, Value r) {
  return MulOp::create(b, loc, l, r, b.getBoolAttr(false));
}
Value GradientBuilder::div(Value l, Value r) {
  return DivOp::create(b, loc, l, r, b.getBoolAttr(false));
}
Value GradientBuilder::pow(Value l, Value r) {
  return PowOp::create(b, loc, l, r, b.getBoolAttr(false));
}

Value GradientBuilder::scale(Value x, double c) {
  if (c == 1.0)
    return x;
  return mul(x, scalar(typeOf(x).getElementType(), c));
}

Value GradientBuilder::unary(Value x, StringRef fn, float alpha, float beta,
                             float gamma) {
  return UnaryOp::create(b, loc, x, fn, APFloat(alpha), APFloat(beta),
                         APFloat(gamma));
}

Value GradientBuilder::greater(Value l, Value r) {
  return GreaterOp::create(b, loc, l, r);
}
Value GradientBuilder::greaterEqual(Value l, Value r) {
  return GreaterEqualOp::create(b, loc, l, r);
}
Value GradientBuilder::lessEqual(Value l, Value r) {
  return LessEqualOp::create(b, loc, l, r);
}
Value GradientBuilder::equal(Value l, Value r) {
  return EqualOp::create(b, loc, l, r);
}
Value GradientBuilder::logicalAnd(Value l, Value r) {
  return AndOp::create(b, loc, l, r);
}
Value GradientBuilder::where(Value cond, Value x, Value y) {
  return WhereOp::create(b, loc, cond, x, y);
}
Value GradientBuilder::mask(Value cond, Value g) {
  return where(cond, g, scalar(typeOf(g).getElementType(), 0.0));
}

Value GradientBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  if (typeOf(x).getShape() == shape)
    return x;
  return ReshapeOp::create(b, loc, x, shape);
}

Value GradientBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return x;
  return TransposeOp::create(b, loc, x, perm);
}

Value GradientBuilder::expand(Value x, ArrayRef<int64_t> shape) {
  if (typeOf(x).getShape() == shape)
    return x;
  return ExpandOp::create(b, loc, x, shape);
}

Value GradientBuilder::slice(Value x, ArrayRef<int64_t> starts,
                             ArrayRef<int64_t> sizes, ArrayRef<int64_t> steps) {
  return SliceOp::create(b, loc, x, starts, sizes, steps);
}

Value GradientBuilder::pad(Value x, ArrayRef<int64_t> pads, double value) {
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; }))
    return x;
  return PadOp::create(b, loc, x, pads, APFloat(value), "constant");
}

Value GradientBuilder::concat(ValueRange xs, int64_t axis) {
  if (xs.size() == 1)
    return xs.front();
  return ConcatOp::create(b, loc, xs, axis);
}

Value GradientBuilder::matmul(Value l, Value r, bool transposeLhs,
                              bool transposeRhs) {
  return MatmulOp::create(b, loc, l, r, transposeLhs, transposeRhs);
}

Value GradientBuilder::reduce(Value x, StringRef kind, ArrayRef<int64_t> axes,
                              bool keepdims) {
  if (axes.empty())
    return x;
  return ReduceOp::create(b, loc, x, kind, axes, keepdims);
}

Value GradientBuilder::sumToShape(Value grad, RankedTensorType type) {
  ArrayRef<int64_t> from = typeOf(grad).getShape(), to = type.getShape();
  if (from == to)
    return grad;
  int64_t lead = static_cast<int64_t>(from.size()) -
                 static_cast<int64_t>(to.size());
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < static_cast<int64_t>(from.size()); ++d)
    if (d < lead || (to[d - lead] == 1 && from[d] != 1))
      axes.push_back(d);
  // Keep the dims so that the result is reshaped once to the target.
  Value summed = sum(grad, axes, /*keepdims=*/true);
  return reshape(summed, to);
}

Value GradientBuilder::broadcastReduced(Value grad, RankedTensorType input,
                                        ArrayRef<int64_t> axes,
                                        bool keepdims) {
  SmallVector<int64_t> kept(input.getShape());
  for (int64_t a : axes)
    kept[a] = 1;
  Value g = keepdims ? grad : reshape(grad, kept);
  return expand(g, input.getShape());
}

void attachGradientRules(MLIRContext &context) {
  attachElementwiseGradients(context);
  attachNNGradients(context);
  attachRecurrentGradients(context);
  attachTensorGradients(context);
}

} // namespace dlc::graph
