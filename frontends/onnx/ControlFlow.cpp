//===- ControlFlow.cpp - ONNX If, Loop and Scan ---------------------------===//
//
// Subgraphs are imported with the same importers as the main graph, into
// the regions of scf ops: If becomes scf.if (or just the taken branch when
// its condition is a compile-time constant, as it is once shapes are known),
// Loop and Scan become scf.for with their loop-carried values as iter_args.
// Scan outputs are stacked by tensor.insert_slice into a tensor of the trip
// count's size, so shapes stay static.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace dlc::onnx_frontend {

namespace {

std::string shapeText(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

/// `to` holds unsigned integers when `from` does (signedness is tracked
/// beside the values: dlc's integer types are signless).
void inheritUnsigned(ImportContext &ctx, Value from, Value to) {
  if (ctx.unsignedValues.contains(from))
    ctx.unsignedValues.insert(to);
}

/// Imports subgraph `g` at the builder's insertion point with its inputs
/// bound to `inputs`; `outputs` gets the values of its outputs. The node
/// being imported is restored afterwards, so errors after it name the
/// parent node again.
LogicalResult importSubgraph(ImportContext &ctx, const onnx::GraphProto &g,
                             ArrayRef<OnnxValue> inputs,
                             SmallVector<OnnxValue> &outputs) {
  const onnx::NodeProto *parent = ctx.node;
  int parentIndex = ctx.nodeIndex;
  // The subgraph's names shadow the outer ones only while it is imported.
  ImportContext::NameScope scope(ctx);
  if (g.input_size() != static_cast<int>(inputs.size()))
    return ctx.error("subgraph '" + g.name() + "' has " +
                     Twine(g.input_size()) + " inputs, the op gives it " +
                     Twine(inputs.size()));
  for (auto [info, value] : llvm::zip(g.input(), inputs))
    ctx.defineValue(info.name(), value);
  for (const auto &init : g.initializer()) {
    std::string message;
    auto attr = tensorProtoToAttr(ctx.builder.getContext(), init, message,
                                  ctx.modelDir());
    if (failed(attr))
      return ctx.error("subgraph '" + g.name() + "': initializer " + message);
    Value value = arith::ConstantOp::create(ctx.builder, ctx.loc(), *attr);
    ctx.define(init.name(), value);
    if (isUnsignedDType(init.data_type()))
      ctx.unsignedValues.insert(value);
  }
  LogicalResult result = importGraphNodes(ctx, g);
  ctx.node = parent;
  ctx.nodeIndex = parentIndex;
  if (failed(result))
    return failure();
  for (const auto &out : g.output()) {
    std::optional<OnnxValue> v = ctx.lookupValue(out.name());
    if (!v)
      return ctx.error("subgraph '" + g.name() + "' output '" + out.name() +
                       "' is not produced by any node");
    outputs.push_back(*v);
  }
  return success();
}

/// importSubgraph for tensors only.
LogicalResult importSubgraph(ImportContext &ctx, const onnx::GraphProto &g,
                             ValueRange inputs, SmallVector<Value> &outputs) {
  SmallVector<OnnxValue> in, out;
  for (Value v : inputs)
    in.push_back(OnnxValue{ValueKind::Tensor, {v}});
  if (failed(importSubgraph(ctx, g, in, out)))
    return failure();
  for (auto [i, v] : llvm::enumerate(out)) {
    if (v.kind != ValueKind::Tensor)
      return ctx.error("subgraph '" + g.name() + "' output " + Twine(i) +
                       " is " + valueKindName(v.kind) +
                       ", where this op takes tensors");
    outputs.push_back(v.parts.front());
  }
  return success();
}

const onnx::GraphProto *graphAttr(ImportContext &ctx, StringRef name) {
  const onnx::AttributeProto *a = ctx.attr(name);
  if (!a || !a->has_g()) {
    (void)ctx.error("needs the graph attribute '" + name + "'");
    return nullptr;
  }
  return &a->g();
}

/// The one element of a bool or integer tensor as a scalar.
Value extractScalar(ImportContext &ctx, Value tensor) {
  auto type = ImportContext::typeOf(tensor);
  Value zero = arith::ConstantIndexOp::create(ctx.builder, ctx.loc(), 0);
  SmallVector<Value> indices(type.getRank(), zero);
  return tensor::ExtractOp::create(ctx.builder, ctx.loc(), tensor, indices);
}

/// Whether `v` is a compile-time constant whose only element is true.
bool isConstantTrue(Value v) {
  DenseElementsAttr attr;
  return matchPattern(v, m_Constant(&attr)) && attr.getNumElements() == 1 &&
         attr.getElementType().isInteger(1) && *attr.getValues<bool>().begin();
}

LogicalResult importIf(ImportContext &ctx) {
  Value cond = ctx.input(0);
  const onnx::GraphProto *thenGraph = graphAttr(ctx, "then_branch");
  const onnx::GraphProto *elseGraph = graphAttr(ctx, "else_branch");
  if (!cond || !thenGraph || !elseGraph)
    return failure();
  auto condType = ImportContext::typeOf(cond);
  if (!condType.getElementType().isInteger(1) || condType.getNumElements() != 1)
    return ctx.error(
        "the condition must be a bool tensor of one element, not " +
        shapeText(condType));
  int results = ctx.node->output_size();
  auto checkCount = [&](const SmallVector<OnnxValue> &outs, StringRef branch) {
    if (static_cast<int>(outs.size()) == results)
      return success();
    return ctx.error(branch + " gives " + Twine(outs.size()) +
                     " outputs, the node has " + Twine(results));
  };

  // A condition known at compile time (typically from shapes): only the
  // taken branch is imported, inline.
  DenseElementsAttr known;
  if (matchPattern(cond, m_Constant(&known))) {
    bool taken = *known.getValues<bool>().begin();
    SmallVector<OnnxValue> outs;
    if (failed(importSubgraph(ctx, taken ? *thenGraph : *elseGraph,
                              ArrayRef<OnnxValue>{}, outs)) ||
        failed(checkCount(outs, taken ? "then_branch" : "else_branch")))
      return failure();
    for (auto [i, v] : llvm::enumerate(outs))
      ctx.setValueOutput(i, v);
    return success();
  }

  // Otherwise both branches become the regions of an scf.if; its result
  // types are those of the branches, which must agree (static shapes).
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  Value flag = extractScalar(ctx, cond);
  auto scratch =
      scf::IfOp::create(b, loc, TypeRange{}, flag,
                        /*addThenBlock=*/true, /*addElseBlock=*/true);
  SmallVector<OnnxValue> thenValues, elseValues;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(scratch.thenBlock());
    if (failed(importSubgraph(ctx, *thenGraph, ArrayRef<OnnxValue>{},
                              thenValues)) ||
        failed(checkCount(thenValues, "then_branch")))
      return failure();
    b.setInsertionPointToStart(scratch.elseBlock());
    if (failed(importSubgraph(ctx, *elseGraph, ArrayRef<OnnxValue>{},
                              elseValues)) ||
        failed(checkCount(elseValues, "else_branch")))
      return failure();
  }
  for (auto [i, t, e] : llvm::enumerate(thenValues, elseValues)) {
    if (t.kind != e.kind)
      return ctx.error("output " + Twine(i) + " is " + valueKindName(t.kind) +
                       " in then_branch and " + valueKindName(e.kind) +
                       " in else_branch");
    t.elementRank = e.elementRank =
        OnnxValue::joinRanks(t.elementRank, e.elementRank);
  }
  SmallVector<Value> thenOuts = flattenValues(thenValues),
                     elseOuts = flattenValues(elseValues);
  SmallVector<Type> types;
  // The ONNX output each part belongs to, for the messages.
  SmallVector<size_t> outputOf;
  for (auto [i, v] : llvm::enumerate(thenValues))
    outputOf.append(v.parts.size(), i);
  for (auto [i, t, e] : llvm::enumerate(thenOuts, elseOuts)) {
    if (t.getType() != e.getType())
      return ctx.error("output " + Twine(outputOf[i]) + " is " +
                       shapeText(t.getType()) + " in then_branch and " +
                       shapeText(e.getType()) +
                       " in else_branch; dlc needs one static shape");
    types.push_back(t.getType());
  }
  auto ifOp = scf::IfOp::create(b, loc, types, flag, /*addThenBlock=*/false,
                                /*addElseBlock=*/false);
  ifOp.getThenRegion().takeBody(scratch.getThenRegion());
  ifOp.getElseRegion().takeBody(scratch.getElseRegion());
  for (auto [block, outs] : {std::pair(ifOp.thenBlock(), &thenOuts),
                             std::pair(ifOp.elseBlock(), &elseOuts)}) {
    if (!block->empty() && block->back().hasTrait<OpTrait::IsTerminator>())
      block->back().erase();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(block);
    scf::YieldOp::create(b, loc, *outs);
  }
  scratch.erase();
  for (auto [i, v] : llvm::enumerate(ifOp.getResults()))
    inheritUnsigned(ctx, thenOuts[i], v);
  for (auto [i, v] :
       llvm::enumerate(unflattenValues(thenValues, ifOp.getResults())))
    ctx.setValueOutput(i, v);
  return success();
}

/// Stacks the per-iteration values `values` (computed in `loop`'s body) into
/// new results of `loop`: along `axes` (of the stacked rank), at position
/// `positions[k]` of iteration k, in tensors of `count` slices (the trip
/// count: a constant, or a value computed before the loop).
FailureOr<scf::ForOp> stackIntoResults(ImportContext &ctx, scf::ForOp loop,
                                       ArrayRef<Value> values,
                                       ArrayRef<int64_t> axes,
                                       ArrayRef<Value> positions,
                                       OpFoldResult count) {
  if (values.empty())
    return loop;
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  SmallVector<Value> inits;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop);
    for (auto [value, axis] : llvm::zip(values, axes)) {
      auto type = ImportContext::typeOf(value);
      SmallVector<OpFoldResult> sizes;
      for (int64_t size : type.getShape())
        sizes.push_back(b.getIndexAttr(size));
      sizes.insert(sizes.begin() + axis, count);
      // A count known at run time is checked there (importLoop).
      SmallVector<int64_t> shape(type.getShape());
      shape.insert(shape.begin() + axis,
                   getConstantIntValue(count).value_or(1));
      if (failed(ctx.checkShape(shape, "a stacked output")))
        return failure();
      inits.push_back(
          tensor::EmptyOp::create(b, loc, sizes, type.getElementType()));
    }
  }
  IRRewriter rewriter(b);
  auto yields = [&](OpBuilder &yb, Location, ArrayRef<BlockArgument> stacks) {
    SmallVector<Value> updated;
    for (auto [value, stack, axis, position] :
         llvm::zip(values, stacks, axes, positions)) {
      auto type = ImportContext::typeOf(value);
      int64_t rank = type.getRank() + 1;
      SmallVector<OpFoldResult> offsets(rank, yb.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(rank, yb.getIndexAttr(1));
      for (int64_t d = 0, s = 0; d < rank; ++d)
        sizes.push_back(yb.getIndexAttr(d == axis ? 1 : type.getDimSize(s++)));
      offsets[axis] = position;
      updated.push_back(tensor::InsertSliceOp::create(yb, loc, value, stack,
                                                      offsets, sizes, strides));
    }
    return updated;
  };
  auto grown = loop.replaceWithAdditionalYields(
      rewriter, inits, /*replaceInitOperandUsesInLoop=*/false, yields);
  if (failed(grown))
    return ctx.error("cannot stack the scan outputs");
  return cast<scf::ForOp>(grown->getOperation());
}

