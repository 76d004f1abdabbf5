/* The single-core FMA peak of this machine, in GFLOP/s: dlc-bench compiles
 * this with -O2 -march=native -ffp-contract=fast and reports each model's
 * share of it.
 *
 * Independent vector accumulators (enough to hide the FMA latency on both
 * FMA ports), each updated with a fused multiply-add per iteration; the
 * widest vectors the target has (AVX-512: 16 floats, else 8). Prints the
 * best of several 0.1 s measurements and the vector width. */
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#define ACCUMULATORS 16
#else
#define LANES 8
#define ACCUMULATORS 12
#endif

typedef float vec __attribute__((vector_size(LANES * 4)));

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  vec acc[ACCUMULATORS];
  vec a, b;
  for (int l = 0; l < LANES; ++l) {
    a[l] = 0.999999f;
    b[l] = 1e-7f;
  }
  for (int i = 0; i < ACCUMULATORS; ++i)
    acc[i] = b * (float)i;
  double best = 0;
  const long iterations = 1 << 20;
  for (int trial = 0; trial < 8; ++trial) {
    double start = seconds();
    long done = 0;
    while (seconds() - start < 0.1) {
      for (long n = 0; n < iterations; ++n) {
        /* One FMA per accumulator; the asm keeps the values in registers
         * and the loop from being folded. */
        for (int i = 0; i < ACCUMULATORS; ++i)
          acc[i] = acc[i] * a + b; /* contracted to one FMA */
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]));
      }
      done += iterations;
    }
    double gflops = 2.0 * LANES * ACCUMULATORS * done / (seconds() - start) / 1e9;
    if (gflops > best)
      best = gflops;
  }
  float sink = 0;
  for (int i = 0; i < ACCUMULATORS; ++i)
    sink += acc[i][0];
  printf("%.1f %d\n", best, LANES);
  return sink == 12345.0f; /* uses the accumulators */
}
