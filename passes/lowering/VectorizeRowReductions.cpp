//===- VectorizeRowReductions.cpp - reductions along rows as vector code -===//
//
// A linalg.generic that reduces its innermost loop (softmax's max and sum,
// layer norm's mean and variance, ReduceSum over the last axis) lowers to
// loops that load and store the accumulator in memory at every element, a
// chain LLVM cannot break: it cannot prove the accumulator's buffer apart
// from the inputs'. With the row's length known at compile time it unrolls
// the row and vectorizes across rows with gathers; with a length known only
// at run time (a symbolic token count) it runs one element at a time.
//
// Here each row is reduced in registers instead:
//
//   for r in rows:                          (one loop over the parallel dims,
//     acc = splat(neutral)                   marked dlc.parallel)
//     for k in [0, K - K % L) step L:
//       acc = combine(acc, body(in[r, k .. k+L]))
//     acc = combine(acc, select(mask, body(in[r, K - K % L ..]), neutral))
//     out[r] = combine(out[r], tree-reduce(acc))
//
// L lanes of partial results, combined at the end as a tree of halves: sums
// are added in another order than one by one (max and min are exact in any
// order), so results may differ in the last bits; reductions accumulated in f64
// (layer norm, softmax) keep their accuracy. Only additions, maxima and minima
// of floats whose body is arith/math code and whose inputs are read along the
// row contiguously (or not along it at all) are rewritten.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"

namespace dlc {
#define GEN_PASS_DEF_VECTORIZEROWREDUCTIONS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// A generic reducing its innermost loop: `combiner` folds the body's
/// value into the accumulator.
struct RowReduction {
  linalg::GenericOp op;
  Operation *combiner;
  Value element; ///< the body's value for one element of the row
  vector::CombiningKind kind;
};

/// Whether `map` reads the loops' dims (or constant 0s) with the innermost
/// loop `inner`, when read at all, as its last result.
bool readsAlongRow(AffineMap map, unsigned inner) {
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      if (c.getValue() != 0)
        return false;
      continue;
    }
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || (d.getPosition() == inner && i + 1 != map.getNumResults()))
      return false;
  }
  return true;
}

std::optional<RowReduction> match(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() < 1)
    return std::nullopt;
  unsigned inner = op.getNumLoops() - 1;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [i, it] : llvm::enumerate(iterators))
    if ((it == utils::IteratorType::reduction) != (i == inner))
      return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  auto initType = dyn_cast<RankedTensorType>(init->get().getType());
  if (!initType || !isa<FloatType>(initType.getElementType()))
    return std::nullopt;
  // The accumulator: the parallel dims in order, constant-0 indices
  // anywhere between them.
  unsigned next = 0;
  for (AffineExpr e : op.getMatchingIndexingMap(init).getResults()) {
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      if (c.getValue() != 0)
        return std::nullopt;
      continue;
    }
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || d.getPosition() != next++)
      return std::nullopt;
  }
  if (next != inner)
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || !type.getElementType().isIntOrFloat() ||
        !readsAlongRow(op.getMatchingIndexingMap(input), inner))
      return std::nullopt;
  }
  Block *body = op.getBody();
  // Pure ops only: the lanes past a row's end run the body on padding (an
  // integer division by it could trap).
  for (Operation &bodyOp : body->without_terminator())
    if (!isa<arith::ArithDialect, math::MathDialect>(bodyOp.getDialect()) ||
        bodyOp.getNumRegions() != 0 || bodyOp.getNumResults() != 1 ||
        !isPure(&bodyOp))
      return std::nullopt;
  // yield combine(element, acc), acc used there only.
  BlockArgument acc = op.getMatchingBlockArgument(init);
  Operation *combiner = body->getTerminator()->getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != body || !acc.hasOneUse() ||
      *acc.getUsers().begin() != combiner ||
      !combiner->getResult(0).hasOneUse())
    return std::nullopt;
  std::optional<vector::CombiningKind> kind;
  if (isa<arith::AddFOp>(combiner))
    kind = vector::CombiningKind::ADD;
  else if (isa<arith::MaximumFOp>(combiner))
    kind = vector::CombiningKind::MAXIMUMF;
  else if (isa<arith::MinimumFOp>(combiner))
    kind = vector::CombiningKind::MINIMUMF;
  if (!kind)
    return std::nullopt;
  Value element = combiner->getOperand(0) == acc ? combiner->getOperand(1)
                                                 : combiner->getOperand(0);
  if (element == acc)
    return std::nullopt;
  return RowReduction{op, combiner, element, *kind};
}

