//===- GraphGradient.cpp - the vocabulary of gradient rules ---------------===//

#include "dialects/graph/GraphGradient.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/RegionUtils.h"

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
  // Moving only size-1 dims keeps the elements' order: a reshape, no copy
  // (a batch of one swapped with channels, as convolution gradients do).
  ArrayRef<int64_t> shape = typeOf(x).getShape();
  SmallVector<int64_t> kept;
  for (int64_t p : perm)
    if (shape[p] != 1)
      kept.push_back(p);
  if (llvm::is_sorted(kept)) {
    SmallVector<int64_t> permuted;
    for (int64_t p : perm)
      permuted.push_back(shape[p]);
    return reshape(x, permuted);
  }
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

static bool isFloatTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && isa<FloatType>(type.getElementType());
}

FailureOr<SmallVector<Value>> buildReverseGradients(OpBuilder &builder,
                                                    Value y, Value seed,
                                                    ValueRange xs) {
  Block *block = builder.getInsertionBlock();
  Block::iterator end = builder.getInsertionPoint();
  auto ops = llvm::make_range(block->begin(), end);

  // Values that depend on an x, and values y depends on: an op needs a rule
  // when it is on a path from one to the other.
  // An op with regions (scf.if, scf.for) reads what its regions capture as
  // well as its operands.
  auto inputsOf = [](Operation *op) {
    llvm::SetVector<Value> inputs(op->operand_begin(), op->operand_end());
    getUsedValuesDefinedAbove(op->getRegions(), inputs);
    return inputs;
  };
  llvm::DenseSet<Value> active(xs.begin(), xs.end());
  for (Operation &op : ops)
    if (llvm::any_of(inputsOf(&op),
                     [&](Value v) { return active.contains(v); }))
      for (Value r : op.getResults())
        if (isFloatTensor(r))
          active.insert(r);
  llvm::DenseSet<Value> useful = {y};
  SmallVector<Operation *> reversed;
  for (Operation &op : ops)
    reversed.push_back(&op);
  std::reverse(reversed.begin(), reversed.end());
  for (Operation *op : reversed)
    if (llvm::any_of(op->getResults(),
                     [&](Value v) { return useful.contains(v); })) {
      auto inputs = inputsOf(op);
      useful.insert(inputs.begin(), inputs.end());
    }
  SmallVector<Operation *> path;
  for (Operation &op : ops)
    if (llvm::any_of(op.getResults(), [&](Value v) {
          return active.contains(v) && useful.contains(v);
        }))
      path.push_back(&op);

  bool missing = false;
  for (Operation *op : path) {
    std::string why;
    auto rule = dyn_cast<GradientOpInterface>(op);
    if (!rule)
      why = "no gradient rule for '" + op->getName().getStringRef().str() + "'";
    else
      (void)rule.hasGradientRule(why);
    if (!why.empty()) {
      op->emitError(why);
      missing = true;
    }
  }
  if (missing)
    return failure();

  llvm::DenseMap<Value, Value> grads;
  grads[y] = seed;
  for (Operation *op : llvm::reverse(path)) {
    SmallVector<Value> resultGrads;
    for (Value r : op->getResults())
      resultGrads.push_back(grads.lookup(r));
    if (llvm::all_of(resultGrads, [](Value v) { return !v; }))
      continue;
    GradientBuilder gb(builder, op->getLoc());
    SmallVector<Value> operandGrads(op->getNumOperands());
    if (failed(cast<GradientOpInterface>(op).buildGradients(gb, resultGrads,
                                                            operandGrads)))
      return op->emitError("building the gradient failed");
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!g || !active.contains(operand))
        continue;
      if (g.getType() != operand.getType())
        return op->emitError("internal error: the gradient rule gave ")
               << g.getType() << " for an operand of type "
               << operand.getType();
      Value &sum = grads[operand];
      sum = sum ? gb.add(sum, g) : g;
    }
  }

  SmallVector<Value> result;
  for (Value x : xs) {
    Value g = grads.lookup(x);
    if (!g) {
      GradientBuilder gb(builder, x.getLoc());
      g = gb.zerosLike(x);
    }
    result.push_back(g);
  }
  return result;
}

void attachGradientRules(MLIRContext &context) {
  attachElementwiseGradients(context);
  attachNNGradients(context);
  attachRecurrentGradients(context);
  attachTensorGradients(context);
}

} // namespace dlc::graph
