//===- LinalgBuilders.cpp - helpers that build linalg on tensors ----------===//

#include "passes/conversion/LinalgBuilders.h"

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

namespace dlc {

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto vec = dyn_cast<VectorType>(type))
    if (auto elem = dyn_cast<FloatType>(vec.getElementType()))
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vec, b.getFloatAttr(elem, value)));
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
  if (type.isInteger(1))
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, value != 0));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange sizeSources) {
  int64_t rank = type.getRank();
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!type.isDynamicDim(d))
      continue;
    Value size;
    for (Value source : sizeSources) {
      auto sourceType = cast<RankedTensorType>(source.getType());
      int64_t at = d - (rank - sourceType.getRank());
      if (at >= 0 && sourceType.isDynamicDim(at)) {
        size = tensor::DimOp::create(b, loc, source, at);
        break;
      }
    }
    // Without a size the op fails verification: a compile error naming the
    // node, not a crash (importers keep dynamic dims off ops that lack one).
    if (!size)
      return tensor::EmptyOp::create(b, loc, type.getShape(),
                                     type.getElementType());
    dynamicSizes.push_back(size);
  }
  return tensor::EmptyOp::create(b, loc, type, dynamicSizes);
}

Value createFilled(OpBuilder &b, Location loc, RankedTensorType type,
                   double value, ValueRange sizeSources) {
  Value empty = emptyTensor(b, loc, type, sizeSources);
  Value scalar = floatConstant(b, loc, type.getElementType(), value);
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                       int64_t resultRank, ArrayRef<int64_t> resultShape) {
  SmallVector<AffineExpr> exprs;
  int64_t offset = resultRank - operandShape.size();
  for (size_t d = 0; d < operandShape.size(); ++d) {
    bool broadcast = operandShape[d] == 1 && resultShape[d + offset] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(d + offset, ctx));
  }
  return AffineMap::get(resultRank, 0, exprs, ctx);
}

/// The elementwise op on the tensors flattened to one dim, when every input
/// has the result's shape (or is a scalar) and the body does not read its
/// indices: one long unit-stride loop instead of a nest whose short
/// innermost loop LLVM would unroll and vectorize across rows with gathers.
static Value buildFlatElementwise(
    OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = resultType.getRank();
  if (rank < 2 || !resultType.hasStaticShape())
    return {};
  for (Value in : inputs) {
    auto type = cast<RankedTensorType>(in.getType());
    if (type.getRank() != 0 && type.getShape() != resultType.getShape())
      return {};
  }
  // A body that reads its indices (linalg.index) needs the original loops:
  // try it on a scratch block first, with a builder no rewriter watches.
  {
    Block scratch;
    for (Value in : inputs)
      scratch.addArgument(getElementTypeOrSelf(in.getType()), loc);
    OpBuilder probe(b.getContext());
    probe.setInsertionPointToStart(&scratch);
    (void)body(probe, loc, scratch.getArguments());
    bool readsIndices = false;
    scratch.walk([&](linalg::IndexOp) { readsIndices = true; });
    for (Operation &op : llvm::reverse(scratch))
      op.dropAllUses();
    while (!scratch.empty())
      scratch.back().erase();
    if (readsIndices)
      return {};
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<ReassociationIndices> all = {
      llvm::to_vector(llvm::seq<int64_t>(0, rank))};
  int64_t total = resultType.getNumElements();
  SmallVector<Value> flat;
  SmallVector<AffineMap> maps;
  for (Value in : inputs) {
    auto type = cast<RankedTensorType>(in.getType());
    if (type.getRank() == 0) {
      flat.push_back(in);
      maps.push_back(AffineMap::get(1, 0, {}, ctx));
      continue;
    }
    flat.push_back(tensor::CollapseShapeOp::create(b, loc, in, all));
    maps.push_back(AffineMap::getMultiDimIdentityMap(1, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(1, ctx));
  auto flatType = RankedTensorType::get({total}, resultType.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, flatType.getShape(),
                                       flatType.getElementType());
  auto generic = linalg::GenericOp::create(
      b, loc, flatType, flat, init, maps,
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args.drop_back()));
      });

  return tensor::ExpandShapeOp::create(b, loc, resultType, generic.getResult(0),
                                       all);
}

Value buildElementwise(
    OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  if (Value flat = buildFlatElementwise(b, loc, resultType, inputs, body))
    return flat;
  MLIRContext *ctx = b.getContext();
  int64_t rank = resultType.getRank();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(
        ctx, cast<RankedTensorType>(in.getType()).getShape(), rank,
        resultType.getShape()));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = emptyTensor(b, loc, resultType, inputs);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

