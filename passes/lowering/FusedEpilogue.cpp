//===- FusedEpilogue.cpp - elementwise epilogues applied in registers -----===//

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace dlc {
namespace {

/// How an epilogue input is read for one vector of the product.
enum class Access {
  Vector, ///< along the innermost loop: a vector read
  Scalar, ///< independent of the innermost loop: one element, broadcast
};

/// The access of an input read through `map` (a projected permutation) on
/// an iteration space of `loops` dims, or none.
std::optional<Access> classify(AffineMap map, unsigned loops) {
  if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
    return std::nullopt;
  AffineExpr innermost = getAffineDimExpr(loops - 1, map.getContext());
  for (unsigned i = 0; i < map.getNumResults(); ++i)
    if (map.getResult(i) == innermost)
      return i + 1 == map.getNumResults() ? std::optional(Access::Vector)
                                          : std::nullopt;
  return Access::Scalar;
}

/// The indices `map` selects from the loop indices.
SmallVector<Value> select(AffineMap map, ValueRange indices) {
  SmallVector<Value> selected;
  for (AffineExpr e : map.getResults())
    selected.push_back(indices[cast<AffineDimExpr>(e).getPosition()]);
  return selected;
}

} // namespace

std::optional<FusedEpilogue> findFusedEpilogue(Value product) {
  auto productType = dyn_cast<RankedTensorType>(product.getType());
  if (!productType || !productType.hasStaticShape() ||
      !productType.getElementType().isF32() || !product.hasOneUse())
    return std::nullopt;
  auto generic = dyn_cast<linalg::GenericOp>(*product.getUsers().begin());
  unsigned loops = productType.getRank();
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != loops ||
      generic.getNumParallelLoops() != loops ||
      !generic.hasPureTensorSemantics())
    return std::nullopt;
  OpOperand *init = generic.getDpsInitOperand(0);
  if (!generic.getMatchingIndexingMap(init).isIdentity() ||
      init->get().getType() != productType ||
      !generic.getMatchingBlockArgument(init).use_empty())
    return std::nullopt;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || !type.getElementType().isF32())
      return std::nullopt;
    AffineMap map = generic.getMatchingIndexingMap(input);
    if (input->get() == product ? !map.isIdentity() : !classify(map, loops))
      return std::nullopt;
  }
  for (Operation &op : generic.getBody()->without_terminator())
    if (!isa<arith::ArithDialect, math::MathDialect>(op.getDialect()) ||
        op.getNumRegions() != 0)
      return std::nullopt;
  return FusedEpilogue{generic, product};
}

Value applyFusedEpilogue(OpBuilder &b, Location loc,
                         const FusedEpilogue &epilogue, Value acc,
                         ValueRange indices, Value mask) {
  linalg::GenericOp op = epilogue.op;
  auto vecType = cast<VectorType>(acc.getType());
  int64_t lanes = vecType.getNumElements();
  Block *body = op.getBody();
  IRMapping mapping;
  auto broadcast = [&](Value scalar) {
    return vector::BroadcastOp::create(
               b, loc, VectorType::get({lanes}, scalar.getType()), scalar)
        .getResult();
  };
  Value zero = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(vecType.getElementType(), 0.0));
  for (auto [i, input] : llvm::enumerate(op.getDpsInputOperands())) {
    Value tensor = input->get();
    AffineMap map = op.getMatchingIndexingMap(input);
    SmallVector<Value> at = select(map, indices);
    Value vec;
    if (tensor == epilogue.product) {
      vec = acc;
    } else if (classify(map, indices.size()) == Access::Scalar) {
      vec = broadcast(tensor::ExtractOp::create(b, loc, tensor, at));
    } else {
      vec = vector::TransferReadOp::create(
          b, loc, vecType, tensor, at,
          AffineMap::getMinorIdentityMap(map.getNumResults(), 1,
                                         b.getContext()),
          zero, mask, b.getBoolArrayAttr({true}));
    }
    mapping.map(body->getArgument(i), vec);
  }
  for (Operation &scalarOp : body->without_terminator()) {
    if (scalarOp.hasTrait<OpTrait::ConstantLike>()) {
      Operation *constant = b.clone(scalarOp);
      mapping.map(scalarOp.getResult(0), broadcast(constant->getResult(0)));
      continue;
    }
    for (Value operand : scalarOp.getOperands())
      if (!mapping.contains(operand)) // defined outside the body
        mapping.map(operand, broadcast(operand));
    Operation *vectorOp = b.clone(scalarOp, mapping);
    for (Value result : vectorOp->getResults())
      result.setType(VectorType::get({lanes}, result.getType()));
  }
  return mapping.lookup(body->getTerminator()->getOperand(0));
}

bool isMultiplyAccumulate(linalg::GenericOp generic) {
  Block *body = generic.getBody();
  if (body->getNumArguments() != 3 || body->getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  auto mul = add.getRhs().getDefiningOp<arith::MulFOp>();
  return mul && add.getLhs() == body->getArgument(2) &&
         mul.getLhs() == body->getArgument(0) &&
         mul.getRhs() == body->getArgument(1);
}

} // namespace dlc
