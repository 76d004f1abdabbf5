//===- ElementwiseGradients.cpp - rules of elementwise ops ----------------===//
//
// Binary ops sum their gradients back to each operand's shape (broadcasting
// undone); activations multiply by their derivative, written with the
// forward result where that is cheaper (sigmoid, tanh, exp). Where the
// derivative is undefined (relu at 0, clip at its bounds) the choice is
// PyTorch's, so that gradients match it exactly.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/GraphGradient.h"

#include <cmath>

using namespace mlir;

namespace dlc::graph {
namespace {

using Grads = SmallVectorImpl<Value>;
using GB = GradientBuilder;

Type elementOf(Value v) { return GB::typeOf(v).getElementType(); }
bool isFloat(Value v) { return isa<FloatType>(elementOf(v)); }

LogicalResult addRule(AddOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.sumToShape(g[0], GB::typeOf(op.getLhs()));
  out[1] = b.sumToShape(g[0], GB::typeOf(op.getRhs()));
  return success();
}

LogicalResult subRule(SubOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.sumToShape(g[0], GB::typeOf(op.getLhs()));
  out[1] = b.sumToShape(b.neg(g[0]), GB::typeOf(op.getRhs()));
  return success();
}

LogicalResult mulRule(MulOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.sumToShape(b.mul(g[0], op.getRhs()), GB::typeOf(op.getLhs()));
  out[1] = b.sumToShape(b.mul(g[0], op.getLhs()), GB::typeOf(op.getRhs()));
  return success();
}

LogicalResult divRule(DivOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value gl = b.div(g[0], op.getRhs());
  out[0] = b.sumToShape(gl, GB::typeOf(op.getLhs()));
  // d(l/r)/dr = -(l/r)/r
  out[1] = b.sumToShape(b.neg(b.mul(gl, op.getResult())),
                        GB::typeOf(op.getRhs()));
  return success();
}

LogicalResult powRule(PowOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value x = op.getLhs(), p = op.getRhs();
  Type elem = elementOf(x);
  // d(x^p)/dx = p * x^(p-1); d(x^p)/dp = x^p * log(x)
  Value dx = b.mul(p, b.pow(x, b.sub(p, b.scalar(elem, 1.0))));
  out[0] = b.sumToShape(b.mul(g[0], dx), GB::typeOf(x));
  if (isFloat(p))
    out[1] = b.sumToShape(
        b.mul(g[0], b.mul(op.getResult(), b.unary(x, "log"))), GB::typeOf(p));
  return success();
}

/// max/min route the gradient to the operand that was chosen, half to each
/// on a tie (as PyTorch's maximum and minimum do).
template <typename OpT, bool IsMax>
LogicalResult selectRule(OpT op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value l = op.getLhs(), r = op.getRhs();
  Type elem = elementOf(op.getResult());
  auto share = [&](Value self, Value other) {
    Value wins = IsMax ? b.greater(self, other) : b.greater(other, self);
    Value part = b.where(wins, b.scalar(elem, 1.0), b.scalar(elem, 0.0));
    part = b.where(b.equal(self, other), b.scalar(elem, 0.5), part);
    return b.mul(g[0], part);
  };
  out[0] = b.sumToShape(share(l, r), GB::typeOf(l));
  out[1] = b.sumToShape(share(r, l), GB::typeOf(r));
  return success();
}

LogicalResult whereRule(WhereOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Type elem = elementOf(op.getResult());
  Value zero = b.scalar(elem, 0.0);
  out[1] = b.sumToShape(b.where(op.getCondition(), g[0], zero),
                        GB::typeOf(op.getX()));
  out[2] = b.sumToShape(b.where(op.getCondition(), zero, g[0]),
                        GB::typeOf(op.getY()));
  return success();
}

LogicalResult reluRule(ReluOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  // PyTorch's threshold_backward: the gradient passes where the result > 0.
  out[0] = b.mask(b.greater(op.getResult(), b.scalar(elementOf(g[0]), 0.0)), g[0]);
  return success();
}

LogicalResult sigmoidRule(SigmoidOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value y = op.getResult();
  Value oneMinus = b.sub(b.scalar(elementOf(y), 1.0), y);
  out[0] = b.mul(g[0], b.mul(y, oneMinus));
  return success();
}

LogicalResult tanhRule(TanhOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  Value y = op.getResult();
  out[0] = b.mul(g[0], b.sub(b.scalar(elementOf(y), 1.0), b.mul(y, y)));
  return success();
}

LogicalResult leakyReluRule(LeakyReluOp op, GB &b, ArrayRef<Value> g,
                            Grads &out) {
  Value x = op.getInput();
  Value positive = b.greater(x, b.scalar(elementOf(x), 0.0));
  out[0] = b.where(positive, g[0], b.scale(g[0], op.getAlpha().convertToDouble()));
  return success();
}

LogicalResult clipRule(ClipOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  // PyTorch's clamp_backward: the gradient passes where min <= x <= max.
  Value x = op.getInput();
  Type elem = elementOf(x);
  Value inside = b.logicalAnd(
      b.greaterEqual(x, b.scalar(elem, op.getMin().convertToDouble())),
      b.lessEqual(x, b.scalar(elem, op.getMax().convertToDouble())));
  out[0] = b.mask(inside, g[0]);
  return success();
}

/// The derivative of graph.unary's function `fn` at x (y = f(x)), or null
/// when dlc has no rule for it.
Value unaryDerivative(UnaryOp op, GB &b) {
  Value x = op.getInput(), y = op.getResult();
  Type elem = elementOf(x);
  StringRef fn = op.getFn();
  double alpha = op.getAlpha().convertToDouble(),
         beta = op.getBeta().convertToDouble();
  auto c = [&](double v) { return b.scalar(elem, v); };
  if (fn == "neg")
    return c(-1.0);
  if (fn == "identity")
    return c(1.0);
  if (fn == "exp")
    return y;
  if (fn == "log")
    return b.unary(x, "reciprocal");
  if (fn == "sqrt")
    return b.div(c(0.5), y);
  if (fn == "reciprocal")
    return b.neg(b.mul(y, y));
  if (fn == "abs")
    return b.unary(x, "sign");
  if (fn == "sin")
    return b.unary(x, "cos");
  if (fn == "cos")
    return b.neg(b.unary(x, "sin"));
  if (fn == "erf") // 2/sqrt(pi) * exp(-x^2)
    return b.scale(b.unary(b.neg(b.mul(x, x)), "exp"), 2.0 / std::sqrt(M_PI));
  if (fn == "softplus") // sigmoid(x)
    return SigmoidOp::create(b.b, b.loc, x);
  if (fn == "softsign") { // 1 / (1 + |x|)^2
    Value d = b.add(c(1.0), b.unary(x, "abs"));
    return b.unary(b.mul(d, d), "reciprocal");
  }
  if (fn == "elu") // x > 0 ? 1 : y + alpha
    return b.where(b.greater(x, c(0.0)), c(1.0), b.add(y, c(alpha)));
  if (fn == "selu") // gamma * (x > 0 ? 1 : alpha * exp(x))
    return b.where(b.greater(x, c(0.0)), c(op.getGamma().convertToDouble()),
                   b.scale(b.unary(x, "exp"),
                           alpha * op.getGamma().convertToDouble()));
  if (fn == "celu") // x > 0 ? 1 : exp(x / alpha)
    return b.where(b.greater(x, c(0.0)), c(1.0),
                   b.unary(b.scale(x, 1.0 / alpha), "exp"));
  if (fn == "hard_sigmoid") { // alpha inside the linear part, 0 outside
    Value lin = b.add(b.scale(x, alpha), c(beta));
    Value inside = b.logicalAnd(b.greater(lin, c(0.0)), b.greater(c(1.0), lin));
    return b.where(inside, c(alpha), c(0.0));
  }
  if (fn == "hard_swish") { // x/3 + 0.5 on [-3, 3] (PyTorch's bounds)
    Value inside = b.logicalAnd(b.greaterEqual(x, c(-3.0)), b.lessEqual(x, c(3.0)));
    Value mid = b.add(b.scale(x, 1.0 / 3.0), c(0.5));
    return b.where(inside, mid, b.where(b.greater(x, c(0.0)), c(1.0), c(0.0)));
  }
  if (fn == "thresholded_relu")
    return b.where(b.greater(x, c(alpha)), c(1.0), c(0.0));
  if (fn == "sinh")
    return b.unary(x, "cosh");
  if (fn == "cosh")
    return b.unary(x, "sinh");
  if (fn == "atan") // 1 / (1 + x^2)
    return b.unary(b.add(c(1.0), b.mul(x, x)), "reciprocal");
  return {};
}

bool isDifferentiableUnary(StringRef fn) {
  return llvm::is_contained(differentiableUnaryFunctions(), fn);
}

struct UnaryRule : GradientOpInterface::ExternalModel<UnaryRule, UnaryOp> {
  bool hasGradientRule(Operation *op, std::string &why) const {
    auto unary = cast<UnaryOp>(op);
    if (!isa<FloatType>(elementOf(unary.getInput())) ||
        isDifferentiableUnary(unary.getFn()))
      return true;
    why = "no gradient rule for the elementwise function '" +
          unary.getFn().str() + "'";
    return false;
  }
  LogicalResult buildGradients(Operation *op, GB &b, ArrayRef<Value> g,
                               Grads &out) const {
    auto unary = cast<UnaryOp>(op);
    Value d = unaryDerivative(unary, b);
    if (!d)
      return failure();
    out[0] = b.expand(b.mul(g[0], d), GB::typeOf(unary.getInput()).getShape());
    return success();
  }
};

LogicalResult castRule(CastOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  // Float to float only; integer results carry no gradient.
  if (!isFloat(op.getInput()) || !isFloat(op.getResult()))
    return success();
  out[0] = CastOp::create(b.b, b.loc, g[0],
                          TypeAttr::get(elementOf(op.getInput())),
                          b.b.getBoolAttr(false));
  return success();
}

} // namespace

ArrayRef<StringLiteral> differentiableUnaryFunctions() {
  static const StringLiteral known[] = {
      "abs",  "atan",      "celu",         "cos",        "cosh",
      "elu",  "erf",       "exp",          "hard_sigmoid", "hard_swish",
      "identity", "log",   "neg",          "reciprocal", "selu",
      "sin",  "sinh",      "softplus",     "softsign",   "sqrt",
      "thresholded_relu"};
  return known;
}

void attachElementwiseGradients(MLIRContext &ctx) {
  AddOp::attachInterface<GradientRule<AddOp, addRule>>(ctx);
  SubOp::attachInterface<GradientRule<SubOp, subRule>>(ctx);
  MulOp::attachInterface<GradientRule<MulOp, mulRule>>(ctx);
  DivOp::attachInterface<GradientRule<DivOp, divRule>>(ctx);
  PowOp::attachInterface<GradientRule<PowOp, powRule>>(ctx);
  MaxOp::attachInterface<GradientRule<MaxOp, selectRule<MaxOp, true>>>(ctx);
  MinOp::attachInterface<GradientRule<MinOp, selectRule<MinOp, false>>>(ctx);
  WhereOp::attachInterface<GradientRule<WhereOp, whereRule>>(ctx);
  ReluOp::attachInterface<GradientRule<ReluOp, reluRule>>(ctx);
  SigmoidOp::attachInterface<GradientRule<SigmoidOp, sigmoidRule>>(ctx);
  TanhOp::attachInterface<GradientRule<TanhOp, tanhRule>>(ctx);
  LeakyReluOp::attachInterface<GradientRule<LeakyReluOp, leakyReluRule>>(ctx);
  ClipOp::attachInterface<GradientRule<ClipOp, clipRule>>(ctx);
  UnaryOp::attachInterface<UnaryRule>(ctx);
  CastOp::attachInterface<GradientRule<CastOp, castRule>>(ctx);
}

} // namespace dlc::graph
