//===- DslTest.cpp - models built with the C++ DSL, compiled and run ------===//
//
// Each model is compiled to a shared library, loaded by the runtime and run;
// its outputs are compared with the same network computed here with plain
// loops in double from the model's own parameters (read back by name).
// Build-time mistakes must throw dlc::dsl::Error naming the layer.
//
//===----------------------------------------------------------------------===//

#include "dlc/dsl.h"
#include "dlc/runtime.h"

#include "compiler/Compile.h"
#include "compiler/Registration.h"
#include "frontends/onnx/Importer.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace nn = dlc::dsl;

namespace {

/// Runs library `lib` on `input` ([shape]) and returns its first output.
std::vector<float> runLibrary(const std::string &lib, std::vector<float> input,
                              const std::vector<int64_t> &shape,
                              const std::vector<int64_t> &outShape) {
  dlc_model *model = nullptr;
  EXPECT_EQ(dlc_model_load(lib.c_str(), &model), DLC_OK) << dlc_last_error();
  if (!model)
    return {};
  int64_t count = 1;
  for (int64_t d : outShape)
    count *= d;
  std::vector<float> out(count);
  dlc_tensor in{input.data(), DLC_FLOAT32, static_cast<int32_t>(shape.size()),
                shape.data()};
  dlc_tensor res{out.data(), DLC_FLOAT32, static_cast<int32_t>(outShape.size()),
                 outShape.data()};
  EXPECT_EQ(dlc_model_run(model, &in, 1, &res, 1), DLC_OK) << dlc_last_error();
  dlc_model_free(model);
  return out;
}

/// Compiles `m`, runs it on `input` ([shape]) and returns its first output.
std::vector<float> compileAndRun(const nn::Model &m, std::vector<float> input,
                                 const std::vector<int64_t> &shape,
                                 const std::vector<int64_t> &outShape) {
  std::string lib = ::testing::TempDir() + "dsl_" + m.name() + ".so";
  m.compile(lib);
  return runLibrary(lib, std::move(input), shape, outShape);
}

/// The model as save_onnx writes it, compiled as `dlc model.onnx` does, run
/// on `input`.
std::vector<float> exportCompileAndRun(const nn::Model &m,
                                       std::vector<float> input,
                                       const std::vector<int64_t> &shape,
                                       const std::vector<int64_t> &outShape) {
  std::string onnxPath = ::testing::TempDir() + "dsl_" + m.name() + ".onnx";
  std::string lib = ::testing::TempDir() + "dsl_" + m.name() + "_onnx.so";
  m.save_onnx(onnxPath);
  mlir::DialectRegistry registry;
  dlc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  dlc::onnx_frontend::ModelSignature signature;
  std::string errors;
  auto module =
      dlc::onnx_frontend::importOnnxFile(context, onnxPath, signature, errors);
  EXPECT_TRUE(module) << errors;
  if (!module)
    return {};
  dlc::CompileOptions options;
  options.output = lib;
  std::string error;
  EXPECT_TRUE(mlir::succeeded(
      dlc::compileModule(*module, signature, onnxPath, options, error)))
      << error;
  return runLibrary(lib, std::move(input), shape, outShape);
}

void expectNear(const std::vector<float> &got,
                const std::vector<double> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i]))
        << "element " << i;
}

/// y = x W^T + b for x [n, in], W [out, in].
std::vector<double> linear(const std::vector<double> &x, int64_t n, int64_t in,
                           const std::vector<float> &w,
                           const std::vector<float> &b, int64_t out) {
  std::vector<double> y(n * out);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[o];
      for (int64_t k = 0; k < in; ++k)
        acc += x[i * in + k] * w[o * in + k];
      y[i * out + o] = acc;
    }
  return y;
}

/// softmax(fc2(relu(fc1(x)))) for x [2, 4], fc1 4 -> 3, fc2 3 -> 2, with
/// `m`'s parameters.
std::vector<double> mlpReference(const nn::Model &m,
                                 const std::vector<float> &input) {
  std::vector<double> xs(input.begin(), input.end());
  auto h =
      linear(xs, 2, 4, m.parameter("fc1.weight"), m.parameter("fc1.bias"), 3);
  for (double &v : h)
    v = std::max(v, 0.0);
  auto y =
      linear(h, 2, 3, m.parameter("fc2.weight"), m.parameter("fc2.bias"), 2);
  for (int64_t i = 0; i < 2; ++i) {
    double a = std::exp(y[2 * i]), b = std::exp(y[2 * i + 1]);
    y[2 * i] = a / (a + b);
    y[2 * i + 1] = b / (a + b);
  }
  return y;
}

TEST(DslTest, MlpMatchesLoops) {
  nn::Model m("mlp", /*seed=*/7);
  nn::Tensor x = m.input("x", nn::f32({2, 4}));
  nn::Tensor h = nn::relu(m.linear("fc1", 4, 3)(x));
  m.output("probs", nn::softmax(m.linear("fc2", 3, 2)(h)));
  std::vector<float> input = {0.5f,   -1.0f, 2.0f, 0.25f,
                              -0.75f, 1.5f,  0.0f, -2.0f};
  std::vector<float> got = compileAndRun(m, input, {2, 4}, {2, 2});

  expectNear(got, mlpReference(m, input));
}

TEST(DslTest, SequentialAppliesItsStepsInOrder) {
  nn::Model m("sequential", /*seed=*/7);
  nn::Tensor x = m.input("x", nn::f32({2, 4}));
  nn::Sequential net;
  net.add(m.linear("fc1", 4, 3))
      .add(nn::relu)
      .add(m.linear("fc2", 3, 2))
      .add([](nn::Tensor t) { return nn::softmax(t); });
  EXPECT_EQ(net.size(), 4u);
  m.output("probs", net(x));
  std::vector<float> input = {0.5f,   -1.0f, 2.0f, 0.25f,
                              -0.75f, 1.5f,  0.0f, -2.0f};
  expectNear(compileAndRun(m, input, {2, 4}, {2, 2}), mlpReference(m, input));
}

TEST(DslTest, ConvNetMatchesLoops) {
  nn::Model m("convnet", /*seed=*/3);
  nn::Tensor x = m.input("x", nn::f32({1, 1, 6, 6}));
  nn::Tensor c =
      nn::relu(m.conv2d("conv", 1, 2, 3, nn::Conv2dOptions().padding(1))(x));
  nn::Tensor p = nn::max_pool2d(c, 2);
  m.output("y", m.linear("fc", 2 * 3 * 3, 3)(nn::flatten(p)));
  EXPECT_EQ(p.shape(), (std::vector<int64_t>{1, 2, 3, 3}));
  std::vector<float> input(36);
  for (int i = 0; i < 36; ++i)
    input[i] = std::sin(0.7 * i);
  std::vector<float> got = compileAndRun(m, input, {1, 1, 6, 6}, {1, 3});

  auto w = m.parameter("conv.weight"), b = m.parameter("conv.bias");
  std::vector<double> conv(2 * 36);
  for (int f = 0; f < 2; ++f)
    for (int y = 0; y < 6; ++y)
      for (int xx = 0; xx < 6; ++xx) {
        double acc = b[f];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            int iy = y + ky - 1, ix = xx + kx - 1;
            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6)
              acc += input[iy * 6 + ix] * w[f * 9 + ky * 3 + kx];
          }
        conv[f * 36 + y * 6 + xx] = std::max(acc, 0.0);
      }
  std::vector<double> pooled(2 * 9);
  for (int f = 0; f < 2; ++f)
    for (int y = 0; y < 3; ++y)
      for (int xx = 0; xx < 3; ++xx) {
        double v = -INFINITY;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx)
            v = std::max(v, conv[f * 36 + (2 * y + dy) * 6 + 2 * xx + dx]);
        pooled[f * 9 + y * 3 + xx] = v;
      }
  expectNear(got, linear(pooled, 1, 18, m.parameter("fc.weight"),
                         m.parameter("fc.bias"), 3));
}

