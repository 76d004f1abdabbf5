//===- ElementwiseToLinalg.cpp - elementwise graph ops to linalg ---===//
//
// Arithmetic with broadcasting, comparisons, activations, math functions, casts.
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

#include <cmath>
#include <functional>
#include <limits>

using namespace mlir;
namespace graph = dlc::graph;

namespace {
/// The scalar computation of a binary op on float or integer elements.
using ScalarFn = std::function<Value(OpBuilder &, Location, Value, Value)>;

/// Whether an op's `unsigned_ints` attribute (binary arithmetic) is set.
bool hasUnsignedInts(Operation *op) {
  std::optional<Attribute> attr = op->getInherentAttr("unsigned_ints");
  auto flag = attr ? dyn_cast_or_null<BoolAttr>(*attr) : BoolAttr();
  return flag && flag.getValue();
}

/// A broadcasting binary op whose scalar body depends on the element type
/// (and, for integers, on signedness).
template <typename Op>
struct BinaryToLinalg : OpConversionPattern<Op> {
  BinaryToLinalg(MLIRContext *ctx, ScalarFn onFloat, ScalarFn onInt,
                 ScalarFn onUnsigned)
      : OpConversionPattern<Op>(ctx), onFloat(std::move(onFloat)),
        onInt(std::move(onInt)), onUnsigned(std::move(onUnsigned)) {}
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type elem = cast<RankedTensorType>(op.getLhs().getType()).getElementType();
    const ScalarFn &fn = isa<FloatType>(elem)    ? onFloat
                         : hasUnsignedInts(op) ? onUnsigned
                                               : onInt;
    if (!fn)
      return rewriter.notifyMatchFailure(op, "no lowering for this dtype");
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
        ValueRange{adaptor.getLhs(), adaptor.getRhs()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return fn(b, loc, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
  ScalarFn onFloat, onInt, onUnsigned;
};

/// The scalar body that is one arith op.
template <typename ArithOp>
ScalarFn arithFn() {
  return [](OpBuilder &b, Location l, Value x, Value y) -> Value {
    return ArithOp::create(b, l, x, y);
  };
}

template <typename FloatOp, typename IntOp>
std::pair<ScalarFn, ScalarFn> arithPair() {
  return {arithFn<FloatOp>(), arithFn<IntOp>()};
}

/// Integer ops whose result does not depend on signedness (add, sub, mul,
/// logic) use the same body for unsigned operands unless told otherwise.
template <typename Op>
void addBinary(RewritePatternSet &patterns, std::pair<ScalarFn, ScalarFn> fns,
               ScalarFn onUnsigned = nullptr) {
  patterns.add<BinaryToLinalg<Op>>(patterns.getContext(), fns.first,
                                   fns.second,
                                   onUnsigned ? onUnsigned : fns.second);
}

template <typename Op>
void addCompare(RewritePatternSet &patterns, arith::CmpFPredicate fp,
                arith::CmpIPredicate ip) {
  patterns.add<BinaryToLinalg<Op>>(patterns.getContext(),
                 [fp](OpBuilder &b, Location l, Value x, Value y) -> Value {
                   return arith::CmpFOp::create(b, l, fp, x, y);
                 },
                 [ip](OpBuilder &b, Location l, Value x, Value y) -> Value {
                   return arith::CmpIOp::create(b, l, ip, x, y);
                 },
                 nullptr);
}

/// relu, sigmoid, tanh, leaky_relu and clip share the kernels' activations.
template <typename Op>
struct ActivationToLinalg : OpConversionPattern<Op> {
  ActivationToLinalg(MLIRContext *ctx, StringRef name)
      : OpConversionPattern<Op>(ctx), name(name) {}
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    float alpha = 0, beta = 0;
    if constexpr (std::is_same_v<Op, graph::LeakyReluOp>)
      alpha = op.getAlpha().convertToFloat();
    if constexpr (std::is_same_v<Op, graph::ClipOp>) {
      alpha = op.getMin().convertToFloat();
      beta = op.getMax().convertToFloat();
    }
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), ValueRange{adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return dlc::applyActivation(b, loc, args[0], name, alpha, beta);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
  std::string name;
};

} // namespace

Value dlc::buildUnary(OpBuilder &b, Location l, Value x, StringRef fn,
                      double alpha, double beta, double gamma) {
  Type t = x.getType();
  auto c = [&](double v) { return dlc::floatConstant(b, l, t, v); };
  auto exp = [&](Value v) { return math::ExpOp::create(b, l, v).getResult(); };
  auto log = [&](Value v) { return math::LogOp::create(b, l, v).getResult(); };
  auto mul = [&](Value u, Value v) {
    return arith::MulFOp::create(b, l, u, v).getResult();
  };
  auto add = [&](Value u, Value v) {
    return arith::AddFOp::create(b, l, u, v).getResult();
  };
  auto sub = [&](Value u, Value v) {
    return arith::SubFOp::create(b, l, u, v).getResult();
  };
  auto div = [&](Value u, Value v) {
    return arith::DivFOp::create(b, l, u, v).getResult();
  };
  auto select = [&](arith::CmpFPredicate p, Value u, Value v, Value yes,
                    Value no) {
    Value cond = arith::CmpFOp::create(b, l, p, u, v);
    return arith::SelectOp::create(b, l, cond, yes, no).getResult();
  };
  bool isFloat = isa<FloatType>(t);
  if (fn == "identity")
    return x;
  if (fn == "abs")
    return isFloat ? math::AbsFOp::create(b, l, x).getResult()
                   : math::AbsIOp::create(b, l, x).getResult();
  if (fn == "neg")
    return isFloat ? arith::NegFOp::create(b, l, x).getResult()
                   : arith::SubIOp::create(b, l, c(0), x).getResult();
  if (fn == "sign") {
    if (!isFloat) {
      Value pos = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, x, c(0));
      Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, x, c(0));
      Value sign = arith::SelectOp::create(b, l, pos, c(1), c(0));
      return arith::SelectOp::create(b, l, neg, c(-1), sign);
    }
    Value positive = select(arith::CmpFPredicate::OGT, x, c(0), c(1), c(0));
    return select(arith::CmpFPredicate::OLT, x, c(0), c(-1), positive);
  }
  if (fn == "not")
    return arith::XOrIOp::create(b, l, x, c(1));
  if (fn == "exp") return exp(x);
  if (fn == "log") return log(x);
  if (fn == "sqrt") return math::SqrtOp::create(b, l, x);
  if (fn == "reciprocal") return div(c(1), x);
  if (fn == "floor") return math::FloorOp::create(b, l, x);
  if (fn == "ceil") return math::CeilOp::create(b, l, x);
  if (fn == "round") return math::RoundEvenOp::create(b, l, x);
  if (fn == "sin") return math::SinOp::create(b, l, x);
  if (fn == "cos") return math::CosOp::create(b, l, x);
  if (fn == "tan") return math::TanOp::create(b, l, x);
  if (fn == "asin") return math::AsinOp::create(b, l, x);
  if (fn == "acos") return math::AcosOp::create(b, l, x);
  if (fn == "atan") return math::AtanOp::create(b, l, x);
  if (fn == "sinh") return math::SinhOp::create(b, l, x);
  if (fn == "cosh") return math::CoshOp::create(b, l, x);
  if (fn == "asinh") return math::AsinhOp::create(b, l, x);
  if (fn == "acosh") return math::AcoshOp::create(b, l, x);
  if (fn == "atanh") return math::AtanhOp::create(b, l, x);
  if (fn == "erf") return math::ErfOp::create(b, l, x);
  if (fn == "softplus") {
    // log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) to stay finite.
    Value absX = math::AbsFOp::create(b, l, x);
    Value tail = math::Log1pOp::create(b, l, exp(arith::NegFOp::create(b, l, absX)));
    return add(arith::MaximumFOp::create(b, l, x, c(0)), tail);
  }
  if (fn == "softsign")
    return div(x, add(c(1), math::AbsFOp::create(b, l, x)));
  if (fn == "elu" || fn == "celu") {
    // elu: alpha * (exp(x) - 1); celu: alpha * (exp(x / alpha) - 1).
    Value arg = fn == "celu" ? div(x, c(alpha)) : x;
    Value negative = mul(c(alpha), sub(exp(arg), c(1)));
    return select(arith::CmpFPredicate::OGT, x, c(0), x, negative);
  }
  if (fn == "selu") {
    Value negative = sub(mul(c(alpha), exp(x)), c(alpha));
    return mul(c(gamma), select(arith::CmpFPredicate::OGT, x, c(0), x, negative));
  }
  if (fn == "hard_sigmoid") {
    Value y = add(mul(c(alpha), x), c(beta));
    return arith::MinimumFOp::create(b, l, arith::MaximumFOp::create(b, l, y, c(0)), c(1));
  }
  if (fn == "hard_swish") {
    Value y = add(mul(c(1.0 / 6.0), x), c(0.5));
    Value hs = arith::MinimumFOp::create(b, l, arith::MaximumFOp::create(b, l, y, c(0)), c(1));
    return mul(x, hs);
  }
  if (fn == "thresholded_relu")
    return select(arith::CmpFPredicate::OGT, x, c(alpha), x, c(0));
  if (fn == "shrink") {
    // alpha = lambd, beta = bias
    Value below = select(arith::CmpFPredicate::OLT, x, c(-alpha), add(x, c(beta)), c(0));
    return select(arith::CmpFPredicate::OGT, x, c(alpha), sub(x, c(beta)), below);
  }
  if (fn == "gelu") {
    // 0.5 x (1 + erf(x / sqrt(2)))
    Value e = math::ErfOp::create(b, l, mul(x, c(M_SQRT1_2)));
    return mul(mul(c(0.5), x), add(c(1), e));
  }
  if (fn == "mish") {
    Value absX = math::AbsFOp::create(b, l, x);
    Value sp = add(arith::MaximumFOp::create(b, l, x, c(0)),
                   math::Log1pOp::create(b, l, exp(arith::NegFOp::create(b, l, absX))));
    return mul(x, math::TanhOp::create(b, l, sp));
  }
  llvm_unreachable("function names are checked by graph.unary's verifier");
}

