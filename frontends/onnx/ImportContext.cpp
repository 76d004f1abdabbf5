//===- ImportContext.cpp - state shared by the op importers ---------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace dlc::onnx_frontend {

Location ImportContext::loc() const {
  MLIRContext *ctx = builder.getContext();
  std::string name = !node                   ? std::string("<graph>")
                     : !node->name().empty() ? node->name()
                                             : "#" + std::to_string(nodeIndex);
  return NameLoc::get(StringAttr::get(ctx, name),
                      FileLineColLoc::get(ctx, modelPath, 0, 0));
}

LogicalResult ImportContext::error(const Twine &message) {
  std::string where = node ? describeNode(*node, nodeIndex) : std::string("graph");
  errors.push_back(modelPath + ": " + where + ": " + message.str());
  return failure();
}

Value ImportContext::input(int i) {
  if (i >= node->input_size() || node->input(i).empty()) {
    (void)error("missing input #" + Twine(i));
    return {};
  }
  Value v = lookup(node->input(i));
  if (!v) {
    if (auto composite = lookupComposite(node->input(i)))
      (void)error("input '" + node->input(i) + "' is " +
                  valueKindName(composite->kind) + ", where " +
                  node->op_type() + " takes a tensor");
    else
      (void)error("input '" + node->input(i) + "' is not defined before use");
  }
  return v;
}

const char *valueKindName(ValueKind kind) {
  switch (kind) {
  case ValueKind::Tensor:
    return "a tensor";
  case ValueKind::Sequence:
    return "a sequence";
  case ValueKind::OptionalTensor:
    return "an optional tensor";
  case ValueKind::OptionalSequence:
    return "an optional sequence";
  }
  return "a value";
}

std::optional<OnnxValue> ImportContext::valueInput(int i) {
  if (i >= node->input_size() || node->input(i).empty()) {
    (void)error("missing input #" + Twine(i));
    return std::nullopt;
  }
  auto v = lookupValue(node->input(i));
  if (!v)
    (void)error("input '" + node->input(i) + "' is not defined before use");
  return v;
}

std::optional<OnnxValue> ImportContext::sequenceInput(int i) {
  auto v = valueInput(i);
  if (v && v->kind != ValueKind::Sequence) {
    (void)error("input '" + node->input(i) + "' is " + valueKindName(v->kind) +
                ", where " + node->op_type() + " takes a sequence");
    return std::nullopt;
  }
  return v;
}

void ImportContext::setValueOutput(int i, const OnnxValue &value) {
  if (i < node->output_size() && !node->output(i).empty())
    defineValue(node->output(i), value);
}

std::optional<Value> ImportContext::optionalInput(int i) {
  if (i >= node->input_size() || node->input(i).empty())
    return std::nullopt;
  Value v = input(i);
  if (!v)
    return std::nullopt;
  return v;
}

void ImportContext::setOutput(int i, Value value) {
  if (i < node->output_size() && !node->output(i).empty())
    define(node->output(i), value);
}

std::optional<SmallVector<int64_t>> ImportContext::constantInts(int i) {
  Value v = input(i);
  if (!v)
    return std::nullopt;
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr))) {
    (void)error("input '" + node->input(i) +
                "' must be a compile-time constant");
    return std::nullopt;
  }
  SmallVector<int64_t> result;
  for (const APInt &value : attr.getValues<APInt>())
    result.push_back(value.getSExtValue());
  return result;
}

bool ImportContext::isRuntimeValue(int i) {
  if (i >= node->input_size() || node->input(i).empty())
    return false;
  Value v = lookup(node->input(i));
  return v && !matchPattern(v, m_Constant());
}

int64_t ImportContext::newDimSymbol(Value source, int64_t dim, StringRef name,
                                    StringRef decider) {
  dimSymbolNames.push_back(name.str());
  dimSymbolSources.emplace_back(source, dim);
  dimSymbolDeciders.push_back(decider.str());
  return static_cast<int64_t>(dimSymbolNames.size()) - 1;
}

Value ImportContext::runtimeInts(int i) {
  Value v = input(i);
  if (!v)
    return {};
  Type element = typeOf(v).getElementType();
  if (element.isInteger(64))
    return v;
  if (!element.isInteger(32)) {
    (void)error("input '" + node->input(i) + "' must hold int64 or int32");
    return {};
  }
  return build<graph::CastOp>(v, TypeAttr::get(builder.getI64Type()));
}

