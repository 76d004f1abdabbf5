//===- xor.cpp - dlc-dsl-xor: the XOR MLP, defined and trained in C++ -----===//
//
//   dlc-dsl-xor [--steps N] [--work DIR]
//
// The classic: no single linear unit separates XOR, one hidden layer does.
// The MLP 2 -> 8 (tanh) -> 1 is defined with the DSL, compiled to a
// training step (binary cross-entropy on logits, Adam), and trained by the
// runtime on the four points until they are all classified; exit status 0
// when they are.
//
//===----------------------------------------------------------------------===//

#include <dlc/dsl.h>
#include <dlc/runtime.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace nn = dlc::dsl;

int main(int argc, char **argv) {
  int steps = 500;
  std::string work = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--steps")
      steps = std::atoi(argv[i + 1]);
    else if (a == "--work")
      work = argv[i + 1];
  }
  std::string library = work + "/xor_step.so";
  const float lr = 0.05f;
  try {
    nn::Model m("xor", /*seed=*/7);
    nn::Tensor x = m.input("x", nn::f32({4, 2}));
    nn::Tensor h = nn::tanh(m.linear("hidden", 2, 8)(x));
    m.output("logits", m.linear("out", 8, 1)(h));
    m.summary(std::cout);
    nn::CompileOptions options;
    options.output = library;
    options.train = nn::TrainOptions()
                        .loss(nn::Loss::BCEWithLogits)
                        .optimizer(nn::Adam(lr));
    m.compile(options);
  } catch (const nn::Error &e) {
    std::fprintf(stderr, "dlc-dsl-xor: %s\n", e.what());
    return 1;
  }

  dlc_model *model = nullptr;
  if (dlc_model_load(library.c_str(), &model) != DLC_OK) {
    std::fprintf(stderr, "dlc-dsl-xor: %s\n", dlc_last_error());
    return 1;
  }
  float points[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  float labels[4] = {0, 1, 1, 0};
  int64_t xShape[2] = {4, 2}, yShape[2] = {4, 1};
  dlc_tensor inputs[2] = {{points, DLC_FLOAT32, 2, xShape},
                          {labels, DLC_FLOAT32, 2, yShape}};
  float loss = 0;
  for (int step = 1; step <= steps; ++step) {
    if (dlc_model_train_step(model, inputs, 2, lr, &loss) != DLC_OK) {
      std::fprintf(stderr, "dlc-dsl-xor: %s\n", dlc_last_error());
      return 1;
    }
    if (step % 100 == 0)
      std::printf("step %d: loss %.6f\n", step, loss);
  }
  float logits[4];
  dlc_tensor output = {logits, DLC_FLOAT32, 2, yShape};
  if (dlc_model_run(model, inputs, 1, &output, 1) != DLC_OK) {
    std::fprintf(stderr, "dlc-dsl-xor: %s\n", dlc_last_error());
    return 1;
  }
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    int predicted = logits[i] > 0;
    correct += predicted == static_cast<int>(labels[i]);
    std::printf("xor(%g, %g) = %d (logit %.3f)\n", points[i][0], points[i][1],
                predicted, logits[i]);
  }
  std::printf("%d of 4 correct after %d steps\n", correct, steps);
  dlc_model_free(model);
  return correct == 4 ? 0 : 1;
}
