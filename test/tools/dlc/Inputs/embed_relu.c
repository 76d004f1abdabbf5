// Calls a model object directly, as a product embedding dlc's output would.
#include "relu.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  float x[60], y[60];
  for (int i = 0; i < 60; ++i)
    x[i] = (float)(i - 30) / 7.0f;
  void *inputs[] = {x}, *outputs[] = {y};
  printf("%d threads\n", relu_set_num_threads(2));
  void *workspace = aligned_alloc(64, RELU_WORKSPACE_BYTES + 64);
  relu_forward(inputs, outputs, workspace);
  int equal = 0;
  for (int i = 0; i < 60; ++i)
    equal += y[i] == (x[i] > 0 ? x[i] : 0.0f);
  printf("%d of 60 outputs equal max(x, 0)\n", equal);
  free(workspace);
  return equal == 60 ? 0 : 1;
}