/// The value that leaves every other one unchanged under `kind`.
TypedAttr neutralValue(OpBuilder &b, vector::CombiningKind kind, Type type) {
  auto floatType = cast<FloatType>(type);
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  switch (kind) {
  case vector::CombiningKind::MAXIMUMF:
    return b.getFloatAttr(type, APFloat::getInf(semantics, /*Negative=*/true));
  case vector::CombiningKind::MINIMUMF:
    return b.getFloatAttr(type, APFloat::getInf(semantics));
  default:
    // -0 + x is x for every x, -0 included.
    return b.getFloatAttr(type, APFloat::getZero(semantics, /*Negative=*/true));
  }
}

class RowReductionEmitter {
public:
  RowReductionEmitter(OpBuilder &b, RowReduction reduction, int64_t lanes)
      : b(b), loc(reduction.op.getLoc()), r(reduction), lanes(lanes) {}

  void emit() {
    linalg::GenericOp op = r.op;
    SmallVector<Range> ranges =
        cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc);
    unsigned inner = op.getNumLoops() - 1;
    Value init = op.getDpsInitOperand(0)->get();
    Type accType = cast<RankedTensorType>(init.getType()).getElementType();
    Value fillValue = dlc::constantFillValue(init);
    Value dest = dlc::kernelDestination(std::nullopt, init);

