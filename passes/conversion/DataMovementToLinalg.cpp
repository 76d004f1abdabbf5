//===- DataMovementToLinalg.cpp - shape and data movement ops ---===//
//
// Reshape, transpose, concat, pad, gather, slice, expand.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
namespace graph = dlc::graph;

namespace {
struct ReshapeToLinalg : OpConversionPattern<graph::ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = dlc::reshapeTensor(rewriter, op.getLoc(), adaptor.getInput(),
                                      op.getType());
    if (!result)
      return rewriter.notifyMatchFailure(op, "no reshape between these dims");
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TransposeToLinalg : OpConversionPattern<graph::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = op.getType();
    // Result dim i is input dim perm[i] (sizes known only at run time too).
    SmallVector<OpFoldResult> sizes;
    for (int64_t p : op.getPerm())
      sizes.push_back(
          tensor::getMixedSize(rewriter, op.getLoc(), adaptor.getInput(), p));
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), sizes,
                                         type.getElementType());
    auto transpose = linalg::TransposeOp::create(
        rewriter, op.getLoc(), adaptor.getInput(), init, op.getPerm());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

struct ConcatToLinalg : OpConversionPattern<graph::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    int64_t axis = op.getAxis();
    Value result = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                           type.getElementType());
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      auto inType = cast<RankedTensorType>(input.getType());
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(type.getRank(),
                                               rewriter.getIndexAttr(1));
      offsets[axis] = rewriter.getIndexAttr(offset);
      for (int64_t d : inType.getShape())
        sizes.push_back(rewriter.getIndexAttr(d));
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result,
                                             offsets, sizes, strides);
      offset += inType.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct PadToLinalg : OpConversionPattern<graph::PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    int64_t rank = inType.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    if (op.getMode() != "constant") {
      // Edge, reflect and wrap: every output element reads a clamped,
      // mirrored or periodic input position.
      bool reflect = op.getMode() == "reflect";
      bool wrap = op.getMode() == "wrap";
      Value input = adaptor.getInput();
      auto type = op.getType();
      Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                           type.getElementType());
      auto generic = linalg::GenericOp::create(
          rewriter, loc, type, ValueRange{}, init,
          SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext())},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange) {
            SmallVector<Value> coords;
            for (int64_t d = 0; d < rank; ++d) {
              int64_t n = inType.getDimSize(d);
              Value i = arith::SubIOp::create(
                  b, l, linalg::IndexOp::create(b, l, d),
                  arith::ConstantIndexOp::create(b, l, pads[d]));
              Value zero = arith::ConstantIndexOp::create(b, l, 0);
              Value last = arith::ConstantIndexOp::create(b, l, n - 1);
              if (wrap) {
                // ((i mod n) + n) mod n: periodic for any pad size.
                Value size = arith::ConstantIndexOp::create(b, l, n);
                i = arith::RemSIOp::create(
                    b, l, arith::AddIOp::create(
                              b, l, arith::RemSIOp::create(b, l, i, size), size),
                    size);
              }
              if (reflect) {
                // i < 0 -> -i; i > n - 1 -> 2 (n - 1) - i.
                Value negated = arith::SubIOp::create(b, l, zero, i);
                i = arith::MaxSIOp::create(b, l, i, negated);
                Value mirrored = arith::SubIOp::create(
                    b, l, arith::ConstantIndexOp::create(b, l, 2 * (n - 1)), i);
                i = arith::MinSIOp::create(b, l, i, mirrored);
              }
              i = arith::MaxSIOp::create(b, l, i, zero);
              coords.push_back(arith::MinSIOp::create(b, l, i, last));
            }
            linalg::YieldOp::create(
                b, l, tensor::ExtractOp::create(b, l, input, coords).getResult());
          });
      rewriter.replaceOp(op, generic.getResult(0));
      return success();
    }
    // Negative pads crop: slice first, then pad with what is left.
    SmallVector<OpFoldResult> offsets, sizes,
        strides(rank, rewriter.getIndexAttr(1));
    SmallVector<int64_t> low, high, croppedShape;
    bool crops = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t begin = pads[d], end = pads[d + rank];
      int64_t cropBegin = begin < 0 ? -begin : 0;
      int64_t cropEnd = end < 0 ? -end : 0;
      crops |= cropBegin || cropEnd;
      offsets.push_back(rewriter.getIndexAttr(cropBegin));
      croppedShape.push_back(inType.getDimSize(d) - cropBegin - cropEnd);
      sizes.push_back(rewriter.getIndexAttr(croppedShape.back()));
      low.push_back(std::max<int64_t>(begin, 0));
      high.push_back(std::max<int64_t>(end, 0));
    }
    Value input = adaptor.getInput();
    if (crops)
      input = tensor::ExtractSliceOp::create(
          rewriter, loc,
          RankedTensorType::get(croppedShape, inType.getElementType()), input,
          offsets, sizes, strides);
    Value result = dlc::padWithConstant(rewriter, loc, input, low, high,
                                        op.getValue().convertToDouble());
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GatherToLinalg : OpConversionPattern<graph::GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value data = adaptor.getData();
    auto dataType = cast<RankedTensorType>(data.getType());
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    auto type = op.getType();
    int64_t axis = op.getAxis(), idxRank = indicesType.getRank();
    int64_t rank = type.getRank();
    SmallVector<AffineExpr> idxExprs;
    for (int64_t d = 0; d < idxRank; ++d)
      idxExprs.push_back(getAffineDimExpr(axis + d, ctx));
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    int64_t axisSize = dataType.getDimSize(axis);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, adaptor.getIndices(), init,
        SmallVector<AffineMap>{AffineMap::get(rank, 0, idxExprs, ctx),
                               AffineMap::getMultiDimIdentityMap(rank, ctx)},
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          // A negative index counts from the end; indices are clamped into
          // range so that a bad index cannot read outside the tensor.
          Value idx = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value size = arith::ConstantIndexOp::create(b, l, axisSize);
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          Value negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx, zero);
          idx = arith::SelectOp::create(b, l, negative,
                                        arith::AddIOp::create(b, l, idx, size), idx);
          idx = arith::MaxSIOp::create(b, l, idx, zero);
          idx = arith::MinSIOp::create(
              b, l, idx, arith::ConstantIndexOp::create(b, l, axisSize - 1));
          SmallVector<Value> coords;
          for (int64_t d = 0; d < axis; ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d));
          coords.push_back(idx);
          for (int64_t d = axis + 1; d < dataType.getRank(); ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d - 1 + idxRank));
          linalg::YieldOp::create(b, l,
                                  tensor::ExtractOp::create(b, l, data, coords)
                                      .getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// An index read from a tensor of indices, made non-negative (counting from
/// the end) and clamped into [0, size) so that a bad index cannot read
/// outside the tensor.
Value normalizedIndex(OpBuilder &b, Location l, Value raw, int64_t size) {
  Value idx = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value negative =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx, zero);
  Value wrapped = arith::AddIOp::create(
      b, l, idx, arith::ConstantIndexOp::create(b, l, size));
  idx = arith::SelectOp::create(b, l, negative, wrapped, idx);
  idx = arith::MaxSIOp::create(b, l, idx, zero);
  return arith::MinSIOp::create(b, l, idx,
                                arith::ConstantIndexOp::create(b, l, size - 1));
}

