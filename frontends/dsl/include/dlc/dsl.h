//===- dlc/dsl.h - define and compile models in C++ ------------*- C++ -*-===//
//
// A model built here goes through the same pipeline as an imported ONNX
// file (graph passes, fusion, kernels, codegen) and gives the same
// artifacts: a shared library the runtime loads, or an object and header.
//
//   dlc::dsl::Model m("mlp");
//   auto x = m.input("x", dlc::dsl::f32({64, 784}));
//   auto h = dlc::dsl::relu(m.linear("fc1", 784, 128)(x));
//   m.output("logits", m.linear("fc2", 128, 10)(h));
//   m.summary(std::cout);
//   m.compile("mlp.so");
//
// Tensors are float32 with static shapes, batch first; images are NCHW.
// Every mistake is found while the model is built and thrown as
// dlc::dsl::Error, whose message names the layer and both shapes, e.g.
// "fc2 (Linear): input has 64 features, the layer expects 128".
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DSL_H
#define DLC_DSL_H

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace dlc::dsl {

/// A mistake in a model definition or in its compilation.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The element types of model inputs: float32 data, int64 indices (token
/// ids for an Embedding).
enum class DType { F32, I64 };

/// The type of a model input: a dtype and a static shape.
struct TensorType {
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
};
inline TensorType f32(std::vector<int64_t> shape) {
  return TensorType{std::move(shape), DType::F32};
}
inline TensorType i64(std::vector<int64_t> shape) {
  return TensorType{std::move(shape), DType::I64};
}

class Model;
struct TensorAccess; // the implementation's view of Tensor and Model

/// A value of a model being built: an input or an op's result. Cheap to
/// copy; usable while its Model lives, with ops of the same Model only.
class Tensor {
public:
  Tensor() = default;
  /// The static shape, as inferred when the op was added.
  const std::vector<int64_t> &shape() const;
  Model &model() const;
  /// Whether it is a value of a model (a default-constructed Tensor is not).
  bool defined() const { return owner != nullptr; }

private:
  friend struct TensorAccess;
  Tensor(Model *model, int id) : owner(model), id(id) {}
  Model *owner = nullptr;
  int id = -1;
};

/// max(x, 0), 1 / (1 + exp(-x)), tanh(x): elementwise.
Tensor relu(Tensor x);
Tensor sigmoid(Tensor x);
Tensor tanh(Tensor x);
/// x for x >= 0, slope * x otherwise.
Tensor leaky_relu(Tensor x, double slope = 0.01);
/// Elementwise exp, natural log and square root.
Tensor exp(Tensor x);
Tensor log(Tensor x);
Tensor sqrt(Tensor x);
/// More activations, as torch.nn.functional defines them (elementwise):
/// elu alpha (exp(x) - 1) for x < 0; selu and celu; gelu (exact, with erf);
/// silu x sigmoid(x); mish x tanh(softplus(x)); softplus log(1 + exp(x));
/// softsign x / (1 + |x|); hardsigmoid clamp(x / 6 + 1/2, 0, 1); hardswish
/// x hardsigmoid(x); hardtanh clamp(x, -1, 1); relu6 clamp(x, 0, 6).
Tensor elu(Tensor x, double alpha = 1);
Tensor selu(Tensor x);
Tensor celu(Tensor x, double alpha = 1);
Tensor gelu(Tensor x);
Tensor silu(Tensor x);
Tensor mish(Tensor x);
Tensor softplus(Tensor x);
Tensor softsign(Tensor x);
Tensor hardsigmoid(Tensor x);
Tensor hardswish(Tensor x);
Tensor hardtanh(Tensor x);
Tensor relu6(Tensor x);
/// Elementwise |x|, -x and the error function.
Tensor abs(Tensor x);
Tensor neg(Tensor x);
Tensor erf(Tensor x);
/// min(max(x, lo), hi).
Tensor clamp(Tensor x, double lo, double hi);
/// Inverted dropout, as torch.nn.functional.dropout: in a training step
/// each element is zeroed with probability p and the others scaled by
/// 1 / (1 - p), with a new mask every step (the same for the same step on
/// any machine and thread count); in inference, the identity. 0 <= p < 1.
Tensor dropout(Tensor x, double p = 0.5);
/// The mean, sum, maximum and minimum over `axes` (negative: from the end;
/// empty: every dim), which stay as dims of 1 with `keepdim`.
Tensor mean(Tensor x, std::vector<int64_t> axes, bool keepdim = false);
Tensor sum(Tensor x, std::vector<int64_t> axes, bool keepdim = false);
Tensor amax(Tensor x, std::vector<int64_t> axes, bool keepdim = false);
Tensor amin(Tensor x, std::vector<int64_t> axes, bool keepdim = false);
/// exp(x) / sum(exp(x)) along `axis` (negative: from the end).
Tensor softmax(Tensor x, int64_t axis = -1);
/// log(softmax(x)), computed stably, along `axis`.
Tensor log_softmax(Tensor x, int64_t axis = -1);
/// [N, d1, d2, ...] -> [N, d1 * d2 * ...].
Tensor flatten(Tensor x);
/// Elementwise sum, difference, product and quotient with numpy
/// broadcasting.
Tensor operator+(Tensor a, Tensor b);
Tensor operator-(Tensor a, Tensor b);
Tensor operator*(Tensor a, Tensor b);
Tensor operator/(Tensor a, Tensor b);
/// Matrix product [..., M, K] x [..., K, N], batch dims broadcast.
Tensor matmul(Tensor a, Tensor b);
/// Max over `kernel` x `kernel` windows of an NCHW tensor; `stride` 0 means
/// the kernel size (PyTorch's default); `padding` on every side.
Tensor max_pool2d(Tensor x, int64_t kernel, int64_t stride = 0,
                  int64_t padding = 0);

/// Average over `kernel` x `kernel` windows of an NCHW tensor, padding
/// counted in the divisor (PyTorch's default); `stride` 0 means the kernel.
Tensor avg_pool2d(Tensor x, int64_t kernel, int64_t stride = 0,
                  int64_t padding = 0);
/// The mean over each channel's H x W: NCHW -> [N, C, 1, 1].
Tensor global_avg_pool2d(Tensor x);
/// The same elements in `shape` (one dim may be -1: what is left).
Tensor reshape(Tensor x, std::vector<int64_t> shape);
/// Dims permuted: result dim i is input dim perm[i].
Tensor transpose(Tensor x, std::vector<int64_t> perm);
/// Joined along `axis`; the other dims must agree.
Tensor concat(const std::vector<Tensor> &xs, int64_t axis);
/// Elements start, start + step, ... (below end) along `axis`, as Python's
/// x[..., start:end:step, ...]: negative start and end count from the end,
/// and both are clamped to the dim; step >= 1.
Tensor slice(Tensor x, int64_t axis, int64_t start, int64_t end,
             int64_t step = 1);
/// The entries of int64 `indices` along `axis` (torch.index_select; a
/// negative index counts from the end): x [.., n, ..] -> [.., indices..,
/// ..]. An index outside [-n, n) fails the run with a message naming the
/// op.
Tensor index_select(Tensor x, int64_t axis, Tensor indices);
/// How pad() fills: with `value`, mirroring the edge (without repeating
/// it), or repeating the edge.
enum class PadMode { Constant, Reflect, Replicate };
/// Padded as torch.nn.functional.pad: `pads` holds (before, after) pairs
/// from the last dim backwards, e.g. {left, right, top, bottom} for NCHW.
Tensor pad(Tensor x, const std::vector<int64_t> &pads,
           PadMode mode = PadMode::Constant, double value = 0);
/// An NCHW image scaled by an integer `scale` in H and W, as
/// torch.nn.functional.interpolate(scale_factor=scale): nearest, or
/// bilinear with align_corners=False.
enum class Interpolation { Nearest, Bilinear };
Tensor interpolate(Tensor x, int64_t scale,
                   Interpolation mode = Interpolation::Nearest);
/// Cut along `axis` into consecutive pieces of `sizes` (which add up to
/// that dim), as torch.split with a list of sizes.
std::vector<Tensor> split(Tensor x, const std::vector<int64_t> &sizes,
                          int64_t axis);
/// Elementwise with a float32 scalar: x * 0.125, 1 - x, ...
Tensor operator+(Tensor a, double b);
Tensor operator-(Tensor a, double b);
Tensor operator*(Tensor a, double b);
Tensor operator/(Tensor a, double b);
Tensor operator+(double a, Tensor b);
Tensor operator-(double a, Tensor b);
Tensor operator*(double a, Tensor b);

/// A layer that owns named parameters ("<layer>.weight", "<layer>.bias").
class Layer {
public:
  virtual ~Layer() = default;
  const std::string &name() const { return layerName; }

protected:
  Layer(Model &model, std::string name)
      : owner(&model), layerName(std::move(name)) {}
  /// Throws unless `x` is of this layer's model ("<layer> (<kind>): the
  /// input belongs to another model").
  void checkOwner(Tensor x, const char *kind) const;
  /// Throws unless `x` is of this layer's model, of `rank` (`layout` names
  /// it) and has `size` `unit` (features, channels) in dim `dim`.
  void checkInput(Tensor x, const char *kind, size_t rank, const char *layout,
                  int64_t size, const char *unit, size_t dim = 1) const;
  /// The name of this application of the layer, for its ops and ONNX
  /// nodes: the layer's name, then "<name>#2", "#3", ... when it is applied
  /// again (sharing its parameters, as a PyTorch module called twice).
  std::string callName() const;
  Model *owner;
  std::string layerName;
  mutable int calls = 0;
};

/// y = x W^T + b for x [N, in] (or [..., in] of rank 3 or more, as
/// torch.nn.Linear: the leading dims are kept; a rank-1 x is refused): W is
/// [out, in] and b [out], PyTorch's layout, initialized as PyTorch does:
/// uniform in +-1/sqrt(in).
class Linear : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t inFeatures, outFeatures;
  bool bias;

private:
  friend class Model;
  Linear(Model &model, std::string name, int64_t in, int64_t out, bool bias)
      : Layer(model, std::move(name)), inFeatures(in), outFeatures(out),
        bias(bias) {}
};

