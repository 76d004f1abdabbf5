/*===- ThreadPool.c - the thread pool every model library carries ---------===//
 *
 * Compiled to LLVM bitcode when dlc is built and linked into each generated
 * module (compiler/Codegen.cpp), where all of it becomes internal: a model
 * library or object needs only libc and pthreads, and two models in one
 * process have two pools.
 *
 * Generated code calls dlc_pool_parallel_for for the outer loop of a kernel
 * that is worth splitting. The range [0, n) is cut into one contiguous chunk
 * per thread (at most n / min_chunk chunks), and the caller and the workers
 * claim chunks until none is left: a worker the OS has not scheduled yet
 * does not hold the loop up, the caller runs its chunk. Chunk boundaries
 * depend only on n and the chunk count, and generated code splits only
 * loops whose iterations write disjoint data, so results do not depend on
 * the thread count or on who ran which chunk.
 *
 * One parallel loop runs on the pool at a time. A second caller (another
 * thread running the model, or a nested loop) runs its whole range on its own
 * thread instead of waiting.
 *
 * Workers spin for a short while after each loop (the next kernel usually
 * follows within microseconds), then sleep on a condition variable.
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef void (*dlc_task_fn)(void *ctx, int64_t begin, int64_t end);

enum { kMaxThreads = 256, kSpinMicroseconds = 2000 };

typedef struct dlc_pool {
  /* Held by the thread whose loop runs on the pool. */
  pthread_mutex_t busy;
  /* Guards the workers' sleep and the worker set (start, stop). */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int requested;  /* threads asked for; 0 until set or first use */
  int running;    /* workers started (threads - 1) */
  int stopping;
  pthread_t workers[kMaxThreads];
  /* The loop being run. A new loop bumps `generation`; `claim` packs the
   * generation (bits 32-63), the loop's chunk count (bits 16-31) and the
   * next unclaimed chunk (bits 0-15), so that one load sees a generation,
   * its count and its progress together. A thread reads fn, ctx and n only
   * after claiming a chunk of the current generation with a CAS on `claim`,
   * and the next loop is published only when every chunk is done, so the
   * fields it reads belong to the loop it claimed from. */
  dlc_task_fn fn;
  void *ctx;
  int64_t n;
  uint64_t generation;
  uint64_t claim;
  int64_t done; /* chunks finished */
  int shutdown; /* the library is being unloaded: loops run serially */
} dlc_pool;

static dlc_pool pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                        PTHREAD_COND_INITIALIZER};

/* ThreadSanitizer's annotations, where the process has its run time (a test
 * built with -fsanitize=thread): the pool's atomics are not instrumented,
 * so without them it cannot see that a loop's chunks happen after the
 * caller's writes and before its reads. Weak references: in any other
 * process they are null and skipped, and the library needs nothing more. */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

static void happensBefore(void *addr) {
  if (__tsan_release)
    __tsan_release(addr);
}

static void happensAfter(void *addr) {
  if (__tsan_acquire)
    __tsan_acquire(addr);
}

static void cpuRelax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int64_t nowNanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* At most kMaxThreads. */
static int capThreads(long n) {
  return n > kMaxThreads ? kMaxThreads : (int)n;
}

static int64_t chunkBegin(int64_t n, int chunks, int chunk) {
  /* n * chunk / chunks without overflow for any n that indexes memory. */
  return (int64_t)((__int128)n * chunk / chunks);
}

