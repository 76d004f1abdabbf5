//===- FakeTrainingLibrary.cpp - a hand-written training library ----------===//
//
// Stands in for what `dlc --train` generates, so that the runtime's training
// API is tested without the compiler: y = w * x + b on float32 [4], the mean
// squared error against labels t, SGD with momentum. Its manifest is built at
// load time (a constructor runs before dlopen returns).
//
// FAKE_VARIANT selects a broken or different library:
//   0 the library; 1 no dlc_initial_state; 2 a state tensor outside the
//   state; 3 no step function; 4 an initial state shorter than the manifest
//   says; 5 the same sizes but another state table (w is called "weight");
//   6 a manifest of a newer format than the runtime reads.
//
//===----------------------------------------------------------------------===//

#include "manifest_generated.h"

#include <cstdint>
#include <cstring>

#ifndef FAKE_VARIANT
#define FAKE_VARIANT 0
#endif

#define EXPORT __attribute__((visibility("default")))

namespace {

constexpr int64_t kStateBytes = 384;
// State offsets: w [1], b [], running_mean [], w:velocity [1],
// b:velocity [], step [].
constexpr int64_t kW = 0, kB = 64, kMean = 128, kVW = 192, kVB = 256,
                  kStep = 320;
constexpr float kMomentum = 0.9f;

} // namespace

extern "C" {

EXPORT alignas(16) unsigned char dlc_manifest[4096];
EXPORT uint64_t dlc_manifest_size;
#if FAKE_VARIANT != 1
constexpr int64_t kInitialBytes = FAKE_VARIANT == 4 ? 64 : kStateBytes;
EXPORT alignas(64) unsigned char dlc_initial_state[kInitialBytes];
#endif

// inputs: x, t; state 0..5. outputs: y.
EXPORT void dlc_forward(void **inputs, void **outputs, void *) {
  const float *x = static_cast<const float *>(inputs[0]);
  float w = *static_cast<const float *>(inputs[2]);
  float b = *static_cast<const float *>(inputs[3]);
  float *y = static_cast<float *>(outputs[0]);
  for (int i = 0; i < 4; ++i)
    y[i] = w * x[i] + b;
}

#if FAKE_VARIANT != 3
// inputs: x, t, lr, state 0..5. outputs: loss, state 0..5, dw, db.
EXPORT void dlc_train_step(void **inputs, void **outputs, void *) {
  const float *x = static_cast<const float *>(inputs[0]);
  const float *t = static_cast<const float *>(inputs[1]);
  float lr = *static_cast<const float *>(inputs[2]);
  auto in = [&](int i) { return *static_cast<const float *>(inputs[3 + i]); };
  auto out = [&](int i) { return static_cast<float *>(outputs[i]); };
  float w = in(0), b = in(1), mean = in(2), vw = in(3), vb = in(4),
        step = in(5);
  float loss = 0, dw = 0, db = 0, sumX = 0;
  for (int i = 0; i < 4; ++i) {
    float r = w * x[i] + b - t[i];
    loss += r * r / 4;
    dw += 2 * r * x[i] / 4;
    db += 2 * r / 4;
    sumX += x[i];
  }
  vw = kMomentum * vw + dw;
  vb = kMomentum * vb + db;
  *out(0) = loss;
  *out(1) = w - lr * vw;
  *out(2) = b - lr * vb;
  *out(3) = 0.9f * mean + 0.1f * sumX / 4;
  *out(4) = vw;
  *out(5) = vb;
  *out(6) = step + 1;
  *out(7) = dw;
  *out(8) = db;
}
#endif

} // extern "C"

__attribute__((constructor)) static void buildManifest() {
  using namespace dlc::manifest;
  flatbuffers::FlatBufferBuilder fbb;
  auto tensor = [&](const char *name, std::vector<int64_t> shape) {
    return CreateTensorInfoDirect(fbb, name, DType_Float32, &shape);
  };
  std::vector<flatbuffers::Offset<TensorInfo>> inputs = {tensor("x", {4}),
                                                         tensor("t", {4})};
  std::vector<flatbuffers::Offset<TensorInfo>> outputs = {tensor("y", {4})};
  std::vector<flatbuffers::Offset<EntryPoint>> entries = {
      CreateEntryPointDirect(fbb, "forward", "dlc_forward", &inputs, &outputs)};
  auto state = [&](const char *name, StateRole role, std::vector<int64_t> shape,
                   int64_t offset, const char *parameter) {
    return CreateStateTensorDirect(fbb, name, role, DType_Float32, &shape,
                                   offset, parameter);
  };
  const char *w = FAKE_VARIANT == 5 ? "weight" : "w";
  std::vector<flatbuffers::Offset<StateTensor>> states = {
      state(w, StateRole_Parameter, {1}, kW, ""),
      state("b", StateRole_Parameter, {}, FAKE_VARIANT == 2 ? 352 : kB, ""),
      state("running_mean", StateRole_Buffer, {}, kMean, ""),
      state(FAKE_VARIANT == 5 ? "weight:velocity" : "w:velocity",
            StateRole_Moment, {1}, kVW, w),
      state("b:velocity", StateRole_Moment, {}, kVB, "b"),
      state("step", StateRole_Step, {}, kStep, "")};
  std::vector<flatbuffers::Offset<Hyperparameter>> hyper = {
      CreateHyperparameterDirect(fbb, "lr", 0.01),
      CreateHyperparameterDirect(fbb, "momentum", kMomentum)};
  std::vector<flatbuffers::Offset<TensorInfo>> frozen = {tensor("scale", {2})};
  auto training =
      CreateTrainingDirect(fbb, "dlc_train_step", "model", "sgd", &hyper,
                           &states, kStateBytes, &frozen, 256);
  fbb.Finish(CreateManifestDirect(fbb, "0.1.0", "x86_64-unknown-linux-gnu",
                                  "generic", "fake_training.onnx", "test",
                                  &entries, 0, 0, 128, training, nullptr, 0,
                                  FAKE_VARIANT == 6 ? 5 : 1),
             ManifestIdentifier());
  std::memcpy(dlc_manifest, fbb.GetBufferPointer(), fbb.GetSize());
  dlc_manifest_size = fbb.GetSize();

#if FAKE_VARIANT != 1
  auto set = [](int64_t offset, float value) {
    std::memcpy(dlc_initial_state + offset, &value, sizeof(value));
  };
  set(kW, 2.0f);
  set(kB, 1.0f);
  if (FAKE_VARIANT != 4)
    set(kMean, 0.5f);
#endif
}
