/*===- FakeCudaDriver.c - a test double of libcuda for the host path ------===//
 *
 * Loaded by a --target=cuda library through DLC_CUDA_DRIVER on machines
 * without a GPU, to test what the library's driver shim does around the
 * kernels: opening the driver, loading the PTX, uploading the weights into
 * the module's globals, moving the tensors, reporting failures, freeing what
 * it allocated. Device memory is host memory; kernels do not run (a launch
 * only counts), so nothing here says whether the kernels are right.
 *
 * FAKE_CUDA_FAIL=<function> makes that driver function fail (e.g.
 * cuLaunchKernel); FAKE_CUDA_ERROR_SITE=<n> plays a kernel whose run-time
 * check failed at site n. At exit, with FAKE_CUDA_REPORT set, it prints what it
 * saw to stderr: modules, uploads (name and bytes), launches, allocations
 * still held.
 *===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum { kInvalidValue = 1, kNotFound = 500, kLaunchFailed = 719 };

static int modules, launches, uploads, allocations;
/* The module globals' memory, kept for the process's life (reachable, so
 * that LeakSanitizer does not count it). */
static void *globals[256];
static const char *ptxImage;

static int failing(const char *function) {
  const char *fail = getenv("FAKE_CUDA_FAIL");
  return fail && strcmp(fail, function) == 0;
}

static void report(void) {
  if (getenv("FAKE_CUDA_REPORT"))
    fprintf(stderr,
            "fake-cuda: modules %d, uploads %d, launches %d, allocations "
            "held %d\n",
            modules, uploads, launches, allocations);
}

CUresult cuInit(unsigned flags) {
  (void)flags;
  atexit(report);
  return failing("cuInit") ? 100 /* no device */ : 0;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  (void)device;
  static int fakeContext;
  *context = &fakeContext;
  return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  (void)device;
  return 0;
}
CUresult cuCtxPushCurrent_v2(void *context) {
  (void)context;
  return 0;
}
CUresult cuCtxPopCurrent_v2(void **context) {
  *context = NULL;
  return 0;
}
CUresult cuCtxSetCurrent(void *context) {
  (void)context;
  return 0;
}
CUresult cuModuleLoadData(void **module, const void *image) {
  if (failing("cuModuleLoadData"))
    return 218; /* invalid PTX */
  ptxImage = image;
  ++modules;
  *module = (void *)image;
  return 0;
}
CUresult cuModuleUnload(void *module) {
  (void)module;
  return 0;
}
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  (void)module;
  char entry[256];
  snprintf(entry, sizeof entry, ".entry %s(", name);
  if (!ptxImage || !strstr(ptxImage, entry))
    return kNotFound;
  *function = (void *)name;
  return 0;
}
/* The size of an array is read from the PTX's declaration `NAME[BYTES]`. */
CUresult cuModuleGetGlobal_v2(CUdeviceptr *address, size_t *bytes, void *module,
                              const char *name) {
  (void)module;
  /* The run-time checks' error site: one word (a scalar in the PTX), read
   * after every call. FAKE_CUDA_ERROR_SITE=N plays a kernel whose check
   * failed at site N. */
  if (strcmp(name, "dlc_device_error_site") == 0) {
    static int32_t site;
    static int set;
    if (!ptxImage || !strstr(ptxImage, " dlc_device_error_site"))
      return kNotFound;
    if (!set && getenv("FAKE_CUDA_ERROR_SITE"))
      site = atoi(getenv("FAKE_CUDA_ERROR_SITE"));
    set = 1;
    *bytes = sizeof site;
    *address = (CUdeviceptr)(uintptr_t)&site;
    return 0;
  }
  char declared[256];
  snprintf(declared, sizeof declared, " %s[", name);
  const char *at = ptxImage ? strstr(ptxImage, declared) : NULL;
  if (!at)
    return kNotFound;
  *bytes = strtoull(at + strlen(declared), NULL, 10);
  if (uploads >= (int)(sizeof globals / sizeof globals[0]))
    return 2;
  void *memory = calloc(1, *bytes);
  if (!memory)
    return 2;
  globals[uploads++] = memory;
  *address = (CUdeviceptr)(uintptr_t)memory;
  return 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr *address, size_t bytes) {
  if (failing("cuMemAlloc_v2"))
    return 2; /* out of memory */
  void *memory = calloc(1, bytes);
  if (!memory)
    return 2;
  ++allocations;
  *address = (CUdeviceptr)(uintptr_t)memory;
  return 0;
}
CUresult cuMemFree_v2(CUdeviceptr address) {
  --allocations;
  free((void *)(uintptr_t)address);
  return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr to, const void *from, size_t bytes,
                              void *stream) {
  (void)stream;
  memcpy((void *)(uintptr_t)to, from, bytes);
  return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *to, CUdeviceptr from, size_t bytes,
                              void *stream) {
  (void)stream;
  memcpy(to, (const void *)(uintptr_t)from, bytes);
  return 0;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr to, const void *from, size_t bytes) {
  memcpy((void *)(uintptr_t)to, from, bytes);
  return 0;
}
CUresult cuStreamCreate(void **stream, unsigned flags) {
  (void)flags;
  static int fakeStream;
  *stream = &fakeStream;
  return 0;
}
CUresult cuStreamSynchronize(void *stream) {
  (void)stream;
  return failing("cuStreamSynchronize") ? kLaunchFailed : 0;
}
CUresult cuStreamDestroy_v2(void *stream) {
  (void)stream;
  return 0;
}
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  (void)function, (void)gy, (void)gz, (void)by, (void)bz, (void)shared;
  (void)stream, (void)extra;
  if (failing("cuLaunchKernel"))
    return kLaunchFailed;
  if (!gx || !bx || bx > 1024 || !params)
    return kInvalidValue;
  ++launches;
  return 0;
}
CUresult cuGetErrorString(CUresult error, const char **text) {
  switch (error) {
  case 2:
    *text = "out of memory";
    return 0;
  case 100:
    *text = "no CUDA-capable device is detected";
    return 0;
  case 218:
    *text = "a PTX JIT compilation failed";
    return 0;
  case 500:
    *text = "named symbol not found";
    return 0;
  case 719:
    *text = "unspecified launch failure";
    return 0;
  default:
    *text = "invalid argument";
    return 0;
  }
}
