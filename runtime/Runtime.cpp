//===- Runtime.cpp - load and run dlc-compiled model libraries ------------===//
//
// No LLVM or MLIR here: this file travels with the generated code.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include "ManifestCheck.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

thread_local std::string lastError;

dlc_status fail(dlc_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

struct TensorDesc {
  std::string name;
  dlc_dtype dtype;
  std::vector<int64_t> shape;
  // Index inputs (class labels): values in [0, indexLimit) or indexExempt.
  int64_t indexLimit = -1, indexExempt = 0;
  bool hasIndexExempt = false;
  // float32 labels of the hinge loss: values must be +1 or -1.
  bool signLabels = false;
  // Per dim of an input of dims known at run time: its dim_param, or "".
  std::vector<std::string> dimNames;
  // The ONNX value the entry tensor is (part of): manifest ValueKind and
  // ValuePart (a plain tensor: Tensor, Whole).
  int kind = 0, part = 0;
  // An output with a dim of -1: its shape is known only after a call, and
  // the generated code allocates it (see dlc_model_run_alloc).
  bool runtimeShape() const {
    return std::any_of(shape.begin(), shape.end(),
                       [](int64_t d) { return d < 0; });
  }
};

/// One ONNX input or output: the entry tensors [first, first + count) of
/// the entry point's list (one for a tensor; see manifest.fbs, ValueKind).
struct ValueDesc {
  dlc_value_kind kind = DLC_VALUE_TENSOR;
  size_t first = 0, count = 1;
  dlc_dtype dtype = DLC_FLOAT32; // a sequence's or optional's elements'
  bool isSequence() const {
    return kind == DLC_VALUE_SEQUENCE || kind == DLC_VALUE_OPTIONAL_SEQUENCE;
  }
  bool isOptional() const {
    return kind == DLC_VALUE_OPTIONAL_TENSOR ||
           kind == DLC_VALUE_OPTIONAL_SEQUENCE;
  }
  /// The entry tensor of its tensor (a tensor, an optional's), or null.
  const TensorDesc *tensor(const std::vector<TensorDesc> &entries) const {
    return kind == DLC_VALUE_TENSOR            ? &entries[first]
           : kind == DLC_VALUE_OPTIONAL_TENSOR ? &entries[first + 1]
                                               : nullptr;
  }
};

/// A sequence table's row: offset, rank, dims (runtime.h's ABI; the
/// compiler's kSequenceRowWidth).
constexpr int64_t kSequenceMaxRank = DLC_SEQUENCE_MAX_RANK;
constexpr int64_t kSequenceRowWidth = 2 + kSequenceMaxRank;

/// Entry points take arrays of pointers to the inputs' and outputs' data,
/// and the scratch memory the manifest asks for.
using EntryFn = void (*)(void **inputs, void **outputs, void *workspace);
using SetThreadsFn = int (*)(int);
using NumThreadsFn = int (*)(void);
using ProfileFn = int (*)(int);
using ProfileReadFn = size_t (*)(const char **, int64_t *, int64_t *, size_t);
using TakeErrorFn = int (*)(void);

std::string shapeString(const int64_t *shape, int32_t rank) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

size_t roundUp64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// 64-byte aligned memory the model owns; never empty, so that a pointer to
/// a zero-sized tensor is still a valid one.
struct AlignedBuffer {
  char *data = nullptr;

  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer() { std::free(data); }

  bool allocate(size_t bytes) {
    size_t rounded = roundUp64(bytes ? bytes : 1);
    data = static_cast<char *>(std::aligned_alloc(64, rounded));
    if (data)
      std::memset(data, 0, rounded);
    return data != nullptr;
  }
  void swap(AlignedBuffer &other) { std::swap(data, other.data); }
};

struct StateDesc {
  std::string name, parameter;
  dlc_state_role role;
  dlc_dtype dtype;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  size_t bytes = 0;
  size_t gradientOffset = 0; // Parameters only: where its gradient lives
};

// Version 2 adds a hash of the state bytes, so that a damaged checkpoint is
// refused instead of resuming from corrupted weights.
constexpr char kCheckpointMagic[8] = {'D', 'L', 'C', 'C', 'K', 'P', 'T', '2'};
constexpr size_t kCheckpointHeaderBytes = 40;
/// The newest manifest layout this runtime reads (runtime/manifest.fbs).
constexpr int32_t kManifestFormat = 4;
/// No manifest is near this: a larger stated size is a corrupt library.
constexpr uint64_t kMaxManifestBytes = uint64_t(64) << 20;

/// 64-bit FNV-1a, to tell one model's state layout from another's.
struct Fnv1a {
  uint64_t hash = 0xcbf29ce484222325ull;
  void bytes(const void *data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      hash ^= static_cast<const unsigned char *>(data)[i];
      hash *= 0x100000001b3ull;
    }
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      unsigned char byte = static_cast<unsigned char>(v >> (8 * i));
      bytes(&byte, 1);
    }
  }
};

