//===- RNN.cpp - importers of RNN, GRU and LSTM ---------------------------===//
//
// ONNX's recurrent ops become graph.recurrent: sequence-first, weights
// transposed to [D, I, G*H] and [D, H, G*H], the two biases summed (all of
// which fold when the weights are constants).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

/// The activations ONNX defines for recurrent ops, with which parameters
/// they take and their defaults.
struct ActivationSpec {
  const char *name;
  bool usesAlpha, usesBeta;
  float alpha, beta;
};
constexpr ActivationSpec kActivations[] = {
    {"Sigmoid", false, false, 0, 0},       {"Tanh", false, false, 0, 0},
    {"Relu", false, false, 0, 0},          {"LeakyRelu", true, false, 0.01f, 0},
    {"ThresholdedRelu", true, false, 1, 0}, {"ScaledTanh", true, true, 1, 1},
    {"HardSigmoid", true, true, 0.2f, 0.5f}, {"Elu", true, false, 1, 0},
    {"Softsign", false, false, 0, 0},      {"Softplus", false, false, 0, 0},
    {"Affine", true, true, 1, 0}};

const ActivationSpec *findActivation(StringRef name) {
  for (const ActivationSpec &spec : kActivations)
    if (name.equals_insensitive(spec.name))
      return &spec;
  return nullptr;
}