/// Checks that each loop-carried value keeps its type across an iteration,
/// and returns the values for the next one. A value whose dims the body
/// computes at run time (a Slice at the iteration's index) is checked there:
/// a size other than the carried one is reported and the value is not
/// carried on.
FailureOr<SmallVector<Value>>
checkCarried(ImportContext &ctx, ValueRange before, ArrayRef<Value> after) {
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  SmallVector<Value> next;
  for (auto [i, in, out] : llvm::enumerate(before, after)) {
    auto inType = cast<RankedTensorType>(in.getType());
    auto outType = cast<RankedTensorType>(out.getType());
    if (inType == outType) {
      next.push_back(out);
      continue;
    }
    if (!inType.hasStaticShape() || !tensor::CastOp::areCastCompatible(
                                        TypeRange{outType}, TypeRange{inType}))
      return ctx.error("loop-carried value " + Twine(i) + " changes from " +
                       shapeText(inType) + " to " + shapeText(outType) +
                       " in an iteration; dlc needs one static shape");
    Value same = arith::ConstantIntOp::create(b, loc, 1, 1);
    for (int64_t d = 0; d < outType.getRank(); ++d) {
      if (!outType.isDynamicDim(d))
        continue;
      Value size = tensor::DimOp::create(b, loc, out, d);
      Value expected =
          arith::ConstantIndexOp::create(b, loc, inType.getDimSize(d));
      same = arith::AndIOp::create(
          b, loc, same,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size,
                                expected));
    }
    ctx.reportIf(
        arith::XOrIOp::create(b, loc, same,
                              arith::ConstantIntOp::create(b, loc, 1, 1)),
        "loop-carried value " + Twine(i) + " of " + shapeText(inType) +
            " changes its shape in an iteration; dlc needs one static shape");
    auto keep = scf::IfOp::create(b, loc, TypeRange{inType}, same,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(keep.thenBlock());
      scf::YieldOp::create(
          b, loc, ValueRange{tensor::CastOp::create(b, loc, inType, out)});
      b.setInsertionPointToStart(keep.elseBlock());
      scf::YieldOp::create(b, loc, in);
    }
    inheritUnsigned(ctx, out, keep.getResult(0));
    next.push_back(keep.getResult(0));
  }
  return next;
}

