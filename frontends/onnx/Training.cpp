//===- Training.cpp - importers of the ai.onnx.preview.training domain ----===//
//
// The optimizer ops (Momentum, Adagrad, Adam) are elementwise formulas over
// graph ops; Gradient differentiates the graph built so far with the same
// reverse-mode machinery and rules as `dlc --train` (graph-autodiff).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/GraphGradient.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

constexpr const char *kTrainingDomain = "ai.onnx.preview.training";

/// The scalar inputs R (learning rate) and T (update count, int64) and the
/// number of optimized tensors, from the node's input count.
struct OptimizerInputs {
  Value rate, count; // count: T as float32
  Value positive;    // T > 0
  int64_t tensors = 0;
};

std::optional<OptimizerInputs> optimizerInputs(ImportContext &ctx,
                                               int perTensor) {
  int rest = ctx.node->input_size() - 2;
  if (rest <= 0 || rest % perTensor != 0) {
    (void)ctx.error("expects R, T and " + Twine(perTensor) +
                    " inputs per optimized tensor, got " +
                    Twine(ctx.node->input_size()) + " inputs");
    return std::nullopt;
  }
  OptimizerInputs in;
  in.tensors = rest / perTensor;
  in.rate = ctx.input(0);
  Value t = ctx.input(1);
  if (!in.rate || !t || failed(ctx.requireFloat(in.rate, "R")))
    return std::nullopt;
  Type f32 = ctx.builder.getF32Type();
  in.count = ctx.build<graph::CastOp>(t, TypeAttr::get(f32),
                                      ctx.builder.getBoolAttr(false));
  in.positive = in.count ? ctx.build<graph::GreaterOp>(in.count, ctx.scalar(f32, 0.0))
                         : Value();
  if (!in.positive)
    return std::nullopt;
  return in;
}

/// ctx.build for the update formulas below, which chain many ops: a null
/// operand (an earlier build that failed, and said why) gives null rather
/// than an op with a missing operand.
template <typename Op, typename... Operands>
Value chain(ImportContext &ctx, Operands... operands) {
  if ((!operands || ...))
    return {};
  return ctx.build<Op>(operands...);
}

/// x * c for a float constant c.
Value scaled(ImportContext &ctx, Value x, double c) {
  if (!x)
    return {};
  return chain<graph::MulOp>(
      ctx, x, ctx.scalar(ImportContext::typeOf(x).getElementType(), c));
}

Value regularized(ImportContext &ctx, Value x, Value g, double norm) {
  return norm == 0.0 ? g : chain<graph::AddOp>(ctx, scaled(ctx, x, norm), g);
}

Value sqrtOf(ImportContext &ctx, Value x) { return ctx.unary(x, "sqrt"); }

/// V_new = alpha V + beta' G_reg (beta' = 1 when T = 0); X_new = X - R V_new,
/// or X - R (G_reg + alpha V_new) for mode "nesterov".
LogicalResult importMomentum(ImportContext &ctx) {
  auto in = optimizerInputs(ctx, 3);
  if (!in)
    return failure();
  double alpha = ctx.floatAttr("alpha", 0.0), beta = ctx.floatAttr("beta", 0.0),
         norm = ctx.floatAttr("norm_coefficient", 0.0);
  std::string mode = ctx.stringAttr("mode", "standard");
  if (mode != "standard" && mode != "nesterov")
    return ctx.error("mode '" + mode + "' is not standard or nesterov");
  Type f32 = ctx.builder.getF32Type();
  Value betaAdjusted = chain<graph::WhereOp>(
      ctx, in->positive, ctx.scalar(f32, beta), ctx.scalar(f32, 1.0));
  int64_t n = in->tensors;
  for (int64_t i = 0; i < n; ++i) {
    Value x = ctx.input(2 + i), g = ctx.input(2 + n + i), v = ctx.input(2 + 2 * n + i);
    if (!x || !g || !v)
      return failure();
    Value greg = regularized(ctx, x, g, norm);
    Value vNew =
        chain<graph::AddOp>(ctx, scaled(ctx, v, alpha),
                            chain<graph::MulOp>(ctx, betaAdjusted, greg));
    Value step = mode == "standard"
                     ? vNew
                     : chain<graph::AddOp>(ctx, greg, scaled(ctx, vNew, alpha));
    Value xNew =
        chain<graph::SubOp>(ctx, x, chain<graph::MulOp>(ctx, in->rate, step));
    if (!xNew)
      return failure();
    ctx.setOutput(i, xNew);
    ctx.setOutput(n + i, vNew);
  }
  return success();
}

/// r = R / (1 + T decay); H_new = H + G_reg^2;
/// X_new = X - r G_reg / (sqrt(H_new) + epsilon).
LogicalResult importAdagrad(ImportContext &ctx) {
  auto in = optimizerInputs(ctx, 3);
  if (!in)
    return failure();
  double decay = ctx.floatAttr("decay_factor", 0.0),
         eps = ctx.floatAttr("epsilon", 1e-6f),
         norm = ctx.floatAttr("norm_coefficient", 0.0);
  Type f32 = ctx.builder.getF32Type();
  Value rate =
      chain<graph::DivOp>(ctx, in->rate,
                          chain<graph::AddOp>(ctx, ctx.scalar(f32, 1.0),
                                              scaled(ctx, in->count, decay)));
  int64_t n = in->tensors;
  for (int64_t i = 0; i < n; ++i) {
    Value x = ctx.input(2 + i), g = ctx.input(2 + n + i), h = ctx.input(2 + 2 * n + i);
    if (!x || !g || !h || !rate)
      return failure();
    Value greg = regularized(ctx, x, g, norm);
    Value hNew =
        chain<graph::AddOp>(ctx, h, chain<graph::MulOp>(ctx, greg, greg));
    Value denom =
        chain<graph::AddOp>(ctx, sqrtOf(ctx, hNew), ctx.scalar(f32, eps));
    Value xNew = chain<graph::SubOp>(
        ctx, x,
        chain<graph::DivOp>(ctx, chain<graph::MulOp>(ctx, rate, greg), denom));
    if (!xNew)
      return failure();
    ctx.setOutput(i, xNew);
    ctx.setOutput(n + i, hNew);
  }
  return success();
}

