//===- Dsl.cpp - the C++ DSL: models built as graph-dialect ops -----------===//
//
// Each call adds graph ops to one function, `forward`, with the layer's name
// as location, so later diagnostics name the layer; shapes are inferred by
// the ops themselves, and a failure becomes an Error at once. compile()
// hands a copy of the module to the compiler library, as the dlc tool does.
//
//===----------------------------------------------------------------------===//

#include "dlc/dsl.h"

#include "compiler/Compile.h"
#include "compiler/Registration.h"
#include "compiler/Version.h"
#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/Weights.h"
#include "frontends/onnx/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <optional>
#include <random>
#include <sstream>

using namespace mlir;

namespace dlc::dsl {

namespace {

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::vector<int64_t> shapeOf(Value v) {
  auto shape = cast<RankedTensorType>(v.getType()).getShape();
  return std::vector<int64_t>(shape.begin(), shape.end());
}

} // namespace

struct Model::Impl {
  explicit Impl(std::string modelName, uint64_t seed)
      : name(std::move(modelName)), rng(seed), context(makeRegistry()),
        builder(&context) {
    context.loadDialect<graph::GraphDialect, arith::ArithDialect,
                        func::FuncDialect>();
    Location loc = NameLoc::get(StringAttr::get(&context, name));
    module = ModuleOp::create(loc);
    builder.setInsertionPointToEnd(module->getBody());
    func = func::FuncOp::create(builder, loc, "forward",
                                builder.getFunctionType({}, {}));
    builder.setInsertionPointToStart(func.addEntryBlock());
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerAllDialects(registry);
    return registry;
  }

  /// A name for an unnamed op: "relu_1", "relu_2", ...
  std::string autoName(const std::string &kind) {
    return kind + "_" + std::to_string(++counters[kind]);
  }

  int add(Value v, const std::string &layer, const std::string &kind,
          int64_t params) {
    valueNames[v] = layer;
    values.push_back(v);
    rows.push_back({layer, kind, shapeOf(v), params});
    return static_cast<int>(values.size()) - 1;
  }

  /// While alive, what a layer or function adds (ops, tensors, summary
  /// rows, ONNX nodes and initializers) is taken back if it throws: a
  /// mistake leaves the model as it was. commit() keeps it.
  class Checkpoint {
  public:
    explicit Checkpoint(Impl &s)
        : s(s), last(s.lastOp()), values(s.values.size()), rows(s.rows.size()),
          nodes(s.onnxNodes.size()), constants(s.onnxConstants.size()) {}
    ~Checkpoint() {
      if (kept)
        return;
      Block *body = s.builder.getInsertionBlock();
      while (!body->empty() && &body->back() != last)
        body->back().erase();
      for (size_t i = values; i < s.values.size(); ++i)
        s.valueNames.erase(s.values[i]);
      s.values.resize(values);
      s.rows.resize(rows);
      s.onnxNodes.resize(nodes);
      s.onnxConstants.resize(constants);
    }
    void commit() { kept = true; }
    Checkpoint(const Checkpoint &) = delete;
    Checkpoint &operator=(const Checkpoint &) = delete;

  private:
    Impl &s;
    Operation *last;
    size_t values, rows, nodes, constants;
    bool kept = false;
  };
  Operation *lastOp() {
    Block *body = builder.getInsertionBlock();
    return body->empty() ? nullptr : &body->back();
  }

  Location locOf(const std::string &layer) {
    return NameLoc::get(StringAttr::get(&context, layer));
  }

  /// Builds graph op `Op` with its inferred result type; a shape error
  /// (the op's verifier message) is thrown naming the layer.
  template <typename Op, typename... Args>
  Value build(const std::string &layer, const std::string &kind,
              Args &&...args) {
    auto op = Op::create(builder, locOf(layer), builder.getNoneType(),
                         std::forward<Args>(args)...);
    return inferTypes(op.getOperation(), layer, kind);
  }

  /// Sets `op`'s result types from its inference, or erases it and throws.
  /// Returns its first result.
  Value inferTypes(Operation *op, const std::string &layer,
                   const std::string &kind) {
    SmallVector<Type> types;
    std::string message;
    LogicalResult inferred = failure();
    {
      ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
        message = diag.str();
        return success();
      });
      inferred = cast<InferTypeOpInterface>(op).inferReturnTypes(
          &context, op->getLoc(), op->getOperands(), op->getAttrDictionary(),
          op->getPropertiesStorage(), op->getRegions(), types);
    }
    if (failed(inferred)) {
      op->erase();
      throw Error(
          layer + " (" + kind + "): " +
          (message.empty() ? "invalid operands or attributes" : message));
    }
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
    return op->getResult(0);
  }

  /// A double in [0, 1) from 53 bits of the model's generator: the same
  /// values on every platform for a seed (std's distributions are not
  /// specified).
  double unit() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

  /// Normal(0, 1) values from the model's generator (Box-Muller).
  std::vector<float> normal(int64_t count) {
    std::vector<float> data(count);
    for (int64_t i = 0; i < count; i += 2) {
      // u1 in (0, 1]: its log is finite.
      double u1 = (static_cast<double>(rng() >> 11) + 1) * 0x1.0p-53;
      double u2 = unit();
      double r = std::sqrt(-2 * std::log(u1));
      data[i] = static_cast<float>(r * std::cos(2 * M_PI * u2));
      if (i + 1 < count)
        data[i + 1] = static_cast<float>(r * std::sin(2 * M_PI * u2));
    }
    return data;
  }

  /// A new parameter "<layer>.<what>" of `shape`, uniform in +-bound, or
  /// every element `*fill` when given.
  Value parameter(const std::string &layer, const std::string &what,
                  const std::vector<int64_t> &shape, double bound,
                  std::optional<float> fill = std::nullopt,
                  bool gaussian = false) {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::vector<float> data =
        gaussian ? normal(count)
                 : std::vector<float>(count, fill.value_or(0.0f));
    for (float &v : data) {
      if (fill || gaussian)
        break;
      v = static_cast<float>((2 * unit() - 1) * bound);
    }
    auto type = RankedTensorType::get(shape, builder.getF32Type());
    auto constant = arith::ConstantOp::create(
        builder, locOf(layer + "." + what),
        DenseElementsAttr::get(type, ArrayRef<float>(data)));
    parameters.push_back({layer + "." + what, shape, constant});
    return constant;
  }

  /// Adds parameter "<layer>.<what>" as a value layers look up by name.
  void addParameter(const std::string &layer, const std::string &what,
                    const std::vector<int64_t> &shape, double bound,
                    std::optional<float> fill = std::nullopt,
                    bool gaussian = false) {
    values.push_back(parameter(layer, what, shape, bound, fill, gaussian));
    valueNames[values.back()] = layer + "." + what;
    parameterValues[layer + "." + what] = static_cast<int>(values.size()) - 1;
    rows.resize(values.size()); // parameters are not rows of the summary
  }
  Value parameterValue(const std::string &name) {
    return values[parameterValues.at(name)];
  }

  /// For a training step: each parameter of the copy `func` (`mapping`
  /// from the model's values) becomes an argument after the inputs, marked
  /// graph.parameter, or graph.buffer for BatchNorm's running statistics;
  /// BatchNorm layers normalize with the batch's statistics. Returns the
  /// buffers' updated values, by name, in argument order: results after the
  /// outputs.
  static std::vector<std::pair<std::string, Value>>
  trainingArguments(Impl &s, func::FuncOp func, IRMapping &mapping,
                    onnx_frontend::ModelSignature &signature);

  struct Parameter {
    std::string name;
    std::vector<int64_t> shape;
    arith::ConstantOp op;
    bool trainable = true;
  };
  struct Row {
    std::string name, kind;
    std::vector<int64_t> shape;
    int64_t params;
  };

  std::string name;
  std::mt19937_64 rng;
  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
  func::FuncOp func;
  std::vector<Value> values;
  std::vector<Row> rows;
  std::vector<Parameter> parameters;
  std::vector<onnx_frontend::TensorSignature> inputs;
  std::vector<std::pair<std::string, Value>> outputs;
  std::map<std::string, int> counters;        ///< unnamed ops per kind
  std::map<std::string, int> parameterValues; ///< parameter -> value id
  std::map<std::string, int> names; ///< every layer, input and output name

  /// For save_onnx: the name of every tensor (its op's or parameter's), and
  /// the ONNX node each op is, with the constants they read.
  llvm::DenseMap<Value, std::string> valueNames;
  std::vector<onnx::NodeProto> onnxNodes;
  std::vector<onnx::TensorProto> onnxConstants;

  const std::string &nameOf(Tensor t);

  /// Builds ONNX node `node` through the ONNX importer, as a model file's
  /// node is built (the same checks, the same graph ops), and records it for
  /// save_onnx. `inputs` are the values of node.input(), in order. Returns
  /// the values of its outputs; an import error is thrown naming `layer`
  /// and `kind`, with nothing of the node left behind.
  std::vector<Value> importNode(const onnx::NodeProto &node,
                                ArrayRef<Value> inputs,
                                const std::string &layer,
                                const std::string &kind);
  /// importNode of one ONNX node `opType` named `name`, its one output
  /// `output` (the node's name when empty), with the attributes `attrs`
  /// sets.
  Value importOne(const std::string &opType, const std::string &name,
                  const std::vector<std::string> &inputs,
                  ArrayRef<Value> values, const std::string &layer,
                  const std::string &kind,
                  const std::function<void(onnx::NodeProto &)> &attrs = {},
                  const std::string &output = "");
  /// Records int64 initializer `name` of `dims` for save_onnx.
  onnx::TensorProto &onnxIntConstant(const std::string &name,
                                     const std::vector<int64_t> &values,
                                     const std::vector<int64_t> &dims) {
    onnx::TensorProto &t = onnxConstants.emplace_back();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims)
      t.add_dims(d);
    for (int64_t v : values)
      t.add_int64_data(v);
    return t;
  }
  /// An int64 constant of `dims`, and the initializer save_onnx writes.
  Value intConstant(const std::string &name, const std::vector<int64_t> &values,
                    const std::vector<int64_t> &dims) {
    onnxIntConstant(name, values, dims);
    auto type = RankedTensorType::get(dims, builder.getI64Type());
    return arith::ConstantOp::create(
        builder, locOf(name),
        DenseElementsAttr::get(type, ArrayRef<int64_t>(values)));
  }
  /// Records float32 initializer `name` of `shape` for save_onnx.
  void onnxFloatConstant(const std::string &name,
                         const std::vector<int64_t> &shape,
                         const std::vector<float> &values) {
    onnx::TensorProto &t = onnxConstants.emplace_back();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t.add_dims(d);
    for (float v : values)
      t.add_float_data(v);
  }
  /// A float32 constant of `shape`, and the initializer save_onnx writes.
  Value floatConstant(const std::string &name,
                      const std::vector<int64_t> &shape,
                      const std::vector<float> &values) {
    onnxFloatConstant(name, shape, values);
    auto type = RankedTensorType::get(shape, builder.getF32Type());
    return arith::ConstantOp::create(
        builder, locOf(name),
        DenseElementsAttr::get(type, ArrayRef<float>(values)));
  }
  Value floatScalar(const std::string &name, double value) {
    return floatConstant(name, {}, {static_cast<float>(value)});
  }
  /// Records op `name` as ONNX node `opType` of the named inputs; its output
  /// carries the op's name.
  onnx::NodeProto &onnxNode(const std::string &opType, const std::string &name,
                            std::vector<std::string> inputs) {
    onnx::NodeProto &n = onnxNodes.emplace_back();
    n.set_op_type(opType);
    n.set_name(name);
    for (const std::string &in : inputs)
      n.add_input(in);
    n.add_output(name);
    return n;
  }
};

namespace {

/// The importer's messages about `node` (at `index`), without the (empty)
/// file and the node they start with.
std::string importErrors(const onnx_frontend::ImportContext &ctx,
                         const onnx::NodeProto &node, int index) {
  std::string prefix = ": " + onnx_frontend::describeNode(node, index) + ": ";
  std::string message;
  for (const std::string &e : ctx.errors)
    message +=
        (message.empty() ? "" : "; ") +
        (llvm::StringRef(e).starts_with(prefix) ? e.substr(prefix.size()) : e);
  return message.empty() ? "import failed" : message;
}

} // namespace