/// A convolution's options, as torch.nn.Conv2d's: `padding` on every side,
/// filled as `padding_mode` says (zeros, PyTorch's default; reflect;
/// replicate).
struct Conv2dOptions {
  int64_t strideValue = 1, paddingValue = 0, dilationValue = 1, groupsValue = 1;
  bool biasValue = true;
  PadMode paddingModeValue = PadMode::Constant;
  Conv2dOptions &stride(int64_t v) { return strideValue = v, *this; }
  Conv2dOptions &padding(int64_t v) { return paddingValue = v, *this; }
  Conv2dOptions &padding_mode(PadMode v) { return paddingModeValue = v, *this; }
  Conv2dOptions &dilation(int64_t v) { return dilationValue = v, *this; }
  Conv2dOptions &groups(int64_t v) { return groupsValue = v, *this; }
  Conv2dOptions &bias(bool v) { return biasValue = v, *this; }
};

/// What the convolution layers hold: channels in and out, the (square)
/// kernel size and their options.
template <typename Options> class Convolution : public Layer {
public:
  int64_t inChannels, outChannels, kernel;
  Options options;

protected:
  Convolution(Model &model, std::string name, int64_t in, int64_t out,
              int64_t kernel, Options options)
      : Layer(model, std::move(name)), inChannels(in), outChannels(out),
        kernel(kernel), options(options) {}
};

