//===- ManifestFuzzer.cpp - libFuzzer target: the manifest ----------------===//
//
// Bytes as the manifest a model library embeds: the runtime's check
// (runtime/ManifestCheck.h), then every field the runtime and dlc-run --info
// read, as they read them. Bytes the verifier accepts must be safe to read
// whole; a crash or a sanitizer report is a finding.
//
//===----------------------------------------------------------------------===//

#include "runtime/ManifestCheck.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mf = dlc::manifest;

namespace {

/// Folds what is read into one value, so that no read is optimized away.
struct Sink {
  uint64_t value = 0;
  void add(uint64_t v) { value = value * 31 + v; }
  void add(const flatbuffers::String *s) {
    if (!s)
      return;
    for (char c : s->str())
      add(static_cast<uint64_t>(c));
  }
  template <typename T> void add(const flatbuffers::Vector<T> *v) {
    if (!v)
      return;
    for (auto x : *v)
      add(static_cast<uint64_t>(x));
  }
};

void readTensors(
    Sink &sink,
    const flatbuffers::Vector<flatbuffers::Offset<mf::TensorInfo>> *list) {
  if (!list)
    return;
  for (const mf::TensorInfo *t : *list) {
    sink.add(t->name());
    sink.add(static_cast<uint64_t>(t->dtype()));
    sink.add(t->shape());
    sink.add(static_cast<uint64_t>(t->index_limit()));
    sink.add(static_cast<uint64_t>(t->index_exempt()));
    sink.add(t->has_index_exempt());
    sink.add(t->sign_labels());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // As the runtime reads it: from an 8-byte aligned copy.
  std::vector<uint64_t> copy((size + 7) / 8);
  if (size)
    std::memcpy(copy.data(), data, size);
  const auto *bytes = reinterpret_cast<const uint8_t *>(copy.data());
  if (!mf::checkManifestBytes(bytes, size))
    return 0;
  const mf::Manifest *m = mf::GetManifest(bytes);
  Sink sink;
  sink.add(m->dlc_version());
  sink.add(m->target_triple());
  sink.add(m->target_cpu());
  sink.add(m->source());
  sink.add(m->producer());
  sink.add(static_cast<uint64_t>(m->parameter_count()));
  sink.add(static_cast<uint64_t>(m->parameter_bytes()));
  sink.add(static_cast<uint64_t>(m->workspace_bytes()));
  if (const auto *entries = m->entry_points())
    for (const mf::EntryPoint *e : *entries) {
      sink.add(e->name());
      sink.add(e->symbol());
      readTensors(sink, e->inputs());
      readTensors(sink, e->outputs());
    }
  if (const mf::Training *t = m->training()) {
    sink.add(t->step_symbol());
    sink.add(t->loss());
    sink.add(t->optimizer());
    sink.add(t->apply_symbol());
    sink.add(static_cast<uint64_t>(t->state_bytes()));
    sink.add(static_cast<uint64_t>(t->step_workspace_bytes()));
    if (const auto *hyper = t->hyperparameters())
      for (const mf::Hyperparameter *h : *hyper) {
        sink.add(h->name());
        double value = h->value();
        uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        sink.add(bits);
      }
    if (const auto *state = t->state())
      for (const mf::StateTensor *s : *state) {
        sink.add(s->name());
        sink.add(static_cast<uint64_t>(s->role()));
        sink.add(static_cast<uint64_t>(s->dtype()));
        sink.add(s->shape());
        sink.add(static_cast<uint64_t>(s->offset()));
        sink.add(s->parameter());
      }
    readTensors(sink, t->frozen());
    readTensors(sink, t->inputs());
  }
  if (const auto *checks = m->runtime_checks())
    for (const flatbuffers::String *message : *checks)
      sink.add(message);
  if (const mf::Weights *w = m->weights()) {
    sink.add(w->file());
    sink.add(w->id());
    sink.add(static_cast<uint64_t>(w->bytes()));
    if (const auto *slots = w->slots())
      for (const mf::WeightSlot *slot : *slots) {
        sink.add(static_cast<uint64_t>(slot->offset()));
        sink.add(static_cast<uint64_t>(slot->bytes()));
      }
  }
  volatile uint64_t keep = sink.value;
  (void)keep;
  return 0;
}
