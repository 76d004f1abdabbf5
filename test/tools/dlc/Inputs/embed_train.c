// Trains a model object directly, without the runtime: two state buffers,
// the step reading one and writing the other, as the header describes.
#include "logloss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  unsigned char *state = aligned_alloc(64, LOGLOSS_STATE_BYTES);
  unsigned char *next = aligned_alloc(64, LOGLOSS_STATE_BYTES);
  void *workspace = aligned_alloc(64, LOGLOSS_STEP_WORKSPACE_BYTES + 64);
  memcpy(state, logloss_initial_state, LOGLOSS_STATE_BYTES);
  float x[2] = {1, 1}, lr = 0.1f, loss, grad[2];
  for (int step = 1; step <= 2; ++step) {
    // State tensors: w at offset 0, the step counter at 64 (see the header).
    void *inputs[] = {x, &lr, state, state + 64};
    void *outputs[] = {&loss, next, next + 64, grad};
    logloss_train_step(inputs, outputs, workspace);
    float *w = (float *)next;
    printf("step %d: loss %.5f, w %.5f %.5f, steps %.0f\n", step, loss, w[0],
           w[1], *(float *)(next + 64));
    unsigned char *swap = state;
    state = next;
    next = swap;
  }
  free(state);
  free(next);
  free(workspace);
  return 0;
}
