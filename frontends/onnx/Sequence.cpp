//===- Sequence.cpp - ONNX sequences and optionals ------------------------===//
//
// A sequence is two tensors (OnnxValue): its tensors' elements one after
// the other, and a table of their offsets, ranks and dims; the
// graph.runtime_sequence_* ops build and read them. An optional is a
// presence flag beside its tensor or sequence. So both flow through If and
// Loop as tensors do, and reach the runtime as the parts of
// TensorSignature::part.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace dlc::onnx_frontend {

std::optional<ValueTypeInfo> valueTypeOf(const onnx::TypeProto &type,
                                         std::string &why) {
  ValueTypeInfo info;
  const onnx::TypeProto *inner = &type;
  bool optional = type.has_optional_type();
  if (optional)
    inner = &type.optional_type().elem_type();
  bool sequence = inner->has_sequence_type();
  if (sequence)
    inner = &inner->sequence_type().elem_type();
  if (!inner->has_tensor_type()) {
    why = "is not a tensor, a sequence of tensors or an optional of one "
          "(dlc takes no maps, sparse tensors or nested sequences)";
    return std::nullopt;
  }
  info.kind = optional ? (sequence ? ValueKind::OptionalSequence
                                   : ValueKind::OptionalTensor)
                       : (sequence ? ValueKind::Sequence : ValueKind::Tensor);
  info.dtype = inner->tensor_type().elem_type();
  if (inner->tensor_type().has_shape())
    info.shape = &inner->tensor_type().shape();
  return info;
}

namespace {

Value boolScalar(ImportContext &ctx, bool value) {
  auto type = RankedTensorType::get({}, ctx.builder.getI1Type());
  return arith::ConstantOp::create(ctx.builder, ctx.loc(),
                                   DenseElementsAttr::get(type, value));
}

/// `t` with all its dims dynamic: an optional tensor's part has one type
/// whatever it holds.
Value dynamicDims(ImportContext &ctx, Value t) {
  auto type = ImportContext::typeOf(t);
  auto dynamic = RankedTensorType::get(
      SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic),
      type.getElementType());
  if (type == dynamic)
    return t;
  return tensor::CastOp::create(ctx.builder, ctx.loc(), dynamic, t);
}

/// Reports (by node) when the flag `present` is false.
void checkPresent(ImportContext &ctx, Value present, const Twine &what) {
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  Value flag = tensor::ExtractOp::create(b, loc, present, ValueRange{});
  ctx.reportIf(arith::XOrIOp::create(
                   b, loc, flag, arith::ConstantIntOp::create(b, loc, 1, 1)),
               what + " is an empty optional");
}

Type elementOf(ImportContext &ctx, int32_t dtype) {
  Type element = elementTypeOf(ctx.builder.getContext(), dtype);
  if (!element)
    (void)ctx.error("dtype " + dtypeName(dtype) + " is not supported");
  return element;
}

LogicalResult importSequenceEmpty(ImportContext &ctx) {
  Type element = elementOf(ctx, ctx.intAttr("dtype", onnx::TensorProto::FLOAT));
  if (!element)
    return failure();
  ctx.setValueOutput(0, emptySequence(ctx, element));
  return success();
}

/// Input `i` as a compile-time constant position, if it is one.
std::optional<int64_t> constantPosition(ImportContext &ctx, int i) {
  if (i >= ctx.node->input_size() || ctx.node->input(i).empty())
    return std::nullopt;
  DenseIntElementsAttr attr;
  Value v = ctx.lookup(ctx.node->input(i));
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  return (*attr.getValues<APInt>().begin()).getSExtValue();
}

/// A position in a sequence of `length` tensors known at compile time
/// (negative from the end; `end` allows `length`); an error otherwise.
std::optional<int64_t> checkedPosition(ImportContext &ctx, int64_t position,
                                       int64_t length, bool end) {
  int64_t p = position < 0 ? position + length : position;
  if (p < 0 || p > length || (!end && p == length)) {
    (void)ctx.error("position " + Twine(position) +
                    " is outside the sequence of " + Twine(length) +
                    " tensors");
    return std::nullopt;
  }
  return p;
}

/// The sequence of `tensors` (known at compile time).
std::optional<OnnxValue>
constructSequence(ImportContext &ctx, ArrayRef<Value> tensors, Type element) {
  OpBuilder &b = ctx.builder;
  auto op = graph::RuntimeSequenceConstructOp::create(
      b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, tensors,
      TypeAttr::get(element));
  if (failed(ctx.inferResultTypes(op)))
    return std::nullopt;
  OnnxValue seq{ValueKind::Sequence, {op.getValues(), op.getTable()}};
  seq.elementRank = OnnxValue::kNoTensors;
  for (Value t : tensors)
    seq.elementRank = OnnxValue::joinRanks(seq.elementRank,
                                           ImportContext::typeOf(t).getRank());
  seq.tensors.emplace(tensors.begin(), tensors.end());
  return seq;
}

