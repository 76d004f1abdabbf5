//===- RecurrentToLinalg.cpp - RNN, GRU and LSTM as loops over time -------===//
//
// A recurrent op (and its gradient, see RecurrentGradLowering) becomes, per
// direction:
//   XW = X[T*B, I] x W[I, G*H] + bias     one matmul for all time steps
//   scf.for t:                            a loop, not an unrolled copy per step
//     HR = H[B, H] x R[H, G*H]
//     gates, new state: one elementwise kernel over [B, H]
//     Y[t, d] = H
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/GraphToLinalgPatterns.h"

#include "dialects/graph/GraphDialect.h"
#include "passes/conversion/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
namespace graph = dlc::graph;

namespace {

struct Activation {
  std::string name;
  double alpha, beta;
};

/// The activations of direction `d` (f, g, h for LSTM; f, g for GRU; f for
/// RNN) of a graph.recurrent or its gradient.
template <typename OpT>
SmallVector<Activation> activationsOf(OpT op, int64_t d) {
  int64_t perDirection =
      op.getCell() == "lstm" ? 3 : op.getCell() == "gru" ? 2 : 1;
  SmallVector<Activation> out;
  for (int64_t k = 0; k < perDirection; ++k) {
    int64_t i = d * perDirection + k;
    out.push_back(
        {cast<StringAttr>(op.getActivations()[i]).str(),
         cast<FloatAttr>(op.getActivationAlpha()[i]).getValueAsDouble(),
         cast<FloatAttr>(op.getActivationBeta()[i]).getValueAsDouble()});
  }
  return out;
}

/// ONNX's `clip`: an activation's input bounded to [-clip, clip].
Value clipInput(OpBuilder &b, Location l, Value x, double clip) {
  Type t = x.getType();
  x = arith::MaximumFOp::create(b, l, x, dlc::floatConstant(b, l, t, -clip));
  return arith::MinimumFOp::create(b, l, x, dlc::floatConstant(b, l, t, clip));
}

/// What the forward and the BPTT lowering share: the rewriter, the op and
/// the sizes, read from input [T, B, I], hidden_size and the cell (G gates).
template <typename OpT> class RecurrentLoweringBase {
protected:
  RecurrentLoweringBase(ConversionPatternRewriter &b, OpT op,
                        typename OpT::Adaptor adaptor)
      : b(b), op(op), adaptor(adaptor), loc(op.getLoc()) {
    auto x = cast<RankedTensorType>(op.getInput().getType());
    t = x.getDimSize(0);
    batch = x.getDimSize(1);
    in = x.getDimSize(2);
    h = op.getHiddenSize();
    cell = op.getCell();
    g = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
    elem = x.getElementType();
    if (std::optional<APFloat> clipValue = op.getClip())
      clip = clipValue->convertToDouble();
  }

  ConversionPatternRewriter &b;
  OpT op;
  typename OpT::Adaptor adaptor;
  Location loc;
  int64_t t, batch, in, h, g;
  std::string cell;
  Type elem;
  std::optional<double> clip;
};

class RecurrentLowering : public RecurrentLoweringBase<graph::RecurrentOp> {
public:
  RecurrentLowering(ConversionPatternRewriter &b, graph::RecurrentOp op,
                    graph::RecurrentOp::Adaptor adaptor, int64_t rowTile)
      : RecurrentLoweringBase(b, op, adaptor), rowTile(rowTile) {}

  SmallVector<Value> lower() {
    int64_t directions = op.getDirection() == "bidirectional" ? 2 : 1;
    // T and B may be known only at run time (a symbolic sequence or batch).
    tSize = tensor::getMixedSize(b, loc, adaptor.getInput(), 0);
    batchSize = tensor::getMixedSize(b, loc, adaptor.getInput(), 1);
    Value y = tensor::EmptyOp::create(
        b, loc,
        {tSize, b.getIndexAttr(directions), batchSize, b.getIndexAttr(h)},
        elem);
    Value yh = tensor::EmptyOp::create(
        b, loc, {b.getIndexAttr(directions), batchSize, b.getIndexAttr(h)},
        elem);
    Value yc = yh;
    int64_t rows = ShapedType::isDynamic(t) || ShapedType::isDynamic(batch)
                       ? ShapedType::kDynamic
                       : t * batch;
    Value x2 = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({rows, in}, elem), adaptor.getInput(),
        ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    for (int64_t d = 0; d < directions; ++d) {
      bool reverse = op.getDirection() == "reverse" || d == 1;
      activations = activationsOf(op, d);
      Value w = sliceDirection(adaptor.getInputWeights(), d, {in, g * h});
      recurrent = sliceDirection(adaptor.getRecurrentWeights(), d, {h, g * h});
      Value bias = adaptor.getBias() ? sliceDirection(adaptor.getBias(), d, {g * h}) : Value();
      hBias = adaptor.getRecurrentHBias() ? sliceDirection(adaptor.getRecurrentHBias(), d, {h}) : Value();
      // Per gate (i, o, f) as [H]: linalg wants an operand's whole extent.
      peepholes.clear();
      if (adaptor.getPeepholes()) {
        Value p = sliceDirection(adaptor.getPeepholes(), d, {3 * h});
        for (int64_t k = 0; k < 3; ++k)
          peepholes.push_back(tensor::ExtractSliceOp::create(
              b, loc, RankedTensorType::get({h}, elem), p,
              ArrayRef<OpFoldResult>{b.getIndexAttr(k * h)},
              ArrayRef<OpFoldResult>{b.getIndexAttr(h)},
              ArrayRef<OpFoldResult>{b.getIndexAttr(1)}));
      }
      xw = matmul(x2, w);
      if (bias)
        xw = addColumnBias(xw, bias);
      // Copies: the loop updates its state in place, which must not reach
      // the caller's initial_h / initial_c.
      SmallVector<OpFoldResult> state = {batchSize, b.getIndexAttr(h)};
      Value h0 = adaptor.getInitialH()
                     ? copy(sliceDirection(adaptor.getInitialH(), d, state))
                     : zeros(state);
      Value c0 = adaptor.getInitialC()
                     ? copy(sliceDirection(adaptor.getInitialC(), d, state))
                     : zeros(state);
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value end = getValueOrCreateConstantIndexOp(b, loc, tSize);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ForOp::create(
          b, loc, zero, end, one, ValueRange{h0, c0, y},
          [&](OpBuilder &, Location, Value step, ValueRange state) {
            Value time = step;
            if (reverse)
              time = arith::SubIOp::create(
                  b, loc, arith::SubIOp::create(b, loc, end, one), step);
            auto [hNew, cNew] = emitStep(time, state[0], state[1]);
            Value yNew = insert(hNew, state[2], {time, index(d)}, 4);
            scf::YieldOp::create(b, loc, ValueRange{hNew, cNew, yNew});
          });
      y = loop.getResult(2);
      yh = insert(loop.getResult(0), yh, {index(d)}, 3);
      if (cell == "lstm")
        yc = insert(loop.getResult(1), yc, {index(d)}, 3);
    }
    return {y, yh, cell == "lstm" ? yc : yh};
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// A tensor of `sizes`, static where they are constants.
  RankedTensorType typeOf(ArrayRef<OpFoldResult> sizes) {
    SmallVector<int64_t> shape;
    for (OpFoldResult size : sizes)
      shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
    return RankedTensorType::get(shape, elem);
  }

  Value zeros(ArrayRef<OpFoldResult> sizes) {
    Value empty = tensor::EmptyOp::create(b, loc, sizes, elem);
    return linalg::FillOp::create(b, loc, dlc::floatConstant(b, loc, elem, 0.0),
                                  empty)
        .getResult(0);
  }

  /// A copy of `v` that may be updated in place.
  Value copy(Value v) {
    Value empty =
        tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, v), elem);
    return linalg::CopyOp::create(b, loc, v, empty).getResult(0);
  }

