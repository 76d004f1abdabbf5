//===- WinogradConv.cpp - F(4x4, 3x3) Winograd convolution ----------------===//
//
// The transforms are vector code over `lanes` output tiles at a time: tile t
// of an image covers output rows [4*th, 4*th + 4) and columns [4*tw, 4*tw +
// 4) (th = t / TW, tw = t % TW) and reads the 6x6 input tile at (4*th,
// 4*tw). Tile elements are `lanes` apart in neither layout, so the input
// transform gathers and the output transform scatters; both are a small part
// of the work next to the 36 matrix products between them.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/WinogradConv.h"

#include "dialects/graph/Weights.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace {

constexpr int64_t kOut = 4;  ///< output tile size m
constexpr int64_t kIn = 6;   ///< input tile size m + r - 1
constexpr int64_t kTaps = 3; ///< filter size r
/// Transformed inputs and products of one block of columns (tiles).
constexpr int64_t kBlockBytes = 4 << 20;

// Interpolation points 0, 1, -1, 2, -2 and infinity.
// clang-format off
constexpr double kBT[kIn][kIn] = {{4,  0, -5,  0, 1, 0},
                                  {0, -4, -4,  1, 1, 0},
                                  {0,  4, -4, -1, 1, 0},
                                  {0, -2, -1,  2, 1, 0},
                                  {0,  2, -1, -2, 1, 0},
                                  {0,  4,  0, -5, 0, 1}};
constexpr double kG[kIn][kTaps] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1}};
constexpr double kAT[kOut][kIn] = {{1, 1,  1, 1,  1, 0},
                                   {0, 1, -1, 2, -2, 0},
                                   {0, 1,  1, 4,  4, 0},
                                   {0, 1, -1, 8, -8, 1}};
// clang-format on

class TransformEmitter {
public:
  TransformEmitter(OpBuilder &b, Location loc, int64_t lanes)
      : b(b), loc(loc), lanes(lanes) {
    vecType = VectorType::get({lanes}, b.getF32Type());
    indexType = VectorType::get({lanes}, b.getI32Type());
  }

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value splat(double v) { return dlc::floatConstant(b, loc, vecType, v); }