/// 2-D convolution of NCHW input by a [out, in / groups, k, k] weight (and
/// a bias [out]), initialized as PyTorch does: uniform in
/// +-1/sqrt(in / groups * k * k).
class Conv2d : public Convolution<Conv2dOptions> {
public:
  Tensor operator()(Tensor x) const;

private:
  friend class Model;
  using Convolution::Convolution;
};

/// 1-D convolution of NCL input by a [out, in / groups, k] weight (and a
/// bias [out]), as torch.nn.Conv1d, with the options of Conv2d;
/// initialized as PyTorch does: uniform in +-1/sqrt(in / groups * k).
class Conv1d : public Convolution<Conv2dOptions> {
public:
  Tensor operator()(Tensor x) const;

private:
  friend class Model;
  using Convolution::Convolution;
};

struct ConvTranspose2dOptions {
  int64_t strideValue = 1, paddingValue = 0, outputPaddingValue = 0,
          dilationValue = 1, groupsValue = 1;
  bool biasValue = true;
  ConvTranspose2dOptions &stride(int64_t v) { return strideValue = v, *this; }
  ConvTranspose2dOptions &padding(int64_t v) { return paddingValue = v, *this; }
  ConvTranspose2dOptions &output_padding(int64_t v) {
    return outputPaddingValue = v, *this;
  }
  ConvTranspose2dOptions &dilation(int64_t v) {
    return dilationValue = v, *this;
  }
  ConvTranspose2dOptions &groups(int64_t v) { return groupsValue = v, *this; }
  ConvTranspose2dOptions &bias(bool v) { return biasValue = v, *this; }
};