  Value sliceDirection(Value v, int64_t d, ArrayRef<int64_t> shape) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t s : shape)
      sizes.push_back(b.getIndexAttr(s));
    return sliceDirection(v, d, sizes);
  }

  /// v[d] as a tensor of `sizes` (the leading direction dim dropped).
  Value sliceDirection(Value v, int64_t d, ArrayRef<OpFoldResult> shape) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offsets[0] = b.getIndexAttr(d);
    sizes.append(shape.begin(), shape.end());
    return tensor::ExtractSliceOp::create(b, loc, typeOf(shape), v, offsets,
                                          sizes, strides);
  }

  /// Writes `value` [B, H] into `dest` at leading indices `lead` (the rest 0).
  Value insert(Value value, Value dest, ArrayRef<Value> lead, int64_t rank) {
    SmallVector<OpFoldResult> offsets, sizes, strides(rank, b.getIndexAttr(1));
    for (Value v : lead) {
      offsets.push_back(v);
      sizes.push_back(b.getIndexAttr(1));
    }
    for (OpFoldResult s : {batchSize, OpFoldResult(b.getIndexAttr(h))}) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(s);
    }
    return tensor::InsertSliceOp::create(b, loc, value, dest, offsets, sizes, strides);
  }

  Value matmul(Value lhs, Value rhs) {
    // Rows known only at run time (the batch, or the sequence times it) in
    // static tiles, which vectorize-matmul register-tiles.
    if (rowTile > 0 && cast<RankedTensorType>(lhs.getType()).isDynamicDim(0) &&
        cast<RankedTensorType>(rhs.getType()).hasStaticShape())
      return dlc::rowTiledMatmul(b, loc, lhs, rhs, rowTile);
    return dlc::zeroFilledMatmul(b, loc, lhs, rhs);
  }

  Value addColumnBias(Value m, Value bias) {
    return dlc::buildElementwise(b, loc, cast<RankedTensorType>(m.getType()),
                                 ValueRange{m, bias},
                                 [](OpBuilder &nb, Location l, ValueRange a) {
                                   return arith::AddFOp::create(nb, l, a[0], a[1]).getResult();
                                 });
  }

  Value activate(OpBuilder &nb, Location l, Value x, int64_t which) {
    if (clip)
      x = clipInput(nb, l, x, *clip);
    const Activation &a = activations[which];
    return dlc::applyRecurrentActivation(nb, l, x, a.name, a.alpha, a.beta);
  }

  /// A generic over [B, H] whose inputs are read either whole ([B, H]) or
  /// per column ([H]).
  struct Operand {
    Value value;
    bool perColumn = false;
  };
  /// `inits` are updated in place (each element reads only its own previous
  /// value): the body sees the inputs, then the inits' current values.
  /// Without inits, `results` fresh [B, H] tensors are produced.
  SmallVector<Value> elementwise(ArrayRef<Operand> operands, ValueRange inits,
                                 int64_t results,
                                 function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
    MLIRContext *ctx = b.getContext();
    AffineExpr r = getAffineDimExpr(0, ctx), col = getAffineDimExpr(1, ctx);
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (const Operand &o : operands) {
      inputs.push_back(o.value);
      maps.push_back(o.perColumn ? AffineMap::get(2, 0, {col}, ctx)
                                 : AffineMap::get(2, 0, {r, col}, ctx));
    }
    SmallVector<OpFoldResult> sizes = {batchSize, b.getIndexAttr(h)};
    RankedTensorType type = typeOf(sizes);
    SmallVector<Value> outs(inits.begin(), inits.end());
    for (int64_t i = outs.size(); i < results; ++i)
      outs.push_back(tensor::EmptyOp::create(b, loc, sizes, elem));
    SmallVector<Type> types(outs.size(), type);
    for (size_t i = 0; i < outs.size(); ++i)
      maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
    auto generic = linalg::GenericOp::create(
        b, loc, types, inputs, outs, maps,
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          linalg::YieldOp::create(nb, l, body(nb, l, args));
        });
    return SmallVector<Value>(generic.getResults());
  }

  /// One time step: the new hidden state and (LSTM) cell state.
  std::pair<Value, Value> emitStep(Value time, Value hPrev, Value cPrev) {
    Value row = arith::MulIOp::create(
        b, loc, time, getValueOrCreateConstantIndexOp(b, loc, batchSize));
    Value xwT = tensor::ExtractSliceOp::create(
        b, loc, typeOf({batchSize, b.getIndexAttr(g * h)}), xw,
        SmallVector<OpFoldResult>{row, b.getIndexAttr(0)},
        SmallVector<OpFoldResult>{batchSize, b.getIndexAttr(g * h)},
        SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    Value hr = matmul(hPrev, recurrent);
    // Gate k of a [B, G*H] tensor, as a [B, H] slice (a view once bufferized).
    auto gate = [&](Value v, int64_t k) {
      Value block = tensor::ExtractSliceOp::create(
          b, loc, typeOf({batchSize, b.getIndexAttr(h)}), v,
          SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(k * h)},
          SmallVector<OpFoldResult>{batchSize, b.getIndexAttr(h)},
          SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      return Operand{block, false};
    };
    auto add = [](OpBuilder &nb, Location l, Value x, Value y) {
      return arith::AddFOp::create(nb, l, x, y).getResult();
    };
    auto mul = [](OpBuilder &nb, Location l, Value x, Value y) {
      return arith::MulFOp::create(nb, l, x, y).getResult();
    };
    if (cell == "rnn") {
      Value hNew = elementwise({gate(xwT, 0), gate(hr, 0)}, hPrev, 1,
                               [&](OpBuilder &nb, Location l, ValueRange a) {
                                 return SmallVector<Value>{activate(nb, l, add(nb, l, a[0], a[1]), 0)};
                               })[0];
      return {hNew, cPrev};
    }
    if (cell == "lstm") {
      // Gates in ONNX order i, o, f, c; peepholes i, o, f.
      SmallVector<Operand> operands = {gate(xwT, 0), gate(xwT, 1), gate(xwT, 2),
                                       gate(xwT, 3), gate(hr, 0),  gate(hr, 1),
                                       gate(hr, 2),  gate(hr, 3)};
      bool peep = !peepholes.empty();
      for (Value p : peepholes)
        operands.push_back({p, true});
      size_t state = operands.size(); // then: h, c (updated in place)
      auto out = elementwise(operands, ValueRange{hPrev, cPrev}, 2,
                             [&](OpBuilder &nb, Location l, ValueRange a) {
        Value c = a[state + 1];
        Value iPre = add(nb, l, a[0], a[4]), oPre = add(nb, l, a[1], a[5]),
              fPre = add(nb, l, a[2], a[6]), cPre = add(nb, l, a[3], a[7]);
        if (peep) {
          iPre = add(nb, l, iPre, mul(nb, l, a[8], c));
          fPre = add(nb, l, fPre, mul(nb, l, a[10], c));
        }
        Value i = activate(nb, l, iPre, 0), f = activate(nb, l, fPre, 0);
        Value cNew = add(nb, l, mul(nb, l, f, c), mul(nb, l, i, activate(nb, l, cPre, 1)));
        if (peep)
          oPre = add(nb, l, oPre, mul(nb, l, a[9], cNew));
        Value o = activate(nb, l, oPre, 0);
        return SmallVector<Value>{mul(nb, l, o, activate(nb, l, cNew, 2)), cNew};
      });
      return {out[0], out[1]};
    }
    // GRU, gates z, r, h: H = (1 - z) * h~ + z * H_prev.
    auto finish = [&](OpBuilder &nb, Location l, Value z, Value hTilde, Value hp) {
      Value one = dlc::floatConstant(nb, l, elem, 1.0);
      Value keep = mul(nb, l, z, hp);
      return add(nb, l, mul(nb, l, arith::SubFOp::create(nb, l, one, z), hTilde), keep);
    };
    if (op.getLinearBeforeReset()) {
      SmallVector<Operand> operands = {gate(xwT, 0), gate(xwT, 1), gate(xwT, 2),
                                       gate(hr, 0),  gate(hr, 1),  gate(hr, 2)};
      bool rb = static_cast<bool>(hBias);
      if (rb)
        operands.push_back({hBias, true});
      size_t state = operands.size();
      Value hNew = elementwise(operands, hPrev, 1, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value z = activate(nb, l, add(nb, l, a[0], a[3]), 0);
        Value r = activate(nb, l, add(nb, l, a[1], a[4]), 0);
        Value recurrentH = rb ? add(nb, l, a[5], a[6]) : a[5];
        Value hTilde = activate(nb, l, add(nb, l, a[2], mul(nb, l, r, recurrentH)), 1);
        return SmallVector<Value>{finish(nb, l, z, hTilde, a[state])};
      })[0];
      return {hNew, cPrev};
    }
    // Without linear_before_reset the reset gate scales H before its matmul.
    auto zr = elementwise({gate(xwT, 0), gate(xwT, 1), gate(hr, 0), gate(hr, 1), {hPrev}}, {}, 2,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            Value z = activate(nb, l, add(nb, l, a[0], a[2]), 0);
                            Value r = activate(nb, l, add(nb, l, a[1], a[3]), 0);
                            return SmallVector<Value>{z, mul(nb, l, r, a[4])};
                          });
    Value rh = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({h, h}, elem), recurrent,
        SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(2 * h)},
        SmallVector<OpFoldResult>{b.getIndexAttr(h), b.getIndexAttr(h)},
        SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    Value resetH = matmul(zr[1], rh);
    Value hNew = elementwise({gate(xwT, 2), {resetH}, {zr[0]}}, hPrev, 1,
                             [&](OpBuilder &nb, Location l, ValueRange a) {
                               Value hTilde = activate(nb, l, add(nb, l, a[0], a[1]), 1);
                               return SmallVector<Value>{finish(nb, l, a[2], hTilde, a[3])};
                             })[0];
    return {hNew, cPrev};
  }

  SmallVector<Activation> activations;
  int64_t rowTile;
  OpFoldResult tSize, batchSize;
  Value xw, recurrent, hBias;
  SmallVector<Value> peepholes; // [H] each: i, o, f
};