void putU64(unsigned char *out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t getU64(const unsigned char *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

} // namespace

struct dlc_model {
  void *handle = nullptr;
  EntryFn entry = nullptr;
  SetThreadsFn setNumThreads = nullptr;
  NumThreadsFn numThreads = nullptr;
  ProfileFn profile = nullptr;
  ProfileReadFn profileRead = nullptr;
  // The generated code's run-time checks: the failed site of the calling
  // thread's last call (absent in libraries from before them), and the
  // message of each site.
  TakeErrorFn takeError = nullptr;
  std::vector<std::string> runtimeChecks;
  // A GPU library's device ("cuda:sm_90"; "cpu" otherwise) and its last
  // device failure on the calling thread (take_error's site -1).
  std::string device = "cpu";
  const char *(*deviceError)() = nullptr;
  // Inference runs hold `runMutex` shared and may overlap, each with a
  // workspace of its own: `workspace` (allocated at load, sized for
  // inference and training steps) or one allocated when more runs overlap
  // than there are free workspaces (kept for reuse, freed with the model).
  // Training steps and state changes hold it exclusively and use
  // `workspace`: no run is active then.
  void *workspace = nullptr;
  mutable std::shared_mutex runMutex;
  std::mutex workspaceMutex;
  std::vector<void *> freeWorkspaces, extraWorkspaces;
  std::string path, version, target, cpu, source;
  std::string weightsFile; // with --weights=external
  std::vector<uint64_t> manifest; // an aligned copy of the library's
  int64_t parameterCount = 0, parameterBytes = 0, workspaceBytes = 0;
  // The entry point's tensors, and the ONNX values they make (what the API
  // numbers inputs and outputs by).
  std::vector<TensorDesc> inputs, outputs;
  std::vector<ValueDesc> inputValues, outputValues;

  // Training libraries only.
  bool training = false;
  EntryFn step = nullptr, apply = nullptr;
  std::string optimizer, loss;
  std::vector<std::pair<std::string, double>> hyperparameters;
  std::vector<StateDesc> state;
  std::vector<TensorDesc> frozen, stepInputs;
  int64_t stateBytes = 0, stepWorkspaceBytes = 0;
  uint64_t stateHash = 0;
  // The ONNX model the library was compiled from, without its trained
  // tensors' data (for exporting trained models).
  const uint8_t *sourceModel = nullptr;
  size_t sourceModelSize = 0;
  // A step reads `current` and writes `next` (the step must not update in
  // place: its outputs may not alias its inputs); they are swapped when its
  // loss is finite, so a failed step leaves the state untouched. Gradients
  // are double-buffered the same way.
  AlignedBuffer current, next, gradients, nextGradients;
  bool haveGradients = false;
  int64_t steps = 0;

  ~dlc_model() {
    std::free(workspace);
    for (void *extra : extraWorkspaces)
      std::free(extra);
    if (handle)
      dlclose(handle);
  }
};

#pragma GCC visibility push(default)
extern "C" {

const char *dlc_last_error(void) { return lastError.c_str(); }

size_t dlc_dtype_size(dlc_dtype dtype) {
  switch (dtype) {
  case DLC_FLOAT64: case DLC_INT64: case DLC_UINT64: return 8;
  case DLC_FLOAT32: case DLC_INT32: case DLC_UINT32: return 4;
  case DLC_FLOAT16: case DLC_INT16: case DLC_UINT16: return 2;
  case DLC_INT8: case DLC_UINT8: case DLC_BOOL: return 1;
  }
  return 0;
}

const char *dlc_dtype_name(dlc_dtype dtype) {
  switch (dtype) {
  case DLC_FLOAT32: return "float32";
  case DLC_FLOAT64: return "float64";
  case DLC_FLOAT16: return "float16";
  case DLC_INT64: return "int64";
  case DLC_INT32: return "int32";
  case DLC_INT16: return "int16";
  case DLC_INT8: return "int8";
  case DLC_UINT8: return "uint8";
  case DLC_BOOL: return "bool";
  case DLC_UINT16: return "uint16";
  case DLC_UINT32: return "uint32";
  case DLC_UINT64: return "uint64";
  }
  return "unknown";
}

int64_t dlc_tensor_info_elements(const dlc_tensor_info *info) {
  if (!info)
    return 0;
  if (info->rank < 0)
    return -1;
  int64_t n = 1;
  for (int32_t i = 0; i < info->rank; ++i) {
    if (info->shape[i] < 0)
      return -1;
    n *= info->shape[i];
  }
  return n;
}

static std::string str(const flatbuffers::String *s) {
  return s ? s->str() : std::string();
}

static void readTensorList(
    const flatbuffers::Vector<flatbuffers::Offset<dlc::manifest::TensorInfo>>
        *list,
    std::vector<TensorDesc> &out) {
  if (!list)
    return;
  for (const auto *t : *list) {
    TensorDesc d;
    d.name = str(t->name());
    d.dtype = static_cast<dlc_dtype>(t->dtype());
    if (t->shape())
      d.shape.assign(t->shape()->begin(), t->shape()->end());
    d.indexLimit = t->index_limit();
    d.hasIndexExempt = t->has_index_exempt();
    d.indexExempt = t->index_exempt();
    d.signLabels = t->sign_labels();
    if (t->dim_names())
      for (const auto *name : *t->dim_names())
        d.dimNames.push_back(str(name));
    d.kind = t->kind();
    d.part = t->part();
    out.push_back(std::move(d));
  }
}

/// Groups the entry tensors into the ONNX values they make, checking each
/// sequence's and optional's parts (manifest.fbs, ValueKind).
static dlc_status groupValues(const std::string &path,
                              const std::vector<TensorDesc> &entries,
                              std::vector<ValueDesc> &values,
                              const char *what) {
  namespace mf = dlc::manifest;
  for (size_t e = 0; e < entries.size();) {
    const TensorDesc &t = entries[e];
    std::string where = path + ": the manifest's " + what + " '" + t.name + "'";
    if (t.kind < mf::ValueKind_MIN || t.kind > mf::ValueKind_MAX)
      return fail(DLC_ERROR_MANIFEST,
                  where + " has an unknown kind " + std::to_string(t.kind));
    ValueDesc v;
    v.kind = static_cast<dlc_value_kind>(t.kind);
    v.first = e;
    std::vector<int> parts;
    if (v.isOptional())
      parts.push_back(mf::ValuePart_Present);
    if (v.kind == DLC_VALUE_TENSOR)
      parts.push_back(mf::ValuePart_Whole);
    else if (v.kind == DLC_VALUE_OPTIONAL_TENSOR)
      parts.push_back(mf::ValuePart_Element);
    else
      parts.insert(parts.end(), {mf::ValuePart_Values, mf::ValuePart_Table});
    v.count = parts.size();
    for (size_t j = 0; j < parts.size(); ++j) {
      const TensorDesc *p = e + j < entries.size() ? &entries[e + j] : nullptr;
      bool ok =
          p && p->kind == t.kind && p->name == t.name && p->part == parts[j];
      if (ok && parts[j] == mf::ValuePart_Present)
        ok = p->dtype == DLC_BOOL && p->shape.empty();
      if (ok && parts[j] == mf::ValuePart_Values)
        ok = p->shape.size() == 1;
      if (ok && parts[j] == mf::ValuePart_Table)
        ok = p->dtype == DLC_INT64 && p->shape.size() == 2 &&
             p->shape[1] == kSequenceRowWidth;
      if (!ok)
        return fail(
            DLC_ERROR_MANIFEST,
            where + " (a " + dlc_value_kind_name(v.kind) +
                ") lacks its entry tensor " +
                mf::EnumNameValuePart(static_cast<mf::ValuePart>(parts[j])) +
                ", or it is malformed");
    }
    v.dtype = entries[e + v.count - (v.isSequence() ? 2 : 1)].dtype;
    values.push_back(v);
    e += v.count;
  }
  return DLC_OK;
}

/// The size the symbol table gives the object at `address` (0 where it gives
/// none): a manifest asking for more of an array is caught with it rather
/// than read or written past.
static uint64_t symbolSize(const void *address) {
  Dl_info where;
  void *symbol = nullptr;
  if (!dladdr1(address, &where, &symbol, RTLD_DL_SYMENT) || !symbol)
    return 0;
  return static_cast<const ElfW(Sym) *>(symbol)->st_size;
}

/// Asks for transparent huge pages under the whole 2 MiB pages inside
/// [data, data + bytes), before they are first written: big weights are
/// streamed once per call, and with 4 KiB pages the TLB misses cost more
/// than 10% of a VGG-16 run. Only advice: where the kernel declines, the
/// weights are as correct on small pages.
static void adviseHugePages(void *data, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin)
    (void)madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
}

/// Fills the library's weight arrays from its weights file (`dlc
/// --weights=external`, compiler/ExternalWeights.h has the layout), once per
/// library: models loaded from one file share the arrays, and a second load
/// must not write them while the first runs.
static dlc_status loadWeights(dlc_model &m, const dlc::manifest::Weights &w) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto *loaded = static_cast<int32_t *>(dlsym(m.handle, "dlc_weights_loaded"));
  auto *slots = static_cast<void *const *>(dlsym(m.handle, "dlc_weight_slots"));
  const auto *table = w.slots();
  std::string name = str(w.file());
  if (!loaded || !slots || !table || name.empty() ||
      name.find('/') != std::string::npos)
    return fail(DLC_ERROR_MANIFEST,
                m.path + ": the manifest's weights file entry is malformed");
  size_t slash = m.path.rfind('/');
  std::string file = (slash == std::string::npos ? std::string(".")
                                                 : m.path.substr(0, slash)) +
                     "/" + name;
  m.weightsFile = file;
  if (*loaded)
    return DLC_OK;
  auto bad = [&](const std::string &why) {
    return fail(DLC_ERROR_LOAD,
                m.path + ": its weights file " + file + " " + why);
  };
  FILE *f = std::fopen(file.c_str(), "rb");
  if (!f)
    return bad("cannot be read: " + std::string(std::strerror(errno)) +
               " (the library was compiled with --weights=external: keep " +
               name + " beside it)");
  std::unique_ptr<FILE, int (*)(FILE *)> close(f, std::fclose);
  long size = std::fseek(f, 0, SEEK_END) == 0 ? std::ftell(f) : -1;
  if (size != w.bytes())
    return bad("has " + std::to_string(size) + " bytes, the library expects " +
               std::to_string(w.bytes()) +
               " (truncated, or written by another compile)");
  unsigned char header[32];
  std::rewind(f);
  if (std::fread(header, 1, sizeof header, f) != sizeof header ||
      std::memcmp(header, "DLCWGHT", 8) != 0)
    return bad("is not a dlc weights file");
  auto field = [&](size_t at, size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(header[at + i]) << (8 * i);
    return v;
  };
  if (field(8, 4) != 1)
    return bad("has format version " + std::to_string(field(8, 4)) +
               ", this runtime reads 1");
  if (field(12, 4) != table->size() || field(16, 8) != w.id())
    return bad("was written by another compile of the model (its id does "
               "not match the library's)");
  for (flatbuffers::uoffset_t i = 0; i < table->size(); ++i) {
    const dlc::manifest::WeightSlot *slot = table->Get(i);
    if (slot->offset() < 0 || slot->bytes() < 0 ||
        slot->offset() > w.bytes() - slot->bytes())
      return fail(DLC_ERROR_MANIFEST, m.path + ": weight array " +
                                          std::to_string(i) +
                                          " lies outside its weights file");
    if (uint64_t size = symbolSize(slots[i]);
        size != 0 && size < static_cast<uint64_t>(slot->bytes()))
      return fail(DLC_ERROR_MANIFEST,
                  m.path + ": weight array " + std::to_string(i) + " has " +
                      std::to_string(size) + " bytes, the manifest says " +
                      std::to_string(slot->bytes()));
    adviseHugePages(slots[i], static_cast<size_t>(slot->bytes()));
    if (std::fseek(f, static_cast<long>(slot->offset()), SEEK_SET) != 0 ||
        std::fread(slots[i], 1, static_cast<size_t>(slot->bytes()), f) !=
            static_cast<size_t>(slot->bytes()))
      return bad("cannot be read: " + std::string(std::strerror(errno)));
  }
  *loaded = 1;
  return DLC_OK;
}

/// Reads the manifest's training table, resolves the step and the initial
/// state, and allocates the state and gradient buffers.
static dlc_status loadTraining(dlc_model &m,
                               const dlc::manifest::Training &training) {
  auto bad = [&](const std::string &what) {
    return fail(DLC_ERROR_MANIFEST, m.path + ": training manifest: " + what);
  };
  m.training = true;
  m.optimizer = str(training.optimizer());
  m.loss = str(training.loss());
  if (training.hyperparameters())
    for (const auto *h : *training.hyperparameters())
      m.hyperparameters.emplace_back(str(h->name()), h->value());
  readTensorList(training.frozen(), m.frozen);
  // Libraries whose step takes the model's inputs may leave the list out.
  if (training.inputs())
    readTensorList(training.inputs(), m.stepInputs);
  else
    m.stepInputs = m.inputs;
  m.stateBytes = training.state_bytes();
  m.stepWorkspaceBytes = training.step_workspace_bytes();
  if (m.stateBytes < 0 || m.stepWorkspaceBytes < 0)
    return bad("negative state or step workspace size");

  Fnv1a hash;
  hash.u64(static_cast<uint64_t>(m.stateBytes));
  size_t gradientBytes = 0;
  if (training.state()) {
    for (const auto *t : *training.state()) {
      StateDesc d;
      d.name = str(t->name());
      d.parameter = str(t->parameter());
      d.role = static_cast<dlc_state_role>(t->role());
      d.dtype = static_cast<dlc_dtype>(t->dtype());
      d.offset = t->offset();
      if (t->shape())
        d.shape.assign(t->shape()->begin(), t->shape()->end());
      std::string where = "state tensor '" + d.name + "'";
      if (t->role() > dlc::manifest::StateRole_MAX)
        return bad(where + " has an unknown role");
      if (t->dtype() > dlc::manifest::DType_MAX)
        return bad(where + " has an unknown dtype");
      for (const StateDesc &other : m.state)
        if (other.name == d.name)
          return bad(where + " appears twice");
      // Overflow-checked, so that the bounds check below means something.
      uint64_t bytes = dlc_dtype_size(d.dtype);
      for (int64_t dim : d.shape)
        if (dim < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim),
                                              &bytes))
          return bad(where + " has a bad shape " +
                     shapeString(d.shape.data(),
                                 static_cast<int32_t>(d.shape.size())));
      d.bytes = bytes;
      if (d.offset < 0 || d.offset % 64 != 0 ||
          bytes > static_cast<uint64_t>(m.stateBytes) ||
          static_cast<uint64_t>(d.offset) >
              static_cast<uint64_t>(m.stateBytes) - bytes)
        return bad(where + " (" + std::to_string(bytes) + " bytes at offset " +
                   std::to_string(d.offset) +
                   ") does not fit 64-byte aligned in the " +
                   std::to_string(m.stateBytes) + "-byte state");
      if (d.role == DLC_STATE_PARAMETER) {
        d.gradientOffset = gradientBytes;
        gradientBytes += roundUp64(d.bytes);
      }
      hash.bytes(d.name.c_str(), d.name.size() + 1);
      hash.u64(d.role);
      hash.u64(d.dtype);
      hash.u64(d.shape.size());
      for (int64_t dim : d.shape)
        hash.u64(static_cast<uint64_t>(dim));
      hash.u64(static_cast<uint64_t>(d.offset));
      m.state.push_back(std::move(d));
    }
  }
  m.stateHash = hash.hash;

  std::string stepSymbol = str(training.step_symbol());
  if (stepSymbol.empty())
    return bad("no step symbol");
  m.step = reinterpret_cast<EntryFn>(dlsym(m.handle, stepSymbol.c_str()));
  if (!m.step)
    return fail(DLC_ERROR_MANIFEST,
                m.path + ": training step '" + stepSymbol + "' is missing");
  // Optional: libraries from before data-parallel training lack it.
  std::string applySymbol = str(training.apply_symbol());
  if (!applySymbol.empty()) {
    m.apply = reinterpret_cast<EntryFn>(dlsym(m.handle, applySymbol.c_str()));
    if (!m.apply)
      return fail(DLC_ERROR_MANIFEST, m.path + ": the update '" + applySymbol +
                                          "' is missing");
  }
  const char *initialSymbol = "dlc_initial_state";
  const void *initial = dlsym(m.handle, initialSymbol);
  if (!initial)
    return fail(DLC_ERROR_MANIFEST, m.path + ": the initial state '" +
                                        initialSymbol + "' is missing");
  // Where the symbol table knows its size, a short array is caught here
  // rather than read past.
  if (uint64_t size = symbolSize(initial);
      size != 0 && size < static_cast<uint64_t>(m.stateBytes))
    return fail(DLC_ERROR_MANIFEST,
                m.path + ": the initial state '" + initialSymbol + "' has " +
                    std::to_string(size) + " bytes, the manifest says " +
                    std::to_string(m.stateBytes));

  size_t stateBytes = static_cast<size_t>(m.stateBytes);
  if (!m.current.allocate(stateBytes) || !m.next.allocate(stateBytes) ||
      !m.gradients.allocate(gradientBytes) ||
      !m.nextGradients.allocate(gradientBytes))
    return fail(DLC_ERROR_LOAD,
                m.path + ": cannot allocate " +
                    std::to_string(2 * (stateBytes + gradientBytes)) +
                    " bytes of training state");
  std::memcpy(m.current.data, initial, stateBytes);

  // Optional: libraries from before it, or linked by hand, may lack it.
  auto *sourceSize = static_cast<const uint64_t *>(
      dlsym(m.handle, "dlc_source_model_size"));
  m.sourceModel = static_cast<const uint8_t *>(
      dlsym(m.handle, "dlc_source_model"));
  m.sourceModelSize = m.sourceModel && sourceSize ? *sourceSize : 0;
  return DLC_OK;
}