TEST(DslTest, NormsPoolingAndShapesMatchLoops) {
  nn::Model m("norms");
  nn::Tensor x = m.input("x", nn::f32({2, 3, 4, 4}));
  nn::Tensor b = m.batch_norm2d("bn", 3)(x);
  nn::Tensor p = nn::avg_pool2d(b, 2);
  nn::Tensor t = nn::reshape(nn::transpose(p, {0, 2, 3, 1}), {2, -1});
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 12}));
  nn::Tensor l = m.layer_norm("ln", 12)(t);
  m.output("y", nn::concat({l, t}, 1));
  std::vector<float> gamma = {1.5f, 0.5f, -1.0f}, beta = {0.1f, -0.2f, 0.3f},
                     mean = {0.2f, -0.1f, 0.0f}, var = {0.5f, 2.0f, 1.0f};
  m.set_parameter("bn.weight", gamma);
  m.set_parameter("bn.bias", beta);
  m.set_parameter("bn.running_mean", mean);
  m.set_parameter("bn.running_var", var);
  std::vector<float> lnWeight(12), lnBias(12);
  for (int i = 0; i < 12; ++i) {
    lnWeight[i] = 0.5f + 0.1f * i;
    lnBias[i] = 0.05f * i - 0.3f;
  }
  m.set_parameter("ln.weight", lnWeight);
  m.set_parameter("ln.bias", lnBias);
  std::vector<float> input(96);
  for (int i = 0; i < 96; ++i)
    input[i] = std::cos(0.37 * i) * 2;
  std::vector<float> got = compileAndRun(m, input, {2, 3, 4, 4}, {2, 24});

  // bn, then 2x2 average pool, then NHWC order: [2, 2, 2, 3] -> [2, 12].
  std::vector<double> flat(24);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 2; ++y)
        for (int xx = 0; xx < 2; ++xx) {
          double sum = 0;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              double v =
                  input[((n * 3 + c) * 4 + 2 * y + dy) * 4 + 2 * xx + dx];
              sum +=
                  (v - mean[c]) / std::sqrt(var[c] + 1e-5) * gamma[c] + beta[c];
            }
          flat[n * 12 + (y * 2 + xx) * 3 + c] = sum / 4;
        }
  std::vector<double> want(48);
  for (int n = 0; n < 2; ++n) {
    double mu = 0, sq = 0;
    for (int i = 0; i < 12; ++i)
      mu += flat[n * 12 + i] / 12;
    for (int i = 0; i < 12; ++i)
      sq += (flat[n * 12 + i] - mu) * (flat[n * 12 + i] - mu) / 12;
    for (int i = 0; i < 12; ++i) {
      want[n * 24 + i] =
          (flat[n * 12 + i] - mu) / std::sqrt(sq + 1e-5) * lnWeight[i] +
          lnBias[i];
      want[n * 24 + 12 + i] = flat[n * 12 + i];
    }
  }
  expectNear(got, want);
  // The same model through its ONNX export (BatchNormalization, AveragePool,
  // Transpose, Reshape with its shape as an initializer, LayerNormalization,
  // Concat) and the ONNX frontend.
  expectNear(exportCompileAndRun(m, input, {2, 3, 4, 4}, {2, 24}), want);
}

TEST(DslTest, ElementwiseAndReductionsMatchLoops) {
  nn::Model m("elementwise");
  nn::Tensor x = m.input("x", nn::f32({2, 3, 2, 2}));
  nn::Tensor z = nn::leaky_relu(x, 0.1);
  nn::Tensor w = nn::sqrt(nn::exp(x)); // exp(x / 2)
  nn::Tensor v = nn::log(w * w);       // x
  nn::Tensor u = z * v - w / w;        // leaky_relu(x) * x - 1
  nn::Tensor g = nn::flatten(nn::global_avg_pool2d(u));
  m.output("y", nn::log_softmax(g, 1));
  std::vector<float> input(24);
  for (int i = 0; i < 24; ++i)
    input[i] = std::sin(0.7 * i) * 1.5f;
  std::vector<double> mean(6, 0.0), want(6);
  for (int i = 0; i < 24; ++i) {
    double xv = input[i], leaky = xv >= 0 ? xv : 0.1 * xv;
    mean[i / 4] += (leaky * xv - 1) / 4;
  }
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int c = 0; c < 3; ++c)
      sum += std::exp(mean[n * 3 + c]);
    for (int c = 0; c < 3; ++c)
      want[n * 3 + c] = mean[n * 3 + c] - std::log(sum);
  }
  expectNear(compileAndRun(m, input, {2, 3, 2, 2}, {2, 3}), want);
  expectNear(exportCompileAndRun(m, input, {2, 3, 2, 2}, {2, 3}), want);
}

template <typename F> std::string errorOf(F f);

TEST(DslTest, EmbeddingLooksUpRowsAndChecksIds) {
  nn::Model m("embed", /*seed=*/5);
  nn::Tensor ids = m.input("ids", nn::i64({2, 3}));
  m.output("vectors", m.embedding("tok", 5, 4)(ids));
  std::string lib = ::testing::TempDir() + "dsl_embed.so";
  m.compile(lib);
  dlc_model *model = nullptr;
  ASSERT_EQ(dlc_model_load(lib.c_str(), &model), DLC_OK) << dlc_last_error();
  std::vector<float> table = m.parameter("tok.weight");
  const int64_t idShape[] = {2, 3}, outShape[] = {2, 3, 4};
  std::vector<float> out(24);
  dlc_tensor res{out.data(), DLC_FLOAT32, 3, outShape};

  std::vector<int64_t> good = {0, 4, -1, 2, 2, -5};
  dlc_tensor in{good.data(), DLC_INT64, 2, idShape};
  ASSERT_EQ(dlc_model_run(model, &in, 1, &res, 1), DLC_OK) << dlc_last_error();
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(out[i * 4 + j], table[((good[i] + 5) % 5) * 4 + j]);

  std::vector<int64_t> bad = {0, 1, 5, 0, 0, 0};
  in.data = bad.data();
  EXPECT_EQ(dlc_model_run(model, &in, 1, &res, 1), DLC_ERROR_RUNTIME_CHECK);
  EXPECT_NE(std::string(dlc_last_error())
                .find("tok (Embedding): an id is outside [-5, 4]"),
            std::string::npos)
      << dlc_last_error();
  dlc_model_free(model);

  nn::Tensor floats = m.input("floats", nn::f32({2}));
  EXPECT_EQ(
      errorOf([&] { m.embedding("tok2", 5, 4)(floats); }),
      "tok2 (Embedding): the ids must be int64 (an input of type nn::i64)");
}

/// The message of the Error `f` throws ("" if it throws none).
template <typename F> std::string errorOf(F f) {
  try {
    f();
  } catch (const nn::Error &e) {
    return e.what();
  }
  return "";
}