std::vector<Value> Model::Impl::importNode(const onnx::NodeProto &node,
                                           ArrayRef<Value> inputs,
                                           const std::string &layer,
                                           const std::string &kind) {
  onnx_frontend::ImportContext ctx(builder, "", /*opset=*/17);
  ctx.foldConstants = false;
  for (auto [name, value] : llvm::zip(node.input(), inputs))
    if (!name.empty()) // an absent optional input
      ctx.define(name, value);
  Block *body = builder.getInsertionBlock();
  Operation *last = body->empty() ? nullptr : &body->back();
  int index = static_cast<int>(onnxNodes.size());
  if (failed(onnx_frontend::importNode(ctx, node, index))) {
    while (!body->empty() && &body->back() != last)
      body->back().erase();
    throw Error(layer + " (" + kind + "): " + importErrors(ctx, node, index));
  }
  onnxNodes.push_back(node);
  std::vector<Value> results;
  for (const std::string &out : node.output())
    results.push_back(ctx.lookup(out));
  return results;
}

namespace {

/// An ONNX node of `opType` named `name`.
onnx::NodeProto makeNode(const std::string &opType, const std::string &name,
                         const std::vector<std::string> &inputs,
                         const std::vector<std::string> &outputs) {
  onnx::NodeProto n;
  n.set_op_type(opType);
  n.set_name(name);
  for (const std::string &in : inputs)
    n.add_input(in);
  for (const std::string &out : outputs)
    n.add_output(out);
  return n;
}

void setStringAttr(onnx::NodeProto &n, const char *name, const std::string &v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void setAttr(onnx::NodeProto &n, const char *name, int64_t v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void setAttr(onnx::NodeProto &n, const char *name,
             const std::vector<int64_t> &v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

void setAttr(onnx::NodeProto &n, const char *name, float v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

} // namespace

Value Model::Impl::importOne(
    const std::string &opType, const std::string &name,
    const std::vector<std::string> &inputs, ArrayRef<Value> values,
    const std::string &layer, const std::string &kind,
    const std::function<void(onnx::NodeProto &)> &attrs,
    const std::string &output) {
  onnx::NodeProto node =
      makeNode(opType, name, inputs, {output.empty() ? name : output});
  if (attrs)
    attrs(node);
  return importNode(node, values, layer, kind)[0];
}

//===----------------------------------------------------------------------===//
// Tensor and functional ops
//===----------------------------------------------------------------------===//

/// What the implementation reads of a Tensor and a Model.
struct TensorAccess {
  static Model::Impl &impl(Tensor t) {
    if (!t.owner)
      throw Error("an empty Tensor (not made by a Model)");
    return *t.owner->state;
  }
  static Value value(Tensor t) { return impl(t).values[t.id]; }
  static Model *owner(Tensor t) { return t.owner; }
  static Tensor make(Model *m, int id) { return Tensor(m, id); }
};

const std::string &Model::Impl::nameOf(Tensor t) {
  return valueNames[TensorAccess::value(t)];
}

const std::vector<int64_t> &Tensor::shape() const {
  return TensorAccess::impl(*this).rows[id].shape;
}

Model &Tensor::model() const {
  TensorAccess::impl(*this);
  return *owner;
}

namespace {

/// Adds `v` (made for layer or op `name` of `kind`) as a new tensor of
/// `like`'s model.
Tensor result(Tensor like, Value v, const std::string &name,
              const std::string &kind, int64_t params = 0) {
  Model::Impl &s = TensorAccess::impl(like);
  return TensorAccess::make(TensorAccess::owner(like),
                            s.add(v, name, kind, params));
}

} // namespace

namespace {

/// An elementwise function of one tensor: graph op `Op` (built with
/// `extra` attributes), ONNX `onnxType`; unnamed ops are `prefix`_<n>.
template <typename Op, typename... Extra>
Tensor unaryOp(Tensor x, const char *prefix, const char *kind,
               const char *onnxType, Extra... extra) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName(prefix);
  Value v = s.build<Op>(name, kind, TensorAccess::value(x), extra...);
  s.onnxNode(onnxType, name, {s.nameOf(x)});
  return result(x, v, name, kind);
}

/// graph.unary of function `fn` (exp, log, sqrt, ...).
Tensor namedFunction(Tensor x, const char *fn, const char *kind) {
  Model::Impl &s = TensorAccess::impl(x);
  auto zero = s.builder.getF32FloatAttr(0);
  std::string prefix = fn;
  return unaryOp<graph::UnaryOp>(x, prefix.c_str(), kind, kind,
                                 s.builder.getStringAttr(fn), zero, zero, zero);
}

/// Elementwise `Op` of two tensors of one model, with numpy broadcasting.
template <typename Op>
Tensor binaryOp(Tensor a, Tensor b, const char *prefix, const char *kind) {
  Model::Impl &s = TensorAccess::impl(a);
  if (&TensorAccess::impl(b) != &s)
    throw Error(std::string(prefix) +
                ": the tensors belong to different models");
  std::string name = s.autoName(prefix);
  Value v = s.build<Op>(name, kind, TensorAccess::value(a),
                        TensorAccess::value(b), s.builder.getBoolAttr(false));
  s.onnxNode(kind, name, {s.nameOf(a), s.nameOf(b)});
  return result(a, v, name, kind);
}

} // namespace

Tensor relu(Tensor x) {
  return unaryOp<graph::ReluOp>(x, "relu", "Relu", "Relu");
}

Tensor sigmoid(Tensor x) {
  return unaryOp<graph::SigmoidOp>(x, "sigmoid", "Sigmoid", "Sigmoid");
}

Tensor tanh(Tensor x) {
  return unaryOp<graph::TanhOp>(x, "tanh", "Tanh", "Tanh");
}

Tensor leaky_relu(Tensor x, double slope) {
  Model::Impl &s = TensorAccess::impl(x);
  Tensor y = unaryOp<graph::LeakyReluOp>(
      x, "leaky_relu", "LeakyRelu", "LeakyRelu",
      s.builder.getF32FloatAttr(static_cast<float>(slope)));
  setAttr(s.onnxNodes.back(), "alpha", static_cast<float>(slope));
  return y;
}

Tensor exp(Tensor x) { return namedFunction(x, "exp", "Exp"); }
Tensor log(Tensor x) { return namedFunction(x, "log", "Log"); }
Tensor sqrt(Tensor x) { return namedFunction(x, "sqrt", "Sqrt"); }

namespace {

/// ONNX node `opType` of `x`, named `prefix`_<n>, built through the ONNX
/// importer; `extend` adds its attributes and constant inputs.
using NodeExtension =
    std::function<void(Model::Impl &, const std::string &, onnx::NodeProto &,
                       std::vector<Value> &)>;
Tensor viaOnnx(Tensor x, const char *prefix, const char *kind,
               const char *opType, const NodeExtension &extend = {}) {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  std::string name = s.autoName(prefix);
  onnx::NodeProto node = makeNode(opType, name, {s.nameOf(x)}, {name});
  std::vector<Value> values = {TensorAccess::value(x)};
  if (extend)
    extend(s, name, node, values);
  Value v = s.importNode(node, values, name, kind)[0];
  undo.commit();
  return result(x, v, name, kind);
}

/// Adds int64 constant input `name`.`what` ([values.size()]) to `node`.
void addIntInput(Model::Impl &s, const std::string &name, const char *what,
                 const std::vector<int64_t> &values, onnx::NodeProto &node,
                 std::vector<Value> &operands) {
  std::string input = name + "." + what;
  node.add_input(input);
  operands.push_back(
      s.intConstant(input, values, {static_cast<int64_t>(values.size())}));
}

/// Adds float32 scalar constant input `name`.`what` to `node`.
void addFloatInput(Model::Impl &s, const std::string &name, const char *what,
                   double value, onnx::NodeProto &node,
                   std::vector<Value> &operands) {
  std::string input = name + "." + what;
  node.add_input(input);
  operands.push_back(s.floatScalar(input, value));
}

/// An activation without parameters of its own, with attributes `attrs`.
Tensor activation(Tensor x, const char *prefix, const char *kind,
                  std::vector<std::pair<const char *, float>> attrs = {}) {
  return viaOnnx(x, prefix, kind, kind,
                 [&](Model::Impl &, const std::string &, onnx::NodeProto &n,
                     std::vector<Value> &) {
                   for (auto [attr, value] : attrs)
                     setAttr(n, attr, value);
                 });
}

/// Shows the ops of `s` made since row `first` as one summary row, `y`'s,
/// named `name`, of `kind`, with `params`: a function or layer written
/// with other ops.
Tensor asOneRow(Model::Impl &s, size_t first, Tensor y, const std::string &name,
                const char *kind, int64_t params = 0) {
  for (size_t i = first; i + 1 < s.rows.size(); ++i)
    s.rows[i].name.clear();
  s.rows.back().name = name;
  s.rows.back().kind = kind;
  s.rows.back().params = params;
  return y;
}

/// f(x), a function made of others, as one summary row `prefix`_<n>; none
/// of its ops stay if one fails.
Tensor composite(Tensor x, const char *prefix, const char *kind,
                 const std::function<Tensor(Tensor)> &f) {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  size_t first = s.rows.size();
  Tensor y = f(x);
  asOneRow(s, first, y, s.autoName(prefix), kind);
  undo.commit();
  return y;
}

} // namespace

Tensor elu(Tensor x, double alpha) {
  return activation(x, "elu", "Elu", {{"alpha", static_cast<float>(alpha)}});
}
Tensor selu(Tensor x) { return activation(x, "selu", "Selu"); }
Tensor celu(Tensor x, double alpha) {
  return activation(x, "celu", "Celu", {{"alpha", static_cast<float>(alpha)}});
}
Tensor softplus(Tensor x) { return activation(x, "softplus", "Softplus"); }
Tensor softsign(Tensor x) { return activation(x, "softsign", "Softsign"); }
Tensor hardsigmoid(Tensor x) {
  return activation(x, "hardsigmoid", "HardSigmoid",
                    {{"alpha", 1.0f / 6}, {"beta", 0.5f}});
}
Tensor hardswish(Tensor x) { return activation(x, "hardswish", "HardSwish"); }
Tensor abs(Tensor x) { return activation(x, "abs", "Abs"); }
Tensor neg(Tensor x) { return activation(x, "neg", "Neg"); }
Tensor erf(Tensor x) { return activation(x, "erf", "Erf"); }

Tensor clamp(Tensor x, double lo, double hi) {
  if (!(lo <= hi))
    throw Error("clamp: the bounds " + std::to_string(lo) + " and " +
                std::to_string(hi) + " are not in order");
  return viaOnnx(x, "clamp", "Clip", "Clip",
                 [&](Model::Impl &s, const std::string &name,
                     onnx::NodeProto &n, std::vector<Value> &operands) {
                   addFloatInput(s, name, "min", lo, n, operands);
                   addFloatInput(s, name, "max", hi, n, operands);
                 });
}
namespace {

/// dropout(x, p) as op or layer application `name`.
Tensor dropoutNamed(Tensor x, double p, const std::string &name) {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  if (!(p >= 0 && p < 1))
    throw Error(name + " (Dropout): p " + std::to_string(p) +
                " is not in [0, 1)");
  Value v = TensorAccess::value(x);
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.getElementType().isF32())
    throw Error(name + " (Dropout): the input is not float32");
  auto &b = s.builder;
  // The mask of dlc --train's training-mode Dropout (seeded per op, a new
  // draw per step); graph.mode_select keeps it out of inference.
  Value mask = s.build<graph::DropoutMaskOp>(
      name, "Dropout", Value(), b.getDenseI64ArrayAttr(type.getShape()),
      b.getF32FloatAttr(static_cast<float>(p)),
      b.getI64IntegerAttr(0x5EED0000 +
                          int64_t(++s.counters["dropout masks"]) * 7919));
  Value dropped =
      s.build<graph::MulOp>(name, "Dropout", v, mask, b.getBoolAttr(false));
  Value y = s.build<graph::ModeSelectOp>(name, "Dropout", dropped, v);
  // save_onnx: ONNX's Dropout, which is the identity outside training.
  s.onnxFloatConstant(name + ".ratio", {}, {static_cast<float>(p)});
  s.onnxNode("Dropout", name, {s.nameOf(x), name + ".ratio"});
  undo.commit();
  return result(x, y, name, "Dropout");
}

} // namespace

Tensor dropout(Tensor x, double p) {
  return dropoutNamed(x, p, TensorAccess::impl(x).autoName("dropout"));
}

Tensor Dropout::operator()(Tensor x) const {
  checkOwner(x, "Dropout");
  return dropoutNamed(x, p, callName());
}

Tensor hardtanh(Tensor x) { return clamp(x, -1, 1); }
Tensor relu6(Tensor x) { return clamp(x, 0, 6); }

// Functions opset 17 has no operator for, written with others (as
// PyTorch's exporter writes them).
Tensor gelu(Tensor x) {
  return composite(x, "gelu", "Gelu", [](Tensor v) {
    return v * (0.5 * (1.0 + erf(v / std::sqrt(2.0))));
  });
}
Tensor silu(Tensor x) {
  return composite(x, "silu", "Silu", [](Tensor v) { return v * sigmoid(v); });
}
Tensor mish(Tensor x) {
  return composite(x, "mish", "Mish",
                   [](Tensor v) { return v * tanh(softplus(v)); });
}

namespace {

/// ONNX reduction `opType` over `axes` (opset 17: ReduceSum takes them as
/// an input, the others as an attribute).
Tensor reduce(Tensor x, std::vector<int64_t> axes, bool keepdim,
              const char *prefix, const char *opType) {
  return viaOnnx(x, prefix, opType, opType,
                 [&](Model::Impl &s, const std::string &name,
                     onnx::NodeProto &n, std::vector<Value> &operands) {
                   setAttr(n, "keepdims", int64_t(keepdim));
                   if (axes.empty())
                     return;
                   if (std::string(opType) == "ReduceSum")
                     addIntInput(s, name, "axes", axes, n, operands);
                   else
                     setAttr(n, "axes", axes);
                 });
}

} // namespace

Tensor mean(Tensor x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(x, std::move(axes), keepdim, "mean", "ReduceMean");
}
Tensor sum(Tensor x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(x, std::move(axes), keepdim, "sum", "ReduceSum");
}
Tensor amax(Tensor x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(x, std::move(axes), keepdim, "amax", "ReduceMax");
}
Tensor amin(Tensor x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(x, std::move(axes), keepdim, "amin", "ReduceMin");
}

Tensor slice(Tensor x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  if (step < 1)
    throw Error("slice: step " + std::to_string(step) + " is not >= 1");
  return viaOnnx(x, "slice", "Slice", "Slice",
                 [&](Model::Impl &s, const std::string &name,
                     onnx::NodeProto &n, std::vector<Value> &operands) {
                   addIntInput(s, name, "starts", {start}, n, operands);
                   addIntInput(s, name, "ends", {end}, n, operands);
                   addIntInput(s, name, "axes", {axis}, n, operands);
                   addIntInput(s, name, "steps", {step}, n, operands);
                 });
}

Tensor index_select(Tensor x, int64_t axis, Tensor indices) {
  Model::Impl &s = TensorAccess::impl(x);
  if (&TensorAccess::impl(indices) != &s)
    throw Error("index_select: the tensors belong to different models");
  return viaOnnx(x, "index_select", "Gather", "Gather",
                 [&](Model::Impl &, const std::string &, onnx::NodeProto &n,
                     std::vector<Value> &operands) {
                   n.add_input(s.nameOf(indices));
                   operands.push_back(TensorAccess::value(indices));
                   setAttr(n, "axis", axis);
                 });
}

Tensor pad(Tensor x, const std::vector<int64_t> &pads, PadMode mode,
           double value) {
  int64_t rank = static_cast<int64_t>(x.shape().size());
  if (pads.size() % 2 || static_cast<int64_t>(pads.size()) > 2 * rank)
    throw Error("pad: " + std::to_string(pads.size()) +
                " pads are not (before, after) pairs of at most " +
                std::to_string(rank) + " dims");
  // PyTorch's pairs run from the last dim back; ONNX's are all befores,
  // then all afters, from the first dim.
  std::vector<int64_t> onnxPads(2 * rank, 0);
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    onnxPads[rank - 1 - i] = pads[2 * i];
    onnxPads[2 * rank - 1 - i] = pads[2 * i + 1];
  }
  const char *modes[] = {"constant", "reflect", "edge"};
  return viaOnnx(x, "pad", "Pad", "Pad",
                 [&](Model::Impl &s, const std::string &name,
                     onnx::NodeProto &n, std::vector<Value> &operands) {
                   addIntInput(s, name, "pads", onnxPads, n, operands);
                   if (mode == PadMode::Constant)
                     addFloatInput(s, name, "value", value, n, operands);
                   setStringAttr(n, "mode", modes[static_cast<int>(mode)]);
                 });
}

Tensor interpolate(Tensor x, int64_t scale, Interpolation mode) {
  if (x.shape().size() != 4 || scale < 1)
    throw Error("interpolate: input " + shapeText(x.shape()) +
                " is not NCHW or scale " + std::to_string(scale) +
                " is not >= 1");
  bool nearest = mode == Interpolation::Nearest;
  return viaOnnx(
      x, "interpolate", "Resize", "Resize",
      [&](Model::Impl &s, const std::string &name, onnx::NodeProto &n,
          std::vector<Value> &operands) {
        n.add_input(""); // no region of interest
        operands.push_back(Value());
        std::string scales = name + ".scales";
        n.add_input(scales);
        float f = static_cast<float>(scale);
        operands.push_back(s.floatConstant(scales, {4}, {1, 1, f, f}));
        setStringAttr(n, "mode", nearest ? "nearest" : "linear");
        // PyTorch's coordinates: floor(out / scale) for nearest, pixel
        // centres for bilinear.
        setStringAttr(n, "coordinate_transformation_mode",
                      nearest ? "asymmetric" : "pytorch_half_pixel");
        if (nearest)
          setStringAttr(n, "nearest_mode", "floor");
      });
}

Tensor global_avg_pool2d(Tensor x) {
  if (x.shape().size() != 4)
    throw Error("global_avg_pool2d: input " + shapeText(x.shape()) +
                " is not NCHW");
  return unaryOp<graph::GlobalAvgPoolOp>(
      x, "global_avg_pool2d", "GlobalAvgPool2d", "GlobalAveragePool");
}

namespace {

/// Softmax-like op `Op` along `axis` (negative: from the end).
template <typename Op>
Tensor alongAxis(Tensor x, int64_t axis, const char *prefix, const char *kind) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName(prefix);
  int64_t rank = static_cast<int64_t>(x.shape().size());
  if (axis < -rank || axis >= rank)
    throw Error(name + " (" + kind + "): axis " + std::to_string(axis) +
                " is outside a tensor of rank " + std::to_string(rank));
  Value v =
      s.build<Op>(name, kind, TensorAccess::value(x),
                  s.builder.getI64IntegerAttr(axis < 0 ? axis + rank : axis));
  setAttr(s.onnxNode(kind, name, {s.nameOf(x)}), "axis", axis);
  return result(x, v, name, kind);
}

} // namespace