/// Whether `path` is a 64-bit ELF file whose program and section headers,
/// and every segment's file bytes, lie inside the file.
static bool completeElf(const std::string &path, std::string &why) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    why = std::strerror(errno);
    return false;
  }
  std::unique_ptr<FILE, int (*)(FILE *)> close(f, std::fclose);
  if (std::fseek(f, 0, SEEK_END) != 0) {
    why = "cannot read the file";
    return false;
  }
  long size = std::ftell(f);
  ElfW(Ehdr) eh;
  std::rewind(f);
  if (size < 0 || std::fread(&eh, sizeof eh, 1, f) != 1 ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64) {
    why = "not a 64-bit ELF shared library";
    return false;
  }
  auto inside = [&](uint64_t offset, uint64_t bytes) {
    return offset <= static_cast<uint64_t>(size) &&
           bytes <= static_cast<uint64_t>(size) - offset;
  };
  if (!inside(eh.e_phoff, uint64_t(eh.e_phnum) * eh.e_phentsize) ||
      !inside(eh.e_shoff, uint64_t(eh.e_shnum) * eh.e_shentsize) ||
      eh.e_phentsize != sizeof(ElfW(Phdr))) {
    why = "truncated or corrupt ELF file (headers past its " +
          std::to_string(size) + " bytes)";
    return false;
  }
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    ElfW(Phdr) ph;
    if (std::fseek(f, static_cast<long>(eh.e_phoff + i * sizeof ph), SEEK_SET) != 0 ||
        std::fread(&ph, sizeof ph, 1, f) != 1 ||
        (ph.p_type == PT_LOAD && !inside(ph.p_offset, ph.p_filesz))) {
      why = "truncated ELF file (a segment ends past its " +
            std::to_string(size) + " bytes)";
      return false;
    }
  }
  return true;
}

dlc_status dlc_model_load(const char *path, dlc_model **model) {
  if (!model)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "dlc_model_load: model is null");
  *model = nullptr;
  if (!path)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "dlc_model_load: path is null");
  auto m = std::make_unique<dlc_model>();
  m->path = path;
  // A bare file name is a path here, not a name for the library search path.
  std::string file = std::strchr(path, '/') ? path : std::string("./") + path;
  // dlopen maps a truncated library and faults on first touch (SIGBUS):
  // check that the file holds everything its ELF headers point at.
  std::string why;
  if (!completeElf(file, why))
    return fail(DLC_ERROR_LOAD, std::string(path) + ": cannot load: " + why);
  m->handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m->handle)
    return fail(DLC_ERROR_LOAD, std::string(path) + ": cannot load: " +
                                    dlerror());
  auto *data = static_cast<const uint8_t *>(dlsym(m->handle, "dlc_manifest"));
  auto *size = static_cast<const uint64_t *>(
      dlsym(m->handle, "dlc_manifest_size"));
  if (!data || !size)
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": not a dlc model (no manifest)");
  // Read from an 8-byte aligned copy (the accessors load 8-byte values; a
  // library's byte array need not be aligned). Where the symbol table knows
  // the array's size, a larger stated size is refused, not read past.
  if (uint64_t present = symbolSize(data); present != 0 && present < *size)
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": the manifest is malformed (" +
                    std::to_string(*size) + " bytes stated, " +
                    std::to_string(present) + " present)");
  if (*size > kMaxManifestBytes)
    return fail(DLC_ERROR_MANIFEST, std::string(path) +
                                        ": the manifest is malformed (" +
                                        std::to_string(*size) + " bytes)");
  m->manifest.assign((*size + 7) / 8, 0);
  std::memcpy(m->manifest.data(), data, *size);
  const auto *bytes = reinterpret_cast<const uint8_t *>(m->manifest.data());
  if (!dlc::manifest::checkManifestBytes(bytes, *size))
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": the manifest is malformed");
  const dlc::manifest::Manifest *manifest = dlc::manifest::GetManifest(bytes);
  if (manifest->format_version() > kManifestFormat)
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": the manifest has format version " +
                    std::to_string(manifest->format_version()) +
                    "; this runtime reads up to " +
                    std::to_string(kManifestFormat) +
                    " (the library is from a newer dlc: use its runtime)");
  m->version = str(manifest->dlc_version());
  m->target = str(manifest->target_triple());
  m->cpu = str(manifest->target_cpu());
  m->source = str(manifest->source());
  m->parameterCount = manifest->parameter_count();
  m->parameterBytes = manifest->parameter_bytes();
  m->workspaceBytes = manifest->workspace_bytes();
  if (!manifest->entry_points() || manifest->entry_points()->size() == 0)
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": the manifest names no entry point");
  const auto *entry = manifest->entry_points()->Get(0);
  readTensorList(entry->inputs(), m->inputs);
  readTensorList(entry->outputs(), m->outputs);
  if (dlc_status s = groupValues(path, m->inputs, m->inputValues, "input"))
    return s;
  if (dlc_status s = groupValues(path, m->outputs, m->outputValues, "output"))
    return s;
  std::string symbol = str(entry->symbol());
  m->entry = reinterpret_cast<EntryFn>(dlsym(m->handle, symbol.c_str()));
  if (!m->entry)
    return fail(DLC_ERROR_MANIFEST, std::string(path) + ": entry point '" +
                                        symbol + "' is missing");
  m->setNumThreads = reinterpret_cast<SetThreadsFn>(
      dlsym(m->handle, "dlc_set_num_threads"));
  m->numThreads =
      reinterpret_cast<NumThreadsFn>(dlsym(m->handle, "dlc_num_threads"));
  m->profile = reinterpret_cast<ProfileFn>(dlsym(m->handle, "dlc_profile"));
  m->profileRead =
      reinterpret_cast<ProfileReadFn>(dlsym(m->handle, "dlc_profile_read"));
  m->takeError =
      reinterpret_cast<TakeErrorFn>(dlsym(m->handle, "dlc_take_error"));
  if (manifest->device() && manifest->device()->size())
    m->device = str(manifest->device());
  m->deviceError =
      reinterpret_cast<const char *(*)()>(dlsym(m->handle, "dlc_device_error"));
  if (manifest->runtime_checks())
    for (const flatbuffers::String *message : *manifest->runtime_checks())
      m->runtimeChecks.push_back(str(message));
  // The initial state of a training library may be among the weights.
  if (const dlc::manifest::Weights *weights = manifest->weights())
    if (dlc_status s = loadWeights(*m, *weights))
      return s;
  if (const dlc::manifest::Training *training = manifest->training())
    if (dlc_status s = loadTraining(*m, *training))
      return s;
  // Inference and training steps share one workspace.
  int64_t workspaceBytes = std::max(m->workspaceBytes, m->stepWorkspaceBytes);
  if (workspaceBytes > 0) {
    size_t rounded = roundUp64(static_cast<size_t>(workspaceBytes));
    m->workspace = std::aligned_alloc(64, rounded);
    if (!m->workspace)
      return fail(DLC_ERROR_LOAD, std::string(path) + ": cannot allocate " +
                                      std::to_string(rounded) +
                                      " bytes of workspace");
    m->freeWorkspaces.push_back(m->workspace);
  }
  *model = m.release();
  return DLC_OK;
}

void dlc_model_free(dlc_model *model) { delete model; }

size_t dlc_model_num_inputs(const dlc_model *model) {
  return model ? model->inputValues.size() : 0;
}
size_t dlc_model_num_outputs(const dlc_model *model) {
  return model ? model->outputValues.size() : 0;
}

const char *dlc_value_kind_name(dlc_value_kind kind) {
  switch (kind) {
  case DLC_VALUE_TENSOR:
    return "tensor";
  case DLC_VALUE_SEQUENCE:
    return "sequence";
  case DLC_VALUE_OPTIONAL_TENSOR:
    return "optional tensor";
  case DLC_VALUE_OPTIONAL_SEQUENCE:
    return "optional sequence";
  }
  return "unknown";
}

dlc_value_kind dlc_model_input_kind(const dlc_model *model, size_t index) {
  return model && index < model->inputValues.size()
             ? model->inputValues[index].kind
             : DLC_VALUE_TENSOR;
}
dlc_value_kind dlc_model_output_kind(const dlc_model *model, size_t index) {
  return model && index < model->outputValues.size()
             ? model->outputValues[index].kind
             : DLC_VALUE_TENSOR;
}

