//===- DynamicDims.cpp - which ops take dims known only at run time -------===//
//
// A graph input's dims left symbolic (no --input-shape or --dim for them),
// and the dims of results whose sizes their ops read from values at run
// time (graph.runtime_* ops, scan outputs), flow through the ops whose
// lowerings size their results at run time. The importer follows each
// dynamic dim's symbol (its dim_param; a new one per op result) so that two
// operands' dynamic dims meet only where they are known to be one size:
// dlc does not broadcast a dim whose size it learns at run time.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
      "Mish",      "Sign",     "Clip",     "Cast"};
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
  // A named input nothing defines is the importer's to report.
  for (const auto &name : node.input())
    if (!name.empty() && !ctx.lookup(name))
      return success();
  SmallVector<std::pair<std::string, Value>> dynamic;
  for (const auto &name : node.input()) {
    Value v = name.empty() ? Value() : ctx.lookup(name);
    if (!v)
      continue;
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.hasStaticShape())
      continue;
    dynamic.emplace_back(name, v);
  }
  if (dynamic.empty())
    return success();
  llvm::StringRef op = node.op_type();
  auto pinHint = [&](const std::string &name, Value v) {
    std::string hint = "pin its dims with --input-shape or --dim";
    for (int64_t s : symbolsOf(ctx, v)) {
      if (s >= 0 && !ctx.dimSymbolNames[s].empty())
        return "pin them with --dim " + ctx.dimSymbolNames[s] +
               "=<n> (or --input-shape)";
      // A size an op reads from a graph input's values.
      if (s >= 0 && !ctx.dimSymbolDeciders[s].empty()) {
        const std::string &decider = ctx.dimSymbolDeciders[s];
        return "its size comes from the values of input '" + decider +
               "', so input '" + decider +
               "' must be a compile-time constant here (--freeze-input " +
               decider + "=FILE.pb makes it one)";
      }
    }
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
  // Tensors that go into sequences and optionals: their lowering takes any
  // dims.
  if (op == "SequenceConstruct" || op == "SequenceInsert" ||
      op == "SplitToSequence" || op == "Optional" ||
      op == "OptionalHasElement" || op == "OptionalGetElement")
    return success();
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
    // Dims of different symbols where one is an op's result (a size read
    // from values, which no --dim can pin): checked equal at run time.
    SmallVector<std::tuple<Value, int64_t, Value, int64_t>> checkedEqual;
    for (int64_t pos = 0; pos < rank; ++pos) {
      int64_t symbol = -2; // none seen
      Value first;
      int64_t firstDim = 0;
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
        if (s >= 0 && symbol >= 0 && symbol != s &&
            (ctx.dimSymbolNames[s].empty() ||
             ctx.dimSymbolNames[symbol].empty())) {
          checkedEqual.emplace_back(first, firstDim, v, d);
          continue;
        }
        if (s < 0 || (symbol != -2 && symbol != s))
          return refuse("another input's dim " + std::to_string(pos) +
                        " is not known to be the same size (dlc does not "
                        "broadcast dims known only at run time)");
        symbol = s;
        first = v;
        firstDim = d;
      }
      if (symbol != -2 && other)
        return refuse("it meets a static dim at dim " + std::to_string(pos) +
                      " (dlc does not broadcast dims known only at run "
                      "time)");
    }
    OpBuilder &b = ctx.builder;
    Location loc = ctx.loc();
    auto nameOf = [&](Value v) {
      for (const auto &name : node.input())
        if (!name.empty() && ctx.lookup(name) == v)
          return name;
      return std::string();
    };
    for (auto [x, dx, y, dy] : checkedEqual) {
      Value differ =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                tensor::DimOp::create(b, loc, x, dx),
                                tensor::DimOp::create(b, loc, y, dy));
      ctx.reportIf(differ, "dim " + Twine(dx) + " of input '" + nameOf(x) +
                               "' and dim " + Twine(dy) + " of input '" +
                               nameOf(y) +
                               "' differ (dlc does not broadcast dims known "
                               "only at run time)");
      // Until the report stops the call, both run at the smaller size, so
      // that neither is read past its end.
      Value size =
          arith::MinUIOp::create(b, loc, tensor::DimOp::create(b, loc, x, dx),
                                 tensor::DimOp::create(b, loc, y, dy));
      for (auto [v, d] : {std::pair(x, dx), std::pair(y, dy)}) {
        std::string name = nameOf(v);
        auto it = llvm::find_if(ctx.operandOverrides,
                                [&](const auto &o) { return o.first == name; });
        Value current = it == ctx.operandOverrides.end() ? v : it->second;
        SmallVector<OpFoldResult> offsets(
            ImportContext::typeOf(current).getRank(), b.getIndexAttr(0));
        SmallVector<OpFoldResult> sizes =
            tensor::getMixedSizes(b, loc, current);
        SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
        sizes[d] = size;
        Value cut = tensor::ExtractSliceOp::create(
            b, loc, ImportContext::typeOf(current), current, offsets, sizes,
            strides);
        // The cut takes the first operand's symbol at that dim.
        SmallVector<int64_t> symbols = symbolsOf(ctx, current);
        symbols[d] = symbolsOf(ctx, x)[dx];
        ctx.dimSymbols[cut] = symbols;
        if (it == ctx.operandOverrides.end())
          ctx.operandOverrides.emplace_back(name, cut);
        else
          it->second = cut;
      }
    }
    return success();
  }
  if (op == "MatMul") {
    if (node.input_size() != 2)
      return success(); // the importer reports it
    Value a = ctx.lookup(node.input(0)), b = ctx.lookup(node.input(1));
    auto at = ImportContext::typeOf(a), bt = ImportContext::typeOf(b);
    int64_t rank = at.getRank();
    // [..., M, K] x [K, N]: rows of run-time count, a static right side.
    if (dynamic.size() == 1 && dynamic.front().second == a && rank >= 2 &&
        !at.isDynamicDim(rank - 1) && bt.getRank() == 2)
      return success();
    // [B..., M, K] x [B..., K, N] (attention's products): static batch dims,
    // M, K and N of any size, K one size on both sides.
    bool ok = rank >= 3 && bt.getRank() == rank &&
              at.getShape().drop_back(2) == bt.getShape().drop_back(2) &&
              !llvm::any_of(at.getShape().drop_back(2), ShapedType::isDynamic);
    if (ok) {
      int64_t ka = at.getDimSize(rank - 1), kb = bt.getDimSize(rank - 2);
      ok = ShapedType::isDynamic(ka) || ShapedType::isDynamic(kb)
               ? ShapedType::isDynamic(ka) && ShapedType::isDynamic(kb) &&
                     symbolsOf(ctx, a)[rank - 1] >= 0 &&
                     symbolsOf(ctx, a)[rank - 1] == symbolsOf(ctx, b)[rank - 2]
               : ka == kb;
    }
    if (!ok)
      return refuse("dlc compiles MatMul for run-time sizes only in the "
                    "rows of its first input against a static 2-D matrix, "
                    "or between operands of the same static batch dims whose "
                    "inner dims are one size (one name when known only at "
                    "run time)");
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
  if (op == "Reshape" && ctx.opset >= 5 && node.input_size() > 1 &&
      !node.input(1).empty() &&
      ctx.shapeValues.count(ctx.lookup(node.input(1))))
    return success(); // to a shape of named dims: the importer checks it
  if (op == "Transpose") {
    if (dynamic.size() != 1 || dynamic.front().first != node.input(0))
      return refuse("dlc takes only its first input at run-time sizes");
    return success();
  }
  if (op == "LayerNormalization") {
    // Rows at run time, normalized over static trailing dims.
    Value x = ctx.lookup(node.input(0));
    auto xt = ImportContext::typeOf(x);
    int64_t rank = xt.getRank();
    int64_t axis = ctx.intAttr("axis", -1);
    axis = axis < 0 ? axis + rank : axis;
    bool ok = dynamic.size() == 1 && dynamic.front().second == x && axis >= 0 &&
              axis < rank;
    for (int64_t d = std::max<int64_t>(axis, 0); ok && d < rank; ++d)
      ok = !xt.isDynamicDim(d);
    if (!ok)
      return refuse("dlc compiles LayerNormalization for run-time sizes only "
                    "in the dims before `axis`");
    return success();
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    // Dims of 1 dropped or inserted at constant axes (given: Squeeze
    // without axes would drop a run-time dim that happens to be 1).
    bool ok = dynamic.size() == 1 && dynamic.front().first == node.input(0);
    if (ctx.opset >= 13)
      ok &= node.input_size() > 1 && !node.input(1).empty() &&
            matchPattern(ctx.lookup(node.input(1)), m_Constant());
    else
      ok &= !ctx.intsAttr("axes").empty();
    if (!ok)
      return refuse("dlc compiles " + node.op_type() +
                    " for run-time sizes only with constant axes");
    return success();
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN") {
    // X [T, B, I] with T and B at run time (the time loop's trip count and
    // the rows of each step); initial states [D, B, H] of X's B.
    Value x = ctx.lookup(node.input(0));
    auto xt = ImportContext::typeOf(x);
    bool ok = ctx.intAttr("layout", 0) == 0 && xt.getRank() == 3 &&
              !xt.isDynamicDim(2) &&
              (node.input_size() <= 4 || node.input(4).empty());
    int64_t batchSymbol = xt.isDynamicDim(1) ? symbolsOf(ctx, x)[1] : -2;
    ok &= batchSymbol != -1;
    for (int i : {5, 6}) {
      Value state = node.input_size() > i && !node.input(i).empty()
                        ? ctx.lookup(node.input(i))
                        : Value();
      if (!state || !ok)
        continue;
      auto st = ImportContext::typeOf(state);
      bool dynamicBatch = st.getRank() == 3 && st.isDynamicDim(1) &&
                          st.getNumDynamicDims() == 1;
      ok = batchSymbol == -2
               ? st.hasStaticShape()
               : dynamicBatch && symbolsOf(ctx, state)[1] == batchSymbol;
    }
    for (const auto &[name, v] : dynamic)
      ok &= v == x || (node.input_size() > 5 && name == node.input(5)) ||
            (node.input_size() > 6 && name == node.input(6));
    if (!ok)
      return refuse("dlc compiles " + node.op_type() +
                    " for run-time sizes only in X's sequence and batch "
                    "dims (layout 0, no sequence_lens), with initial states "
                    "whose batch dim is X's");
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

namespace {
/// The first graph input among `node`'s operands that is not a compile-time
/// constant (its shape operands before its data): what --freeze-input would
/// make a constant so that the node's result shape is static.
std::string deciderOf(ImportContext &ctx, const onnx::NodeProto &node) {
  llvm::StringRef op = node.op_type();
  // Their result sizes depend on data whatever is frozen.
  if (op == "NonZero" || op == "NonMaxSuppression")
    return "";
  int n = node.input_size();
  for (int k = 0; k < n; ++k) {
    // Input 0 is the data of most ops with a run-time form; try it last.
    // A Loop's is its trip count, which sizes its scan outputs.
    int i = op == "Loop" ? k : (k + 1) % n;
    if (node.input(i).empty())
      continue;
    auto arg = dyn_cast_or_null<BlockArgument>(ctx.lookup(node.input(i)));
    if (arg && isa<func::FuncOp>(arg.getOwner()->getParentOp()))
      return node.input(i);
  }
  return "";
}
} // namespace

void propagateDimSymbols(ImportContext &ctx, const onnx::NodeProto &node) {
  SmallVector<Value> inputs;
  for (const auto &name : node.input())
    inputs.push_back(name.empty() ? Value() : ctx.lookup(name));
  llvm::StringRef op = node.op_type();
  // Control flow: loop-carried values keep their symbols (Loop's inputs
  // from 2 on, Scan's first states); other outputs are sized at run time.
  bool controlFlow = op == "If" || op == "Loop" || op == "Scan";
  int64_t carriedFrom = op == "Loop" ? 2 : 0;
  int64_t numCarried =
      op == "Loop"   ? std::max(0, node.input_size() - 2)
      : op == "Scan" ? node.input_size() - ctx.intAttr("num_scan_inputs", 0)
                     : 0;
  for (auto [index, name] : llvm::enumerate(node.output())) {
    Value out = name.empty() ? Value() : ctx.lookup(name);
    if (!out || ctx.dimSymbols.count(out))
      continue;
    auto type = dyn_cast<RankedTensorType>(out.getType());
    if (!type || type.hasStaticShape())
      continue;
    int64_t rank = type.getRank();
    SmallVector<int64_t> symbols(rank, -1);
    Operation *def = out.getDefiningOp();
    bool sizedByValues =
        (def && def->getName().getStringRef().starts_with("graph.runtime_")) ||
        (controlFlow && static_cast<int64_t>(index) >= numCarried);
    // Each dynamic output dim takes the symbol of an input's dynamic dim at
    // the same position aligned right (the ops above keep positions; MatMul
    // and Gemm keep the rows of their first input), but for Flatten and
    // Reshape, whose only dynamic dim is the batch, dim 0's.
    if (sizedByValues) {
      // New symbols below.
    } else if (controlFlow) {
      Value init = inputs[carriedFrom + index];
      if (init && ctx.dimSymbols.count(init))
        symbols = ctx.dimSymbols[init];
    } else if ((op == "LSTM" || op == "GRU" || op == "RNN") && inputs[0] &&
               ctx.dimSymbols.count(inputs[0])) {
      // Y [T, D, B, H]; Y_h, Y_c [D, B, H].
      const SmallVector<int64_t> &x = ctx.dimSymbols[inputs[0]];
      if (rank == 4) {
        symbols[0] = x[0];
        symbols[2] = x[1];
      } else {
        symbols[1] = x[1];
      }
    } else if (op == "MatMul" && inputs.size() == 2 && inputs[0] && inputs[1]) {
      // Rows (and batch dims) from the first operand, columns from the
      // second.
      SmallVector<int64_t> a = symbolsOf(ctx, inputs[0]),
                           b = symbolsOf(ctx, inputs[1]);
      for (int64_t d = 0; d + 1 < rank; ++d) {
        int64_t at = d - (rank - static_cast<int64_t>(a.size()));
        if (at >= 0 && at + 1 < static_cast<int64_t>(a.size()))
          symbols[d] = a[at];
      }
      if (b.size() >= 2)
        symbols[rank - 1] = b.back();
    } else if (op == "Transpose" && inputs[0] &&
               ctx.dimSymbols.count(inputs[0])) {
      SmallVector<int64_t> perm = ctx.intsAttr("perm");
      if (perm.empty())
        for (int64_t d = rank - 1; d >= 0; --d)
          perm.push_back(d);
      for (int64_t d = 0; d < rank && d < (int64_t)perm.size(); ++d)
        if (perm[d] >= 0 && perm[d] < rank)
          symbols[d] = ctx.dimSymbols[inputs[0]][perm[d]];
    } else if ((op == "Squeeze" || op == "Unsqueeze") && inputs[0] &&
               ctx.dimSymbols.count(inputs[0])) {
      // Only dims of 1 come and go: the dynamic dims keep their order.
      auto inType = ImportContext::typeOf(inputs[0]);
      SmallVector<int64_t> inSymbols;
      for (int64_t d = 0; d < inType.getRank(); ++d)
        if (inType.isDynamicDim(d))
          inSymbols.push_back(ctx.dimSymbols[inputs[0]][d]);
      size_t next = 0;
      for (int64_t d = 0; d < rank && next < inSymbols.size(); ++d)
        if (type.isDynamicDim(d))
          symbols[d] = inSymbols[next++];
    } else if (op == "Flatten" || op == "Reshape") {
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
    // Dims whose size the op decides (graph.runtime_* results, scan
    // outputs, an If's outputs) get new symbols: the size of no other dim.
    for (int64_t d = 0; d < rank; ++d)
      if (type.isDynamicDim(d) && symbols[d] < 0)
        symbols[d] = ctx.newDimSymbol(out, d, "", deciderOf(ctx, node));
    ctx.dimSymbols[out] = symbols;
  }
}

} // namespace dlc::onnx_frontend

//===----------------------------------------------------------------------===//
// Shape values: Shape of a tensor with dims known only at run time, and the
// integer ops models apply to it before Reshape or ConstantOfShape.
//===----------------------------------------------------------------------===//

namespace dlc::onnx_frontend {
namespace {

using Elements = SmallVector<ImportContext::ShapeElement>;

/// The int64 values of a constant input, without reporting anything.
std::optional<SmallVector<int64_t>> constantIntsOf(Value v) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> result;
  for (const APInt &value : attr.getValues<APInt>())
    result.push_back(value.getSExtValue());
  return result;
}

/// The int64 values of node input `i` if it is present and a constant.
std::optional<SmallVector<int64_t>>
constantInput(ImportContext &ctx, const onnx::NodeProto &node, int i) {
  if (i >= node.input_size() || node.input(i).empty())
    return std::nullopt;
  return constantIntsOf(ctx.lookup(node.input(i)));
}

/// Input `i` as shape elements: a shape value's, or an int64 constant's.
std::optional<Elements> elementsOf(ImportContext &ctx,
                                   const onnx::NodeProto &node, int i) {
  if (const Elements *e = shapeValueOf(ctx, i))
    return *e;
  if (i >= node.input_size() || node.input(i).empty())
    return std::nullopt;
  Value v = ctx.lookup(node.input(i));
  auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  if (!type || !type.getElementType().isInteger(64))
    return std::nullopt;
  auto ints = constantIntsOf(v);
  if (!ints)
    return std::nullopt;
  Elements result;
  for (int64_t value : *ints)
    result.push_back({value, -1});
  return result;
}

bool hasSymbol(const Elements &elements) {
  return llvm::any_of(elements, [](const auto &e) { return e.symbol >= 0; });
}

/// Defines output 0 as the int64 tensor of `elements` (rank 0 when
/// `scalar`): constants, and the sizes of the symbols' source dims.
void defineShapeValue(ImportContext &ctx, const Elements &elements,
                      bool scalar) {
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  SmallVector<int64_t> shape;
  if (!scalar)
    shape.push_back(static_cast<int64_t>(elements.size()));
  auto type = RankedTensorType::get(shape, b.getI64Type());
  if (!hasSymbol(elements)) {
    // Picked from the static dims: a constant, as Shape of a static tensor.
    SmallVector<int64_t> values;
    for (const auto &e : elements)
      values.push_back(e.value);
    ctx.setOutput(0,
                  arith::ConstantOp::create(
                      b, loc, DenseElementsAttr::get(type, ArrayRef(values))));
    return;
  }
  SmallVector<Value> values;
  for (const auto &e : elements) {
    if (e.symbol < 0) {
      values.push_back(arith::ConstantIntOp::create(b, loc, e.value, 64));
      continue;
    }
    auto [source, dim] = ctx.dimSymbolSources[e.symbol];
    Value size = tensor::DimOp::create(b, loc, source, dim);
    values.push_back(arith::IndexCastOp::create(b, loc, b.getI64Type(), size));
  }
  Value result = tensor::FromElementsOp::create(b, loc, type, values);
  ctx.setOutput(0, result);
  ctx.shapeValues[result] = elements;
}

} // namespace

const SmallVector<ImportContext::ShapeElement> *shapeValueOf(ImportContext &ctx,
                                                             int i) {
  std::optional<Value> v = ctx.optionalInput(i);
  if (!v || !*v)
    return nullptr;
  auto it = ctx.shapeValues.find(*v);
  return it == ctx.shapeValues.end() ? nullptr : &it->second;
}

void dimsOfShapeValue(ImportContext &ctx,
                      ArrayRef<ImportContext::ShapeElement> elements,
                      SmallVectorImpl<int64_t> &dims,
                      SmallVectorImpl<int64_t> &symbols) {
  for (const auto &e : elements) {
    dims.push_back(e.symbol >= 0 ? ShapedType::kDynamic : e.value);
    symbols.push_back(e.symbol);
  }
}

bool importShapeArithmetic(ImportContext &ctx, const onnx::NodeProto &node) {
  bool domainOk = node.domain().empty() || node.domain() == "ai.onnx";
  if (!domainOk || node.output_size() < 1 || node.input_size() < 1)
    return false;
  llvm::StringRef op = node.op_type();
  auto typeOfInput = [&](int i) -> RankedTensorType {
    std::optional<Value> v = ctx.optionalInput(i);
    return v && *v ? dyn_cast<RankedTensorType>(v->getType())
                   : RankedTensorType();
  };
  if (op == "Shape") {
    Value x = node.input(0).empty() ? Value() : ctx.lookup(node.input(0));
    if (!x || !isa<RankedTensorType>(x.getType()))
      return false;
    auto type = ImportContext::typeOf(x);
    auto it = ctx.dimSymbols.find(x);
    if (type.hasStaticShape() || it == ctx.dimSymbols.end())
      return false;
    int64_t rank = type.getRank();
    Elements all;
    for (int64_t d = 0; d < rank; ++d) {
      if (!type.isDynamicDim(d)) {
        all.push_back({type.getDimSize(d), -1});
        continue;
      }
      if (it->second[d] < 0)
        return false;
      all.push_back({0, it->second[d]});
    }
    int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, start, rank);
    defineShapeValue(ctx, Elements(all.begin() + start, all.begin() + end),
                     /*scalar=*/false);
    return true;
  }
  if (op == "Concat") {
    // Vectors, at least one a shape value, the rest constants.
    int64_t axis = ctx.intAttr("axis", 0);
    if (axis != 0 && axis != -1)
      return false;
    Elements all;
    bool symbolic = false;
    for (int i = 0; i < node.input_size(); ++i) {
      std::optional<Elements> e = elementsOf(ctx, node, i);
      if (!e || typeOfInput(i).getRank() != 1)
        return false;
      symbolic |= shapeValueOf(ctx, i) != nullptr;
      all.append(e->begin(), e->end());
    }
    if (!symbolic)
      return false;
    defineShapeValue(ctx, all, /*scalar=*/false);
    return true;
  }
  // The other ops take a shape value as their first input.
  const Elements *in = shapeValueOf(ctx, 0);
  if (!in)
    return false;
  RankedTensorType inType = typeOfInput(0);
  if (op == "Identity") {
    defineShapeValue(ctx, *in, inType.getRank() == 0);
    return true;
  }
  if (op == "Cast") {
    // To int64 the values stay; other types take the general path.
    if (ctx.intAttr("to", 0) != onnx::TensorProto::INT64)
      return false;
    defineShapeValue(ctx, *in, inType.getRank() == 0);
    return true;
  }
  if (op == "Gather") {
    auto indices = constantInput(ctx, node, 1);
    RankedTensorType indexType = typeOfInput(1);
    if (!indices || inType.getRank() != 1 || indexType.getRank() > 1 ||
        ctx.intAttr("axis", 0) != 0)
      return false;
    int64_t n = static_cast<int64_t>(in->size());
    Elements picked;
    for (int64_t i : *indices) {
      if (i < -n || i >= n)
        return false; // the general path reports it
      picked.push_back((*in)[i < 0 ? i + n : i]);
    }
    defineShapeValue(ctx, picked, indexType.getRank() == 0);
    return true;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    // Between a single value and a 1-element vector.
    std::optional<SmallVector<int64_t>> axes;
    if (ctx.opset >= 13)
      axes = node.input_size() > 1 && !node.input(1).empty()
                 ? constantInput(ctx, node, 1)
                 : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{});
    else
      axes = ctx.intsAttr("axes");
    bool unsqueeze = op == "Unsqueeze";
    bool ok =
        axes && (unsqueeze ? inType.getRank() == 0 && axes->size() == 1 &&
                                 ((*axes)[0] == 0 || (*axes)[0] == -1)
                           : inType.getRank() == 1 && in->size() == 1 &&
                                 (axes->empty() ||
                                  (axes->size() == 1 &&
                                   ((*axes)[0] == 0 || (*axes)[0] == -1))));
    if (!ok)
      return false;
    defineShapeValue(ctx, *in, /*scalar=*/!unsqueeze);
    return true;
  }
  if (op == "Slice" && ctx.opset >= 10) {
    // Constant starts, ends (and axis 0, steps) over a vector.
    auto starts = constantInput(ctx, node, 1);
    auto ends = constantInput(ctx, node, 2);
    std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{0},
                                        steps = SmallVector<int64_t>{1};
    if (node.input_size() > 3 && !node.input(3).empty())
      axes = constantInput(ctx, node, 3);
    if (node.input_size() > 4 && !node.input(4).empty())
      steps = constantInput(ctx, node, 4);
    if (inType.getRank() != 1 || !starts || !ends || !axes || !steps ||
        starts->size() != 1 || ends->size() != 1 || axes->size() != 1 ||
        steps->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1) ||
        (*steps)[0] == 0)
      return false;
    int64_t n = static_cast<int64_t>(in->size()), step = (*steps)[0];
    auto clampIndex = [&](int64_t i, int64_t lo, int64_t hi) {
      if (i < 0)
        i += n;
      return std::clamp<int64_t>(i, lo, hi);
    };
    int64_t begin = step > 0 ? clampIndex((*starts)[0], 0, n)
                             : clampIndex((*starts)[0], -1, n - 1);
    int64_t end = step > 0 ? clampIndex((*ends)[0], 0, n)
                           : clampIndex((*ends)[0], -1, n - 1);
    Elements picked;
    for (int64_t i = begin; step > 0 ? i < end : i > end; i += step)
      picked.push_back((*in)[i]);
    defineShapeValue(ctx, picked, /*scalar=*/false);
    return true;
  }
  return false;
}

} // namespace dlc::onnx_frontend
