//===- Models.cpp - the course's networks written with the C++ DSL --------===//

#include "Models.h"

#include <cmath>
#include <string>
#include <vector>

namespace examples {

nn::Tensor mlp(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 784}));
  x = nn::relu(m.linear("fc1", 784, 256)(x));
  x = nn::relu(m.linear("fc2", 256, 128)(x));
  return nn::softmax(m.linear("fc3", 128, 10)(x));
}

nn::Tensor lenet5(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 1, 28, 28}));
  x = nn::tanh(m.conv2d("conv1", 1, 6, 5, nn::Conv2dOptions().padding(2))(x));
  x = nn::max_pool2d(x, 2);
  x = nn::relu(m.conv2d("conv2", 6, 16, 5)(x));
  x = nn::flatten(nn::avg_pool2d(x, 2));
  x = nn::relu(m.linear("fc1", 400, 120)(x));
  x = nn::relu(m.linear("fc2", 120, 84)(x));
  return m.linear("fc3", 84, 10)(x);
}

nn::Tensor mnistConvnet(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 1, 28, 28}));
  x = nn::max_pool2d(nn::relu(m.conv2d("conv1", 1, 32, 3)(x)), 2);
  x = nn::max_pool2d(nn::relu(m.conv2d("conv2", 32, 64, 3)(x)), 2);
  x = nn::flatten(nn::relu(m.conv2d("conv3", 64, 64, 3)(x)));
  x = nn::relu(m.linear("dense1", 3 * 3 * 64, 64)(x));
  return nn::softmax(m.linear("dense2", 64, 10)(x));
}

nn::Tensor vgg16(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 3, 224, 224}));
  const int64_t blocks[5][2] = {
      {64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}};
  int64_t channels = 3, conv = 0;
  for (const auto &[width, convs] : blocks) {
    for (int64_t i = 0; i < convs; ++i, channels = width)
      x = nn::relu(m.conv2d("features.conv" + std::to_string(++conv), channels,
                            width, 3, nn::Conv2dOptions().padding(1))(x));
    x = nn::max_pool2d(x, 2);
  }
  x = nn::flatten(x);
  x = nn::relu(m.linear("classifier.fc1", 512 * 7 * 7, 4096)(x));
  x = nn::relu(m.linear("classifier.fc2", 4096, 4096)(x));
  return m.linear("classifier.fc3", 4096, 1000)(x);
}

namespace {

/// torchvision's BasicBlock: two 3x3 convolutions with batch norms, and the
/// input added back (through a 1x1 projection where the shape changes).
nn::Tensor basicBlock(nn::Model &m, const std::string &name, nn::Tensor x,
                      int64_t in, int64_t out, int64_t stride) {
  auto conv3x3 = nn::Conv2dOptions().padding(1).bias(false);
  nn::Tensor y = m.conv2d(name + ".conv1", in, out, 3,
                          nn::Conv2dOptions(conv3x3).stride(stride))(x);
  y = nn::relu(m.batch_norm2d(name + ".bn1", out)(y));
  y = m.batch_norm2d(name + ".bn2",
                     out)(m.conv2d(name + ".conv2", out, out, 3, conv3x3)(y));
  nn::Tensor shortcut = x;
  if (stride != 1 || in != out)
    shortcut = m.batch_norm2d(name + ".downsample.1", out)(
        m.conv2d(name + ".downsample.0", in, out, 1,
                 nn::Conv2dOptions().stride(stride).bias(false))(x));
  return nn::relu(y + shortcut);
}

} // namespace

nn::Tensor resnet18(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 3, 224, 224}));
  x = m.conv2d("conv1", 3, 64, 7,
               nn::Conv2dOptions().stride(2).padding(3).bias(false))(x);
  x = nn::relu(m.batch_norm2d("bn1", 64)(x));
  x = nn::max_pool2d(x, 3, 2, 1);
  int64_t channels = 64;
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    std::string name = "layer" + std::to_string(stage + 1);
    int64_t stride = stage == 0 ? 1 : 2;
    x = basicBlock(m, name + ".0", x, channels, widths[stage], stride);
    x = basicBlock(m, name + ".1", x, widths[stage], widths[stage], 1);
    channels = widths[stage];
  }
  x = nn::flatten(nn::avg_pool2d(x, 7));
  return m.linear("fc", 512, 1000)(x);
}

nn::Tensor autoencoder(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 1, 28, 28}));
  auto down = nn::Conv2dOptions().stride(2).padding(1);
  x = nn::relu(m.conv2d("enc.0", 1, 16, 3, down)(x));
  x = nn::flatten(nn::relu(m.conv2d("enc.2", 16, 32, 3, down)(x)));
  nn::Tensor code = m.linear("fc_e", 32 * 7 * 7, 32)(x);
  x = nn::relu(m.linear("fc_d", 32, 32 * 7 * 7)(code));
  x = nn::reshape(x, {-1, 32, 7, 7});
  auto up = nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1);
  x = nn::relu(m.conv_transpose2d("dec.0", 32, 16, 3, up)(x));
  return nn::sigmoid(m.conv_transpose2d("dec.2", 16, 1, 3, up)(x));
}