struct RecurrentToLinalg : OpConversionPattern<graph::RecurrentOp> {
  RecurrentToLinalg(MLIRContext *ctx, int64_t rowTile)
      : OpConversionPattern(ctx), rowTile(rowTile) {}
  int64_t rowTile;
  LogicalResult
  matchAndRewrite(graph::RecurrentOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RecurrentLowering lowering(rewriter, op, adaptor, rowTile);
    rewriter.replaceOp(op, lowering.lower());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Backpropagation through time
//===----------------------------------------------------------------------===//

/// Scalar arithmetic in a linalg.generic body, for the gradient's
/// elementwise kernels; c[i] is the i-th input.
struct Calc {
  OpBuilder &b;
  Location loc;
  Type elem;
  ValueRange args;

  Value operator[](size_t i) const { return args[i]; }
  Value constant(double v) { return dlc::floatConstant(b, loc, elem, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
};

/// graph.recurrent_grad, per direction:
///   forward again, as above, also keeping what each step starts from and
///   its gate activations in S[K, T, B, H], indexed by time
///   scf.for over the steps, last first: each step's pre-activation
///   gradients into dP[T, B, G*H], the state gradients dh (dc) carried back
///   dX += dP x W^T, dW = X^T x dP, dR = Hprev^T x dP, dbias = sum of dP rows
///   (LSTM) dpeepholes = sums over steps and batch of dP times c
/// so the weight gradients are three big matmuls after the loop, not
/// accumulations inside it. Activation derivatives come from the kept
/// outputs; an activation's input is kept too only where its derivative
/// needs it (clip, or an output that does not tell the input's side of a
/// kink).
class RecurrentGradLowering
    : public RecurrentLoweringBase<graph::RecurrentGradOp> {
public:
  RecurrentGradLowering(ConversionPatternRewriter &b, graph::RecurrentGradOp op,
                        graph::RecurrentGradOp::Adaptor adaptor)
      : RecurrentLoweringBase(b, op, adaptor),
        lbr(cell == "gru" && op.getLinearBeforeReset()) {}

  SmallVector<Value> lower() {
    int64_t directions = op.getDirection() == "bidirectional" ? 2 : 1;
    Value x2 = collapseTime(adaptor.getInput());
    Value x2t = transpose(x2);
    Value dx = zeros({t * batch, in});
    Value dw = empty({directions, in, g * h});
    Value dr = empty({directions, h, g * h});
    Value dbias = empty({directions, g * h});
    Value dhBias = zeros({directions, h});
    Value dh0 = empty({directions, batch, h});
    Value dc0 = zeros({directions, batch, h});
    Value dPeepholes = zeros({directions, 3 * h});
    for (int64_t d = 0; d < directions; ++d) {
      bool reverse = op.getDirection() == "reverse" || d == 1;
      planSlots(d);
      Value w = extract(adaptor.getInputWeights(), {idx(d)}, {in, g * h});
      recurrent = extract(adaptor.getRecurrentWeights(), {idx(d)}, {h, g * h});
      recurrentT = transpose(recurrent);
      hBias = adaptor.getRecurrentHBias()
                  ? extract(adaptor.getRecurrentHBias(), {idx(d)}, {h})
                  : Value();
      xw = matmul(x2, w);
      if (adaptor.getBias())
        xw = addColumnBias(xw, extract(adaptor.getBias(), {idx(d)}, {g * h}));

      Value stored = forward(d, reverse);
      Backward back = backward(d, reverse, stored);

      Value dp = collapseTime(back.dp);
      dx = matmul(dp, transpose(w), dx);
      dw = insert(matmul(x2t, dp), dw, {idx(d)});
      Value hPrevT = transposedKept(stored, 0);
      if (cell == "gru") {
        // The h gate's recurrent matmul reads r * Hprev; with
        // linear_before_reset it reads Hprev, but r scales its product, so
        // its gradient is dQ rather than dP's h block.
        Value zr = matmul(hPrevT, block(dp, 0, 2 * h));
        Value lhs = lbr ? hPrevT : transposedKept(stored, 4);
        Value gradH = lbr ? collapseTime(back.dq) : block(dp, 2 * h, h);
        dr = insert(zr, dr, {idx(d)});
        dr = insert(matmul(lhs, gradH), dr, {idx(d)}, {0, 2 * h});
      } else {
        dr = insert(matmul(hPrevT, dp), dr, {idx(d)});
      }
      dbias = insert(columnSum(dp), dbias, {}, {d, 0});
      if (lbr)
        dhBias = insert(columnSum(collapseTime(back.dq)), dhBias, {}, {d, 0});
      dh0 = insert(back.dh, dh0, {idx(d)});
      if (cell == "lstm")
        dc0 = insert(back.dc, dc0, {idx(d)});
      if (!peepholes.empty()) {
        // i and f look at c_prev, o at the new c.
        auto kept = [&](int64_t k) {
          return collapseTime(extract(stored, {idx(k)}, {t, batch, h}));
        };
        Value cPrev = kept(1), cNew = kept(cNewSlot);
        Value read[] = {cPrev, cNew, cPrev};
        for (int64_t k = 0; k < 3; ++k)
          dPeepholes = insert(columnDot(block(dp, k * h, h), read[k]),
                              dPeepholes, {}, {d, k * h});
      }
    }
    Value dxOut = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({t, batch, in}, elem), dx,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    return {dxOut, dw, dr, dbias, dhBias, dh0, dc0, dPeepholes};
  }

private:
  OpFoldResult idx(int64_t v) { return b.getIndexAttr(v); }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value empty(ArrayRef<int64_t> shape) {
    return tensor::EmptyOp::create(b, loc, shape, elem);
  }
  Value zeros(ArrayRef<int64_t> shape) {
    return dlc::createFilled(b, loc, RankedTensorType::get(shape, elem), 0.0);
  }

  /// src[lead..., offsets : offsets + shape]: the `lead` dims are dropped.
  Value extract(Value src, ArrayRef<OpFoldResult> lead, ArrayRef<int64_t> shape,
                ArrayRef<int64_t> offsets = {}) {
    SmallVector<OpFoldResult> offs(lead), sizes(lead.size(), idx(1));
    for (auto [i, s] : llvm::enumerate(shape)) {
      offs.push_back(idx(offsets.empty() ? 0 : offsets[i]));
      sizes.push_back(idx(s));
    }
    SmallVector<OpFoldResult> strides(offs.size(), idx(1));
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, elem), src, offs, sizes, strides);
  }

  /// Writes `value` into `dest` at [lead..., offsets...].
  Value insert(Value value, Value dest, ArrayRef<OpFoldResult> lead,
               ArrayRef<int64_t> offsets = {}) {
    ArrayRef<int64_t> shape =
        cast<RankedTensorType>(value.getType()).getShape();
    SmallVector<OpFoldResult> offs(lead), sizes(lead.size(), idx(1));
    for (auto [i, s] : llvm::enumerate(shape)) {
      offs.push_back(idx(offsets.empty() ? 0 : offsets[i]));
      sizes.push_back(idx(s));
    }
    SmallVector<OpFoldResult> strides(offs.size(), idx(1));
    return tensor::InsertSliceOp::create(b, loc, value, dest, offs, sizes,
                                         strides);
  }

  /// Columns [start, start + count) of a matrix.
  Value block(Value m, int64_t start, int64_t count) {
    int64_t rows = cast<RankedTensorType>(m.getType()).getDimSize(0);
    return extract(m, {}, {rows, count}, {0, start});
  }
  /// Rows [start, start + count) of a matrix.
  Value rowBlock(Value m, int64_t start, int64_t count) {
    int64_t cols = cast<RankedTensorType>(m.getType()).getDimSize(1);
    return extract(m, {}, {count, cols}, {start, 0});
  }

  /// [T, B, N] as [T*B, N].
  Value collapseTime(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return tensor::CollapseShapeOp::create(
        b, loc,
        RankedTensorType::get({type.getDimSize(0) * type.getDimSize(1),
                               type.getDimSize(2)},
                              elem),
        v, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  }

  Value transpose(Value m) {
    auto type = cast<RankedTensorType>(m.getType());
    Value init = empty({type.getDimSize(1), type.getDimSize(0)});
    return linalg::TransposeOp::create(b, loc, m, init,
                                       ArrayRef<int64_t>{1, 0})
        .getResult()[0];
  }

  /// lhs x rhs, added to `acc` when given.
  Value matmul(Value lhs, Value rhs, Value acc = Value()) {
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    if (!acc)
      acc = zeros({lt.getDimSize(0), rt.getDimSize(1)});
    return linalg::MatmulOp::create(b, loc, acc.getType(),
                                    ValueRange{lhs, rhs}, acc)
        .getResult(0);
  }

  Value addColumnBias(Value m, Value bias) {
    return dlc::buildElementwise(
        b, loc, cast<RankedTensorType>(m.getType()), ValueRange{m, bias},
        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return arith::AddFOp::create(nb, l, a[0], a[1]);
        });
  }

  /// S[k] over all steps as [H, T*B], the left operand of a weight gradient.
  Value transposedKept(Value stored, int64_t k) {
    return transpose(collapseTime(extract(stored, {idx(k)}, {t, batch, h})));
  }

  /// The sum of a matrix's rows, as [1, N].
  Value columnSum(Value m) {
    return dlc::buildKeepDimsReduction(
        b, loc, m, {0}, 0.0, [](OpBuilder &nb, Location l, Value x, Value acc) {
          return arith::AddFOp::create(nb, l, x, acc).getResult();
        });
  }

  /// The sum of the rows of x * y (two [M, N] matrices), as [1, N].
  Value columnDot(Value x, Value y) {
    MLIRContext *ctx = b.getContext();
    int64_t cols = cast<RankedTensorType>(x.getType()).getDimSize(1);
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap row = AffineMap::get(
        2, 0, {getAffineConstantExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
    Value init = zeros({1, cols});
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{x, y}, init,
               ArrayRef<AffineMap>{id, id, row},
               ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                             utils::IteratorType::parallel},
               [](OpBuilder &nb, Location l, ValueRange a) {
                 Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
                 linalg::YieldOp::create(
                     nb, l, ValueRange{arith::AddFOp::create(nb, l, p, a[2])});
               })
        .getResult(0);
  }

  /// An elementwise kernel over [B, H] reading `inputs` ([B, H], or [H]
  /// per column) and updating `inits` in place; it also makes `fresh` new
  /// [B, H] tensors. The body sees the inputs, then the inits' current values,
  /// and returns the inits' new values, then the fresh ones.
  ///
  /// Loop-carried states are only ever updated in place, as in the forward
  /// lowering: a fresh tensor yielded by a loop would leave buffer
  /// deallocation a run-time alias check to make.
  SmallVector<Value> pointwise(ValueRange inputs, ValueRange inits,
                               int64_t fresh,
                               function_ref<SmallVector<Value>(Calc &)> body) {
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineMap> maps;
    for (Value v : inputs)
      maps.push_back(cast<RankedTensorType>(v.getType()).getRank() == 1
                         ? AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx)
                         : AffineMap::getMultiDimIdentityMap(2, ctx));
    SmallVector<Value> outs(inits.begin(), inits.end());
    for (int64_t i = 0; i < fresh; ++i)
      outs.push_back(empty({batch, h}));
    for (size_t i = 0; i < outs.size(); ++i)
      maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
    auto generic = linalg::GenericOp::create(
        b, loc, ValueRange(outs).getTypes(), inputs, outs, maps,
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Calc c{nb, l, elem, args.take_front(inputs.size() + inits.size())};
          linalg::YieldOp::create(nb, l, body(c));
        });
    return SmallVector<Value>(generic.getResults());
  }