Tensor softmax(Tensor x, int64_t axis) {
  return alongAxis<graph::SoftmaxOp>(x, axis, "softmax", "Softmax");
}

Tensor log_softmax(Tensor x, int64_t axis) {
  return alongAxis<graph::LogSoftmaxOp>(x, axis, "log_softmax", "LogSoftmax");
}

Tensor flatten(Tensor x) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName("flatten");
  const std::vector<int64_t> &shape = x.shape();
  if (shape.empty())
    throw Error(name + " (Flatten): a scalar has no batch dim");
  int64_t rest = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    rest *= shape[d];
  Value v = s.build<graph::ReshapeOp>(
      name, "Flatten", TensorAccess::value(x),
      s.builder.getDenseI64ArrayAttr({shape[0], rest}));
  setAttr(s.onnxNode("Flatten", name, {s.nameOf(x)}), "axis", int64_t(1));
  return result(x, v, name, "Flatten");
}

Tensor operator+(Tensor a, Tensor b) {
  return binaryOp<graph::AddOp>(a, b, "add", "Add");
}

Tensor operator-(Tensor a, Tensor b) {
  return binaryOp<graph::SubOp>(a, b, "sub", "Sub");
}

Tensor operator*(Tensor a, Tensor b) {
  return binaryOp<graph::MulOp>(a, b, "mul", "Mul");
}

Tensor operator/(Tensor a, Tensor b) {
  return binaryOp<graph::DivOp>(a, b, "div", "Div");
}

Tensor matmul(Tensor a, Tensor b) {
  Model::Impl &s = TensorAccess::impl(a);
  if (&TensorAccess::impl(b) != &s)
    throw Error("matmul: the tensors belong to different models");
  std::string name = s.autoName("matmul");
  Value v = s.build<graph::MatmulOp>(
      name, "MatMul", TensorAccess::value(a), TensorAccess::value(b),
      s.builder.getBoolAttr(false), s.builder.getBoolAttr(false));
  s.onnxNode("MatMul", name, {s.nameOf(a), s.nameOf(b)});
  return result(a, v, name, "MatMul");
}

namespace {

/// A square pooling window over an NCHW tensor: graph op `Op` with `extra`
/// attributes after the common ones; `stride` 0 means the kernel size.
template <typename Op, typename... Extra>
Tensor pool2d(Tensor x, const std::string &prefix, const std::string &kind,
              const char *onnxType, int64_t kernel, int64_t stride,
              int64_t padding, Extra... extra) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName(prefix);
  if (x.shape().size() != 4)
    throw Error(name + " (" + kind + "): input " + shapeText(x.shape()) +
                " is not NCHW");
  if (kernel < 1 || stride < 0 || padding < 0 || padding * 2 > kernel)
    throw Error(name + " (" + kind + "): kernel " + std::to_string(kernel) +
                ", stride " + std::to_string(stride) + ", padding " +
                std::to_string(padding) + " are not a valid window");
  int64_t step = stride == 0 ? kernel : stride;
  auto &b = s.builder;
  Value v = s.build<Op>(
      name, kind, TensorAccess::value(x),
      b.getDenseI64ArrayAttr({kernel, kernel}),
      b.getDenseI64ArrayAttr({step, step}),
      b.getDenseI64ArrayAttr({padding, padding, padding, padding}),
      b.getDenseI64ArrayAttr({1, 1}), b.getBoolAttr(false), extra...);
  onnx::NodeProto &n = s.onnxNode(onnxType, name, {s.nameOf(x)});
  setAttr(n, "kernel_shape", {kernel, kernel});
  setAttr(n, "strides", {step, step});
  setAttr(n, "pads", {padding, padding, padding, padding});
  if (std::string(onnxType) == "AveragePool")
    setAttr(n, "count_include_pad", int64_t(1));
  return result(x, v, name, kind);
}

} // namespace

Tensor max_pool2d(Tensor x, int64_t kernel, int64_t stride, int64_t padding) {
  return pool2d<graph::MaxPool2dOp>(x, "max_pool2d", "MaxPool2d", "MaxPool",
                                    kernel, stride, padding);
}

Tensor avg_pool2d(Tensor x, int64_t kernel, int64_t stride, int64_t padding) {
  // PyTorch's default: padding counts in the divisor.
  BoolAttr countIncludePad = TensorAccess::impl(x).builder.getBoolAttr(true);
  return pool2d<graph::AvgPool2dOp>(x, "avg_pool2d", "AvgPool2d", "AveragePool",
                                    kernel, stride, padding, countIncludePad);
}

Tensor reshape(Tensor x, std::vector<int64_t> shape) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName("reshape");
  int64_t total = 1, known = 1, unknown = -1;
  for (int64_t d : x.shape())
    total *= d;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && unknown < 0) {
      unknown = static_cast<int64_t>(i);
      continue;
    }
    if (shape[i] < 0)
      throw Error(name + " (Reshape): " + shapeText(shape) +
                  " has a negative dim other than one -1");
    known *= shape[i];
  }
  if (unknown >= 0 && known > 0 && total % known == 0)
    shape[unknown] = total / known;
  Value v = s.build<graph::ReshapeOp>(name, "Reshape", TensorAccess::value(x),
                                      s.builder.getDenseI64ArrayAttr(shape));
  s.onnxIntConstant(name + ".shape", shape,
                    {static_cast<int64_t>(shape.size())});
  s.onnxNode("Reshape", name, {s.nameOf(x), name + ".shape"});
  return result(x, v, name, "Reshape");
}

Tensor transpose(Tensor x, std::vector<int64_t> perm) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName("transpose");
  Value v =
      s.build<graph::TransposeOp>(name, "Transpose", TensorAccess::value(x),
                                  s.builder.getDenseI64ArrayAttr(perm));
  setAttr(s.onnxNode("Transpose", name, {s.nameOf(x)}), "perm", perm);
  return result(x, v, name, "Transpose");
}