TEST(DslTest, TransposedConvSplitAndScalarsMatchLoops) {
  nn::Model m("deconv", /*seed=*/5);
  nn::Tensor x = m.input("x", nn::f32({1, 2, 3, 3}));
  auto options =
      nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1);
  nn::Tensor up = m.conv_transpose2d("up", 2, 3, 3, options)(x);
  EXPECT_EQ(up.shape(), (std::vector<int64_t>{1, 3, 6, 6}));
  std::vector<nn::Tensor> parts = nn::split(up, {1, 2}, 1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].shape(), (std::vector<int64_t>{1, 2, 6, 6}));
  // 2 * a - 1 on the first channel, b / 4 + 0.5 on the others.
  m.output("y", nn::concat({2.0 * parts[0] - 1.0, parts[1] / 4.0 + 0.5}, 1));
  std::vector<float> input(18);
  for (int i = 0; i < 18; ++i)
    input[i] = std::cos(0.9 * i);

  // y[f, oy, ox] = b[f] + sum over c, iy, ix, ky, kx with
  // oy = 2 iy - 1 + ky, ox = 2 ix - 1 + kx of x[c, iy, ix] w[c, f, ky, kx].
  auto w = m.parameter("up.weight"), b = m.parameter("up.bias");
  std::vector<double> want(3 * 36);
  for (int f = 0; f < 3; ++f)
    for (int i = 0; i < 36; ++i)
      want[f * 36 + i] = b[f];
  for (int c = 0; c < 2; ++c)
    for (int f = 0; f < 3; ++f)
      for (int iy = 0; iy < 3; ++iy)
        for (int ix = 0; ix < 3; ++ix)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              int oy = 2 * iy - 1 + ky, ox = 2 * ix - 1 + kx;
              if (oy >= 0 && oy < 6 && ox >= 0 && ox < 6)
                want[f * 36 + oy * 6 + ox] +=
                    input[c * 9 + iy * 3 + ix] *
                    w[((c * 3 + f) * 3 + ky) * 3 + kx];
            }
  for (int i = 0; i < 3 * 36; ++i)
    want[i] = i < 36 ? 2 * want[i] - 1 : want[i] / 4 + 0.5;
  expectNear(compileAndRun(m, input, {1, 2, 3, 3}, {1, 3, 6, 6}), want);
  expectNear(exportCompileAndRun(m, input, {1, 2, 3, 3}, {1, 3, 6, 6}), want);
}

TEST(DslTest, FunctionsMatchTheirDefinitions) {
  // x [2, 3, 4] = 2 sin(0.37 i); each case: a function of x, its output
  // shape, and its definition evaluated here at output index (a, b, c).
  std::vector<float> input(24);
  for (int i = 0; i < 24; ++i)
    input[i] = static_cast<float>(2 * std::sin(0.37 * i));
  auto at = [&](int64_t a, int64_t b, int64_t c) {
    return static_cast<double>(input[(a * 3 + b) * 4 + c]);
  };
  struct Case {
    const char *name;
    std::function<nn::Tensor(nn::Tensor)> build;
    std::vector<int64_t> shape;
    std::function<double(int64_t, int64_t, int64_t)> want;
  };
  auto elementwise = [&](double (*f)(double)) {
    return [&at, f](int64_t a, int64_t b, int64_t c) { return f(at(a, b, c)); };
  };
  const std::vector<Case> cases = {
      {"gelu", nn::gelu, {2, 3, 4}, elementwise([](double v) {
         return v * 0.5 * (1 + std::erf(v / M_SQRT2));
       })},
      {"silu", nn::silu, {2, 3, 4}, elementwise([](double v) {
         return v / (1 + std::exp(-v));
       })},
      {"mish", nn::mish, {2, 3, 4}, elementwise([](double v) {
         return v * std::tanh(std::log1p(std::exp(v)));
       })},
      {"elu",
       [](nn::Tensor x) { return nn::elu(x, 0.5); },
       {2, 3, 4},
       elementwise([](double v) { return v > 0 ? v : 0.5 * std::expm1(v); })},
      {"hardswish", nn::hardswish, {2, 3, 4}, elementwise([](double v) {
         return v * std::min(std::max(v / 6 + 0.5, 0.0), 1.0);
       })},
      {"clamp",
       [](nn::Tensor x) { return nn::clamp(x, -0.5, 1.25); },
       {2, 3, 4},
       elementwise([](double v) { return std::min(std::max(v, -0.5), 1.25); })},
      {"mean",
       [](nn::Tensor x) { return nn::mean(x, {1}, true); },
       {2, 1, 4},
       [&](int64_t a, int64_t, int64_t c) {
         return (at(a, 0, c) + at(a, 1, c) + at(a, 2, c)) / 3;
       }},
      {"sum",
       [](nn::Tensor x) { return nn::sum(x, {-1}, true); },
       {2, 3, 1},
       [&](int64_t a, int64_t b, int64_t) {
         return at(a, b, 0) + at(a, b, 1) + at(a, b, 2) + at(a, b, 3);
       }},
      {"amax",
       [](nn::Tensor x) { return nn::amax(x, {0}, true); },
       {1, 3, 4},
       [&](int64_t, int64_t b, int64_t c) {
         return std::max(at(0, b, c), at(1, b, c));
       }},
      {"slice",
       [](nn::Tensor x) { return nn::slice(x, 2, -3, 100, 2); },
       {2, 3, 2},
       [&](int64_t a, int64_t b, int64_t c) { return at(a, b, 1 + 2 * c); }},
      {"pad reflect",
       [](nn::Tensor x) {
         return nn::pad(x, {2, 1}, nn::PadMode::Reflect);
       },
       {2, 3, 7},
       [&](int64_t a, int64_t b, int64_t c) {
         int64_t i = std::abs(c - 2);
         return at(a, b, i > 3 ? 6 - i : i);
       }},
      {"pad constant",
       [](nn::Tensor x) {
         return nn::pad(x, {0, 1, 1, 0}, nn::PadMode::Constant, 7);
       },
       {2, 4, 5},
       [&](int64_t a, int64_t b, int64_t c) {
         return b == 0 || c == 4 ? 7.0 : at(a, b - 1, c);
       }},
      {"index_select",
       [](nn::Tensor x) {
         nn::Tensor idx = x.model().input("idx", nn::i64({2}));
         return nn::index_select(x, 1, idx);
       },
       {2, 2, 4},
       [&](int64_t a, int64_t b, int64_t c) {
         return at(a, b == 0 ? 2 : 0, c);
       }},
      {"constant",
       [](nn::Tensor x) {
         std::vector<float> ramp(4);
         for (int i = 0; i < 4; ++i)
           ramp[i] = 0.25f * i;
         return x + x.model().constant("ramp", {4}, ramp);
       },
       {2, 3, 4},
       [&](int64_t a, int64_t b, int64_t c) { return at(a, b, c) + 0.25 * c; }},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    nn::Model m(std::string("fn_") + std::to_string(&c - cases.data()));
    m.output("y", c.build(m.input("x", nn::f32({2, 3, 4}))));
    std::vector<double> want;
    for (int64_t a = 0; a < c.shape[0]; ++a)
      for (int64_t b = 0; b < c.shape[1]; ++b)
        for (int64_t k = 0; k < c.shape[2]; ++k)
          want.push_back(c.want(a, b, k));
    if (std::string(c.name) == "index_select") {
      // Two inputs: run through the runtime by hand; indices (-1, 0).
      std::string lib = ::testing::TempDir() + "dsl_index_select.so";
      m.compile(lib);
      dlc_model *model = nullptr;
      ASSERT_EQ(dlc_model_load(lib.c_str(), &model), DLC_OK)
          << dlc_last_error();
      std::vector<int64_t> ids = {-1, 0}, xShape = {2, 3, 4}, idShape = {2};
      std::vector<float> out(16);
      dlc_tensor ins[2] = {{input.data(), DLC_FLOAT32, 3, xShape.data()},
                           {ids.data(), DLC_INT64, 1, idShape.data()}};
      dlc_tensor res{out.data(), DLC_FLOAT32, 3, c.shape.data()};
      EXPECT_EQ(dlc_model_run(model, ins, 2, &res, 1), DLC_OK)
          << dlc_last_error();
      expectNear(out, want);
      ids = {3, 0}; // outside [-3, 3): refused with the op's name
      EXPECT_EQ(dlc_model_run(model, ins, 2, &res, 1), DLC_ERROR_RUNTIME_CHECK);
      EXPECT_NE(std::string(dlc_last_error()).find("index_select_1"),
                std::string::npos)
          << dlc_last_error();
      dlc_model_free(model);
      continue;
    }
    expectNear(compileAndRun(m, input, {2, 3, 4}, c.shape), want);
    expectNear(exportCompileAndRun(m, input, {2, 3, 4}, c.shape), want);
  }
}

