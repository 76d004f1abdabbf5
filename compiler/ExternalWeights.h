//===- ExternalWeights.h - weights in a file beside the library -*- C++ -*-===//
//
// `dlc --weights=external` keeps a model's large constants out of the shared
// library: their bytes go to `<model>.weights` and the library holds
// zero-filled, writable arrays of the same size (which take no room in the
// file) that the runtime fills from it when it loads the library, before
// any call.
//
// The weights file (little-endian):
//   bytes  0..7   magic "DLCWGHT\0"
//   bytes  8..11  format version (1)
//   bytes 12..15  number of arrays
//   bytes 16..23  id: a hash of every array's bytes, also in the manifest,
//                 so that a file from another compile is refused
//   bytes 24..31  size of the whole file in bytes
//   then each array at the 64-byte aligned offset the manifest gives.
// The library exports `<prefix>_weight_slots`, one pointer per array in
// manifest order, and `<prefix>_weights_loaded` (int32, 0 until the runtime
// has filled them).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_COMPILER_EXTERNALWEIGHTS_H
#define DLC_COMPILER_EXTERNALWEIGHTS_H

#include "compiler/Manifest.h"

#include <string>

namespace llvm {
class Module;
} // namespace llvm

namespace dlc {

/// Arrays smaller than this stay in the library: scalars and small tables
/// are not worth a file read, and the optimizer may fold them.
constexpr uint64_t kMinExternalWeightBytes = 1024;

/// Moves the initializers of `module`'s large constant arrays (internal
/// globals of plain data, and `<prefix>_initial_state` of a training
/// library) into the weights file at `path`, replaces them with zeros,
/// makes them writable, adds the two exports above and fills `fields` for
/// the manifest (the file is named there by its base name: it is looked up
/// beside the library). Call after the IR optimizer, which then compiles
/// the code for constant weights (invariant loads that alias no store), and
/// before code generation. Fails (with `error`) when the file cannot be
/// written.
bool externalizeWeights(llvm::Module &module, const std::string &symbolPrefix,
                        const std::string &path, WeightsFields &fields,
                        std::string &error);

} // namespace dlc

#endif // DLC_COMPILER_EXTERNALWEIGHTS_H
