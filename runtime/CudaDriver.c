/*===- CudaDriver.c - the CUDA driver shim a GPU model library carries ----===//
 *
 * Compiled to LLVM bitcode when dlc is built and linked into each library
 * generated with --target=cuda (compiler/Codegen.cpp), where all of it
 * becomes internal, as the thread pool does: the library needs no CUDA
 * toolkit to link or to load. The driver (libcuda.so.1, or the file
 * $DLC_CUDA_DRIVER names) is opened with dlopen on the first run, never when
 * the library is loaded.
 *
 * MLIR's gpu-to-llvm lowering calls the mgpu* functions below (module load,
 * kernel lookup, stream, launch); upstream implements them on the CUDA
 * runtime library, which Debian does not ship, so these are dlc's own:
 * - mgpuModuleLoadJIT only records the PTX image (it runs from a global
 *   constructor when the library is loaded); the module is loaded, and the
 *   weights uploaded into its device globals (dlc_cuda_upload_table), on the
 *   first kernel lookup.
 * - every launch of a call goes to the call's own stream, created by
 *   dlc_cuda_enter and synchronized once by dlc_cuda_leave: the per-launch
 *   stream create/sync/destroy of the generated code are no-ops.
 * - a driver error never aborts: the first one of a call is kept with the
 *   driver's message, later driver calls of that call are skipped, and the
 *   entry wrapper reports it (dlc_report_error(-1)); the runtime reads the
 *   message through <prefix>_device_error.
 *
 * The functions that touch the thread-local call state are noinline, for
 * the reason Codegen.cpp gives for the run-time checks' slot.
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLC_NOINLINE __attribute__((noinline))

/* The driver API's types and the functions used, declared here (no cuda.h
 * needed to build dlc). */
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;

static struct {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxPushCurrent)(CUcontext);
  CUresult (*ctxPopCurrent)(CUcontext *);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*moduleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*getErrorString)(CUresult, const char **);
} cu;

enum { kMessageBytes = 512 };

/* The driver and its context: opened once per library, under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int driverState; /* 0: not ready, 1: ready, -1: failed for good */
static char driverError[kMessageBytes];
static void *driver;
static CUdevice device;
static CUcontext context;
/* The library's PTX module (one per library). */
static struct dlc_cuda_module *libraryModule;
/* Calls of a model with run-time checks take turns: they share the device
 * module's error site. */
static pthread_mutex_t checkedCalls = PTHREAD_MUTEX_INITIALIZER;

/* The PTX modules (one per library) and whether their weights are on the
 * device. */
typedef struct dlc_cuda_module {
  const char *ptx;
  CUmodule module;
  int loaded; /* read without the lock (atomically) once set */
} dlc_cuda_module;

/* The calling thread's current call. */
typedef struct dlc_cuda_call {
  CUstream stream;
  int failed;
  int checked; /* holds checkedCalls */
  char message[kMessageBytes];
} dlc_cuda_call;
static __thread dlc_cuda_call *currentCall;
static __thread char lastError[kMessageBytes];

/* What the generated code defines: the host copies of the device globals
 * the runtime uploads (merge-kernel-modules marks them). */
typedef struct dlc_cuda_upload {
  const char *name;
  const void *host;
  uint64_t bytes;
} dlc_cuda_upload;
const dlc_cuda_upload *dlc_cuda_upload_table(uint64_t *count);
/* The device global the kernels' run-time checks write their site into
 * (merge-kernel-modules), or NULL when the model has no checks. */
const char *dlc_cuda_error_site_name(void);
void dlc_report_error(int site);

static const char *resultText(CUresult r) {
  const char *text = NULL;
  if (cu.getErrorString && cu.getErrorString(r, &text) == 0 && text)
    return text;
  return "unknown CUDA error";
}

/* Keeps the call's first failure. */
DLC_NOINLINE static void callFailed(const char *format, ...) {
  dlc_cuda_call *call = currentCall;
  if (!call || call->failed)
    return;
  call->failed = 1;
  va_list args;
  va_start(args, format);
  vsnprintf(call->message, sizeof call->message, format, args);
  va_end(args);
}

/* Checks a driver call's result; 0 when the call failed. */
static int check(CUresult r, const char *what) {
  if (r == 0)
    return 1;
  callFailed("%s failed: %s (CUDA error %d)", what, resultText(r), r);
  return 0;
}