LogicalResult importSequenceConstruct(ImportContext &ctx) {
  SmallVector<Value> tensors;
  for (int i = 0; i < ctx.node->input_size(); ++i) {
    Value t = ctx.input(i);
    if (!t)
      return failure();
    tensors.push_back(t);
  }
  if (tensors.empty())
    return ctx.error("needs at least one tensor");
  auto seq = constructSequence(
      ctx, tensors, ImportContext::typeOf(tensors[0]).getElementType());
  if (!seq)
    return failure();
  ctx.setValueOutput(0, *seq);
  return success();
}

LogicalResult importSequenceInsert(ImportContext &ctx) {
  std::optional<OnnxValue> seq = ctx.sequenceInput(0);
  Value tensor = ctx.input(1);
  std::optional<Value> position = ctx.optionalInput(2);
  if (!seq || !tensor || !ctx.errors.empty())
    return failure();
  OpBuilder &b = ctx.builder;
  auto op = graph::RuntimeSequenceInsertOp::create(
      b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, seq->values(),
      seq->table(), tensor, position ? *position : Value(),
      ctx.runtimeMessage("the position is outside the sequence"),
      IntegerAttr());
  if (failed(ctx.inferResultTypes(op)))
    return failure();
  OnnxValue out{ValueKind::Sequence, {op.getNewValues(), op.getNewTable()}};
  out.elementRank = OnnxValue::joinRanks(
      seq->elementRank, ImportContext::typeOf(tensor).getRank());
  std::optional<int64_t> at = constantPosition(ctx, 2);
  if (seq->tensors && (!position || at)) {
    int64_t length = seq->tensors->size();
    auto p = position ? checkedPosition(ctx, *at, length, /*end=*/true)
                      : std::optional<int64_t>(length);
    if (!p)
      return failure();
    out.tensors = seq->tensors;
    out.tensors->insert(out.tensors->begin() + *p, tensor);
  }
  ctx.setValueOutput(0, out);
  return success();
}

LogicalResult importSequenceErase(ImportContext &ctx) {
  std::optional<OnnxValue> seq = ctx.sequenceInput(0);
  std::optional<Value> position = ctx.optionalInput(1);
  if (!seq || !ctx.errors.empty())
    return failure();
  OpBuilder &b = ctx.builder;
  auto op = graph::RuntimeSequenceEraseOp::create(
      b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, seq->values(),
      seq->table(), position ? *position : Value(),
      ctx.runtimeMessage("the position is outside the sequence"),
      IntegerAttr());
  if (failed(ctx.inferResultTypes(op)))
    return failure();
  OnnxValue out{ValueKind::Sequence, {op.getNewValues(), op.getNewTable()}};
  out.elementRank = seq->elementRank;
  std::optional<int64_t> at = constantPosition(ctx, 1);
  if (seq->tensors && (!position || at)) {
    int64_t length = seq->tensors->size();
    if (length == 0)
      return ctx.error("the sequence is empty");
    auto p = position ? checkedPosition(ctx, *at, length, /*end=*/false)
                      : std::optional<int64_t>(length - 1);
    if (!p)
      return failure();
    out.tensors = seq->tensors;
    out.tensors->erase(out.tensors->begin() + *p);
  }
  ctx.setValueOutput(0, out);
  return success();
}

