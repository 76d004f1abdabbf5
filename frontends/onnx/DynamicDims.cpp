//===- DynamicDims.cpp - which ops take dims known only at run time -------===//
//
// A graph input's dims left symbolic (no --input-shape or --dim for them)
// flow through the ops whose lowerings size their results at run time. The
// importer follows each dynamic dim's symbol (its dim_param) so that two
// operands' dynamic dims meet only where they are known to be one size:
// dlc does not broadcast a dim whose size it learns at run time.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace dlc::onnx_frontend {
namespace {

/// Ops whose output has the first input's shape and dims, computed
/// elementwise (or along a static axis) by lowerings that size their results
/// from that input.
bool isSameShapeOp(llvm::StringRef op) {
  static const llvm::StringSet<> ops = {
      "Relu",      "Sigmoid",  "Tanh",     "Exp",        "Log",
      "Neg",       "Abs",      "Sqrt",     "Reciprocal", "LeakyRelu",
      "Elu",       "Selu",     "Softplus", "Softsign",   "HardSigmoid",
      "HardSwish", "Erf",      "Sin",      "Cos",        "Floor",
      "Ceil",      "Identity", "Softmax",  "LogSoftmax", "Gelu",
      "Mish",      "Sign",     "Clip"};
  return ops.contains(op);
}

bool isBroadcastOp(llvm::StringRef op) {
  static const llvm::StringSet<> ops = {"Add", "Sub", "Mul", "Div",
                                        "Pow", "Max", "Min"};
  return ops.contains(op);
}

/// Ops that compute each sample of dim 0 from that sample alone (with
/// static weights): tile-dynamic-batch lowers them, a sample at a time, for
/// a batch size known only at run time.
bool isBatchOp(llvm::StringRef op) {
  static const llvm::StringSet<> ops = {"Conv",          "MaxPool",
                                        "AveragePool",   "GlobalAveragePool",
                                        "GlobalMaxPool", "BatchNormalization",
                                        "Flatten",       "Reshape"};
  return ops.contains(op);
}

/// The symbols of `v`'s dims: its recorded ones, or -1 for each dim.
SmallVector<int64_t> symbolsOf(ImportContext &ctx, Value v) {
  if (auto it = ctx.dimSymbols.find(v); it != ctx.dimSymbols.end())
    return it->second;
  return SmallVector<int64_t>(ImportContext::typeOf(v).getRank(), -1);
}

std::string describeDims(ImportContext &ctx, Value v) {
  auto type = ImportContext::typeOf(v);
  SmallVector<int64_t> symbols = symbolsOf(ctx, v);
  std::string text = "[";
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d)
      text += ", ";
    if (!type.isDynamicDim(d)) {
      text += std::to_string(type.getDimSize(d));
      continue;
    }
    int64_t s = symbols[d];
    text += s >= 0 && !ctx.dimSymbolNames[s].empty()
                ? "'" + ctx.dimSymbolNames[s] + "'"
                : std::string("?");
  }
  return text + "]";
}

} // namespace