DLC_NOINLINE static int callOk(void) {
  return currentCall && !currentCall->failed;
}

/* Opens the driver and retains device 0's primary context; 0 (with
 * driverError set) when there is none. A missing or unusable driver is
 * remembered; a context that could not be had (the GPU busy in exclusive
 * mode, out of memory) is tried again on the next call. Under `lock`. */
static int openDriver(void) {
  if (driverState)
    return driverState > 0;
  if (!driver) {
    const char *path = getenv("DLC_CUDA_DRIVER");
    if (!path || !*path)
      path = "libcuda.so.1";
    driver = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!driver) {
      snprintf(driverError, sizeof driverError,
               "no CUDA driver: %s (the model runs on an NVIDIA GPU; install "
               "the NVIDIA driver)",
               dlerror());
      driverState = -1;
      return 0;
    }
    struct {
      void **slot;
      const char *name;
    } symbols[] = {
        {(void **)&cu.init, "cuInit"},
        {(void **)&cu.deviceGet, "cuDeviceGet"},
        {(void **)&cu.primaryCtxRetain, "cuDevicePrimaryCtxRetain"},
        {(void **)&cu.primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
        {(void **)&cu.ctxSetCurrent, "cuCtxSetCurrent"},
        {(void **)&cu.ctxPushCurrent, "cuCtxPushCurrent_v2"},
        {(void **)&cu.ctxPopCurrent, "cuCtxPopCurrent_v2"},
        {(void **)&cu.moduleLoadData, "cuModuleLoadData"},
        {(void **)&cu.moduleUnload, "cuModuleUnload"},
        {(void **)&cu.moduleGetFunction, "cuModuleGetFunction"},
        {(void **)&cu.moduleGetGlobal, "cuModuleGetGlobal_v2"},
        {(void **)&cu.memAlloc, "cuMemAlloc_v2"},
        {(void **)&cu.memFree, "cuMemFree_v2"},
        {(void **)&cu.memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
        {(void **)&cu.memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
        {(void **)&cu.memcpyHtoD, "cuMemcpyHtoD_v2"},
        {(void **)&cu.streamCreate, "cuStreamCreate"},
        {(void **)&cu.streamSynchronize, "cuStreamSynchronize"},
        {(void **)&cu.streamDestroy, "cuStreamDestroy_v2"},
        {(void **)&cu.launchKernel, "cuLaunchKernel"},
        {(void **)&cu.getErrorString, "cuGetErrorString"},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; ++i) {
      *symbols[i].slot = dlsym(driver, symbols[i].name);
      if (!*symbols[i].slot) {
        snprintf(driverError, sizeof driverError,
                 "the CUDA driver %s has no %s (too old a driver?)", path,
                 symbols[i].name);
        driverState = -1;
        return 0;
      }
    }
    CUresult r = cu.init(0);
    if (r != 0) {
      snprintf(driverError, sizeof driverError,
               "the CUDA driver found no usable GPU: %s (CUDA error %d)",
               resultText(r), r);
      driverState = -1;
      return 0;
    }
  }
  CUresult r = cu.deviceGet(&device, 0);
  if (r == 0)
    r = cu.primaryCtxRetain(&context, device);
  if (r != 0) {
    snprintf(driverError, sizeof driverError,
             "the CUDA driver found no usable GPU: %s (CUDA error %d)",
             resultText(r), r);
    return 0;
  }
  driverState = 1;
  return 1;
}

/* Loads `m` and uploads the weights into its globals once; a module that
 * failed half way is unloaded (the next call tries again). Under `lock`. */
static int uploadWeights(dlc_cuda_module *m) {
  uint64_t count = 0;
  const dlc_cuda_upload *uploads = dlc_cuda_upload_table(&count);
  for (uint64_t i = 0; i < count; ++i) {
    CUdeviceptr address;
    size_t bytes;
    if (!check(cu.moduleGetGlobal(&address, &bytes, m->module, uploads[i].name),
               "finding a weight's device copy (cuModuleGetGlobal)"))
      return 0;
    if (bytes != uploads[i].bytes) {
      callFailed("the device copy of %s has %zu bytes, not %llu",
                 uploads[i].name, bytes, (unsigned long long)uploads[i].bytes);
      return 0;
    }
    if (!check(cu.memcpyHtoD(address, uploads[i].host, bytes),
               "uploading the weights (cuMemcpyHtoD)"))
      return 0;
  }
  return 1;
}

static int loadModule(dlc_cuda_module *m) {
  if (m->loaded)
    return 1;
  if (!check(cu.moduleLoadData(&m->module, m->ptx),
             "loading the model's PTX (cuModuleLoadData)"))
    return 0;
  if (!uploadWeights(m)) {
    cu.moduleUnload(m->module);
    m->module = NULL;
    return 0;
  }
  __atomic_store_n(&m->loaded, 1, __ATOMIC_RELEASE);
  return 1;
}

/* ---- what the generated code calls (gpu-to-llvm) ---- */

void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  (void)optLevel;
  dlc_cuda_module *m = calloc(1, sizeof *m);
  if (m)
    m->ptx = ptx;
  libraryModule = m;
  return m;
}

/* Runs when the library is unloaded (a global destructor), on whatever
 * thread unloads it: the module is unloaded in the library's context, which
 * is then released. */
void mgpuModuleUnload(void *module) {
  dlc_cuda_module *m = module;
  if (!m)
    return;
  pthread_mutex_lock(&lock);
  if (driverState > 0) {
    CUcontext previous;
    if (cu.ctxPushCurrent(context) == 0) {
      if (m->loaded)
        cu.moduleUnload(m->module);
      cu.ctxPopCurrent(&previous);
    }
    cu.primaryCtxRelease(device);
    driverState = 0;
  }
  pthread_mutex_unlock(&lock);
  if (libraryModule == m)
    libraryModule = NULL;
  free(m);
}

DLC_NOINLINE void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!callOk())
    return NULL;
  dlc_cuda_module *m = module;
  if (!m) {
    callFailed("the library's PTX module could not be recorded (out of "
               "memory at load)");
    return NULL;
  }
  CUfunction function = NULL;
  int ok = __atomic_load_n(&m->loaded, __ATOMIC_ACQUIRE);
  if (!ok) {
    pthread_mutex_lock(&lock);
    ok = loadModule(m);
    pthread_mutex_unlock(&lock);
  }
  if (ok)
    check(cu.moduleGetFunction(&function, m->module, name),
          "finding a kernel (cuModuleGetFunction)");
  return function;
}