/// The transpose (gradient) of a 2-D convolution, as
/// torch.nn.ConvTranspose2d: NCHW input [N, in, H, W] -> [N, out,
/// (H - 1) * stride - 2 * padding + dilation * (kernel - 1) +
/// output_padding + 1, ...], weight [in, out / groups, k, k] and bias
/// [out], initialized as PyTorch does: uniform in
/// +-1/sqrt(out / groups * k * k). output_padding must be below the stride
/// or the dilation.
class ConvTranspose2d : public Convolution<ConvTranspose2dOptions> {
public:
  Tensor operator()(Tensor x) const;

private:
  friend class Model;
  using Convolution::Convolution;
};

/// What a recurrent layer returns, as PyTorch's: the output of every step
/// y [T, N, D * hidden] (both directions' concatenated when D = 2), the
/// last hidden state h [D, N, hidden] and, for an LSTM, the last cell state
/// c [D, N, hidden] (an empty Tensor otherwise).
struct RecurrentOutput {
  Tensor y, h, c;
};

/// The cell of a recurrent layer: torch.nn.RNN (tanh), GRU or LSTM.
enum class Cell { RNN, GRU, LSTM };

/// One layer of torch.nn.RNN, GRU or LSTM over a sequence-first input
/// x [T, N, input] (PyTorch's default, batch_first=False), starting from
/// zero states; forward only or bidirectional. Parameters in PyTorch's
/// names and layout: "<layer>.weight_ih_l0" [G * hidden, input],
/// ".weight_hh_l0" [G * hidden, hidden], ".bias_ih_l0" and ".bias_hh_l0"
/// [G * hidden], and the same with the suffix "_reverse" for the reverse
/// direction; the gates in PyTorch's order (RNN, G = 1; GRU, G = 3: r, z, n
/// with the reset gate applied after the hidden product; LSTM, G = 4: i, f,
/// g, o); initialized as PyTorch does: uniform in +-1/sqrt(hidden). It runs
/// as the ONNX RNN, GRU and LSTM operators (the gates reordered into
/// theirs).
class Recurrent : public Layer {
public:
  RecurrentOutput operator()(Tensor x) const;
  Cell cell;
  int64_t inputSize, hiddenSize;
  bool bidirectional;

private:
  friend class Model;
  Recurrent(Model &model, std::string name, Cell cell, int64_t input,
            int64_t hidden, bool bidirectional)
      : Layer(model, std::move(name)), cell(cell), inputSize(input),
        hiddenSize(hidden), bidirectional(bidirectional) {}
};

/// Self-attention as torch.nn.MultiheadAttention(embed, heads) computes it
/// with query = key = value = x, sequence first: x [L, N, embed] -> [L, N,
/// embed], no mask, no dropout. Parameters in PyTorch's names and layout:
/// "<layer>.in_proj_weight" [3 * embed, embed] (the query, key and value
/// projections stacked; Glorot uniform), ".in_proj_bias" [3 * embed]
/// (zeros), and the Linear "<layer>.out_proj" (embed -> embed, bias
/// zeros). The heads split embed into `heads` slices of embed / heads.
class MultiheadAttention : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t embedDim, numHeads;