Value applyActivation(OpBuilder &b, Location loc, Value x, StringRef name,
                      float alpha, float beta) {
  Type type = x.getType();
  if (name == "none")
    return x;
  if (name == "relu")
    return arith::MaximumFOp::create(b, loc, x, floatConstant(b, loc, type, 0));
  if (name == "leaky_relu") {
    Value zero = floatConstant(b, loc, type, 0);
    Value scaled =
        arith::MulFOp::create(b, loc, x, floatConstant(b, loc, type, alpha));
    Value positive =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, x, zero);
    return arith::SelectOp::create(b, loc, positive, x, scaled);
  }
  if (name == "clip") {
    // NaN stays NaN, as in ONNX: max/min that propagate NaN.
    Value lo = arith::MaximumFOp::create(b, loc, x,
                                         floatConstant(b, loc, type, alpha));
    return arith::MinimumFOp::create(b, loc, lo,
                                     floatConstant(b, loc, type, beta));
  }
  if (name == "sigmoid") {
    Value one = floatConstant(b, loc, type, 1);
    Value negated = arith::NegFOp::create(b, loc, x);
    Value exp = math::ExpOp::create(b, loc, negated);
    Value denom = arith::AddFOp::create(b, loc, one, exp);
    return arith::DivFOp::create(b, loc, one, denom);
  }
  if (name == "tanh")
    return math::TanhOp::create(b, loc, x);
  llvm_unreachable("activation names are checked by the kernel verifier");
}

Value applyRecurrentActivation(OpBuilder &b, Location loc, Value x,
                               StringRef name, double alpha, double beta) {
  // The kernels' activations and graph.unary's scalar bodies where they have
  // it, and the two that neither has.
  StringRef kernelActivation = llvm::StringSwitch<StringRef>(name)
                                   .Case("Sigmoid", "sigmoid")
                                   .Case("Tanh", "tanh")
                                   .Case("Relu", "relu")
                                   .Case("LeakyRelu", "leaky_relu")
                                   .Default("");
  if (!kernelActivation.empty())
    return applyActivation(b, loc, x, kernelActivation, alpha, 0);
  Type t = x.getType();
  auto c = [&](double v) { return floatConstant(b, loc, t, v); };
  auto mul = [&](Value u, Value v) {
    return arith::MulFOp::create(b, loc, u, v).getResult();
  };
  if (name == "ScaledTanh")
    return mul(c(alpha), math::TanhOp::create(b, loc, mul(c(beta), x)));
  if (name == "Affine")
    return arith::AddFOp::create(b, loc, mul(c(alpha), x), c(beta));
  StringRef unary = llvm::StringSwitch<StringRef>(name)
                        .Case("ThresholdedRelu", "thresholded_relu")
                        .Case("HardSigmoid", "hard_sigmoid")
                        .Case("Elu", "elu")
                        .Case("Softsign", "softsign")
                        .Case("Softplus", "softplus")
                        .Default("");
  if (!unary.empty())
    return buildUnary(b, loc, x, unary, alpha, beta, 0);
  llvm_unreachable("activation names are checked by the importer");
}

bool recurrentActivationDerivativeNeedsInput(StringRef name, double alpha) {
  // Where the output no longer tells the input's side of the kink: a
  // negative slope or Elu branch, or a threshold below zero.
  return llvm::is_contained({"LeakyRelu", "Elu", "ThresholdedRelu"}, name) &&
         alpha < 0;
}