LogicalResult importSequenceAt(ImportContext &ctx) {
  std::optional<OnnxValue> seq = ctx.sequenceInput(0);
  Value position = ctx.input(1);
  if (!seq || !position)
    return failure();
  if (std::optional<int64_t> at = constantPosition(ctx, 1);
      at && seq->tensors) {
    auto p = checkedPosition(ctx, *at, seq->tensors->size(), /*end=*/false);
    if (!p)
      return failure();
    ctx.setOutput(0, (*seq->tensors)[*p]);
    return success();
  }
  if (seq->elementRank < 0)
    return ctx.error("the rank of the sequence's tensors is not known at "
                     "compile time (dlc needs it for SequenceAt's result)");
  Value result = ctx.build<graph::RuntimeSequenceAtOp>(
      seq->values(), seq->table(), position, seq->elementRank,
      ctx.runtimeMessage("the position is outside the sequence, or the "
                         "tensor there is not of rank " +
                         Twine(seq->elementRank)),
      IntegerAttr());
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

LogicalResult importSequenceLength(ImportContext &ctx) {
  std::optional<OnnxValue> seq = ctx.sequenceInput(0);
  if (!seq)
    return failure();
  if (seq->tensors) {
    auto type = RankedTensorType::get({}, ctx.builder.getI64Type());
    ctx.setOutput(
        0, arith::ConstantOp::create(
               ctx.builder, ctx.loc(),
               DenseElementsAttr::get(type, int64_t(seq->tensors->size()))));
    return success();
  }
  Value length = ctx.build<graph::RuntimeSequenceLengthOp>(seq->table());
  ctx.setOutput(0, length);
  return success(static_cast<bool>(length));
}

/// ConcatFromSequence: of tensors known at compile time, graph.concat of
/// them (each with a dim of 1 at `axis` first with `new_axis`); of a
/// sequence built at run time, graph.runtime_sequence_concat.
LogicalResult importConcatFromSequence(ImportContext &ctx) {
  std::optional<OnnxValue> seq = ctx.sequenceInput(0);
  if (!seq)
    return failure();
  bool newAxis = ctx.intAttr("new_axis", 0) != 0;
  if (!ctx.attr("axis"))
    return ctx.error("needs the 'axis' attribute");
  if (!seq->tensors) {
    // Built at run time: the tensors' rank must be known.
    if (seq->elementRank < 0)
      return ctx.error("the rank of the sequence's tensors is not known at "
                       "compile time (dlc needs it for the result)");
    auto axis =
        ctx.normalizeAxis(ctx.intAttr("axis", 0), seq->elementRank + newAxis);
    if (!axis)
      return failure();
    Value result = ctx.build<graph::RuntimeSequenceConcatOp>(
        seq->values(), seq->table(), seq->elementRank, *axis, newAxis,
        ctx.runtimeMessage("the sequence is empty, or its tensors differ "
                           "in rank or in dims other than the axis"),
        IntegerAttr());
    ctx.setOutput(0, result);
    return success(static_cast<bool>(result));
  }
  if (seq->tensors->empty())
    return ctx.error("the sequence is empty");
  int64_t rank = ImportContext::typeOf(seq->tensors->front()).getRank();
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank + newAxis);
  if (!axis)
    return failure();
  SmallVector<Value> parts;
  for (Value t : *seq->tensors) {
    auto type = ImportContext::typeOf(t);
    if (type.getRank() != rank || !type.hasStaticShape())
      return ctx.error("the sequence's tensors must have one rank and static "
                       "shapes");
    if (newAxis) {
      SmallVector<int64_t> shape(type.getShape());
      shape.insert(shape.begin() + *axis, 1);
      t = ctx.build<graph::ReshapeOp>(t,
                                      ctx.builder.getDenseI64ArrayAttr(shape));
      if (!t)
        return failure();
    }
    parts.push_back(t);
  }
  Value result = parts.size() == 1 ? parts.front()
                                   : ctx.build<graph::ConcatOp>(parts, *axis);
  ctx.setOutput(0, result);
  return success(static_cast<bool>(result));
}