private:
  friend class Model;
  MultiheadAttention(Model &model, std::string name, int64_t embed,
                     int64_t heads, Linear &outProj)
      : Layer(model, std::move(name)), embedDim(embed), numHeads(heads),
        outProj(&outProj) {}
  Linear *outProj;
};

/// Batch normalization of NCHW input over its channels, as
/// torch.nn.BatchNorm2d: in inference (x - running_mean) /
/// sqrt(running_var + eps) * weight + bias, with "<layer>.weight", ".bias",
/// ".running_mean", ".running_var" ([C] each; 1, 0, 0, 1 as PyTorch starts
/// them; set trained values by name). A training step normalizes with the
/// batch's statistics and updates the running ones (momentum 0.1, the
/// variance unbiased), which the training library keeps as its state.
class BatchNorm2d : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t channels;
  double eps;

private:
  friend class Model;
  BatchNorm2d(Model &model, std::string name, int64_t channels, double eps)
      : Layer(model, std::move(name)), channels(channels), eps(eps) {}
};

/// torch.nn.InstanceNorm2d: each sample's channel normalized over its H x
/// W, (x - mean) / sqrt(var + eps), then with `affine` times "<layer>.weight"
/// plus ".bias" ([C], starting at 1 and 0); no running statistics.
class InstanceNorm2d : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t channels;
  double eps;
  bool affine;

private:
  friend class Model;
  InstanceNorm2d(Model &model, std::string name, int64_t channels, double eps,
                 bool affine)
      : Layer(model, std::move(name)), channels(channels), eps(eps),
        affine(affine) {}
};

/// torch.nn.GroupNorm: the channels of [N, C, ...] (rank >= 2) in `groups`
/// groups of C / groups, each sample's group normalized over its channels
/// and positions, (x - mean) / sqrt(var + eps), then times "<layer>.weight"
/// plus ".bias" ([C], starting at 1 and 0) with `affine`. group_norm()
/// throws unless `groups` divides C; the call, for an input without C
/// channels in dim 1.
class GroupNorm : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t groups, channels;
  double eps;
  bool affine;

private:
  friend class Model;
  GroupNorm(Model &model, std::string name, int64_t groups, int64_t channels,
            double eps, bool affine)
      : Layer(model, std::move(name)), groups(groups), channels(channels),
        eps(eps), affine(affine) {}
};

/// torch.nn.Dropout(p) as a layer without parameters: dropout(x, p) at each
/// application.
class Dropout : public Layer {
public:
  Tensor operator()(Tensor x) const;
  double p;

private:
  friend class Model;
  Dropout(Model &model, std::string name, double p)
      : Layer(model, std::move(name)), p(p) {}
};

/// Normalization over the last dim of `features` elements:
/// (x - mean) / sqrt(var + eps) * weight + bias ("<layer>.weight",
/// ".bias", [features], starting at 1 and 0).
class LayerNorm : public Layer {
public:
  Tensor operator()(Tensor x) const;
  int64_t features;
  double eps;

private:
  friend class Model;
  LayerNorm(Model &model, std::string name, int64_t features, double eps)
      : Layer(model, std::move(name)), features(features), eps(eps) {}
};

/// A lookup table: int64 ids [...] -> rows of "<layer>.weight" [num, dim]
/// ([..., dim]), initialized as PyTorch does: normal(0, 1) (Box-Muller over
/// the model's generator). Ids outside [-num, num) fail the call at run
/// time with a message naming the layer (negative ids count from the end,
/// as ONNX's Gather does; PyTorch refuses them).
class Embedding : public Layer {
public:
  Tensor operator()(Tensor ids) const;
  int64_t num, dim;

private:
  friend class Model;
  Embedding(Model &model, std::string name, int64_t num, int64_t dim)
      : Layer(model, std::move(name)), num(num), dim(dim) {}
};

