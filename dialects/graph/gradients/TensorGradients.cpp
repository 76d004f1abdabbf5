//===- TensorGradients.cpp - rules of data movement and reductions --------===//
//
// Data movement moves gradients the other way (a reshape back, a slice
// padded, a concat sliced); gathers become scatter-adds, so that an element
// read several times receives the sum of its gradients; reductions stretch
// their gradient back over what they reduced.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/GraphGradient.h"

using namespace mlir;

namespace dlc::graph {
namespace {

using Grads = SmallVectorImpl<Value>;
using GB = GradientBuilder;

LogicalResult reshapeRule(ReshapeOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.reshape(g[0], GB::typeOf(op.getInput()).getShape());
  return success();
}

LogicalResult transposeRule(TransposeOp op, GB &b, ArrayRef<Value> g,
                            Grads &out) {
  ArrayRef<int64_t> perm = op.getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = static_cast<int64_t>(i);
  out[0] = b.transpose(g[0], inverse);
  return success();
}

LogicalResult expandRule(ExpandOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  out[0] = b.sumToShape(g[0], GB::typeOf(op.getInput()));
  return success();
}

LogicalResult concatRule(ConcatOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto type = GB::typeOf(g[0]);
  int64_t axis = op.getAxis(), offset = 0;
  for (auto [i, input] : llvm::enumerate(op.getInputs())) {
    auto inType = GB::typeOf(input);
    SmallVector<int64_t> starts(type.getRank(), 0), steps(type.getRank(), 1);
    starts[axis] = offset;
    offset += inType.getDimSize(axis);
    out[i] = b.slice(g[0], starts, inType.getShape(), steps);
  }
  return success();
}

LogicalResult sliceRule(SliceOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto inType = GB::typeOf(op.getInput());
  ArrayRef<int64_t> starts = op.getStarts(), sizes = op.getSizes(),
                    steps = op.getSteps();
  int64_t rank = inType.getRank();
  if (llvm::any_of(steps, [](int64_t s) { return s != 1; }))
    return op.emitOpError("gradient of a strided slice is not supported yet");
  SmallVector<int64_t> pads(2 * rank);
  for (int64_t d = 0; d < rank; ++d) {
    pads[d] = starts[d];
    pads[rank + d] = inType.getDimSize(d) - starts[d] - sizes[d];
  }
  out[0] = b.pad(g[0], pads, 0.0);
  return success();
}

LogicalResult padRule(PadOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  if (op.getMode() != "constant")
    return op.emitOpError("gradient of ") << op.getMode()
                                          << " padding is not supported yet";
  auto inType = GB::typeOf(op.getInput());
  ArrayRef<int64_t> pads = op.getPads();
  int64_t rank = inType.getRank();
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return op.emitOpError("gradient of a cropping pad is not supported yet");
  SmallVector<int64_t> starts(pads.begin(), pads.begin() + rank),
      steps(rank, 1);
  out[0] = b.slice(g[0], starts, inType.getShape(), steps);
  return success();
}

LogicalResult gatherElementsRule(GatherElementsOp op, GB &b,
                                 ArrayRef<Value> g, Grads &out) {
  Value zeros = b.zerosLike(op.getData());
  out[0] = ScatterElementsOp::create(b.b, b.loc, zeros, op.getIndices(), g[0],
                                     op.getAxis(), "add");
  return success();
}

/// gather along `axis` reads data[.., indices[i..], ..]: the gradient is a
/// scatter-add of g's slices into the gathered rows, done with scatter_nd on
/// the axis moved to the front.
LogicalResult gatherRule(GatherOp op, GB &b, ArrayRef<Value> g, Grads &out) {
  auto dataType = GB::typeOf(op.getData());
  auto idxType = GB::typeOf(op.getIndices());
  int64_t rank = dataType.getRank(), axis = op.getAxis();
  if (axis < 0)
    axis += rank;
  int64_t q = idxType.getRank();
  // Data with `axis` first: [D_axis, pre..., post...].
  SmallVector<int64_t> dataPerm = {axis};
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      dataPerm.push_back(d);
  SmallVector<int64_t> permuted;
  for (int64_t d : dataPerm)
    permuted.push_back(dataType.getDimSize(d));
  // g is [pre..., idx..., post...]: move idx first.
  SmallVector<int64_t> gPerm;
  for (int64_t d = 0; d < q; ++d)
    gPerm.push_back(axis + d);
  for (int64_t d = 0; d < axis; ++d)
    gPerm.push_back(d);
  for (int64_t d = axis + q; d < rank - 1 + q; ++d)
    gPerm.push_back(d);
  Value updates = b.transpose(g[0], gPerm);
  // Negative indices count from the end.
  Value idx = op.getIndices();
  Type idxElem = idxType.getElementType();
  Value zero = b.scalar(idxElem, 0);
  idx = b.where(b.greater(zero, idx),
                b.add(idx, b.scalar(idxElem, dataType.getDimSize(axis))), idx);
  SmallVector<int64_t> idxShape(idxType.getShape());
  idxShape.push_back(1);
  idx = b.reshape(idx, idxShape);
  Value zeros = b.splat(RankedTensorType::get(permuted, dataType.getElementType()), 0.0);
  Value scattered =
      ScatterNDOp::create(b.b, b.loc, zeros, idx, updates, "add");
  SmallVector<int64_t> inverse(rank);
  for (auto [i, p] : llvm::enumerate(dataPerm))
    inverse[p] = static_cast<int64_t>(i);
  out[0] = b.transpose(scattered, inverse);
  return success();
}

struct ReduceRule : GradientOpInterface::ExternalModel<ReduceRule, ReduceOp> {
  bool hasGradientRule(Operation *op, std::string &why) const {
    StringRef kind = cast<ReduceOp>(op).getKind();
    if (kind == "sum" || kind == "mean" || kind == "sum_square" ||
        kind == "l2" || kind == "log_sum_exp")
      return true;
    why = "no gradient rule for the reduction '" + kind.str() + "'";
    return false;
  }
  LogicalResult buildGradients(Operation *o, GB &b, ArrayRef<Value> g,
                               Grads &out) const {
    auto op = cast<ReduceOp>(o);
    Value x = op.getInput();
    auto xType = GB::typeOf(x);
    SmallVector<int64_t> axes(op.getAxes());
    for (int64_t &a : axes)
      if (a < 0)
        a += xType.getRank();
    bool keep = op.getKeepdims();
    Value spread = b.broadcastReduced(g[0], xType, axes, keep);
    StringRef kind = op.getKind();
    if (kind == "sum") {
      out[0] = spread;
    } else if (kind == "mean") {
      int64_t count = 1;
      for (int64_t a : axes)
        count *= xType.getDimSize(a);
      out[0] = b.scale(spread, 1.0 / count);
    } else if (kind == "sum_square") {
      out[0] = b.mul(b.scale(x, 2.0), spread);
    } else {
      // l2: x / y; log_sum_exp: exp(x - y).
      Value y = b.broadcastReduced(op.getResult(), xType, axes, keep);
      Value d = kind == "l2" ? b.div(x, y) : b.unary(b.sub(x, y), "exp");
      out[0] = b.mul(d, spread);
    }
    return success();
  }
};

} // namespace

void attachTensorGradients(MLIRContext &ctx) {
  ReshapeOp::attachInterface<GradientRule<ReshapeOp, reshapeRule>>(ctx);
  TransposeOp::attachInterface<GradientRule<TransposeOp, transposeRule>>(ctx);
  ExpandOp::attachInterface<GradientRule<ExpandOp, expandRule>>(ctx);
  ConcatOp::attachInterface<GradientRule<ConcatOp, concatRule>>(ctx);
  SliceOp::attachInterface<GradientRule<SliceOp, sliceRule>>(ctx);
  PadOp::attachInterface<GradientRule<PadOp, padRule>>(ctx);
  GatherElementsOp::attachInterface<
      GradientRule<GatherElementsOp, gatherElementsRule>>(ctx);
  GatherOp::attachInterface<GradientRule<GatherOp, gatherRule>>(ctx);
  ReduceOp::attachInterface<ReduceRule>(ctx);
}

} // namespace dlc::graph
