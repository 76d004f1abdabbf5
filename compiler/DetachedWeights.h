//===- DetachedWeights.h - weights kept out of LLVM IR ----------*- C++ -*-===//
//
// A shared library with embedded weights is built without a copy of its
// weights in LLVM IR or in the code generator: the large constant arrays
// leave the LLVM-dialect module before translation, their bytes stream from
// the MLIR attributes to a data file, and the link assembles a small source
// that includes that file (`.incbin`) under each array's symbol. The compile
// then holds the weights only in the MLIR attributes (issue 10's bound on a
// compile's memory), and the library's bytes are the same arrays as before,
// in a read-only section.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_COMPILER_DETACHEDWEIGHTS_H
#define DLC_COMPILER_DETACHEDWEIGHTS_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace dlc {

/// The arrays detachWeights took out, in data-file order.
struct DetachedWeights {
  struct Array {
    std::string symbol;     ///< the global's name; the final one after binding
    uint64_t offset = 0;    ///< where its bytes start in the data file
    uint64_t bytes = 0;     ///< its size in bytes
    uint64_t alignment = 0; ///< in bytes (a power of two)
  };
  std::vector<Array> arrays;
};

/// Takes the initializers of `module`'s large constant globals (llvm.mlir.
/// global constants of at least kMinExternalWeightBytes: arrays of integers
/// or floats, not splats) out of the module: their bytes, as the target lays
/// them out (little-endian hosts and targets only), go to `dataPath` (once
/// for arrays with the same bytes: the later ones become uses of the first),
/// and each global becomes an external declaration. Fails (with `error`)
/// when the file cannot be written; the module is then unchanged.
/// Detaches nothing (success, `detached` empty) when they add up to fewer
/// than `minBytes`.
mlir::LogicalResult detachWeights(mlir::ModuleOp module,
                                  const std::string &dataPath,
                                  uint64_t minBytes, DetachedWeights &detached,
                                  std::string &error);

/// After translation to LLVM IR: renames the detached arrays' declarations
/// `<prefix>_weight_<n>`, makes them hidden and local to the library, and
/// checks that each has the size of its bytes. An array the optimizer
/// removed (unused) is dropped from `detached`. Fails (with `error`) on a
/// size mismatch.
bool bindDetachedWeights(llvm::Module &module, const std::string &symbolPrefix,
                         DetachedWeights &detached, std::string &error);

/// GNU assembler source (also read by clang's integrated assembler) that
/// defines every bound array from `dataPath`, in a read-only section.
std::string detachedWeightsAssembly(const DetachedWeights &detached,
                                    const std::string &dataPath);

} // namespace dlc

#endif // DLC_COMPILER_DETACHEDWEIGHTS_H