LogicalResult checkDynamicOperands(ImportContext &ctx,
                                   const onnx::NodeProto &node) {
  SmallVector<std::pair<std::string, Value>> dynamic;
  for (const auto &name : node.input()) {
    Value v = name.empty() ? Value() : ctx.lookup(name);
    if (!v)
      continue;
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.hasStaticShape())
      continue;
    // Results of graph.runtime_* ops (shapes decided by values) have no
    // symbols: no op takes them yet.
    if (!ctx.dimSymbols.count(v))
      return ctx.error("input '" + name +
                       "' has a shape known only at run time; dlc takes "
                       "such tensors as graph outputs only (for now): "
                       "--freeze-input can make the shape operand that "
                       "decides it a constant");
    dynamic.emplace_back(name, v);
  }
  if (dynamic.empty())
    return success();
  llvm::StringRef op = node.op_type();
  auto pinHint = [&](const std::string &name, Value v) {
    std::string hint = "pin its dims with --input-shape or --dim";
    for (int64_t s : symbolsOf(ctx, v))
      if (s >= 0 && !ctx.dimSymbolNames[s].empty())
        return "pin them with --dim " + ctx.dimSymbolNames[s] +
               "=<n> (or --input-shape)";
    return hint;
  };
  auto refuse = [&](const std::string &why) {
    const auto &[name, v] = dynamic.front();
    return ctx.error("input '" + name + "' has dims known only at run time " +
                     describeDims(ctx, v) + ", and " + why + ": " +
                     pinHint(name, v));
  };
  bool domainOk = node.domain().empty() || node.domain() == "ai.onnx";
  if (!domainOk)
    return refuse("dlc compiles this op for static shapes only (for now)");
  if (isSameShapeOp(op)) {
    for (const auto &[name, v] : dynamic)
      if (name != node.input(0))
        return refuse("dlc takes only its first input at run-time sizes");
    // Before opset 13 these coerce their input to 2-D at `axis`: the
    // same as a softmax over the last dim only when `axis` is it.
    int64_t rank = ImportContext::typeOf(dynamic.front().second).getRank();
    if ((op == "Softmax" || op == "LogSoftmax") && ctx.opset < 13 &&
        (ctx.intAttr("axis", 1) % rank + rank) % rank != rank - 1)
      return refuse("dlc compiles " + node.op_type() +
                    " before opset 13 for run-time sizes only along the "
                    "last dim");
    return success();
  }
  if (isBroadcastOp(op)) {
    // Aligned right, a dynamic dim may meet the same symbol or a 1.
    int64_t rank = 0;
    SmallVector<Value> operands;
    for (const auto &name : node.input())
      if (Value v = name.empty() ? Value() : ctx.lookup(name)) {
        operands.push_back(v);
        rank = std::max(rank, ImportContext::typeOf(v).getRank());
      }
    for (int64_t pos = 0; pos < rank; ++pos) {
      int64_t symbol = -2; // none seen
      bool other = false;
      for (Value v : operands) {
        auto type = ImportContext::typeOf(v);
        int64_t d = pos - (rank - type.getRank());
        if (d < 0 || type.getDimSize(d) == 1)
          continue;
        if (!type.isDynamicDim(d)) {
          other = true;
          continue;
        }
        int64_t s = symbolsOf(ctx, v)[d];
        if (s < 0 || (symbol != -2 && symbol != s))
          return refuse("another input's dim " + std::to_string(pos) +
                        " is not known to be the same size (dlc does not "
                        "broadcast dims known only at run time)");
        symbol = s;
      }
      if (symbol != -2 && other)
        return refuse("it meets a static dim at dim " + std::to_string(pos) +
                      " (dlc does not broadcast dims known only at run "
                      "time)");
    }
    return success();
  }
  if (op == "MatMul") {
    // [..., M, K] x [K, N]: rows of run-time count, a static right side.
    Value a = ctx.lookup(node.input(0));
    auto at = ImportContext::typeOf(a);
    if (dynamic.size() != 1 || dynamic.front().second != a ||
        at.getRank() < 2 || at.isDynamicDim(at.getRank() - 1) ||
        ImportContext::typeOf(ctx.lookup(node.input(1))).getRank() != 2)
      return refuse("dlc compiles MatMul for run-time sizes only in the "
                    "rows of its first input, against a static 2-D matrix");
    return success();
  }
  if (op == "Gemm") {
    Value a = ctx.lookup(node.input(0));
    auto at = ImportContext::typeOf(a);
    // C, when given, broadcasts along the rows.
    Value c = node.input_size() > 2 && !node.input(2).empty()
                  ? ctx.lookup(node.input(2))
                  : Value();
    bool rowBias = c && ImportContext::typeOf(c).getRank() == 2 &&
                   ImportContext::typeOf(c).getDimSize(0) != 1;
    if (dynamic.size() != 1 || dynamic.front().second != a ||
        ctx.intAttr("transA", 0) != 0 || at.isDynamicDim(1) || rowBias)
      return refuse("dlc compiles Gemm for run-time sizes only in the rows "
                    "of A (transA = 0, C of one row)");
    return success();
  }
  if (op == "Concat") {
    // Along another axis than 0, of inputs whose only run-time dim is one
    // symbol's dim 0.
    int64_t rank = ImportContext::typeOf(dynamic.front().second).getRank();
    int64_t axis = ctx.intAttr("axis", 0);
    int64_t symbol = symbolsOf(ctx, dynamic.front().second)[0];
    bool ok = (axis % rank + rank) % rank != 0 && symbol >= 0 &&
              dynamic.size() == static_cast<size_t>(node.input_size());
    for (const auto &[name, v] : dynamic) {
      auto t = ImportContext::typeOf(v);
      ok &= t.isDynamicDim(0) && t.getNumDynamicDims() == 1 &&
            symbolsOf(ctx, v)[0] == symbol;
    }
    if (!ok)
      return refuse("dlc compiles Concat for run-time sizes only along an "
                    "axis other than 0 of inputs that share their dim 0");
    return success();
  }
  if (op == "Pad") {
    // Constant pads that leave dim 0 alone.
    Value x = ctx.lookup(node.input(0));
    auto xt = ImportContext::typeOf(x);
    Value pads = node.input_size() > 1 ? ctx.lookup(node.input(1)) : Value();
    DenseIntElementsAttr padValues;
    bool ok = dynamic.size() == 1 && dynamic.front().second == x &&
              xt.isDynamicDim(0) && xt.getNumDynamicDims() == 1 &&
              node.input_size() <= 3 && pads &&
              matchPattern(pads, m_Constant(&padValues)) &&
              padValues.getNumElements() == 2 * xt.getRank();
    if (ok) {
      SmallVector<int64_t> p;
      for (const APInt &v : padValues)
        p.push_back(v.getSExtValue());
      ok = p[0] == 0 && p[xt.getRank()] == 0;
    }
    if (!ok)
      return refuse("dlc compiles Pad for run-time sizes only with constant "
                    "pads that leave dim 0, the only run-time dim, alone");
    return success();
  }
  if (isBatchOp(op)) {
    // Batch-parallel ops: tile-dynamic-batch runs them per sample.
    Value x = ctx.lookup(node.input(0));
    auto xt = ImportContext::typeOf(x);
    bool batchOnly = dynamic.size() == 1 && dynamic.front().second == x &&
                     xt.getRank() >= 2 && xt.isDynamicDim(0) &&
                     xt.getNumDynamicDims() == 1;
    if (!batchOnly)
      return refuse("dlc compiles " + node.op_type() +
                    " for run-time sizes only in dim 0 of its first input");
    if (op == "Flatten" &&
        (ctx.intAttr("axis", 1) % xt.getRank() + xt.getRank()) % xt.getRank() !=
            1)
      return refuse("dlc compiles Flatten for run-time sizes only with axis 1");
    if ((op == "MaxPool" || op == "BatchNormalization") &&
        node.output_size() > 1)
      return refuse("dlc compiles " + node.op_type() +
                    " for run-time sizes with one output only");
    if (op == "BatchNormalization" && ctx.intAttr("training_mode", 0) != 0)
      return refuse("dlc compiles BatchNormalization for run-time sizes in "
                    "inference mode only");
    return success();
  }
  return refuse("dlc compiles " + node.op_type() +
                " for static shapes only (for now)");
}