Tensor concat(const std::vector<Tensor> &xs, int64_t axis) {
  if (xs.empty())
    throw Error("concat: no tensors to join");
  Model::Impl &s = TensorAccess::impl(xs.front());
  std::string name = s.autoName("concat");
  SmallVector<Value> values;
  for (const Tensor &x : xs) {
    if (&TensorAccess::impl(x) != &s)
      throw Error(name + " (Concat): the tensors belong to different models");
    values.push_back(TensorAccess::value(x));
  }
  int64_t rank = static_cast<int64_t>(xs.front().shape().size());
  if (axis < -rank || axis >= rank)
    throw Error(name + " (Concat): axis " + std::to_string(axis) +
                " is outside a tensor of rank " + std::to_string(rank));
  Value v = s.build<graph::ConcatOp>(
      name, "Concat", values,
      s.builder.getI64IntegerAttr(axis < 0 ? axis + rank : axis));
  std::vector<std::string> inputs;
  for (const Tensor &x : xs)
    inputs.push_back(s.nameOf(x));
  setAttr(s.onnxNode("Concat", name, inputs), "axis", axis);
  return result(xs.front(), v, name, "Concat");
}

std::vector<Tensor> split(Tensor x, const std::vector<int64_t> &sizes,
                          int64_t axis) {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  std::string name = s.autoName("split");
  int64_t rank = static_cast<int64_t>(x.shape().size());
  if (axis < -rank || axis >= rank)
    throw Error(name + " (Split): axis " + std::to_string(axis) +
                " is outside a tensor of rank " + std::to_string(rank));
  int64_t dim = x.shape()[axis < 0 ? axis + rank : axis], total = 0;
  bool positive = !sizes.empty();
  for (int64_t size : sizes) {
    positive = positive && size >= 1;
    total += size;
  }
  if (!positive || total != dim)
    throw Error(name + " (Split): sizes " + shapeText(sizes) +
                " are not positive or do not add up to " + std::to_string(dim));
  std::vector<std::string> outputs;
  for (size_t i = 0; i < sizes.size(); ++i)
    outputs.push_back(name + ":" + std::to_string(i));
  onnx::NodeProto node =
      makeNode("Split", name, {s.nameOf(x), name + ".split"}, outputs);
  setAttr(node, "axis", axis);
  Value counts = s.intConstant(name + ".split", sizes,
                               {static_cast<int64_t>(sizes.size())});
  std::vector<Value> pieces =
      s.importNode(node, {TensorAccess::value(x), counts}, name, "Split");
  std::vector<Tensor> results;
  for (size_t i = 0; i < pieces.size(); ++i)
    results.push_back(result(x, pieces[i], outputs[i], "Split"));
  undo.commit();
  return results;
}

namespace {

/// Elementwise `Op` of a tensor and a float32 scalar (`scalarFirst`: the
/// scalar is the left operand).
template <typename Op>
Tensor scalarOp(Tensor x, double scalar, bool scalarFirst, const char *prefix,
                const char *kind) {
  Model::Impl &s = TensorAccess::impl(x);
  std::string name = s.autoName(prefix);
  std::string constantName = name + ".scalar";
  Value c = s.floatScalar(constantName, scalar);
  Value v = TensorAccess::value(x);
  v = scalarFirst ? s.build<Op>(name, kind, c, v, s.builder.getBoolAttr(false))
                  : s.build<Op>(name, kind, v, c, s.builder.getBoolAttr(false));
  if (scalarFirst)
    s.onnxNode(kind, name, {constantName, s.nameOf(x)});
  else
    s.onnxNode(kind, name, {s.nameOf(x), constantName});
  return result(x, v, name, kind);
}

} // namespace

Tensor operator+(Tensor a, double b) {
  return scalarOp<graph::AddOp>(a, b, false, "add", "Add");
}
Tensor operator-(Tensor a, double b) {
  return scalarOp<graph::SubOp>(a, b, false, "sub", "Sub");
}
Tensor operator*(Tensor a, double b) {
  return scalarOp<graph::MulOp>(a, b, false, "mul", "Mul");
}
Tensor operator/(Tensor a, double b) {
  return scalarOp<graph::DivOp>(a, b, false, "div", "Div");
}
Tensor operator+(double a, Tensor b) {
  return scalarOp<graph::AddOp>(b, a, true, "add", "Add");
}
Tensor operator-(double a, Tensor b) {
  return scalarOp<graph::SubOp>(b, a, true, "sub", "Sub");
}
Tensor operator*(double a, Tensor b) {
  return scalarOp<graph::MulOp>(b, a, true, "mul", "Mul");
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

std::string Layer::callName() const {
  return ++calls == 1 ? layerName : layerName + "#" + std::to_string(calls);
}

void Layer::checkOwner(Tensor x, const char *kind) const {
  if (&x.model() != owner)
    throw Error(layerName + " (" + kind +
                "): the input belongs to another model");
}

void Layer::checkInput(Tensor x, const char *kind, size_t rank,
                       const char *layout, int64_t size, const char *unit,
                       size_t dim) const {
  checkOwner(x, kind);
  std::string who = layerName + " (" + kind + "): ";
  const std::vector<int64_t> &shape = x.shape();
  if (shape.size() != rank)
    throw Error(who + "input " + shapeText(shape) + " is not " + layout);
  if (shape[dim] != size)
    throw Error(who + "input has " + std::to_string(shape[dim]) + " " + unit +
                ", the layer expects " + std::to_string(size));
}

Tensor Linear::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  const std::vector<int64_t> &shape = x.shape();
  if (shape.size() > 2 && &x.model() == owner) {
    // [..., in]: the leading dims flattened into the batch and back.
    if (shape.back() != inFeatures)
      throw Error(layerName + " (Linear): input has " +
                  std::to_string(shape.back()) +
                  " features, the layer expects " + std::to_string(inFeatures));
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < shape.size(); ++d)
      rows *= shape[d];
    std::vector<int64_t> outShape = shape;
    outShape.back() = outFeatures;
    return reshape((*this)(reshape(x, {rows, inFeatures})), outShape);
  }
  checkInput(x, "Linear", 2, "[batch, features]", inFeatures, "features");
  std::string call = callName();
  auto &b = s.builder;
  Value weight = s.parameterValue(layerName + ".weight");
  Value y =
      s.build<graph::MatmulOp>(call, "Linear", TensorAccess::value(x), weight,
                               b.getBoolAttr(false), b.getBoolAttr(true));
  if (bias)
    y = s.build<graph::AddOp>(call, "Linear", y,
                              s.parameterValue(layerName + ".bias"),
                              b.getBoolAttr(false));
  int64_t params = inFeatures * outFeatures + (bias ? outFeatures : 0);
  std::vector<std::string> inputs = {s.nameOf(x), layerName + ".weight"};
  if (bias)
    inputs.push_back(layerName + ".bias");
  setAttr(s.onnxNode("Gemm", call, inputs), "transB", int64_t(1));
  return result(x, y, call, "Linear", params);
}

namespace {

/// The input of a convolution whose padding is not zeros: padded by `pad`
/// (and the convolution's own padding becomes 0).
Tensor padForConv(Tensor x, const Conv2dOptions &options, int64_t &padding,
                  int spatial, const std::string &who) {
  if (options.paddingModeValue == PadMode::Constant || padding == 0)
    return x;
  const std::vector<int64_t> &shape = x.shape();
  if (options.paddingModeValue == PadMode::Reflect)
    for (size_t d = shape.size() - spatial; d < shape.size(); ++d)
      if (padding >= shape[d])
        throw Error(who + "reflect padding " + std::to_string(padding) +
                    " is not below the input's size " +
                    std::to_string(shape[d]));
  std::vector<int64_t> pads(2 * spatial, padding);
  padding = 0;
  return pad(x, pads, options.paddingModeValue);
}

} // namespace

Tensor Conv2d::operator()(Tensor in) const {
  Model::Impl &s = TensorAccess::impl(in);
  Model::Impl::Checkpoint undo(s);
  checkInput(in, "Conv2d", 4, "NCHW", inChannels, "channels");
  std::string call = callName();
  auto &b = s.builder;
  int64_t p = options.paddingValue, st = options.strideValue,
          d = options.dilationValue;
  Tensor x = padForConv(in, options, p, 2, layerName + " (Conv2d): ");
  Value bias =
      options.biasValue ? s.parameterValue(layerName + ".bias") : Value();
  Value y = s.build<graph::Conv2dOp>(
      call, "Conv2d", TensorAccess::value(x),
      s.parameterValue(layerName + ".weight"), bias,
      b.getDenseI64ArrayAttr({st, st}), b.getDenseI64ArrayAttr({p, p, p, p}),
      b.getDenseI64ArrayAttr({d, d}), b.getI64IntegerAttr(options.groupsValue));
  int64_t params =
      outChannels * (inChannels / options.groupsValue) * kernel * kernel +
      (options.biasValue ? outChannels : 0);
  std::vector<std::string> inputs = {s.nameOf(x), layerName + ".weight"};
  if (options.biasValue)
    inputs.push_back(layerName + ".bias");
  onnx::NodeProto &n = s.onnxNode("Conv", call, inputs);
  setAttr(n, "kernel_shape", {kernel, kernel});
  setAttr(n, "strides", {st, st});
  setAttr(n, "pads", {p, p, p, p});
  setAttr(n, "dilations", {d, d});
  setAttr(n, "group", options.groupsValue);
  undo.commit();
  return result(x, y, call, "Conv2d", params);
}

Tensor Conv1d::operator()(Tensor in) const {
  Model::Impl &s = TensorAccess::impl(in);
  Model::Impl::Checkpoint undo(s);
  checkInput(in, "Conv1d", 3, "NCL", inChannels, "channels");
  std::string call = callName();
  const Conv2dOptions &o = options;
  int64_t p = o.paddingValue;
  Tensor x = padForConv(in, o, p, 1, layerName + " (Conv1d): ");
  std::vector<std::string> inputs = {s.nameOf(x), layerName + ".weight"};
  std::vector<Value> values = {TensorAccess::value(x),
                               s.parameterValue(layerName + ".weight")};
  if (o.biasValue) {
    inputs.push_back(layerName + ".bias");
    values.push_back(s.parameterValue(layerName + ".bias"));
  }
  onnx::NodeProto node = makeNode("Conv", call, inputs, {call});
  setAttr(node, "kernel_shape", std::vector<int64_t>{kernel});
  setAttr(node, "strides", std::vector<int64_t>{o.strideValue});
  setAttr(node, "pads", {p, p});
  setAttr(node, "dilations", std::vector<int64_t>{o.dilationValue});
  setAttr(node, "group", o.groupsValue);
  Value y = s.importNode(node, values, call, "Conv1d")[0];
  int64_t params = outChannels * (inChannels / o.groupsValue) * kernel +
                   (o.biasValue ? outChannels : 0);
  undo.commit();
  return result(x, y, call, "Conv1d", params);
}

Tensor InstanceNorm2d::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  checkInput(x, "InstanceNorm2d", 4, "NCHW", channels, "channels");
  std::string call = callName();
  std::string scale = affine ? layerName + ".weight" : call + "/scale",
              shift = affine ? layerName + ".bias" : call + "/shift";
  Value scaleValue = affine
                         ? s.parameterValue(scale)
                         : s.floatConstant(scale, {channels},
                                           std::vector<float>(channels, 1.0f));
  Value shiftValue = affine
                         ? s.parameterValue(shift)
                         : s.floatConstant(shift, {channels},
                                           std::vector<float>(channels, 0.0f));
  onnx::NodeProto node = makeNode("InstanceNormalization", call,
                                  {s.nameOf(x), scale, shift}, {call});
  setAttr(node, "epsilon", static_cast<float>(eps));
  Value y = s.importNode(node, {TensorAccess::value(x), scaleValue, shiftValue},
                         call, "InstanceNorm2d")[0];
  undo.commit();
  return result(x, y, call, "InstanceNorm2d", affine ? 2 * channels : 0);
}

