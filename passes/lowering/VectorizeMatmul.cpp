//===- VectorizeMatmul.cpp - register-tiled vector code for matmul --------===//
//
// C[M, N] += A[M, K] x B[K, N], f32:
//
//   for n0 in [0, N) step L * V:        (V vectors of L lanes; masked past N)
//     for m0 in [0, M) step R:          (R = rows; then one tile of M % R rows)
//       acc[R][V] = C[m0 .. m0+R, n0 .. n0+16V]
//       for k in [0, K):
//         b[v] = B[k, n0 + Lv ..]             (V vector loads)
//         acc[r][v] += broadcast(A[m0+r, k]) * b[v]
//       C[m0 .., n0 ..] = acc
//
// The column and row loops are marked `dlc.parallel`: their tiles write
// disjoint parts of C, so parallelize-loops may run them on several threads.
//
// The R * V accumulators live in registers for the whole k loop, so each
// loaded vector of B feeds R fused multiply-adds.
//
// M, N and K of a plain matmul may be known only at run time (a symbolic
// sequence length: attention's products): the loops take their bounds from
// the tensors, columns are always masked, and the rows past the last full
// tile run as tiles of R/2, R/4, .., 1 rows, as many whole ones of each as
// fit (one when R is a power of two): register tiles of static size,
// whatever the size of the matrix.
//
// When the product's only user is a 2-D elementwise linalg.generic (a
// kernel's epilogue: bias, residual, activation), its body is applied to the
// accumulators before they are stored, and the product itself is never
// written to memory.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace dlc {
#define GEN_PASS_DEF_VECTORIZEMATMUL
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct TileShape {
  int64_t rows, vectors;
};

/// Implicit-GEMM windows up to this many taps are unrolled whole; larger
/// ones unroll one filter row at a time.
constexpr int64_t kMaxUnrolledTaps = 16;

/// An implicit-GEMM convolution: C[f, p] += W[f, c, kh, kw] *
/// In[p / (OH*OW), c, ((p / OW) % OH)*SH + kh*DH, (p % OW) + kw*DW] over an
/// (already padded) NCHW input with horizontal stride 1: B[k, p] is read
/// from the input itself, no im2col copy. The tile width (or the vector
/// width) divides OW, so that a vector's pixels are in one output row and
/// read one contiguous input row segment.
struct ImplicitConv {
  int64_t oh, ow, channels, kh, kw;
  int64_t strideH, dilationH, dilationW;
};

/// The input map of an implicit-GEMM convolution over loops (f, p, c, kh,
/// kw); convert-kernel-to-linalg builds the same.
AffineMap implicitConvInputMap(MLIRContext *ctx, const ImplicitConv &conv) {
  AffineExpr p, c, kh, kw;
  bindDims(ctx, std::ignore, p, c, kh, kw);
  return AffineMap::get(
      5, 0,
      {p.floorDiv(conv.oh * conv.ow), c,
       (p.floorDiv(conv.ow) % conv.oh) * conv.strideH + kh * conv.dilationH,
       p % conv.ow + kw * conv.dilationW},
      ctx);
}

/// `expr` (of 5 dims) with dims set to `values`, if that is a constant.
std::optional<int64_t> valueAt(AffineExpr expr, ArrayRef<int64_t> values) {
  SmallVector<AffineExpr> dims;
  for (int64_t v : values)
    dims.push_back(getAffineConstantExpr(v, expr.getContext()));
  if (auto c = dyn_cast<AffineConstantExpr>(expr.replaceDims(dims)))
    return c.getValue();
  return std::nullopt;
}

/// The output width OW in `expr`: the divisor of its `p mod OW` term.
std::optional<int64_t> findModulus(AffineExpr expr, AffineExpr p) {
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin)
    return std::nullopt;
  if (bin.getKind() == AffineExprKind::Mod && bin.getLHS() == p)
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
      return c.getValue();
  if (auto found = findModulus(bin.getLHS(), p))
    return found;
  return findModulus(bin.getRHS(), p);
}

