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
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
namespace graph = dlc::graph;

namespace {

/// An activation of ONNX's recurrent ops, by its ONNX name: the kernels'
/// activations and graph.unary's scalar bodies where they have it, and the
/// two that neither has.
Value applyRecurrentActivation(OpBuilder &b, Location l, Value x,
                               StringRef name, double alpha, double beta) {
  StringRef kernelActivation = llvm::StringSwitch<StringRef>(name)
                                   .Case("Sigmoid", "sigmoid")
                                   .Case("Tanh", "tanh")
                                   .Case("Relu", "relu")
                                   .Case("LeakyRelu", "leaky_relu")
                                   .Default("");
  if (!kernelActivation.empty())
    return dlc::applyActivation(b, l, x, kernelActivation, alpha, 0);
  Type t = x.getType();
  auto c = [&](double v) { return dlc::floatConstant(b, l, t, v); };
  auto mul = [&](Value u, Value v) {
    return arith::MulFOp::create(b, l, u, v).getResult();
  };
  if (name == "ScaledTanh")
    return mul(c(alpha), math::TanhOp::create(b, l, mul(c(beta), x)));
  if (name == "Affine")
    return arith::AddFOp::create(b, l, mul(c(alpha), x), c(beta));
  StringRef unary = llvm::StringSwitch<StringRef>(name)
                        .Case("ThresholdedRelu", "thresholded_relu")
                        .Case("HardSigmoid", "hard_sigmoid")
                        .Case("Elu", "elu")
                        .Case("Softsign", "softsign")
                        .Case("Softplus", "softplus")
                        .Default("");
  if (!unary.empty())
    return dlc::buildUnary(b, l, x, unary, alpha, beta, 0);
  llvm_unreachable("activation names are checked by the importer");
}

struct Activation {
  std::string name;
  double alpha, beta;
};

class RecurrentLowering {
public:
  RecurrentLowering(ConversionPatternRewriter &b, graph::RecurrentOp op,
                    graph::RecurrentOp::Adaptor adaptor)
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

