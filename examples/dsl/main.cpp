//===- main.cpp - dlc-dsl-examples: build, summarize, compile -------------===//
//
//   dlc-dsl-examples MODEL [--batch N] [--summary] [--load FILE.onnx
//                    [--load-prefix P]] [--train LOSS ([--momentum M] --sgd LR
//                    | --adam LR | --adamw LR)]
//                    [--save-onnx FILE.onnx] [-o OUT.so]
//
// Builds one network of Models.h (mlp, lenet5, resnet18, lstm, ...: the
// usage lists them), prints its summary, loads its parameters from an
// ONNX model's initializers by name (each parameter from initializer P + its
// name), and compiles it to a shared library: for inference, or a training step
// with LOSS (model, mse, cross-entropy) and the optimizer given; or writes it
// as an ONNX model.
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>

namespace nn = dlc::dsl;

int main(int argc, char **argv) {
  using Build = std::function<void(nn::Model &, int64_t)>;
  // Each network with its outputs named.
  auto single = [](nn::Tensor (*build)(nn::Model &, int64_t)) -> Build {
    return [build](nn::Model &m, int64_t batch) {
      m.output("y", build(m, batch));
    };
  };
  auto recurrent =
      [](nn::RecurrentOutput (*build)(nn::Model &, int64_t)) -> Build {
    return [build](nn::Model &m, int64_t batch) {
      nn::RecurrentOutput out = build(m, batch);
      m.output("y", out.y);
      m.output("h_n", out.h);
      if (out.c.defined())
        m.output("c_n", out.c);
    };
  };
  const std::map<std::string, Build> models = {
      {"mlp", single(examples::mlp)},
      {"lenet5", single(examples::lenet5)},
      {"mnist-convnet", single(examples::mnistConvnet)},
      {"vgg16", single(examples::vgg16)},
      {"resnet18", single(examples::resnet18)},
      {"autoencoder", single(examples::autoencoder)},
      {"dcgan-generator", single(examples::dcganGenerator)},
      {"lstm", recurrent(examples::lstm)},
      {"bigru", recurrent(examples::bigru)},
      {"transformer-encoder-layer", single(examples::transformerEncoderLayer)},
      {"transformer-encoder", single(examples::transformerEncoder)},
      {"perceptron", single(examples::perceptron)},
      {"cnn-bn", single(examples::cnnBn)},
      {"dense-autoencoder", single(examples::denseAutoencoder)},
      {"inception-block", single(examples::inceptionBlock)},
      {"dcgan-discriminator", single(examples::dcganDiscriminator)}};
  auto usage = [&] {
    std::string names;
    for (const auto &entry : models)
      names += (names.empty() ? "" : ", ") + entry.first;
    std::fprintf(stderr,
                 "usage: dlc-dsl-examples MODEL [--batch N] [--summary] "
                 "[--load FILE.onnx [--load-prefix P]]\n"
                 "         [--train LOSS ([--momentum M] --sgd LR | --adam LR "
                 "| --adamw LR)] "
                 "[--save-onnx FILE.onnx] [-o OUT.so]\n"
                 "MODEL: %s\n",
                 names.c_str());
    return 2;
  };
  if (argc < 2 || !models.count(argv[1]))
    return usage();
  std::string name = argv[1], load, prefix, output, loss, saveOnnx;
  std::optional<nn::Optimizer> optimizer;
  int64_t batch = 1;
  double momentum = 0; // of --sgd
  bool summary = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--summary")
      summary = true;
    else if (a == "--batch" && i + 1 < argc)
      batch = std::atoll(argv[++i]);
    else if (a == "--load" && i + 1 < argc)
      load = argv[++i];
    else if (a == "--load-prefix" && i + 1 < argc)
      prefix = argv[++i];
    else if (a == "--train" && i + 1 < argc)
      loss = argv[++i];
    else if (a == "--sgd" && i + 1 < argc)
      optimizer = nn::SGD(std::atof(argv[++i]));
    else if (a == "--momentum" && i + 1 < argc)
      momentum = std::atof(argv[++i]);
    else if (a == "--adam" && i + 1 < argc)
      optimizer = nn::Adam(std::atof(argv[++i]));
    else if (a == "--adamw" && i + 1 < argc)
      optimizer = nn::AdamW(std::atof(argv[++i]));
    else if (a == "--save-onnx" && i + 1 < argc)
      saveOnnx = argv[++i];
    else if (a == "-o" && i + 1 < argc)
      output = argv[++i];
    else
      return usage();
  }
  if (optimizer && optimizer->name == "sgd")
    optimizer->momentum = momentum;
  try {
    nn::Model m(name);
    models.at(name)(m, batch);
    if (summary)
      m.summary(std::cout);
    if (!load.empty()) {
      std::map<std::string, std::string> rename;
      for (const std::string &parameter : m.parameter_names())
        rename[parameter] = prefix + parameter;
      m.load_onnx(load, rename);
    }
    nn::CompileOptions options;
    options.output = output;
    if (!loss.empty()) {
      static const std::map<std::string, nn::Loss> losses = {
          {"model", nn::Loss::Model},
          {"mse", nn::Loss::MSE},
          {"cross-entropy", nn::Loss::CrossEntropy}};
      if (!losses.count(loss) || !optimizer)
        return usage();
      options.train =
          nn::TrainOptions().loss(losses.at(loss)).optimizer(*optimizer);
    }
    if (!saveOnnx.empty())
      m.save_onnx(saveOnnx);
    if (!output.empty())
      m.compile(options);
  } catch (const nn::Error &e) {
    std::fprintf(stderr, "dlc-dsl-examples: %s\n", e.what());
    return 1;
  }
  return 0;
}