static dlc_status describe(const dlc_model *model,
                           const std::vector<TensorDesc> *list, size_t index,
                           dlc_tensor_info *info, const char *what) {
  if (!model || !info)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string("dlc_model_") + what + "_info: null argument");
  if (index >= list->size())
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string(what) + " index " + std::to_string(index) +
                    " is out of range (model has " +
                    std::to_string(list->size()) + ")");
  const TensorDesc &d = (*list)[index];
  info->name = d.name.c_str();
  info->dtype = d.dtype;
  info->rank = static_cast<int32_t>(d.shape.size());
  info->shape = d.shape.data();
  return DLC_OK;
}

/// Describes an ONNX input or output: a tensor's or an optional tensor's
/// tensor; a sequence's dtype, rank -1.
static dlc_status describeValue(const dlc_model *model, bool inputs,
                                size_t index, dlc_tensor_info *info) {
  const char *what = inputs ? "input" : "output";
  if (!model || !info)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string("dlc_model_") + what + "_info: null argument");
  const std::vector<ValueDesc> &values =
      inputs ? model->inputValues : model->outputValues;
  const std::vector<TensorDesc> &entries =
      inputs ? model->inputs : model->outputs;
  if (index >= values.size())
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string(what) + " index " + std::to_string(index) +
                    " is out of range (model has " +
                    std::to_string(values.size()) + ")");
  const ValueDesc &v = values[index];
  info->name = entries[v.first].name.c_str();
  info->dtype = v.dtype;
  if (const TensorDesc *t = v.tensor(entries)) {
    info->rank = static_cast<int32_t>(t->shape.size());
    info->shape = t->shape.data();
  } else {
    info->rank = -1;
    info->shape = nullptr;
  }
  return DLC_OK;
}

dlc_status dlc_model_input_info(const dlc_model *model, size_t index,
                                dlc_tensor_info *info) {
  return describeValue(model, true, index, info);
}
dlc_status dlc_model_output_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info) {
  return describeValue(model, false, index, info);
}

static const char *dimName(const dlc_model *model, bool inputs, size_t index,
                           int32_t dim) {
  if (!model || dim < 0)
    return "";
  const std::vector<ValueDesc> &values =
      inputs ? model->inputValues : model->outputValues;
  if (index >= values.size())
    return "";
  const TensorDesc *t =
      values[index].tensor(inputs ? model->inputs : model->outputs);
  if (!t)
    return "";
  const std::vector<std::string> &names = t->dimNames;
  return static_cast<size_t>(dim) < names.size() ? names[dim].c_str() : "";
}

const char *dlc_model_input_dim_name(const dlc_model *model, size_t input,
                                     int32_t dim) {
  return dimName(model, true, input, dim);
}

const char *dlc_model_output_dim_name(const dlc_model *model, size_t output,
                                      int32_t dim) {
  return dimName(model, false, output, dim);
}

const char *dlc_model_dlc_version(const dlc_model *m) {
  return m ? m->version.c_str() : "";
}
const char *dlc_model_target(const dlc_model *m) {
  return m ? m->target.c_str() : "";
}
const char *dlc_model_target_cpu(const dlc_model *m) {
  return m ? m->cpu.c_str() : "";
}
const char *dlc_model_device(const dlc_model *m) {
  return m ? m->device.c_str() : "";
}
const char *dlc_model_source(const dlc_model *m) {
  return m ? m->source.c_str() : "";
}
const char *dlc_model_weights_file(const dlc_model *m) {
  return m ? m->weightsFile.c_str() : "";
}
int64_t dlc_model_parameter_count(const dlc_model *m) {
  return m ? m->parameterCount : 0;
}
int64_t dlc_model_parameter_bytes(const dlc_model *m) {
  return m ? m->parameterBytes : 0;
}
int64_t dlc_model_workspace_bytes(const dlc_model *m) {
  return m ? m->workspaceBytes : 0;
}

dlc_status dlc_model_set_num_threads(dlc_model *m, int n) {
  if (!m)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_set_num_threads: model is null");
  // A library built by other means than dlc may have no pool: one thread.
  if (!m->setNumThreads) {
    if (n == 1 || n < 1)
      return DLC_OK;
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                m->path + ": the library has no thread pool "
                          "(dlc_set_num_threads); it runs on one thread");
  }
  m->setNumThreads(n);
  return DLC_OK;
}

int dlc_model_num_threads(const dlc_model *m) {
  return m && m->numThreads ? m->numThreads() : 1;
}

dlc_status dlc_model_profile_enable(dlc_model *m, int enable) {
  if (!m)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_profile_enable: model is null");
  if (!m->profile || !m->profileRead)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                m->path + ": the library has no kernel profile (dlc_profile)");
  m->profile(enable);
  return DLC_OK;
}

size_t dlc_model_profile(const dlc_model *m, dlc_profile_entry *entries,
                         size_t capacity) {
  if (!m || !m->profileRead)
    return 0;
  std::vector<const char *> names(capacity);
  std::vector<int64_t> calls(capacity), nanoseconds(capacity);
  size_t size =
      m->profileRead(names.data(), calls.data(), nanoseconds.data(), capacity);
  for (size_t i = 0; i < size && i < capacity && entries; ++i)
    entries[i] = {names[i], calls[i], nanoseconds[i] * 1e-6};
  return size;
}

/// Checks `given` against the entry tensors `expected` and appends their
/// data to `ptrs`. Messages number tensor i as `numbers[i]` (the ONNX input
/// it is part of) when given; tensors `unchecked[i]` (an absent optional's,
/// all dims 0) are passed as they are.
static dlc_status checkTensors(const std::vector<TensorDesc> &expected,
                               const dlc_tensor *given, size_t count,
                               const char *what, std::vector<void *> &ptrs,
                               const std::vector<size_t> *numbers = nullptr,
                               const std::vector<bool> *unchecked = nullptr) {
  if (count != expected.size())
    return fail(DLC_ERROR_SIGNATURE,
                std::string("the model takes ") +
                    std::to_string(expected.size()) + " " + what + "(s), " +
                    std::to_string(count) + " given");
  if (count && !given)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string(what) + " array is null");
  for (size_t i = 0; i < count; ++i) {
    const TensorDesc &e = expected[i];
    const dlc_tensor &t = given[i];
    if (unchecked && (*unchecked)[i]) {
      ptrs.push_back(t.data);
      continue;
    }
    // Built only for a message: a call that passes allocates nothing here.
    auto where = [&] {
      return std::string(what) + " #" +
             std::to_string(numbers ? (*numbers)[i] : i) + " ('" + e.name +
             "')";
    };
    if (t.rank == DLC_RANK_SEQUENCE || t.rank == DLC_RANK_ABSENT)
      return fail(DLC_ERROR_SIGNATURE,
                  where() + ": a tensor, " +
                      (t.rank == DLC_RANK_ABSENT ? "an absent optional"
                                                 : "a sequence") +
                      " given");
    if (t.dtype != e.dtype)
      return fail(DLC_ERROR_SIGNATURE,
                  where() + ": dtype " + dlc_dtype_name(t.dtype) +
                      ", the model expects " + dlc_dtype_name(e.dtype));
    if (t.rank < 0 || (t.rank > 0 && !t.shape))
      return fail(DLC_ERROR_INVALID_ARGUMENT, where() + ": bad rank or shape");
    bool same = static_cast<size_t>(t.rank) == e.shape.size();
    for (int32_t d = 0; same && d < t.rank; ++d)
      same = e.shape[d] < 0 ? t.shape[d] >= 0 : t.shape[d] == e.shape[d];
    if (!same)
      return fail(DLC_ERROR_SIGNATURE,
                  where() + ": shape " + shapeString(t.shape, t.rank) +
                      ", the model expects " +
                      shapeString(e.shape.data(),
                                  static_cast<int32_t>(e.shape.size())) +
                      (!e.runtimeShape() ? ""
                       : std::string(what) == "input"
                           ? " (-1: a dim each call gives)"
                           : " (-1: known only at run time; "
                             "dlc_model_run_alloc allocates such outputs)"));
    // A dim known only at run time (-1) takes the caller's size: the
    // element count, and the bytes, must not overflow.
    int64_t elements = 1, bytes = 0;
    for (int32_t d = 0; d < t.rank && elements >= 0; ++d)
      if (__builtin_mul_overflow(elements, t.shape[d], &elements))
        elements = -1;
    if (elements < 0 ||
        __builtin_mul_overflow(
            elements, static_cast<int64_t>(dlc_dtype_size(e.dtype)), &bytes))
      return fail(DLC_ERROR_SIGNATURE,
                  where() + ": shape " + shapeString(t.shape, t.rank) +
                      " has more elements than memory can hold");
    // An empty tensor may have no storage at all.
    if (!t.data && elements != 0)
      return fail(DLC_ERROR_INVALID_ARGUMENT, where() + ": data is null");
    if (e.indexLimit >= 0 && (t.dtype == DLC_INT64 || t.dtype == DLC_INT32)) {
      for (int64_t k = 0; k < elements; ++k) {
        int64_t v = t.dtype == DLC_INT64 ? static_cast<const int64_t *>(t.data)[k]
                                         : static_cast<const int32_t *>(t.data)[k];
        if ((v < 0 || v >= e.indexLimit) &&
            !(e.hasIndexExempt && v == e.indexExempt))
          return fail(DLC_ERROR_INVALID_ARGUMENT,
                      where() + ": value " + std::to_string(v) +
                          " at element " + std::to_string(k) +
                          " is outside [0, " + std::to_string(e.indexLimit) +
                          ")" +
                          (e.hasIndexExempt ? " and is not the ignored index " +
                                                  std::to_string(e.indexExempt)
                                            : std::string()));
      }
    }
    if (e.signLabels && t.dtype == DLC_FLOAT32) {
      for (int64_t k = 0; k < elements; ++k) {
        float v = static_cast<const float *>(t.data)[k];
        if (v != 1.0f && v != -1.0f) {
          char value[32];
          std::snprintf(value, sizeof(value), "%g", static_cast<double>(v));
          return fail(DLC_ERROR_INVALID_ARGUMENT,
                      where() + ": value " + value + " at element " +
                          std::to_string(k) +
                          " is not +1 or -1 (the hinge loss's labels)");
        }
      }
    }
    ptrs.push_back(t.data);
  }
  return DLC_OK;
}