  Value splatIndex(int64_t v) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(indexType, static_cast<int32_t>(v)));
  }

  /// sum_k coeffs[k] * values[k], skipping zero coefficients (the transform
  /// matrices are half zeros) and multiplications by +-1.
  Value combine(ArrayRef<double> coeffs, ArrayRef<Value> values) {
    Value sum;
    for (auto [c, v] : llvm::zip(coeffs, values)) {
      if (c == 0)
        continue;
      if (sum && c == -1) {
        sum = arith::SubFOp::create(b, loc, sum, v);
        continue;
      }
      Value term = v;
      if (c == -1)
        term = arith::NegFOp::create(b, loc, v);
      else if (c != 1)
        term = arith::MulFOp::create(b, loc, v, splat(c));
      sum = sum ? arith::AddFOp::create(b, loc, sum, term).getResult() : term;
    }
    return sum ? sum : splat(0);
  }

  /// rows[i][k] = sum_a coeffs[i][a] * tile[a][k]: a transform's first
  /// half, applied to the tile's columns.
  template <size_t Rows>
  void leftMultiply(const double (&coeffs)[Rows][kIn],
                    const Value (&tile)[kIn][kIn], Value (&rows)[Rows][kIn]) {
    for (size_t i = 0; i < Rows; ++i)
      for (int64_t k = 0; k < kIn; ++k) {
        Value column[kIn];
        for (int64_t a = 0; a < kIn; ++a)
          column[a] = tile[a][k];
        rows[i][k] = combine(coeffs[i], column);
      }
  }

  /// For columns q0 .. q0 + lanes of V and M (column q: tile q % `tiles`
  /// of image q / `tiles`, `tilesPerRow` tiles to a row), the offsets of
  /// the tiles' top-left elements in a flattened NCHW tensor whose rows are
  /// `rowLength` long and images `imageStride` apart, plus `channelOffset`;
  /// the mask of the columns below `columns`; the tiles' rows and columns.
  struct Tiles {
    Value origin, mask, row, column;
  };
  Tiles tileOrigins(Value q0, int64_t columns, int64_t tiles,
                    int64_t tilesPerRow, int64_t rowLength, int64_t imageStride,
                    Value channelOffset) {
    SmallVector<int32_t> iota;
    for (int64_t l = 0; l < lanes; ++l)
      iota.push_back(l);
    Value lane = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(indexType, ArrayRef<int32_t>(iota)));
    auto splatValue = [&](Value scalar) {
      return vector::BroadcastOp::create(
          b, loc, indexType,
          arith::IndexCastOp::create(b, loc, b.getI32Type(), scalar));
    };
    Value q = arith::AddIOp::create(b, loc, splatValue(q0), lane);
    Value image = arith::DivUIOp::create(b, loc, q, splatIndex(tiles));
    Value t = arith::RemUIOp::create(b, loc, q, splatIndex(tiles));
    Value th = arith::DivUIOp::create(b, loc, t, splatIndex(tilesPerRow));
    Value tw = arith::RemUIOp::create(b, loc, t, splatIndex(tilesPerRow));
    Value origin = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, th, splatIndex(kOut * rowLength)),
        arith::MulIOp::create(b, loc, tw, splatIndex(kOut)));
    origin = arith::AddIOp::create(
        b, loc, origin,
        arith::MulIOp::create(b, loc, image, splatIndex(imageStride)));
    origin = arith::AddIOp::create(b, loc, origin, splatValue(channelOffset));
    Value mask = vector::CreateMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ValueRange{arith::SubIOp::create(b, loc, index(columns), q0)});
    return {origin, mask, th, tw};
  }

  /// The lanes of `mask` whose tile has output element (i, j) inside an
  /// [oh, ow] image (the last row and column of tiles may stick out).
  Value insideMask(const Tiles &tiles, int64_t i, int64_t j, int64_t oh,
                   int64_t ow) {
    Value mask = tiles.mask;
    // Tile row th has output row 4*th + i: inside while th < ceil((oh-i)/4).
    auto below = [&](Value tile, int64_t limit) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tile,
                                   splatIndex(limit));
    };
    if (oh % kOut)
      mask = arith::AndIOp::create(
          b, loc, mask, below(tiles.row, llvm::divideCeil(oh - i, kOut)));
    if (ow % kOut)
      mask = arith::AndIOp::create(
          b, loc, mask, below(tiles.column, llvm::divideCeil(ow - j, kOut)));
    return mask;
  }

  Value offsetBy(Value origin, int64_t delta) {
    return delta ? arith::AddIOp::create(b, loc, origin, splatIndex(delta))
                       .getResult()
                 : origin;
  }

  OpBuilder &b;
  Location loc;
  int64_t lanes;
  VectorType vecType, indexType;
};

/// U[i*6 + j, f, c] = (G g[f, c] G^T)[i, j], in double, stored as f32.
Value transformFilter(OpBuilder &b, Location loc, ArrayRef<float> values,
                      int64_t f, int64_t c) {
  auto at = [&](int64_t index) -> double { return values[index]; };
  std::vector<float> u(kIn * kIn * f * c);
  for (int64_t fi = 0; fi < f; ++fi)
    for (int64_t ci = 0; ci < c; ++ci) {
      int64_t base = (fi * c + ci) * kTaps * kTaps;
      double gg[kIn][kTaps] = {}; // G g
      for (int64_t i = 0; i < kIn; ++i)
        for (int64_t a = 0; a < kTaps; ++a)
          for (int64_t bb = 0; bb < kTaps; ++bb)
            gg[i][bb] += kG[i][a] * at(base + a * kTaps + bb);
      for (int64_t i = 0; i < kIn; ++i)
        for (int64_t j = 0; j < kIn; ++j) {
          double sum = 0;
          for (int64_t bb = 0; bb < kTaps; ++bb)
            sum += gg[i][bb] * kG[j][bb];
          u[((i * kIn + j) * f + fi) * c + ci] = static_cast<float>(sum);
        }
    }
  auto type = RankedTensorType::get({kIn * kIn, f, c}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(dlc::graph::makeWeights(type, u)));
}

