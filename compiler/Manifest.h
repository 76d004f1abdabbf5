//===- Manifest.h - the manifest embedded in every model --------*- C++ -*-===//

#ifndef DLC_COMPILER_MANIFEST_H
#define DLC_COMPILER_MANIFEST_H

#include "frontends/onnx/Importer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlc {

/// The training part of a manifest (see `table Training` in
/// runtime/manifest.fbs for the calling conventions).
struct TrainingFields {
  std::string stepSymbol, applySymbol, loss, optimizer;
  std::vector<std::pair<std::string, double>> hyperparameters;
  struct State {
    std::string name, role, parameter; ///< role: parameter, moment, step
    std::vector<int64_t> shape;
    int64_t offset = 0; ///< bytes into a state buffer, 64-byte aligned
  };
  std::vector<State> state;
  int64_t stateBytes = 0, stepWorkspaceBytes = 0;
  std::vector<onnx_frontend::TensorSignature> frozen;
  /// What a step takes before the learning rate.
  std::vector<onnx_frontend::TensorSignature> inputs;
};

/// Weights kept in a file beside the library (`dlc --weights=external`; see
/// compiler/ExternalWeights.h for the file's layout).
struct WeightsFields {
  std::string file;  ///< base name, looked up in the library's folder
  uint64_t id = 0;   ///< also in the file's header
  int64_t bytes = 0; ///< size of the whole file
  struct Slot {
    int64_t offset = 0, bytes = 0;
  };
  std::vector<Slot> slots; ///< in the order of <prefix>_weight_slots
};

struct ManifestFields {
  std::string targetTriple, targetCpu, source;
  std::string entrySymbol;
  int64_t parameterCount = 0, parameterBytes = 0;
  /// Scratch memory the entry point needs, passed by the caller.
  int64_t workspaceBytes = 0;
  /// The messages of the generated code's run-time checks, by site - 1.
  std::vector<std::string> runtimeChecks;
  /// Set for training libraries.
  std::optional<TrainingFields> training;
  /// Set when the weights are in a file beside the library.
  std::optional<WeightsFields> weights;
  /// "" (the CPU) or "cuda:<chip>".
  std::string device;
};

/// The bytes of a tensor of `t`'s dtype and shape; UINT64_MAX for a dtype the
/// manifest cannot name or a dim that is not a size.
uint64_t tensorBytes(const onnx_frontend::TensorSignature &t);

/// Serializes the FlatBuffers manifest (schema: runtime/manifest.fbs).
/// Fails for a dtype the manifest cannot name.
bool buildManifest(const onnx_frontend::ModelSignature &signature,
                   const ManifestFields &fields, std::vector<uint8_t> &bytes,
                   std::string &error);

} // namespace dlc

#endif // DLC_COMPILER_MANIFEST_H