TEST(DslTest, Conv1dRnnAndInstanceNormMatchLoops) {
  // conv1d (2 -> 3, k 3, padding 1) over x [1, 2, 6], read as a sequence
  // [6, 1, 3] by a tanh RNN (3 -> 4): y [6, 1, 4].
  nn::Model m("sequence", /*seed=*/11);
  nn::Tensor x = m.input("x", nn::f32({1, 2, 6}));
  nn::Tensor c = m.conv1d("conv", 2, 3, 3, nn::Conv2dOptions().padding(1))(x);
  nn::RecurrentOutput r = m.rnn("rnn", 3, 4)(nn::transpose(c, {2, 0, 1}));
  EXPECT_FALSE(r.c.defined());
  m.output("y", r.y);
  std::vector<float> input(12);
  for (int i = 0; i < 12; ++i)
    input[i] = static_cast<float>(std::sin(1.3 * i));
  auto w = m.parameter("conv.weight"), b = m.parameter("conv.bias");
  std::vector<double> conv(18); // [3, 6]
  for (int f = 0; f < 3; ++f)
    for (int t = 0; t < 6; ++t) {
      double acc = b[f];
      for (int ch = 0; ch < 2; ++ch)
        for (int k = 0; k < 3; ++k)
          if (t + k - 1 >= 0 && t + k - 1 < 6)
            acc += input[ch * 6 + t + k - 1] * w[(f * 2 + ch) * 3 + k];
      conv[f * 6 + t] = acc;
    }
  auto wih = m.parameter("rnn.weight_ih_l0"),
       whh = m.parameter("rnn.weight_hh_l0"),
       bih = m.parameter("rnn.bias_ih_l0"), bhh = m.parameter("rnn.bias_hh_l0");
  std::vector<double> h(4, 0.0), want;
  for (int t = 0; t < 6; ++t) {
    std::vector<double> next(4);
    for (int j = 0; j < 4; ++j) {
      double acc = bih[j] + bhh[j];
      for (int i = 0; i < 3; ++i)
        acc += wih[j * 3 + i] * conv[i * 6 + t];
      for (int i = 0; i < 4; ++i)
        acc += whh[j * 4 + i] * h[i];
      next[j] = std::tanh(acc);
    }
    h = next;
    want.insert(want.end(), h.begin(), h.end());
  }
  expectNear(compileAndRun(m, input, {1, 2, 6}, {6, 1, 4}), want);
  expectNear(exportCompileAndRun(m, input, {1, 2, 6}, {6, 1, 4}), want);

  nn::Model n("instance");
  n.output("y",
           n.instance_norm2d("norm", 3)(n.input("x", nn::f32({2, 3, 2, 2}))));
  std::vector<float> images(24);
  for (int i = 0; i < 24; ++i)
    images[i] = static_cast<float>(std::cos(0.8 * i) * (1 + i % 5));
  std::vector<double> normalized;
  for (int plane = 0; plane < 6; ++plane) {
    double mu = 0, var = 0;
    for (int i = 0; i < 4; ++i)
      mu += images[plane * 4 + i] / 4.0;
    for (int i = 0; i < 4; ++i)
      var += (images[plane * 4 + i] - mu) * (images[plane * 4 + i] - mu) / 4.0;
    for (int i = 0; i < 4; ++i)
      normalized.push_back((images[plane * 4 + i] - mu) /
                           std::sqrt(var + 1e-5));
  }
  expectNear(compileAndRun(n, images, {2, 3, 2, 2}, {2, 3, 2, 2}), normalized);
  expectNear(exportCompileAndRun(n, images, {2, 3, 2, 2}, {2, 3, 2, 2}),
             normalized);
}

TEST(DslTest, PaddingModesAndGroupNormMatchLoops) {
  // A 3x3 convolution of a 4x4 image with reflect and replicate padding:
  // the padded image indexes the input at the mirrored or clamped
  // position.
  std::vector<float> image(16);
  for (int i = 0; i < 16; ++i)
    image[i] = static_cast<float>(std::sin(0.9 * i) + 0.1 * i);
  for (nn::PadMode mode : {nn::PadMode::Reflect, nn::PadMode::Replicate}) {
    bool reflect = mode == nn::PadMode::Reflect;
    nn::Model m(reflect ? "conv_reflect" : "conv_replicate", /*seed=*/7);
    m.output("y", m.conv2d("conv", 1, 1, 3,
                           nn::Conv2dOptions().padding(1).padding_mode(mode))(
                      m.input("x", nn::f32({1, 1, 4, 4}))));
    auto w = m.parameter("conv.weight"), b = m.parameter("conv.bias");
    auto index = [&](int i) {
      if (i < 0)
        return reflect ? -i : 0;
      if (i > 3)
        return reflect ? 6 - i : 3;
      return i;
    };
    std::vector<double> want;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        double acc = b[0];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx)
            acc += image[index(y + ky - 1) * 4 + index(x + kx - 1)] *
                   w[ky * 3 + kx];
        want.push_back(acc);
      }
    expectNear(compileAndRun(m, image, {1, 1, 4, 4}, {1, 1, 4, 4}), want);
    expectNear(exportCompileAndRun(m, image, {1, 1, 4, 4}, {1, 1, 4, 4}), want);
  }

  // GroupNorm: 2 groups of 2 channels over [2, 4, 2, 2], then the
  // per-channel weight and bias.
  nn::Model g("grouped");
  g.output("y",
           g.group_norm("norm", 2, 4)(g.input("x", nn::f32({2, 4, 2, 2}))));
  g.set_parameter("norm.weight", {0.5f, -1.0f, 2.0f, 1.5f});
  g.set_parameter("norm.bias", {0.0f, 0.25f, -1.0f, 3.0f});
  std::vector<float> input(32);
  for (int i = 0; i < 32; ++i)
    input[i] = static_cast<float>(std::cos(0.7 * i) * (1 + i % 3));
  std::vector<double> want(32);
  for (int n = 0; n < 2; ++n)
    for (int group = 0; group < 2; ++group) {
      int first = n * 16 + group * 8; // 2 channels x 4 positions
      double mu = 0, var = 0;
      for (int i = 0; i < 8; ++i)
        mu += input[first + i] / 8.0;
      for (int i = 0; i < 8; ++i)
        var += (input[first + i] - mu) * (input[first + i] - mu) / 8.0;
      for (int i = 0; i < 8; ++i) {
        int c = group * 2 + i / 4;
        double weight[] = {0.5, -1.0, 2.0, 1.5}, bias[] = {0, 0.25, -1, 3};
        want[first + i] =
            (input[first + i] - mu) / std::sqrt(var + 1e-5) * weight[c] +
            bias[c];
      }
    }
  expectNear(compileAndRun(g, input, {2, 4, 2, 2}, {2, 4, 2, 2}), want);
  expectNear(exportCompileAndRun(g, input, {2, 4, 2, 2}, {2, 4, 2, 2}), want);
}