/// A loop over [0, n) carrying `init`, its body building the next value.
Value loopCarrying(OpBuilder &b, Location loc, int64_t n, int64_t step,
                   Value init, bool parallel,
                   function_ref<Value(Value iv, Value acc)> body) {
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 0),
      arith::ConstantIndexOp::create(b, loc, n),
      arith::ConstantIndexOp::create(b, loc, step), ValueRange{init},
      [&](OpBuilder &, Location, Value iv, ValueRange args) {
        scf::YieldOp::create(b, loc, body(iv, args[0]));
      });
  // Iterations write disjoint parts of the carried tensor.
  if (parallel)
    loop->setAttr("dlc.parallel", b.getUnitAttr());
  return loop.getResult(0);
}

} // namespace

namespace dlc {

Value buildWinogradConv(OpBuilder &b, Location loc, Value input, Value filter,
                        RankedTensorType resultType, Value bias, Value residual,
                        StringRef activation, float alpha, float beta,
                        int64_t lanes) {
  auto filterType = cast<RankedTensorType>(filter.getType());
  Attribute dense;
  if (!matchPattern(filter, m_Constant(&dense)))
    return Value();
  std::optional<std::vector<float>> filterValues =
      dlc::graph::float32Values(dense);
  if (!filterValues)
    return Value();
  auto inType = cast<RankedTensorType>(input.getType());
  Type elem = b.getF32Type();
  int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1);
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  int64_t c = filterType.getDimSize(1);
  // Tiles cover the output, the last row and column of them possibly
  // sticking out; the input they read is padded with zeros to match.
  int64_t tilesPerRow = llvm::divideCeil(ow, kOut);
  int64_t tiles = llvm::divideCeil(oh, kOut) * tilesPerRow;
  int64_t hp = std::max<int64_t>(inType.getDimSize(2),
                                 llvm::divideCeil(oh, kOut) * kOut + kTaps - 1);
  int64_t wp =
      std::max<int64_t>(inType.getDimSize(3), tilesPerRow * kOut + kTaps - 1);
  if (hp > inType.getDimSize(2) || wp > inType.getDimSize(3))
    input = padWithConstant(
        b, loc, input, {0, 0, 0, 0},
        {0, 0, hp - inType.getDimSize(2), wp - inType.getDimSize(3)}, 0.0);
  int64_t columns = n * tiles; // of V and M
  constexpr int64_t kPoints = kIn * kIn;
  TransformEmitter e(b, loc, lanes);

  Value u = transformFilter(b, loc, *filterValues, f, c);

