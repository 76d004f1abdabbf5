/* Calls a Relu on x [N, 3] (N a dim_param left symbolic) through its object
 * and header, without the runtime: inputs[NUM_INPUTS] points to the dims
 * given by the call, and the output, of a run-time shape, comes back as a
 * buffer and its dims. */
#include "dynamic.h"

#include <stdio.h>
#include <stdlib.h>

static void run(int64_t rows) {
  float data[3 * 8];
  for (int i = 0; i < 3 * rows; ++i)
    data[i] = (float)(i % 2 ? i : -i);
  int64_t dims[1] = {rows};
  int64_t slot[3] = {0, 0, 0};
  void *inputs[DYN_NUM_INPUTS + 1] = {data, dims};
  void *outputs[] = {slot};
  void *workspace = aligned_alloc(64, DYN_WORKSPACE_BYTES + 64);
  dyn_forward(inputs, outputs, workspace);
  const float *result = (const float *)(intptr_t)slot[0];
  int right = 0;
  for (int i = 0; i < 3 * rows; ++i)
    right += result[i] == (data[i] > 0 ? data[i] : 0.0f);
  printf("rows %lld: dims %lld %lld, %d of %lld right\n", (long long)rows,
         (long long)slot[1], (long long)slot[2], right, (long long)(3 * rows));
  free((void *)result);
  free(workspace);
}

int main(void) {
  run(2);
  run(7);
  return 0;
}