nn::Tensor dcganGenerator(nn::Model &m, int64_t batch) {
  nn::Tensor z = m.input("z", nn::f32({batch, 100}));
  nn::Tensor x = nn::reshape(z, {batch, 100, 1, 1});
  const int64_t widths[] = {100, 128, 64, 32};
  for (int i = 0; i < 3; ++i) {
    auto options = nn::ConvTranspose2dOptions().bias(false);
    if (i > 0)
      options.stride(2).padding(1);
    std::string conv = "net." + std::to_string(3 * i),
                norm = "net." + std::to_string(3 * i + 1);
    x = m.conv_transpose2d(conv, widths[i], widths[i + 1], 4, options)(x);
    x = nn::relu(m.batch_norm2d(norm, widths[i + 1])(x));
  }
  auto last = nn::ConvTranspose2dOptions().stride(2).padding(1).bias(false);
  return nn::tanh(m.conv_transpose2d("net.9", 32, 1, 4, last)(x));
}

nn::RecurrentOutput lstm(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({32, batch, 64}));
  return m.lstm("rnn", 64, 128)(x);
}

nn::RecurrentOutput bigru(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({32, batch, 64}));
  return m.gru("rnn", 64, 128, /*bidirectional=*/true)(x);
}

namespace {

/// torch.nn.TransformerEncoderLayer(128, 4, 512, dropout=0) on x [64, N,
/// 128], with its module names under "layer".
nn::Tensor encoderLayer(nn::Model &m, nn::Tensor x) {
  x = m.layer_norm("layer.norm1", 128)(
      x + m.multihead_attention("layer.self_attn", 128, 4)(x));
  nn::Tensor h = nn::relu(m.linear("layer.linear1", 128, 512)(x));
  return m.layer_norm("layer.norm2",
                      128)(x + m.linear("layer.linear2", 512, 128)(h));
}

} // namespace

nn::Tensor transformerEncoderLayer(nn::Model &m, int64_t batch) {
  return encoderLayer(m, m.input("x", nn::f32({64, batch, 128})));
}

nn::Tensor transformerEncoder(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({64, batch, 128}));
  std::vector<float> encoding(64 * 128);
  for (int pos = 0; pos < 64; ++pos)
    for (int i = 0; i < 64; ++i) {
      double angle = pos / std::pow(10000.0, 2.0 * i / 128);
      encoding[pos * 128 + 2 * i] = static_cast<float>(std::sin(angle));
      encoding[pos * 128 + 2 * i + 1] = static_cast<float>(std::cos(angle));
    }
  // [64, 1, 128]: the same encoding for every sequence of the batch.
  return encoderLayer(
      m, x + m.constant("positional_encoding", {64, 1, 128}, encoding));
}

nn::Tensor cnnBn(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 3, 64, 64}));
  int64_t channels = 3;
  for (int i = 0; i < 4; ++i) {
    int64_t width = 32 << i;
    std::string conv = "features." + std::to_string(4 * i),
                norm = "features." + std::to_string(4 * i + 1);
    x = m.conv2d(conv, channels, width, 3,
                 nn::Conv2dOptions().padding(1).bias(false))(x);
    x = nn::max_pool2d(nn::relu(m.batch_norm2d(norm, width)(x)), 2);
    channels = width;
  }
  return m.linear("fc", 256, 10)(nn::flatten(nn::global_avg_pool2d(x)));
}

nn::Tensor perceptron(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 2}));
  return nn::sigmoid(m.linear("fc", 2, 1)(x));
}

nn::Tensor denseAutoencoder(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 784}));
  x = nn::relu(m.linear("encoder.0", 784, 128)(x));
  x = m.linear("encoder.2", 128, 32)(x);
  x = nn::relu(m.linear("decoder.0", 32, 128)(x));
  return nn::sigmoid(m.linear("decoder.2", 128, 784)(x));
}

nn::Tensor inceptionBlock(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 192, 28, 28}));
  auto conv = [&](const std::string &name, nn::Tensor in, int64_t from,
                  int64_t to, int64_t k) {
    return nn::relu(
        m.conv2d(name, from, to, k, nn::Conv2dOptions().padding(k / 2))(in));
  };
  nn::Tensor b1 = conv("branch1", x, 192, 64, 1);
  nn::Tensor b2 =
      conv("branch2.1", conv("branch2.0", x, 192, 96, 1), 96, 128, 3);
  nn::Tensor b3 =
      conv("branch3.1", conv("branch3.0", x, 192, 16, 1), 16, 32, 5);
  nn::Tensor b4 = conv("branch4.1", nn::max_pool2d(x, 3, 1, 1), 192, 32, 1);
  return nn::concat({b1, b2, b3, b4}, 1);
}

nn::Tensor dcganDiscriminator(nn::Model &m, int64_t batch) {
  nn::Tensor x = m.input("x", nn::f32({batch, 1, 32, 32}));
  auto down = nn::Conv2dOptions().stride(2).padding(1).bias(false);
  x = nn::leaky_relu(m.conv2d("net.0", 1, 32, 4, down)(x), 0.2);
  x = m.batch_norm2d("net.3", 64)(m.conv2d("net.2", 32, 64, 4, down)(x));
  x = nn::leaky_relu(x, 0.2);
  x = m.batch_norm2d("net.6", 128)(m.conv2d("net.5", 64, 128, 4, down)(x));
  x = nn::leaky_relu(x, 0.2);
  x = m.conv2d("net.8", 128, 1, 4, nn::Conv2dOptions().bias(false))(x);
  return nn::flatten(nn::sigmoid(x));
}

} // namespace examples
