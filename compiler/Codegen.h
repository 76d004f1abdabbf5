//===- Codegen.h - LLVM dialect to object file and shared library -*- C++ -*-===//

#ifndef DLC_COMPILER_CODEGEN_H
#define DLC_COMPILER_CODEGEN_H

#include "compiler/Manifest.h"
#include "compiler/Pipeline.h"
#include "frontends/onnx/Importer.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace dlc {

/// What to generate code for. Empty fields mean "the host".
struct TargetSpec {
  std::string triple;
  std::string cpu;
  std::string features;
};

/// What the generated code exports: `<prefix>_<entry>`, `<prefix>_manifest`
/// and `<prefix>_manifest_size`. The runtime loads libraries with the
/// default prefix "dlc"; other prefixes let several models be linked
/// statically into one program.
struct ExportSpec {
  std::string symbolPrefix = "dlc";
  /// The weights, as counted by the pipeline (recorded in the manifest).
  int64_t parameterCount = 0, parameterBytes = 0;
  /// Where to write the weights when they are kept out of the library
  /// (compiler/ExternalWeights.h); empty: embedded.
  std::string weightsPath;
  /// Filled by buildLLVMModule: the scratch bytes each call needs.
  int64_t workspaceBytes = 0;
  /// Set for --target=cuda ("sm_90"): the kernels run on the GPU, the
  /// library carries the CUDA driver shim, its entry point takes host
  /// pointers and moves the tensors to the device and back. The workspace
  /// is then device memory the shim allocates (deviceWorkspaceBytes, filled
  /// by buildLLVMModule); the manifest asks the caller for none.
  std::string cudaChip;
  int64_t deviceWorkspaceBytes = 0;
  /// Set for a training library: the state `train_step` keeps, and what the
  /// manifest says about the loss and the optimizer.
  struct Training {
    TrainingLayout layout;
    std::string loss, optimizer;
    std::vector<std::pair<std::string, double>> hyperparameters;
    /// What a step takes before the learning rate: the model inputs, then
    /// `labels` when dlc appended the loss.
    std::vector<onnx_frontend::TensorSignature> inputs;
  };
  std::optional<Training> training;
  /// Filled by buildLLVMModule for a training library: what its manifest
  /// says (state layout, symbols), for the embedding header.
  std::optional<TrainingFields> trainingFields;
};

/// A C header declaring what a model object exports, its tensors and its
/// workspace size, for embedding the object without the runtime.
std::string buildEmbeddingHeader(const onnx_frontend::ModelSignature &signature,
                                 const ExportSpec &exports);

/// A TargetMachine for `spec` (host CPU and features by default), or null with
/// `error` set.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(TargetSpec &spec,
                                                         std::string &error);

/// The width in bits of the widest vector registers `tm`'s CPU and features
/// enable (x86: 512 with AVX-512F, 256 with AVX; 128 otherwise).
unsigned vectorRegisterBits(const llvm::TargetMachine &tm);

/// Translates a module in the LLVM dialect to LLVM IR for `tm`, adds the
/// exported entry point `<prefix>_<entry>(void **inputs, void **outputs,
/// void *workspace)` and the manifest, hides every other symbol and
/// optimizes at -O3. A training library also exports `<prefix>_train_step`
/// and `<prefix>_initial_state` (runtime/manifest.fbs says how to call them).
std::unique_ptr<llvm::Module>
buildLLVMModule(mlir::ModuleOp module, llvm::LLVMContext &llvmContext,
                llvm::TargetMachine &tm, const TargetSpec &spec,
                const onnx_frontend::ModelSignature &signature,
                const std::string &sourcePath, ExportSpec &exports,
                std::string &error);

/// Writes `module` as an object file.
bool emitObjectFile(llvm::Module &module, llvm::TargetMachine &tm,
                    const std::string &path, std::string &error);

/// Links an object file, and the assembler sources `assemblyPaths`, into a
/// standalone shared library (libc and libm only) with the system C compiler
/// driver.
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath, std::string &error,
                       const std::vector<std::string> &assemblyPaths = {});

} // namespace dlc

#endif // DLC_COMPILER_CODEGEN_H
