//===- VectorizeMatmul.cpp - register-tiled vector code for matmul --------===//
//
// C[M, N] += A[M, K] x B[K, N], all static, f32:
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
// When the product's only user is a 2-D elementwise linalg.generic (a
// kernel's epilogue: bias, residual, activation), its body is applied to the
// accumulators before they are stored, and the product itself is never
// written to memory.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "passes/lowering/FusedEpilogue.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"
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

class MatmulEmitter {
public:
  /// `rhs` is B [K, N], or with `packedWidth` B packed in panels
  /// [N / packedWidth, K, packedWidth] (B[k, n] at [n / w, k, n % w]; w a
  /// multiple of the vector width that divides the tile width); `n` is the
  /// number of columns of C.
  MatmulEmitter(OpBuilder &b, Location loc, Value lhs, Value rhs, int64_t n,
                int64_t packedWidth,
                const std::optional<dlc::FusedEpilogue> &epilogue, int64_t lanes)
      : b(b), loc(loc), lhs(lhs), rhs(rhs), epilogue(epilogue), lanes(lanes),
        n(n), packedWidth(packedWidth) {
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    k = lhsType.getDimSize(1);
    elem = lhsType.getElementType();
    vecType = VectorType::get({lanes}, elem);
    maskType = VectorType::get({lanes}, b.getI1Type());
    rowMap = AffineMap::getMinorIdentityMap(2, 1, b.getContext());
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
  Value emitRows(Value init, Value dest, int64_t rowBegin, int64_t rowEnd,
                 TileShape tile) {
    if (rowEnd <= rowBegin)
      return dest;
    this->init = init;
    int64_t width = lanes * tile.vectors;
    auto colLoop = scf::ForOp::create(
        b, loc, index(0), index(n), index(width), ValueRange{dest},
        [&](OpBuilder &, Location, Value n0, ValueRange args) {
          auto rowLoop = scf::ForOp::create(
              b, loc, index(rowBegin), index(rowEnd), index(tile.rows),
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

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value offset(Value base, int64_t delta) {
    return delta ? arith::AddIOp::create(b, loc, base, index(delta)).getResult()
                 : base;
  }

  Value emitTile(Value c, Value m0, Value n0, TileShape tile) {
    // One mask per vector column, computed once per tile; none when the
    // tiles cover the columns exactly.
    bool exact = n % (lanes * tile.vectors) == 0;
    SmallVector<Value> cols, masks;
    for (int64_t v = 0; v < tile.vectors; ++v) {
      cols.push_back(offset(n0, v * lanes));
      // Columns left from this vector on: n - col.
      masks.push_back(
          exact ? Value()
                : vector::CreateMaskOp::create(
                      b, loc, maskType,
                      arith::SubIOp::create(b, loc, index(n), cols.back())
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
    Value fillValue;
    if (auto fill = init.getDefiningOp<linalg::FillOp>())
      if (matchPattern(fill.getDpsInputOperand(0)->get(), m_Constant()))
        fillValue = fill.getDpsInputOperand(0)->get();
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

    auto kLoop = scf::ForOp::create(
        b, loc, index(0), index(k), index(1), accs,
        [&](OpBuilder &, Location, Value kk, ValueRange acc) {
          SmallVector<Value> bvecs;
          for (int64_t v = 0; v < tile.vectors; ++v)
            bvecs.push_back(
                packedWidth
                    ? vector::TransferReadOp::create(
                          b, loc, vecType, rhs,
                          ValueRange{panels[v], kk, index(panelOffsets[v])},
                          panelMap,
                          zero, Value(), b.getBoolArrayAttr({true}))
                          .getResult()
                    : vector::TransferReadOp::create(
                          b, loc, vecType, rhs, ValueRange{kk, cols[v]},
                          rowMap, zero, masks[v], inBounds)
                          .getResult());
          SmallVector<Value> next;
          for (int64_t r = 0; r < tile.rows; ++r) {
            Value a = tensor::ExtractOp::create(b, loc, lhs,
                                                ValueRange{rows[r], kk});
            Value splat = vector::BroadcastOp::create(b, loc, vecType, a);
            for (int64_t v = 0; v < tile.vectors; ++v)
              next.push_back(vector::FMAOp::create(
                  b, loc, splat, bvecs[v], acc[r * tile.vectors + v]));
          }
          scf::YieldOp::create(b, loc, next);
        });

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
  int64_t n, packedWidth;
  int64_t k;
  Type elem;
  VectorType vecType, maskType;
  AffineMap rowMap;
};

struct VectorizeMatmulPass
    : public dlc::impl::VectorizeMatmulBase<VectorizeMatmulPass> {
  using VectorizeMatmulBase::VectorizeMatmulBase;

  void runOnOperation() override {
    // Plain matmuls, and matmuls whose B is packed in panels.
    SmallVector<linalg::LinalgOp> matmuls;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation())) {
        if (isVectorizable(matmul))
          matmuls.push_back(op);
      } else if (packedPanelWidth(op)) {
        matmuls.push_back(op);
      }
    });
    for (linalg::LinalgOp op : matmuls) {
      int64_t packedWidth = packedPanelWidth(op);
      OpBuilder b(op);
      Value lhs = op.getDpsInputOperand(0)->get();
      Value rhs = op.getDpsInputOperand(1)->get();
      Value acc = op.getDpsInitOperand(0)->get();
      int64_t m = cast<RankedTensorType>(lhs.getType()).getDimSize(0);
      int64_t n = cast<RankedTensorType>(acc.getType()).getDimSize(1);
      // Panels hold whole vectors and tiles whole panels.
      if (packedWidth && (packedWidth % lanes != 0 ||
                          (lanes * vectors) % packedWidth != 0)) {
        op->emitOpError("packs B in panels of ")
            << packedWidth << " columns, which " << lanes * vectors
            << "-column register tiles of " << lanes
            << "-lane vectors cannot read";
        return signalPassFailure();
      }
      std::optional<dlc::FusedEpilogue> epilogue = dlc::findFusedEpilogue(op->getResult(0));
      // The tiles are emitted where the epilogue was, after all its inputs.
      if (epilogue)
        b.setInsertionPoint(epilogue->op);
      Value dest = epilogue ? epilogue->op.getDpsInitOperand(0)->get() : acc;
      MatmulEmitter emitter(b, op.getLoc(), lhs, rhs, n, packedWidth,
                            epilogue, lanes);
      // Fewer rows than a tile (a recurrent step's batch): one smaller tile.
      // The rows past the last full tile form one tile of their own, whose
      // independent accumulators still hide the FMA latency.
      int64_t tileRows = std::min<int64_t>(rows, m);
      int64_t full = m / tileRows * tileRows;
      dest = emitter.emitRows(acc, dest, 0, full, {tileRows, vectors});
      dest = emitter.emitRows(acc, dest, full, m, {m - full, vectors});
      if (epilogue) {
        epilogue->op->getResult(0).replaceAllUsesWith(dest);
        epilogue->op->erase();
      } else {
        op->getResult(0).replaceAllUsesWith(dest);
      }
      op->erase();
    }
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

  /// Plain (untransposed, unbroadcast) f32 matmul on static tensors.
  static bool isVectorizable(linalg::MatmulOp op) {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return false;
    for (Value v : op->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      // Empty matrices are left to the generic lowering (no tiles).
      if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
          type.getNumElements() == 0)
        return false;
    }
    return true;
  }
};

} // namespace