Value applyRecurrentActivationDerivative(OpBuilder &b, Location loc, Value x,
                                         Value y, StringRef name, double alpha,
                                         double beta) {
  Type t = y.getType();
  auto c = [&](double v) { return floatConstant(b, loc, t, v); };
  auto mul = [&](Value u, Value v) {
    return arith::MulFOp::create(b, loc, u, v).getResult();
  };
  auto sub = [&](Value u, Value v) {
    return arith::SubFOp::create(b, loc, u, v).getResult();
  };
  auto select = [&](arith::CmpFPredicate p, Value u, double v, Value yes,
                    Value no) {
    Value cond = arith::CmpFOp::create(b, loc, p, u, c(v));
    return arith::SelectOp::create(b, loc, cond, yes, no).getResult();
  };
  using P = arith::CmpFPredicate;
  bool fromInput = recurrentActivationDerivativeNeedsInput(name, alpha);
  assert((x || !fromInput) && "this derivative needs the input");
  if (name == "Sigmoid")
    return mul(y, sub(c(1), y));
  if (name == "Tanh")
    return sub(c(1), mul(y, y));
  if (name == "Relu")
    return select(P::OGT, y, 0, c(1), c(0));
  if (name == "LeakyRelu")
    // With alpha >= 0, y > 0 exactly where x > 0.
    return select(P::OGT, fromInput ? x : y, 0, c(1), c(alpha));
  if (name == "ThresholdedRelu")
    // x > alpha; with alpha >= 0, exactly where y is nonzero.
    return fromInput ? select(P::OGT, x, alpha, c(1), c(0))
                     : select(P::OGT, y, 0, c(1), c(0));
  if (name == "Elu")
    // alpha * exp(x) = y + alpha below zero; with alpha >= 0, y > 0 exactly
    // where x > 0.
    return select(P::OGT, fromInput ? x : y, 0, c(1),
                  arith::AddFOp::create(b, loc, y, c(alpha)));
  if (name == "ScaledTanh") {
    // alpha * beta * (1 - tanh(beta x)^2), tanh(beta x) = y / alpha.
    if (alpha == 0)
      return c(0);
    Value tanh = arith::DivFOp::create(b, loc, y, c(alpha));
    return mul(c(alpha * beta), sub(c(1), mul(tanh, tanh)));
  }
  if (name == "Affine")
    return c(alpha);
  if (name == "HardSigmoid") {
    // alpha where the clamp to [0, 1] is not active.
    Value inside = select(P::OLT, y, 1, c(alpha), c(0));
    return select(P::OGT, y, 0, inside, c(0));
  }
  if (name == "Softsign") {
    // 1 / (1 + |x|)^2, and 1 / (1 + |x|) = 1 - |y|.
    Value r = sub(c(1), math::AbsFOp::create(b, loc, y));
    return mul(r, r);
  }
  if (name == "Softplus")
    // sigmoid(x) = 1 - exp(-y).
    return sub(c(1), math::ExpOp::create(
                         b, loc, arith::NegFOp::create(b, loc, y)));
  llvm_unreachable("activation names are checked by the importer");
}

Value padWithConstant(OpBuilder &b, Location loc, Value input,
                      ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                      double value) {
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    shape.push_back(type.getDimSize(d) + low[d] + high[d]);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  Value padValue = floatConstant(b, loc, type.getElementType(), value);
  SmallVector<OpFoldResult> lowAttrs, highAttrs;
  for (int64_t p : low)
    lowAttrs.push_back(b.getIndexAttr(p));
  for (int64_t p : high)
    highAttrs.push_back(b.getIndexAttr(p));
  return tensor::PadOp::create(b, loc, resultType, input, lowAttrs, highAttrs,
                               padValue);
}

/// A reduction over `axes` of `input` into a tensor that keeps those axes with
/// size 1, starting from `initValue` and combining with `combine`.
/// Partial accumulators of a vectorizable innermost reduction.
constexpr int64_t kReductionPartials = 16;

Value buildKeepDimsReduction(
    OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
    double initValue,
    function_ref<Value(OpBuilder &, Location, Value elem, Value acc)> combine,
    Type accumulator,
    function_ref<Value(OpBuilder &, Location, Value partial, Value acc)>
        merge) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  int64_t inner = rank ? type.getDimSize(rank - 1) : 0;
  if (merge && axes.size() == 1 && axes[0] == rank - 1 &&
      type.hasStaticShape() && inner % kReductionPartials == 0 &&
      inner >= 2 * kReductionPartials) {
    // [..., K] -> [..., K / 16, 16]; partials [..., 16] accumulate along
    // K / 16 (the 16 are parallel); then the partials are merged.
    SmallVector<int64_t> split(type.getShape());
    split.back() = inner / kReductionPartials;
    split.push_back(kReductionPartials);
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0; d < rank - 1; ++d)
      reassociation.push_back({d});
    reassociation.push_back({rank - 1, rank});
    Value blocked = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(split, type.getElementType()), input,
        reassociation);
    SmallVector<int64_t> partialShape(type.getShape());
    partialShape.back() = kReductionPartials;
    Type accType = accumulator ? accumulator : type.getElementType();
    auto partialType = RankedTensorType::get(partialShape, accType);
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iterators(rank + 1,
                                               utils::IteratorType::parallel);
    iterators[rank - 1] = utils::IteratorType::reduction;
    for (int64_t d = 0; d <= rank; ++d)
      if (d != rank - 1)
        outExprs.push_back(getAffineDimExpr(d, ctx));
    Value partials =
        linalg::GenericOp::create(
            b, loc, partialType, blocked,
            dlc::createFilled(b, loc, partialType, initValue),
            {AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
             AffineMap::get(rank + 1, 0, outExprs, ctx)},
            iterators,
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              linalg::YieldOp::create(nb, nloc,
                                      combine(nb, nloc, args[0], args[1]));
            })
            .getResult(0);
    return buildKeepDimsReduction(b, loc, partials, axes, initValue, merge);
  }
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    if (reduced)
      shape[d] = 1;
    outExprs.push_back(reduced ? getAffineConstantExpr(0, ctx)
                               : getAffineDimExpr(d, ctx));
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
  }
  auto outType = RankedTensorType::get(
      shape, accumulator ? accumulator : type.getElementType());
  Value init = dlc::createFilled(b, loc, outType, initValue, input);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, outType, input, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, args[0], args[1]));
      });
  return generic.getResult(0);
}