StringAttr ImportContext::runtimeMessage(const Twine &what) {
  if (!node)
    return builder.getStringAttr(what);
  return builder.getStringAttr(describeNode(*node, nodeIndex) + ": " + what);
}

void ImportContext::reportIf(Value condition, const Twine &what) {
  Location at = loc();
  // A 1 where it holds: outside check_indices' [0, 1).
  Value flag =
      arith::ExtUIOp::create(builder, at, builder.getI64Type(), condition);
  graph::CheckIndicesOp::create(
      builder, at,
      tensor::FromElementsOp::create(
          builder, at, RankedTensorType::get({1}, builder.getI64Type()), flag),
      0, 1, runtimeMessage(what), IntegerAttr());
}

std::optional<double> ImportContext::constantFloat(int i) {
  Value v = input(i);
  if (!v)
    return std::nullopt;
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1 ||
      attr.getElementType().isInteger(1)) {
    (void)error("input '" + node->input(i) +
                "' must be a compile-time constant scalar");
    return std::nullopt;
  }
  if (auto floats = dyn_cast<DenseFPElementsAttr>(attr))
    return (*floats.getValues<APFloat>().begin()).convertToDouble();
  return static_cast<double>(
      (*attr.getValues<APInt>().begin()).getSExtValue());
}