/// Whether a Loop body returns the condition it is given (directly or
/// through Identity nodes) or a constant true: then only the trip count
/// stops the loop.
bool bodyKeepsCondition(const onnx::GraphProto &body) {
  if (body.input_size() < 2 || body.output_size() < 1)
    return false;
  std::string name = body.output(0).name();
  for (int hops = 0; hops <= body.node_size(); ++hops) {
    if (name == body.input(1).name())
      return true;
    const onnx::NodeProto *producer = nullptr;
    for (const auto &node : body.node())
      for (const auto &out : node.output())
        if (out == name)
          producer = &node;
    if (!producer)
      return false;
    if (producer->op_type() == "Identity" && producer->input_size() == 1) {
      name = producer->input(0);
      continue;
    }
    if (producer->op_type() == "Constant")
      for (const auto &a : producer->attribute())
        if (a.name() == "value" && a.has_t() &&
            a.t().data_type() == onnx::TensorProto::BOOL)
          return (a.t().int32_data_size() == 1 && a.t().int32_data(0) != 0) ||
                 (a.t().raw_data().size() == 1 && a.t().raw_data()[0] != 0);
    return false;
  }
  return false;
}

/// Imports a Loop body on (iteration, condition, carried values as the
/// loop's block arguments `args`); returns its outputs flat: the condition,
/// the carried values' parts (each as the kind it is carried as: a
/// sequence the body makes of an optional one is wrapped again), then the
/// scan outputs, which must be tensors. A carried sequence's element rank
/// becomes that of its initial value and the body's output together; the
/// body itself sees the initial value's (SequenceAt checks it at run time).
FailureOr<SmallVector<Value>>
importLoopBody(ImportContext &ctx, const onnx::GraphProto &body,
               Value iteration, Value cond, SmallVectorImpl<OnnxValue> &carried,
               ValueRange args) {
  SmallVector<OnnxValue> inputs = {OnnxValue{ValueKind::Tensor, {iteration}},
                                   OnnxValue{ValueKind::Tensor, {cond}}};
  llvm::append_range(inputs, unflattenValues(carried, args));
  SmallVector<OnnxValue> outs;
  if (failed(importSubgraph(ctx, body, inputs, outs)))
    return failure();
  if (outs.size() < 1 + carried.size())
    return ctx.error("the body has " + Twine(outs.size()) +
                     " outputs; it needs the condition and " +
                     Twine(carried.size()) + " loop-carried values");
  SmallVector<Value> flat;
  for (auto [i, out] : llvm::enumerate(outs)) {
    bool isCarried = i >= 1 && i <= carried.size();
    if (!isCarried) {
      if (out.kind != ValueKind::Tensor)
        return ctx.error("body output " + Twine(i) + " is " +
                         valueKindName(out.kind) +
                         ", where Loop takes a tensor");
      flat.push_back(out.parts.front());
      continue;
    }
    auto coerced = coerceValue(ctx, out, carried[i - 1].kind,
                               "loop-carried value " + Twine(i - 1));
    if (!coerced)
      return failure();
    carried[i - 1].elementRank =
        OnnxValue::joinRanks(carried[i - 1].elementRank, coerced->elementRank);
    llvm::append_range(flat, coerced->parts);
  }
  return flat;
}