TEST(DslTest, LayersAppliedTwiceShareTheirParameters) {
  // y = fc(relu(fc(x))) with one 3 -> 3 layer: two applications, one
  // weight; the ONNX file names each application's nodes apart.
  nn::Model m("shared", /*seed=*/4);
  nn::Linear &fc = m.linear("fc", 3, 3);
  nn::Tensor x = m.input("x", nn::f32({2, 3}));
  m.output("y", fc(nn::relu(fc(x))));
  // A GRU applied twice: its weight nodes, its node and its outputs twice.
  nn::Model r("shared_gru");
  nn::Recurrent &gru = r.gru("rnn", 3, 2);
  nn::Tensor seq = r.input("seq", nn::f32({4, 1, 3}));
  r.output("h", gru(seq).h);
  r.output("h2", gru(seq).h);
  EXPECT_EQ(r.parameter_count(), 3 * 2 * 3 + 3 * 2 * 2 + 2 * 3 * 2);
  for (const nn::Model *model : {&m, &r}) {
    std::string path = ::testing::TempDir() + model->name() + ".onnx";
    model->save_onnx(path);
    onnx::ModelProto file;
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(file.ParseFromIstream(&in));
    std::set<std::string> outputs;
    for (const auto &node : file.graph().node())
      for (const auto &out : node.output())
        EXPECT_TRUE(outputs.insert(out).second) << "'" << out << "' twice";
    EXPECT_TRUE(outputs.count(model == &m ? "fc#2" : "rnn#2"));
  }

  std::vector<float> input = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
  auto w = m.parameter("fc.weight"), b = m.parameter("fc.bias");
  std::vector<double> h = linear({input.begin(), input.end()}, 2, 3, w, b, 3);
  for (double &v : h)
    v = std::max(v, 0.0);
  expectNear(compileAndRun(m, input, {2, 3}, {2, 3}), linear(h, 2, 3, w, b, 3));

  // A batch norm applied twice cannot train (its statistics would be
  // updated twice in one step).
  nn::Model n("bn_twice");
  nn::BatchNorm2d &bn = n.batch_norm2d("bn", 2);
  n.output("y", bn(bn(n.input("x", nn::f32({2, 2, 3, 3})))));
  nn::CompileOptions options;
  options.output = ::testing::TempDir() + "dsl_bn_twice.so";
  options.train = nn::TrainOptions().loss(nn::Loss::MSE);
  EXPECT_EQ(errorOf([&] { n.compile(options); }),
            "bn (BatchNorm2d): a training step cannot apply a batch norm "
            "twice (PyTorch would update its running statistics twice); use a "
            "layer per application");
}

namespace {

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

/// Row `row` of W [rows, cols] times v.
double dot(const std::vector<float> &w, int64_t row, int64_t cols,
           const double *v) {
  double acc = 0;
  for (int64_t k = 0; k < cols; ++k)
    acc += w[row * cols + k] * v[k];
  return acc;
}

} // namespace

TEST(DslTest, RecurrentLayersMatchPyTorchsEquations) {
  // torch.nn.LSTM's and GRU's equations with their own gate order, over
  // x [T, N, 3]: the DSL reorders the gates into ONNX's.
  const int64_t t = 5, n = 2, in = 3, h = 4;
  std::vector<float> input(t * n * in);
  for (size_t i = 0; i < input.size(); ++i)
    input[i] = static_cast<float>(std::sin(0.45 * i) * 1.5);
  {
    nn::Model m("lstm_loops", /*seed=*/21);
    m.output("y", m.lstm("rnn", in, h)(m.input("x", nn::f32({t, n, in}))).y);
    auto wi = m.parameter("rnn.weight_ih_l0"),
         wh = m.parameter("rnn.weight_hh_l0"),
         bi = m.parameter("rnn.bias_ih_l0"), bh = m.parameter("rnn.bias_hh_l0");
    std::vector<double> want(t * n * h);
    for (int64_t b = 0; b < n; ++b) {
      std::vector<double> hs(h, 0), cs(h, 0), x(in);
      for (int64_t step = 0; step < t; ++step) {
        for (int64_t k = 0; k < in; ++k)
          x[k] = input[(step * n + b) * in + k];
        std::vector<double> gates(4 * h), next(h);
        for (int64_t g = 0; g < 4 * h; ++g)
          gates[g] = dot(wi, g, in, x.data()) + bi[g] +
                     dot(wh, g, h, hs.data()) + bh[g];
        for (int64_t j = 0; j < h; ++j) { // i, f, g, o
          double ig = sigmoid(gates[j]), fg = sigmoid(gates[h + j]),
                 gg = std::tanh(gates[2 * h + j]),
                 og = sigmoid(gates[3 * h + j]);
          cs[j] = fg * cs[j] + ig * gg;
          next[j] = og * std::tanh(cs[j]);
        }
        hs = next;
        for (int64_t j = 0; j < h; ++j)
          want[(step * n + b) * h + j] = hs[j];
      }
    }
    expectNear(compileAndRun(m, input, {t, n, in}, {t, n, h}), want);
  }
  {
    // Bidirectional GRU: y [T, N, 2H], forward then reverse halves.
    nn::Model m("bigru_loops", /*seed=*/22);
    m.output("y", m.gru("rnn", in, h, /*bidirectional=*/true)(
                       m.input("x", nn::f32({t, n, in})))
                      .y);
    std::vector<double> want(t * n * 2 * h);
    for (int dir = 0; dir < 2; ++dir) {
      std::string sfx = dir ? "_l0_reverse" : "_l0";
      auto wi = m.parameter("rnn.weight_ih" + sfx),
           wh = m.parameter("rnn.weight_hh" + sfx),
           bi = m.parameter("rnn.bias_ih" + sfx),
           bh = m.parameter("rnn.bias_hh" + sfx);
      for (int64_t b = 0; b < n; ++b) {
        std::vector<double> hs(h, 0), x(in);
        for (int64_t i = 0; i < t; ++i) {
          int64_t step = dir ? t - 1 - i : i;
          for (int64_t k = 0; k < in; ++k)
            x[k] = input[(step * n + b) * in + k];
          std::vector<double> next(h);
          for (int64_t j = 0; j < h; ++j) { // r, z, n
            double r = sigmoid(dot(wi, j, in, x.data()) + bi[j] +
                               dot(wh, j, h, hs.data()) + bh[j]);
            double z = sigmoid(dot(wi, h + j, in, x.data()) + bi[h + j] +
                               dot(wh, h + j, h, hs.data()) + bh[h + j]);
            double c = std::tanh(
                dot(wi, 2 * h + j, in, x.data()) + bi[2 * h + j] +
                r * (dot(wh, 2 * h + j, h, hs.data()) + bh[2 * h + j]));
            next[j] = (1 - z) * c + z * hs[j];
          }
          hs = next;
          for (int64_t j = 0; j < h; ++j)
            want[(step * n + b) * 2 * h + dir * h + j] = hs[j];
        }
      }
    }
    expectNear(compileAndRun(m, input, {t, n, in}, {t, n, 2 * h}), want);
  }
}