LogicalResult ImportContext::inferResultTypes(Operation *op) {
  auto iface = cast<InferTypeOpInterface>(op);
  SmallVector<Type> types;
  std::string message;
  LogicalResult inferred = failure();
  {
    ScopedDiagnosticHandler handler(op->getContext(), [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    inferred = iface.inferReturnTypes(
        op->getContext(), op->getLoc(), op->getOperands(),
        op->getAttrDictionary(), op->getPropertiesStorage(), op->getRegions(),
        types);
  }
  if (failed(inferred)) {
    op->erase();
    return error(message.empty() ? "invalid operands or attributes" : message);
  }
  // Bounded without multiplying the dims first: their product can overflow
  // (huge Pad amounts), and later ops would multiply them again.
  for (Type type : types)
    if (auto tensor = dyn_cast<RankedTensorType>(type);
        tensor && tensor.hasStaticShape() &&
        exceedsMaxElements(tensor.getShape())) {
      op->erase();
      std::string dims;
      for (int64_t d : tensor.getShape())
        dims += (dims.empty() ? "" : "x") + std::to_string(d);
      return error("its result [" + dims + "] exceeds dlc's limit of " +
                   Twine(kMaxTensorElements) +
                   " elements per tensor (dims of 0 left out of the count)");
    }
  for (auto [result, type] : llvm::zip(op->getResults(), types))
    result.setType(type);
  // The op's own constraints (operand element types, attribute ranges): an
  // ONNX model can break them where shape inference does not look (a bool
  // weight, an int16 bias), and a module that does not verify must never
  // leave the importer.
  {
    ScopedDiagnosticHandler handler(op->getContext(), [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
      op->erase();
      return error(message);
    }
  }
  return success();
}

Value ImportContext::foldIfConstant(Operation *op) {
  SmallVector<Attribute> constants;
  for (Value operand : op->getOperands()) {
    Attribute attr;
    matchPattern(operand, m_Constant(&attr));
    constants.push_back(attr);
  }
  SmallVector<OpFoldResult> folded;
  if (op->getNumResults() != 1 || failed(op->fold(constants, folded)) ||
      folded.empty())
    return op->getResult(0);
  if (auto value = dyn_cast<Value>(folded[0])) {
    op->erase();
    return value;
  }
  auto attr = dyn_cast<TypedAttr>(cast<Attribute>(folded[0]));
  if (!attr || attr.getType() != op->getResult(0).getType())
    return op->getResult(0);
  Value constant = arith::ConstantOp::create(builder, op->getLoc(), attr);
  op->erase();
  return constant;
}

LogicalResult ImportContext::checkShape(ArrayRef<int64_t> shape,
                                       StringRef what) {
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return error(what + " has a negative dim");
  if (exceedsMaxElements(shape))
    return error(what + " would have more than " + Twine(kMaxTensorElements) +
                 " elements");
  return success();
}

LogicalResult ImportContext::rejectUnsigned(Value v, StringRef what) {
  if (unsignedValues.contains(v))
    return error(what + " is an unsigned integer tensor; dlc's integer "
                        "arithmetic is signed and does not support it yet");
  return success();
}

Value ImportContext::unary(Value v, StringRef fn) {
  if (!v)
    return v;
  return build<graph::UnaryOp>(v, builder.getStringAttr(fn),
                               builder.getF32FloatAttr(0),
                               builder.getF32FloatAttr(0),
                               builder.getF32FloatAttr(0));
}

bool isUnsignedDType(int32_t t) {
  return t == onnx::TensorProto::UINT8 || t == onnx::TensorProto::UINT16 ||
         t == onnx::TensorProto::UINT32 || t == onnx::TensorProto::UINT64;
}

Value ImportContext::scalar(Type elem, double value) {
  auto type = RankedTensorType::get({}, elem);
  return arith::ConstantOp::create(
      builder, loc(),
      DenseElementsAttr::get(type, builder.getFloatAttr(elem, value)));
}

LogicalResult ImportContext::requireFloat(Value v, StringRef what) {
  Type elem = typeOf(v).getElementType();
  if (isa<FloatType>(elem))
    return success();
  std::string name;
  llvm::raw_string_ostream os(name);
  os << elem;
  return error(what + " has element type " + name +
               "; dlc supports float tensors here");
}

const onnx::AttributeProto *ImportContext::attr(StringRef name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t ImportContext::intAttr(StringRef name, int64_t fallback) const {
  const auto *a = attr(name);
  return a ? a->i() : fallback;
}

float ImportContext::floatAttr(StringRef name, float fallback) const {
  const auto *a = attr(name);
  return a ? a->f() : fallback;
}

std::string ImportContext::stringAttr(StringRef name,
                                      StringRef fallback) const {
  const auto *a = attr(name);
  return a ? a->s() : fallback.str();
}

SmallVector<int64_t> ImportContext::intsAttr(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

SmallVector<int64_t> ImportContext::spatialAttr(StringRef name, size_t dims,
                                                int64_t fallback) const {
  SmallVector<int64_t> v = intsAttr(name);
  if (v.empty())
    v.assign(dims, fallback);
  return v;
}

std::optional<int64_t> ImportContext::normalizeAxis(int64_t axis,
                                                    int64_t rank) {
  if (axis < -rank || axis >= rank) {
    (void)error("axis " + Twine(axis) + " is out of range for rank " +
                Twine(rank));
    return std::nullopt;
  }
  return axis < 0 ? axis + rank : axis;
}

bool exceedsMaxElements(ArrayRef<int64_t> shape) {
  int64_t elements = 1;
  for (int64_t d : shape) {
    // Dynamic dims are checked at run time; dims of 0 make no elements.
    if (d == 0 || ShapedType::isDynamic(d))
      continue;
    if (elements > kMaxTensorElements / d)
      return true;
    elements *= d;
  }
  return elements > kMaxTensorElements;
}

std::string describeNode(const onnx::NodeProto &node, int index) {
  std::string name = node.name().empty() ? "node #" + std::to_string(index)
                                         : "node '" + node.name() + "'";
  return name + " (" + node.op_type() + ")";
}

Type elementTypeOf(MLIRContext *ctx, int32_t t) {
  Builder b(ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    return b.getI64Type();
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return b.getI32Type();
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return b.getI16Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
    return b.getI8Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

std::string dtypeName(int32_t t) {
  switch (t) {
  case onnx::TensorProto::FLOAT: return "float32";
  case onnx::TensorProto::DOUBLE: return "float64";
  case onnx::TensorProto::FLOAT16: return "float16";
  case onnx::TensorProto::BFLOAT16: return "bfloat16";
  case onnx::TensorProto::INT64: return "int64";
  case onnx::TensorProto::UINT64: return "uint64";
  case onnx::TensorProto::INT32: return "int32";
  case onnx::TensorProto::UINT32: return "uint32";
  case onnx::TensorProto::INT16: return "int16";
  case onnx::TensorProto::UINT16: return "uint16";
  case onnx::TensorProto::INT8: return "int8";
  case onnx::TensorProto::UINT8: return "uint8";
  case onnx::TensorProto::BOOL: return "bool";
  case onnx::TensorProto::STRING: return "string";
  default: return "dtype#" + std::to_string(t);
  }
}

std::string ImportContext::modelDir() const {
  return llvm::sys::path::parent_path(modelPath).str();
}

/// The bytes of a tensor stored in ONNX's external-data format.
static std::unique_ptr<llvm::MemoryBuffer>
readExternalData(const onnx::TensorProto &t, StringRef modelDir,
                 std::string &message) {
  std::string location;
  int64_t offset = 0, length = -1;
  auto what = [&] { return "tensor '" + t.name() + "': external data"; };
  for (const auto &entry : t.external_data()) {
    auto number = [&](int64_t &into) {
      if (StringRef(entry.value()).getAsInteger(10, into) || into < 0) {
        message = what() + ": '" + entry.key() + "' is not a byte count: '" +
                  entry.value() + "'";
        return false;
      }
      return true;
    };
    if (entry.key() == "location")
      location = entry.value();
    else if ((entry.key() == "offset" && !number(offset)) ||
             (entry.key() == "length" && !number(length)))
      return nullptr;
  }
  if (location.empty()) {
    message = what() + " has no location";
    return nullptr;
  }
  // The file must lie inside the model's folder: no absolute path, no ".."
  // out of it, no symbolic link leading out.
  SmallString<256> normalized(location);
  llvm::sys::path::remove_dots(normalized, /*remove_dot_dot=*/true);
  if (llvm::sys::path::is_absolute(location) ||
      llvm::sys::path::has_root_name(location) ||
      StringRef(normalized).starts_with("..")) {
    message = what() + " location '" + location +
              "' is not inside the model's folder";
    return nullptr;
  }
  SmallString<256> path(modelDir.empty() ? "." : modelDir);
  llvm::sys::path::append(path, normalized);
  SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(modelDir.empty() ? "." : modelDir, realDir) ||
      llvm::sys::fs::real_path(path, realFile)) {
    message = what() + ": cannot open '" + path.str().str() + "'";
    return nullptr;
  }
  std::string inside = realDir == "/" ? "/" : (realDir + "/").str();
  if (!StringRef(realFile).starts_with(inside)) {
    message = what() + " location '" + location +
              "' leads outside the model's folder (to " +
              realFile.str().str() + ")";
    return nullptr;
  }
  uint64_t size = 0;
  if (llvm::sys::fs::file_size(realFile, size)) {
    message = what() + ": cannot read '" + path.str().str() + "'";
    return nullptr;
  }
  if (static_cast<uint64_t>(offset) > size ||
      (length >= 0 &&
       static_cast<uint64_t>(length) > size - static_cast<uint64_t>(offset))) {
    message = what() + ": '" + location + "' has " + std::to_string(size) +
              " bytes, fewer than offset " + std::to_string(offset) +
              (length >= 0 ? " + length " + std::to_string(length) : "");
    return nullptr;
  }
  if (length < 0)
    length = static_cast<int64_t>(size) - offset;
  auto buffer = llvm::MemoryBuffer::getFileSlice(realFile, length, offset,
                                                 /*IsVolatile=*/false);
  if (!buffer) {
    message = what() + ": cannot read '" + path.str().str() +
              "': " + buffer.getError().message();
    return nullptr;
  }
  return std::move(*buffer);
}

/// tensorProtoToAttr, and initializerToAttr when `weights`: then raw or
/// external data of kWeightBlobBytes or more becomes a weight blob, which
/// takes `takeRaw` (the tensor's raw data) when given rather than a copy.
static FailureOr<Attribute>
tensorProtoToElements(MLIRContext *ctx, const onnx::TensorProto &t,
                      std::string &message, StringRef modelDir, bool weights,
                      std::string *takeRaw) {
  std::unique_ptr<llvm::MemoryBuffer> external;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    external = readExternalData(t, modelDir, message);
    if (!external)
      return failure();
  }
  Type elem = elementTypeOf(ctx, t.data_type());
  if (!elem) {
    message = "tensor '" + t.name() + "' has dtype " + dtypeName(t.data_type()) +
              ", which dlc does not support";
    return failure();
  }
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; })) {
    message = "tensor '" + t.name() + "' has a negative dim";
    return failure();
  }
  if (exceedsMaxElements(shape)) {
    message = "tensor '" + t.name() + "' has more than " +
              std::to_string(kMaxTensorElements) + " elements";
    return failure();
  }
  auto type = RankedTensorType::get(shape, elem);
  int64_t count = type.getNumElements();
  unsigned bits = elem.getIntOrFloatBitWidth();

  if (t.has_raw_data() || external) {
    StringRef raw = external ? external->getBuffer() : StringRef(t.raw_data());
    int64_t bytes = bits == 1 ? count : count * (bits / 8);
    if (static_cast<int64_t>(raw.size()) != bytes) {
      message = "tensor '" + t.name() + "' holds " + std::to_string(raw.size()) +
                " bytes of data, its shape needs " + std::to_string(bytes);
      return failure();
    }
    if (bits == 1) {
      SmallVector<bool> values(raw.begin(), raw.end());
      return DenseElementsAttr::get(type, ArrayRef<bool>(values));
    }
    if (weights && bytes >= graph::kWeightBlobBytes)
      return Attribute(graph::makeWeights(
          type, takeRaw && !external ? std::move(*takeRaw) : raw.str()));
    return DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(raw.data(), raw.size()));
  }

  auto sizeMismatch = [&](int64_t have) {
    message = "tensor '" + t.name() + "' has " + std::to_string(have) +
              " values, its shape needs " + std::to_string(count);
    return failure();
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT: {
    if (t.float_data_size() != count)
      return sizeMismatch(t.float_data_size());
    SmallVector<float> v(t.float_data().begin(), t.float_data().end());
    return DenseElementsAttr::get(type, ArrayRef<float>(v));
  }
  case onnx::TensorProto::DOUBLE: {
    if (t.double_data_size() != count)
      return sizeMismatch(t.double_data_size());
    SmallVector<double> v(t.double_data().begin(), t.double_data().end());
    return DenseElementsAttr::get(type, ArrayRef<double>(v));
  }
  case onnx::TensorProto::INT64: {
    if (t.int64_data_size() != count)
      return sizeMismatch(t.int64_data_size());
    SmallVector<int64_t> v(t.int64_data().begin(), t.int64_data().end());
    return DenseElementsAttr::get(type, ArrayRef<int64_t>(v));
  }
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::UINT32: {
    if (t.uint64_data_size() != count)
      return sizeMismatch(t.uint64_data_size());
    SmallVector<APInt> v;
    for (uint64_t x : t.uint64_data())
      v.push_back(APInt(bits, x));
    return DenseElementsAttr::get(type, v);
  }
  case onnx::TensorProto::BOOL: {
    if (t.int32_data_size() != count)
      return sizeMismatch(t.int32_data_size());
    SmallVector<bool> v;
    for (int32_t x : t.int32_data())
      v.push_back(x != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(v));
  }
  case onnx::TensorProto::FLOAT16: {
    if (t.int32_data_size() != count)
      return sizeMismatch(t.int32_data_size());
    SmallVector<APFloat> v;
    for (int32_t x : t.int32_data())
      v.push_back(APFloat(APFloat::IEEEhalf(), APInt(16, x & 0xffff)));
    return DenseElementsAttr::get(type, v);
  }
  default: {
    // INT32, INT16, INT8, UINT16, UINT8 live in int32_data.
    if (t.int32_data_size() != count)
      return sizeMismatch(t.int32_data_size());
    SmallVector<APInt> v;
    for (int32_t x : t.int32_data())
      v.push_back(APInt(bits, static_cast<uint64_t>(x), /*isSigned=*/true,
                        /*implicitTrunc=*/true));
    return DenseElementsAttr::get(type, v);
  }
  }
}

FailureOr<DenseElementsAttr> tensorProtoToAttr(MLIRContext *ctx,
                                               const onnx::TensorProto &t,
                                               std::string &message,
                                               StringRef modelDir) {
  auto attr = tensorProtoToElements(ctx, t, message, modelDir,
                                    /*weights=*/false, nullptr);
  if (failed(attr))
    return failure();
  return cast<DenseElementsAttr>(*attr);
}

FailureOr<ElementsAttr> initializerToAttr(MLIRContext *ctx,
                                          onnx::TensorProto &t, bool takeData,
                                          std::string &message,
                                          StringRef modelDir) {
  auto attr = tensorProtoToElements(
      ctx, t, message, modelDir, /*weights=*/true,
      takeData && t.has_raw_data() ? t.mutable_raw_data() : nullptr);
  if (failed(attr))
    return failure();
  return cast<ElementsAttr>(*attr);
}

} // namespace dlc::onnx_frontend