/// Sets a Loop's outputs: its carried values (sequences and optionals
/// regrouped from their parts), then its scan outputs.
void setLoopOutputs(ImportContext &ctx, ArrayRef<OnnxValue> carried,
                    ValueRange results) {
  SmallVector<OnnxValue> values = unflattenValues(carried, results);
  size_t used = flattenValues(carried).size();
  for (auto [i, v] : llvm::enumerate(values))
    ctx.setValueOutput(i, v);
  for (auto [i, v] : llvm::enumerate(results.drop_front(used)))
    ctx.setOutput(values.size() + i, v);
}

/// A Loop as scf.while over (iteration, condition, carried values...): it
/// runs while the condition holds and, with a trip count, the iteration is
/// below it. The body's condition output is the next condition.
LogicalResult importWhileLoop(ImportContext &ctx, const onnx::GraphProto &body,
                              std::optional<Value> maxTrips,
                              std::optional<Value> initialCond,
                              ArrayRef<OnnxValue> initialValues,
                              int64_t numScans) {
  SmallVector<OnnxValue> carriedValues(initialValues);
  SmallVector<Value> carried = flattenValues(carriedValues);
  if (numScans)
    return ctx.error("scan outputs of a Loop that may stop on its condition "
                     "are not supported (their length is known only at run "
                     "time)");
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  Type i64 = b.getI64Type(), i1 = b.getI1Type();
  Value limit = maxTrips ? extractScalar(ctx, *maxTrips) : Value();
  SmallVector<Value> inits = {
      arith::ConstantIntOp::create(b, loc, 0, 64),
      initialCond ? extractScalar(ctx, *initialCond)
                  : arith::ConstantIntOp::create(b, loc, 1, 1).getResult()};
  llvm::append_range(inits, carried);
  SmallVector<Type> types = llvm::to_vector(ValueRange(inits).getTypes());
  SmallVector<Location> locs(types.size(), loc);
  auto loop = scf::WhileOp::create(b, loc, types, inits);
  {
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&loop.getBefore(), {}, types, locs);
    Value go = before->getArgument(1);
    if (limit)
      go = arith::AndIOp::create(
          b, loc, go,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                before->getArgument(0), limit));
    scf::ConditionOp::create(b, loc, go, before->getArguments());

    Block *after = b.createBlock(&loop.getAfter(), {}, types, locs);
    auto scalarTensor = [&](Value v, Type elem) -> Value {
      return tensor::FromElementsOp::create(b, loc,
                                            RankedTensorType::get({}, elem), v);
    };
    for (auto [k, init] : llvm::enumerate(carried))
      inheritUnsigned(ctx, init, after->getArgument(2 + k));
    auto bodyOuts =
        importLoopBody(ctx, body, scalarTensor(after->getArgument(0), i64),
                       scalarTensor(after->getArgument(1), i1), carriedValues,
                       after->getArguments().drop_front(2));
    if (failed(bodyOuts))
      return failure();
    SmallVector<Value> outs = std::move(*bodyOuts);
    auto condType = ImportContext::typeOf(outs.front());
    if (!condType.getElementType().isInteger(1) ||
        condType.getNumElements() != 1)
      return ctx.error("the body's condition must be a bool tensor of one "
                       "element");
    auto next = checkCarried(ctx, after->getArguments().drop_front(2),
                             ArrayRef<Value>(outs).slice(1, carried.size()));
    if (failed(next))
      return failure();
    SmallVector<Value> yields = {
        arith::AddIOp::create(b, loc, after->getArgument(0),
                              arith::ConstantIntOp::create(b, loc, 1, 64)),
        extractScalar(ctx, outs.front())};
    llvm::append_range(yields, *next);
    scf::YieldOp::create(b, loc, yields);
  }
  for (auto [i, v] : llvm::enumerate(loop.getResults().drop_front(2)))
    inheritUnsigned(ctx, carried[i], v);
  setLoopOutputs(ctx, carriedValues, loop.getResults().drop_front(2));
  return success();
}