/// The failure a run-time check of the generated code reported for the
/// calling thread's last call, as an error status; DLC_OK when none did.
static dlc_status checkReport(const dlc_model *model, const char *function,
                              const char *consequence) {
  if (!model->takeError)
    return DLC_OK;
  int site = model->takeError();
  if (site == 0)
    return DLC_OK;
  if (site == -1 && model->deviceError)
    return fail(DLC_ERROR_DEVICE, std::string(function) + ": " + model->device +
                                      ": " + model->deviceError() +
                                      consequence);
  std::string message =
      site > 0 && static_cast<size_t>(site) <= model->runtimeChecks.size()
          ? model->runtimeChecks[site - 1]
          : "run-time check #" + std::to_string(site) + " failed";
  return fail(DLC_ERROR_RUNTIME_CHECK,
              std::string(function) + ": " + message + consequence);
}

/// The outputs of one call whose shapes the generated code decides: each
/// slot holds the address of the buffer it allocated (freed here unless
/// handed to the caller) and the dims.
struct RuntimeShapedOutputs {
  std::vector<std::vector<int64_t>> slots;
  explicit RuntimeShapedOutputs(const std::vector<TensorDesc> &outputs)
      : slots(outputs.size()) {
    for (size_t i = 0; i < outputs.size(); ++i)
      if (outputs[i].runtimeShape())
        slots[i].assign(1 + outputs[i].shape.size(), 0);
  }
  void *take(size_t i) {
    void *data = reinterpret_cast<void *>(slots[i][0]);
    slots[i][0] = 0;
    return data;
  }
  ~RuntimeShapedOutputs() {
    for (auto &slot : slots)
      if (!slot.empty())
        std::free(reinterpret_cast<void *>(slot[0]));
  }
};

/// Runs the entry point on `in` and `out` (output pointers, or the slots of
/// outputs of run-time shapes), with a workspace of its own.
static dlc_status runEntry(dlc_model *model, std::vector<void *> &in,
                           std::vector<void *> &out, const char *function) {
  // Runs overlap; a training step waits for them and they for it.
  std::shared_lock<std::shared_mutex> lock(model->runMutex);
  void *workspace = nullptr;
  if (model->workspaceBytes > 0) {
    std::lock_guard<std::mutex> take(model->workspaceMutex);
    if (!model->freeWorkspaces.empty()) {
      workspace = model->freeWorkspaces.back();
      model->freeWorkspaces.pop_back();
    } else {
      workspace = std::aligned_alloc(
          64, roundUp64(static_cast<size_t>(model->workspaceBytes)));
      if (!workspace)
        return fail(DLC_ERROR_OUT_OF_MEMORY,
                    std::string(function) + ": cannot allocate " +
                        std::to_string(model->workspaceBytes) +
                        " bytes of workspace for a concurrent run");
      model->extraWorkspaces.push_back(workspace);
    }
  }
  // A training library's forward pass reads the parameters from the state.
  for (const StateDesc &t : model->state)
    in.push_back(model->current.data + t.offset);
  model->entry(in.data(), out.data(), workspace);
  if (workspace) {
    std::lock_guard<std::mutex> give(model->workspaceMutex);
    model->freeWorkspaces.push_back(workspace);
  }
  return checkReport(model, function, "; the outputs are not valid");
}

/// The entry tensors of one call's inputs: the caller's tensors, and the
/// parts of its sequences and optionals, packed into buffers owned here.
struct PackedInputs {
  std::vector<dlc_tensor> tensors; // one per entry tensor
  std::vector<size_t> value;       // per entry tensor: its input's index
  std::vector<bool> absent;        // per entry tensor: of an absent optional
  std::deque<AlignedBuffer> buffers;
  std::deque<std::vector<int64_t>> shapes;

  void add(const dlc_tensor &t, size_t input, bool isAbsent = false) {
    tensors.push_back(t);
    value.push_back(input);
    absent.push_back(isAbsent);
  }
  /// A tensor of `shape` on a new zeroed buffer of `bytes`; null when it
  /// cannot be allocated.
  void *addBuffer(size_t bytes, dlc_dtype dtype, std::vector<int64_t> shape,
                  size_t input, bool isAbsent = false) {
    AlignedBuffer &b = buffers.emplace_back();
    if (!b.allocate(bytes))
      return nullptr;
    const std::vector<int64_t> &dims = shapes.emplace_back(std::move(shape));
    add(dlc_tensor{b.data, dtype, static_cast<int32_t>(dims.size()),
                   dims.data()},
        input, isAbsent);
    return b.data;
  }
};

/// Appends a sequence's entry tensors (values, table) for the dlc_sequence
/// `given` of input `index`, copying its tensors into one buffer.
static dlc_status packSequence(const ValueDesc &v, size_t index,
                               const dlc_tensor &given,
                               const std::string &where, PackedInputs &packed) {
  if (given.dtype != v.dtype)
    return fail(DLC_ERROR_SIGNATURE,
                where + ": a sequence of " + dlc_dtype_name(given.dtype) +
                    ", the model expects one of " + dlc_dtype_name(v.dtype));
  const auto *sequence = static_cast<const dlc_sequence *>(given.data);
  if (!sequence)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                where + ": data is null (a dlc_sequence is expected)");
  if (sequence->length < 0 || (sequence->length > 0 && !sequence->tensors))
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                where + ": the sequence has length " +
                    std::to_string(sequence->length) +
                    (sequence->length < 0 ? "" : " and no tensors"));
  size_t elementSize = dlc_dtype_size(v.dtype);
  int64_t total = 0, length = sequence->length, rows = 0;
  std::vector<int64_t> counts(static_cast<size_t>(length));
  for (int64_t k = 0; k < length; ++k) {
    const dlc_tensor &t = sequence->tensors[k];
    std::string element = where + ", tensor " + std::to_string(k);
    if (t.dtype != v.dtype)
      return fail(DLC_ERROR_SIGNATURE,
                  element + ": dtype " + dlc_dtype_name(t.dtype) +
                      ", the sequence's is " + dlc_dtype_name(v.dtype));
    if (t.rank < 0 || t.rank > kSequenceMaxRank)
      return fail(DLC_ERROR_SIGNATURE,
                  element + ": rank " + std::to_string(t.rank) +
                      ", a sequence's tensors have rank 0 to " +
                      std::to_string(kSequenceMaxRank));
    if (t.rank > 0 && !t.shape)
      return fail(DLC_ERROR_INVALID_ARGUMENT, element + ": shape is null");
    int64_t elements = 1, bytes = 0;
    for (int32_t d = 0; d < t.rank; ++d)
      if (t.shape[d] < 0)
        return fail(DLC_ERROR_SIGNATURE, element + ": shape " +
                                             shapeString(t.shape, t.rank) +
                                             " has a negative dim");
    for (int32_t d = 0; d < t.rank && elements >= 0; ++d)
      if (__builtin_mul_overflow(elements, t.shape[d], &elements))
        elements = -1;
    if (elements < 0 || __builtin_add_overflow(total, elements, &total) ||
        __builtin_mul_overflow(total, static_cast<int64_t>(elementSize),
                               &bytes) ||
        __builtin_add_overflow(rows, kSequenceRowWidth, &rows))
      return fail(DLC_ERROR_SIGNATURE,
                  element + ": the sequence has more elements than memory "
                            "can hold");
    if (!t.data && elements != 0)
      return fail(DLC_ERROR_INVALID_ARGUMENT, element + ": data is null");
    counts[k] = elements;
  }
  auto *values = static_cast<char *>(packed.addBuffer(
      static_cast<size_t>(total) * elementSize, v.dtype, {total}, index));
  auto *table = static_cast<int64_t *>(
      values ? packed.addBuffer(static_cast<size_t>(rows) * sizeof(int64_t),
                                DLC_INT64, {length, kSequenceRowWidth}, index)
             : nullptr);
  if (!table)
    return fail(DLC_ERROR_OUT_OF_MEMORY,
                where + ": cannot allocate " +
                    std::to_string(total * elementSize) +
                    " bytes for the sequence");
  int64_t offset = 0;
  for (int64_t k = 0; k < length; ++k) {
    const dlc_tensor &t = sequence->tensors[k];
    int64_t *row = table + k * kSequenceRowWidth;
    row[0] = offset;
    row[1] = t.rank;
    std::copy(t.shape, t.shape + t.rank, row + 2);
    if (counts[k])
      std::memcpy(values + offset * elementSize, t.data,
                  static_cast<size_t>(counts[k]) * elementSize);
    offset += counts[k];
  }
  return DLC_OK;
}

/// The entry tensors of the inputs `given` (one per ONNX input): tensors as
/// they are, sequences and optionals packed (runtime.h has the conventions,
/// manifest.fbs the parts).
static dlc_status packInputs(const dlc_model *model, const dlc_tensor *given,
                             size_t count, PackedInputs &packed) {
  const std::vector<ValueDesc> &values = model->inputValues;
  if (count != values.size())
    return fail(DLC_ERROR_SIGNATURE,
                "the model takes " + std::to_string(values.size()) +
                    " input(s), " + std::to_string(count) + " given");
  if (count && !given)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "input array is null");
  for (size_t i = 0; i < count; ++i) {
    const ValueDesc &v = values[i];
    const dlc_tensor &t = given[i];
    if (v.kind == DLC_VALUE_TENSOR) {
      packed.add(t, i);
      continue;
    }
    const TensorDesc &e = model->inputs[v.first];
    std::string where = "input #" + std::to_string(i) + " ('" + e.name + "')";
    if (t.rank != DLC_RANK_ABSENT &&
        (t.rank == DLC_RANK_SEQUENCE) != v.isSequence())
      return fail(DLC_ERROR_SIGNATURE,
                  where + ": " +
                      (v.isSequence()
                           ? "a sequence, given as a tensor (pass rank "
                             "DLC_RANK_SEQUENCE, data a dlc_sequence)"
                           : "a tensor, given as a sequence"));
    if (t.rank == DLC_RANK_ABSENT && !v.isOptional())
      return fail(DLC_ERROR_SIGNATURE,
                  where + ": a " + dlc_value_kind_name(v.kind) +
                      ", not an optional: it cannot be absent");
    bool absent = t.rank == DLC_RANK_ABSENT;
    if (v.isOptional()) {
      auto *present =
          static_cast<uint8_t *>(packed.addBuffer(1, DLC_BOOL, {}, i, absent));
      if (!present)
        return fail(DLC_ERROR_OUT_OF_MEMORY, where + ": out of memory");
      *present = !absent;
    }
    if (!absent && v.isSequence()) {
      if (dlc_status s = packSequence(v, i, t, where, packed))
        return s;
    } else if (!absent) {
      packed.add(t, i);
    } else if (v.isSequence()) {
      // Nothing: an empty values buffer and table.
      if (!packed.addBuffer(0, v.dtype, {0}, i, true) ||
          !packed.addBuffer(0, DLC_INT64, {0, kSequenceRowWidth}, i, true))
        return fail(DLC_ERROR_OUT_OF_MEMORY, where + ": out of memory");
    } else {
      // The tensor's dims all 0, on a valid pointer.
      const TensorDesc &tensor = model->inputs[v.first + 1];
      if (!packed.addBuffer(0, v.dtype,
                            std::vector<int64_t>(tensor.shape.size(), 0), i,
                            true))
        return fail(DLC_ERROR_OUT_OF_MEMORY, where + ": out of memory");
    }
  }
  return DLC_OK;
}

