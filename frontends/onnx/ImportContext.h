//===- ImportContext.h - state shared by the op importers -------*- C++ -*-===//

#ifndef DLC_FRONTENDS_ONNX_IMPORTCONTEXT_H
#define DLC_FRONTENDS_ONNX_IMPORTCONTEXT_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace dlc::onnx_frontend {

/// What an ONNX value is: a tensor, a sequence of tensors, or an optional
/// tensor or sequence.
enum class ValueKind { Tensor, Sequence, OptionalTensor, OptionalSequence };

/// An ONNX value as the import holds it: a tensor, or the tensors a
/// sequence or optional is made of, in the order and with the types of
/// TensorSignature::part: a sequence [values tensor<?xT>, table
/// tensor<?x10xi64>] (graph.runtime_sequence_* ops), an optional tensor
/// [present tensor<i1>, tensor of dynamic dims], an optional sequence
/// [present, values, table].
struct OnnxValue {
  OnnxValue() = default;
  OnnxValue(ValueKind kind, llvm::ArrayRef<mlir::Value> parts)
      : kind(kind), parts(parts.begin(), parts.end()) {}
  ValueKind kind = ValueKind::Tensor;
  llvm::SmallVector<mlir::Value, 3> parts;
  /// Of a sequence: the rank all its tensors have, kNoTensors while it is
  /// known to be empty, kMixedRanks when not known at compile time.
  static constexpr int64_t kNoTensors = -2, kMixedRanks = -1;
  int64_t elementRank = kMixedRanks;
  /// Of a sequence whose tensors are known at compile time (made by
  /// SequenceConstruct or SplitToSequence, changed at constant positions):
  /// those tensors, so that SequenceAt, SequenceLength and
  /// ConcatFromSequence on it need no run-time table.
  std::optional<llvm::SmallVector<mlir::Value, 4>> tensors;
  /// The element rank of a sequence with one more tensor of `rank`.
  static int64_t joinRanks(int64_t a, int64_t b) {
    return a == kNoTensors ? b : b == kNoTensors ? a : a == b ? a : kMixedRanks;
  }
  static unsigned numParts(ValueKind kind) {
    return kind == ValueKind::Tensor             ? 1
           : kind == ValueKind::OptionalSequence ? 3
                                                 : 2;
  }
  bool isOptional() const {
    return kind == ValueKind::OptionalTensor ||
           kind == ValueKind::OptionalSequence;
  }
  /// The sequence's values and table (of a sequence or optional sequence).
  mlir::Value values() const { return parts[parts.size() - 2]; }
  mlir::Value table() const { return parts.back(); }
};

/// "a tensor", "a sequence", "an optional tensor", "an optional sequence".
const char *valueKindName(ValueKind kind);

/// An ONNX TypeProto as the import takes it: the kind, the tensors' ONNX
/// dtype, and their shape when declared (null otherwise).
struct ValueTypeInfo {
  ValueKind kind = ValueKind::Tensor;
  int32_t dtype = 0;
  const onnx::TensorShapeProto *shape = nullptr;
  int64_t rank() const { return shape ? shape->dim_size() : -1; }
};
/// Fails (with `why`) for maps, sequences of sequences and other types dlc
/// does not take.
std::optional<ValueTypeInfo> valueTypeOf(const onnx::TypeProto &type,
                                         std::string &why);

/// Thrown-free error reporting: an importer returns failure after calling
/// ImportContext::error, which records a message naming the node.
class ImportContext {
public:
  ImportContext(mlir::OpBuilder &builder, std::string modelPath, int opset)
      : builder(builder), modelPath(std::move(modelPath)), opset(opset) {}

  mlir::OpBuilder &builder;
  std::string modelPath;
  int opset;
  /// The folder of the model file, where external data lives.
  std::string modelDir() const;