/// Initializers, as torch.nn.init defines them; the values come from the
/// model's seeded generator (the same on every platform for a seed).
namespace init {
enum class Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu };
enum class FanMode { FanIn, FanOut };
/// torch.nn.init.calculate_gain: 1, 1, 5/3, sqrt(2), sqrt(2 / (1 +
/// slope^2)).
double calculate_gain(Nonlinearity nonlinearity, double slope = 0.01);

struct Initializer {
  enum class Kind {
    Constant,
    Uniform,
    Normal,
    XavierUniform,
    XavierNormal,
    KaimingUniform,
    KaimingNormal
  };
  Kind kind = Kind::Constant;
  double a = 0, b = 0; ///< the value; [a, b); mean a, std b; gain a
  /// Kaiming: the negative slope, the fan, the nonlinearity after.
  double slope = 0;
  FanMode mode = FanMode::FanIn;
  Nonlinearity nonlinearity = Nonlinearity::LeakyRelu;
};
Initializer zeros();
Initializer ones();
Initializer constant(double value);
/// Uniform in [lo, hi); normal with `mean` and `std`.
Initializer uniform(double lo = 0, double hi = 1);
Initializer normal(double mean = 0, double std = 1);
/// Glorot & Bengio: uniform in +-gain sqrt(6 / (fan_in + fan_out)), or
/// normal with std gain sqrt(2 / (fan_in + fan_out)). Fans as PyTorch's:
/// [out, in, k...] has fan_in in * prod(k), fan_out out * prod(k).
Initializer xavier_uniform(double gain = 1);
Initializer xavier_normal(double gain = 1);
/// He et al.: std gain / sqrt(fan) with gain = calculate_gain(nonlinearity,
/// slope); uniform in +-sqrt(3) std, or normal.
Initializer
kaiming_uniform(double slope = 0, FanMode mode = FanMode::FanIn,
                Nonlinearity nonlinearity = Nonlinearity::LeakyRelu);
Initializer kaiming_normal(double slope = 0, FanMode mode = FanMode::FanIn,
                           Nonlinearity nonlinearity = Nonlinearity::LeakyRelu);
} // namespace init

/// Layers and functions applied in order, as torch.nn.Sequential:
///   nn::Sequential mlp;
///   mlp.add(m.linear("fc1", 784, 128)).add(nn::relu).add(m.linear("fc2", 128,
///   10)); nn::Tensor y = mlp(x);
/// Layers stay owned by their model; a Sequential only refers to them.
class Sequential {
public:
  Sequential &add(std::function<Tensor(Tensor)> step) {
    steps.push_back(std::move(step));
    return *this;
  }
  template <typename L,
            typename = std::enable_if_t<std::is_base_of_v<Layer, L>>>
  Sequential &add(L &layer) {
    return add([&layer](Tensor x) { return layer(x); });
  }
  Tensor operator()(Tensor x) const {
    for (const auto &step : steps)
      x = step(x);
    return x;
  }
  size_t size() const { return steps.size(); }

private:
  std::vector<std::function<Tensor(Tensor)>> steps;
};

/// What compile() writes: a shared library (the default), an object file
/// and its C header, or one stage's IR as text.
enum class Emit { Graph, Kernel, Linalg, LLVM, Obj, So };

/// The loss a training step puts on the model's first output, as
/// `dlc --train --loss=...` does (PyTorch's definitions, mean reduction):
/// `Model` takes that output as the loss itself (a float32 scalar). The
/// others add an input `labels`: int64 class indices for CrossEntropy and
/// NLL, the output's shape otherwise.
enum class Loss {
  Model,
  MSE,
  L1,
  Huber,
  BCE,
  BCEWithLogits,
  CrossEntropy,
  NLL,
  KLDiv,
  Hinge
};

/// An optimizer and its hyperparameters, as torch.optim defines them.
struct Optimizer {
  std::string name; ///< sgd, adam, adamw, rmsprop, adagrad
  double lr = 0.01, momentum = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
         weightDecay = 0, alpha = 0.99;
  bool nesterov = false;
};
/// torch.optim.SGD.
Optimizer SGD(double lr, double momentum = 0, bool nesterov = false,
              double weightDecay = 0);