OpImportFn recurrentImporter(std::string cell) {
  return [cell](ImportContext &ctx) -> LogicalResult {
    auto &b = ctx.builder;
    bool lstm = cell == "lstm", gru = cell == "gru";
    int64_t gates = lstm ? 4 : gru ? 3 : 1;
    int64_t perDirection = lstm ? 3 : gru ? 2 : 1;
    if (ctx.intAttr("input_forget", 0) != 0)
      return ctx.error("attribute input_forget=1 is not supported");
    std::string direction = ctx.stringAttr("direction", "forward");
    if (direction != "forward" && direction != "reverse" &&
        direction != "bidirectional")
      return ctx.error("attribute direction='" + direction +
                       "' is not forward, reverse or bidirectional");
    int64_t d = direction == "bidirectional" ? 2 : 1;
    int64_t layout = ctx.intAttr("layout", 0);
    if (layout != 0 && layout != 1)
      return ctx.error("attribute layout=" + Twine(layout) + " is invalid");

    Value x = ctx.input(0), w = ctx.input(1), r = ctx.input(2);
    if (!x || !w || !r || failed(ctx.requireFloat(x, "input X")))
      return failure();
    // W, R, B, the initial states and the peepholes share X's type (T).
    static const char *const kInputNames[] = {
        "X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
    for (int i : {1, 2, 3, 5, 6, 7}) {
      std::optional<Value> v =
          i < 3 ? std::optional<Value>(ctx.input(i)) : ctx.optionalInput(i);
      if (v && *v &&
          ImportContext::typeOf(*v).getElementType() !=
              ImportContext::typeOf(x).getElementType())
        return ctx.error("input " + Twine(kInputNames[i]) +
                         " has another element type than X");
    }
    auto xType = ImportContext::typeOf(x);
    if (xType.getRank() != 3)
      return ctx.error("X must be rank 3");
    if (layout == 1)
      x = ctx.build<graph::TransposeOp>(x, b.getDenseI64ArrayAttr({1, 0, 2}));
    if (!x)
      return failure();
    int64_t t = ImportContext::typeOf(x).getDimSize(0);
    auto wType = ImportContext::typeOf(w);
    if (wType.getRank() != 3 || wType.getDimSize(0) != d)
      return ctx.error("W must be [" + Twine(d) + ", G*H, I]");
    int64_t h = ctx.intAttr("hidden_size", wType.getDimSize(1) / gates);
    if (wType.getDimSize(1) != gates * h)
      return ctx.error("W's second dim is not " + Twine(gates) + " x hidden_size");

    if (ctx.optionalInput(4)) {
      auto lens = ctx.constantInts(4);
      if (!lens)
        return failure();
      if (llvm::any_of(*lens, [&](int64_t v) { return v != t; }))
        return ctx.error("sequence_lens shorter than the sequence are not "
                         "supported");
    }

    auto transposeLast = [&](Value v) {
      return ctx.build<graph::TransposeOp>(v, b.getDenseI64ArrayAttr({0, 2, 1}));
    };
    Value wt = transposeLast(w), rt = transposeLast(r);
    if (!wt || !rt)
      return failure();

    // Biases: Wb + Rb, except GRU's Rb_h with linear_before_reset.
    bool lbr = gru && ctx.intAttr("linear_before_reset", 0) != 0;
    Value bias, hBias;
    if (std::optional<Value> bb = ctx.optionalInput(3)) {
      auto slice = [&](int64_t start, int64_t size) {
        return ctx.build<graph::SliceOp>(*bb, b.getDenseI64ArrayAttr({0, start}),
                                         b.getDenseI64ArrayAttr({d, size}),
                                         b.getDenseI64ArrayAttr({1, 1}));
      };
      Value wb = slice(0, gates * h), rb = slice(gates * h, gates * h);
      if (!wb || !rb)
        return failure();
      if (lbr) {
        Value rzr = slice(gates * h, 2 * h);
        hBias = ctx.build<graph::ReshapeOp>(slice(gates * h + 2 * h, h),
                                            b.getDenseI64ArrayAttr({d, h}));
        Type elem = ImportContext::typeOf(x).getElementType();
        auto zerosType = RankedTensorType::get({d, h}, elem);
        Value zeros = arith::ConstantOp::create(
            b, ctx.loc(), DenseElementsAttr::get(zerosType, b.getFloatAttr(elem, 0.0)));
        rb = ctx.build<graph::ConcatOp>(ValueRange{rzr, zeros}, b.getI64IntegerAttr(1));
      }
      bias = rb ? ctx.build<graph::AddOp>(wb, rb) : Value();
      if (!bias)
        return failure();
    }
    auto state = [&](int index) -> Value {
      std::optional<Value> v = ctx.optionalInput(index);
      if (!v)
        return Value();
      return layout == 1 ? ctx.build<graph::TransposeOp>(
                               *v, b.getDenseI64ArrayAttr({1, 0, 2}))
                         : *v;
    };
    Value initialH = state(5);
    Value initialC = lstm ? state(6) : Value();
    Value peepholes;
    if (lstm)
      if (std::optional<Value> p = ctx.optionalInput(7))
        peepholes = *p;

    // Activations and their parameters, consumed in order by the functions
    // that take them.
    SmallVector<std::string> names;
    if (const auto *a = ctx.attr("activations"))
      for (const auto &name : a->strings())
        names.push_back(name);
    if (names.empty()) {
      for (int64_t i = 0; i < d; ++i) {
        names.push_back(lstm || gru ? "Sigmoid" : "Tanh");
        if (lstm || gru)
          names.push_back("Tanh");
        if (lstm)
          names.push_back("Tanh");
      }
    } else if ((int64_t)names.size() == perDirection && d == 2) {
      names.append(names.begin(), names.end());
    }
    if ((int64_t)names.size() != perDirection * d)
      return ctx.error("attribute activations has " + Twine(names.size()) +
                       " entries, expected " + Twine(perDirection * d));
    SmallVector<float> alphas = {}, betas = {};
    if (const auto *a = ctx.attr("activation_alpha"))
      alphas.assign(a->floats().begin(), a->floats().end());
    if (const auto *a = ctx.attr("activation_beta"))
      betas.assign(a->floats().begin(), a->floats().end());
    SmallVector<Attribute> nameAttrs, alphaAttrs, betaAttrs;
    size_t nextAlpha = 0, nextBeta = 0;
    for (const std::string &name : names) {
      const ActivationSpec *spec = findActivation(name);
      if (!spec)
        return ctx.error("activation '" + name + "' is not supported");
      float alpha = spec->alpha, beta = spec->beta;
      if (spec->usesAlpha && nextAlpha < alphas.size())
        alpha = alphas[nextAlpha++];
      if (spec->usesBeta && nextBeta < betas.size())
        beta = betas[nextBeta++];
      nameAttrs.push_back(b.getStringAttr(spec->name));
      alphaAttrs.push_back(b.getF32FloatAttr(alpha));
      betaAttrs.push_back(b.getF32FloatAttr(beta));
    }
    FloatAttr clip;
    if (const auto *a = ctx.attr("clip"))
      clip = b.getF32FloatAttr(a->f());

    auto op = graph::RecurrentOp::create(
        b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType(), b.getNoneType()},
        x, wt, rt, bias, hBias, initialH, initialC, peepholes,
        b.getStringAttr(cell), b.getStringAttr(direction), b.getI64IntegerAttr(h),
        b.getArrayAttr(nameAttrs), b.getArrayAttr(alphaAttrs),
        b.getArrayAttr(betaAttrs), clip, b.getBoolAttr(lbr));
    if (failed(ctx.inferResultTypes(op)))
      return failure();
    Value y = op.getY(), yh = op.getYH(), yc = op.getYC();
    if (layout == 1) {
      y = ctx.build<graph::TransposeOp>(y, b.getDenseI64ArrayAttr({2, 0, 1, 3}));
      yh = ctx.build<graph::TransposeOp>(yh, b.getDenseI64ArrayAttr({1, 0, 2}));
      yc = ctx.build<graph::TransposeOp>(yc, b.getDenseI64ArrayAttr({1, 0, 2}));
    }
    ctx.setOutput(0, y);
    ctx.setOutput(1, yh);
    if (lstm)
      ctx.setOutput(2, yc);
    return success();
  };
}

} // namespace

void addRNNImporters(std::vector<OpImporter> &table) {
  const char *notes = "directions, initial states, activations, clip, layout; "
                      "full-length sequences";
  table.push_back({"RNN", "RNN", 1, notes, recurrentImporter("rnn")});
  table.push_back({"GRU", "RNN", 1, notes, recurrentImporter("gru")});
  table.push_back({"LSTM", "RNN", 1, notes, recurrentImporter("lstm")});
}

} // namespace dlc::onnx_frontend
