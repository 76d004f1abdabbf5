//===- Manifest.h - the manifest embedded in every model --------*- C++ -*-===//

#ifndef DLC_COMPILER_MANIFEST_H
#define DLC_COMPILER_MANIFEST_H

#include "frontends/onnx/Importer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlc {

struct ManifestFields {
  std::string targetTriple, targetCpu, source;
  std::string entrySymbol;
  int64_t parameterCount = 0, parameterBytes = 0;
  /// Scratch memory the entry point needs, passed by the caller.
  int64_t workspaceBytes = 0;
};

/// Serializes the FlatBuffers manifest (schema: runtime/manifest.fbs).
/// Fails for a dtype the manifest cannot name.
bool buildManifest(const onnx_frontend::ModelSignature &signature,
                   const ManifestFields &fields, std::vector<uint8_t> &bytes,
                   std::string &error);

} // namespace dlc

#endif // DLC_COMPILER_MANIFEST_H