TEST(DslTest, InterpolationMatchesTorch) {
  // F.interpolate(x, scale_factor=2) of x [1, 1, 2, 3] = 0..5: nearest
  // repeats each pixel; bilinear (align_corners=False) by pixel centres.
  std::vector<float> input = {0, 1, 2, 3, 4, 5};
  for (auto mode : {nn::Interpolation::Nearest, nn::Interpolation::Bilinear}) {
    bool nearest = mode == nn::Interpolation::Nearest;
    nn::Model m(nearest ? "nearest" : "bilinear");
    m.output("y",
             nn::interpolate(m.input("x", nn::f32({1, 1, 2, 3})), 2, mode));
    std::vector<double> want;
    for (int oy = 0; oy < 4; ++oy)
      for (int ox = 0; ox < 6; ++ox) {
        if (nearest) {
          want.push_back(input[(oy / 2) * 3 + ox / 2]);
          continue;
        }
        double sy = std::max((oy + 0.5) / 2 - 0.5, 0.0),
               sx = std::max((ox + 0.5) / 2 - 0.5, 0.0);
        int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);
        int y1 = std::min(y0 + 1, 1), x1 = std::min(x0 + 1, 2);
        double fy = sy - y0, fx = sx - x0;
        auto p = [&](int y, int x) { return input[y * 3 + x]; };
        want.push_back((1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) +
                       fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1)));
      }
    expectNear(compileAndRun(m, input, {1, 1, 2, 3}, {1, 1, 4, 6}), want);
    expectNear(exportCompileAndRun(m, input, {1, 1, 2, 3}, {1, 1, 4, 6}), want);
  }
}

TEST(DslTest, MistakesNameTheLayer) {
  nn::Model m("bad");
  nn::Tensor x = m.input("x", nn::f32({8, 64}));
  nn::Linear &fc2 = m.linear("fc2", 128, 10);
  EXPECT_EQ(errorOf([&] { fc2(x); }),
            "fc2 (Linear): input has 64 features, the layer expects 128");
  nn::Tensor img = m.input("img", nn::f32({1, 6, 8, 8}));
  nn::Conv2d &conv2 = m.conv2d("conv2", 8, 16, 3);
  EXPECT_EQ(errorOf([&] { conv2(img); }),
            "conv2 (Conv2d): input has 6 channels, the layer expects 8");
  nn::Tensor other = m.input("other", nn::f32({8, 3}));
  EXPECT_NE(errorOf([&] { x + other; }).find("add_1 (Add): "),
            std::string::npos);
  EXPECT_EQ(errorOf([&] { m.linear("fc2", 4, 4); }),
            "Linear 'fc2': the model already has something of that name");
  EXPECT_EQ(errorOf([&] { m.set_parameter("fc3.weight", {1.0f}); }),
            "the model has no parameter 'fc3.weight'");
  EXPECT_EQ(errorOf([&] { m.set_parameter("fc2.bias", {1.0f}); }),
            "parameter 'fc2.bias' [10] has 10 values, got 1");
  EXPECT_EQ(errorOf([&] { m.compile("never.so"); }),
            "model 'bad' has no output");
  nn::Model n("elsewhere");
  EXPECT_EQ(errorOf([&] { n.output("y", x); }),
            "output 'y': the tensor belongs to another model");

  nn::Tensor seq = m.input("seq", nn::f32({5, 2, 16}));
  nn::Recurrent &rnn = m.lstm("rnn", 8, 4);
  EXPECT_EQ(errorOf([&] { rnn(seq); }),
            "rnn (LSTM): input has 16 features, the layer expects 8");
  EXPECT_EQ(errorOf([&] { m.gru("gru", 16, 4)(x); }),
            "gru (GRU): input [8, 64] is not [sequence, batch, features]");
  EXPECT_EQ(errorOf([&] { m.multihead_attention("attn", 16, 3); }),
            "attn (MultiheadAttention): embed 16 must be a positive multiple "
            "of the 3 heads");
  EXPECT_EQ(errorOf([&] {
              nn::split(seq, {8, 4}, -1);
            }),
            "split_1 (Split): sizes [8, 4] are not positive or do not add up "
            "to 16");
  EXPECT_EQ(errorOf([&] {
              m.conv_transpose2d(
                  "up", 4, 4, 2,
                  nn::ConvTranspose2dOptions().output_padding(1));
            }).substr(0, 46),
            "up (ConvTranspose2d): 4 -> 4 channels, kernel ");
  // What the ONNX importer refuses comes back as the layer's error, and
  // the model is left as it was: it still compiles.
  nn::Tensor tiny = m.input("tiny", nn::f32({1, 2, 2, 2}));
  nn::ConvTranspose2d &crop = m.conv_transpose2d(
      "crop", 2, 2, 3, nn::ConvTranspose2dOptions().padding(3));
  EXPECT_EQ(errorOf([&] { crop(tiny); }),
            "crop (ConvTranspose2d): the output would be empty");
  m.output("y", nn::relu(tiny));
  EXPECT_EQ(errorOf([&] { m.compile(::testing::TempDir() + "dsl_bad.so"); }),
            "");
  // A function that fails after making its constants, and a layer of
  // several ONNX nodes that fails in the middle, take everything back: the
  // summary and the ONNX file are as before.
  // {summary lines, ONNX nodes, ONNX initializers}
  auto snapshot = [&] {
    std::ostringstream text;
    m.summary(text);
    std::string path = ::testing::TempDir() + "dsl_bad.onnx";
    m.save_onnx(path);
    onnx::ModelProto model;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(model.ParseFromIstream(&in));
    std::string lines = text.str();
    return std::vector<int64_t>{
        static_cast<int64_t>(std::count(lines.begin(), lines.end(), '\n')),
        model.graph().node_size(), model.graph().initializer_size()};
  };
  std::vector<int64_t> before = snapshot();
  EXPECT_EQ(errorOf([&] { nn::slice(tiny, 9, 0, 1); }).substr(0, 17),
            "slice_1 (Slice): ");
  nn::Recurrent &wide = m.lstm("wide", 2, 3);
  nn::Tensor ids = m.input("ids", nn::i64({4, 1, 2}));
  // int64 data: the LSTM node fails after its weights' Gather, Unsqueeze
  // and Concat nodes were built.
  EXPECT_NE(errorOf([&] { wide(ids); }).find("wide (LSTM): "),
            std::string::npos);
  // What is new: the input's summary row and the layer's 4 parameters.
  EXPECT_EQ(snapshot(),
            (std::vector<int64_t>{before[0] + 1, before[1], before[2] + 4}));
}

TEST(DslTest, SeededParametersAndSummary) {
  auto build = [](uint64_t seed) {
    auto m = std::make_unique<nn::Model>("lenet_head", seed);
    nn::Tensor x = m->input("x", nn::f32({1, 120}));
    m->output("y", m->linear("fc", 120, 84)(x));
    return m;
  };
  auto a = build(1), b = build(1), c = build(2);
  EXPECT_EQ(a->parameter("fc.weight"), b->parameter("fc.weight"));
  EXPECT_NE(a->parameter("fc.weight"), c->parameter("fc.weight"));
  for (float v : a->parameter("fc.weight"))
    EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(120.0));
  EXPECT_EQ(a->parameter_count(), 120 * 84 + 84);
  std::ostringstream os;
  a->summary(os);
  EXPECT_NE(os.str().find("fc                      Linear      [1, 84]"),
            std::string::npos)
      << os.str();
  EXPECT_NE(os.str().find("Total parameters: 10164"), std::string::npos);
  EXPECT_NE(os.str().find("Trainable parameters: 10164"), std::string::npos);
}