LogicalResult importLoop(ImportContext &ctx) {
  const onnx::GraphProto *body = graphAttr(ctx, "body");
  if (!body)
    return failure();
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  std::optional<Value> maxTrips = ctx.optionalInput(0);
  std::optional<Value> initialCond = ctx.optionalInput(1);
  if (!ctx.errors.empty())
    return failure();
  SmallVector<OnnxValue> carriedValues;
  for (int i = 2; i < ctx.node->input_size(); ++i) {
    std::optional<OnnxValue> v = ctx.valueInput(i);
    if (!v)
      return failure();
    carriedValues.push_back(*v);
  }
  // Sequences and optionals are carried as their parts.
  SmallVector<Value> carried = flattenValues(carriedValues);
  int64_t numCarried = carriedValues.size();
  if (body->output_size() < 1 + numCarried)
    return ctx.error("the body has " + Twine(body->output_size()) +
                     " outputs; it needs the condition and " +
                     Twine(numCarried) + " loop-carried values");
  int64_t numScans = body->output_size() - 1 - numCarried;
  if (maxTrips) {
    auto tripType = ImportContext::typeOf(*maxTrips);
    if (!tripType.getElementType().isInteger(64) ||
        tripType.getNumElements() != 1)
      return ctx.error("'M' must be an int64 tensor of one element");
  }
  if (initialCond) {
    auto condType = ImportContext::typeOf(*initialCond);
    if (!condType.getElementType().isInteger(1) ||
        condType.getNumElements() != 1)
      return ctx.error("'cond' must be a bool tensor of one element");
  }
  // A loop that may stop on its condition (no trip count, or one the body
  // computes) is a while loop. One whose body passes its condition on runs
  // the trip count, or not at all when the first condition is false.
  if (!maxTrips || !bodyKeepsCondition(*body))
    return importWhileLoop(ctx, *body, maxTrips, initialCond, carriedValues,
                           numScans);

  // The trip count: a compile-time constant, or computed at run time (then
  // scan outputs are as long as it says).
  DenseElementsAttr condAttr;
  bool knownCond =
      !initialCond || matchPattern(*initialCond, m_Constant(&condAttr));
  std::optional<int64_t> trips;
  DenseIntElementsAttr tripAttr;
  if (matchPattern(*maxTrips, m_Constant(&tripAttr)))
    trips = std::max<int64_t>(
        0, (*tripAttr.getValues<APInt>().begin()).getSExtValue());
  if (knownCond && initialCond && !*condAttr.getValues<bool>().begin())
    trips = 0;
  if (trips && !knownCond && *trips)
    trips.reset();
  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper;
  if (trips) {
    upper = arith::ConstantIndexOp::create(b, loc, *trips);
  } else {
    Value count = extractScalar(ctx, *maxTrips);
    Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
    count = arith::MaxSIOp::create(b, loc, count, zero);
    if (!knownCond)
      count = arith::SelectOp::create(b, loc, extractScalar(ctx, *initialCond),
                                      count, zero);
    upper = arith::IndexCastOp::create(b, loc, b.getIndexType(), count);
  }
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lower, upper, step, carried);
  SmallVector<Value> outs;
  SmallVector<Value> positions;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value iv = loop.getInductionVar();
    Value iteration = arith::IndexCastOp::create(b, loc, b.getI64Type(), iv);
    Value iterationTensor = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getI64Type()), iteration);
    Value condTrue = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, b.getI1Type()), true));
    for (auto [init, arg] : llvm::zip(carried, loop.getRegionIterArgs()))
      inheritUnsigned(ctx, init, arg);
    auto bodyOuts = importLoopBody(ctx, *body, iterationTensor, condTrue,
                                   carriedValues, loop.getRegionIterArgs());
    if (failed(bodyOuts))
      return failure();
    outs = std::move(*bodyOuts);
    if (outs.front() != condTrue && !isConstantTrue(outs.front()))
      return ctx.error("the body's condition is not the one it was given");
    size_t flatCarried = carried.size();
    auto next = checkCarried(ctx, loop.getRegionIterArgs(),
                             ArrayRef<Value>(outs).slice(1, flatCarried));
    if (failed(next))
      return failure();
    // A scan output that is a loop-carried value has its carried shape.
    for (Value &scanned :
         MutableArrayRef<Value>(outs).drop_front(1 + flatCarried))
      for (auto [carriedOut, checked] :
           llvm::zip(ArrayRef<Value>(outs).slice(1, flatCarried), *next))
        if (scanned == carriedOut)
          scanned = checked;
    scf::YieldOp::create(b, loc, *next);
    positions.assign(numScans, iv);
  }
  if (!trips && numScans) {
    // Scan outputs hold a slice per iteration: a trip count that would make
    // one larger than a tensor may be is reported, and the loop does not
    // run.
    int64_t sliceElements = 1;
    for (Value v : ArrayRef<Value>(outs).drop_front(1 + carried.size())) {
      auto type = ImportContext::typeOf(v);
      if (!type.hasStaticShape())
        return ctx.error("a scan output of " + shapeText(type) +
                         " has dims known only at run time; dlc stacks "
                         "slices of one static shape");
      sliceElements = std::max<int64_t>(sliceElements, type.getNumElements());
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop);
    Value count = arith::IndexCastOp::create(b, loc, b.getI64Type(), upper);
    Value countTensor = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({1}, b.getI64Type()), count);
    int64_t cap = kMaxTensorElements / sliceElements;
    graph::CheckIndicesOp::create(
        b, loc, countTensor, 0, cap + 1,
        ctx.runtimeMessage("the trip count would make scan outputs of more "
                           "than " +
                           Twine(kMaxTensorElements) + " elements"),
        IntegerAttr());
    Value tooMany =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, upper,
                              arith::ConstantIndexOp::create(b, loc, cap));
    upper = arith::SelectOp::create(
        b, loc, tooMany, arith::ConstantIndexOp::create(b, loc, 0), upper);
    loop.getUpperBoundMutable().assign(upper);
  }
  SmallVector<int64_t> axes(numScans, 0);
  auto stacked = stackIntoResults(
      ctx, loop, ArrayRef<Value>(outs).drop_front(1 + carried.size()), axes,
      positions,
      trips ? OpFoldResult(b.getIndexAttr(*trips)) : OpFoldResult(upper));
  if (failed(stacked))
    return failure();
  for (auto [i, v] : llvm::enumerate(stacked->getResults()))
    inheritUnsigned(ctx, i < carried.size() ? carried[i] : outs[1 + i], v);
  setLoopOutputs(ctx, carriedValues, stacked->getResults());
  return success();
}