/// An implicit-GEMM convolution generic: C[f, p] += W[f, c, kh, kw] *
/// In[implicitConvInputMap], static f32, multiply-accumulate body.
std::optional<ImplicitConv> matchImplicitConv(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != 5 || generic.getNumParallelLoops() != 2 ||
      !dlc::isMultiplyAccumulate(generic))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel)
    return std::nullopt;
  for (Value v : generic->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getNumElements() == 0)
      return std::nullopt;
  }
  auto filter =
      cast<RankedTensorType>(generic.getDpsInputOperand(0)->get().getType());
  auto input =
      cast<RankedTensorType>(generic.getDpsInputOperand(1)->get().getType());
  auto out =
      cast<RankedTensorType>(generic.getDpsInitOperand(0)->get().getType());
  if (filter.getRank() != 4 || input.getRank() != 4 || out.getRank() != 2)
    return std::nullopt;
  MLIRContext *ctx = generic.getContext();
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  AffineExpr f, p, c, kh, kw;
  bindDims(ctx, f, p, c, kh, kw);
  if (maps[0] != AffineMap::get(5, 0, {f, c, kh, kw}, ctx) ||
      maps[2] != AffineMap::get(5, 0, {f, p}, ctx) ||
      maps[1].getNumResults() != 4)
    return std::nullopt;
  std::optional<int64_t> ow = findModulus(maps[1].getResult(3), p);
  if (!ow || *ow <= 0 || out.getDimSize(1) % (input.getDimSize(0) * *ow))
    return std::nullopt;
  ImplicitConv conv;
  conv.ow = *ow;
  conv.oh = out.getDimSize(1) / (input.getDimSize(0) * *ow);
  conv.channels = filter.getDimSize(1);
  conv.kh = filter.getDimSize(2);
  conv.kw = filter.getDimSize(3);
  std::optional<int64_t> dh = valueAt(maps[1].getResult(2), {0, 0, 0, 1, 0});
  std::optional<int64_t> dw = valueAt(maps[1].getResult(3), {0, 0, 0, 0, 1});
  std::optional<int64_t> sh =
      conv.oh > 1 ? valueAt(maps[1].getResult(2), {0, conv.ow, 0, 0, 0})
                  : std::optional<int64_t>(1);
  if (!dh || !dw || !sh || *dh <= 0 || *dw <= 0 || *sh <= 0)
    return std::nullopt;
  conv.dilationH = *dh;
  conv.dilationW = *dw;
  conv.strideH = *sh;
  if (maps[1] != implicitConvInputMap(ctx, conv))
    return std::nullopt;
  return conv;
}

class MatmulEmitter {
public:
  /// `rhs` is B [K, N], or with `packedWidth` B packed in panels
  /// [N / packedWidth, K, packedWidth] (B[k, n] at [n / w, k, n % w]; w a
  /// multiple of the vector width that divides the tile width); `n` is the
  /// number of columns of C.
  /// With `conv`, `lhs` is the filter [F, C, KH, KW] and `rhs` the padded
  /// input (ImplicitConv).
  MatmulEmitter(OpBuilder &b, Location loc, Value lhs, Value rhs,
                OpFoldResult n, int64_t packedWidth,
                const std::optional<dlc::FusedEpilogue> &epilogue,
                int64_t lanes, std::optional<ImplicitConv> conv = std::nullopt)
      : b(b), loc(loc), lhs(lhs), rhs(rhs), epilogue(epilogue), lanes(lanes),
        n(n), packedWidth(packedWidth), conv(conv) {
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    // Only a plain matmul's A [M, K] may have a dim known at run time.
    k = lhsType.hasStaticShape()
            ? OpFoldResult(b.getIndexAttr(lhsType.getNumElements() /
                                          lhsType.getDimSize(0)))
            : tensor::getMixedSize(b, loc, lhs, 1);
    elem = lhsType.getElementType();
    vecType = VectorType::get({lanes}, elem);
    maskType = VectorType::get({lanes}, b.getI1Type());
    rowMap = AffineMap::getMinorIdentityMap(2, 1, b.getContext());
    inputRowMap = AffineMap::getMinorIdentityMap(4, 1, b.getContext());
  }