Value zeroFilledMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       Value dest) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  Type elem = lt.getElementType();
  auto type = RankedTensorType::get({lt.getDimSize(0), rt.getDimSize(1)}, elem);
  // Rows from lhs, columns from rhs (either may be known only at run time).
  if (!dest)
    dest = tensor::EmptyOp::create(b, loc,
                                   {tensor::getMixedSize(b, loc, lhs, 0),
                                    tensor::getMixedSize(b, loc, rhs, 1)},
                                   elem);
  Value init =
      linalg::FillOp::create(b, loc, floatConstant(b, loc, elem, 0.0), dest)
          .getResult(0);
  return linalg::MatmulOp::create(b, loc, type, ValueRange{lhs, rhs}, init)
      .getResult(0);
}

Value rowTiledMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                     int64_t rows,
                     function_ref<Value(OpBuilder &, Value)> finish) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  int64_t k = lt.getDimSize(1);
  int64_t n = cast<RankedTensorType>(rhs.getType()).getDimSize(1);
  Type elem = lt.getElementType();
  Value m = tensor::DimOp::create(b, loc, lhs, 0);
  Value out = tensor::EmptyOp::create(
      b, loc, {OpFoldResult(m), b.getIndexAttr(n)}, elem);
  Value tile = arith::ConstantIndexOp::create(b, loc, rows);
  Value whole = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, m, tile), tile);
  auto loop = [&](Value from, Value to, int64_t count, Value init) {
    Value step = arith::ConstantIndexOp::create(b, loc, count);
    auto forOp = scf::ForOp::create(
        b, loc, from, to, step, ValueRange{init},
        [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
          SmallVector<OpFoldResult> offsets = {i, nb.getIndexAttr(0)},
                                    strides(2, nb.getIndexAttr(1));
          Value a = tensor::ExtractSliceOp::create(
              nb, l, RankedTensorType::get({count, k}, elem), lhs, offsets,
              {nb.getIndexAttr(count), nb.getIndexAttr(k)}, strides);
          Value p = zeroFilledMatmul(nb, l, a, rhs);
          if (finish)
            p = finish(nb, p);
          Value next = tensor::InsertSliceOp::create(
              nb, l, p, acc[0], offsets,
              {nb.getIndexAttr(count), nb.getIndexAttr(n)}, strides);
          scf::YieldOp::create(nb, l, next);
        });
    return forOp.getResult(0);
  };
  out = loop(arith::ConstantIndexOp::create(b, loc, 0), whole, rows, out);
  // The rest in halving tiles, so that a few rows (a short sequence) are
  // not all computed one at a time.
  Value begin = whole;
  for (int64_t height = rows / 2; height > 1; height /= 2) {
    Value left = arith::SubIOp::create(b, loc, m, begin);
    Value partial = arith::RemUIOp::create(
        b, loc, left, arith::ConstantIndexOp::create(b, loc, height));
    Value end = arith::SubIOp::create(b, loc, m, partial);
    out = loop(begin, end, height, out);
    begin = end;
  }
  return loop(begin, m, 1, out);
}