Tensor GroupNorm::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  checkOwner(x, "GroupNorm");
  std::string who = layerName + " (GroupNorm): ";
  std::vector<int64_t> shape = x.shape();
  if (shape.size() < 2 || shape[1] != channels)
    throw Error(who + "input " + shapeText(shape) + " does not have " +
                std::to_string(channels) + " channels in dim 1");
  std::string call = callName();
  int64_t rest = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    rest *= shape[d];
  // [N, G, C/G * positions]: ONNX's InstanceNormalization normalizes each
  // (sample, group) over the rest; opset 17 has no GroupNormalization.
  auto node = [&](const std::string &opType, const std::string &name,
                  const std::vector<std::string> &inputs,
                  const std::vector<Value> &values,
                  const std::function<void(onnx::NodeProto &)> &attrs = {},
                  const std::string &output = "") {
    return s.importOne(opType, name, inputs, values, call, "GroupNorm", attrs,
                       output);
  };
  std::string grouped = call + "/grouped", groupShape = grouped + "_shape",
              normalized = call + "/normalized", ones = call + "/ones",
              zeros = call + "/zeros", back = call + "/shape";
  Value g =
      node("Reshape", grouped, {s.nameOf(x), groupShape},
           {TensorAccess::value(x),
            s.intConstant(groupShape, {shape[0], groups, rest / groups}, {3})});
  Value n =
      node("InstanceNormalization", normalized, {grouped, ones, zeros},
           {g, s.floatConstant(ones, {groups}, std::vector<float>(groups, 1)),
            s.floatConstant(zeros, {groups}, std::vector<float>(groups, 0))},
           [&](onnx::NodeProto &nd) {
             setAttr(nd, "epsilon", static_cast<float>(eps));
           });
  std::string outName = affine ? call + "/unscaled" : call;
  Value y = node(
      "Reshape", call + "/ungrouped", {normalized, back},
      {n, s.intConstant(back, shape, {static_cast<int64_t>(shape.size())})}, {},
      outName);
  if (affine) {
    // weight and bias [C] as [C, 1, ...] against [N, C, ...].
    std::vector<int64_t> perChannel(shape.size() - 1, 1);
    perChannel[0] = channels;
    std::string channelShape = call + "/channel_shape";
    Value target = s.intConstant(channelShape, perChannel,
                                 {static_cast<int64_t>(perChannel.size())});
    Value w =
        node("Reshape", call + "/scale", {layerName + ".weight", channelShape},
             {s.parameterValue(layerName + ".weight"), target});
    Value bb =
        node("Reshape", call + "/shift", {layerName + ".bias", channelShape},
             {s.parameterValue(layerName + ".bias"), target});
    y = node("Mul", call + "/scaled", {outName, call + "/scale"}, {y, w});
    y = node("Add", call + "/shifted", {call + "/scaled", call + "/shift"},
             {y, bb}, {}, call);
  }
  undo.commit();
  return result(x, y, call, "GroupNorm", affine ? 2 * channels : 0);
}

Tensor ConvTranspose2d::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  checkInput(x, "ConvTranspose2d", 4, "NCHW", inChannels, "channels");
  std::string call = callName();
  const ConvTranspose2dOptions &o = options;
  int64_t p = o.paddingValue;
  std::vector<std::string> inputs = {s.nameOf(x), layerName + ".weight"};
  std::vector<Value> values = {TensorAccess::value(x),
                               s.parameterValue(layerName + ".weight")};
  if (o.biasValue) {
    inputs.push_back(layerName + ".bias");
    values.push_back(s.parameterValue(layerName + ".bias"));
  }
  onnx::NodeProto node = makeNode("ConvTranspose", call, inputs, {call});
  setAttr(node, "kernel_shape", {kernel, kernel});
  setAttr(node, "strides", {o.strideValue, o.strideValue});
  setAttr(node, "pads", {p, p, p, p});
  setAttr(node, "dilations", {o.dilationValue, o.dilationValue});
  setAttr(node, "output_padding", {o.outputPaddingValue, o.outputPaddingValue});
  setAttr(node, "group", o.groupsValue);
  Value y = s.importNode(node, values, call, "ConvTranspose2d")[0];
  int64_t params =
      inChannels * (outChannels / o.groupsValue) * kernel * kernel +
      (o.biasValue ? outChannels : 0);
  undo.commit();
  return result(x, y, call, "ConvTranspose2d", params);
}

namespace {

const char *cellKind(Cell cell) {
  return cell == Cell::LSTM ? "LSTM" : cell == Cell::GRU ? "GRU" : "RNN";
}

} // namespace

RecurrentOutput Recurrent::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  std::string kind = cellKind(cell);
  bool isLSTM = cell == Cell::LSTM;
  checkInput(x, kind.c_str(), 3, "[sequence, batch, features]", inputSize,
             "features", 2);
  const std::vector<int64_t> &shape = x.shape();
  std::string call = callName();
  int64_t gates = isLSTM              ? 4
                  : cell == Cell::GRU ? 3
                                      : 1,
          h = hiddenSize, dirs = bidirectional ? 2 : 1;
  // PyTorch's gate blocks in ONNX's order: LSTM i, o, f, c from i, f, g, o;
  // GRU z, r, h from r, z, n; RNN's one.
  std::vector<int64_t> blocks = isLSTM ? std::vector<int64_t>{0, 3, 1, 2}
                                : cell == Cell::GRU
                                    ? std::vector<int64_t>{1, 0, 2}
                                    : std::vector<int64_t>{0};
  std::vector<int64_t> rows;
  for (int64_t block : blocks)
    for (int64_t i = 0; i < h; ++i)
      rows.push_back(block * h + i);
  std::string order = call + "/gate_order", front = call + "/axes";
  Value orderValue =
      gates > 1 ? s.intConstant(order, rows, {gates * h}) : Value();
  Value frontValue = s.intConstant(front, {0}, {1});
  // One ONNX node whose output is named as the node.
  auto node = [&](const std::string &opType, const std::string &name,
                  const std::vector<std::string> &inputs,
                  const std::vector<Value> &values,
                  const std::function<void(onnx::NodeProto &)> &attrs = {},
                  const std::string &output = "") {
    return s.importOne(opType, name, inputs, values, call, kind, attrs, output);
  };
  auto axis0 = [](onnx::NodeProto &n) { setAttr(n, "axis", int64_t(0)); };
  // Parameter `param` with its gates in ONNX's order, named `name`.
  auto reordered = [&](const std::string &param, const std::string &name) {
    if (gates == 1)
      return std::make_pair(param, s.parameterValue(param));
    return std::make_pair(name,
                          node("Gather", name, {param, order},
                               {s.parameterValue(param), orderValue}, axis0));
  };
  // Per direction: W [1, G*H, in], R [1, G*H, H], B [1, 2*G*H] in ONNX's
  // gate order; then the directions stacked.
  std::vector<std::string> names[3];
  std::vector<Value> values[3];
  for (int64_t d = 0; d < dirs; ++d) {
    std::string suffix = d ? "_l0_reverse" : "_l0";
    for (int k = 0; k < 2; ++k) {
      std::string param =
          layerName + (k ? ".weight_hh" : ".weight_ih") + suffix;
      std::string gathered = call + "/" + (k ? "R" : "W") + suffix;
      auto [gName, g] = reordered(param, gathered + "_gates");
      names[k].push_back(gathered);
      values[k].push_back(
          node("Unsqueeze", gathered, {gName, front}, {g, frontValue}));
    }
    std::string b = call + "/B" + suffix;
    auto [iName, gi] = reordered(layerName + ".bias_ih" + suffix, b + "_ih");
    auto [hName, gh] = reordered(layerName + ".bias_hh" + suffix, b + "_hh");
    Value both = node("Concat", b + "_both", {iName, hName}, {gi, gh}, axis0);
    names[2].push_back(b);
    values[2].push_back(
        node("Unsqueeze", b, {b + "_both", front}, {both, frontValue}));
  }
  std::vector<std::string> inputs = {s.nameOf(x)};
  std::vector<Value> operands = {TensorAccess::value(x)};
  for (int k = 0; k < 3; ++k) {
    if (dirs == 1) {
      inputs.push_back(names[k][0]);
      operands.push_back(values[k][0]);
      continue;
    }
    std::string both = call + "/" + "WRB"[k];
    inputs.push_back(both);
    operands.push_back(node("Concat", both, names[k], values[k], axis0));
  }
  std::vector<std::string> outputs = {call + ":Y", call + ":h_n"};
  if (isLSTM)
    outputs.push_back(call + ":c_n");
  onnx::NodeProto rnn = makeNode(kind, call, inputs, outputs);
  setAttr(rnn, "hidden_size", h);
  setStringAttr(rnn, "direction", bidirectional ? "bidirectional" : "forward");
  if (cell == Cell::GRU)
    setAttr(rnn, "linear_before_reset", int64_t(1));
  std::vector<Value> results = s.importNode(rnn, operands, call, kind);
  // Y [T, D, N, H] -> [T, N, D * H], as PyTorch returns it.
  std::string transposed = call + "/y", target = call + "/y_shape";
  Value t = node("Transpose", transposed, {outputs[0]}, {results[0]},
                 [](onnx::NodeProto &n) {
                   setAttr(n, "perm", std::vector<int64_t>{0, 2, 1, 3});
                 });
  Value targetValue =
      s.intConstant(target, {shape[0], shape[1], dirs * h}, {3});
  Value y = node("Reshape", call + "/y_reshape", {transposed, target},
                 {t, targetValue}, {}, call);
  RecurrentOutput out;
  int64_t params = dirs * (gates * h * (inputSize + h) + 2 * gates * h);
  out.y = result(x, y, call, kind, params);
  out.h = result(x, results[1], outputs[1], kind);
  if (isLSTM)
    out.c = result(x, results[2], outputs[2], kind);
  undo.commit();
  return out;
}

Tensor MultiheadAttention::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  Model::Impl::Checkpoint undo(s);
  checkInput(x, "MultiheadAttention", 3, "[sequence, batch, embed]", embedDim,
             "features", 2);
  const std::vector<int64_t> &shape = x.shape();
  std::string call = callName();
  int64_t l = shape[0], n = shape[1], e = embedDim, heads = numHeads,
          d = e / heads;
  size_t first = s.rows.size();
  // The projections of every position at once: [L*N, 3E], PyTorch's math.
  Tensor flat = reshape(x, {l * n, e});
  Value qkv = s.build<graph::MatmulOp>(
      call, "MultiheadAttention", TensorAccess::value(flat),
      s.parameterValue(layerName + ".in_proj_weight"),
      s.builder.getBoolAttr(false), s.builder.getBoolAttr(true));
  qkv = s.build<graph::AddOp>(call, "MultiheadAttention", qkv,
                              s.parameterValue(layerName + ".in_proj_bias"),
                              s.builder.getBoolAttr(false));
  std::string projected = call + "/in_proj";
  setAttr(s.onnxNode("Gemm", projected,
                     {s.nameOf(flat), layerName + ".in_proj_weight",
                      layerName + ".in_proj_bias"}),
          "transB", int64_t(1));
  std::vector<Tensor> parts =
      split(result(x, qkv, projected, "MultiheadAttention"), {e, e, e}, 1);
  // Heads: [L, N*heads, d] with the batch and head dims together, as
  // PyTorch views them, then each head's scaled dot products.
  auto heads3 = [&](Tensor t, std::vector<int64_t> perm) {
    return transpose(reshape(t, {l, n * heads, d}), std::move(perm));
  };
  Tensor q = heads3(parts[0] / std::sqrt(static_cast<double>(d)), {1, 0, 2});
  Tensor k = heads3(parts[1], {1, 2, 0});
  Tensor v = heads3(parts[2], {1, 0, 2});
  Tensor o = matmul(softmax(matmul(q, k), -1), v); // [N*heads, L, d]
  o = reshape(transpose(o, {1, 0, 2}), {l * n, e});
  Tensor y = reshape((*outProj)(o), {l, n, e});
  // One summary row for the layer: the ops above are its inside.
  asOneRow(s, first, y, call, "MultiheadAttention", 4 * e * e + 4 * e);
  undo.commit();
  return y;
}

Tensor BatchNorm2d::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  checkInput(x, "BatchNorm2d", 4, "NCHW", channels, "channels");
  std::string call = callName();
  Value y = s.build<graph::BatchNormOp>(
      call, "BatchNorm2d", TensorAccess::value(x),
      s.parameterValue(layerName + ".weight"),
      s.parameterValue(layerName + ".bias"),
      s.parameterValue(layerName + ".running_mean"),
      s.parameterValue(layerName + ".running_var"),
      s.builder.getF32FloatAttr(static_cast<float>(eps)));
  setAttr(s.onnxNode("BatchNormalization", call,
                     {s.nameOf(x), layerName + ".weight", layerName + ".bias",
                      layerName + ".running_mean", layerName + ".running_var"}),
          "epsilon", static_cast<float>(eps));
  return result(x, y, call, "BatchNorm2d", 4 * channels);
}

Tensor LayerNorm::operator()(Tensor x) const {
  Model::Impl &s = TensorAccess::impl(x);
  checkOwner(x, "LayerNorm");
  std::string who = layerName + " (LayerNorm): ";
  const std::vector<int64_t> &shape = x.shape();
  if (shape.empty() || shape.back() != features)
    throw Error(who + "input " + shapeText(shape) + " does not end in " +
                std::to_string(features) + " features");
  std::string call = callName();
  // Three results (the output, and the mean and 1/std a gradient reads).
  Type none = s.builder.getNoneType();
  auto op = graph::LayerNormOp::create(
      s.builder, s.locOf(call), TypeRange{none, none, none},
      TensorAccess::value(x), s.parameterValue(layerName + ".weight"),
      s.parameterValue(layerName + ".bias"),
      s.builder.getI64IntegerAttr(static_cast<int64_t>(shape.size()) - 1),
      s.builder.getF32FloatAttr(static_cast<float>(eps)));
  Value y = s.inferTypes(op.getOperation(), call, "LayerNorm");
  onnx::NodeProto &n =
      s.onnxNode("LayerNormalization", call,
                 {s.nameOf(x), layerName + ".weight", layerName + ".bias"});
  setAttr(n, "axis", int64_t(-1));
  setAttr(n, "epsilon", static_cast<float>(eps));
  return result(x, y, call, "LayerNorm", 2 * features);
}