struct GatherElementsToLinalg : OpConversionPattern<graph::GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    int64_t axisSize = cast<RankedTensorType>(data.getType()).getDimSize(axis);
    MLIRContext *ctx = rewriter.getContext();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, adaptor.getIndices(), init,
        SmallVector<AffineMap>{identity, identity},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < rank; ++d)
            coords.push_back(d == axis ? normalizedIndex(b, l, args[0], axisSize)
                                       : linalg::IndexOp::create(b, l, d).getResult());
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, data, coords).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct TriluToLinalg : OpConversionPattern<graph::TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    bool upper = op.getUpper();
    // k from the attribute, or read once from the run-time operand.
    Value runtimeK;
    if (Value given = adaptor.getKValue())
      runtimeK = arith::IndexCastOp::create(
          rewriter, op.getLoc(), rewriter.getIndexType(),
          tensor::ExtractOp::create(rewriter, op.getLoc(), given, ValueRange{}));
    auto k = static_cast<int64_t>(op.getKAttr().getInt());
    Value result = dlc::buildElementwise(
        rewriter, op.getLoc(), type, adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          // Kept where (column - row) is >= k (upper) or <= k (lower).
          Value row = linalg::IndexOp::create(b, l, rank - 2);
          Value col = linalg::IndexOp::create(b, l, rank - 1);
          Value diff = arith::SubIOp::create(b, l, col, row);
          Value kv = runtimeK ? runtimeK
                              : arith::ConstantIndexOp::create(b, l, k);
          Value keep = arith::CmpIOp::create(
              b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              diff, kv);
          Value zero = dlc::floatConstant(b, l, a[0].getType(), 0);
          return arith::SelectOp::create(b, l, keep, a[0], zero);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The dropout mask from a counter-based hash: splitmix64's finalizer over
/// seed, counter and the element's row-major index, its top 24 bits as a
/// uniform float in [0, 1).
struct DropoutMaskToLinalg : OpConversionPattern<graph::DropoutMaskOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::DropoutMaskOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    if (Value counter = adaptor.getCounter()) {
      inputs.push_back(counter);
      maps.push_back(AffineMap::get(rank, 0, {}, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    double ratio = op.getRatio().convertToDouble();
    uint64_t seed = static_cast<uint64_t>(op.getSeed());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, inputs, init, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Type i64 = b.getI64Type();
          auto c = [&](uint64_t v) {
            return arith::ConstantOp::create(b, l, b.getI64IntegerAttr(v)).getResult();
          };
          Value linear = arith::ConstantIndexOp::create(b, l, 0);
          for (int64_t d = 0; d < rank; ++d) {
            Value size = arith::ConstantIndexOp::create(b, l, type.getDimSize(d));
            linear = arith::AddIOp::create(
                b, l, arith::MulIOp::create(b, l, linear, size),
                linalg::IndexOp::create(b, l, d));
          }
          Value z = arith::IndexCastUIOp::create(b, l, i64, linear);
          if (adaptor.getCounter()) {
            Value step = arith::FPToUIOp::create(b, l, i64, args[0]);
            z = arith::XOrIOp::create(
                b, l, z, arith::MulIOp::create(b, l, step, c(0xD1B54A32D192ED03ull)));
          }
          z = arith::AddIOp::create(b, l, z, c(seed * 0x9E3779B97F4A7C15ull));
          auto mix = [&](uint64_t shift, uint64_t multiplier) {
            z = arith::XOrIOp::create(b, l, z,
                                      arith::ShRUIOp::create(b, l, z, c(shift)));
            if (multiplier)
              z = arith::MulIOp::create(b, l, z, c(multiplier));
          };
          mix(30, 0xBF58476D1CE4E5B9ull);
          mix(27, 0x94D049BB133111EBull);
          mix(31, 0);
          Value bits = arith::ShRUIOp::create(b, l, z, c(40));
          Value u = arith::MulFOp::create(
              b, l, arith::UIToFPOp::create(b, l, b.getF32Type(), bits),
              dlc::floatConstant(b, l, b.getF32Type(), 1.0 / (1 << 24)));
          Value keep = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::OGE, u,
              dlc::floatConstant(b, l, b.getF32Type(), ratio));
          Value scale = dlc::floatConstant(b, l, b.getF32Type(), 1.0 / (1.0 - ratio));
          Value zero = dlc::floatConstant(b, l, b.getF32Type(), 0.0);
          linalg::YieldOp::create(
              b, l, arith::SelectOp::create(b, l, keep, scale, zero).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// Combines `update` into `current` by a scatter reduction.
Value combineScatter(OpBuilder &b, Location l, StringRef reduction,
                     Value current, Value update) {
  bool isFloat = isa<FloatType>(update.getType());
  if (reduction == "add")
    return isFloat ? arith::AddFOp::create(b, l, current, update).getResult()
                   : arith::AddIOp::create(b, l, current, update).getResult();
  if (reduction == "mul")
    return isFloat ? arith::MulFOp::create(b, l, current, update).getResult()
                   : arith::MulIOp::create(b, l, current, update).getResult();
  if (reduction == "max")
    return isFloat ? arith::MaximumFOp::create(b, l, current, update).getResult()
                   : arith::MaxSIOp::create(b, l, current, update).getResult();
  if (reduction == "min")
    return isFloat ? arith::MinimumFOp::create(b, l, current, update).getResult()
                   : arith::MinSIOp::create(b, l, current, update).getResult();
  return update;
}

/// A loop nest over `shape` writing updates[ivs] into (a copy of) `data` at
/// `coordsOf(ivs)`, combined with the current value by `reduction`. Later
/// writes to the same place win (or accumulate).
Value buildScatterLoop(
    OpBuilder &builder, Location loc, Value data, Value updates,
    ArrayRef<int64_t> shape, StringRef reduction,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> coordsOf) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d : shape) {
    lbs.push_back(arith::ConstantIndexOp::create(builder, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(builder, loc, d));
    steps.push_back(arith::ConstantIndexOp::create(builder, loc, 1));
  }
  scf::LoopNest nest = scf::buildLoopNest(
      builder, loc, lbs, ubs, steps, ValueRange{data},
      [&](OpBuilder &b, Location l, ValueRange ivs,
          ValueRange iters) -> scf::ValueVector {
        SmallVector<Value> coords = coordsOf(b, l, ivs);
        Value update = tensor::ExtractOp::create(b, l, updates, ivs);
        if (reduction != "none")
          update = combineScatter(
              b, l, reduction, tensor::ExtractOp::create(b, l, iters[0], coords),
              update);
        return {tensor::InsertOp::create(b, l, update, iters[0], coords).getResult()};
      });
  return nest.results[0];
}

struct ScatterElementsToLinalg : OpConversionPattern<graph::ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    auto dataType = cast<RankedTensorType>(op.getData().getType());
    int64_t axis = op.getAxis(), axisSize = dataType.getDimSize(axis);
    Value indices = adaptor.getIndices();
    Value result = buildScatterLoop(
        rewriter, op.getLoc(), adaptor.getData(), adaptor.getUpdates(),
        indicesType.getShape(), op.getReduction(),
        [&](OpBuilder &b, Location l, ValueRange ivs) {
          SmallVector<Value> coords(ivs.begin(), ivs.end());
          Value raw = tensor::ExtractOp::create(b, l, indices, ivs);
          coords[axis] = normalizedIndex(b, l, raw, axisSize);
          return coords;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// out[n, f, oy, ox] = sum over (kh, kw) of columns[(f*KH + kh)*KW + kw,
/// (n*H + iy)*W + ix] for the taps with oy = iy*s - pad + kh*d (same in x)
/// and (iy, ix) inside the input.
struct Col2ImToLinalg : OpConversionPattern<graph::Col2ImOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::Col2ImOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = op.getType();
    Value cols = adaptor.getColumns();
    ArrayRef<int64_t> in = op.getInputSize(), k = op.getKernelShape(),
                      s = op.getStrides(), d = op.getDilations(), p = op.getPads();
    AffineExpr n, f, oy, ox, kh, kw;
    bindDims(ctx, n, f, oy, ox, kh, kw);
    Value init = dlc::createFilled(rewriter, loc, type, 0.0);
    // The kernel window only gives the tap loops their extent (like the
    // window operand of linalg's pooling ops); it is never read.
    Value window = tensor::EmptyOp::create(rewriter, loc, k, type.getElementType());
    using utils::IteratorType;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{window}, init,
        SmallVector<AffineMap>{AffineMap::get(6, 0, {kh, kw}, ctx),
                               AffineMap::get(6, 0, {n, f, oy, ox}, ctx)},
        SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                  IteratorType::parallel, IteratorType::parallel,
                                  IteratorType::reduction, IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto cst = [&](int64_t v) {
            return arith::ConstantIndexOp::create(b, l, v).getResult();
          };
          auto idx = [&](int64_t dim) {
            return linalg::IndexOp::create(b, l, dim).getResult();
          };
          // The input position (and whether one exists) of output position o
          // through tap t along one dim.
          auto source = [&](Value o, Value t, int64_t dim, Value &valid) {
            Value shifted = arith::SubIOp::create(
                b, l, arith::AddIOp::create(b, l, o, cst(p[dim])),
                arith::MulIOp::create(b, l, t, cst(d[dim])));
            Value rem = arith::RemSIOp::create(b, l, shifted, cst(s[dim]));
            Value pos = arith::DivSIOp::create(b, l, shifted, cst(s[dim]));
            Value ok = arith::AndIOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, shifted, cst(0)),
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, rem, cst(0)));
            ok = arith::AndIOp::create(
                b, l, ok,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, pos, cst(in[dim])));
            valid = valid ? arith::AndIOp::create(b, l, valid, ok).getResult() : ok;
            // Clamped so that an invalid tap still reads inside the tensor.
            Value lo = arith::MaxSIOp::create(b, l, pos, cst(0));
            return arith::MinSIOp::create(b, l, lo, cst(in[dim] - 1)).getResult();
          };
          Value valid;
          Value iy = source(idx(2), idx(4), 0, valid);
          Value ix = source(idx(3), idx(5), 1, valid);
          Value row = arith::AddIOp::create(
              b, l,
              arith::MulIOp::create(
                  b, l,
                  arith::AddIOp::create(b, l, arith::MulIOp::create(b, l, idx(1), cst(k[0])),
                                        idx(4)),
                  cst(k[1])),
              idx(5));
          Value col = arith::AddIOp::create(
              b, l,
              arith::MulIOp::create(
                  b, l,
                  arith::AddIOp::create(b, l, arith::MulIOp::create(b, l, idx(0), cst(in[0])),
                                        iy),
                  cst(in[1])),
              ix);
          Value v = tensor::ExtractOp::create(b, l, cols, ValueRange{row, col});
          Value zero = dlc::floatConstant(b, l, v.getType(), 0);
          Value tap = arith::SelectOp::create(b, l, valid, v, zero);
          linalg::YieldOp::create(b, l,
                                  arith::AddFOp::create(b, l, args[1], tap).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct GatherNDToLinalg : OpConversionPattern<graph::GatherNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GatherNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    auto dataType = cast<RankedTensorType>(op.getData().getType());
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    int64_t rank = type.getRank(), batch = op.getBatchDims();
    int64_t tuples = indicesType.getRank() - 1; // dims of indices before q
    int64_t q = indicesType.getDimSize(tuples);
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{}, init,
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext())},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> tuplePrefix, coords;
          for (int64_t d = 0; d < tuples; ++d)
            tuplePrefix.push_back(linalg::IndexOp::create(b, l, d));
          for (int64_t d = 0; d < batch; ++d)
            coords.push_back(tuplePrefix[d]);
          for (int64_t j = 0; j < q; ++j) {
            SmallVector<Value> at = tuplePrefix;
            at.push_back(arith::ConstantIndexOp::create(b, l, j));
            Value raw = tensor::ExtractOp::create(b, l, indices, at);
            coords.push_back(normalizedIndex(b, l, raw, dataType.getDimSize(batch + j)));
          }
          for (int64_t d = tuples; d < rank; ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d));
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, data, coords).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ScatterNDToLinalg : OpConversionPattern<graph::ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto dataType = cast<RankedTensorType>(op.getData().getType());
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    auto updatesType = cast<RankedTensorType>(op.getUpdates().getType());
    int64_t tuples = indicesType.getRank() - 1;
    int64_t q = indicesType.getDimSize(tuples);
    Value indices = adaptor.getIndices();
    Value result = buildScatterLoop(
        rewriter, op.getLoc(), adaptor.getData(), adaptor.getUpdates(),
        updatesType.getShape(), op.getReduction(),
        [&](OpBuilder &b, Location l, ValueRange ivs) {
          // The index tuple addresses the leading q dims; the rest of the
          // update's coordinates follow.
          SmallVector<Value> coords;
          for (int64_t j = 0; j < q; ++j) {
            SmallVector<Value> at(ivs.begin(), ivs.begin() + tuples);
            at.push_back(arith::ConstantIndexOp::create(b, l, j));
            Value raw = tensor::ExtractOp::create(b, l, indices, at);
            coords.push_back(normalizedIndex(b, l, raw, dataType.getDimSize(j)));
          }
          coords.append(ivs.begin() + tuples, ivs.end());
          return coords;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SliceToLinalg : OpConversionPattern<graph::SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
    if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        offsets.push_back(rewriter.getIndexAttr(starts[d]));
        sizes.push_back(rewriter.getIndexAttr(type.getDimSize(d)));
        strides.push_back(rewriter.getIndexAttr(steps[d]));
      }
      rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
          op, type, adaptor.getInput(), offsets, sizes, strides);
      return success();
    }
    // Negative steps: element i of dim d reads start + i * step.
    Value input = adaptor.getInput();
    MLIRContext *ctx = rewriter.getContext();
    int64_t rank = type.getRank();
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{}, init,
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < rank; ++d) {
            Value i = linalg::IndexOp::create(b, l, d);
            Value scaled = arith::MulIOp::create(
                b, l, i, arith::ConstantIndexOp::create(b, l, steps[d]));
            coords.push_back(arith::AddIOp::create(
                b, l, scaled, arith::ConstantIndexOp::create(b, l, starts[d])));
          }
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, input, coords).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ExpandToLinalg : OpConversionPattern<graph::ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, dlc::buildElementwise(rewriter, op.getLoc(), op.getType(),
                                  adaptor.getInput(),
                                  [](OpBuilder &, Location, ValueRange a) {
                                    return a[0];
                                  }));
    return success();
  }
};