  // --- values ---------------------------------------------------------------
  void define(const std::string &name, mlir::Value value) {
    // The first definition in a scope remembers what it shadows.
    if (!scopes.empty())
      scopes.back().try_emplace(name, lookup(name), lookupComposite(name));
    values[name] = value;
    composites.erase(name);
  }
  /// Defines a value of any kind (tensors through define()).
  void defineValue(const std::string &name, const OnnxValue &value) {
    if (value.kind == ValueKind::Tensor)
      return define(name, value.parts.front());
    if (!scopes.empty())
      scopes.back().try_emplace(name, lookup(name), lookupComposite(name));
    values.erase(name);
    composites[name] = value;
  }
  /// The value of a name of any kind, or nullopt if it was never defined.
  std::optional<OnnxValue> lookupValue(const std::string &name) const {
    if (mlir::Value v = lookup(name))
      return OnnxValue{ValueKind::Tensor, {v}};
    return lookupComposite(name);
  }
  /// While alive, names defined (a subgraph's inputs, initializers and
  /// nodes' outputs) shadow outer ones; afterwards the outer ones are back
  /// and the subgraph's own are gone.
  class NameScope {
  public:
    explicit NameScope(ImportContext &ctx) : ctx(ctx) {
      ctx.scopes.emplace_back();
    }
    ~NameScope() {
      for (auto &[name, previous] : ctx.scopes.back()) {
        auto &[value, composite] = previous;
        if (value)
          ctx.values[name] = value;
        else
          ctx.values.erase(name);
        if (composite)
          ctx.composites[name] = *composite;
        else
          ctx.composites.erase(name);
      }
      ctx.scopes.pop_back();
    }
    NameScope(const NameScope &) = delete;
    NameScope &operator=(const NameScope &) = delete;

  private:
    ImportContext &ctx;
  };
  /// The value of a tensor name, or null if it was never defined.
  mlir::Value lookup(const std::string &name) const {
    auto it = values.find(name);
    return it == values.end() ? mlir::Value() : it->second;
  }

  // --- the node being imported ------------------------------------------------
  const onnx::NodeProto *node = nullptr;
  int nodeIndex = 0; ///< position in the graph, for unnamed nodes
  mlir::Location loc() const;

  /// Input `i` of the current node; null (with an error) if it is missing.
  mlir::Value input(int i);
  /// Input `i` if the node has it and its name is not empty.
  std::optional<mlir::Value> optionalInput(int i);
  /// The ranked tensor type of a value.
  static mlir::RankedTensorType typeOf(mlir::Value v) {
    return mlir::cast<mlir::RankedTensorType>(v.getType());
  }
  /// Sets output `i` of the current node.
  void setOutput(int i, mlir::Value value);
  /// Input `i` of any kind; nullopt (with an error) if it is missing.
  std::optional<OnnxValue> valueInput(int i);
  /// Input `i` as a sequence; nullopt (with an error) for other kinds.
  std::optional<OnnxValue> sequenceInput(int i);
  /// Sets output `i` of the current node to a value of any kind.
  void setValueOutput(int i, const OnnxValue &value);

  /// Input `i` as compile-time constant integers (shapes, pads, axes).
  std::optional<llvm::SmallVector<int64_t>> constantInts(int i);
  /// Input `i` as a compile-time constant scalar (a float, or an integer
  /// converted: OneHot's depth may be either).
  std::optional<double> constantFloat(int i);

  /// Builds graph op `Op` with its inferred result type. Shape errors (bad
  /// user input) are recorded against the node and give a null value; the
  /// generated inferring builders would abort instead.
  template <typename Op, typename... Args>
  mlir::Value build(Args &&...args) {
    auto op = Op::create(builder, loc(), builder.getNoneType(),
                         std::forward<Args>(args)...);
    if (mlir::failed(inferResultTypes(op)))
      return {};
    return foldConstants ? foldIfConstant(op) : op->getResult(0);
  }
  /// Whether build() folds ops of constants at once. The C++ DSL turns it
  /// off: its parameters are constants that it replaces later (loaded
  /// values, training arguments), so nothing may be computed from them yet.
  bool foldConstants = true;
  /// An op whose operands are constants becomes a constant (PyTorch's shape
  /// arithmetic on static shapes disappears here); otherwise the op's result.
  mlir::Value foldIfConstant(mlir::Operation *op);

  /// Values of unsigned ONNX dtypes: dlc's integer arithmetic is signed, so
  /// ops that depend on signedness reject them instead of computing wrongly.
  llvm::DenseSet<mlir::Value> unsignedValues;