Tensor Embedding::operator()(Tensor ids) const {
  Model::Impl &s = TensorAccess::impl(ids);
  checkOwner(ids, "Embedding");
  std::string who = layerName + " (Embedding): ";
  Value idValues = TensorAccess::value(ids);
  if (!cast<RankedTensorType>(idValues.getType())
           .getElementType()
           .isInteger(64))
    throw Error(who + "the ids must be int64 (an input of type nn::i64)");
  std::string call = callName();
  // Ids are data: the generated code checks them (graph.check_indices).
  graph::CheckIndicesOp::create(
      s.builder, s.locOf(call), idValues, s.builder.getI64IntegerAttr(-num),
      s.builder.getI64IntegerAttr(num),
      s.builder.getStringAttr(who + "an id is outside [" +
                              std::to_string(-num) + ", " +
                              std::to_string(num - 1) + "]"),
      IntegerAttr());
  Value y = s.build<graph::GatherOp>(call, "Embedding",
                                     s.parameterValue(layerName + ".weight"),
                                     idValues, s.builder.getI64IntegerAttr(0));
  setAttr(s.onnxNode("Gather", call, {layerName + ".weight", s.nameOf(ids)}),
          "axis", int64_t(0));
  return result(ids, y, call, "Embedding", num * dim);
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

Model::Model(std::string name, uint64_t seed)
    : state(std::make_unique<Impl>(std::move(name), seed)) {}

Model::~Model() = default;

const std::string &Model::name() const { return state->name; }

namespace {

void claimName(Model::Impl &s, const std::string &name, const char *what) {
  if (name.empty())
    throw Error(std::string(what) + ": the name is empty");
  if (!s.names.emplace(name, 0).second)
    throw Error(std::string(what) + " '" + name +
                "': the model already has something of that name");
}

} // namespace

Tensor Model::input(const std::string &name, const TensorType &type) {
  Impl &s = *state;
  claimName(s, name, "input");
  for (int64_t d : type.shape)
    if (d < 0)
      throw Error("input '" + name + "': shape " + shapeText(type.shape) +
                  " has a negative dim");
  bool ids = type.dtype == DType::I64;
  auto tensorType = RankedTensorType::get(
      type.shape, ids ? Type(s.builder.getI64Type()) : s.builder.getF32Type());
  Value arg = s.func.getBody().front().addArgument(tensorType, s.locOf(name));
  s.inputs.push_back({name, ids ? "int64" : "float32", type.shape});
  return TensorAccess::make(this, s.add(arg, name, "Input", 0));
}

Tensor Model::constant(const std::string &name,
                       const std::vector<int64_t> &shape,
                       const std::vector<float> &values) {
  Impl &s = *state;
  claimName(s, name, "constant");
  int64_t count = 1;
  bool valid = true;
  for (int64_t d : shape) {
    valid = valid && d >= 0;
    count *= d;
  }
  if (!valid || count != static_cast<int64_t>(values.size()))
    throw Error("constant '" + name + "': shape " + shapeText(shape) +
                " does not hold " + std::to_string(values.size()) + " values");
  Value v = s.floatConstant(name, shape, values);
  return TensorAccess::make(this, s.add(v, name, "Constant", 0));
}

void Model::output(const std::string &name, Tensor value) {
  Impl &s = TensorAccess::impl(value);
  if (&s != state.get())
    throw Error("output '" + name + "': the tensor belongs to another model");
  claimName(s, name, "output");
  s.outputs.emplace_back(name, TensorAccess::value(value));
}

Linear &Model::linear(const std::string &name, int64_t in, int64_t out,
                      bool bias) {
  Impl &s = *state;
  claimName(s, name, "Linear");
  if (in < 1 || out < 1)
    throw Error(name + " (Linear): features must be >= 1, got " +
                std::to_string(in) + " in and " + std::to_string(out) + " out");
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  s.addParameter(name, "weight", {out, in}, bound);
  if (bias)
    s.addParameter(name, "bias", {out}, bound);
  return keep(new Linear(*this, name, in, out, bias));
}

namespace {

/// Claims `name` for a convolution of `kind` and adds its parameters: a
/// weight [out, in / groups, kernel x `spatial`] and a bias, uniform in
/// +-1/sqrt(fan in) as PyTorch initializes them.
void addConvParameters(Model::Impl &s, const std::string &name,
                       const char *kind, int64_t in, int64_t out,
                       int64_t kernel, int spatial,
                       const Conv2dOptions &options) {
  if (in < 1 || out < 1 || kernel < 1 || options.groupsValue < 1 ||
      in % options.groupsValue || out % options.groupsValue ||
      options.strideValue < 1 || options.dilationValue < 1 ||
      options.paddingValue < 0)
    throw Error(name + " (" + kind + "): " + std::to_string(in) + " -> " +
                std::to_string(out) + " channels, kernel " +
                std::to_string(kernel) + ", groups " +
                std::to_string(options.groupsValue) +
                " (which must divide both), stride, dilation >= 1 and "
                "padding >= 0 are required");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, kind);
  std::vector<int64_t> shape = {out, in / options.groupsValue};
  int64_t fanIn = in / options.groupsValue;
  for (int i = 0; i < spatial; ++i) {
    shape.push_back(kernel);
    fanIn *= kernel;
  }
  double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
  s.addParameter(name, "weight", shape, bound);
  if (options.biasValue)
    s.addParameter(name, "bias", {out}, bound);
}

} // namespace

Conv2d &Model::conv2d(const std::string &name, int64_t in, int64_t out,
                      int64_t kernel, Conv2dOptions options) {
  addConvParameters(*state, name, "Conv2d", in, out, kernel, 2, options);
  return keep(new Conv2d(*this, name, in, out, kernel, options));
}

Conv1d &Model::conv1d(const std::string &name, int64_t in, int64_t out,
                      int64_t kernel, Conv2dOptions options) {
  addConvParameters(*state, name, "Conv1d", in, out, kernel, 1, options);
  return keep(new Conv1d(*this, name, in, out, kernel, options));
}

Dropout &Model::dropout(const std::string &name, double p) {
  if (!(p >= 0 && p < 1))
    throw Error(name + " (Dropout): p " + std::to_string(p) +
                " is not in [0, 1)");
  claimName(*state, name, "Dropout");
  return keep(new Dropout(*this, name, p));
}

GroupNorm &Model::group_norm(const std::string &name, int64_t groups,
                             int64_t channels, double eps, bool affine) {
  Impl &s = *state;
  if (groups < 1 || channels < 1 || channels % groups || !(eps >= 0))
    throw Error(name + " (GroupNorm): " + std::to_string(channels) +
                " channels must be >= 1 and a multiple of the " +
                std::to_string(groups) + " groups, and eps >= 0");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, "GroupNorm");
  if (affine) {
    s.addParameter(name, "weight", {channels}, 0, 1.0f);
    s.addParameter(name, "bias", {channels}, 0, 0.0f);
  }
  return keep(new GroupNorm(*this, name, groups, channels, eps, affine));
}

InstanceNorm2d &Model::instance_norm2d(const std::string &name,
                                       int64_t channels, double eps,
                                       bool affine) {
  Impl &s = *state;
  if (channels < 1 || !(eps >= 0))
    throw Error(name + " (InstanceNorm2d): channels must be >= 1 and eps >= 0");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, "InstanceNorm2d");
  if (affine) {
    s.addParameter(name, "weight", {channels}, 0, 1.0f);
    s.addParameter(name, "bias", {channels}, 0, 0.0f);
  }
  return keep(new InstanceNorm2d(*this, name, channels, eps, affine));
}

ConvTranspose2d &Model::conv_transpose2d(const std::string &name, int64_t in,
                                         int64_t out, int64_t kernel,
                                         ConvTranspose2dOptions options) {
  Impl &s = *state;
  const ConvTranspose2dOptions &o = options;
  if (in < 1 || out < 1 || kernel < 1 || o.groupsValue < 1 ||
      in % o.groupsValue || out % o.groupsValue || o.strideValue < 1 ||
      o.dilationValue < 1 || o.paddingValue < 0 || o.outputPaddingValue < 0 ||
      (o.outputPaddingValue >= o.strideValue &&
       o.outputPaddingValue >= o.dilationValue))
    throw Error(name + " (ConvTranspose2d): " + std::to_string(in) + " -> " +
                std::to_string(out) + " channels, kernel " +
                std::to_string(kernel) + ", groups " +
                std::to_string(o.groupsValue) +
                " (which must divide both), stride, dilation >= 1, padding "
                ">= 0 and an output padding below the stride or the dilation "
                "are required");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, "ConvTranspose2d");
  // PyTorch's fan-in of a [in, out / groups, k, k] weight is its dim 1.
  double bound =
      1.0 /
      std::sqrt(static_cast<double>(out / o.groupsValue * kernel * kernel));
  s.addParameter(name, "weight", {in, out / o.groupsValue, kernel, kernel},
                 bound);
  if (o.biasValue)
    s.addParameter(name, "bias", {out}, bound);
  return keep(new ConvTranspose2d(*this, name, in, out, kernel, options));
}

Recurrent &Model::recurrent(const std::string &name, Cell cell, int64_t input,
                            int64_t hidden, bool bidirectional) {
  Impl &s = *state;
  const char *kind = cellKind(cell);
  if (input < 1 || hidden < 1)
    throw Error(name + " (" + kind + "): input and hidden sizes must be >= 1");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, kind);
  int64_t gates = cell == Cell::LSTM ? 4 : cell == Cell::GRU ? 3 : 1;
  double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  for (const char *suffix : {"_l0", "_l0_reverse"}) {
    if (!bidirectional && std::string(suffix) != "_l0")
      break;
    s.addParameter(name, std::string("weight_ih") + suffix,
                   {gates * hidden, input}, bound);
    s.addParameter(name, std::string("weight_hh") + suffix,
                   {gates * hidden, hidden}, bound);
    s.addParameter(name, std::string("bias_ih") + suffix, {gates * hidden},
                   bound);
    s.addParameter(name, std::string("bias_hh") + suffix, {gates * hidden},
                   bound);
  }
  return keep(new Recurrent(*this, name, cell, input, hidden, bidirectional));
}

Recurrent &Model::lstm(const std::string &name, int64_t input, int64_t hidden,
                       bool bidirectional) {
  return recurrent(name, Cell::LSTM, input, hidden, bidirectional);
}

Recurrent &Model::gru(const std::string &name, int64_t input, int64_t hidden,
                      bool bidirectional) {
  return recurrent(name, Cell::GRU, input, hidden, bidirectional);
}

Recurrent &Model::rnn(const std::string &name, int64_t input, int64_t hidden,
                      bool bidirectional) {
  return recurrent(name, Cell::RNN, input, hidden, bidirectional);
}

MultiheadAttention &Model::multihead_attention(const std::string &name,
                                               int64_t embed, int64_t heads) {
  Impl &s = *state;
  if (embed < 1 || heads < 1 || embed % heads)
    throw Error(name + " (MultiheadAttention): embed " + std::to_string(embed) +
                " must be a positive multiple of the " + std::to_string(heads) +
                " heads");
  // Named once valid: a corrected retry may use the name.
  claimName(s, name, "MultiheadAttention");
  // Glorot uniform over [3E, E] (fan in E, fan out 3E); zero biases.
  s.addParameter(name, "in_proj_weight", {3 * embed, embed},
                 std::sqrt(6.0 / static_cast<double>(4 * embed)));
  s.addParameter(name, "in_proj_bias", {3 * embed}, 0, 0.0f);
  Linear &out = linear(name + ".out_proj", embed, embed);
  set_parameter(name + ".out_proj.bias", std::vector<float>(embed, 0.0f));
  return keep(new MultiheadAttention(*this, name, embed, heads, out));
}