/// The generated code's report of a failed run-time check (defined in
/// every model by Codegen): the call fails with the site's manifest message.
constexpr llvm::StringLiteral kReportError = "dlc_report_error";

/// check_indices as a reduction to "any index out of range", then a report
/// when it is set. It runs on the calling thread (outside parallel loops),
/// where the report is kept.
struct CheckIndicesToLinalg : OpConversionPattern<graph::CheckIndicesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::CheckIndicesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getSite())
      return rewriter.notifyMatchFailure(
          op, "not numbered (graph-number-runtime-checks)");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    // Declared by graph-number-runtime-checks: this pattern runs on
    // functions in parallel and must not add to the module.
    if (!SymbolTable::lookupNearestSymbolFrom(op, rewriter.getStringAttr(
                                                      kReportError)))
      return rewriter.notifyMatchFailure(op, "no declaration of " +
                                                 kReportError.str());
    auto type = cast<RankedTensorType>(adaptor.getIndices().getType());
    int64_t rank = type.getRank();
    Type i1 = rewriter.getI1Type();
    Value init = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(RankedTensorType::get({}, i1),
                                              false));
    auto any = linalg::GenericOp::create(
        rewriter, loc, init.getType(), adaptor.getIndices(), init,
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx),
                               AffineMap::get(rank, 0, {}, ctx)},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = args[0];
          if (v.getType() != b.getI64Type())
            v = arith::ExtSIOp::create(b, l, b.getI64Type(), v);
          auto bound = [&](int64_t c) {
            return arith::ConstantIntOp::create(b, l, c, 64);
          };
          Value low = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, v,
                                            bound(op.getLowerAttr().getInt()));
          Value high = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge,
                                             v, bound(op.getUpperAttr().getInt()));
          Value bad = arith::OrIOp::create(b, l, low, high);
          linalg::YieldOp::create(b, l,
                                  arith::OrIOp::create(b, l, args[1], bad)
                                      .getResult());
        });
    Value failed =
        tensor::ExtractOp::create(rewriter, loc, any.getResult(0), ValueRange{});
    auto ifOp = scf::IfOp::create(rewriter, loc, failed, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    Value site = arith::ConstantIntOp::create(rewriter, loc, *op.getSite(), 32);
    func::CallOp::create(rewriter, loc, kReportError, TypeRange{}, site);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void dlc::populateDataMovementToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ReshapeToLinalg, TransposeToLinalg, ConcatToLinalg, PadToLinalg,
               GatherToLinalg, GatherElementsToLinalg, SliceToLinalg,
               ExpandToLinalg, TriluToLinalg, DropoutMaskToLinalg,
               ScatterElementsToLinalg,
               Col2ImToLinalg, GatherNDToLinalg, ScatterNDToLinalg,
               CheckIndicesToLinalg>(
      patterns.getContext());
}