/// The inputs' entry tensors, checked, their data appended to `in`.
static dlc_status prepareInputs(const dlc_model *model, const dlc_tensor *given,
                                size_t count, PackedInputs &packed,
                                std::vector<void *> &in) {
  if (dlc_status s = packInputs(model, given, count, packed))
    return s;
  return checkTensors(model->inputs, packed.tensors.data(),
                      packed.tensors.size(), "input", in, &packed.value,
                      &packed.absent);
}

/// The sizes of the inputs' dims known only at run time, in entry tensor
/// then dim order, appended to `in` (the entry point's argument after the
/// inputs) when there are any; dims of one name must agree (an absent
/// optional's are not compared). `inputs` passed prepareInputs.
static dlc_status passInputDims(const dlc_model *model,
                                const PackedInputs &inputs,
                                std::vector<int64_t> &dims,
                                std::vector<void *> &in, const char *function) {
  // The first dim of each name: (entry tensor, dim). Names are few, so a
  // linear search; messages are built only on a mismatch.
  struct FirstDim {
    const std::string *name;
    size_t tensor, dim;
  };
  std::vector<FirstDim> named;
  auto where = [&](size_t i, size_t d) {
    return "input #" + std::to_string(inputs.value[i]) + " ('" +
           model->inputs[i].name + "') dim " + std::to_string(d);
  };
  for (size_t i = 0; i < model->inputs.size(); ++i) {
    const TensorDesc &e = model->inputs[i];
    for (size_t d = 0; d < e.shape.size(); ++d) {
      if (e.shape[d] >= 0)
        continue;
      int64_t size = inputs.tensors[i].shape[d];
      dims.push_back(size);
      if (d >= e.dimNames.size() || e.dimNames[d].empty() || inputs.absent[i])
        continue;
      const std::string &name = e.dimNames[d];
      auto first =
          std::find_if(named.begin(), named.end(),
                       [&](const FirstDim &f) { return *f.name == name; });
      if (first == named.end()) {
        named.push_back({&name, i, d});
        continue;
      }
      int64_t firstSize = inputs.tensors[first->tensor].shape[first->dim];
      if (firstSize != size)
        return fail(DLC_ERROR_SIGNATURE,
                    std::string(function) + ": " + where(i, d) + " ('" + name +
                        "') is " + std::to_string(size) + ", but " +
                        where(first->tensor, first->dim) + " ('" + name +
                        "') is " + std::to_string(firstSize) +
                        ": dims of one name must be one size");
    }
  }
  if (!dims.empty())
    in.push_back(dims.data());
  return DLC_OK;
}

static int64_t elementsOf(const int64_t *dims, size_t rank) {
  int64_t n = 1;
  for (size_t d = 0; d < rank; ++d)
    n *= dims[d];
  return n;
}

dlc_status dlc_model_run(dlc_model *model, const dlc_tensor *inputs,
                         size_t num_inputs, dlc_tensor *outputs,
                         size_t num_outputs) {
  if (!model)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "dlc_model_run: model is null");
  for (size_t i = 0; i < model->outputValues.size(); ++i)
    if (model->outputValues[i].kind != DLC_VALUE_TENSOR)
      return fail(DLC_ERROR_SIGNATURE,
                  "dlc_model_run: output #" + std::to_string(i) + " ('" +
                      model->outputs[model->outputValues[i].first].name +
                      "') is a " +
                      dlc_value_kind_name(model->outputValues[i].kind) +
                      ": use dlc_model_run_alloc, which returns sequences "
                      "and optionals");
  std::vector<void *> in, out;
  std::vector<int64_t> dims;
  PackedInputs packed;
  if (dlc_status s = prepareInputs(model, inputs, num_inputs, packed, in))
    return s;
  if (dlc_status s = passInputDims(model, packed, dims, in, "dlc_model_run"))
    return s;
  if (dlc_status s =
          checkTensors(model->outputs, outputs, num_outputs, "output", out))
    return s;
  RuntimeShapedOutputs shaped(model->outputs);
  for (size_t i = 0; i < num_outputs; ++i)
    if (!shaped.slots[i].empty())
      out[i] = shaped.slots[i].data();
  if (dlc_status s = runEntry(model, in, out, "dlc_model_run"))
    return s;
  // Every run-time shape must be the caller's before any output is written.
  for (size_t i = 0; i < num_outputs; ++i) {
    const std::vector<int64_t> &slot = shaped.slots[i];
    if (slot.empty() ||
        std::equal(slot.begin() + 1, slot.end(), outputs[i].shape))
      continue;
    return fail(DLC_ERROR_SIGNATURE,
                "dlc_model_run: output #" + std::to_string(i) + " ('" +
                    model->outputs[i].name + "') is " +
                    shapeString(slot.data() + 1,
                                static_cast<int32_t>(slot.size() - 1)) +
                    " for these inputs, the caller's tensor " +
                    shapeString(outputs[i].shape, outputs[i].rank) +
                    " (dlc_model_run_alloc allocates outputs of run-time "
                    "shapes); the outputs are not valid");
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    const std::vector<int64_t> &slot = shaped.slots[i];
    if (slot.empty())
      continue;
    int64_t bytes = elementsOf(slot.data() + 1, slot.size() - 1) *
                    static_cast<int64_t>(dlc_dtype_size(outputs[i].dtype));
    if (bytes > 0)
      std::memcpy(outputs[i].data, reinterpret_cast<void *>(slot[0]),
                  static_cast<size_t>(bytes));
  }
  lastError.clear();
  return DLC_OK;
}

/// The dlc_tensor of rank DLC_RANK_SEQUENCE that the values and table
/// `entries` of output `where` make, in `result` (whatever is built so far
/// on failure, for dlc_tensor_free).
static dlc_status unpackSequence(const dlc_tensor &values,
                                 const dlc_tensor &table,
                                 const std::string &where, dlc_tensor &result) {
  auto *sequence =
      static_cast<dlc_sequence *>(std::calloc(1, sizeof(dlc_sequence)));
  if (!sequence)
    return fail(DLC_ERROR_OUT_OF_MEMORY, "dlc_model_run_alloc: out of memory");
  result = dlc_tensor{sequence, values.dtype, DLC_RANK_SEQUENCE, nullptr};
  int64_t rows = table.shape[0], count = values.shape[0];
  size_t elementSize = dlc_dtype_size(values.dtype);
  if (rows < 0 || count < 0 || table.shape[1] != kSequenceRowWidth)
    return fail(DLC_ERROR_SIGNATURE,
                where + ": the library returned a malformed sequence (" +
                    std::to_string(rows) + " rows, " + std::to_string(count) +
                    " values)");
  sequence->tensors = static_cast<dlc_tensor *>(std::calloc(
      static_cast<size_t>(std::max<int64_t>(rows, 1)), sizeof(dlc_tensor)));
  if (!sequence->tensors)
    return fail(DLC_ERROR_OUT_OF_MEMORY, "dlc_model_run_alloc: out of memory");
  const auto *base = static_cast<const char *>(values.data);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t *row =
        static_cast<const int64_t *>(table.data) + r * kSequenceRowWidth;
    int64_t offset = row[0], rank = row[1], elements = 1;
    bool ok =
        rank >= 0 && rank <= kSequenceMaxRank && offset >= 0 && offset <= count;
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = row[2 + d] >= 0 &&
           !__builtin_mul_overflow(elements, row[2 + d], &elements);
    if (!ok || elements > count - offset)
      return fail(DLC_ERROR_SIGNATURE,
                  where + ": the library returned a malformed sequence (row " +
                      std::to_string(r) + ": offset " + std::to_string(offset) +
                      ", rank " + std::to_string(rank) + ", in " +
                      std::to_string(count) + " values)");
    dlc_tensor &t = sequence->tensors[r];
    t.dtype = values.dtype;
    auto *shape = static_cast<int64_t *>(
        std::malloc(sizeof(int64_t) * std::max<int64_t>(1, rank)));
    size_t bytes = static_cast<size_t>(elements) * elementSize;
    void *data = std::aligned_alloc(64, roundUp64(bytes ? bytes : 1));
    if (!shape || !data) {
      std::free(shape);
      std::free(data);
      return fail(DLC_ERROR_OUT_OF_MEMORY,
                  "dlc_model_run_alloc: cannot allocate " +
                      std::to_string(bytes) + " bytes for " + where);
    }
    std::copy(row + 2, row + 2 + rank, shape);
    if (bytes)
      std::memcpy(data, base + offset * elementSize, bytes);
    t = dlc_tensor{data, values.dtype, static_cast<int32_t>(rank), shape};
    sequence->length = r + 1;
  }
  return DLC_OK;
}