/// V_new = alpha V + (1 - alpha) G_reg; H_new = beta H + (1 - beta) G_reg^2;
/// R' = R sqrt(1 - beta^T) / (1 - alpha^T) when T > 0, R otherwise;
/// X_new = (1 - norm_post) (X - R' V_new / (sqrt(H_new) + epsilon)).
LogicalResult importAdam(ImportContext &ctx) {
  auto in = optimizerInputs(ctx, 4);
  if (!in)
    return failure();
  double alpha = ctx.floatAttr("alpha", 0.9), beta = ctx.floatAttr("beta", 0.999),
         eps = ctx.floatAttr("epsilon", 1e-6f),
         norm = ctx.floatAttr("norm_coefficient", 0.0),
         post = ctx.floatAttr("norm_coefficient_post", 0.0);
  Type f32 = ctx.builder.getF32Type();
  auto c = [&](double v) { return ctx.scalar(f32, v); };
  Value alphaT = chain<graph::PowOp>(ctx, c(alpha), in->count);
  Value betaT = chain<graph::PowOp>(ctx, c(beta), in->count);
  Value corrected = chain<graph::DivOp>(
      ctx,
      chain<graph::MulOp>(ctx, in->rate,
                          sqrtOf(ctx, chain<graph::SubOp>(ctx, c(1.0), betaT))),
      chain<graph::SubOp>(ctx, c(1.0), alphaT));
  Value rate = chain<graph::WhereOp>(ctx, in->positive, corrected, in->rate);
  int64_t n = in->tensors;
  for (int64_t i = 0; i < n; ++i) {
    Value x = ctx.input(2 + i), g = ctx.input(2 + n + i),
          v = ctx.input(2 + 2 * n + i), h = ctx.input(2 + 3 * n + i);
    if (!x || !g || !v || !h || !rate)
      return failure();
    Value greg = regularized(ctx, x, g, norm);
    Value vNew = chain<graph::AddOp>(ctx, scaled(ctx, v, alpha),
                                     scaled(ctx, greg, 1.0 - alpha));
    Value hNew = chain<graph::AddOp>(
        ctx, scaled(ctx, h, beta),
        scaled(ctx, chain<graph::MulOp>(ctx, greg, greg), 1.0 - beta));
    Value denom = chain<graph::AddOp>(ctx, sqrtOf(ctx, hNew), c(eps));
    Value xNew = chain<graph::SubOp>(
        ctx, x,
        chain<graph::MulOp>(ctx, rate, chain<graph::DivOp>(ctx, vNew, denom)));
    if (post != 0.0)
      xNew = scaled(ctx, xNew, 1.0 - post);
    if (!xNew)
      return failure();
    ctx.setOutput(i, xNew);
    ctx.setOutput(n + i, vNew);
    ctx.setOutput(2 * n + i, hNew);
  }
  return success();
}

/// Gradient(xs, y): d sum(y) / d x for each x of `xs`, through the nodes
/// imported so far.
LogicalResult importGradient(ImportContext &ctx) {
  const auto *xsAttr = ctx.attr("xs");
  std::string yName = ctx.stringAttr("y", "");
  if (!xsAttr || yName.empty())
    return ctx.error("needs the attributes xs and y");
  if (xsAttr->strings_size() != ctx.node->output_size())
    return ctx.error("has " + Twine(ctx.node->output_size()) +
                     " outputs for " + Twine(xsAttr->strings_size()) + " xs");
  Value y = ctx.lookup(yName);
  if (!y)
    return ctx.error("y '" + yName + "' is not defined before this node");
  if (!isa<FloatType>(ImportContext::typeOf(y).getElementType()))
    return ctx.error("y '" + yName + "' is not a float tensor");
  SmallVector<Value> xs;
  for (const std::string &name : xsAttr->strings()) {
    Value x = ctx.lookup(name);
    if (!x)
      return ctx.error("x '" + name + "' is not defined before this node");
    xs.push_back(x);
  }
  graph::GradientBuilder gb(ctx.builder, ctx.loc());
  Value seed = gb.splat(ImportContext::typeOf(y), 1.0);
  auto grads = graph::buildReverseGradients(ctx.builder, y, seed, xs);
  if (failed(grads))
    return ctx.error("cannot differentiate '" + yName + "'");
  for (auto [i, g] : llvm::enumerate(*grads))
    ctx.setOutput(static_cast<int>(i), g);
  return success();
}

} // namespace

void addTrainingImporters(std::vector<OpImporter> &table) {
  table.push_back({"Momentum", "Training", 1, "standard and nesterov",
                   importMomentum, kTrainingDomain});
  table.push_back({"Adagrad", "Training", 1, "", importAdagrad,
                   kTrainingDomain});
  table.push_back({"Adam", "Training", 1, "", importAdam, kTrainingDomain});
  table.push_back({"Gradient", "Training", 1,
                   "through every op with a gradient rule", importGradient,
                   kTrainingDomain});
}

} // namespace dlc::onnx_frontend