BatchNorm2d &Model::batch_norm2d(const std::string &name, int64_t channels,
                                 double eps) {
  Impl &s = *state;
  claimName(s, name, "BatchNorm2d");
  if (channels < 1 || !(eps >= 0))
    throw Error(name + " (BatchNorm2d): channels must be >= 1 and eps >= 0");
  s.addParameter(name, "weight", {channels}, 0, 1.0f);
  s.addParameter(name, "bias", {channels}, 0, 0.0f);
  // The running statistics are state, not trained (Keras' non-trainable).
  s.addParameter(name, "running_mean", {channels}, 0, 0.0f);
  s.parameters.back().trainable = false;
  s.addParameter(name, "running_var", {channels}, 0, 1.0f);
  s.parameters.back().trainable = false;
  return keep(new BatchNorm2d(*this, name, channels, eps));
}

LayerNorm &Model::layer_norm(const std::string &name, int64_t features,
                             double eps) {
  Impl &s = *state;
  claimName(s, name, "LayerNorm");
  if (features < 1 || !(eps >= 0))
    throw Error(name + " (LayerNorm): features must be >= 1 and eps >= 0");
  s.addParameter(name, "weight", {features}, 0, 1.0f);
  s.addParameter(name, "bias", {features}, 0, 0.0f);
  return keep(new LayerNorm(*this, name, features, eps));
}

Embedding &Model::embedding(const std::string &name, int64_t num, int64_t dim) {
  Impl &s = *state;
  claimName(s, name, "Embedding");
  if (num < 1 || dim < 1)
    throw Error(name + " (Embedding): num and dim must be >= 1");
  s.addParameter(name, "weight", {num, dim}, 0, std::nullopt,
                 /*gaussian=*/true);
  return keep(new Embedding(*this, name, num, dim));
}

void Model::set_parameter(const std::string &name,
                          const std::vector<float> &values) {
  for (Impl::Parameter &p : state->parameters) {
    if (p.name != name)
      continue;
    auto type = cast<RankedTensorType>(p.op.getType());
    if (static_cast<int64_t>(values.size()) != type.getNumElements())
      throw Error("parameter '" + name + "' " + shapeText(p.shape) + " has " +
                  std::to_string(type.getNumElements()) + " values, got " +
                  std::to_string(values.size()));
    p.op.setValueAttr(DenseElementsAttr::get(type, ArrayRef<float>(values)));
    return;
  }
  throw Error("the model has no parameter '" + name + "'");
}