TEST(DslTest, TrainingOptionsAreChecked) {
  nn::Model m("bn");
  nn::Tensor x = m.input("x", nn::f32({2, 3, 4, 4}));
  m.output("y", m.batch_norm2d("bn", 3)(x));
  nn::CompileOptions options;
  options.output = ::testing::TempDir() + "dsl_bn_step.so";
  options.train = nn::TrainOptions().loss(nn::Loss::MSE);
  // Batch norms train (batch statistics; running ones updated as state):
  // test/e2e/dsl_examples.py checks a conv net's steps against PyTorch's.
  EXPECT_EQ(errorOf([&] { m.compile(options); }), "");
  nn::Model n("fc");
  nn::Tensor y = n.input("x", nn::f32({2, 3}));
  n.output("y", n.linear("fc", 3, 1)(y));
  options.train = nn::TrainOptions().optimizer(nn::SGD(-1));
  EXPECT_EQ(errorOf([&] { n.compile(options); }),
            "optimizer sgd: lr must be >= 0");
  options.train = nn::TrainOptions().optimizer(nn::Adam(1e-3, 1.5));
  EXPECT_EQ(errorOf([&] { n.compile(options); }),
            "optimizer adam: betas must be in [0, 1)");
  // The settings reach the library: RMSprop's alpha, Huber's delta, the
  // clipping; and its steps lower the loss of a small regression.
  options.train = nn::TrainOptions()
                      .loss(nn::Loss::Huber)
                      .delta(0.5)
                      .clip_grad_norm(1.0)
                      .optimizer(nn::RMSprop(0.02, 0.9));
  options.output = ::testing::TempDir() + "dsl_rmsprop_step.so";
  n.compile(options);
  dlc_model *model = nullptr;
  ASSERT_EQ(dlc_model_load(options.output.c_str(), &model), DLC_OK)
      << dlc_last_error();
  EXPECT_STREQ(dlc_model_optimizer(model), "rmsprop");
  EXPECT_STREQ(dlc_model_loss(model), "huber");
  std::map<std::string, double> hyper;
  for (size_t i = 0; i < dlc_model_num_hyperparameters(model); ++i) {
    const char *name;
    double value;
    ASSERT_EQ(dlc_model_hyperparameter(model, i, &name, &value), DLC_OK);
    hyper[name] = value;
  }
  EXPECT_DOUBLE_EQ(hyper["alpha"], 0.9);
  EXPECT_DOUBLE_EQ(hyper["lr"], 0.02);
  EXPECT_DOUBLE_EQ(hyper["delta"], 0.5);
  EXPECT_DOUBLE_EQ(hyper["clip-grad-norm"], 1.0);
  std::vector<float> xs = {1, 2, 3, -1, 0, 1}, ts = {2, -1};
  int64_t xShape[2] = {2, 3}, tShape[2] = {2, 1};
  dlc_tensor batch[2] = {{xs.data(), DLC_FLOAT32, 2, xShape},
                         {ts.data(), DLC_FLOAT32, 2, tShape}};
  float first = 0, last = 0;
  for (int step = 0; step < 30; ++step)
    ASSERT_EQ(dlc_model_train_step(model, batch, 2, 0.02f,
                                   step == 0 ? &first : &last),
              DLC_OK)
        << dlc_last_error();
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
  dlc_model_free(model);
  options.train = nn::TrainOptions().optimizer(nn::Adagrad(-1));
  EXPECT_EQ(errorOf([&] { n.compile(options); }),
            "optimizer adagrad: lr must be >= 0");

  // The model's output is no scalar loss: the compiler says so.
  options.train = nn::TrainOptions();
  EXPECT_NE(
      errorOf([&] { n.compile(options); }).find("is not a float32 scalar loss"),
      std::string::npos);
}

TEST(DslTest, DropoutMasksTrainingStepsOnly) {
  // h = fc(1) = 1000 ones (weight set to ones), y = dropout(h, 0.5), loss
  // MSE against zeros: mean(mask^2) = 4 k / 1000 for k kept elements, and
  // d loss / d w_j = 2 mask_j^2 / 1000: 0.008 where kept, 0 where dropped.
  nn::Model m("dropped");
  nn::Tensor x = m.input("x", nn::f32({1, 1}));
  // The layer (torch.nn.Dropout); nn::dropout(x, 0.5) is the same function.
  m.output("y", m.dropout("drop", 0.5)(m.linear("fc", 1, 1000, false)(x)));
  m.set_parameter("fc.weight", std::vector<float>(1000, 1.0f));
  // Inference: the identity, with no mask left to compute.
  std::string graph = m.dump(nn::Emit::Graph);
  EXPECT_EQ(graph.find("graph.dropout_mask"), std::string::npos) << graph;
  EXPECT_EQ(graph.find("graph.mode_select"), std::string::npos) << graph;
  expectNear(compileAndRun(m, {1.0f}, {1, 1}, {1, 1000}),
             std::vector<double>(1000, 1.0));
  expectNear(exportCompileAndRun(m, {1.0f}, {1, 1}, {1, 1000}),
             std::vector<double>(1000, 1.0));
  nn::CompileOptions options;
  options.output = ::testing::TempDir() + "dsl_dropout_step.so";
  options.train = nn::TrainOptions().loss(nn::Loss::MSE).optimizer(nn::SGD(0));
  m.compile(options);
  dlc_model *model = nullptr;
  ASSERT_EQ(dlc_model_load(options.output.c_str(), &model), DLC_OK)
      << dlc_last_error();
  std::vector<float> one = {1.0f}, zeros(1000, 0.0f);
  int64_t xShape[2] = {1, 1}, yShape[2] = {1, 1000};
  dlc_tensor batch[2] = {{one.data(), DLC_FLOAT32, 2, xShape},
                         {zeros.data(), DLC_FLOAT32, 2, yShape}};
  std::vector<std::vector<float>> grads(2, std::vector<float>(1000));
  for (int step = 0; step < 2; ++step) {
    float loss = 0;
    ASSERT_EQ(dlc_model_train_step(model, batch, 2, 0.0f, &loss), DLC_OK)
        << dlc_last_error();
    ASSERT_EQ(dlc_model_read_gradient(model, "fc.weight", grads[step].data(),
                                      1000 * sizeof(float)),
              DLC_OK);
    int kept = 0;
    for (float g : grads[step]) {
      EXPECT_TRUE(g == 0.0f || std::fabs(g - 0.008f) < 1e-7f) << g;
      kept += g != 0.0f;
    }
    // About half kept (0.5 +- 6 standard deviations of a binomial).
    EXPECT_NEAR(kept, 500, 95);
    EXPECT_NEAR(loss, 4.0 * kept / 1000, 1e-5);
  }
  EXPECT_NE(grads[0], grads[1]) << "every step draws a new mask";
  // The library's inference keeps every element.
  std::vector<float> out(1000);
  dlc_tensor res{out.data(), DLC_FLOAT32, 2, yShape};
  ASSERT_EQ(dlc_model_run(model, batch, 1, &res, 1), DLC_OK)
      << dlc_last_error();
  expectNear(out, std::vector<double>(1000, 1.0));
  dlc_model_free(model);
  EXPECT_EQ(errorOf([&] { nn::dropout(x, 1.0); }),
            "dropout_1 (Dropout): p 1.000000 is not in [0, 1)");
  EXPECT_EQ(errorOf([&] { m.dropout("drop2", -0.5); }),
            "drop2 (Dropout): p -0.500000 is not in [0, 1)");
}