  SmallVector<Value> lower() {
    int64_t directions = op.getDirection() == "bidirectional" ? 2 : 1;
    Value y = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{t, directions, batch, h}, elem);
    Value yh = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{directions, batch, h}, elem);
    Value yc = yh;
    Value x2 = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({t * batch, in}, elem), adaptor.getInput(),
        ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    int64_t perDirection = cell == "lstm" ? 3 : cell == "gru" ? 2 : 1;
    for (int64_t d = 0; d < directions; ++d) {
      bool reverse = op.getDirection() == "reverse" || d == 1;
      activations.clear();
      for (int64_t k = 0; k < perDirection; ++k) {
        int64_t i = d * perDirection + k;
        activations.push_back(
            {cast<StringAttr>(op.getActivations()[i]).str(),
             cast<FloatAttr>(op.getActivationAlpha()[i]).getValueAsDouble(),
             cast<FloatAttr>(op.getActivationBeta()[i]).getValueAsDouble()});
      }
      Value w = sliceDirection(adaptor.getInputWeights(), d, {in, g * h});
      recurrent = sliceDirection(adaptor.getRecurrentWeights(), d, {h, g * h});
      Value bias = adaptor.getBias() ? sliceDirection(adaptor.getBias(), d, {g * h}) : Value();
      hBias = adaptor.getRecurrentHBias() ? sliceDirection(adaptor.getRecurrentHBias(), d, {h}) : Value();
      peepholes = adaptor.getPeepholes() ? sliceDirection(adaptor.getPeepholes(), d, {3 * h}) : Value();
      xw = matmul(x2, w);
      if (bias)
        xw = addColumnBias(xw, bias);
      // Copies: the loop updates its state in place, which must not reach
      // the caller's initial_h / initial_c.
      Value h0 = adaptor.getInitialH()
                     ? copy(sliceDirection(adaptor.getInitialH(), d, {batch, h}))
                     : zeros({batch, h});
      Value c0 = adaptor.getInitialC()
                     ? copy(sliceDirection(adaptor.getInitialC(), d, {batch, h}))
                     : zeros({batch, h});
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value end = arith::ConstantIndexOp::create(b, loc, t);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ForOp::create(
          b, loc, zero, end, one, ValueRange{h0, c0, y},
          [&](OpBuilder &, Location, Value step, ValueRange state) {
            Value time = step;
            if (reverse)
              time = arith::SubIOp::create(
                  b, loc, arith::ConstantIndexOp::create(b, loc, t - 1), step);
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

  Value zeros(ArrayRef<int64_t> shape) {
    return dlc::createFilled(b, loc, RankedTensorType::get(shape, elem), 0.0);
  }

  /// A copy of `v` that may be updated in place.
  Value copy(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), elem);
    return linalg::CopyOp::create(b, loc, v, empty).getResult(0);
  }

  /// v[d] as a tensor of `shape` (the leading direction dim dropped).
  Value sliceDirection(Value v, int64_t d, ArrayRef<int64_t> shape) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offsets[0] = b.getIndexAttr(d);
    for (int64_t s : shape)
      sizes.push_back(b.getIndexAttr(s));
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, elem), v, offsets, sizes, strides);
  }

  /// Writes `value` [B, H] into `dest` at leading indices `lead` (the rest 0).
  Value insert(Value value, Value dest, ArrayRef<Value> lead, int64_t rank) {
    SmallVector<OpFoldResult> offsets, sizes, strides(rank, b.getIndexAttr(1));
    for (Value v : lead) {
      offsets.push_back(v);
      sizes.push_back(b.getIndexAttr(1));
    }
    for (int64_t s : {batch, h}) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(b.getIndexAttr(s));
    }
    return tensor::InsertSliceOp::create(b, loc, value, dest, offsets, sizes, strides);
  }

  Value matmul(Value lhs, Value rhs) {
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    auto type = RankedTensorType::get({lt.getDimSize(0), rt.getDimSize(1)}, elem);
    return linalg::MatmulOp::create(b, loc, type, ValueRange{lhs, rhs},
                                    zeros(type.getShape()))
        .getResult(0);
  }

  Value addColumnBias(Value m, Value bias) {
    return dlc::buildElementwise(b, loc, cast<RankedTensorType>(m.getType()),
                                 ValueRange{m, bias},
                                 [](OpBuilder &nb, Location l, ValueRange a) {
                                   return arith::AddFOp::create(nb, l, a[0], a[1]).getResult();
                                 });
  }

  Value activate(OpBuilder &nb, Location l, Value x, int64_t which) {
    if (clip) {
      x = arith::MaximumFOp::create(nb, l, x, dlc::floatConstant(nb, l, elem, -*clip));
      x = arith::MinimumFOp::create(nb, l, x, dlc::floatConstant(nb, l, elem, *clip));
    }
    const Activation &a = activations[which];
    return applyRecurrentActivation(nb, l, x, a.name, a.alpha, a.beta);
  }

  /// A generic over [B, H] whose inputs are read either whole ([B, H]) or
  /// per column ([H], or a block of [3H] at `columnOffset`).
  struct Operand {
    Value value;
    int64_t columnOffset = 0;
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
      maps.push_back(o.perColumn
                         ? AffineMap::get(2, 0, {col + o.columnOffset}, ctx)
                         : AffineMap::get(2, 0, {r, col + o.columnOffset}, ctx));
    }
    auto type = RankedTensorType::get({batch, h}, elem);
    SmallVector<Value> outs(inits.begin(), inits.end());
    for (int64_t i = outs.size(); i < results; ++i)
      outs.push_back(tensor::EmptyOp::create(b, loc, type.getShape(), elem));
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
    Value row = arith::MulIOp::create(b, loc, time, index(batch));
    Value xwT = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({batch, g * h}, elem), xw,
        SmallVector<OpFoldResult>{row, b.getIndexAttr(0)},
        SmallVector<OpFoldResult>{b.getIndexAttr(batch), b.getIndexAttr(g * h)},
        SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    Value hr = matmul(hPrev, recurrent);
    // Gate k of a [B, G*H] tensor, as a [B, H] slice (a view once bufferized).
    auto gate = [&](Value v, int64_t k) {
      Value block = tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({batch, h}, elem), v,
          SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(k * h)},
          SmallVector<OpFoldResult>{b.getIndexAttr(batch), b.getIndexAttr(h)},
          SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      return Operand{block, 0, false};
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
      bool peep = static_cast<bool>(peepholes);
      if (peep)
        for (int64_t k = 0; k < 3; ++k)
          operands.push_back({peepholes, k * h, true});
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
        operands.push_back({hBias, 0, true});
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

  ConversionPatternRewriter &b;
  graph::RecurrentOp op;
  graph::RecurrentOp::Adaptor adaptor;
  Location loc;
  int64_t t, batch, in, h, g;
  std::string cell;
  Type elem;
  std::optional<double> clip;
  SmallVector<Activation> activations;
  Value xw, recurrent, hBias, peepholes;
};