/* Claims and runs chunks of loop `generation` until none is left. */
static void runChunks(uint64_t generation) {
  uint64_t claim = __atomic_load_n(&pool.claim, __ATOMIC_ACQUIRE);
  for (;;) {
    if (claim >> 32 != (generation & 0xffffffffu))
      return; /* a later loop: this one is over */
    int chunks = (int)((claim >> 16) & 0xffff);
    int chunk = (int)(claim & 0xffff);
    if (chunk >= chunks)
      return;
    if (!__atomic_compare_exchange_n(&pool.claim, &claim, claim + 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue; /* `claim` was reloaded */
    happensAfter(&pool.claim);
    pool.fn(pool.ctx, chunkBegin(pool.n, chunks, chunk),
            chunkBegin(pool.n, chunks, chunk + 1));
    happensBefore(&pool.done);
    __atomic_fetch_add(&pool.done, 1, __ATOMIC_RELEASE);
    claim = __atomic_load_n(&pool.claim, __ATOMIC_ACQUIRE);
  }
}

static void *workerMain(void *arg) {
  /* The generation when this worker was created (not pool.generation: the
   * first loop may be published before this runs). */
  uint64_t seen = (uint64_t)(uintptr_t)arg;
  for (;;) {
    /* Spin, then sleep, until a new loop or a stop request. */
    int64_t spinUntil = nowNanoseconds() + kSpinMicroseconds * 1000;
    unsigned spins = 0;
    uint64_t generation;
    while ((generation = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE)) ==
               seen &&
           !__atomic_load_n(&pool.stopping, __ATOMIC_ACQUIRE)) {
      cpuRelax();
      if ((++spins & 1023) != 0)
        continue;
      if (nowNanoseconds() > spinUntil) {
        pthread_mutex_lock(&pool.lock);
        while (__atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE) == seen &&
               !pool.stopping)
          pthread_cond_wait(&pool.wake, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
      }
    }
    if (__atomic_load_n(&pool.stopping, __ATOMIC_ACQUIRE))
      return NULL;
    seen = generation;
    runChunks(generation);
  }
}

static int defaultThreads(void) {
  const char *env = getenv("DLC_NUM_THREADS");
  if (env && *env) {
    char *end;
    long v = strtol(env, &end, 10);
    if (*end == '\0' && v >= 1)
      return capThreads(v);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count >= 1)
      return capThreads(count);
  }
  return 1;
}

/* Stops and joins the workers. Called with `busy` held. */
static void stopWorkers(void) {
  if (pool.running == 0)
    return;
  pthread_mutex_lock(&pool.lock);
  __atomic_store_n(&pool.stopping, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  for (int i = 0; i < pool.running; ++i)
    pthread_join(pool.workers[i], NULL);
  pool.running = 0;
  __atomic_store_n(&pool.stopping, 0, __ATOMIC_RELEASE);
}

/*===- Buffer cache -------------------------------------------------------===
 *
 * Buffers whose sizes are known only at run time (symbolic dims) are
 * allocated and freed on every call, and the same sizes come back call after
 * call. Freed ones wait here for the next request of about their size
 * instead of going back to libc, whose heap trimming and page faults cost
 * more than the kernels of a small model. Generated code allocates through
 * these two functions (finalize-memref-to-llvm's generic allocation
 * functions); every block is a plain aligned_alloc block, so the runtime
 * may free outputs handed to the caller with free().
 *===----------------------------------------------------------------------===*/

enum { kCachedBuffers = 64 };
/* At most this many bytes wait in the cache. */
static const size_t kCachedBytes = (size_t)256 << 20;

static struct {
  void *ptr;
  size_t size; /* malloc_usable_size */
} cached[kCachedBuffers];
static size_t cachedCount, cachedBytes;
static pthread_mutex_t cacheLock = PTHREAD_MUTEX_INITIALIZER;

/* The child of a fork resets the pool's and the cache's locks (forkChild),
 * registered once by the first loop or allocation. */
static pthread_once_t forkHandlerOnce = PTHREAD_ONCE_INIT;
static void registerForkHandler(void);

void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t size) {
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  pthread_once(&forkHandlerOnce, registerForkHandler);
  pthread_mutex_lock(&cacheLock);
  /* The most recently freed block that fits, wasting at most a quarter. */
  for (size_t i = cachedCount; i-- > 0;) {
    size_t have = cached[i].size;
    if (have >= size && have - size <= size / 4 + 64 &&
        (uintptr_t)cached[i].ptr % alignment == 0) {
      void *p = cached[i].ptr;
      cachedBytes -= have;
      cached[i] = cached[--cachedCount];
      pthread_mutex_unlock(&cacheLock);
      return p;
    }
  }
  pthread_mutex_unlock(&cacheLock);
  uint64_t rounded = (size + alignment - 1) / alignment * alignment;
  return aligned_alloc(alignment, rounded ? rounded : alignment);
}