  /// Gate k of a [B, G*H] tensor as [B, H].
  Value gate(Value v, int64_t k) { return block(v, k * h, h); }

  /// The activations a step applies, by cell (site ids below): which of the
  /// direction's activations it is, and the slot of S keeping its input
  /// where the derivative needs that (-1: none; its output is always kept).
  struct Site {
    int64_t activation, input = -1;
  };
  enum : int64_t { kRnn = 0 };
  enum : int64_t { kI = 0, kO, kF, kG, kC };
  enum : int64_t { kZ = 0, kR, kN };

  /// The direction's activations, sites and slots of S: by cell
  ///   rnn: h_prev, h;  lstm: h_prev, c_prev, i, o, f, g, h(c);
  ///   gru: h_prev, z, r, h~ and r * h_prev (with linear_before_reset: the h
  ///   gate's recurrence H_prev x R_h + Rb_h, which r multiplies);
  /// then (LSTM) the new c when the peepholes or h's derivative read it,
  /// then the inputs of the other sites whose derivatives need them.
  void planSlots(int64_t d) {
    activations = activationsOf(op, d);
    if (cell == "rnn")
      sites = {{0}};
    else if (cell == "lstm")
      sites = {{0}, {0}, {0}, {1}, {2}};
    else
      sites = {{0}, {0}, {1}};
    keptSlots = cell == "lstm" ? 7 : cell == "gru" ? 5 : 2;
    peepholes.clear();
    if (adaptor.getPeepholes())
      for (int64_t k = 0; k < 3; ++k)
        peepholes.push_back(
            extract(adaptor.getPeepholes(), {idx(d)}, {h}, {k * h}));
    auto needsInput = [&](const Site &s) {
      const Activation &a = activations[s.activation];
      return clip ||
             dlc::recurrentActivationDerivativeNeedsInput(a.name, a.alpha);
    };
    cNewSlot = -1;
    if (cell == "lstm" && (!peepholes.empty() || needsInput(sites[kC])))
      cNewSlot = keptSlots++;
    for (auto [k, s] : llvm::enumerate(sites))
      if (needsInput(s))
        s.input = cell == "lstm" && k == kC ? cNewSlot : keptSlots++;
  }