  /// Training: initializers that are state a node updates (BatchNormalization's
  /// running statistics in training mode), and the updated value of each, by
  /// initializer name, as the importer of that node sets it.
  std::set<std::string> stateBuffers;
  /// Compiling a training step (dlc --train): where ONNX and PyTorch differ,
  /// PyTorch's convention (BatchNorm's running variance is unbiased).
  bool training = false;
  std::map<std::string, mlir::Value> bufferUpdates;
  /// Graph inputs used as class indices, by name: the number of classes and
  /// the ignored index (see TensorSignature::indexLimit).
  std::map<std::string, std::pair<int64_t, std::optional<int64_t>>> indexInputs;
  mlir::LogicalResult rejectUnsigned(mlir::Value v, llvm::StringRef what);
  /// Sets an op's result types from its InferTypeOpInterface; on failure
  /// records the reason, erases the op and fails.
  mlir::LogicalResult inferResultTypes(mlir::Operation *op);

  /// Fails (with an error naming `what`) when `shape` has a negative dim or
  /// more than kMaxTensorElements elements.
  mlir::LogicalResult checkShape(llvm::ArrayRef<int64_t> shape,
                                 llvm::StringRef what);

  /// graph.unary `fn` (one without parameters: "sqrt", "neg", "erf", ...)
  /// of `v`; null when `v` is (so that chains of builds stop at an error).
  mlir::Value unary(mlir::Value v, llvm::StringRef fn);

  /// A rank-0 constant of element type `elem`.
  mlir::Value scalar(mlir::Type elem, double value);
  /// Fails (with an error naming the input) unless `v` holds floats.
  mlir::LogicalResult requireFloat(mlir::Value v, llvm::StringRef what);

  /// Whether input `i` is present and not a compile-time constant (a graph
  /// input, or computed from data) and may decide the node's output shapes
  /// at run time: its importer then builds a graph.runtime_* op, whose
  /// results' dims get symbols of their own (propagateDimSymbols).
  bool isRuntimeValue(int i);
  /// Input `i` as the int64 operand of a graph.runtime_* op (int32 widened);
  /// null, with an error naming the input, for other dtypes.
  mlir::Value runtimeInts(int i);
  /// "node 'y' (Reshape): <what>": the message a graph.runtime_* op reports
  /// when its operands' values are invalid.
  mlir::StringAttr runtimeMessage(const llvm::Twine &what);
  /// Fails the call with runtimeMessage(what) where the i1 `condition` holds
  /// (a graph.check_indices of it); the code after it still runs.
  void reportIf(mlir::Value condition, const llvm::Twine &what);

  // --- dims known only at run time -------------------------------------------
  /// Per value with dims known only at run time: a symbol per dim (-1 for
  /// static dims). Equal symbols are one size: one per dim_param name, one
  /// per unnamed input dim, one per dynamic dim of a result whose size its
  /// op decides from values (graph.runtime_* ops, scan outputs).
  llvm::DenseMap<mlir::Value, llvm::SmallVector<int64_t>> dimSymbols;
  /// Each symbol's dim_param ("" for an unnamed dim and an op's result).
  std::vector<std::string> dimSymbolNames;
  /// Where each symbol's size is read at run time: a graph input or the
  /// op's result, and its dim.
  std::vector<std::pair<mlir::Value, int64_t>> dimSymbolSources;
  /// For the symbols of op results: the graph input among the op's operands
  /// that decides the size ("" if none), which --freeze-input can make a
  /// constant.
  std::vector<std::string> dimSymbolDeciders;
  /// A new symbol for dim `dim` of `source`.
  int64_t newDimSymbol(mlir::Value source, int64_t dim, llvm::StringRef name,
                       llvm::StringRef decider = "");
  /// An element of an int64 shape value: a constant, or (symbol >= 0) the
  /// size of a dim known only at run time.
  struct ShapeElement {
    int64_t value = 0;
    int64_t symbol = -1;
  };
  /// Shape values computed from dims known only at run time: Shape of such
  /// a tensor, and what Gather, Slice, Squeeze, Unsqueeze, Concat, Cast and
  /// Identity make of it. The importer follows their elements so that
  /// Reshape and ConstantOfShape give their results symbolic dims.
  llvm::DenseMap<mlir::Value, llvm::SmallVector<ShapeElement>> shapeValues;

  /// What the current node's operands are imported as instead of the values
  /// of their names (set by checkDynamicOperands, by input name).
  std::vector<std::pair<std::string, mlir::Value>> operandOverrides;