/// Scan's loop (opset 9 on): `body` over the slices of `scanned` along
/// `inAxes` (reversed where `inDirs` says), carrying `states`; its scan
/// outputs stacked along `outAxes`. The results: the final states, then the
/// stacked outputs.
FailureOr<SmallVector<Value>>
buildScan(ImportContext &ctx, const onnx::GraphProto &body,
          ArrayRef<Value> states, ArrayRef<Value> scanned,
          SmallVector<int64_t> inAxes, ArrayRef<int64_t> inDirs,
          SmallVector<int64_t> outAxes, ArrayRef<int64_t> outDirs) {
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  int64_t numStates = states.size();
  int64_t numScanOutputs = outAxes.size();
  // Every scan input is sliced along its axis; they agree on the length.
  int64_t length = -1;
  for (auto [k, v] : llvm::enumerate(scanned)) {
    auto type = ImportContext::typeOf(v);
    if (type.getRank() == 0)
      return ctx.error("scan input " + Twine(k) +
                       " is a scalar; it needs an "
                       "axis to scan");
    auto axis = ctx.normalizeAxis(inAxes[k], type.getRank());
    if (!axis)
      return failure();
    inAxes[k] = *axis;
    int64_t size = type.getDimSize(*axis);
    if (length >= 0 && size != length)
      return ctx.error("scan inputs have lengths " + Twine(length) + " and " +
                       Twine(size) + " along their scan axes");
    length = size;
  }

  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, length);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lower, upper, step, states);
  SmallVector<Value> outs, positions;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value iv = loop.getInductionVar();
    Value last = arith::ConstantIndexOp::create(b, loc, length - 1);
    Value reversed = arith::SubIOp::create(b, loc, last, iv);
    SmallVector<Value> inputs(loop.getRegionIterArgs());
    for (auto [init, arg] : llvm::zip(states, loop.getRegionIterArgs()))
      inheritUnsigned(ctx, init, arg);
    for (auto [k, v] : llvm::enumerate(scanned)) {
      auto type = ImportContext::typeOf(v);
      int64_t rank = type.getRank();
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(rank, b.getIndexAttr(1));
      SmallVector<int64_t> sliceShape;
      for (int64_t d = 0; d < rank; ++d) {
        sizes.push_back(
            b.getIndexAttr(d == inAxes[k] ? 1 : type.getDimSize(d)));
        if (d != inAxes[k])
          sliceShape.push_back(type.getDimSize(d));
      }
      offsets[inAxes[k]] = inDirs[k] ? reversed : iv;
      inputs.push_back(tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get(sliceShape, type.getElementType()), v,
          offsets, sizes, strides));
      inheritUnsigned(ctx, v, inputs.back());
    }
    if (failed(importSubgraph(ctx, body, inputs, outs)))
      return failure();
    auto next = checkCarried(ctx, loop.getRegionIterArgs(),
                             ArrayRef<Value>(outs).take_front(numStates));
    if (failed(next))
      return failure();
    scf::YieldOp::create(b, loc, *next);
    for (int64_t k = 0; k < numScanOutputs; ++k)
      positions.push_back(outDirs[k] ? reversed : iv);
  }
  ArrayRef<Value> perIteration = ArrayRef<Value>(outs).drop_front(numStates);
  for (auto [k, v] : llvm::enumerate(perIteration)) {
    auto axis =
        ctx.normalizeAxis(outAxes[k], ImportContext::typeOf(v).getRank() + 1);
    if (!axis)
      return failure();
    outAxes[k] = *axis;
  }
  auto stacked = stackIntoResults(ctx, loop, perIteration, outAxes, positions,
                                  b.getIndexAttr(length));
  if (failed(stacked))
    return failure();
  SmallVector<Value> results;
  for (auto [i, v] : llvm::enumerate(stacked->getResults())) {
    inheritUnsigned(ctx, i < states.size() ? states[i] : outs[i], v);
    results.push_back(v);
  }
  return results;
}