struct RecurrentToLinalg : OpConversionPattern<graph::RecurrentOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::RecurrentOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RecurrentLowering lowering(rewriter, op, adaptor);
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
  Value sigmoid(Value x) {
    return dlc::applyActivation(b, loc, x, "sigmoid", 0, 0);
  }
  Value tanh(Value x) { return dlc::applyActivation(b, loc, x, "tanh", 0, 0); }
  /// The derivatives from the activations' outputs y.
  Value sigmoidGrad(Value y) { return mul(y, sub(constant(1.0), y)); }
  Value tanhGrad(Value y) { return sub(constant(1.0), mul(y, y)); }
};

/// graph.recurrent_grad, per direction (default activations only):
///   forward again, as above, also keeping what each step starts from and
///   its gate activations in S[K, T, B, H], indexed by time
///   scf.for over the steps, last first: each step's pre-activation
///   gradients into dP[T, B, G*H], the state gradients dh (dc) carried back
///   dX += dP x W^T, dW = X^T x dP, dR = Hprev^T x dP, dbias = sum of dP rows
/// so the weight gradients are three big matmuls after the loop, not
/// accumulations inside it.
class RecurrentGradLowering {
public:
  RecurrentGradLowering(ConversionPatternRewriter &b, graph::RecurrentGradOp op,
                        graph::RecurrentGradOp::Adaptor adaptor)
      : b(b), op(op), adaptor(adaptor), loc(op.getLoc()) {
    auto x = cast<RankedTensorType>(op.getInput().getType());
    t = x.getDimSize(0);
    batch = x.getDimSize(1);
    in = x.getDimSize(2);
    h = op.getHiddenSize();
    cell = op.getCell();
    g = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
    lbr = cell == "gru" && op.getLinearBeforeReset();
    elem = x.getElementType();
  }

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
    for (int64_t d = 0; d < directions; ++d) {
      bool reverse = op.getDirection() == "reverse" || d == 1;
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
    }
    Value dxOut = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({t, batch, in}, elem), dx,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    return {dxOut, dw, dr, dbias, dhBias, dh0, dc0};
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