    // One loop over every row: the parallel dims linearized.
    SmallVector<OpFoldResult> basis;
    Value rows = index(1);
    for (unsigned d = 0; d < inner; ++d) {
      basis.push_back(ranges[d].size);
      rows = arith::MulIOp::create(b, loc, rows, value(ranges[d].size));
    }
    Value length = value(ranges[inner].size);
    Value whole = arith::SubIOp::create(
        b, loc, length, arith::RemUIOp::create(b, loc, length, index(lanes)));
    auto accVector = VectorType::get({lanes}, accType);
    Value neutral = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            accVector, ArrayRef<Attribute>(neutralValue(b, r.kind, accType))));

    auto rowLoop = scf::ForOp::create(
        b, loc, index(0), rows, index(1), ValueRange{dest},
        [&](OpBuilder &, Location, Value row, ValueRange carried) {
          SmallVector<Value> at;
          if (inner > 0)
            at =
                affine::AffineDelinearizeIndexOp::create(b, loc, row, basis,
                                                         /*hasOuterBound=*/true)
                    .getResults();
          auto chunks = scf::ForOp::create(
              b, loc, index(0), whole, index(lanes), ValueRange{neutral},
              [&](OpBuilder &, Location, Value k, ValueRange acc) {
                Value x = element(at, k, Value());
                scf::YieldOp::create(b, loc, combine(x, acc[0]));
              });
          Value acc = chunks.getResult(0);
          // The last partial chunk, if rows may have one: lanes past the
          // row take the neutral value.
          std::optional<int64_t> staticLength =
              getConstantIntValue(ranges[inner].size);
          if (!staticLength || *staticLength % lanes != 0) {
            Value mask = vector::CreateMaskOp::create(
                b, loc, VectorType::get({lanes}, b.getI1Type()),
                ValueRange{arith::SubIOp::create(b, loc, length, whole)});
            Value last = arith::SelectOp::create(
                b, loc, mask, element(at, whole, mask), neutral);
            acc = combine(last, acc);
          }
          SmallVector<Value> outAt = accumulatorIndices(at);
          Value start =
              fillValue ? fillValue
                        : tensor::ExtractOp::create(b, loc, carried[0], outAt)
                              .getResult();
          Value result = combine(treeReduce(acc), start);
          scf::YieldOp::create(
              b, loc,
              tensor::InsertOp::create(b, loc, result, carried[0], outAt)
                  .getResult());
        });
    // Each row writes its own element.
    rowLoop->setAttr("dlc.parallel", b.getUnitAttr());
    op->getResult(0).replaceAllUsesWith(rowLoop.getResult(0));
    op->erase();
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value value(OpFoldResult v) {
    return getValueOrCreateConstantIndexOp(b, loc, v);
  }

  /// The indices of `map`'s results at row `at` and row position `k`.
  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> at, Value k) {
    unsigned inner = r.op.getNumLoops() - 1;
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      if (isa<AffineConstantExpr>(e)) {
        result.push_back(index(0));
        continue;
      }
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      result.push_back(d == inner ? k : at[d]);
    }
    return result;
  }

  SmallVector<Value> accumulatorIndices(ArrayRef<Value> at) {
    OpOperand *init = r.op.getDpsInitOperand(0);
    return indices(r.op.getMatchingIndexingMap(init), at, Value());
  }

  /// The body's element values for lanes [k, k + lanes) of row `at`, the
  /// inputs read under `mask` when given.
  Value element(ArrayRef<Value> at, Value k, Value mask) {
    linalg::GenericOp op = r.op;
    unsigned inner = op.getNumLoops() - 1;
    Block *body = op.getBody();
    IRMapping mapping;
    auto broadcast = [&](Value scalar) {
      return vector::BroadcastOp::create(
                 b, loc, VectorType::get({lanes}, scalar.getType()), scalar)
          .getResult();
    };
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value tensor = input->get();
      AffineMap map = op.getMatchingIndexingMap(input);
      SmallVector<Value> where = indices(map, at, k);
      Type elem = cast<RankedTensorType>(tensor.getType()).getElementType();
      Value vec;
      if (map.isFunctionOfDim(inner)) {
        Value pad = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
        vec = vector::TransferReadOp::create(
            b, loc, VectorType::get({lanes}, elem), tensor, where,
            AffineMap::getMinorIdentityMap(map.getNumResults(), 1,
                                           b.getContext()),
            pad, mask, b.getBoolArrayAttr({true}));
      } else {
        vec = broadcast(tensor::ExtractOp::create(b, loc, tensor, where));
      }
      mapping.map(op.getMatchingBlockArgument(input), vec);
    }
    dlc::cloneBodyOnVectors(b, *body, mapping, lanes, r.combiner);
    Value x = mapping.lookupOrNull(r.element);
    return x ? x : broadcast(r.element); // a value from outside the body
  }

  /// The lanes of `acc` combined as a tree of halves: log2(lanes) vector
  /// operations (vector.reduction <maximumf> becomes a scalar chain with NaN
  /// checks at every lane).
  Value treeReduce(Value acc) {
    int64_t width = lanes;
    while (width > 1 && width % 2 == 0) {
      width /= 2;
      auto half = [&](int64_t offset) {
        return vector::ExtractStridedSliceOp::create(b, loc, acc, {offset},
                                                     {width}, {1})
            .getResult();
      };
      acc = combine(half(width), half(0));
    }
    Value first = vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{0});
    for (int64_t lane = 1; lane < width; ++lane)
      first = combine(
          vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{lane}),
          first);
    return first;
  }

  Value combine(Value x, Value acc) {
    switch (r.kind) {
    case vector::CombiningKind::MAXIMUMF:
      return arith::MaximumFOp::create(b, loc, acc, x);
    case vector::CombiningKind::MINIMUMF:
      return arith::MinimumFOp::create(b, loc, acc, x);
    default:
      return arith::AddFOp::create(b, loc, acc, x);
    }
  }

  OpBuilder &b;
  Location loc;
  RowReduction r;
  int64_t lanes;
};

struct VectorizeRowReductionsPass
    : public dlc::impl::VectorizeRowReductionsBase<VectorizeRowReductionsPass> {
  using VectorizeRowReductionsBase::VectorizeRowReductionsBase;

  void runOnOperation() override {
    if (lanes < 1) {
      getOperation().emitError("vectorize-row-reductions: lanes must be "
                               "positive, got ")
          << lanes;
      return signalPassFailure();
    }
    SmallVector<RowReduction> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<RowReduction> r = match(op))
        reductions.push_back(*r);
    });
    for (RowReduction &r : reductions) {
      OpBuilder b(r.op);
      RowReductionEmitter(b, r, lanes).emit();
    }
  }
};

} // namespace