/// Scan before opset 9: a batch dim first in the states [B, ...] and scan
/// inputs [B, T, ...], scanned along dim 1 (`directions` per scan input);
/// the scan outputs [B, T, ...] in iteration order. Each sample is a Scan of
/// its own, as opset 9 defines them; sequence_lens shorter than T are not
/// supported.
LogicalResult importScan8(ImportContext &ctx, const onnx::GraphProto &body) {
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  int64_t numScanInputs = ctx.intAttr("num_scan_inputs", -1);
  int64_t numInputs = ctx.node->input_size() - 1;
  if (numScanInputs < 1 || numScanInputs > numInputs)
    return ctx.error("'num_scan_inputs' must be between 1 and the number of "
                     "inputs after sequence_lens");
  int64_t numStates = numInputs - numScanInputs;
  int64_t numScanOutputs = body.output_size() - numStates;
  if (numScanOutputs < 0 || ctx.node->output_size() > body.output_size())
    return ctx.error("the body's outputs do not match the node's");
  SmallVector<int64_t> dirs = ctx.intsAttr("directions");
  if (dirs.empty())
    dirs.assign(numScanInputs, 0);
  if (static_cast<int64_t>(dirs.size()) != numScanInputs)
    return ctx.error("'directions' must have one entry per scan input");
  SmallVector<Value> inputs;
  for (int64_t i = 0; i < numInputs; ++i) {
    Value v = ctx.input(i + 1);
    if (!v)
      return failure();
    auto type = ImportContext::typeOf(v);
    if (type.getRank() < (i < numStates ? 1 : 2) || !type.hasStaticShape())
      return ctx.error("input " + Twine(i + 1) + " needs a static batch dim" +
                       (i < numStates ? "" : " and a sequence dim"));
    inputs.push_back(v);
  }
  int64_t batch = ImportContext::typeOf(inputs.front()).getDimSize(0);
  if (batch == 0)
    return ctx.error("a batch of 0 samples is not supported");
  for (Value v : inputs)
    if (ImportContext::typeOf(v).getDimSize(0) != batch)
      return ctx.error("the inputs' batch dims differ");
  std::optional<Value> lens = ctx.optionalInput(0);
  if (!ctx.errors.empty())
    return failure();
  if (lens) {
    // Lengths of the whole sequence are the default; others are refused.
    int64_t length = ImportContext::typeOf(inputs.back()).getDimSize(1);
    auto values = ctx.constantInts(0);
    if (!values)
      return failure();
    if (llvm::any_of(*values, [&](int64_t n) { return n != length; }))
      return ctx.error("sequence_lens other than the sequence length are "
                       "not supported");
  }
  // Sample `n` of `v` without its batch dim.
  auto sample = [&](Value v, int64_t n) -> Value {
    auto type = ImportContext::typeOf(v);
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(rank, b.getIndexAttr(1));
    offsets[0] = b.getIndexAttr(n);
    sizes.push_back(b.getIndexAttr(1));
    for (int64_t size : type.getShape().drop_front())
      sizes.push_back(b.getIndexAttr(size));
    auto sliceType = RankedTensorType::get(type.getShape().drop_front(),
                                           type.getElementType());
    Value slice = tensor::ExtractSliceOp::create(b, loc, sliceType, v, offsets,
                                                 sizes, strides);
    inheritUnsigned(ctx, v, slice);
    return slice;
  };
  SmallVector<Value> results;
  for (int64_t n = 0; n < batch; ++n) {
    SmallVector<Value> states, scanned;
    for (auto [i, v] : llvm::enumerate(inputs))
      (static_cast<int64_t>(i) < numStates ? states : scanned)
          .push_back(sample(v, n));
    auto sampleResults = buildScan(ctx, body, states, scanned,
                                   SmallVector<int64_t>(numScanInputs, 0), dirs,
                                   SmallVector<int64_t>(numScanOutputs, 0),
                                   SmallVector<int64_t>(numScanOutputs, 0));
    if (failed(sampleResults))
      return failure();
    if (n == 0)
      for (Value v : *sampleResults) {
        auto type = ImportContext::typeOf(v);
        SmallVector<int64_t> shape = {batch};
        llvm::append_range(shape, type.getShape());
        results.push_back(
            tensor::EmptyOp::create(b, loc, shape, type.getElementType()));
      }
    for (auto [result, v] : llvm::zip(results, *sampleResults)) {
      auto type = ImportContext::typeOf(v);
      int64_t rank = type.getRank() + 1;
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(rank, b.getIndexAttr(1));
      offsets[0] = b.getIndexAttr(n);
      sizes.push_back(b.getIndexAttr(1));
      for (int64_t size : type.getShape())
        sizes.push_back(b.getIndexAttr(size));
      result = tensor::InsertSliceOp::create(b, loc, v, result, offsets, sizes,
                                             strides);
      inheritUnsigned(ctx, v, result);
    }
  }
  for (auto [i, v] : llvm::enumerate(results))
    ctx.setOutput(i, v);
  return success();
}

LogicalResult importScan(ImportContext &ctx) {
  const onnx::GraphProto *body = graphAttr(ctx, "body");
  if (!body)
    return failure();
  if (ctx.opset < 9)
    return importScan8(ctx, *body);
  int64_t numScanInputs = ctx.intAttr("num_scan_inputs", -1);
  int64_t numInputs = ctx.node->input_size();
  if (numScanInputs < 1 || numScanInputs > numInputs)
    return ctx.error("'num_scan_inputs' must be between 1 and the number of "
                     "inputs");
  int64_t numStates = numInputs - numScanInputs;
  int64_t numScanOutputs = body->output_size() - numStates;
  if (numScanOutputs < 0 || ctx.node->output_size() > body->output_size())
    return ctx.error("the body's outputs do not match the node's");
  auto listAttr = [&](StringRef name, int64_t size) {
    SmallVector<int64_t> values = ctx.intsAttr(name);
    if (values.empty())
      values.assign(size, 0);
    return values;
  };
  SmallVector<int64_t> inAxes = listAttr("scan_input_axes", numScanInputs);
  SmallVector<int64_t> inDirs =
      listAttr("scan_input_directions", numScanInputs);
  SmallVector<int64_t> outAxes = listAttr("scan_output_axes", numScanOutputs);
  SmallVector<int64_t> outDirs =
      listAttr("scan_output_directions", numScanOutputs);
  if (static_cast<int64_t>(inAxes.size()) != numScanInputs ||
      static_cast<int64_t>(inDirs.size()) != numScanInputs ||
      static_cast<int64_t>(outAxes.size()) != numScanOutputs ||
      static_cast<int64_t>(outDirs.size()) != numScanOutputs)
    return ctx.error("the scan axes and directions must have one entry per "
                     "scan input and output");

  SmallVector<Value> states, scanned;
  for (int64_t i = 0; i < numInputs; ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    (i < numStates ? states : scanned).push_back(v);
  }
  auto results =
      buildScan(ctx, *body, states, scanned, inAxes, inDirs, outAxes, outDirs);
  if (failed(results))
    return failure();
  for (auto [i, v] : llvm::enumerate(*results))
    ctx.setOutput(i, v);
  return success();
}

} // namespace