/// torch.optim.Adam and AdamW (decoupled weight decay, 0.01 by default).
Optimizer Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
               double eps = 1e-8, double weightDecay = 0);
Optimizer AdamW(double lr = 1e-3, double weightDecay = 0.01, double beta1 = 0.9,
                double beta2 = 0.999, double eps = 1e-8);

/// torch.optim.RMSprop (smoothing `alpha`) and Adagrad.
Optimizer RMSprop(double lr = 0.01, double alpha = 0.99, double eps = 1e-8,
                  double weightDecay = 0);
Optimizer Adagrad(double lr = 0.01, double eps = 1e-10, double weightDecay = 0);

/// What a training step library computes (compile(): a library as
/// `dlc --train` writes, run by the runtime's dlc_model_train_step). Every
/// layer's parameters are trained from their current values; BatchNorm2d
/// layers normalize with each batch's statistics and update their running
/// ones (PyTorch's momentum 0.1, unbiased variance) as the library's state,
/// which its inference uses, as PyTorch's train() and eval() do.
struct TrainOptions {
  TrainOptions &loss(Loss l) { return lossKind = l, *this; }
  TrainOptions &optimizer(Optimizer o) { return opt = std::move(o), *this; }
  /// Huber's delta (default 1).
  TrainOptions &delta(double d) { return huberDelta = d, *this; }
  /// Gradients clipped to a global L2 norm, or each to [-v, v] (0: off).
  TrainOptions &clip_grad_norm(double n) { return clipNorm = n, *this; }
  TrainOptions &clip_grad_value(double v) { return clipValue = v, *this; }
  Loss lossKind = Loss::Model;
  Optimizer opt = SGD(0.01);
  double huberDelta = 1, clipNorm = 0, clipValue = 0;
};

struct CompileOptions {
  std::string output; ///< the file to write ("-": stdout for text)
  Emit emit = Emit::So;
  std::string symbolPrefix = "dlc"; ///< of the exported symbols
  std::string cpu, features;        ///< the target (default: the host)
  /// Set: a training step instead of inference.
  std::optional<TrainOptions> train;
};

/// A model: inputs, layers and functional ops, outputs.
class Model {
public:
  /// `seed` makes the parameters' initial values reproducible.
  explicit Model(std::string name, uint64_t seed = 0);
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const std::string &name() const;
  Tensor input(const std::string &name, const TensorType &type);
  /// A fixed float32 tensor of `shape` (a positional encoding, a mask):
  /// not a parameter, never trained; an initializer `name` in save_onnx.
  /// Throws when `values` does not have the shape's element count.
  Tensor constant(const std::string &name, const std::vector<int64_t> &shape,
                  const std::vector<float> &values);
  void output(const std::string &name, Tensor value);

  Linear &linear(const std::string &name, int64_t in, int64_t out,
                 bool bias = true);
  Conv2d &conv2d(const std::string &name, int64_t in, int64_t out,
                 int64_t kernel, Conv2dOptions options = {});
  Conv1d &conv1d(const std::string &name, int64_t in, int64_t out,
                 int64_t kernel, Conv2dOptions options = {});
  InstanceNorm2d &instance_norm2d(const std::string &name, int64_t channels,
                                  double eps = 1e-5, bool affine = false);
  /// Throws unless 0 <= p < 1.
  Dropout &dropout(const std::string &name, double p = 0.5);
  GroupNorm &group_norm(const std::string &name, int64_t groups,
                        int64_t channels, double eps = 1e-5,
                        bool affine = true);
  ConvTranspose2d &conv_transpose2d(const std::string &name, int64_t in,
                                    int64_t out, int64_t kernel,
                                    ConvTranspose2dOptions options = {});
  /// torch.nn.LSTM(input, hidden), torch.nn.GRU(input, hidden) and
  /// torch.nn.RNN(input, hidden) (tanh), one layer, with `bidirectional`.
  Recurrent &lstm(const std::string &name, int64_t input, int64_t hidden,
                  bool bidirectional = false);
  Recurrent &gru(const std::string &name, int64_t input, int64_t hidden,
                 bool bidirectional = false);
  Recurrent &rnn(const std::string &name, int64_t input, int64_t hidden,
                 bool bidirectional = false);
  MultiheadAttention &multihead_attention(const std::string &name,
                                          int64_t embed, int64_t heads);
  BatchNorm2d &batch_norm2d(const std::string &name, int64_t channels,
                            double eps = 1e-5);
  LayerNorm &layer_norm(const std::string &name, int64_t features,
                        double eps = 1e-5);
  Embedding &embedding(const std::string &name, int64_t num, int64_t dim);