TEST(DslTest, DumpsEveryTextStage) {
  nn::Model m("dumped");
  nn::Tensor x = m.input("x", nn::f32({1, 3, 8, 8}));
  m.output("y", nn::relu(m.conv2d("conv", 3, 4, 3)(x)));
  EXPECT_NE(m.dump(nn::Emit::Graph).find("graph.conv2d"), std::string::npos);
  // The kernel stage fuses the ReLU into the convolution and names its
  // algorithm.
  std::string kernel = m.dump(nn::Emit::Kernel);
  EXPECT_NE(kernel.find("kernel.conv2d"), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("algorithm"), std::string::npos) << kernel;
  EXPECT_NE(m.dump(nn::Emit::Linalg).find("linalg."), std::string::npos);
  EXPECT_NE(m.dump(nn::Emit::LLVM).find("define void @dlc_forward"),
            std::string::npos);
  EXPECT_EQ(errorOf([&] { m.dump(nn::Emit::So); }),
            "dump: So is not text (compile() writes it)");
}

TEST(DslTest, InitializersFollowTorchNnInit) {
  nn::Model m("init", /*seed=*/11);
  nn::Tensor x = m.input("x", nn::f32({1, 128, 8, 8}));
  m.output("y", m.conv2d("conv", 128, 256, 3)(x));
  nn::Tensor f = m.input("f", nn::f32({1, 200}));
  m.output("z", m.linear("fc", 200, 300)(f));
  auto stats = [](const std::vector<float> &v) {
    double mean = 0, sq = 0, maxAbs = 0;
    for (float x : v) {
      mean += x / v.size();
      maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(x)));
    }
    for (float x : v)
      sq += (x - mean) * (x - mean) / v.size();
    return std::vector<double>{mean, std::sqrt(sq), maxAbs};
  };
  namespace init = nn::init;
  m.init_parameter("fc.bias", init::constant(0.25));
  for (float v : m.parameter("fc.bias"))
    EXPECT_EQ(v, 0.25f);
  m.init_parameter("fc.bias", init::zeros());
  EXPECT_EQ(stats(m.parameter("fc.bias"))[2], 0.0);
  m.init_parameter("fc.bias", init::uniform(-0.5, 0.5));
  EXPECT_LT(stats(m.parameter("fc.bias"))[2], 0.5);
  // [300, 200]: Xavier's bound sqrt(6 / 500); uniform's std is bound/sqrt(3).
  m.init_parameter("fc.weight", init::xavier_uniform());
  auto xu = stats(m.parameter("fc.weight"));
  double bound = std::sqrt(6.0 / 500);
  EXPECT_LE(xu[2], bound);
  EXPECT_GT(xu[2], 0.99 * bound);
  EXPECT_NEAR(xu[1], bound / std::sqrt(3.0), 0.02 * bound);
  m.init_parameter("fc.weight", init::xavier_normal(2.0));
  EXPECT_NEAR(stats(m.parameter("fc.weight"))[1], 2 * std::sqrt(2.0 / 500),
              0.02 * 2 * std::sqrt(2.0 / 500));
  m.init_parameter("fc.weight", init::normal(1.0, 2.0));
  auto n = stats(m.parameter("fc.weight"));
  EXPECT_NEAR(n[0], 1.0, 0.03);
  EXPECT_NEAR(n[1], 2.0, 0.03);
  // [256, 128, 3, 3]: fan_in 1152, fan_out 2304; ReLU's gain sqrt(2).
  m.init_parameter(
      "conv.weight",
      init::kaiming_normal(0, init::FanMode::FanIn, init::Nonlinearity::Relu));
  EXPECT_NEAR(stats(m.parameter("conv.weight"))[1], std::sqrt(2.0 / 1152),
              0.01 * std::sqrt(2.0 / 1152));
  m.init_parameter("conv.weight",
                   init::kaiming_uniform(0.1, init::FanMode::FanOut));
  double kaimingBound =
      init::calculate_gain(init::Nonlinearity::LeakyRelu, 0.1) *
      std::sqrt(3.0 / 2304);
  auto ku = stats(m.parameter("conv.weight"));
  EXPECT_LE(ku[2], kaimingBound);
  EXPECT_GT(ku[2], 0.99 * kaimingBound);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Tanh), 5.0 / 3);

  // The same seed, the same draws.
  auto draw = [](uint64_t seed) {
    nn::Model k("seeded", seed);
    nn::Tensor in = k.input("x", nn::f32({1, 4}));
    k.output("y", k.linear("fc", 4, 4)(in));
    k.init_parameter("fc.weight", nn::init::kaiming_normal());
    return k.parameter("fc.weight");
  };
  EXPECT_EQ(draw(3), draw(3));
  EXPECT_NE(draw(3), draw(4));

  EXPECT_EQ(
      errorOf([&] { m.init_parameter("fc.bias", init::xavier_uniform()); }),
      "parameter 'fc.bias' [300]: fan in and fan out need at least 2 "
      "dims");
  EXPECT_EQ(errorOf([&] { m.init_parameter("fc.gain", init::zeros()); }),
            "the model has no parameter 'fc.gain'");
}

TEST(DslTest, LoadsParametersByName) {
  nn::Model m("loaded");
  nn::Tensor x = m.input("x", nn::f32({1, 3}));
  m.output("y", m.linear("fc", 3, 2)(x));
  // An ONNX model whose initializers hold fc's parameters (the weight under
  // another name) and one more that nothing uses.
  onnx::ModelProto model;
  auto add = [&](const std::string &name, std::vector<int64_t> dims,
                 std::vector<float> values) {
    onnx::TensorProto *t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  };
  add("classifier.weight", {2, 3}, {1, 2, 3, 4, 5, 6});
  add("fc.bias", {2}, {0.5f, -0.5f});
  add("unused", {1}, {7});
  std::string path = ::testing::TempDir() + "dsl_weights.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
  }
  m.load_onnx(path, {{"fc.weight", "classifier.weight"}});
  EXPECT_EQ(m.parameter("fc.weight"), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(m.parameter("fc.bias"), (std::vector<float>{0.5f, -0.5f}));

  // Every problem listed, and nothing changed.
  EXPECT_EQ(errorOf([&] { m.load_onnx(path); }),
            path + ": cannot load the parameters:\n  parameter 'fc.weight' "
                   "[2, 3]: no initializer 'fc.weight'");
  EXPECT_EQ(errorOf([&] {
              m.load_onnx(path, {{"fc.weight", "fc.bias"}, {"fc.w", "x"}});
            }),
            path + ": cannot load the parameters:\n  parameter 'fc.weight' "
                   "[2, 3]: initializer 'fc.bias' is [2]\n  rename: the "
                   "model has no parameter 'fc.w'");
  EXPECT_EQ(m.parameter("fc.bias"), (std::vector<float>{0.5f, -0.5f}));
  EXPECT_NE(
      errorOf([&] { m.load_onnx(path + ".missing"); }).find("cannot read file"),
      std::string::npos);

  // Raw little-endian float32.
  std::string raw = ::testing::TempDir() + "dsl_bias.bin";
  {
    std::ofstream out(raw, std::ios::binary);
    const unsigned char bytes[] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}; // 1, 2
    out.write(reinterpret_cast<const char *>(bytes), sizeof bytes);
  }
  m.load_raw("fc.bias", raw);
  EXPECT_EQ(m.parameter("fc.bias"), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(errorOf([&] { m.load_raw("fc.weight", raw); }),
            raw + ": has 8 bytes; parameter 'fc.weight' [2, 3] needs 24 "
                  "(float32)");
  EXPECT_EQ(errorOf([&] { m.load_raw("fc.gain", raw); }),
            "the model has no parameter 'fc.gain'");
}

} // namespace
