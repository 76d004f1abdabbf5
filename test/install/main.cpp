// tiny OUT.so: defines y = relu(x W^T + b) with the DSL, compiles it, runs it
// with the runtime and checks the result against loops; exit 0 when equal.
#include <dlc/dsl.h>
#include <dlc/runtime.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

namespace nn = dlc::dsl;

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  nn::Model m("tiny", /*seed=*/3);
  nn::Tensor x = m.input("x", nn::f32({2, 3}));
  m.output("y", nn::relu(m.linear("fc", 3, 4)(x)));
  m.summary(std::cout);
  m.compile(argv[1]);

  dlc_model *model = nullptr;
  if (dlc_model_load(argv[1], &model) != DLC_OK) {
    std::fprintf(stderr, "%s\n", dlc_last_error());
    return 1;
  }
  std::vector<float> in = {1, -2, 0.5f, 0.25f, 3, -1}, out(8);
  int64_t inShape[2] = {2, 3}, outShape[2] = {2, 4};
  dlc_tensor input{in.data(), DLC_FLOAT32, 2, inShape};
  dlc_tensor output{out.data(), DLC_FLOAT32, 2, outShape};
  if (dlc_model_run(model, &input, 1, &output, 1) != DLC_OK) {
    std::fprintf(stderr, "%s\n", dlc_last_error());
    return 1;
  }
  std::vector<float> w = m.parameter("fc.weight"), b = m.parameter("fc.bias");
  int wrong = 0;
  for (int i = 0; i < 2; ++i)
    for (int o = 0; o < 4; ++o) {
      double acc = b[o];
      for (int k = 0; k < 3; ++k)
        acc += in[i * 3 + k] * w[o * 3 + k];
      double want = acc > 0 ? acc : 0;
      wrong += std::fabs(out[i * 4 + o] - want) > 1e-5 + 1e-5 * std::fabs(want);
    }
  dlc_model_free(model);
  std::printf("%s\n", wrong ? "tiny: WRONG" : "tiny: ok");
  return wrong ? 1 : 0;
}