  /// The sites among `ids` whose input is kept.
  SmallVector<int64_t> inputsKept(ArrayRef<int64_t> ids) {
    return llvm::filter_to_vector(
        ids, [&](int64_t id) { return sites[id].input >= 0; });
  }

  /// Site `s`'s activation of `x`, as the forward lowering applies it.
  Value act(Calc &c, int64_t s, Value x) {
    if (clip)
      x = clipInput(c.b, c.loc, x, *clip);
    const Activation &a = activations[sites[s].activation];
    return dlc::applyRecurrentActivation(c.b, c.loc, x, a.name, a.alpha,
                                         a.beta);
  }

  /// The derivative of site `s`'s activation with respect to its input
  /// `pre` (before any clip; null when not kept), from its output `y`.
  Value derivative(Calc &c, int64_t s, Value y, Value pre) {
    const Activation &a = activations[sites[s].activation];
    Value x = pre && clip ? clipInput(c.b, c.loc, pre, *clip) : pre;
    Value d = dlc::applyRecurrentActivationDerivative(c.b, c.loc, x, y, a.name,
                                                      a.alpha, a.beta);
    if (!clip)
      return d;
    // The clip's own gradient, as a clamp's: zero where it was active.
    Value magnitude = math::AbsFOp::create(c.b, c.loc, pre);
    Value inside = arith::CmpFOp::create(c.b, c.loc, arith::CmpFPredicate::OLE,
                                         magnitude, c.constant(*clip));
    return arith::SelectOp::create(c.b, c.loc, inside, d, c.constant(0.0));
  }