  /// Emits the tile loops for rows [rowBegin, rowEnd) with `tile`-sized
  /// register tiles; (rowEnd - rowBegin) is a multiple of tile.rows. Tiles
  /// start from `init` (the matmul's accumulator) and are stored to `dest`
  /// (the epilogue's output, or `init` itself without an epilogue).
  ///
  /// Column tiles are the outer loop: the K x width panel of B one column
  /// tile reads (strided by N, the large dimension of a convolution's
  /// im2col matrix) stays in cache while every row tile uses it, and B is
  /// read from memory once. Both loops are marked `dlc.parallel`: tiles
  /// write disjoint parts of C, so parallelize-loops may split them.
  Value emitRows(Value init, Value dest, OpFoldResult rowBegin,
                 OpFoldResult rowEnd, TileShape tile) {
    std::optional<int64_t> begin = getConstantIntValue(rowBegin),
                           end = getConstantIntValue(rowEnd);
    if (begin && end && *end <= *begin)
      return dest;
    this->init = init;
    int64_t width = lanes * tile.vectors;
    auto colLoop = scf::ForOp::create(
        b, loc, index(0), value(n), index(width), ValueRange{dest},
        [&](OpBuilder &, Location, Value n0, ValueRange args) {
          auto rowLoop = scf::ForOp::create(
              b, loc, value(rowBegin), value(rowEnd), index(tile.rows),
              ValueRange{args[0]},
              [&](OpBuilder &, Location, Value m0, ValueRange acc) {
                scf::YieldOp::create(b, loc, emitTile(acc[0], m0, n0, tile));
              });
          rowLoop->setAttr("dlc.parallel", b.getUnitAttr());
          scf::YieldOp::create(b, loc, rowLoop.getResult(0));
        });
    colLoop->setAttr("dlc.parallel", b.getUnitAttr());
    return colLoop.getResult(0);
  }

  OpBuilder &builder() { return b; }
  Location location() { return loc; }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value value(OpFoldResult v) {
    return getValueOrCreateConstantIndexOp(b, loc, v);
  }

private:
  Value offset(Value base, int64_t delta) {
    return delta ? arith::AddIOp::create(b, loc, base, index(delta)).getResult()
                 : base;
  }