DLC_NOINLINE void *mgpuStreamCreate(void) {
  return currentCall ? currentCall->stream : NULL;
}

void mgpuStreamSynchronize(void *stream) { (void)stream; }

void mgpuStreamDestroy(void *stream) { (void)stream; }

DLC_NOINLINE void mgpuLaunchKernel(void *function, intptr_t gridX,
                                   intptr_t gridY, intptr_t gridZ,
                                   intptr_t blockX, intptr_t blockY,
                                   intptr_t blockZ, int32_t sharedBytes,
                                   void *stream, void **params, void **extra,
                                   size_t paramsCount) {
  (void)paramsCount;
  if (!callOk() || !function)
    return;
  check(cu.launchKernel(function, (unsigned)gridX, (unsigned)gridY,
                        (unsigned)gridZ, (unsigned)blockX, (unsigned)blockY,
                        (unsigned)blockZ, (unsigned)sharedBytes, stream, params,
                        extra),
        "launching a kernel (cuLaunchKernel)");
}

/* ---- what the entry wrapper calls ---- */

/* Starts a call: makes the driver ready, creates the call's stream,
 * allocates the device copies of the inputs, outputs and workspace and
 * copies the inputs there. Returns the call (NULL only when out of memory);
 * dlc_cuda_ok says whether the model may run. dlc_cuda_leave ends every
 * call, failed or not. */
