//===- Runtime.cpp - load and run dlc-compiled model libraries ------------===//
//
// No LLVM or MLIR here: this file travels with the generated code.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include "manifest_generated.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <memory>
#include <string>
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
};

/// Entry points take arrays of pointers to the inputs' and outputs' data,
/// and the scratch memory the manifest asks for.
using EntryFn = void (*)(void **inputs, void **outputs, void *workspace);

std::string shapeString(const int64_t *shape, int32_t rank) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

struct dlc_model {
  void *handle = nullptr;
  EntryFn entry = nullptr;
  // One workspace per model, allocated once: calls on one model take turns.
  void *workspace = nullptr;
  std::mutex runMutex;
  std::string path, version, target, cpu, source;
  int64_t parameterCount = 0, parameterBytes = 0, workspaceBytes = 0;
  std::vector<TensorDesc> inputs, outputs;

  ~dlc_model() {
    std::free(workspace);
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
  int64_t n = 1;
  for (int32_t i = 0; i < info->rank; ++i)
    n *= info->shape[i];
  return n;
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
  flatbuffers::Verifier verifier(data, *size);
  if (!dlc::manifest::VerifyManifestBuffer(verifier))
    return fail(DLC_ERROR_MANIFEST,
                std::string(path) + ": the manifest is malformed");
  const dlc::manifest::Manifest *manifest = dlc::manifest::GetManifest(data);
  auto str = [](const flatbuffers::String *s) {
    return s ? s->str() : std::string();
  };
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
  auto read = [&](const flatbuffers::Vector<
                      flatbuffers::Offset<dlc::manifest::TensorInfo>> *list,
                  std::vector<TensorDesc> &out) {
    if (!list)
      return;
    for (const auto *t : *list) {
      TensorDesc d;
      d.name = str(t->name());
      d.dtype = static_cast<dlc_dtype>(t->dtype());
      if (t->shape())
        d.shape.assign(t->shape()->begin(), t->shape()->end());
      out.push_back(std::move(d));
    }
  };
  read(entry->inputs(), m->inputs);
  read(entry->outputs(), m->outputs);
  std::string symbol = str(entry->symbol());
  m->entry = reinterpret_cast<EntryFn>(dlsym(m->handle, symbol.c_str()));
  if (!m->entry)
    return fail(DLC_ERROR_MANIFEST, std::string(path) + ": entry point '" +
                                        symbol + "' is missing");
  if (m->workspaceBytes > 0) {
    size_t rounded = (static_cast<size_t>(m->workspaceBytes) + 63) / 64 * 64;
    m->workspace = std::aligned_alloc(64, rounded);
    if (!m->workspace)
      return fail(DLC_ERROR_LOAD, std::string(path) + ": cannot allocate " +
                                      std::to_string(rounded) +
                                      " bytes of workspace");
  }
  *model = m.release();
  return DLC_OK;
}

void dlc_model_free(dlc_model *model) { delete model; }

size_t dlc_model_num_inputs(const dlc_model *model) {
  return model ? model->inputs.size() : 0;
}
size_t dlc_model_num_outputs(const dlc_model *model) {
  return model ? model->outputs.size() : 0;
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

dlc_status dlc_model_input_info(const dlc_model *model, size_t index,
                                dlc_tensor_info *info) {
  return describe(model, model ? &model->inputs : nullptr, index, info,
                  "input");
}
dlc_status dlc_model_output_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info) {
  return describe(model, model ? &model->outputs : nullptr, index, info,
                  "output");
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
const char *dlc_model_source(const dlc_model *m) {
  return m ? m->source.c_str() : "";
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

static dlc_status checkTensors(const std::vector<TensorDesc> &expected,
                               const dlc_tensor *given, size_t count,
                               const char *what, std::vector<void *> &ptrs) {
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
    std::string where = std::string(what) + " #" + std::to_string(i) +
                        " ('" + e.name + "')";
    int64_t elements = 1;
    for (int64_t d : e.shape)
      elements *= d;
    // An empty tensor may have no storage at all.
    if (!t.data && elements != 0)
      return fail(DLC_ERROR_INVALID_ARGUMENT, where + ": data is null");
    if (t.dtype != e.dtype)
      return fail(DLC_ERROR_SIGNATURE,
                  where + ": dtype " + dlc_dtype_name(t.dtype) +
                      ", the model expects " + dlc_dtype_name(e.dtype));
    if (t.rank < 0 || (t.rank > 0 && !t.shape))
      return fail(DLC_ERROR_INVALID_ARGUMENT, where + ": bad rank or shape");
    bool same = static_cast<size_t>(t.rank) == e.shape.size() &&
                (t.rank == 0 ||
                 std::memcmp(t.shape, e.shape.data(),
                             sizeof(int64_t) * e.shape.size()) == 0);
    if (!same)
      return fail(DLC_ERROR_SIGNATURE,
                  where + ": shape " + shapeString(t.shape, t.rank) +
                      ", the model expects " +
                      shapeString(e.shape.data(),
                                  static_cast<int32_t>(e.shape.size())));
    ptrs.push_back(t.data);
  }
  return DLC_OK;
}

dlc_status dlc_model_run(dlc_model *model, const dlc_tensor *inputs,
                         size_t num_inputs, dlc_tensor *outputs,
                         size_t num_outputs) {
  if (!model)
    return fail(DLC_ERROR_INVALID_ARGUMENT, "dlc_model_run: model is null");
  std::vector<void *> in, out;
  if (dlc_status s = checkTensors(model->inputs, inputs, num_inputs, "input",
                                  in))
    return s;
  if (dlc_status s = checkTensors(model->outputs, outputs, num_outputs,
                                  "output", out))
    return s;
  std::lock_guard<std::mutex> lock(model->runMutex);
  model->entry(in.data(), out.data(), model->workspace);
  lastError.clear();
  return DLC_OK;
}

} // extern "C"
#pragma GCC visibility pop