  /// Runs direction `d` forward. Returns S[K, T, B, H] (see planSlots).
  Value forward(int64_t d, bool reverse) {
    Value h0 = adaptor.getInitialH()
                   ? copy(extract(adaptor.getInitialH(), {idx(d)}, {batch, h}))
                   : zeros({batch, h});
    Value c0 = adaptor.getInitialC() && cell == "lstm"
                   ? copy(extract(adaptor.getInitialC(), {idx(d)}, {batch, h}))
                   : zeros({batch, h});
    Value stored = empty({keptSlots, t, batch, h});
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(t), index(1), ValueRange{h0, c0, stored},
        [&](OpBuilder &, Location, Value step, ValueRange state) {
          Value time = step;
          if (reverse)
            time = arith::SubIOp::create(b, loc, index(t - 1), step);
          Value hPrev = state[0], cPrev = state[1], s = state[2];
          Value row = arith::MulIOp::create(b, loc, time, index(batch));
          Value xwT = tensor::ExtractSliceOp::create(
              b, loc, RankedTensorType::get({batch, g * h}, elem), xw,
              SmallVector<OpFoldResult>{row, idx(0)},
              SmallVector<OpFoldResult>{idx(batch), idx(g * h)},
              SmallVector<OpFoldResult>{idx(1), idx(1)});
          // The states are kept before the kernels overwrite them.
          s = insert(hPrev, s, {idx(0), time});
          if (cell == "lstm")
            s = insert(cPrev, s, {idx(1), time});
          // Kernel results past `first` are the inputs of sites `ids`.
          auto keepInputs = [&](ArrayRef<Value> results, size_t first,
                                ArrayRef<int64_t> ids) {
            for (auto [k, id] : llvm::enumerate(ids))
              s = insert(results[first + k], s, {idx(sites[id].input), time});
          };
          Value hr = matmul(hPrev, recurrent);
          SmallVector<Value> keep;
          Value hNew, cNew = cPrev;
          if (cell == "rnn") {
            SmallVector<int64_t> ids = inputsKept({kRnn});
            auto out = pointwise({gate(xwT, 0), gate(hr, 0)}, hPrev,
                                 ids.size(), [&](Calc &c) {
                                   Value pre = c.add(c[0], c[1]);
                                   SmallVector<Value> r = {act(c, kRnn, pre)};
                                   if (!ids.empty())
                                     r.push_back(pre);
                                   return r;
                                 });
            hNew = out[0];
            keep = {hNew};
            keepInputs(out, 1, ids);
          } else if (cell == "lstm") {
            // Gates in ONNX order i, o, f, c; peepholes i, o, f.
            SmallVector<Value> inputs = {gate(xwT, 0), gate(xwT, 1),
                                         gate(xwT, 2), gate(xwT, 3),
                                         gate(hr, 0),  gate(hr, 1),
                                         gate(hr, 2),  gate(hr, 3)};
            bool peep = !peepholes.empty();
            inputs.append(peepholes.begin(), peepholes.end());
            size_t state = inputs.size(); // then: h, c (updated in place)
            SmallVector<int64_t> ids = inputsKept({kI, kO, kF, kG});
            bool keepC = cNewSlot >= 0;
            auto out = pointwise(
                inputs, ValueRange{hPrev, cPrev}, 5 + keepC + ids.size(),
                [&](Calc &c) {
                  Value cp = c[state + 1];
                  Value pre[] = {c.add(c[0], c[4]), c.add(c[1], c[5]),
                                 c.add(c[2], c[6]), c.add(c[3], c[7])};
                  if (peep) {
                    pre[kI] = c.add(pre[kI], c.mul(c[8], cp));
                    pre[kF] = c.add(pre[kF], c.mul(c[10], cp));
                  }
                  Value i = act(c, kI, pre[kI]), f = act(c, kF, pre[kF]);
                  Value gg = act(c, kG, pre[kG]);
                  Value cn = c.add(c.mul(f, cp), c.mul(i, gg));
                  if (peep)
                    pre[kO] = c.add(pre[kO], c.mul(c[9], cn));
                  Value o = act(c, kO, pre[kO]), hc = act(c, kC, cn);
                  SmallVector<Value> r = {c.mul(o, hc), cn, i, o, f, gg, hc};
                  if (keepC)
                    r.push_back(cn);
                  for (int64_t id : ids)
                    r.push_back(pre[id]);
                  return r;
                });
            hNew = out[0];
            cNew = out[1];
            keep = {out[2], out[3], out[4], out[5], out[6]};
            if (keepC)
              s = insert(out[7], s, {idx(cNewSlot), time});
            keepInputs(out, 7 + keepC, ids);
          } else if (lbr) {
            SmallVector<Value> inputs = {gate(xwT, 0), gate(xwT, 1),
                                         gate(xwT, 2), gate(hr, 0),
                                         gate(hr, 1),  gate(hr, 2)};
            bool withBias = static_cast<bool>(hBias);
            if (withBias)
              inputs.push_back(hBias);
            size_t prev = inputs.size();
            SmallVector<int64_t> ids = inputsKept({kZ, kR, kN});
            auto out = pointwise(inputs, hPrev, 4 + ids.size(), [&](Calc &c) {
              Value pre[] = {c.add(c[0], c[3]), c.add(c[1], c[4]), Value()};
              Value z = act(c, kZ, pre[kZ]), r = act(c, kR, pre[kR]);
              Value q = withBias ? c.add(c[5], c[6]) : c[5];
              pre[kN] = c.add(c[2], c.mul(r, q));
              Value n = act(c, kN, pre[kN]);
              SmallVector<Value> res = {gruState(c, z, n, c[prev]), z, r, n,
                                        q};
              for (int64_t id : ids)
                res.push_back(pre[id]);
              return res;
            });
            hNew = out[0];
            keep = {out[1], out[2], out[3], out[4]};
            keepInputs(out, 5, ids);
          } else {
            SmallVector<int64_t> zrIds = inputsKept({kZ, kR});
            auto zr = pointwise({gate(xwT, 0), gate(xwT, 1), gate(hr, 0),
                                 gate(hr, 1), hPrev},
                                {}, 3 + zrIds.size(), [&](Calc &c) {
                                  Value pre[] = {c.add(c[0], c[2]),
                                                 c.add(c[1], c[3])};
                                  Value z = act(c, kZ, pre[kZ]);
                                  Value r = act(c, kR, pre[kR]);
                                  SmallVector<Value> res = {z, r,
                                                            c.mul(r, c[4])};
                                  for (int64_t id : zrIds)
                                    res.push_back(pre[id]);
                                  return res;
                                });
            keepInputs(zr, 3, zrIds);
            Value resetH = matmul(zr[2], block(recurrent, 2 * h, h));
            SmallVector<int64_t> nIds = inputsKept({kN});
            auto out = pointwise({gate(xwT, 2), resetH, zr[0]}, hPrev,
                                 1 + nIds.size(), [&](Calc &c) {
                                   Value pre = c.add(c[0], c[1]);
                                   Value n = act(c, kN, pre);
                                   SmallVector<Value> res = {
                                       gruState(c, c[2], n, c[3]), n};
                                   if (!nIds.empty())
                                     res.push_back(pre);
                                   return res;
                                 });
            keepInputs(out, 2, nIds);
            hNew = out[0];
            keep = {zr[0], zr[1], out[1], zr[2]};
          }
          int64_t first = cell == "lstm" ? 2 : 1;
          for (auto [k, v] : llvm::enumerate(keep))
            s = insert(v, s, {idx(first + k), time});
          scf::YieldOp::create(b, loc, ValueRange{hNew, cNew, s});
        });
    return loop.getResult(2);
  }

  /// GRU's new state (1 - z) * h~ + z * h_prev, as the forward lowering
  /// computes it.
  static Value gruState(Calc &c, Value z, Value n, Value hPrev) {
    return c.add(c.mul(c.sub(c.constant(1.0), z), n), c.mul(z, hPrev));
  }

  struct Backward {
    Value dp; // [T, B, G*H] gradients of the gates' pre-activations
    Value dq; // [T, B, H] GRU with linear_before_reset: of H_prev x R_h + Rb_h
    Value dh, dc; // [B, H] of the initial states
  };

  Backward backward(int64_t d, bool reverse, Value stored) {
    // Copied: the loop updates them in place.
    Value dh = copy(extract(adaptor.getYHGrad(), {idx(d)}, {batch, h}));
    Value dc = cell == "lstm"
                   ? copy(extract(adaptor.getYCGrad(), {idx(d)}, {batch, h}))
                   : zeros({batch, h});
    SmallVector<Value> inits = {dh, dc, empty({t, batch, g * h})};
    if (lbr)
      inits.push_back(empty({t, batch, h}));
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(t), index(1), inits,
        [&](OpBuilder &, Location, Value step, ValueRange state) {
          // The steps in the opposite order of the forward loop.
          Value time = step;
          if (!reverse)
            time = arith::SubIOp::create(b, loc, index(t - 1), step);
          auto kept = [&](int64_t k) {
            return extract(stored, {idx(k), time}, {batch, h});
          };
          // Appends the kept inputs of sites `ids` to `inputs`; their
          // positions there, -1 where not kept.
          auto readInputs = [&](SmallVector<Value> &inputs,
                                ArrayRef<int64_t> ids) {
            SmallVector<int64_t> at;
            for (int64_t id : ids) {
              at.push_back(sites[id].input < 0
                               ? -1
                               : static_cast<int64_t>(inputs.size()));
              if (sites[id].input >= 0)
                inputs.push_back(kept(sites[id].input));
            }
            return at;
          };
          auto inputOf = [](Calc &c, int64_t at) {
            return at < 0 ? Value() : c[at];
          };
          Value dy = extract(adaptor.getYGrad(), {time, idx(d)}, {batch, h});
          Value dhNext = state[0], dp = state[2];
          SmallVector<Value> next(state.begin(), state.end());
          auto storeGates = [&](ArrayRef<Value> gates) {
            for (auto [k, v] : llvm::enumerate(gates))
              dp = insert(v, dp, {time}, {0, static_cast<int64_t>(k) * h});
          };
          // dh for the step before: dP x R^T, plus what reaches H_prev
          // directly (`direct`, updated in place, or zeros).
          auto recurrence = [&](Value direct, int64_t gates) {
            if (!direct)
              direct = linalg::FillOp::create(
                           b, loc, dlc::floatConstant(b, loc, elem, 0.0),
                           dhNext)
                           .getResult(0);
            return matmul(extract(dp, {time}, {batch, gates * h}),
                          rowBlock(recurrentT, 0, gates * h), direct);
          };
          // Gradients of the pre-activations from those of the outputs,
          // times the activations' derivatives.
          if (cell == "rnn") {
            SmallVector<Value> inputs = {kept(1), dhNext, dy};
            SmallVector<int64_t> at = readInputs(inputs, {kRnn});
            Value dpre = pointwise(inputs, {}, 1, [&](Calc &c) {
              return SmallVector<Value>{
                  c.mul(c.add(c[1], c[2]),
                        derivative(c, kRnn, c[0], inputOf(c, at[0])))};
            })[0];
            storeGates({dpre});
            next[0] = recurrence(Value(), 1);
          } else if (cell == "lstm") {
            SmallVector<Value> inputs = {kept(1), kept(2), kept(3), kept(4),
                                         kept(5), kept(6), dhNext,  dy};
            bool peep = !peepholes.empty();
            inputs.append(peepholes.begin(), peepholes.end());
            SmallVector<int64_t> at = readInputs(inputs, {kI, kO, kF, kG, kC});
            size_t dcAt = inputs.size();
            // The new dc in place of the old one.
            auto out = pointwise(inputs, state[1], 4, [&](Calc &c) {
              Value cPrev = c[0], i = c[1], o = c[2], f = c[3], gg = c[4],
                    hc = c[5];
              auto grad = [&](int64_t site, Value y) {
                return derivative(c, site, y, inputOf(c, at[site]));
              };
              Value dhT = c.add(c[6], c[7]);
              Value dpo = c.mul(c.mul(dhT, hc), grad(kO, o));
              Value dcT =
                  c.add(c[dcAt], c.mul(c.mul(dhT, o), grad(kC, hc)));
              // The peepholes: o reads the new c, i and f the previous one.
              if (peep)
                dcT = c.add(dcT, c.mul(dpo, c[9]));
              Value dpi = c.mul(c.mul(dcT, gg), grad(kI, i));
              Value dpf = c.mul(c.mul(dcT, cPrev), grad(kF, f));
              Value dpg = c.mul(c.mul(dcT, i), grad(kG, gg));
              Value dcPrev = c.mul(dcT, f);
              if (peep)
                dcPrev = c.add(dcPrev, c.add(c.mul(dpi, c[8]),
                                             c.mul(dpf, c[10])));
              return SmallVector<Value>{dcPrev, dpi, dpo, dpf, dpg};
            });
            storeGates({out[1], out[2], out[3], out[4]});
            next[1] = out[0];
            next[0] = recurrence(Value(), 4);
          } else if (lbr) {
            SmallVector<Value> inputs = {kept(0), kept(1), kept(2),
                                         kept(3), kept(4), dy};
            SmallVector<int64_t> at = readInputs(inputs, {kZ, kR, kN});
            size_t dhAt = inputs.size();
            // dh becomes what reaches H_prev directly, dh * z.
            auto out = pointwise(inputs, dhNext, 4, [&](Calc &c) {
              Value hPrev = c[0], z = c[1], r = c[2], n = c[3], q = c[4];
              auto grad = [&](int64_t site, Value y) {
                return derivative(c, site, y, inputOf(c, at[site]));
              };
              Value dhT = c.add(c[dhAt], c[5]);
              Value dn = c.mul(c.mul(dhT, c.sub(c.constant(1.0), z)),
                               grad(kN, n));
              return SmallVector<Value>{
                  c.mul(dhT, z),
                  c.mul(c.mul(dhT, c.sub(hPrev, n)), grad(kZ, z)),
                  c.mul(c.mul(dn, q), grad(kR, r)), dn, c.mul(dn, r)};
            });
            storeGates({out[1], out[2], out[3]});
            next[3] = insert(out[4], state[3], {time});
            Value acc = recurrence(out[0], 2);
            next[0] = matmul(out[4], rowBlock(recurrentT, 2 * h, h), acc);
          } else {
            // dh becomes dh * z here, then gains d(r * H_prev) * r.
            SmallVector<Value> inputs = {kept(0), kept(1), kept(3), dy};
            SmallVector<int64_t> at = readInputs(inputs, {kZ, kN});
            size_t dhAt = inputs.size();
            auto zn = pointwise(inputs, dhNext, 2, [&](Calc &c) {
              Value hPrev = c[0], z = c[1], n = c[2];
              Value dhT = c.add(c[dhAt], c[3]);
              return SmallVector<Value>{
                  c.mul(dhT, z),
                  c.mul(c.mul(dhT, c.sub(hPrev, n)),
                        derivative(c, kZ, z, inputOf(c, at[0]))),
                  c.mul(c.mul(dhT, c.sub(c.constant(1.0), z)),
                        derivative(c, kN, n, inputOf(c, at[1])))};
            });
            // r scaled H_prev before R_h: d(r * H_prev) = dn x R_h^T.
            Value dReset = matmul(zn[2], rowBlock(recurrentT, 2 * h, h));
            SmallVector<Value> rInputs = {kept(0), kept(2), dReset};
            SmallVector<int64_t> rAt = readInputs(rInputs, {kR});
            size_t accAt = rInputs.size();
            auto rh = pointwise(rInputs, zn[0], 1, [&](Calc &c) {
              Value hPrev = c[0], r = c[1], dReset = c[2];
              return SmallVector<Value>{
                  c.add(c[accAt], c.mul(dReset, r)),
                  c.mul(c.mul(dReset, hPrev),
                        derivative(c, kR, r, inputOf(c, rAt[0])))};
            });
            storeGates({zn[1], rh[1], zn[2]});
            next[0] = recurrence(rh[0], 2);
          }
          next[2] = dp;
          scf::YieldOp::create(b, loc, next);
        });
    return {loop.getResult(2), lbr ? loop.getResult(3) : Value(),
            loop.getResult(0), loop.getResult(1)};
  }

  /// A copy of `v` that may be updated in place.
  Value copy(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return linalg::CopyOp::create(b, loc, v, empty(type.getShape()))
        .getResult(0);
  }

  bool lbr;
  Value xw, recurrent, recurrentT, hBias;
  // Per direction (planSlots).
  SmallVector<Activation> activations;
  SmallVector<Site> sites;
  int64_t keptSlots, cNewSlot;
  SmallVector<Value> peepholes; // [H] each: i, o, f
};

struct RecurrentGradToLinalg : OpConversionPattern<graph::RecurrentGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RecurrentGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RecurrentGradLowering lowering(rewriter, op, adaptor);
    rewriter.replaceOp(op, lowering.lower());
    return success();
  }
};

} // namespace

void dlc::populateRecurrentToLinalgPatterns(RewritePatternSet &patterns,
                                            int64_t rowTile) {
  patterns.add<RecurrentToLinalg>(patterns.getContext(), rowTile);
  patterns.add<RecurrentGradToLinalg>(patterns.getContext());
}
