/* Calls test_reshape_reordered_all_dims (data float32 [2, 3, 4], shape
 * int64 [3]) through its object and header, without the runtime: the output
 * has a run-time shape, so the call hands back a buffer and its dims. */
#include "reshape.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  float data[24];
  for (int i = 0; i < 24; ++i)
    data[i] = (float)i;
  int64_t shape[3] = {4, 0, -1}; /* 0 copies dim 1 (3), -1 takes 2 */
  int64_t slot[4] = {0, 0, 0, 0};
  void *inputs[] = {data, shape};
  void *outputs[] = {slot};
  void *workspace = aligned_alloc(64, RESHAPE_WORKSPACE_BYTES + 64);
  reshape_forward(inputs, outputs, workspace);
  const float *result = (const float *)(intptr_t)slot[0];
  int same = 0;
  for (int i = 0; i < 24; ++i)
    same += result[i] == data[i];
  printf("dims %lld %lld %lld, %d of 24 elements, aligned %d, error %d\n",
         (long long)slot[1], (long long)slot[2], (long long)slot[3], same,
         (int)((intptr_t)result % 64 == 0), reshape_take_error());
  free((void *)result);
  /* A shape of 25 elements fails the check; the buffer is still handed
   * back (of the fallback shape [24, 1, 1]). */
  shape[0] = 5;
  shape[1] = 5;
  shape[2] = 1;
  reshape_forward(inputs, outputs, workspace);
  printf("error %d, dims %lld %lld %lld\n", reshape_take_error(),
         (long long)slot[1], (long long)slot[2], (long long)slot[3]);
  free((void *)(intptr_t)slot[0]);
  free(workspace);
  return 0;
}