  // --- attributes -------------------------------------------------------------
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t fallback) const;
  float floatAttr(llvm::StringRef name, float fallback) const;
  std::string stringAttr(llvm::StringRef name, llvm::StringRef fallback) const;
  llvm::SmallVector<int64_t> intsAttr(llvm::StringRef name) const;
  /// A per-spatial-dim attribute (strides, dilations...), `fallback` for each
  /// of `dims` dims when absent.
  llvm::SmallVector<int64_t> spatialAttr(llvm::StringRef name, size_t dims,
                                         int64_t fallback) const;

  // --- errors -----------------------------------------------------------------
  /// Records "node 'name' (OpType): message" and returns failure.
  mlir::LogicalResult error(const llvm::Twine &message);
  std::vector<std::string> errors;

  /// Normalizes a possibly negative axis against `rank`; nullopt (with an
  /// error) when out of range.
  std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

private:
  std::optional<OnnxValue> lookupComposite(const std::string &name) const {
    auto it = composites.find(name);
    if (it == composites.end())
      return std::nullopt;
    return it->second;
  }
  llvm::StringMap<mlir::Value> values;
  /// Sequences and optionals by name.
  std::map<std::string, OnnxValue> composites;
  /// Per open NameScope: each name it defined and the tensor or composite
  /// value it shadowed (null / nullopt if none).
  std::vector<
      std::map<std::string, std::pair<mlir::Value, std::optional<OnnxValue>>>>
      scopes;
};

/// Fails (naming the node) when a node takes a tensor of dims known only at
/// run time and dlc has no lowering of it for them: an op it lowers for
/// dynamic sizes, and operands that agree (dims of one symbol, or 1). Dims
/// that are checked equal at run time instead leave the node's operands
/// cut to the smaller size in ImportContext::operandOverrides.
mlir::LogicalResult checkDynamicOperands(ImportContext &ctx,
                                         const onnx::NodeProto &node);
/// Gives the dynamic dims of a node's outputs their symbols (after a
/// successful checkDynamicOperands and import).
void propagateDimSymbols(ImportContext &ctx, const onnx::NodeProto &node);
/// Imports a node that computes on shape values (ImportContext::shapeValues)
/// symbolically; false (nothing done) for other nodes.
bool importShapeArithmetic(ImportContext &ctx, const onnx::NodeProto &node);
/// The shape value of input `i`, if it is one.
const llvm::SmallVector<ImportContext::ShapeElement> *
shapeValueOf(ImportContext &ctx, int i);
/// Result dims (ShapedType::kDynamic for symbols) and their symbols for a
/// shape value, as ConstantOfShape reads it.
void dimsOfShapeValue(ImportContext &ctx,
                      llvm::ArrayRef<ImportContext::ShapeElement> elements,
                      llvm::SmallVectorImpl<int64_t> &dims,
                      llvm::SmallVectorImpl<int64_t> &symbols);

/// The most elements one tensor may have (2^28: 1 GiB of float32). Larger
/// sizes in a model are reported instead of exhausting memory at compile time.
constexpr int64_t kMaxTensorElements = int64_t(1) << 28;
/// Whether a shape of non-negative dims has more than kMaxTensorElements
/// elements (without overflowing on the way). Dims of 0 are left out of the
/// count: an empty tensor's other dims are still multiplied by later code
/// (a Flatten, a Reshape), so they are bounded as well.
bool exceedsMaxElements(llvm::ArrayRef<int64_t> shape);

/// Converts an ONNX TensorProto into a dense attribute; failure (with a
/// message) for an unsupported dtype or data that does not match the shape.
/// Data in an external file (ONNX's external-data format) is read from
/// `location` relative to `modelDir`, the folder of the model file, at
/// `offset` for `length` bytes; a location outside that folder (absolute,
/// through "..", or a symbolic link leading out) is refused.
mlir::FailureOr<mlir::DenseElementsAttr>
tensorProtoToAttr(mlir::MLIRContext *context, const onnx::TensorProto &tensor,
                  std::string &message, llvm::StringRef modelDir);

/// tensorProtoToAttr for an initializer (the model's weights): raw or
/// external data of graph::kWeightBlobBytes or more becomes a weight blob
/// (dialects/graph/Weights.h) that the compile can release once it has
/// transformed it. With `takeData` the blob takes the tensor's raw data (left
/// empty) instead of copying it.
mlir::FailureOr<mlir::ElementsAttr>
initializerToAttr(mlir::MLIRContext *context, onnx::TensorProto &tensor,
                  bool takeData, std::string &message,
                  llvm::StringRef modelDir);