dlc_status dlc_model_run_alloc(dlc_model *model, const dlc_tensor *inputs,
                               size_t num_inputs, dlc_tensor *outputs,
                               size_t num_outputs) {
  if (!model)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_run_alloc: model is null");
  // Empty from the start, so that every failure leaves them so.
  if (outputs)
    for (size_t i = 0; i < num_outputs; ++i)
      outputs[i] = dlc_tensor{nullptr, DLC_FLOAT32, 0, nullptr};
  std::vector<void *> in;
  std::vector<int64_t> dims;
  PackedInputs packed;
  if (dlc_status s = prepareInputs(model, inputs, num_inputs, packed, in))
    return s;
  if (dlc_status s =
          passInputDims(model, packed, dims, in, "dlc_model_run_alloc"))
    return s;
  if (num_outputs != model->outputValues.size())
    return fail(DLC_ERROR_SIGNATURE,
                "the model takes " +
                    std::to_string(model->outputValues.size()) +
                    " output(s), " + std::to_string(num_outputs) + " given");
  if (num_outputs && !outputs)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "output array is null");
  for (size_t i = 0; i < num_outputs; ++i)
    outputs[i].dtype = model->outputValues[i].dtype;
  // The entry point's outputs: the static ones allocated here, the others
  // by the generated code. Handed over to `outputs` (or unpacked into them)
  // after the call; what is left is freed.
  size_t numEntries = model->outputs.size();
  struct EntryOutputs {
    std::vector<dlc_tensor> tensors;
    ~EntryOutputs() {
      for (dlc_tensor &t : tensors)
        dlc_tensor_free(&t);
    }
  } entries;
  entries.tensors.assign(numEntries,
                         dlc_tensor{nullptr, DLC_FLOAT32, 0, nullptr});
  RuntimeShapedOutputs shaped(model->outputs);
  std::vector<void *> out(numEntries, nullptr);
  auto release = [&](dlc_status s) {
    for (size_t i = 0; i < num_outputs; ++i)
      dlc_tensor_free(&outputs[i]);
    return s;
  };
  for (size_t i = 0; i < numEntries; ++i) {
    const TensorDesc &e = model->outputs[i];
    dlc_tensor &t = entries.tensors[i];
    t.dtype = e.dtype;
    int64_t *shape = static_cast<int64_t *>(
        std::malloc(sizeof(int64_t) * std::max<size_t>(1, e.shape.size())));
    if (!shape)
      return release(
          fail(DLC_ERROR_OUT_OF_MEMORY, "dlc_model_run_alloc: out of memory"));
    std::copy(e.shape.begin(), e.shape.end(), shape);
    t.shape = shape;
    t.rank = static_cast<int32_t>(e.shape.size());
    if (!shaped.slots[i].empty()) {
      out[i] = shaped.slots[i].data();
      continue;
    }
    size_t bytes = static_cast<size_t>(elementsOf(shape, e.shape.size())) *
                   dlc_dtype_size(e.dtype);
    t.data = std::aligned_alloc(64, roundUp64(bytes ? bytes : 1));
    if (!t.data)
      return release(fail(DLC_ERROR_OUT_OF_MEMORY,
                          "dlc_model_run_alloc: cannot allocate " +
                              std::to_string(bytes) + " bytes for output '" +
                              e.name + "'"));
    out[i] = t.data;
  }
  if (dlc_status s = runEntry(model, in, out, "dlc_model_run_alloc"))
    return release(s);
  for (size_t i = 0; i < numEntries; ++i) {
    if (shaped.slots[i].empty())
      continue;
    std::copy(shaped.slots[i].begin() + 1, shaped.slots[i].end(),
              const_cast<int64_t *>(entries.tensors[i].shape));
    entries.tensors[i].data = shaped.take(i);
  }
  // One output per ONNX value: a tensor is handed over, a sequence or an
  // optional made from its parts.
  for (size_t i = 0; i < num_outputs; ++i) {
    const ValueDesc &v = model->outputValues[i];
    dlc_tensor *parts = entries.tensors.data() + v.first;
    if (v.isOptional()) {
      if (!*static_cast<const uint8_t *>(parts[0].data)) {
        outputs[i] = dlc_tensor{nullptr, v.dtype, DLC_RANK_ABSENT, nullptr};
        continue;
      }
      ++parts;
    }
    if (v.isSequence()) {
      std::string where = "output #" + std::to_string(i) + " ('" +
                          model->outputs[v.first].name + "')";
      if (dlc_status s = unpackSequence(parts[0], parts[1], where, outputs[i]))
        return release(s);
      continue;
    }
    outputs[i] = parts[0];
    parts[0] = dlc_tensor{nullptr, v.dtype, 0, nullptr};
  }
  lastError.clear();
  return DLC_OK;
}

void dlc_tensor_free(dlc_tensor *tensor) {
  if (!tensor)
    return;
  if (tensor->rank == DLC_RANK_SEQUENCE) {
    if (auto *sequence = static_cast<dlc_sequence *>(tensor->data)) {
      for (int64_t k = 0; k < sequence->length; ++k)
        dlc_tensor_free(&sequence->tensors[k]);
      std::free(sequence->tensors);
      std::free(sequence);
    }
  } else if (tensor->rank != DLC_RANK_ABSENT) {
    std::free(tensor->data);
  }
  std::free(const_cast<int64_t *>(tensor->shape));
  tensor->data = nullptr;
  tensor->shape = nullptr;
  tensor->rank = 0;
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

static dlc_status notTraining(const dlc_model *model, const char *function) {
  if (!model)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string(function) + ": model is null");
  if (!model->training)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "model is not a training library (compile with dlc --train)");
  return DLC_OK;
}

int dlc_model_is_training(const dlc_model *m) {
  return m && m->training ? 1 : 0;
}
size_t dlc_model_num_state(const dlc_model *m) {
  return m ? m->state.size() : 0;
}
int64_t dlc_model_state_bytes(const dlc_model *m) {
  return m ? m->stateBytes : 0;
}
int64_t dlc_model_step_workspace_bytes(const dlc_model *m) {
  return m ? m->stepWorkspaceBytes : 0;
}
const char *dlc_model_optimizer(const dlc_model *m) {
  return m ? m->optimizer.c_str() : "";
}
const char *dlc_model_loss(const dlc_model *m) {
  return m ? m->loss.c_str() : "";
}
size_t dlc_model_num_hyperparameters(const dlc_model *m) {
  return m ? m->hyperparameters.size() : 0;
}
size_t dlc_model_num_frozen(const dlc_model *m) {
  return m ? m->frozen.size() : 0;
}
int64_t dlc_model_step_count(const dlc_model *m) {
  if (!m)
    return 0;
  std::unique_lock<std::shared_mutex> lock(m->runMutex);
  return m->steps;
}

static dlc_status outOfRange(const char *what, size_t index, size_t size) {
  return fail(DLC_ERROR_INVALID_ARGUMENT,
              std::string(what) + " index " + std::to_string(index) +
                  " is out of range (model has " + std::to_string(size) +
                  ")");
}

dlc_status dlc_model_state_info(const dlc_model *model, size_t index,
                                dlc_state_info *info) {
  if (dlc_status s = notTraining(model, "dlc_model_state_info"))
    return s;
  if (!info)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_state_info: info is null");
  if (index >= model->state.size())
    return outOfRange("state", index, model->state.size());
  const StateDesc &d = model->state[index];
  info->name = d.name.c_str();
  info->role = d.role;
  info->dtype = d.dtype;
  info->rank = static_cast<int32_t>(d.shape.size());
  info->shape = d.shape.data();
  info->parameter = d.parameter.c_str();
  info->offset = d.offset;
  info->bytes = d.bytes;
  return DLC_OK;
}

dlc_status dlc_model_hyperparameter(const dlc_model *model, size_t index,
                                    const char **name, double *value) {
  if (dlc_status s = notTraining(model, "dlc_model_hyperparameter"))
    return s;
  if (!name || !value)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_hyperparameter: null argument");
  if (index >= model->hyperparameters.size())
    return outOfRange("hyperparameter", index, model->hyperparameters.size());
  *name = model->hyperparameters[index].first.c_str();
  *value = model->hyperparameters[index].second;
  return DLC_OK;
}

/// The index of the first nan or inf of `values[0, count)`, if any.
static std::optional<size_t> firstNonFinite(const float *values,
                                            size_t count) {
  for (size_t k = 0; k < count; ++k)
    if (!std::isfinite(values[k]))
      return k;
  return std::nullopt;
}

dlc_status dlc_model_apply_gradients(dlc_model *model,
                                     const float *const *gradients,
                                     size_t num_gradients, float lr) {
  if (dlc_status s = notTraining(model, "dlc_model_apply_gradients"))
    return s;
  if (!model->apply)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_apply_gradients: the library has no update entry "
                "point (compile it again with this dlc)");
  size_t parameters = 0;
  for (const StateDesc &t : model->state)
    parameters += t.role == DLC_STATE_PARAMETER;
  if (!gradients || num_gradients != parameters)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_apply_gradients: expected " +
                    std::to_string(parameters) + " gradients, got " +
                    std::to_string(gradients ? num_gradients : 0));
  for (size_t i = 0; i < num_gradients; ++i)
    if (!gradients[i])
      return fail(DLC_ERROR_INVALID_ARGUMENT,
                  "dlc_model_apply_gradients: gradient #" + std::to_string(i) +
                      " is null");
  if (!std::isfinite(lr) || lr < 0)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_apply_gradients: the learning rate must be finite "
                "and >= 0");
  // One nan after an all-reduce would poison every parameter.
  {
    size_t p = 0;
    for (const StateDesc &t : model->state) {
      if (t.role != DLC_STATE_PARAMETER)
        continue;
      if (std::optional<size_t> k =
              firstNonFinite(gradients[p++], t.bytes / sizeof(float)))
        return fail(DLC_ERROR_NONFINITE,
                    "dlc_model_apply_gradients: the gradient of '" + t.name +
                        "' is not finite at element " + std::to_string(*k) +
                        "; the update was not applied");
    }
  }
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  std::vector<void *> in = {&lr}, out;
  for (const StateDesc &t : model->state) {
    in.push_back(model->current.data + t.offset);
    out.push_back(model->next.data + t.offset);
  }
  for (size_t i = 0; i < num_gradients; ++i)
    in.push_back(const_cast<float *>(gradients[i]));
  model->apply(in.data(), out.data(), model->workspace);
  model->current.swap(model->next);
  ++model->steps;
  lastError.clear();
  return DLC_OK;
}

const void *dlc_model_source_model(const dlc_model *m, size_t *size) {
  if (size)
    *size = m && m->sourceModel ? m->sourceModelSize : 0;
  return m && m->sourceModelSize ? m->sourceModel : nullptr;
}

size_t dlc_model_num_step_inputs(const dlc_model *m) {
  return m ? m->stepInputs.size() : 0;
}

dlc_status dlc_model_step_input_info(const dlc_model *model, size_t index,
                                     dlc_tensor_info *info) {
  if (dlc_status s = notTraining(model, "dlc_model_step_input_info"))
    return s;
  return describe(model, &model->stepInputs, index, info, "step input");
}