/// SplitToSequence: of a static input with a constant or no split, the
/// slices (graph.slice; without `split` and `keepdims` 0, reshaped without
/// the axis) as a sequence known at compile time; otherwise
/// graph.runtime_sequence_split.
LogicalResult importSplitToSequence(ImportContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = ImportContext::typeOf(x);
  if (type.getRank() == 0)
    return ctx.error("the input must have rank 1 or more");
  auto axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), type.getRank());
  if (!axis)
    return failure();
  bool hasSplit = ctx.node->input_size() > 1 && !ctx.node->input(1).empty();
  bool keepdims = ctx.intAttr("keepdims", 1) != 0;
  Value splitValue = hasSplit ? ctx.lookup(ctx.node->input(1)) : Value();
  DenseIntElementsAttr splitAttr;
  if (hasSplit && !splitValue)
    return ctx.error("input '" + ctx.node->input(1) + "' is not a tensor");
  if (!type.hasStaticShape() ||
      (hasSplit && !matchPattern(splitValue, m_Constant(&splitAttr)))) {
    // Sizes known at run time: the slices are cut there.
    if (type.getRank() > 8)
      return ctx.error("the input must have rank 8 or less");
    OpBuilder &b = ctx.builder;
    auto op = graph::RuntimeSequenceSplitOp::create(
        b, ctx.loc(), TypeRange{b.getNoneType(), b.getNoneType()}, x,
        splitValue, *axis, keepdims,
        ctx.runtimeMessage("the split is not a positive size, or sizes that "
                           "are not negative and add up to the axis' size"),
        IntegerAttr());
    if (failed(ctx.inferResultTypes(op)))
      return failure();
    OnnxValue seq{ValueKind::Sequence, {op.getValues(), op.getTable()}};
    seq.elementRank = type.getRank() - (!hasSplit && !keepdims);
    ctx.setValueOutput(0, seq);
    return success();
  }
  int64_t size = type.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  if (!hasSplit) {
    sizes.assign(size, 1);
  } else {
    std::optional<SmallVector<int64_t>> split = ctx.constantInts(1);
    if (!split)
      return failure();
    int64_t splitRank =
        ImportContext::typeOf(ctx.lookup(ctx.node->input(1))).getRank();
    if (splitRank > 1)
      return ctx.error("split must be a scalar or 1-D, not of rank " +
                       Twine(splitRank));
    if (splitRank == 0) {
      int64_t chunk = split->front();
      if (chunk <= 0)
        return ctx.error("split must be positive, not " + Twine(chunk));
      for (int64_t at = 0; at < size; at += chunk)
        sizes.push_back(std::min(chunk, size - at));
    } else {
      sizes.assign(split->begin(), split->end());
      int64_t total = 0;
      for (int64_t s : sizes) {
        if (s < 0)
          return ctx.error("split sizes must not be negative");
        total += s;
      }
      if (total != size)
        return ctx.error("split sizes add up to " + Twine(total) +
                         ", not the axis' " + Twine(size));
    }
  }
  bool squeeze = !hasSplit && !keepdims;
  SmallVector<Value> tensors;
  int64_t start = 0;
  for (int64_t s : sizes) {
    Value slice = sliceDim(ctx, x, *axis, start, s, 1);
    if (!slice)
      return failure();
    start += s;
    if (squeeze) {
      SmallVector<int64_t> shape(type.getShape());
      shape.erase(shape.begin() + *axis);
      slice = ctx.build<graph::ReshapeOp>(
          slice, ctx.builder.getDenseI64ArrayAttr(shape));
      if (!slice)
        return failure();
    }
    tensors.push_back(slice);
  }
  auto seq = constructSequence(ctx, tensors, type.getElementType());
  if (!seq)
    return failure();
  if (tensors.empty())
    seq->elementRank = type.getRank() - squeeze;
  ctx.setValueOutput(0, *seq);
  return success();
}

/// Optional: holding the input, or empty of the `type` attribute.
LogicalResult importOptional(ImportContext &ctx) {
  if (ctx.node->input_size() > 0 && !ctx.node->input(0).empty()) {
    std::optional<OnnxValue> v = ctx.valueInput(0);
    if (!v)
      return failure();
    if (v->isOptional())
      return ctx.error("the input is already an optional");
    ValueKind kind = v->kind == ValueKind::Tensor ? ValueKind::OptionalTensor
                                                  : ValueKind::OptionalSequence;
    auto wrapped = coerceValue(ctx, *v, kind, "the input");
    if (!wrapped)
      return failure();
    ctx.setValueOutput(0, *wrapped);
    return success();
  }
  const onnx::AttributeProto *type = ctx.attr("type");
  if (!type || !type->has_tp())
    return ctx.error("an empty Optional needs the 'type' attribute");
  std::string why;
  auto info = valueTypeOf(type->tp(), why);
  if (!info)
    return ctx.error("its type " + why);
  if (info->kind != ValueKind::Tensor && info->kind != ValueKind::Sequence)
    return ctx.error("its type must be a tensor or a sequence");
  Type element = elementOf(ctx, info->dtype);
  if (!element)
    return failure();
  if (info->kind == ValueKind::Tensor && info->rank() < 0)
    return ctx.error("its tensor type has no shape (dlc needs the rank)");
  ctx.setValueOutput(0, absentValue(ctx,
                                    info->kind == ValueKind::Tensor
                                        ? ValueKind::OptionalTensor
                                        : ValueKind::OptionalSequence,
                                    element, info->rank()));
  return success();
}

LogicalResult importOptionalHasElement(ImportContext &ctx) {
  if (ctx.node->input_size() == 0 || ctx.node->input(0).empty()) {
    ctx.setOutput(0, boolScalar(ctx, false));
    return success();
  }
  std::optional<OnnxValue> v = ctx.valueInput(0);
  if (!v)
    return failure();
  ctx.setOutput(0, v->isOptional() ? v->parts.front() : boolScalar(ctx, true));
  return success();
}