  /// Replaces parameter `name` ("fc1.weight") with row-major `values`.
  /// Throws on an unknown name or a wrong number of values.
  void set_parameter(const std::string &name, const std::vector<float> &values);
  /// Draws parameter `name` anew with `how` (init::xavier_uniform(), ...).
  /// Throws on an unknown name, and for a fan-based initializer on a
  /// parameter of fewer than 2 dims (a bias), as PyTorch does.
  void init_parameter(const std::string &name, const init::Initializer &how);
  /// Sets every parameter from the float32 initializer of the same name in
  /// the ONNX model at `path` (its external data read from the model's
  /// folder); `rename` maps a parameter name to another initializer name
  /// ({"fc.weight", "classifier.weight"}). Initializers no parameter names
  /// are ignored. Throws, changing nothing, when a parameter has no
  /// initializer or one of another shape or dtype (every such parameter
  /// listed), or when the file cannot be read.
  void load_onnx(const std::string &path,
                 const std::map<std::string, std::string> &rename = {});
  /// Sets parameter `name` from a file of its values as little-endian
  /// float32, row-major (numpy's tofile()). Throws on an unknown name, a
  /// file that cannot be read or one of another size.
  void load_raw(const std::string &name, const std::string &path);
  /// The parameter's current values, row-major.
  std::vector<float> parameter(const std::string &name) const;
  std::vector<std::string> parameter_names() const;
  /// Every parameter's scalars, and those of the trained ones only (not
  /// BatchNorm's running statistics).
  int64_t parameter_count() const;
  int64_t trainable_parameter_count() const;

  /// One line per layer or op: name, kind, output shape, parameters; then
  /// the totals (all, trainable, non-trainable), as Keras' model.summary()
  /// prints them.
  void summary(std::ostream &os) const;

  /// Compiles the model as `dlc model.onnx` would; throws Error on failure.
  /// The model stays as it is: compile again with other options.
  void compile(const CompileOptions &options) const;
  /// A shared library for the host, as `dlc model.onnx -o output` writes.
  void compile(const std::string &output) const {
    CompileOptions options;
    options.output = output;
    compile(options);
  }

  /// The text of one stage as `dlc --emit=<stage>` prints it (Graph, Kernel,
  /// Linalg or LLVM), for the host: m.dump(Emit::Kernel) shows each
  /// convolution's algorithm and the fused epilogues. Throws for Obj and So.
  std::string dump(Emit stage) const;

  /// Writes the model as an ONNX file (opset 17, its parameters' current
  /// values as initializers, the ops and layers as the ONNX nodes they are:
  /// Gemm, Conv, BatchNormalization, ...), for onnxruntime, Netron or
  /// `dlc` itself. Throws when the file cannot be written.
  void save_onnx(const std::string &path) const;

  struct Impl;

private:
  friend struct TensorAccess;
  /// Takes ownership of a new layer and returns it.
  template <typename L> L &keep(L *layer) {
    layers.emplace_back(layer);
    return *layer;
  }
  Recurrent &recurrent(const std::string &name, Cell cell, int64_t input,
                       int64_t hidden, bool bidirectional);
  std::unique_ptr<Impl> state;
  std::vector<std::unique_ptr<Layer>> layers;
};

} // namespace dlc::dsl

#endif // DLC_DSL_H