namespace {

struct UnaryToLinalg : OpConversionPattern<graph::UnaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::UnaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    StringRef fn = op.getFn();
    double alpha = op.getAlpha().convertToDouble(),
           beta = op.getBeta().convertToDouble(),
           gamma = op.getGamma().convertToDouble();
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), ValueRange{adaptor.getInput()},
        [&](OpBuilder &b, Location l, ValueRange args) {
          return dlc::buildUnary(b, l, args[0], fn, alpha, beta, gamma);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct WhereToLinalg : OpConversionPattern<graph::WhereOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::WhereOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), adaptor.getOperands(),
        [](OpBuilder &b, Location l, ValueRange args) {
          return arith::SelectOp::create(b, l, args[0], args[1], args[2])
              .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Converts one scalar between integer (signed unless `isUnsigned`; i1
/// always unsigned) and float types.
Value convertScalar(OpBuilder &b, Location l, Value x, Type to,
                    bool isUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat)
    return fromFloat.getWidth() < toFloat.getWidth()
               ? arith::ExtFOp::create(b, l, to, x).getResult()
               : arith::TruncFOp::create(b, l, to, x).getResult();
  if (fromFloat) {
    if (to.isInteger(1))
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, x,
                                   dlc::floatConstant(b, l, from, 0));
    // Narrow targets go through i32, so that unsigned 8- and 16-bit values
    // (above the signed range) keep their bits.
    if (to.getIntOrFloatBitWidth() < 32) {
      Value wide = arith::FPToSIOp::create(b, l, b.getI32Type(), x);
      return arith::TruncIOp::create(b, l, to, wide);
    }
    return arith::FPToSIOp::create(b, l, to, x);
  }
  bool boolean = from.isInteger(1) || isUnsigned;
  if (toFloat)
    return boolean ? arith::UIToFPOp::create(b, l, to, x).getResult()
                   : arith::SIToFPOp::create(b, l, to, x).getResult();
  unsigned fromWidth = from.getIntOrFloatBitWidth(),
           toWidth = to.getIntOrFloatBitWidth();
  if (toWidth == 1)
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, x,
                                 dlc::floatConstant(b, l, from, 0));
  if (fromWidth < toWidth)
    return boolean ? arith::ExtUIOp::create(b, l, to, x).getResult()
                   : arith::ExtSIOp::create(b, l, to, x).getResult();
  return arith::TruncIOp::create(b, l, to, x);
}