  Value emitTile(Value c, Value m0, Value n0, TileShape tile) {
    // One mask per vector column, computed once per tile; none when the
    // tiles cover the columns exactly.
    std::optional<int64_t> staticN = getConstantIntValue(n);
    bool exact = staticN && *staticN % (lanes * tile.vectors) == 0;
    SmallVector<Value> cols, masks;
    for (int64_t v = 0; v < tile.vectors; ++v) {
      cols.push_back(offset(n0, v * lanes));
      // Columns left from this vector on: n - col.
      masks.push_back(
          exact ? Value()
                : vector::CreateMaskOp::create(
                      b, loc, maskType,
                      arith::SubIOp::create(b, loc, value(n), cols.back())
                          .getResult())
                      .getResult());
    }
    // A packed B: each vector's panel (one per tile, or one per vector when
    // the panels are one vector wide) and its offset in the panel.
    SmallVector<Value> panels;
    SmallVector<int64_t> panelOffsets;
    for (int64_t v = 0; packedWidth && v < tile.vectors; ++v) {
      panels.push_back(
          arith::DivUIOp::create(b, loc, cols[v], index(packedWidth)));
      panelOffsets.push_back(v * lanes % packedWidth);
    }
    auto panelMap = AffineMap::getMinorIdentityMap(3, 1, b.getContext());
    SmallVector<Value> rows;
    for (int64_t r = 0; r < tile.rows; ++r)
      rows.push_back(offset(m0, r));
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 0.0));
    auto inBounds = b.getBoolArrayAttr({exact});

    // Without an epilogue `c` is the accumulator itself (the loop carries
    // it); with one, the accumulator is only read. An accumulator filled with
    // a constant starts from that constant in registers.
    Value source = epilogue ? init : c;
    Value fillValue = dlc::constantFillValue(init);
    SmallVector<Value> accs;
    for (int64_t r = 0; r < tile.rows; ++r)
      for (int64_t v = 0; v < tile.vectors; ++v)
        accs.push_back(
            fillValue
                ? vector::BroadcastOp::create(b, loc, vecType, fillValue)
                      .getResult()
                : vector::TransferReadOp::create(
                      b, loc, vecType, source, ValueRange{rows[r], cols[v]},
                      rowMap, zero, masks[v], inBounds)
                      .getResult());

    // One k step: the B vectors of the tile's columns, each A element of
    // the tile's rows broadcast and multiplied into them.
    auto step = [&](ArrayRef<Value> bvecs, function_ref<Value(int64_t)> aElem,
                    ValueRange acc) {
      SmallVector<Value> next;
      for (int64_t r = 0; r < tile.rows; ++r) {
        Value splat = vector::BroadcastOp::create(b, loc, vecType, aElem(r));
        for (int64_t v = 0; v < tile.vectors; ++v)
          next.push_back(vector::FMAOp::create(b, loc, splat, bvecs[v],
                                               acc[r * tile.vectors + v]));
      }
      return next;
    };
    scf::ForOp kLoop;
    if (conv) {
      // Each vector's pixels: one output row segment of one image.
      SmallVector<Value> images, inRows, inCols;
      for (int64_t v = 0; v < tile.vectors; ++v) {
        Value pixel = cols[v];
        images.push_back(
            arith::DivUIOp::create(b, loc, pixel, index(conv->oh * conv->ow)));
        Value row = arith::RemUIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, pixel, index(conv->ow)),
            index(conv->oh));
        inRows.push_back(
            arith::MulIOp::create(b, loc, row, index(conv->strideH)));
        inCols.push_back(
            arith::RemUIOp::create(b, loc, pixel, index(conv->ow)));
      }
      // Channels in a loop, the taps of each unrolled: all KH x KW of them
      // for small windows, else the KW taps of each filter row in a loop
      // over the rows (a fully unrolled 7x7 window is too much code).
      auto emitTaps = [&](Value ch, Value tapRow, int64_t rowOffset,
                          SmallVector<Value> current) {
        for (int64_t j = 0; j < conv->kw; ++j) {
          SmallVector<Value> bvecs;
          for (int64_t v = 0; v < tile.vectors; ++v) {
            Value row = offset(inRows[v], rowOffset * conv->dilationH);
            if (tapRow)
              row = arith::AddIOp::create(
                  b, loc, row,
                  arith::MulIOp::create(b, loc, tapRow,
                                        index(conv->dilationH)));
            bvecs.push_back(vector::TransferReadOp::create(
                b, loc, vecType, rhs,
                ValueRange{images[v], ch, row,
                           offset(inCols[v], j * conv->dilationW)},
                inputRowMap, zero, Value(), b.getBoolArrayAttr({true})));
          }
          current = step(
              bvecs,
              [&](int64_t r) -> Value {
                return tensor::ExtractOp::create(
                    b, loc, lhs,
                    ValueRange{rows[r], ch, tapRow ? tapRow : index(rowOffset),
                               index(j)});
              },
              current);
        }
        return current;
      };
      bool unrollRows = conv->kh * conv->kw <= kMaxUnrolledTaps;
      kLoop = scf::ForOp::create(
          b, loc, index(0), index(conv->channels), index(1), accs,
          [&](OpBuilder &, Location, Value ch, ValueRange acc) {
            SmallVector<Value> current(acc);
            if (unrollRows) {
              for (int64_t i = 0; i < conv->kh; ++i)
                current = emitTaps(ch, Value(), i, current);
            } else {
              auto rowLoop = scf::ForOp::create(
                  b, loc, index(0), index(conv->kh), index(1), current,
                  [&](OpBuilder &, Location, Value i, ValueRange racc) {
                    scf::YieldOp::create(
                        b, loc, emitTaps(ch, i, 0, SmallVector<Value>(racc)));
                  });
              current.assign(rowLoop.getResults().begin(),
                             rowLoop.getResults().end());
            }
            scf::YieldOp::create(b, loc, current);
          });
    } else {
      kLoop = scf::ForOp::create(
          b, loc, index(0), value(k), index(1), accs,
          [&](OpBuilder &, Location, Value kk, ValueRange acc) {
            SmallVector<Value> bvecs;
            for (int64_t v = 0; v < tile.vectors; ++v)
              bvecs.push_back(
                  packedWidth
                      ? vector::TransferReadOp::create(
                            b, loc, vecType, rhs,
                            ValueRange{panels[v], kk, index(panelOffsets[v])},
                            panelMap, zero, Value(), b.getBoolArrayAttr({true}))
                            .getResult()
                      : vector::TransferReadOp::create(
                            b, loc, vecType, rhs, ValueRange{kk, cols[v]},
                            rowMap, zero, masks[v], inBounds)
                            .getResult());
            scf::YieldOp::create(b, loc,
                                 step(
                                     bvecs,
                                     [&](int64_t r) -> Value {
                                       return tensor::ExtractOp::create(
                                           b, loc, lhs,
                                           ValueRange{rows[r], kk});
                                     },
                                     acc));
          });
    }

    for (int64_t r = 0; r < tile.rows; ++r)
      for (int64_t v = 0; v < tile.vectors; ++v) {
        Value result = kLoop.getResult(r * tile.vectors + v);
        if (epilogue) {
          result = dlc::applyFusedEpilogue(b, loc, *epilogue, result,
                                           {rows[r], cols[v]}, masks[v]);
          c = dlc::writeFusedEpilogue(b, loc, *epilogue, result, c,
                                      {rows[r], cols[v]}, masks[v]);
          continue;
        }
        c = vector::TransferWriteOp::create(b, loc, c.getType(), result, c,
                                            ValueRange{rows[r], cols[v]},
                                            rowMap, masks[v], inBounds)
                .getResult();
      }
    return c;
  }

  OpBuilder &b;
  Location loc;
  Value lhs, rhs, init;
  std::optional<dlc::FusedEpilogue> epilogue;
  int64_t lanes; ///< f32 elements per vector
  OpFoldResult n; ///< columns of C
  int64_t packedWidth;
  std::optional<ImplicitConv> conv;
  OpFoldResult k;
  Type elem;
  VectorType vecType, maskType;
  AffineMap rowMap, inputRowMap;
};