  /// Runs direction `d` forward. Returns S[K, T, B, H], per time step: the
  /// hidden state it starts from (S[0]), then by cell
  ///   rnn: h;  lstm: c_prev, i, o, f, g, tanh(c);
  ///   gru: z, r, h~ and r * h_prev (with linear_before_reset: the h gate's
  ///   recurrence H_prev x R_h + Rb_h, which r multiplies).
  Value forward(int64_t d, bool reverse) {
    int64_t kept = cell == "lstm" ? 7 : cell == "gru" ? 5 : 2;
    Value h0 = adaptor.getInitialH()
                   ? copy(extract(adaptor.getInitialH(), {idx(d)}, {batch, h}))
                   : zeros({batch, h});
    Value c0 = adaptor.getInitialC() && cell == "lstm"
                   ? copy(extract(adaptor.getInitialC(), {idx(d)}, {batch, h}))
                   : zeros({batch, h});
    Value stored = empty({kept, t, batch, h});
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
          Value hr = matmul(hPrev, recurrent);
          SmallVector<Value> keep;
          Value hNew, cNew = cPrev;
          if (cell == "rnn") {
            hNew = pointwise({gate(xwT, 0), gate(hr, 0)}, hPrev, 0,
                             [](Calc &c) {
                               return SmallVector<Value>{
                                   c.tanh(c.add(c[0], c[1]))};
                             })[0];
            keep = {hNew};
          } else if (cell == "lstm") {
            // Gates in ONNX order i, o, f, c.
            auto out = pointwise(
                {gate(xwT, 0), gate(xwT, 1), gate(xwT, 2), gate(xwT, 3),
                 gate(hr, 0), gate(hr, 1), gate(hr, 2), gate(hr, 3)},
                ValueRange{hPrev, cPrev}, 5, [](Calc &c) {
                  Value i = c.sigmoid(c.add(c[0], c[4]));
                  Value o = c.sigmoid(c.add(c[1], c[5]));
                  Value f = c.sigmoid(c.add(c[2], c[6]));
                  Value gg = c.tanh(c.add(c[3], c[7]));
                  Value cn = c.add(c.mul(f, c[9]), c.mul(i, gg));
                  Value tc = c.tanh(cn);
                  return SmallVector<Value>{c.mul(o, tc), cn, i, o, f, gg, tc};
                });
            hNew = out[0];
            cNew = out[1];
            keep = {out[2], out[3], out[4], out[5], out[6]};
          } else if (lbr) {
            SmallVector<Value> inputs = {gate(xwT, 0), gate(xwT, 1),
                                         gate(xwT, 2), gate(hr, 0),
                                         gate(hr, 1),  gate(hr, 2)};
            bool withBias = static_cast<bool>(hBias);
            if (withBias)
              inputs.push_back(hBias);
            size_t prev = inputs.size();
            auto out = pointwise(inputs, hPrev, 4, [&](Calc &c) {
              Value z = c.sigmoid(c.add(c[0], c[3]));
              Value r = c.sigmoid(c.add(c[1], c[4]));
              Value q = withBias ? c.add(c[5], c[6]) : c[5];
              Value n = c.tanh(c.add(c[2], c.mul(r, q)));
              return SmallVector<Value>{gruState(c, z, n, c[prev]), z, r, n, q};
            });
            hNew = out[0];
            keep = {out[1], out[2], out[3], out[4]};
          } else {
            auto zr = pointwise({gate(xwT, 0), gate(xwT, 1), gate(hr, 0),
                                 gate(hr, 1), hPrev},
                                {}, 3, [](Calc &c) {
                                  Value z = c.sigmoid(c.add(c[0], c[2]));
                                  Value r = c.sigmoid(c.add(c[1], c[3]));
                                  return SmallVector<Value>{z, r,
                                                            c.mul(r, c[4])};
                                });
            Value resetH = matmul(zr[2], block(recurrent, 2 * h, h));
            auto out = pointwise({gate(xwT, 2), resetH, zr[0]}, hPrev, 1,
                                 [&](Calc &c) {
                                   Value n = c.tanh(c.add(c[0], c[1]));
                                   return SmallVector<Value>{
                                       gruState(c, c[2], n, c[3]), n};
                                 });
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
          // Gradients of the pre-activations from those of the outputs:
          // sigmoid' = y (1 - y), tanh' = 1 - y^2.
          if (cell == "rnn") {
            Value dpre = pointwise({kept(1), dhNext, dy}, {}, 1, [](Calc &c) {
              return SmallVector<Value>{
                  c.mul(c.add(c[1], c[2]), c.tanhGrad(c[0]))};
            })[0];
            storeGates({dpre});
            next[0] = recurrence(Value(), 1);
          } else if (cell == "lstm") {
            // The new dc in place of the old one.
            auto out = pointwise(
                {kept(1), kept(2), kept(3), kept(4), kept(5), kept(6), dhNext,
                 dy},
                state[1], 4, [](Calc &c) {
                  Value cPrev = c[0], i = c[1], o = c[2], f = c[3], gg = c[4],
                        tc = c[5];
                  Value dhT = c.add(c[6], c[7]);
                  Value dcT = c.add(c[8], c.mul(c.mul(dhT, o), c.tanhGrad(tc)));
                  return SmallVector<Value>{
                      c.mul(dcT, f),
                      c.mul(c.mul(dcT, gg), c.sigmoidGrad(i)),
                      c.mul(c.mul(dhT, tc), c.sigmoidGrad(o)),
                      c.mul(c.mul(dcT, cPrev), c.sigmoidGrad(f)),
                      c.mul(c.mul(dcT, i), c.tanhGrad(gg))};
                });
            storeGates({out[1], out[2], out[3], out[4]});
            next[1] = out[0];
            next[0] = recurrence(Value(), 4);
          } else if (lbr) {
            // dh becomes what reaches H_prev directly, dh * z.
            auto out = pointwise(
                {kept(0), kept(1), kept(2), kept(3), kept(4), dy}, dhNext, 4,
                [](Calc &c) {
                  Value hPrev = c[0], z = c[1], r = c[2], n = c[3], q = c[4];
                  Value dhT = c.add(c[6], c[5]);
                  Value dn = c.mul(c.mul(dhT, c.sub(c.constant(1.0), z)),
                                   c.tanhGrad(n));
                  return SmallVector<Value>{
                      c.mul(dhT, z),
                      c.mul(c.mul(dhT, c.sub(hPrev, n)), c.sigmoidGrad(z)),
                      c.mul(c.mul(dn, q), c.sigmoidGrad(r)), dn, c.mul(dn, r)};
                });
            storeGates({out[1], out[2], out[3]});
            next[3] = insert(out[4], state[3], {time});
            Value acc = recurrence(out[0], 2);
            next[0] = matmul(out[4], rowBlock(recurrentT, 2 * h, h), acc);
          } else {
            // dh becomes dh * z here, then gains d(r * H_prev) * r.
            auto zn = pointwise(
                {kept(0), kept(1), kept(3), dy}, dhNext, 2, [](Calc &c) {
                  Value hPrev = c[0], z = c[1], n = c[2];
                  Value dhT = c.add(c[4], c[3]);
                  return SmallVector<Value>{
                      c.mul(dhT, z),
                      c.mul(c.mul(dhT, c.sub(hPrev, n)), c.sigmoidGrad(z)),
                      c.mul(c.mul(dhT, c.sub(c.constant(1.0), z)),
                            c.tanhGrad(n))};
                });
            // r scaled H_prev before R_h: d(r * H_prev) = dn x R_h^T.
            Value dReset = matmul(zn[2], rowBlock(recurrentT, 2 * h, h));
            auto rh = pointwise(
                {kept(0), kept(2), dReset}, zn[0], 1, [](Calc &c) {
                  Value hPrev = c[0], r = c[1], dReset = c[2];
                  return SmallVector<Value>{
                      c.add(c[3], c.mul(dReset, r)),
                      c.mul(c.mul(dReset, hPrev), c.sigmoidGrad(r))};
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

  ConversionPatternRewriter &b;
  graph::RecurrentGradOp op;
  graph::RecurrentGradOp::Adaptor adaptor;
  Location loc;
  int64_t t, batch, in, h, g;
  std::string cell;
  bool lbr;
  Type elem;
  Value xw, recurrent, recurrentT, hBias;
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

void dlc::populateRecurrentToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RecurrentToLinalg, RecurrentGradToLinalg>(
      patterns.getContext());
}