void _mlir_memref_to_llvm_free(void *p) {
  if (!p)
    return;
  size_t size = malloc_usable_size(p);
  if (size > kCachedBytes) {
    free(p);
    return;
  }
  pthread_mutex_lock(&cacheLock);
  /* The oldest blocks make room (sizes of an earlier call that later calls
   * may not ask for again). */
  while (cachedCount == kCachedBuffers || cachedBytes + size > kCachedBytes) {
    free(cached[0].ptr);
    cachedBytes -= cached[0].size;
    --cachedCount;
    for (size_t i = 0; i < cachedCount; ++i)
      cached[i] = cached[i + 1];
  }
  cached[cachedCount].ptr = p;
  cached[cachedCount].size = size;
  ++cachedCount;
  cachedBytes += size;
  pthread_mutex_unlock(&cacheLock);
}

/* A fork waits for the cache to be consistent (no thread of the parent in
 * the middle of an update), and the child starts with its lock free. */
static void forkPrepare(void) { pthread_mutex_lock(&cacheLock); }
static void forkParent(void) { pthread_mutex_unlock(&cacheLock); }

/* A child process has none of its parent's workers, and the parent's locks
 * may have been held by a thread that does not exist in the child. */
static void forkChild(void) {
  pthread_mutex_init(&cacheLock, NULL);
  pthread_mutex_init(&pool.busy, NULL);
  pthread_mutex_init(&pool.lock, NULL);
  pthread_cond_init(&pool.wake, NULL);
  pool.running = 0;
  pool.stopping = 0;
}

static void registerForkHandler(void) {
  pthread_atfork(forkPrepare, forkParent, forkChild);
}

/* Starts the workers the thread count asks for. Called with `busy` held. A
 * worker that cannot be started leaves the pool smaller. */
static void startWorkers(void) {
  pthread_once(&forkHandlerOnce, registerForkHandler);
  if (pool.requested == 0)
    pool.requested = defaultThreads();
  while (pool.running < pool.requested - 1) {
    if (pthread_create(&pool.workers[pool.running], NULL, workerMain,
                       (void *)(uintptr_t)pool.generation) != 0)
      break;
    ++pool.running;
  }
}

/* Sets the number of threads loops run on (the caller included); n < 1
 * means the default (DLC_NUM_THREADS, else the CPUs this process may use).
 * Waits for a loop that is running to finish. Returns the new count. */
int dlc_pool_set_num_threads(int n) {
  pthread_mutex_lock(&pool.busy);
  stopWorkers();
  pool.requested = n >= 1 ? capThreads(n)
                          : defaultThreads();
  int result = pool.requested;
  pthread_mutex_unlock(&pool.busy);
  return result;
}

/* The number of threads loops run on. */
int dlc_pool_num_threads(void) {
  pthread_mutex_lock(&pool.busy);
  if (pool.requested == 0)
    pool.requested = defaultThreads();
  int result = pool.requested;
  pthread_mutex_unlock(&pool.busy);
  return result;
}