/// SequenceMap: an scf.for over the positions of the first sequence (the
/// others must be as long) running the body on the tensors there (tensor
/// inputs whole), its outputs appended to sequences of the body's declared
/// output dtypes.
LogicalResult importSequenceMap(ImportContext &ctx) {
  const onnx::GraphProto *body = graphAttr(ctx, "body");
  if (!body)
    return failure();
  SmallVector<OnnxValue> inputs;
  for (int i = 0; i < ctx.node->input_size(); ++i) {
    std::optional<OnnxValue> v =
        i == 0 ? ctx.sequenceInput(i) : ctx.valueInput(i);
    if (!v)
      return failure();
    if (v->isOptional())
      return ctx.error("input '" + ctx.node->input(i) + "' is " +
                       valueKindName(v->kind) +
                       "; SequenceMap takes sequences and tensors");
    inputs.push_back(*v);
  }
  if (body->input_size() != static_cast<int>(inputs.size()))
    return ctx.error("the body has " + Twine(body->input_size()) +
                     " inputs, the node " + Twine(inputs.size()));
  OpBuilder &b = ctx.builder;
  Location loc = ctx.loc();
  auto lengthOf = [&](const OnnxValue &seq) -> Value {
    Value length = ctx.build<graph::RuntimeSequenceLengthOp>(seq.table());
    return length ? extractScalar(ctx, length) : Value();
  };
  Value length = lengthOf(inputs.front());
  if (!length)
    return failure();
  for (auto [i, v] : llvm::enumerate(inputs))
    if (i > 0 && v.kind == ValueKind::Sequence)
      ctx.reportIf(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                         lengthOf(v), length),
                   "input '" + ctx.node->input(i) +
                       "' is not as long as the first sequence");
  SmallVector<OnnxValue> results;
  for (const auto &out : body->output()) {
    std::string why;
    auto info = valueTypeOf(out.type(), why);
    Type element = info && info->kind == ValueKind::Tensor
                       ? elementTypeOf(b.getContext(), info->dtype)
                       : Type();
    if (!element)
      return ctx.error("body output '" + out.name() +
                       "' needs a declared tensor dtype");
    results.push_back(emptySequence(ctx, element));
    results.back().elementRank =
        info->rank() >= 0 ? info->rank() : OnnxValue::kNoTensors;
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value upper = arith::IndexCastOp::create(b, loc, b.getIndexType(), length);
  auto loop =
      scf::ForOp::create(b, loc, zero, upper, one, flattenValues(results));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value position = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getI64Type()),
        ValueRange{arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                              loop.getInductionVar())});
    SmallVector<OnnxValue> bodyInputs;
    for (auto [i, v] : llvm::enumerate(inputs)) {
      if (v.kind == ValueKind::Tensor) {
        bodyInputs.push_back(v);
        continue;
      }
      std::string why;
      auto declared = valueTypeOf(body->input(i).type(), why);
      int64_t rank =
          declared && declared->rank() >= 0 ? declared->rank() : v.elementRank;
      if (rank < 0)
        return ctx.error("the rank of input '" + ctx.node->input(i) +
                         "''s tensors is not known at compile time (dlc "
                         "needs it, or the body input's shape)");
      Value at = ctx.build<graph::RuntimeSequenceAtOp>(
          v.values(), v.table(), position, rank,
          ctx.runtimeMessage("a tensor of input '" + ctx.node->input(i) +
                             "' is not of rank " + Twine(rank)),
          IntegerAttr());
      if (!at)
        return failure();
      // Sizes of the tensors there: a broadcast against another input's
      // checks them at run time (checkDynamicOperands).
      SmallVector<int64_t> symbols;
      for (int64_t d = 0; d < rank; ++d)
        symbols.push_back(ctx.newDimSymbol(at, d, ""));
      ctx.dimSymbols[at] = symbols;
      bodyInputs.push_back(OnnxValue{ValueKind::Tensor, {at}});
    }
    SmallVector<OnnxValue> outs;
    if (failed(importSubgraph(ctx, *body, bodyInputs, outs)))
      return failure();
    SmallVector<OnnxValue> carried =
        unflattenValues(results, loop.getRegionIterArgs());
    SmallVector<Value> yields;
    for (auto [j, out] : llvm::enumerate(outs)) {
      if (out.kind != ValueKind::Tensor)
        return ctx.error("body output " + Twine(j) + " is " +
                         valueKindName(out.kind) + ", not a tensor");
      auto insert = graph::RuntimeSequenceInsertOp::create(
          b, loc, TypeRange{b.getNoneType(), b.getNoneType()},
          carried[j].values(), carried[j].table(), out.parts.front(), Value(),
          ctx.runtimeMessage("the position is outside the sequence"),
          IntegerAttr());
      if (failed(ctx.inferResultTypes(insert)))
        return failure();
      yields.append({insert.getNewValues(), insert.getNewTable()});
      results[j].elementRank = OnnxValue::joinRanks(
          results[j].elementRank,
          ImportContext::typeOf(out.parts.front()).getRank());
    }
    scf::YieldOp::create(b, loc, yields);
  }
  for (auto [i, v] :
       llvm::enumerate(unflattenValues(results, loop.getResults())))
    ctx.setValueOutput(i, v);
  return success();
}

void addControlFlowImporters(std::vector<OpImporter> &table) {
  table.push_back({"SequenceMap", "ControlFlow", 17,
                   "the rank of each sequence's tensors known at compile "
                   "time",
                   importSequenceMap});
  table.push_back({"If", "ControlFlow", 1,
                   "folded to the taken branch when the condition is known "
                   "at compile time; otherwise scf.if (branches of one shape)",
                   importIf});
  table.push_back({"Loop", "ControlFlow", 1,
                   "scf.for with a trip count (scan outputs as long as it "
                   "is at run time), scf.while when the body's condition can "
                   "stop it (no scan outputs)",
                   importLoop});
  table.push_back({"Scan", "ControlFlow", 8,
                   "scan axes and directions; outputs stacked along any axis; "
                   "opset 8's batch dim (sequence_lens of the full length)",
                   importScan});
}

} // namespace dlc::onnx_frontend