void propagateDimSymbols(ImportContext &ctx, const onnx::NodeProto &node) {
  SmallVector<Value> inputs;
  for (const auto &name : node.input())
    inputs.push_back(name.empty() ? Value() : ctx.lookup(name));
  for (const auto &name : node.output()) {
    Value out = name.empty() ? Value() : ctx.lookup(name);
    if (!out || ctx.dimSymbols.count(out))
      continue;
    auto type = dyn_cast<RankedTensorType>(out.getType());
    if (!type || type.hasStaticShape())
      continue;
    int64_t rank = type.getRank();
    SmallVector<int64_t> symbols(rank, -1);
    // Each dynamic output dim takes the symbol of an input's dynamic dim at
    // the same position aligned right (the ops above keep positions; MatMul
    // and Gemm keep the rows of their first input), but for Flatten and
    // Reshape, whose only dynamic dim is the batch, dim 0's.
    if (node.op_type() == "Flatten" || node.op_type() == "Reshape") {
      if (inputs[0] && ctx.dimSymbols.count(inputs[0]))
        symbols[0] = ctx.dimSymbols[inputs[0]][0];
    } else {
      for (int64_t d = 0; d < rank; ++d) {
        if (!type.isDynamicDim(d))
          continue;
        for (Value in : inputs) {
          if (!in || !ctx.dimSymbols.count(in))
            continue;
          auto inType = ImportContext::typeOf(in);
          int64_t at = d - (rank - inType.getRank());
          if (at >= 0 && inType.isDynamicDim(at)) {
            symbols[d] = ctx.dimSymbols[in][at];
            break;
          }
        }
      }
    }
    // Values of run-time shapes decided otherwise (graph.runtime_* results,
    // an If's outputs) get none: no op takes them yet.
    if (llvm::any_of(symbols, [](int64_t s) { return s >= 0; }))
      ctx.dimSymbols[out] = symbols;
  }
}

} // namespace dlc::onnx_frontend