DLC_NOINLINE dlc_cuda_call *
dlc_cuda_enter(void *const *inputs, const uint64_t *inputBytes, int numInputs,
               const uint64_t *outputBytes, int numOutputs,
               uint64_t workspaceBytes, CUdeviceptr *devInputs,
               CUdeviceptr *devOutputs, CUdeviceptr *devWorkspace) {
  memset(devInputs, 0, sizeof *devInputs * (size_t)numInputs);
  memset(devOutputs, 0, sizeof *devOutputs * (size_t)numOutputs);
  *devWorkspace = 0;
  dlc_cuda_call *call = calloc(1, sizeof *call);
  currentCall = call;
  if (!call) {
    snprintf(lastError, sizeof lastError, "out of host memory");
    dlc_report_error(-1);
    return NULL;
  }
  if (dlc_cuda_error_site_name()) {
    pthread_mutex_lock(&checkedCalls);
    call->checked = 1;
  }
  pthread_mutex_lock(&lock);
  int ready = openDriver();
  pthread_mutex_unlock(&lock);
  if (!ready) {
    callFailed("%s", driverError);
    return call;
  }
  if (!check(cu.ctxSetCurrent(context), "cuCtxSetCurrent") ||
      !check(cu.streamCreate(&call->stream, 0), "cuStreamCreate"))
    return call;
  for (int i = 0; i < numInputs && callOk(); ++i)
    if (check(cu.memAlloc(&devInputs[i], inputBytes[i] ? inputBytes[i] : 1),
              "allocating device memory (cuMemAlloc)"))
      check(cu.memcpyHtoDAsync(devInputs[i], inputs[i], inputBytes[i],
                               call->stream),
            "copying an input to the device (cuMemcpyHtoDAsync)");
  for (int i = 0; i < numOutputs && callOk(); ++i)
    check(cu.memAlloc(&devOutputs[i], outputBytes[i] ? outputBytes[i] : 1),
          "allocating device memory (cuMemAlloc)");
  if (workspaceBytes && callOk())
    check(cu.memAlloc(devWorkspace, workspaceBytes),
          "allocating device memory (cuMemAlloc)");
  return call;
}

DLC_NOINLINE int dlc_cuda_ok(dlc_cuda_call *call) {
  return call && !call->failed;
}

/* Reports the first run-time check that failed in the call's kernels (the
 * runtime turns its site into the manifest's message) and clears it. */
static void readErrorSite(dlc_cuda_call *call) {
  dlc_cuda_module *m = libraryModule;
  if (!m || !__atomic_load_n(&m->loaded, __ATOMIC_ACQUIRE))
    return; /* no kernel ran */
  CUdeviceptr address;
  size_t bytes;
  int32_t site = 0;
  static const int32_t zero = 0;
  if (!check(cu.moduleGetGlobal(&address, &bytes, m->module,
                                dlc_cuda_error_site_name()),
             "finding the run-time checks' error site (cuModuleGetGlobal)") ||
      !check(cu.memcpyDtoHAsync(&site, address, sizeof site, call->stream),
             "reading the run-time checks' error site") ||
      !check(cu.streamSynchronize(call->stream),
             "reading the run-time checks' error site"))
    return;
  if (site == 0)
    return;
  dlc_report_error(site);
  check(cu.memcpyHtoD(address, &zero, sizeof zero),
        "clearing the run-time checks' error site");
}

/* Waits for the call's kernels, copies the outputs back, frees what
 * dlc_cuda_enter allocated (also after a failure) and reports the call's
 * first failure. */
DLC_NOINLINE void dlc_cuda_leave(dlc_cuda_call *call, void *const *outputs,
                                 const uint64_t *outputBytes, int numOutputs,
                                 CUdeviceptr *devInputs, int numInputs,
                                 CUdeviceptr *devOutputs,
                                 CUdeviceptr devWorkspace) {
  if (!call)
    return;
  if (driverState > 0 && call->stream) {
    for (int i = 0; i < numOutputs && callOk(); ++i)
      check(cu.memcpyDtoHAsync(outputs[i], devOutputs[i], outputBytes[i],
                               call->stream),
            "copying an output from the device (cuMemcpyDtoHAsync)");
    /* Kernel faults surface here. */
    check(cu.streamSynchronize(call->stream),
          "running the model's kernels (cuStreamSynchronize)");
    if (call->checked && callOk())
      readErrorSite(call);
    for (int i = 0; i < numInputs; ++i)
      if (devInputs[i])
        cu.memFree(devInputs[i]);
    for (int i = 0; i < numOutputs; ++i)
      if (devOutputs[i])
        cu.memFree(devOutputs[i]);
    if (devWorkspace)
      cu.memFree(devWorkspace);
    cu.streamDestroy(call->stream);
  }
  currentCall = NULL;
  if (call->failed) {
    memcpy(lastError, call->message, sizeof lastError);
    dlc_report_error(-1);
  }
  if (call->checked)
    pthread_mutex_unlock(&checkedCalls);
  free(call);
}

/* The calling thread's last device failure (exported as
 * <prefix>_device_error). */
DLC_NOINLINE const char *dlc_cuda_last_error(void) { return lastError; }
