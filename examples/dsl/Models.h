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

} // namespace examples

#endif // DLC_EXAMPLES_DSL_MODELS_H
