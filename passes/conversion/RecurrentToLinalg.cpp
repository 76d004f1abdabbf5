//===- RecurrentToLinalg.cpp - RNN, GRU and LSTM as loops over time -------===//
//
// A recurrent op becomes, per direction:
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
      Value h0 = adaptor.getInitialH() ? sliceDirection(adaptor.getInitialH(), d, {batch, h})
                                       : zeros({batch, h});
      Value c0 = adaptor.getInitialC() ? sliceDirection(adaptor.getInitialC(), d, {batch, h})
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

} // namespace

void dlc::populateRecurrentToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RecurrentToLinalg>(patterns.getContext());
}