/// How messages name a node: "node 'conv1' (Conv)", or by its position in
/// the graph when it has no name: "node #3 (Add)".
std::string describeNode(const onnx::NodeProto &node, int index);

/// The `count` elements of `v` along dim `dim` from `start`, `step` apart
/// (graph.slice); null with the error recorded when that fails.
mlir::Value sliceDim(ImportContext &ctx, mlir::Value v, int64_t dim,
                     int64_t start, int64_t count, int64_t step);

/// Whether an ONNX dtype is an unsigned integer (uint8 .. uint64): dlc's
/// integer types are signless, so such values are tracked in
/// ImportContext::unsignedValues.
bool isUnsignedDType(int32_t onnxDType);

/// The MLIR element type of an ONNX dtype; null if dlc has none for it.
mlir::Type elementTypeOf(mlir::MLIRContext *context, int32_t onnxDType);
/// ONNX's spelling of a dtype ("float32", "int64", ...).
std::string dtypeName(int32_t onnxDType);

/// A convolution of `x` by `w` (+ `bias`, may be null) with the current
/// node's Conv attributes (strides, pads or auto_pad, dilations, group);
/// null (with an error) for what dlc does not support. Shared by Conv and
/// the integer and quantized convolutions.
mlir::Value buildConv(ImportContext &ctx, mlir::Value x, mlir::Value w,
                      mlir::Value bias);

/// Imports one node (at position `index` of its graph, for messages) with
/// the importer of its op type, at the builder's insertion point: its inputs
/// must be defined in `ctx`; its outputs are defined afterwards. Failure (an
/// op dlc has no importer of included) leaves its reasons in ctx.errors.
mlir::LogicalResult importNode(ImportContext &ctx, const onnx::NodeProto &node,
                               int index);

/// Imports the nodes of `graph` in order at the builder's insertion point,
/// reading and defining tensor names in `ctx`: the main graph, or a subgraph
/// (an If branch, a Loop or Scan body) whose inputs the caller has defined.
/// Failure leaves its reasons in ctx.errors.
mlir::LogicalResult importGraphNodes(ImportContext &ctx,
                                     const onnx::GraphProto &graph);

/// An op importer: reads ctx.node, builds graph ops, sets its outputs.
using OpImportFn = std::function<mlir::LogicalResult(ImportContext &)>;

struct OpImporter {
  const char *opType;
  const char *family;
  int sinceOpset; ///< in the importer's domain
  const char *notes;
  OpImportFn import;
  const char *domain = ""; ///< "" is the default ONNX domain
};

/// The importers of each op family; one function per family file.
void addNNImporters(std::vector<OpImporter> &table);
void addMathImporters(std::vector<OpImporter> &table);
void addTensorImporters(std::vector<OpImporter> &table);
void addReduceImporters(std::vector<OpImporter> &table);
void addRNNImporters(std::vector<OpImporter> &table);
void addLossImporters(std::vector<OpImporter> &table);
void addQuantizationImporters(std::vector<OpImporter> &table);
void addTrainingImporters(std::vector<OpImporter> &table);
void addControlFlowImporters(std::vector<OpImporter> &table);
void addSequenceImporters(std::vector<OpImporter> &table);

/// An empty sequence of `element` tensors.
OnnxValue emptySequence(ImportContext &ctx, mlir::Type element);
/// An optional of `kind` holding nothing: a tensor of `rank` dims of 0, or
/// an empty sequence.
OnnxValue absentValue(ImportContext &ctx, ValueKind kind, mlir::Type element,
                      int64_t rank);
/// `value` as a value of kind `to`: a tensor or sequence wrapped in an
/// optional holding it, or an optional's value (checked at run time to be
/// there: `what` names it in the report). nullopt (with an error) for
/// other changes.
std::optional<OnnxValue> coerceValue(ImportContext &ctx, const OnnxValue &value,
                                     ValueKind to, const llvm::Twine &what);
/// The parts of `values` in order, and their kinds.
llvm::SmallVector<mlir::Value> flattenValues(llvm::ArrayRef<OnnxValue> values);
/// `flat` regrouped as values of the kinds (and element ranks) of `like`.
llvm::SmallVector<OnnxValue> unflattenValues(llvm::ArrayRef<OnnxValue> like,
                                             mlir::ValueRange flat);

} // namespace dlc::onnx_frontend

#endif // DLC_FRONTENDS_ONNX_IMPORTCONTEXT_H