struct CastToLinalg : OpConversionPattern<graph::CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type to = op.getTo();
    bool isUnsigned = op.getUnsignedSource();
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), ValueRange{adaptor.getInput()},
        [&](OpBuilder &b, Location l, ValueRange args) {
          return convertScalar(b, l, args[0], to, isUnsigned);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ModToLinalg : OpConversionPattern<graph::ModOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ModOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool fmod = op.getFmod();
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), op.getType(), adaptor.getOperands(),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value x = args[0], y = args[1];
          if (isa<FloatType>(x.getType()))
            return arith::RemFOp::create(b, l, x, y); // C fmod
          if (op.getUnsignedInts())
            return arith::RemUIOp::create(b, l, x, y);
          Value rem = arith::RemSIOp::create(b, l, x, y);
          if (fmod)
            return rem;
          // Python-style: the remainder takes the divisor's sign.
          Value zero = dlc::floatConstant(b, l, x.getType(), 0);
          Value nonzero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, rem, zero);
          Value remNeg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, rem, zero);
          Value yNeg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, y, zero);
          Value differ = arith::XOrIOp::create(b, l, remNeg, yNeg);
          Value fix = arith::AndIOp::create(b, l, nonzero, differ);
          Value adjusted = arith::AddIOp::create(b, l, rem, y);
          return arith::SelectOp::create(b, l, fix, adjusted, rem);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void dlc::populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  addBinary<graph::AddOp>(patterns, arithPair<arith::AddFOp, arith::AddIOp>());
  addBinary<graph::SubOp>(patterns, arithPair<arith::SubFOp, arith::SubIOp>());
  addBinary<graph::MulOp>(patterns, arithPair<arith::MulFOp, arith::MulIOp>());
  addBinary<graph::DivOp>(patterns, arithPair<arith::DivFOp, arith::DivSIOp>(),
                          arithFn<arith::DivUIOp>());
  addBinary<graph::MaxOp>(patterns,
                          arithPair<arith::MaximumFOp, arith::MaxSIOp>(),
                          arithFn<arith::MaxUIOp>());
  addBinary<graph::MinOp>(patterns,
                          arithPair<arith::MinimumFOp, arith::MinSIOp>(),
                          arithFn<arith::MinUIOp>());
  addBinary<graph::PowOp>(
      patterns, {[](OpBuilder &b, Location l, Value x, Value y) -> Value {
                   return math::PowFOp::create(b, l, x, y);
                 },
                 nullptr});
  // Shifts are on (unsigned) integers only.
  addBinary<graph::ShiftLeftOp>(patterns, {nullptr, arithFn<arith::ShLIOp>()});
  addBinary<graph::ShiftRightOp>(patterns, {nullptr, arithFn<arith::ShRUIOp>()});
  // Logic ops take bools (i1) only.
  addBinary<graph::AndOp>(patterns, {nullptr, arithFn<arith::AndIOp>()});
  addBinary<graph::OrOp>(patterns, {nullptr, arithFn<arith::OrIOp>()});
  addBinary<graph::XorOp>(patterns, {nullptr, arithFn<arith::XOrIOp>()});
  addCompare<graph::EqualOp>(patterns, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq);
  addCompare<graph::LessOp>(patterns, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt);
  addCompare<graph::LessEqualOp>(patterns, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle);
  addCompare<graph::GreaterOp>(patterns, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt);
  addCompare<graph::GreaterEqualOp>(patterns, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge);
  patterns.add<UnaryToLinalg, WhereToLinalg, CastToLinalg, ModToLinalg>(ctx);
  patterns.add<ActivationToLinalg<graph::ReluOp>>(ctx, "relu");
  patterns.add<ActivationToLinalg<graph::SigmoidOp>>(ctx, "sigmoid");
  patterns.add<ActivationToLinalg<graph::TanhOp>>(ctx, "tanh");
  patterns.add<ActivationToLinalg<graph::LeakyReluOp>>(ctx, "leaky_relu");
  patterns.add<ActivationToLinalg<graph::ClipOp>>(ctx, "clip");
}
