//===- main.cpp - dlc-dsl-examples: build, summarize, compile -------------===//
//
//   dlc-dsl-examples MODEL [--batch N] [--summary] [--load FILE.onnx]
//                    [-o OUT.so]
//
// Builds one network of Models.h (mlp, lenet5, mnist-convnet, vgg16,
// resnet18), prints its summary, loads its parameters from an ONNX model's
// initializers by name, and compiles it to a shared library.
//
//===----------------------------------------------------------------------===//

#include "Models.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>

namespace nn = dlc::dsl;

int main(int argc, char **argv) {
  static const std::map<std::string,
                        std::function<nn::Tensor(nn::Model &, int64_t)>>
      models = {{"mlp", examples::mlp},
                {"lenet5", examples::lenet5},
                {"mnist-convnet", examples::mnistConvnet},
                {"vgg16", examples::vgg16},
                {"resnet18", examples::resnet18}};
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: dlc-dsl-examples MODEL [--batch N] [--summary] "
                 "[--load FILE.onnx] [-o OUT.so]\n"
                 "MODEL: mlp, lenet5, mnist-convnet, vgg16, resnet18\n");
    return 2;
  };
  if (argc < 2 || !models.count(argv[1]))
    return usage();
  std::string name = argv[1], load, output;
  int64_t batch = 1;
  bool summary = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--summary")
      summary = true;
    else if (a == "--batch" && i + 1 < argc)
      batch = std::atoll(argv[++i]);
    else if (a == "--load" && i + 1 < argc)
      load = argv[++i];
    else if (a == "-o" && i + 1 < argc)
      output = argv[++i];
    else
      return usage();
  }
  try {
    nn::Model m(name);
    m.output("y", models.at(name)(m, batch));
    if (summary)
      m.summary(std::cout);
    if (!load.empty())
      m.load_onnx(load);
    if (!output.empty())
      m.compile(output);
  } catch (const nn::Error &e) {
    std::fprintf(stderr, "dlc-dsl-examples: %s\n", e.what());
    return 1;
  }
  return 0;
}