namespace init {

double calculate_gain(Nonlinearity nonlinearity, double slope) {
  switch (nonlinearity) {
  case Nonlinearity::Linear:
  case Nonlinearity::Sigmoid:
    return 1;
  case Nonlinearity::Tanh:
    return 5.0 / 3.0;
  case Nonlinearity::Relu:
    return std::sqrt(2.0);
  case Nonlinearity::LeakyRelu:
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  return 1;
}

namespace {
Initializer make(Initializer::Kind kind, double a, double b) {
  Initializer i;
  i.kind = kind;
  i.a = a;
  i.b = b;
  return i;
}
} // namespace

Initializer zeros() { return constant(0); }
Initializer ones() { return constant(1); }
Initializer constant(double value) {
  return make(Initializer::Kind::Constant, value, 0);
}
Initializer uniform(double lo, double hi) {
  return make(Initializer::Kind::Uniform, lo, hi);
}
Initializer normal(double mean, double std) {
  return make(Initializer::Kind::Normal, mean, std);
}
Initializer xavier_uniform(double gain) {
  return make(Initializer::Kind::XavierUniform, gain, 0);
}
Initializer xavier_normal(double gain) {
  return make(Initializer::Kind::XavierNormal, gain, 0);
}
Initializer kaiming_uniform(double slope, FanMode mode,
                            Nonlinearity nonlinearity) {
  Initializer i = make(Initializer::Kind::KaimingUniform, 0, 0);
  i.slope = slope;
  i.mode = mode;
  i.nonlinearity = nonlinearity;
  return i;
}
Initializer kaiming_normal(double slope, FanMode mode,
                           Nonlinearity nonlinearity) {
  Initializer i = kaiming_uniform(slope, mode, nonlinearity);
  i.kind = Initializer::Kind::KaimingNormal;
  return i;
}

} // namespace init

void Model::init_parameter(const std::string &name,
                           const init::Initializer &how) {
  using Kind = init::Initializer::Kind;
  Impl &s = *state;
  auto it = llvm::find_if(
      s.parameters, [&](const Impl::Parameter &p) { return p.name == name; });
  if (it == s.parameters.end())
    throw Error("the model has no parameter '" + name + "'");
  const std::vector<int64_t> &shape = it->shape;
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  // PyTorch's fans: [out, in, kernel...].
  double fanIn = 0, fanOut = 0;
  bool fanned = how.kind != Kind::Constant && how.kind != Kind::Uniform &&
                how.kind != Kind::Normal;
  if (fanned) {
    if (shape.size() < 2)
      throw Error("parameter '" + name + "' " + shapeText(shape) +
                  ": fan in and fan out need at least 2 dims");
    double receptive = 1;
    for (size_t d = 2; d < shape.size(); ++d)
      receptive *= static_cast<double>(shape[d]);
    fanIn = static_cast<double>(shape[1]) * receptive;
    fanOut = static_cast<double>(shape[0]) * receptive;
  }
  double std = 0;
  switch (how.kind) {
  case Kind::XavierUniform:
  case Kind::XavierNormal:
    std = how.a * std::sqrt(2.0 / (fanIn + fanOut));
    break;
  case Kind::KaimingUniform:
  case Kind::KaimingNormal:
    std = init::calculate_gain(how.nonlinearity, how.slope) /
          std::sqrt(how.mode == init::FanMode::FanIn ? fanIn : fanOut);
    break;
  default:
    break;
  }
  std::vector<float> values(count);
  switch (how.kind) {
  case Kind::Constant:
    std::fill(values.begin(), values.end(), static_cast<float>(how.a));
    break;
  case Kind::Uniform:
    for (float &v : values)
      v = static_cast<float>(how.a + (how.b - how.a) * s.unit());
    break;
  case Kind::XavierUniform:
  case Kind::KaimingUniform: {
    double bound = std::sqrt(3.0) * std;
    for (float &v : values)
      v = static_cast<float>((2 * s.unit() - 1) * bound);
    break;
  }
  case Kind::Normal:
  case Kind::XavierNormal:
  case Kind::KaimingNormal: {
    double mean = how.kind == Kind::Normal ? how.a : 0;
    double scale = how.kind == Kind::Normal ? how.b : std;
    values = s.normal(count);
    for (float &v : values)
      v = static_cast<float>(mean + scale * v);
    break;
  }
  }
  auto type = cast<RankedTensorType>(it->op.getType());
  it->op.setValueAttr(DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

void Model::load_onnx(const std::string &path,
                      const std::map<std::string, std::string> &rename) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    throw Error(path + ": cannot read file: " + buffer.getError().message());
  onnx::ModelProto model;
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>((*buffer)->getBufferStart()),
      static_cast<int>(
          std::min<size_t>((*buffer)->getBufferSize(), INT32_MAX)));
  stream.SetTotalBytesLimit(INT32_MAX);
  if ((*buffer)->getBufferSize() > INT32_MAX ||
      !model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    throw Error(path + ": not a valid ONNX model (truncated or corrupt "
                       "protobuf)");
  std::map<std::string, const onnx::TensorProto *> initializers;
  for (const onnx::TensorProto &t : model.graph().initializer())
    initializers[t.name()] = &t;
  // Every value is read and checked before any parameter changes.
  std::string folder = llvm::sys::path::parent_path(path).str();
  std::vector<std::pair<Impl::Parameter *, DenseElementsAttr>> loaded;
  std::string problems;
  for (Impl::Parameter &p : state->parameters) {
    auto renamed = rename.find(p.name);
    const std::string &source =
        renamed == rename.end() ? p.name : renamed->second;
    auto it = initializers.find(source);
    std::string what = "parameter '" + p.name + "' " + shapeText(p.shape);
    if (it == initializers.end()) {
      problems += "\n  " + what + ": no initializer '" + source + "'";
      continue;
    }
    std::string message;
    FailureOr<DenseElementsAttr> attr = onnx_frontend::tensorProtoToAttr(
        &state->context, *it->second, message, folder);
    if (failed(attr)) {
      problems += "\n  " + what + ": " + message;
      continue;
    }
    auto type = cast<RankedTensorType>(attr->getType());
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    if (!type.getElementType().isF32() || shape != p.shape) {
      problems += "\n  " + what + ": initializer '" + source + "' is " +
                  (type.getElementType().isF32() ? "" : "not float32, ") +
                  shapeText(shape);
      continue;
    }
    loaded.emplace_back(&p, *attr);
  }
  for (const auto &[from, to] : rename)
    if (llvm::none_of(state->parameters, [&, &from = from](const auto &p) {
          return p.name == from;
        }))
      problems += "\n  rename: the model has no parameter '" + from + "'";
  if (!problems.empty())
    throw Error(path + ": cannot load the parameters:" + problems);
  for (auto &[p, attr] : loaded)
    p->op.setValueAttr(attr);
}

void Model::load_raw(const std::string &name, const std::string &path) {
  auto it = llvm::find_if(state->parameters, [&](const Impl::Parameter &p) {
    return p.name == name;
  });
  if (it == state->parameters.end())
    throw Error("the model has no parameter '" + name + "'");
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    throw Error(path + ": cannot read file: " + buffer.getError().message());
  auto type = cast<RankedTensorType>(it->op.getType());
  size_t bytes = static_cast<size_t>(type.getNumElements()) * sizeof(float);
  if ((*buffer)->getBufferSize() != bytes)
    throw Error(path + ": has " + std::to_string((*buffer)->getBufferSize()) +
                " bytes; parameter '" + name + "' " + shapeText(it->shape) +
                " needs " + std::to_string(bytes) + " (float32)");
  std::vector<float> values(type.getNumElements());
  const auto *data =
      reinterpret_cast<const unsigned char *>((*buffer)->getBufferStart());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<uint32_t>(data[4 * i + b]) << (8 * b);
    std::memcpy(&values[i], &bits, sizeof bits);
  }
  it->op.setValueAttr(DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

std::vector<float> Model::parameter(const std::string &name) const {
  for (Impl::Parameter &p : state->parameters)
    if (p.name == name) {
      auto attr = cast<DenseElementsAttr>(p.op.getValue());
      auto values = attr.getValues<float>();
      return std::vector<float>(values.begin(), values.end());
    }
  throw Error("the model has no parameter '" + name + "'");
}

std::vector<std::string> Model::parameter_names() const {
  std::vector<std::string> names;
  for (const Impl::Parameter &p : state->parameters)
    names.push_back(p.name);
  return names;
}

int64_t Model::parameter_count() const {
  int64_t count = 0;
  for (const Impl::Parameter &p : state->parameters) {
    int64_t n = 1;
    for (int64_t d : p.shape)
      n *= d;
    count += n;
  }
  return count;
}

int64_t Model::trainable_parameter_count() const {
  int64_t count = 0;
  for (const Impl::Parameter &p : state->parameters) {
    int64_t n = p.trainable ? 1 : 0;
    for (int64_t d : p.shape)
      n *= d;
    count += n;
  }
  return count;
}

void Model::summary(std::ostream &os) const {
  const Impl &s = *state;
  os << "Model: " << s.name << "\n";
  os << std::left << std::setw(24) << "layer" << std::setw(12) << "kind"
     << std::setw(24) << "output shape"
     << "parameters\n";
  for (const Impl::Row &row : s.rows) {
    if (row.name.empty())
      continue; // a parameter
    os << std::setw(24) << row.name << std::setw(12) << row.kind
       << std::setw(24) << shapeText(row.shape) << row.params << "\n";
  }
  os << "Total parameters: " << parameter_count() << "\n"
     << "Trainable parameters: " << trainable_parameter_count() << "\n"
     << "Non-trainable parameters: "
     << parameter_count() - trainable_parameter_count() << "\n";
  for (const auto &[name, value] : s.outputs)
    os << "output '" << name << "': " << shapeText(shapeOf(value)) << "\n";
}

std::string Model::dump(Emit stage) const {
  if (stage == Emit::Obj || stage == Emit::So)
    throw Error("dump: " + std::string(stage == Emit::Obj ? "Obj" : "So") +
                " is not text (compile() writes it)");
  llvm::SmallString<128> path;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("dlc-dsl-dump", "txt", path))
    throw Error("dump: cannot create a temporary file: " + ec.message());
  llvm::FileRemover remove(path);
  CompileOptions options;
  options.emit = stage;
  options.output = path.str().str();
  compile(options);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    throw Error("dump: cannot read " + path.str().str());
  return (*buffer)->getBuffer().str();
}

void Model::save_onnx(const std::string &path) const {
  Impl &s = *state;
  if (s.outputs.empty())
    throw Error("model '" + s.name + "' has no output");
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("dlc C++ DSL");
  model.set_producer_version(kVersion);
  onnx::OperatorSetIdProto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name(s.name);
  auto describe = [](onnx::ValueInfoProto *info, const std::string &name,
                     bool ids, const std::vector<int64_t> &shape) {
    info->set_name(name);
    onnx::TypeProto::Tensor *t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(ids ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  for (const auto &in : s.inputs)
    describe(g->add_input(), in.name, in.dtype == "int64", in.shape);
  for (Impl::Parameter &p : s.parameters) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(p.name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : p.shape)
      t->add_dims(d);
    std::string raw;
    for (float v :
         cast<DenseElementsAttr>(p.op.getValue()).getValues<float>()) {
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      for (int b = 0; b < 4; ++b)
        raw.push_back(static_cast<char>(bits >> (8 * b)));
    }
    t->set_raw_data(raw);
  }
  for (const onnx::TensorProto &c : s.onnxConstants)
    *g->add_initializer() = c;
  for (const onnx::NodeProto &n : s.onnxNodes)
    *g->add_node() = n;
  // Graph outputs carry the names given to Model::output: an Identity each.
  for (const auto &[name, value] : s.outputs) {
    for (const auto &[v, taken] : s.valueNames)
      if (taken == name)
        throw Error("save_onnx: output '" + name +
                    "' has the name of an op or parameter of the model");
    onnx::NodeProto *n = g->add_node();
    n->set_op_type("Identity");
    n->set_name(name);
    n->add_input(s.valueNames[value]);
    n->add_output(name);
    auto type = cast<RankedTensorType>(value.getType());
    describe(g->add_output(), name, type.getElementType().isInteger(64),
             shapeOf(value));
  }
  std::ofstream out(path, std::ios::binary);
  if (!out || !model.SerializeToOstream(&out) || !out.flush())
    throw Error(path + ": cannot write the model");
}

Optimizer SGD(double lr, double momentum, bool nesterov, double weightDecay) {
  Optimizer o;
  o.name = "sgd";
  o.lr = lr;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.weightDecay = weightDecay;
  return o;
}

Optimizer Adam(double lr, double beta1, double beta2, double eps,
               double weightDecay) {
  Optimizer o;
  o.name = "adam";
  o.lr = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weightDecay = weightDecay;
  return o;
}

Optimizer AdamW(double lr, double weightDecay, double beta1, double beta2,
                double eps) {
  Optimizer o = Adam(lr, beta1, beta2, eps, weightDecay);
  o.name = "adamw";
  return o;
}

Optimizer RMSprop(double lr, double alpha, double eps, double weightDecay) {
  Optimizer o = Adam(lr, 0.9, 0.999, eps, weightDecay);
  o.name = "rmsprop";
  o.alpha = alpha;
  return o;
}

Optimizer Adagrad(double lr, double eps, double weightDecay) {
  Optimizer o = Adam(lr, 0.9, 0.999, eps, weightDecay);
  o.name = "adagrad";
  return o;
}

namespace {

/// The compiler's training settings for `train`, checked as torch.optim
/// checks its arguments.
dlc::TrainSettings trainSettings(const TrainOptions &train) {
  const Optimizer &o = train.opt;
  auto require = [&](bool ok, const std::string &what) {
    if (!ok)
      throw Error("optimizer " + o.name + ": " + what);
  };
  require(o.name == "sgd" || o.name == "adam" || o.name == "adamw" ||
              o.name == "rmsprop" || o.name == "adagrad",
          "unknown (sgd, adam, adamw, rmsprop, adagrad)");
  require(std::isfinite(o.lr) && o.lr >= 0, "lr must be >= 0");
  require(o.momentum >= 0, "momentum must be >= 0");
  require(!o.nesterov || o.momentum > 0, "nesterov needs a momentum");
  require(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
          "betas must be in [0, 1)");
  require(o.eps >= 0, "eps must be >= 0");
  require(o.weightDecay >= 0, "weight decay must be >= 0");
  require(o.alpha >= 0, "alpha must be >= 0");
  if (train.huberDelta <= 0 || train.clipNorm < 0 || train.clipValue < 0)
    throw Error("training options: delta must be > 0, clipping >= 0");
  dlc::TrainSettings t;
  t.optimizer = o.name;
  t.lr = o.lr;
  t.momentum = o.momentum;
  t.nesterov = o.nesterov;
  t.beta1 = o.beta1;
  t.beta2 = o.beta2;
  if (o.name != "sgd")
    t.eps = o.eps;
  t.weightDecay = o.weightDecay;
  t.alpha = o.alpha;
  t.huberDelta = train.huberDelta;
  t.clipGradNorm = train.clipNorm;
  t.clipGradValue = train.clipValue;
  static const std::map<Loss, std::string> losses = {
      {Loss::Model, ""},
      {Loss::MSE, "mse"},
      {Loss::L1, "l1"},
      {Loss::Huber, "huber"},
      {Loss::BCE, "bce"},
      {Loss::BCEWithLogits, "bce-with-logits"},
      {Loss::CrossEntropy, "cross-entropy"},
      {Loss::NLL, "nll"},
      {Loss::KLDiv, "kl-div"},
      {Loss::Hinge, "hinge"}};
  t.loss = losses.at(train.lossKind);
  return t;
}

} // namespace

/// For a training step: each trained parameter becomes an argument of
/// `func` after the inputs, marked `graph.parameter` with its name, as the
/// ONNX importer makes initializers (the compiler's training pipeline
/// differentiates with respect to them).
std::vector<std::pair<std::string, Value>>
Model::Impl::trainingArguments(Impl &s, func::FuncOp func, IRMapping &mapping,
                               onnx_frontend::ModelSignature &signature) {
  llvm::DenseMap<Value, const Parameter *> parameterOf;
  for (const Parameter &p : s.parameters)
    parameterOf[mapping.lookup(p.op->getResult(0))] = &p;
  // Batch norms as a training step has them: ONNX's BatchNormalization
  // with training_mode=1 through the importer (batch statistics; the
  // running ones updated with PyTorch's momentum 0.1 and unbiased variance;
  // the running ones again in the library's inference).
  std::map<std::string, Value> updates;
  SmallVector<graph::BatchNormOp> norms;
  func.walk([&](graph::BatchNormOp op) { norms.push_back(op); });
  for (graph::BatchNormOp op : norms) {
    const Parameter *mean = parameterOf.lookup(op.getMean()),
                    *var = parameterOf.lookup(op.getVariance());
    if (!mean || !var)
      continue;
    std::string layer = mean->name.substr(0, mean->name.rfind('.'));
    if (updates.count(mean->name))
      throw Error(layer + " (BatchNorm2d): a training step cannot apply a "
                          "batch norm twice (PyTorch would update its running "
                          "statistics twice); use a layer per application");
    OpBuilder b(op);
    onnx_frontend::ImportContext ctx(b, "", /*opset=*/17);
    ctx.training = true;
    ctx.foldConstants = false;
    ctx.stateBuffers = {mean->name, var->name};
    std::vector<std::string> inputs = {layer + "/x", layer + ".weight",
                                       layer + ".bias", mean->name, var->name};
    for (auto [name, value] : llvm::zip(inputs, op->getOperands()))
      ctx.define(name, value);
    onnx::NodeProto node =
        makeNode("BatchNormalization", layer, inputs, {layer + "/y"});
    setAttr(node, "epsilon", op.getEpsilon().convertToFloat());
    setAttr(node, "momentum", 0.9f);
    setAttr(node, "training_mode", int64_t(1));
    if (failed(onnx_frontend::importNode(ctx, node, 0)))
      throw Error(layer + " (BatchNorm2d): " + importErrors(ctx, node, 0));
    op.getResult().replaceAllUsesWith(ctx.lookup(layer + "/y"));
    op.erase();
    updates[mean->name] = ctx.bufferUpdates[mean->name];
    updates[var->name] = ctx.bufferUpdates[var->name];
  }
  Block &body = func.getBody().front();
  std::vector<std::pair<std::string, Value>> bufferUpdates;
  for (const Parameter &p : s.parameters) {
    auto constant = cast<arith::ConstantOp>(
        mapping.lookup(p.op->getResult(0)).getDefiningOp());
    BlockArgument arg = body.addArgument(constant.getType(), constant.getLoc());
    constant.getResult().replaceAllUsesWith(arg);
    bool buffer = !p.trainable;
    if (buffer) // a layer never applied keeps its statistics
      bufferUpdates.emplace_back(p.name, updates[p.name] ? updates[p.name]
                                                         : Value(arg));
    // The attribute needs the argument in the function's type.
    func.setType(FunctionType::get(func.getContext(), body.getArgumentTypes(),
                                   func.getFunctionType().getResults()));
    func.setArgAttr(arg.getArgNumber(),
                    buffer ? "graph.buffer" : "graph.parameter",
                    StringAttr::get(func.getContext(), p.name));
    auto dense = cast<DenseElementsAttr>(constant.getValue());
    std::vector<uint8_t> data;
    for (float v : dense.getValues<float>()) {
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      for (int b = 0; b < 4; ++b)
        data.push_back(static_cast<uint8_t>(bits >> (8 * b)));
    }
    signature.parameters.push_back(
        {{p.name, "float32", p.shape}, std::move(data), buffer});
    constant.erase();
  }
  return bufferUpdates;
}

void Model::compile(const CompileOptions &options) const {
  Impl &s = *state;
  if (s.outputs.empty())
    throw Error("model '" + s.name + "' has no output");
  // The pipeline rewrites the module it is given: it gets a copy.
  IRMapping mapping;
  OwningOpRef<ModuleOp> copy(
      cast<ModuleOp>(s.module->getOperation()->clone(mapping)));
  auto func = copy->lookupSymbol<func::FuncOp>("forward");
  OpBuilder b(func.getBody().front().getParentOp()->getContext());
  b.setInsertionPointToEnd(&func.getBody().front());
  SmallVector<Value> results;
  onnx_frontend::ModelSignature signature;
  signature.producer = "dlc C++ DSL";
  signature.inputs = s.inputs;
  for (const auto &[name, value] : s.outputs) {
    results.push_back(mapping.lookup(value));
    bool ids =
        cast<RankedTensorType>(value.getType()).getElementType().isInteger(64);
    signature.outputs.push_back(
        {name, ids ? "int64" : "float32", shapeOf(value)});
  }
  // Returned first: the training rewrite below replaces uses (an output may
  // be a batch norm's).
  auto ret = func::ReturnOp::create(b, func.getLoc(), results);
  std::vector<std::pair<std::string, Value>> updates;
  if (options.train)
    updates = Impl::trainingArguments(s, func, mapping, signature);
  // Training: the buffers' updated values are results after the outputs.
  for (const auto &[name, value] : updates)
    ret->insertOperands(ret->getNumOperands(), value);
  func.setType(b.getFunctionType(func.getBody().front().getArgumentTypes(),
                                 ret->getOperandTypes()));
  for (size_t i = 0; i < updates.size(); ++i)
    func.setResultAttr(s.outputs.size() + i, "graph.buffer_update",
                       b.getStringAttr(updates[i].first));

  // Diagnostics name the layer (the ops' locations).
  std::string diagnostics;
  ScopedDiagnosticHandler handler(copy->getContext(), [&](Diagnostic &diag) {
    std::string where;
    if (auto named = dyn_cast<NameLoc>(diag.getLocation()))
      where = named.getName().str() + ": ";
    diagnostics += where + diag.str() + "\n";
    return success();
  });
  if (failed(verify(*copy)))
    throw Error("model '" + s.name + "' does not verify:\n" + diagnostics);
  dlc::CompileOptions compile;
  static const std::map<Emit, dlc::Emit> emits = {
      {Emit::Graph, dlc::Emit::Graph},   {Emit::Kernel, dlc::Emit::Kernel},
      {Emit::Linalg, dlc::Emit::Linalg}, {Emit::LLVM, dlc::Emit::LLVM},
      {Emit::Obj, dlc::Emit::Obj},       {Emit::So, dlc::Emit::So}};
  compile.emit = emits.at(options.emit);
  compile.output = options.output;
  compile.symbolPrefix = options.symbolPrefix;
  compile.target = {"", options.cpu, options.features};
  if (options.train)
    compile.training = trainSettings(*options.train);
  std::string error;
  if (failed(compileModule(*copy, signature, s.name, compile, error)))
    throw Error(error + (diagnostics.empty() ? "" : "\n" + diagnostics));
  // The weights the compile made (folded, packed) are the copy's: they go
  // now rather than with the model's context.
  copy = nullptr;
  graph::releaseUnusedWeights(*s.module);
}

} // namespace dlc::dsl