LogicalResult importOptionalGetElement(ImportContext &ctx) {
  std::optional<OnnxValue> v = ctx.valueInput(0);
  if (!v)
    return failure();
  if (!v->isOptional()) {
    ctx.setValueOutput(0, *v);
    return success();
  }
  auto element =
      coerceValue(ctx, *v,
                  v->kind == ValueKind::OptionalTensor ? ValueKind::Tensor
                                                       : ValueKind::Sequence,
                  "input '" + ctx.node->input(0) + "'");
  if (!element)
    return failure();
  ctx.setValueOutput(0, *element);
  return success();
}

} // namespace

OnnxValue emptySequence(ImportContext &ctx, Type element) {
  return *constructSequence(ctx, {}, element);
}

OnnxValue absentValue(ImportContext &ctx, ValueKind kind, Type element,
                      int64_t rank) {
  Value absent = boolScalar(ctx, false);
  if (kind == ValueKind::OptionalSequence) {
    OnnxValue seq = emptySequence(ctx, element);
    OnnxValue out{kind, {absent, seq.values(), seq.table()}};
    out.elementRank = seq.elementRank;
    return out;
  }
  Value empty = tensor::EmptyOp::create(ctx.builder, ctx.loc(),
                                        SmallVector<int64_t>(rank, 0), element);
  return OnnxValue{kind, {absent, dynamicDims(ctx, empty)}};
}

std::optional<OnnxValue> coerceValue(ImportContext &ctx, const OnnxValue &value,
                                     ValueKind to, const Twine &what) {
  if (value.kind == to)
    return value;
  OnnxValue out;
  out.kind = to;
  out.elementRank = value.elementRank;
  if ((value.kind == ValueKind::Tensor && to == ValueKind::OptionalTensor) ||
      (value.kind == ValueKind::Sequence &&
       to == ValueKind::OptionalSequence)) {
    out.parts.push_back(boolScalar(ctx, true));
    for (Value part : value.parts)
      out.parts.push_back(
          to == ValueKind::OptionalTensor ? dynamicDims(ctx, part) : part);
    return out;
  }
  if ((value.kind == ValueKind::OptionalTensor && to == ValueKind::Tensor) ||
      (value.kind == ValueKind::OptionalSequence &&
       to == ValueKind::Sequence)) {
    checkPresent(ctx, value.parts.front(), what);
    out.parts.assign(value.parts.begin() + 1, value.parts.end());
    return out;
  }
  (void)ctx.error(what + " is " + valueKindName(value.kind) + ", not " +
                  valueKindName(to));
  return std::nullopt;
}

SmallVector<Value> flattenValues(ArrayRef<OnnxValue> values) {
  SmallVector<Value> flat;
  for (const OnnxValue &v : values)
    llvm::append_range(flat, v.parts);
  return flat;
}

SmallVector<OnnxValue> unflattenValues(ArrayRef<OnnxValue> like,
                                       ValueRange flat) {
  SmallVector<OnnxValue> values;
  size_t next = 0;
  for (const OnnxValue &l : like) {
    OnnxValue v;
    v.kind = l.kind;
    v.elementRank = l.elementRank;
    for (unsigned i = 0; i < OnnxValue::numParts(l.kind); ++i)
      v.parts.push_back(flat[next++]);
    values.push_back(v);
  }
  return values;
}

void addSequenceImporters(std::vector<OpImporter> &table) {
  table.push_back({"SequenceEmpty", "Sequence", 11, "", importSequenceEmpty});
  table.push_back(
      {"SequenceConstruct", "Sequence", 11, "", importSequenceConstruct});
  table.push_back({"SequenceInsert", "Sequence", 11, "", importSequenceInsert});
  table.push_back({"SequenceErase", "Sequence", 11, "", importSequenceErase});
  table.push_back({"SequenceAt", "Sequence", 11,
                   "the rank of the tensors known at compile time",
                   importSequenceAt});
  table.push_back({"SequenceLength", "Sequence", 11, "", importSequenceLength});
  table.push_back({"ConcatFromSequence", "Sequence", 11,
                   "the rank of the tensors known at compile time",
                   importConcatFromSequence});
  table.push_back(
      {"SplitToSequence", "Sequence", 11, "", importSplitToSequence});
  table.push_back({"Optional", "Sequence", 15, "", importOptional});
  table.push_back(
      {"OptionalHasElement", "Sequence", 15, "", importOptionalHasElement});
  table.push_back(
      {"OptionalGetElement", "Sequence", 15, "", importOptionalGetElement});
}

} // namespace dlc::onnx_frontend
