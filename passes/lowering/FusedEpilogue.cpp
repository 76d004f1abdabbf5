//===- FusedEpilogue.cpp - elementwise epilogues applied in registers -----===//

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace dlc {
namespace {

/// The epilogue's loop indices for the product's indices.
SmallVector<Value> loopIndices(const FusedEpilogue &epilogue,
                               ValueRange productIndices) {
  SmallVector<Value> loops(productIndices.size());
  for (auto [i, e] : llvm::enumerate(epilogue.productMap.getResults()))
    loops[cast<AffineDimExpr>(e).getPosition()] = productIndices[i];
  return loops;
}

/// The epilogue loop the product's lanes run along.
unsigned vectorLoop(const FusedEpilogue &epilogue) {
  AffineMap map = epilogue.productMap;
  return cast<AffineDimExpr>(map.getResult(map.getNumResults() - 1))
      .getPosition();
}

/// For a tensor read or written through `map` (a projected permutation of
/// the epilogue's loops): the transfer permutation map of a 1-D vector
/// along loop `loop`, or none if the tensor does not depend on it.
std::optional<AffineMap> transferMap(AffineMap map, unsigned loop) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (cast<AffineDimExpr>(e).getPosition() == loop)
      return AffineMap::get(map.getNumResults(), 0,
                            getAffineDimExpr(i, map.getContext()));
  return std::nullopt;
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
  auto initType = dyn_cast<RankedTensorType>(init->get().getType());
  if (!generic.getMatchingIndexingMap(init).isIdentity() || !initType ||
      initType.getElementType() != productType.getElementType() ||
      !generic.getMatchingBlockArgument(init).use_empty())
    return std::nullopt;
  FusedEpilogue epilogue{generic, product, AffineMap()};
  for (OpOperand *input : generic.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || !type.getElementType().isF32())
      return std::nullopt;
    AffineMap map = generic.getMatchingIndexingMap(input);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return std::nullopt;
    if (input->get() == product) {
      if (!map.isPermutation() || epilogue.productMap)
        return std::nullopt;
      epilogue.productMap = map;
    }
  }
  if (!epilogue.productMap)
    return std::nullopt;
  for (Operation &op : generic.getBody()->without_terminator())
    if (!isa<arith::ArithDialect, math::MathDialect>(op.getDialect()) ||
        op.getNumRegions() != 0)
      return std::nullopt;
  return epilogue;
}

Value applyFusedEpilogue(OpBuilder &b, Location loc,
                         const FusedEpilogue &epilogue, Value acc,
                         ValueRange productIndices, Value mask) {
  linalg::GenericOp op = epilogue.op;
  auto vecType = cast<VectorType>(acc.getType());
  int64_t lanes = vecType.getNumElements();
  Block *body = op.getBody();
  SmallVector<Value> loops = loopIndices(epilogue, productIndices);
  unsigned lanesLoop = vectorLoop(epilogue);
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
    SmallVector<Value> at = select(map, loops);
    Value vec;
    if (tensor == epilogue.product) {
      vec = acc;
    } else if (std::optional<AffineMap> along = transferMap(map, lanesLoop)) {
      // Lanes along an outer dimension are read element by element once
      // bufferized (convert-vector-to-scf{full-unroll}).
      vec = vector::TransferReadOp::create(b, loc, vecType, tensor, at, *along,
                                           zero, mask,
                                           b.getBoolArrayAttr({true}));
    } else {
      vec = broadcast(tensor::ExtractOp::create(b, loc, tensor, at));
    }
    mapping.map(body->getArgument(i), vec);
  }
  cloneBodyOnVectors(b, *body, mapping, lanes);
  Value yielded = body->getTerminator()->getOperand(0);
  Value result = mapping.lookupOrNull(yielded);
  return result ? result : broadcast(yielded); // a value from outside
}

void cloneBodyOnVectors(OpBuilder &b, Block &body, IRMapping &mapping,
                        int64_t lanes, Operation *skip) {
  auto broadcast = [&](Value scalar) {
    return vector::BroadcastOp::create(
               b, scalar.getLoc(), VectorType::get({lanes}, scalar.getType()),
               scalar)
        .getResult();
  };
  for (Operation &scalarOp : body.without_terminator()) {
    if (&scalarOp == skip)
      continue;
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
}

Value writeFusedEpilogue(OpBuilder &b, Location loc,
                         const FusedEpilogue &epilogue, Value vec, Value dest,
                         ValueRange productIndices, Value mask) {
  unsigned rank = productIndices.size();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  // Lanes along an outer dimension are written element by element once
  // bufferized (convert-vector-to-scf{full-unroll}): element inserts here
  // would make one-shot bufferization's analysis quadratic in them.
  return vector::TransferWriteOp::create(
             b, loc, dest.getType(), vec, dest,
             loopIndices(epilogue, productIndices),
             *transferMap(identity, vectorLoop(epilogue)), mask,
             b.getBoolArrayAttr({true}))
      .getResult();
}

Value kernelDestination(const std::optional<FusedEpilogue> &epilogue,
                        Value init) {
  if (!epilogue) {
    if (constantFillValue(init))
      return init.getDefiningOp<linalg::FillOp>().getDpsInitOperand(0)->get();
    return init;
  }
  linalg::GenericOp op = epilogue->op;
  return op.getDpsInitOperand(0)->get();
}

void replaceKernel(Operation *kernel,
                   const std::optional<FusedEpilogue> &epilogue, Value result) {
  if (epilogue) {
    epilogue->op->getResult(0).replaceAllUsesWith(result);
    epilogue->op->erase();
  } else {
    kernel->getResult(0).replaceAllUsesWith(result);
  }
  kernel->erase();
}

Value constantFillValue(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getDpsInputOperand(0)->get(), m_Constant()))
    return Value();
  return fill.getDpsInputOperand(0)->get();
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