Value expandShape(OpBuilder &b, Location loc, RankedTensorType type,
                  Value value, ArrayRef<ReassociationIndices> groups,
                  ArrayRef<OpFoldResult> sizes) {
  bool severalDynamic = llvm::any_of(groups, [&](const auto &group) {
    return llvm::count_if(group,
                          [&](int64_t d) { return type.isDynamicDim(d); }) > 1;
  });
  if (!severalDynamic)
    return tensor::ExpandShapeOp::create(b, loc, type, value, groups, sizes);
  // MLIR 22's expand-strided-metadata crashes on an expand_shape group of
  // several dynamic dims; a reshape through a shape operand says the same.
  SmallVector<Value> dims;
  for (OpFoldResult size : sizes)
    dims.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  Value shape = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({type.getRank()}, b.getIndexType()), dims);
  return tensor::ReshapeOp::create(b, loc, type, value, shape);
}

Value reshapeTensor(OpBuilder &b, Location loc, Value value,
                    RankedTensorType outType) {
  auto inType = cast<RankedTensorType>(value.getType());
  if (inType == outType)
    return value;
  if (inType.getRank() == 0 || outType.getRank() == 0) {
    // Rank-0 ends have no reassociation: reshape through a shape operand.
    auto shapeType =
        RankedTensorType::get({outType.getRank()}, b.getIndexType());
    SmallVector<APInt> dims;
    for (int64_t d : outType.getShape())
      dims.push_back(APInt(64, d));
    Value shape = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(shapeType, dims));
    return tensor::ReshapeOp::create(b, loc, outType, value, shape);
  }
  if (!inType.hasStaticShape() || !outType.hasStaticShape()) {
    // The result's k-th run-time dim is the input's k-th (graph.reshape's
    // contract). Where only dims of 1 come and go around them (Squeeze,
    // Unsqueeze), a collapse or an expansion by groups; else a reshape
    // through a shape operand.
    bool collapse = inType.getRank() > outType.getRank();
    RankedTensorType wide = collapse ? inType : outType;
    std::optional<SmallVector<ReassociationIndices>> groups =
        inType.getRank() == outType.getRank() ? std::nullopt
        : collapse ? getReassociationIndicesForReshape(inType, outType)
                   : getReassociationIndicesForReshape(outType, inType);
    // A group with a run-time dim holds nothing else but dims of 1 (its
    // size is then the narrow side's dim); other groups are static.
    bool unitsOnly = groups && llvm::all_of(*groups, [&](const auto &group) {
                       bool dynamic = llvm::any_of(group, [&](int64_t d) {
                         return wide.isDynamicDim(d);
                       });
                       return !dynamic || llvm::count_if(group, [&](int64_t d) {
                                            return wide.getDimSize(d) != 1;
                                          }) == 1;
                     });
    if (unitsOnly && collapse)
      return tensor::CollapseShapeOp::create(b, loc, outType, value, *groups);
    if (unitsOnly) {
      SmallVector<OpFoldResult> sizes;
      for (auto [next, group] : llvm::enumerate(*groups))
        for (int64_t d : group)
          sizes.push_back(outType.isDynamicDim(d)
                              ? tensor::getMixedSize(b, loc, value, next)
                              : b.getIndexAttr(outType.getDimSize(d)));
      return expandShape(b, loc, outType, value, *groups, sizes);
    }
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < inType.getRank(); ++d)
      if (inType.isDynamicDim(d))
        dynamicSizes.push_back(tensor::DimOp::create(b, loc, value, d));
    SmallVector<Value> dims;
    size_t next = 0;
    for (int64_t d : outType.getShape()) {
      if (!ShapedType::isDynamic(d))
        dims.push_back(arith::ConstantIndexOp::create(b, loc, d));
      else if (next < dynamicSizes.size())
        dims.push_back(dynamicSizes[next++]);
      else
        return {};
    }
    Value shape = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({outType.getRank()}, b.getIndexType()),
        dims);
    return tensor::ReshapeOp::create(b, loc, outType, value, shape);
  }
  // Collapse to 1-D, then expand to the target: valid for any static pair.
  auto flatType = RankedTensorType::get({inType.getNumElements()},
                                        inType.getElementType());
  SmallVector<ReassociationIndices> collapse(1), expand(1);
  for (int64_t d = 0; d < inType.getRank(); ++d)
    collapse[0].push_back(d);
  for (int64_t d = 0; d < outType.getRank(); ++d)
    expand[0].push_back(d);
  Value flat = value;
  if (inType.getRank() != 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, flat, collapse);
  if (outType.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, outType, flat, expand);
}

} // namespace dlc