static void parallelFor(dlc_task_fn fn, void *ctx, int64_t n,
                        int64_t minChunk) {
  if (n <= 0)
    return;
  if (minChunk < 1)
    minChunk = 1;
  if (n < 2 * minChunk || pthread_mutex_trylock(&pool.busy) != 0) {
    fn(ctx, 0, n);
    return;
  }
  if (pool.shutdown) {
    pthread_mutex_unlock(&pool.busy);
    fn(ctx, 0, n);
    return;
  }
  startWorkers();
  int64_t chunks = pool.running + 1;
  if (chunks > n / minChunk)
    chunks = n / minChunk;
  if (chunks <= 1) {
    pthread_mutex_unlock(&pool.busy);
    fn(ctx, 0, n);
    return;
  }
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  uint64_t generation = pool.generation + 1;
  __atomic_store_n(&pool.done, 0, __ATOMIC_RELAXED);
  happensBefore(&pool.claim);
  __atomic_store_n(&pool.claim,
                   (generation & 0xffffffffu) << 32 | (uint64_t)chunks << 16,
                   __ATOMIC_RELEASE);
  pthread_mutex_lock(&pool.lock);
  __atomic_store_n(&pool.generation, generation, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  runChunks(generation);
  for (unsigned spins = 1;
       __atomic_load_n(&pool.done, __ATOMIC_ACQUIRE) != chunks; ++spins) {
    cpuRelax();
    if ((spins & 65535) == 0)
      sched_yield(); /* a worker running a chunk may be waiting for this CPU */
  }
  happensAfter(&pool.done);
  pthread_mutex_unlock(&pool.busy);
}

/* Per-kernel profile: while enabled, every loop's wall time is added to
 * its kernel's entry (kernels are told apart by their name's address; the
 * names are the ONNX nodes the loops come from). */
enum { kMaxProfileEntries = 4096 };
static int profiling;
static pthread_mutex_t profileLock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  const char *name;
  int64_t calls, nanoseconds;
} profile[kMaxProfileEntries];
static size_t profileSize;

void dlc_pool_parallel_for(dlc_task_fn fn, void *ctx, int64_t n,
                           int64_t minChunk, const char *name) {
  if (!__atomic_load_n(&profiling, __ATOMIC_RELAXED)) {
    parallelFor(fn, ctx, n, minChunk);
    return;
  }
  int64_t start = nowNanoseconds();
  parallelFor(fn, ctx, n, minChunk);
  int64_t elapsed = nowNanoseconds() - start;
  pthread_mutex_lock(&profileLock);
  size_t i = 0;
  while (i < profileSize && profile[i].name != name)
    ++i;
  if (i == profileSize && profileSize < kMaxProfileEntries) {
    profile[i].name = name;
    profile[i].calls = 0;
    profile[i].nanoseconds = 0;
    ++profileSize;
  }
  if (i < profileSize) {
    ++profile[i].calls;
    profile[i].nanoseconds += elapsed;
  }
  pthread_mutex_unlock(&profileLock);
}

/* Starts (enable != 0: from zero) or stops recording; returns whether it
 * was recording. */
int dlc_pool_profile(int enable) {
  pthread_mutex_lock(&profileLock);
  int was = profiling;
  if (enable && !was)
    profileSize = 0;
  __atomic_store_n(&profiling, enable != 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&profileLock);
  return was;
}

/* Copies up to `capacity` entries (kernel name, calls, nanoseconds), in the
 * order the kernels first ran; returns the number of entries recorded. */
size_t dlc_pool_profile_read(const char **names, int64_t *calls,
                             int64_t *nanoseconds, size_t capacity) {
  pthread_mutex_lock(&profileLock);
  for (size_t i = 0; i < profileSize && i < capacity; ++i) {
    names[i] = profile[i].name;
    calls[i] = profile[i].calls;
    nanoseconds[i] = profile[i].nanoseconds;
  }
  size_t size = profileSize;
  pthread_mutex_unlock(&profileLock);
  return size;
}

/* The workers must be gone before the library is unmapped (dlclose);
 * loops that start afterwards run on their caller's thread. */
__attribute__((destructor)) static void dlc_pool_shutdown(void) {
  pthread_mutex_lock(&pool.busy);
  stopWorkers();
  pool.shutdown = 1;
  pthread_mutex_unlock(&pool.busy);
  /* The cached buffers go back to libc with the library. */
  pthread_mutex_lock(&cacheLock);
  for (size_t i = 0; i < cachedCount; ++i)
    free(cached[i].ptr);
  cachedCount = cachedBytes = 0;
  pthread_mutex_unlock(&cacheLock);
}
