//===- VectorizeMatmul.cpp - register-tiled vector code for matmul --------===//
//
// C[M, N] += A[M, K] x B[K, N], all static, f32:
//
//   for m0 in [0, M) step R:            (R = rows; a last one-row tile loop)
//     for n0 in [0, N) step 16 * V:     (V vectors; columns past N masked)
//       acc[R][V] = C[m0 .. m0+R, n0 .. n0+16V]
//       for k in [0, K):
//         b[v] = B[k, n0 + 16v ..]            (V vector loads)
//         acc[r][v] += broadcast(A[m0+r, k]) * b[v]
//       C[m0 .., n0 ..] = acc
//
// The R * V accumulators live in registers for the whole k loop, so each
// loaded vector of B feeds R fused multiply-adds.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace dlc {
#define GEN_PASS_DEF_VECTORIZEMATMUL
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

constexpr int64_t kLanes = 16;

struct TileShape {
  int64_t rows, vectors;
};

class MatmulEmitter {
public:
  MatmulEmitter(OpBuilder &b, Location loc, Value lhs, Value rhs)
      : b(b), loc(loc), lhs(lhs), rhs(rhs) {
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    k = lhsType.getDimSize(1);
    n = rhsType.getDimSize(1);
    elem = lhsType.getElementType();
    vecType = VectorType::get({kLanes}, elem);
    maskType = VectorType::get({kLanes}, b.getI1Type());
    rowMap = AffineMap::getMinorIdentityMap(2, 1, b.getContext());
  }

  /// Emits the tile loops for rows [rowBegin, rowEnd) with `tile`-sized
  /// register tiles; (rowEnd - rowBegin) is a multiple of tile.rows.
  Value emitRows(Value acc, int64_t rowBegin, int64_t rowEnd, TileShape tile) {
    if (rowEnd <= rowBegin)
      return acc;
    Value lo = index(rowBegin), hi = index(rowEnd), step = index(tile.rows);
    auto rowLoop = scf::ForOp::create(
        b, loc, lo, hi, step, ValueRange{acc},
        [&](OpBuilder &, Location, Value m0, ValueRange args) {
          Value result = emitColumns(args[0], m0, tile);
          scf::YieldOp::create(b, loc, result);
        });
    return rowLoop.getResult(0);
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value offset(Value base, int64_t delta) {
    return delta ? arith::AddIOp::create(b, loc, base, index(delta)).getResult()
                 : base;
  }

  Value emitColumns(Value acc, Value m0, TileShape tile) {
    int64_t width = kLanes * tile.vectors;
    auto colLoop = scf::ForOp::create(
        b, loc, index(0), index(n), index(width), ValueRange{acc},
        [&](OpBuilder &, Location, Value n0, ValueRange args) {
          scf::YieldOp::create(b, loc, emitTile(args[0], m0, n0, tile));
        });
    return colLoop.getResult(0);
  }

  Value emitTile(Value c, Value m0, Value n0, TileShape tile) {
    // One mask per vector column, computed once per tile.
    Value remaining = arith::SubIOp::create(b, loc, index(n), n0);
    SmallVector<Value> cols, masks;
    for (int64_t v = 0; v < tile.vectors; ++v) {
      Value col = offset(n0, v * kLanes);
      Value left = v ? arith::SubIOp::create(b, loc, remaining,
                                             index(v * kLanes))
                             .getResult()
                     : remaining;
      cols.push_back(col);
      masks.push_back(vector::CreateMaskOp::create(b, loc, maskType, left));
    }
    SmallVector<Value> rows;
    for (int64_t r = 0; r < tile.rows; ++r)
      rows.push_back(offset(m0, r));
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 0.0));
    auto inBounds = b.getBoolArrayAttr({false});

    SmallVector<Value> accs;
    for (int64_t r = 0; r < tile.rows; ++r)
      for (int64_t v = 0; v < tile.vectors; ++v)
        accs.push_back(vector::TransferReadOp::create(
            b, loc, vecType, c, ValueRange{rows[r], cols[v]}, rowMap, zero,
            masks[v], inBounds));

    auto kLoop = scf::ForOp::create(
        b, loc, index(0), index(k), index(1), accs,
        [&](OpBuilder &, Location, Value kk, ValueRange acc) {
          SmallVector<Value> bvecs;
          for (int64_t v = 0; v < tile.vectors; ++v)
            bvecs.push_back(vector::TransferReadOp::create(
                b, loc, vecType, rhs, ValueRange{kk, cols[v]}, rowMap, zero,
                masks[v], inBounds));
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
      for (int64_t v = 0; v < tile.vectors; ++v)
        c = vector::TransferWriteOp::create(
                b, loc, c.getType(), kLoop.getResult(r * tile.vectors + v), c,
                ValueRange{rows[r], cols[v]}, rowMap, masks[v], inBounds)
                .getResult();
    return c;
  }

  OpBuilder &b;
  Location loc;
  Value lhs, rhs;
  int64_t k, n;
  Type elem;
  VectorType vecType, maskType;
  AffineMap rowMap;
};

struct VectorizeMatmulPass
    : public dlc::impl::VectorizeMatmulBase<VectorizeMatmulPass> {
  using VectorizeMatmulBase::VectorizeMatmulBase;

  void runOnOperation() override {
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (isVectorizable(op))
        matmuls.push_back(op);
    });
    for (linalg::MatmulOp op : matmuls) {
      OpBuilder b(op);
      Value lhs = op.getDpsInputOperand(0)->get();
      Value rhs = op.getDpsInputOperand(1)->get();
      Value acc = op.getDpsInitOperand(0)->get();
      int64_t m = cast<RankedTensorType>(lhs.getType()).getDimSize(0);
      MatmulEmitter emitter(b, op.getLoc(), lhs, rhs);
      int64_t full = m / rows * rows;
      acc = emitter.emitRows(acc, 0, full, {rows, vectors});
      acc = emitter.emitRows(acc, full, m, {1, vectors});
      op->getResult(0).replaceAllUsesWith(acc);
      op->erase();
    }
  }

  /// Plain (untransposed, unbroadcast) f32 matmul on static tensors.
  static bool isVectorizable(linalg::MatmulOp op) {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return false;
    for (Value v : op->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
        return false;
    }
    return true;
  }
};

} // namespace