struct VectorizeMatmulPass
    : public dlc::impl::VectorizeMatmulBase<VectorizeMatmulPass> {
  using VectorizeMatmulBase::VectorizeMatmulBase;

  void runOnOperation() override {
    // Plain matmuls, and matmuls whose B is packed in panels.
    // Each product with what its B operand is: plain, packed in panels of
    // `packedWidth` columns, or an implicit-GEMM convolution's input.
    struct Product {
      linalg::LinalgOp op;
      int64_t packedWidth;
      std::optional<ImplicitConv> conv;
    };
    SmallVector<Product> matmuls;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation())) {
        if (isVectorizable(matmul, /*allowDynamic=*/true))
          matmuls.push_back({op, 0, std::nullopt});
      } else if (int64_t packedWidth = packedPanelWidth(op)) {
        matmuls.push_back({op, packedWidth, std::nullopt});
      } else if (std::optional<ImplicitConv> conv = matchImplicitConv(op)) {
        // Each vector in one output row, every tile whole (B is read
        // unmasked); others stay loops.
        int64_t pixels =
            cast<RankedTensorType>(op->getResult(0).getType()).getDimSize(1);
        if (conv->ow % lanes == 0 && pixels % (lanes * vectors) == 0)
          matmuls.push_back({op, 0, conv});
      }
    });
    SmallVector<linalg::BatchMatmulOp> batches;
    getOperation().walk([&](linalg::BatchMatmulOp op) {
      if (isVectorizable(op))
        batches.push_back(op);
    });
    for (linalg::BatchMatmulOp op : batches)
      vectorizeBatch(op);

    for (auto &[op, packedWidth, conv] : matmuls) {
      OpBuilder b(op);
      Value lhs = op.getDpsInputOperand(0)->get();
      Value rhs = op.getDpsInputOperand(1)->get();
      Value acc = op.getDpsInitOperand(0)->get();
      OpFoldResult m = tensor::getMixedSize(b, op.getLoc(), lhs, 0);
      OpFoldResult n = tensor::getMixedSize(b, op.getLoc(), acc, 1);
      // Panels hold whole vectors and tiles whole panels.
      if (packedWidth &&
          (packedWidth % lanes != 0 || (lanes * vectors) % packedWidth != 0)) {
        op->emitOpError("packs B in panels of ")
            << packedWidth << " columns, which " << lanes * vectors
            << "-column register tiles of " << lanes
            << "-lane vectors cannot read";
        return signalPassFailure();
      }
      std::optional<dlc::FusedEpilogue> epilogue =
          dlc::findFusedEpilogue(op->getResult(0));
      // The tiles are emitted where the epilogue was, after all its inputs.
      if (epilogue)
        b.setInsertionPoint(epilogue->op);
      Value dest = dlc::kernelDestination(epilogue, acc);
      MatmulEmitter emitter(b, op.getLoc(), lhs, rhs, n, packedWidth, epilogue,
                            lanes, conv);
      dest = emitAllRows(emitter, acc, dest, m);
      dlc::replaceKernel(op, epilogue, dest);
    }
  }

  /// Tiles for all `m` rows: full tiles of `rows` (fewer when the matrix has
  /// fewer: a recurrent step's batch), then the rows past the last full tile
  /// as one tile of their own, whose independent accumulators still hide
  /// the FMA latency. When `m` is known only at run time, those rows run as
  /// tiles of halving height instead: each level takes as many whole tiles
  /// as fit (one when `rows` is a power of two), the last level single rows.
  Value emitAllRows(MatmulEmitter &emitter, Value init, Value dest,
                    OpFoldResult m) {
    if (std::optional<int64_t> staticM = getConstantIntValue(m)) {
      int64_t tileRows = std::min<int64_t>(rows, *staticM);
      int64_t full = *staticM / tileRows * tileRows;
      OpBuilder &b = emitter.builder();
      dest = emitter.emitRows(init, dest, b.getIndexAttr(0),
                              b.getIndexAttr(full), {tileRows, vectors});
      return emitter.emitRows(init, dest, b.getIndexAttr(full),
                              b.getIndexAttr(*staticM),
                              {*staticM - full, vectors});
    }
    OpBuilder &b = emitter.builder();
    Location loc = emitter.location();
    Value end = emitter.value(m);
    // The end of whole tiles of `height` rows from `begin`.
    auto wholeTiles = [&](Value begin, int64_t height) -> Value {
      Value left = arith::SubIOp::create(b, loc, end, begin);
      Value partial =
          arith::RemUIOp::create(b, loc, left, emitter.index(height));
      return arith::SubIOp::create(b, loc, end, partial);
    };
    Value begin = emitter.index(0);
    for (int64_t height = rows; height >= 1; height /= 2) {
      Value levelEnd = height == 1 ? end : wholeTiles(begin, height);
      dest = emitter.emitRows(init, dest, begin, levelEnd, {height, vectors});
      begin = levelEnd;
    }
    return dest;
  }

  /// Register tiles for each product of a batch, in a loop over the batch
  /// whose iterations parallelize-loops may split (they write disjoint
  /// slices). An accumulator filled with a constant is not filled in memory:
  /// the tiles start from the constant and write every element.
  void vectorizeBatch(linalg::BatchMatmulOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value lhs = op.getDpsInputOperand(0)->get();
    Value rhs = op.getDpsInputOperand(1)->get();
    Value acc = op.getDpsInitOperand(0)->get();
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    auto accType = cast<RankedTensorType>(acc.getType());
    int64_t batch = accType.getDimSize(0), m = accType.getDimSize(1),
            n = accType.getDimSize(2);
    Value fillValue = dlc::constantFillValue(acc);
    Value carried = dlc::kernelDestination(std::nullopt, acc);
    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    // Offsets, sizes and strides of product `at` in a [batch, rows, cols]
    // tensor.
    struct Slice {
      SmallVector<OpFoldResult> offsets, sizes, strides;
    };
    auto sliceOf = [&](RankedTensorType type, Value at) {
      return Slice{{at, b.getIndexAttr(0), b.getIndexAttr(0)},
                   {b.getIndexAttr(1), b.getIndexAttr(type.getDimSize(1)),
                    b.getIndexAttr(type.getDimSize(2))},
                   SmallVector<OpFoldResult>(3, b.getIndexAttr(1))};
    };
    auto slice = [&](Value source, RankedTensorType type, Value at) {
      Slice s = sliceOf(type, at);
      auto sliceType = RankedTensorType::get(type.getShape().drop_front(),
                                             type.getElementType());
      return tensor::ExtractSliceOp::create(b, loc, sliceType, source,
                                            s.offsets, s.sizes, s.strides)
          .getResult();
    };
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(batch), index(1), ValueRange{carried},
        [&](OpBuilder &, Location, Value bi, ValueRange args) {
          Value dest = slice(args[0], accType, bi);
          Value init =
              fillValue
                  ? linalg::FillOp::create(b, loc, fillValue, dest).getResult(0)
                  : dest;
          MatmulEmitter emitter(b, loc, slice(lhs, lhsType, bi),
                                slice(rhs, rhsType, bi), b.getIndexAttr(n), 0,
                                std::nullopt, lanes);
          Value result = emitAllRows(emitter, init, dest, b.getIndexAttr(m));
          Slice s = sliceOf(accType, bi);
          scf::YieldOp::create(b, loc,
                               tensor::InsertSliceOp::create(b, loc, result,
                                                             args[0], s.offsets,
                                                             s.sizes, s.strides)
                                   .getResult());
        });
    loop->setAttr("dlc.parallel", b.getUnitAttr());
    op->getResult(0).replaceAllUsesWith(loop.getResult(0));
    op->erase();
  }

  /// The panel width w of a matmul with B packed in panels, C[m, n] +=
  /// A[m, k] * Bp[n floordiv w, k, n mod w] (a generic over (m, n, k), as
  /// convolutions pack their im2col matrix), or 0.
  static int64_t packedPanelWidth(linalg::LinalgOp op) {
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (!generic || !generic.hasPureTensorSemantics() ||
        generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
        generic.getNumLoops() != 3 || generic.getNumReductionLoops() != 1 ||
        generic.getIteratorTypesArray()[2] != utils::IteratorType::reduction)
      return 0;
    for (Value v : generic->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
          type.getNumElements() == 0)
        return 0;
    }
    MLIRContext *ctx = generic.getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
    auto rhsType =
        cast<RankedTensorType>(generic.getDpsInputOperand(1)->get().getType());
    if (rhsType.getRank() != 3)
      return 0;
    int64_t w = rhsType.getDimSize(2);
    if (maps[0] != AffineMap::get(3, 0, {m, k}, ctx) ||
        maps[1] != AffineMap::get(3, 0, {n.floorDiv(w), k, n % w}, ctx) ||
        maps[2] != AffineMap::get(3, 0, {m, n}, ctx))
      return 0;
    if (!dlc::isMultiplyAccumulate(generic))
      return 0;
    return w;
  }

  /// Plain (untransposed, unbroadcast) f32 matmul or batch matmul on
  /// tensors of static shape, or with `allowDynamic` of any shape.
  template <typename MatmulLike>
  static bool isVectorizable(MatmulLike op, bool allowDynamic = false) {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return false;
    for (Value v : op->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.getElementType().isF32() ||
          (!allowDynamic && !type.hasStaticShape()))
        return false;
      // Empty matrices are left to the generic lowering (no tiles).
      if (llvm::is_contained(type.getShape(), 0))
        return false;
    }
    return true;
  }
};

} // namespace
