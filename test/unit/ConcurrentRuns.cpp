//===- ConcurrentRuns.cpp - one loaded model run from many threads --------===//
//
// dlc-concurrent-runs LIB THREADS RUNS [SIZE]: loads the model library once,
// (SIZE: the size of every symbolic dim of its inputs and outputs) makes
// 4 sets of float32 inputs from a fixed seed (other dtypes are zeros), runs
// each set on the calling thread to get the reference outputs, then starts
// THREADS threads that together make THREADS * RUNS calls of dlc_model_run
// on the one instance, cycling through the input sets, and compares every
// output with its reference bit for bit. Exit status 1 on any difference
// or error, with the first one printed. It also prints the process's
// resident memory as thread 0 has made 100 of its calls (the warm-up) and
// all of them, so that a soak (1 thread, many runs) shows any growth.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

/// The process's resident memory in KiB (0 where /proc is not there). With
/// system calls only: a FILE would allocate, and the measure would see it.
long residentKiB() {
  int fd = ::open("/proc/self/statm", O_RDONLY);
  if (fd < 0)
    return 0;
  char text[128] = {};
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  long size = 0, resident = 0;
  if (n <= 0 || std::sscanf(text, "%ld %ld", &size, &resident) != 2)
    return 0;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Buffers {
  std::vector<std::vector<unsigned char>> data;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<dlc_tensor> tensors;
};

/// Symbolic dims (-1) take `symbolicSize`.
Buffers makeTensors(dlc_model *model, bool inputs, unsigned seed,
                    int64_t symbolicSize) {
  Buffers b;
  size_t n =
      inputs ? dlc_model_num_inputs(model) : dlc_model_num_outputs(model);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  b.data.resize(n);
  b.shapes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    dlc_tensor_info info;
    if (inputs)
      dlc_model_input_info(model, i, &info);
    else
      dlc_model_output_info(model, i, &info);
    size_t elements = 1;
    for (int32_t d = 0; d < info.rank; ++d) {
      b.shapes[i].push_back(info.shape[d] < 0 ? symbolicSize : info.shape[d]);
      elements *= static_cast<size_t>(b.shapes[i].back());
    }
    size_t bytes = elements * dlc_dtype_size(info.dtype);
    b.data[i].assign(bytes, 0);
    if (inputs && info.dtype == DLC_FLOAT32) {
      float *f = reinterpret_cast<float *>(b.data[i].data());
      for (size_t k = 0; k < bytes / sizeof(float); ++k)
        f[k] = uniform(rng);
    }
    b.tensors.push_back(
        {b.data[i].data(), info.dtype, info.rank, b.shapes[i].data()});
  }
  return b;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s LIB THREADS RUNS [SIZE]\n", argv[0]);
    return 2;
  }
  int threads = std::atoi(argv[2]), runs = std::atoi(argv[3]);
  int64_t symbolicSize = argc == 5 ? std::atoll(argv[4]) : 1;
  dlc_model *model = nullptr;
  if (dlc_model_load(argv[1], &model) != DLC_OK) {
    std::fprintf(stderr, "%s\n", dlc_last_error());
    return 1;
  }
  constexpr int kSets = 4;
  std::vector<Buffers> inputs, expected;
  for (int s = 0; s < kSets; ++s) {
    inputs.push_back(makeTensors(model, true, 1234 + s, symbolicSize));
    expected.push_back(makeTensors(model, false, 0, symbolicSize));
    Buffers &in = inputs.back(), &out = expected.back();
    if (dlc_model_run(model, in.tensors.data(), in.tensors.size(),
                      out.tensors.data(), out.tensors.size()) != DLC_OK) {
      std::fprintf(stderr, "reference run: %s\n", dlc_last_error());
      return 1;
    }
  }
  long warmResident = 0, endResident = 0;
  std::atomic<int> failures{0};
  std::string firstFailure;
  std::atomic_flag reported = ATOMIC_FLAG_INIT;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Buffers out = makeTensors(model, false, 0, symbolicSize);
      // The first measure in a thread pays for what it allocates once (the
      // thread's malloc arena): not the model's.
      if (t == 0)
        (void)residentKiB();
      for (int r = 0; r < runs; ++r) {
        int set = (t + r) % kSets;
        Buffers &in = inputs[set];
        std::string problem;
        if (dlc_model_run(model, in.tensors.data(), in.tensors.size(),
                          out.tensors.data(), out.tensors.size()) != DLC_OK)
          problem = std::string("run failed: ") + dlc_last_error();
        for (size_t o = 0; problem.empty() && o < out.data.size(); ++o)
          if (std::memcmp(out.data[o].data(), expected[set].data[o].data(),
                          out.data[o].size()) != 0)
            problem = "output " + std::to_string(o) + " differs";
        if (t == 0 && (r + 1 == std::min(runs, 100)))
          warmResident = residentKiB();
        if (t == 0 && r + 1 == runs)
          endResident = residentKiB();
        if (!problem.empty()) {
          ++failures;
          if (!reported.test_and_set())
            firstFailure = "thread " + std::to_string(t) + ", run " +
                           std::to_string(r) + ", input set " +
                           std::to_string(set) + ": " + problem;
        }
      }
    });
  for (std::thread &t : pool)
    t.join();
  dlc_model_free(model);
  if (failures) {
    std::fprintf(stderr, "%d of %d runs wrong; first: %s\n", failures.load(),
                 threads * runs, firstFailure.c_str());
    return 1;
  }
  std::printf("%d threads x %d runs: every output identical to the "
              "single-threaded run\n",
              threads, runs);
  std::printf("resident memory: %ld KiB after thread 0's first %d runs, "
              "%ld KiB after its %d\n",
              warmResident, std::min(runs, 100), endResident, runs);
  return 0;
}
