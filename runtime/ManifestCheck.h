//===- ManifestCheck.h - what makes manifest bytes safe to read -*- C++ -*-===//
//
// Shared by the runtime and the manifest fuzzer (test/fuzz/), so that what
// is fuzzed is what loads a library.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_MANIFESTCHECK_H
#define DLC_RUNTIME_MANIFESTCHECK_H

#include "manifest_generated.h"

#include <cstddef>
#include <cstdint>

namespace dlc::manifest {

/// Whether the manifest in `data` (8-byte aligned: callers copy it into
/// such a buffer) may be read whole: FlatBuffers' verifier, then the
/// alignment of every vector of 8-byte values (shapes, weight slots), which
/// the verifier leaves unchecked (it checks their length field only) and
/// the accessors load as int64_t. An empty vector's data need not be
/// aligned (FlatBuffers does not align it: nothing is read there).
inline bool checkManifestBytes(const uint8_t *data, size_t size) {
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0)
    return false;
  flatbuffers::Verifier verifier(data, size);
  if (!VerifyManifestBuffer(verifier))
    return false;
  auto aligned = [](const auto *vector) {
    return !vector || vector->size() == 0 ||
           reinterpret_cast<uintptr_t>(vector->data()) % 8 == 0;
  };
  auto shapesAligned =
      [&](const flatbuffers::Vector<flatbuffers::Offset<TensorInfo>> *list) {
        if (list)
          for (const TensorInfo *t : *list)
            if (!aligned(t->shape()))
              return false;
        return true;
      };
  const Manifest *m = GetManifest(data);
  if (const auto *entries = m->entry_points())
    for (const EntryPoint *e : *entries)
      if (!shapesAligned(e->inputs()) || !shapesAligned(e->outputs()))
        return false;
  if (const Training *t = m->training()) {
    if (!shapesAligned(t->frozen()) || !shapesAligned(t->inputs()))
      return false;
    if (const auto *state = t->state())
      for (const StateTensor *s : *state)
        if (!aligned(s->shape()))
          return false;
  }
  if (const Weights *w = m->weights())
    if (!aligned(w->slots()))
      return false;
  return true;
}

} // namespace dlc::manifest

#endif // DLC_RUNTIME_MANIFESTCHECK_H
