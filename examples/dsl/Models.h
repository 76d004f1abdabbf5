//===- Models.h - the course's networks written with the C++ DSL -*- C++
//-*-===//
//
// Each function adds one network to a model, named as PyTorch's reference
// implementation names its modules (so that its ONNX export's initializers
// load by name: Model::load_onnx), and returns its output. The shapes
// follow the published architectures.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_EXAMPLES_DSL_MODELS_H
#define DLC_EXAMPLES_DSL_MODELS_H

#include <dlc/dsl.h>

namespace examples {

namespace nn = dlc::dsl;

/// An MLP on flattened 28x28 images: 784 -> 256 -> 128 -> 10, ReLU, softmax.
nn::Tensor mlp(nn::Model &m, int64_t batch);

/// LeNet-5 (LeCun et al. 1998, as the course writes it): conv 5x5 (6, padded
/// to keep 28x28), tanh, max pool, conv 5x5 (16), ReLU, average pool, then
/// 400 -> 120 -> 84 -> 10.
nn::Tensor lenet5(nn::Model &m, int64_t batch);

/// The MNIST convnet of Chollet's "Deep Learning with Python" (Keras):
/// conv 3x3 32, max pool, conv 3x3 64, max pool, conv 3x3 64, then dense 64
/// and 10 with softmax; 93,322 parameters.
nn::Tensor mnistConvnet(nn::Model &m, int64_t batch);

/// VGG-16 (Simonyan and Zisserman 2014, configuration D) on 224x224 images:
/// 13 3x3 convolutions in five blocks with max pools, then 4096, 4096 and
/// 1000 fully connected; 138,357,544 parameters.
nn::Tensor vgg16(nn::Model &m, int64_t batch);

/// ResNet-18 (He et al. 2015) on 224x224 images, as torchvision builds it:
/// a 7x7 stride-2 stem, four stages of two basic blocks (64, 128, 256, 512
/// channels; 1x1 stride-2 projections), global average pool and a 1000-way
/// classifier; 11,689,512 parameters (plus 9,600 BatchNorm statistics).
nn::Tensor resnet18(nn::Model &m, int64_t batch);

/// The convolutional autoencoder of the corpus (a course's MNIST
/// autoencoder): two stride-2 3x3 convolutions (16, 32 channels) down to a
/// 32-d code and back up through two stride-2 transposed convolutions to a
/// sigmoid image [batch, 1, 28, 28].
nn::Tensor autoencoder(nn::Model &m, int64_t batch);

/// The DCGAN generator (Radford et al. 2015) for 32x32 images: noise
/// [batch, 100] through four 4x4 transposed convolutions (128, 64, 32, 1
/// channels; batch norm and ReLU between them) to tanh [batch, 1, 32, 32].
nn::Tensor dcganGenerator(nn::Model &m, int64_t batch);

/// One LSTM layer (64 -> 128) over x [32, batch, 64], sequence first: its
/// outputs y, h_n and c_n.
nn::RecurrentOutput lstm(nn::Model &m, int64_t batch);

/// One bidirectional GRU layer (64 -> 2 x 128) over x [32, batch, 64]: its
/// outputs y and h_n.
nn::RecurrentOutput bigru(nn::Model &m, int64_t batch);

/// torch.nn.TransformerEncoderLayer(128, 4 heads, 512, dropout 0): post-norm
/// self-attention and a ReLU MLP over x [64, batch, 128], sequence first.
nn::Tensor transformerEncoderLayer(nn::Model &m, int64_t batch);

/// The corpus' CNN with batch norms: four 3x3 convolutions (32, 64, 128,
/// 256 channels, no bias) each with batch norm, ReLU and a 2x2 max pool, a
/// global average pool and a 10-way linear layer on [batch, 3, 64, 64].
nn::Tensor cnnBn(nn::Model &m, int64_t batch);

/// The perceptron (Rosenblatt 1958) with a logistic output: x [batch, 2]
/// -> sigmoid(w . x + b), 3 parameters.
nn::Tensor perceptron(nn::Model &m, int64_t batch);

/// A dense autoencoder on flattened 28x28 images: 784 -> 128 -> 32 -> 128
/// -> 784, ReLU between, sigmoid at the end.
nn::Tensor denseAutoencoder(nn::Model &m, int64_t batch);

/// GoogLeNet's inception block 3a (Szegedy et al. 2014) on [batch, 192, 28,
/// 28]: 1x1 (64), 1x1 (96) then 3x3 (128), 1x1 (16) then 5x5 (32), and a
/// 3x3 max pool then 1x1 (32), each with ReLU, concatenated to 256 channels.
nn::Tensor inceptionBlock(nn::Model &m, int64_t batch);

/// The DCGAN discriminator (Radford et al. 2015) for 32x32 images: 4x4
/// stride-2 convolutions (32, 64, 128 channels; batch norm after the second
/// and third, LeakyReLU 0.2 after each), then a 4x4 convolution to one logit
/// and a sigmoid: [batch, 1, 32, 32] -> [batch, 1].
nn::Tensor dcganDiscriminator(nn::Model &m, int64_t batch);

/// The transformer encoder layer above after a sinusoidal positional
/// encoding (Vaswani et al. 2017: sin and cos of position / 10000^(2i/128),
/// a constant tensor) added to x [64, batch, 128].
nn::Tensor transformerEncoder(nn::Model &m, int64_t batch);

} // namespace examples

#endif // DLC_EXAMPLES_DSL_MODELS_H