dlc_status dlc_model_frozen_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info) {
  if (dlc_status s = notTraining(model, "dlc_model_frozen_info"))
    return s;
  return describe(model, &model->frozen, index, info, "frozen");
}

/// Runs the step on the current state into `next` and `nextGradients`;
/// keeps the gradients, and with `update` the new state, if the loss is
/// finite.
static dlc_status runStep(dlc_model *model, const dlc_tensor *inputs,
                          size_t num_inputs, float lr, float *loss,
                          bool update, const char *function) {
  if (dlc_status s = notTraining(model, function))
    return s;
  std::vector<void *> in, out;
  if (dlc_status s = checkTensors(model->stepInputs, inputs, num_inputs,
                                  "input", in))
    return s;
  if (!std::isfinite(lr) || lr < 0)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string(function) +
                    ": the learning rate must be finite and >= 0");
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  in.push_back(&lr);
  float value = NAN;
  out.push_back(&value);
  for (const StateDesc &t : model->state) {
    in.push_back(model->current.data + t.offset);
    out.push_back(model->next.data + t.offset);
  }
  for (const StateDesc &t : model->state)
    if (t.role == DLC_STATE_PARAMETER)
      out.push_back(model->nextGradients.data + t.gradientOffset);
  model->step(in.data(), out.data(), model->workspace);
  if (dlc_status s = checkReport(model, function,
                                 update ? "; the update was not applied"
                                        : "; the gradients were not kept"))
    return s;
  if (loss)
    *loss = value;
  if (!std::isfinite(value))
    return fail(DLC_ERROR_NONFINITE,
                std::string("the loss is ") +
                    (std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf") +
                    " at step " + std::to_string(model->steps + 1) +
                    (update ? "; the update was not applied"
                            : "; the gradients were not kept"));
  // A finite loss can still come with a nan or inf gradient (0 * inf in a
  // backward rule, an overflow): that update would poison every parameter.
  for (const StateDesc &t : model->state) {
    if (t.role != DLC_STATE_PARAMETER || t.dtype != DLC_FLOAT32)
      continue;
    const float *g = reinterpret_cast<const float *>(
        model->nextGradients.data + t.gradientOffset);
    if (std::optional<size_t> k = firstNonFinite(g, t.bytes / sizeof(float)))
      return fail(DLC_ERROR_NONFINITE,
                  "the gradient of '" + t.name + "' is " +
                      (std::isnan(g[*k]) ? "nan" : "inf") + " at element " +
                      std::to_string(*k) + " at step " +
                      std::to_string(model->steps + 1) +
                      (update ? "; the update was not applied"
                              : "; the gradients were not kept"));
  }
  model->gradients.swap(model->nextGradients);
  model->haveGradients = true;
  if (update) {
    model->current.swap(model->next);
    ++model->steps;
  } else {
    // The forward pass ran in training mode: its buffer updates (BatchNorm
    // running statistics) stand; parameters wait for apply_gradients.
    for (const StateDesc &t : model->state)
      if (t.role == DLC_STATE_BUFFER)
        std::memcpy(model->current.data + t.offset, model->next.data + t.offset,
                    t.bytes);
  }
  lastError.clear();
  return DLC_OK;
}

dlc_status dlc_model_train_step(dlc_model *model, const dlc_tensor *inputs,
                                size_t num_inputs, float lr, float *loss) {
  return runStep(model, inputs, num_inputs, lr, loss, /*update=*/true,
                 "dlc_model_train_step");
}

dlc_status dlc_model_compute_gradients(dlc_model *model,
                                       const dlc_tensor *inputs,
                                       size_t num_inputs, float *loss) {
  // The step's update is discarded, so the learning rate does not matter.
  return runStep(model, inputs, num_inputs, 0.0f, loss, /*update=*/false,
                 "dlc_model_compute_gradients");
}

/// The state tensor `name`, checked against a caller's buffer of `bytes`.
static const StateDesc *findState(const dlc_model *model, const char *name,
                                  const void *data, size_t bytes,
                                  const char *function, dlc_status &status) {
  status = notTraining(model, function);
  if (status)
    return nullptr;
  if (!name) {
    status = fail(DLC_ERROR_INVALID_ARGUMENT,
                  std::string(function) + ": name is null");
    return nullptr;
  }
  for (const StateDesc &t : model->state) {
    if (t.name != name)
      continue;
    if (bytes != t.bytes)
      status = fail(DLC_ERROR_INVALID_ARGUMENT,
                    "state tensor '" + t.name + "' has " +
                        std::to_string(t.bytes) + " bytes, " +
                        std::to_string(bytes) + " given");
    else if (!data && bytes)
      status = fail(DLC_ERROR_INVALID_ARGUMENT,
                    std::string(function) + ": data is null");
    return status ? nullptr : &t;
  }
  status = fail(DLC_ERROR_INVALID_ARGUMENT,
                std::string("no state tensor named '") + name + "'");
  return nullptr;
}

dlc_status dlc_model_read_state(const dlc_model *model, const char *name,
                                void *data, size_t bytes) {
  dlc_status s;
  const StateDesc *t =
      findState(model, name, data, bytes, "dlc_model_read_state", s);
  if (!t)
    return s;
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  if (bytes)
    std::memcpy(data, model->current.data + t->offset, bytes);
  lastError.clear();
  return DLC_OK;
}

dlc_status dlc_model_write_state(dlc_model *model, const char *name,
                                 const void *data, size_t bytes) {
  dlc_status s;
  const StateDesc *t =
      findState(model, name, data, bytes, "dlc_model_write_state", s);
  if (!t)
    return s;
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  if (bytes)
    std::memcpy(model->current.data + t->offset, data, bytes);
  lastError.clear();
  return DLC_OK;
}

dlc_status dlc_model_read_gradient(const dlc_model *model, const char *name,
                                   void *data, size_t bytes) {
  dlc_status s;
  const StateDesc *t =
      findState(model, name, data, bytes, "dlc_model_read_gradient", s);
  if (!t)
    return s;
  if (t->role != DLC_STATE_PARAMETER)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "state tensor '" + t->name +
                    "' is not a parameter: it has no gradient");
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  if (!model->haveGradients)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "no gradients yet: run dlc_model_train_step or "
                "dlc_model_compute_gradients first");
  if (bytes)
    std::memcpy(data, model->gradients.data + t->gradientOffset, bytes);
  lastError.clear();
  return DLC_OK;
}

dlc_status dlc_model_save_checkpoint(const dlc_model *model,
                                     const char *path) {
  if (dlc_status s = notTraining(model, "dlc_model_save_checkpoint"))
    return s;
  if (!path)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_save_checkpoint: path is null");
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  unsigned char header[kCheckpointHeaderBytes];
  std::memcpy(header, kCheckpointMagic, 8);
  putU64(header + 8, static_cast<uint64_t>(model->stateBytes));
  putU64(header + 16, model->stateHash);
  putU64(header + 24, static_cast<uint64_t>(model->steps));
  Fnv1a data;
  data.bytes(model->current.data, static_cast<size_t>(model->stateBytes));
  putU64(header + 32, data.hash);
  // Written aside and renamed, so that a crash never leaves half a
  // checkpoint where a whole one was.
  std::string temporary = std::string(path) + ".tmp";
  std::FILE *file = std::fopen(temporary.c_str(), "wb");
  if (!file)
    return fail(DLC_ERROR_IO, temporary + ": cannot write: " +
                                  std::strerror(errno));
  size_t stateBytes = static_cast<size_t>(model->stateBytes);
  bool ok = std::fwrite(header, 1, sizeof(header), file) == sizeof(header) &&
            std::fwrite(model->current.data, 1, stateBytes, file) ==
                stateBytes;
  int error = errno;
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) {
    std::remove(temporary.c_str());
    return fail(DLC_ERROR_IO,
                temporary + ": cannot write: " + std::strerror(error));
  }
  if (std::rename(temporary.c_str(), path) != 0) {
    error = errno;
    std::remove(temporary.c_str());
    return fail(DLC_ERROR_IO,
                std::string(path) + ": cannot write: " + std::strerror(error));
  }
  lastError.clear();
  return DLC_OK;
}

dlc_status dlc_model_load_checkpoint(dlc_model *model, const char *path) {
  if (dlc_status s = notTraining(model, "dlc_model_load_checkpoint"))
    return s;
  if (!path)
    return fail(DLC_ERROR_INVALID_ARGUMENT,
                "dlc_model_load_checkpoint: path is null");
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(std::fopen(path, "rb"),
                                                        &std::fclose);
  if (!file)
    return fail(DLC_ERROR_IO, std::string(path) + ": cannot open: " +
                                  std::strerror(errno));
  auto invalid = [&](const std::string &why) {
    return fail(DLC_ERROR_INVALID_ARGUMENT, std::string(path) + ": " + why);
  };
  unsigned char header[kCheckpointHeaderBytes];
  size_t got = std::fread(header, 1, sizeof(header), file.get());
  if (got < 8 || std::memcmp(header, kCheckpointMagic, 8) != 0)
    return invalid("not a dlc checkpoint");
  if (got != sizeof(header))
    return invalid("truncated checkpoint header");
  uint64_t stateBytes = getU64(header + 8);
  if (stateBytes != static_cast<uint64_t>(model->stateBytes))
    return invalid("a checkpoint of another model (" +
                   std::to_string(stateBytes) + " state bytes, this model has " +
                   std::to_string(model->stateBytes) + ")");
  if (getU64(header + 16) != model->stateHash)
    return invalid("a checkpoint of another model (its state tensors differ)");
  std::unique_lock<std::shared_mutex> lock(model->runMutex);
  // Read into the scratch buffer and swap it in only once all is there.
  got = std::fread(model->next.data, 1, stateBytes, file.get());
  if (got != stateBytes)
    return invalid("truncated (" + std::to_string(got) + " of " +
                   std::to_string(stateBytes) + " state bytes)");
  if (std::fgetc(file.get()) != EOF)
    return invalid("trailing bytes after the state");
  Fnv1a data;
  data.bytes(model->next.data, stateBytes);
  if (data.hash != getU64(header + 32))
    return invalid("the state bytes do not match their hash (a damaged "
                   "checkpoint)");
  model->current.swap(model->next);
  model->steps = static_cast<int64_t>(getU64(header + 24));
  // The gradients belong to the state they were computed at.
  model->haveGradients = false;
  lastError.clear();
  return DLC_OK;
}

} // extern "C"
#pragma GCC visibility pop