  // V[i*6 + j, c, n*T + t] = (B^T d B)[i, j], d the tile's 6x6 input. One
  // channel per parallel unit (each writes its own rows of V); the vectors
  // run along V's columns, across images when an image has few tiles.
  auto flat = [&](Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return tensor::CollapseShapeOp::create(
               b, loc, RankedTensorType::get({type.getNumElements()}, elem),
               tensor, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}})
        .getResult();
  };
  Value flatInput = flat(input);
  // Columns go in blocks whose transformed inputs and products (36 x
  // max(C, F) floats a column) stay within kBlockBytes, so that the
  // products read them from cache, not memory.
  int64_t perColumn = kPoints * std::max(c, f) * 4;
  int64_t blockColumns = columns;
  if (columns * perColumn > kBlockBytes)
    blockColumns =
        std::max<int64_t>(lanes, kBlockBytes / perColumn / lanes * lanes);
  auto vType = RankedTensorType::get({kPoints, c, blockColumns}, elem);
  Value zero = e.splat(0);
  Value zeroScalar = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  AffineMap rowMap = AffineMap::getMinorIdentityMap(3, 1, b.getContext());
  auto notInBounds = b.getBoolArrayAttr({false});
  auto flatType = RankedTensorType::get({resultType.getNumElements()}, elem);
  Value flatResidual = residual ? flat(residual) : Value();
  // One block of columns [blockStart, blockStart + blockColumns) (masked
  // past `columns`): V and M hold the block's columns only.
  auto emitBlock = [&](Value blockStart, Value outInit) -> Value {
    Value v = loopCarrying(
        b, loc, c, 1, tensor::EmptyOp::create(b, loc, vType.getShape(), elem),
        /*parallel=*/true, [&](Value channel, Value vAcc) {
          Value planeOffset =
              arith::MulIOp::create(b, loc, channel, e.index(hp * wp));
          return loopCarrying(
              b, loc, blockColumns, lanes, vAcc, false,
              [&](Value q0, Value acc) {
                auto [origin, mask, row, column] = e.tileOrigins(
                    arith::AddIOp::create(b, loc, blockStart, q0), columns,
                    tiles, tilesPerRow, wp, c * hp * wp, planeOffset);
                Value d[kIn][kIn];
                for (int64_t a = 0; a < kIn; ++a)
                  for (int64_t bb = 0; bb < kIn; ++bb)
                    d[a][bb] = vector::GatherOp::create(
                        b, loc, e.vecType, flatInput, ValueRange{e.index(0)},
                        e.offsetBy(origin, a * wp + bb), mask, zero);
                // B^T d, then (B^T d) B.
                Value rows[kIn][kIn];
                e.leftMultiply(kBT, d, rows);
                for (int64_t i = 0; i < kIn; ++i)
                  for (int64_t j = 0; j < kIn; ++j)
                    acc = vector::TransferWriteOp::create(
                              b, loc, vType, e.combine(kBT[j], rows[i]), acc,
                              ValueRange{e.index(i * kIn + j), channel, q0},
                              rowMap, mask, notInBounds)
                              .getResult();
                return acc;
              });
        });

    // M[p] = U[p] x V[p] for each of the 36 points p.
    auto mType = RankedTensorType::get({kPoints, f, blockColumns}, elem);
    Value m = linalg::BatchMatmulOp::create(
                  b, loc, TypeRange{mType}, ValueRange{u, v},
                  ValueRange{createFilled(b, loc, mType, 0.0)})
                  .getResult(0);

    // Y = A^T M A per tile, then the epilogue, scattered into NCHW; one
    // filter per parallel unit.
    return loopCarrying(
        b, loc, f, 1, outInit, /*parallel=*/true,
        [&](Value filterIndex, Value outAcc) {
          Value planeOffset =
              arith::MulIOp::create(b, loc, filterIndex, e.index(oh * ow));
          Value biasVec;
          if (bias)
            biasVec = vector::BroadcastOp::create(
                b, loc, e.vecType,
                tensor::ExtractOp::create(b, loc, bias,
                                          ValueRange{filterIndex}));
          return loopCarrying(
              b, loc, blockColumns, lanes, outAcc, false,
              [&](Value q0, Value acc) {
                TransformEmitter::Tiles tile = e.tileOrigins(
                    arith::AddIOp::create(b, loc, blockStart, q0), columns,
                    tiles, tilesPerRow, ow, f * oh * ow, planeOffset);
                Value mask = tile.mask;
                Value p[kIn][kIn];
                for (int64_t a = 0; a < kIn; ++a)
                  for (int64_t bb = 0; bb < kIn; ++bb)
                    p[a][bb] = vector::TransferReadOp::create(
                        b, loc, e.vecType, m,
                        ValueRange{e.index(a * kIn + bb), filterIndex, q0},
                        rowMap, zeroScalar, mask, notInBounds);
                Value rows[kOut][kIn];
                e.leftMultiply(kAT, p, rows);
                for (int64_t i = 0; i < kOut; ++i)
                  for (int64_t j = 0; j < kOut; ++j) {
                    Value y = e.combine(kAT[j], rows[i]);
                    Value at = e.offsetBy(tile.origin, i * ow + j);
                    Value inside = e.insideMask(tile, i, j, oh, ow);
                    if (biasVec)
                      y = arith::AddFOp::create(b, loc, y, biasVec);
                    if (flatResidual)
                      y = arith::AddFOp::create(
                          b, loc, y,
                          vector::GatherOp::create(
                              b, loc, e.vecType, flatResidual,
                              ValueRange{e.index(0)}, at, inside, zero));
                    y = applyActivation(b, loc, y, activation, alpha, beta);
                    acc = vector::ScatterOp::create(b, loc, flatType, acc,
                                                    ValueRange{e.index(0)}, at,
                                                    inside, y)
                              .getResult();
                  }
                return acc;
              });
        });
  };
  Value outInit = tensor::EmptyOp::create(b, loc, flatType.getShape(), elem);
  Value out = blockColumns == columns
                  ? emitBlock(e.index(0), outInit)
                  : loopCarrying(b, loc, columns, blockColumns, outInit,
                                 /*parallel=*/false, emitBlock);
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, out, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}});
}

} // namespace dlc
