//===- Compile.h - from a graph-dialect module to an artifact ---*- C++ -*-===//
//
// The whole flow after a frontend (the ONNX importer, the C++ DSL) has built
// a module: graph passes, kernels, codegen, manifest, link. The `dlc` tool
// only parses arguments around this call.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_COMPILER_COMPILE_H
#define DLC_COMPILER_COMPILE_H

#include "compiler/Codegen.h"
#include "compiler/Pipeline.h"
#include "frontends/onnx/Importer.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>
#include <vector>

namespace dlc {

/// What to produce: a stage's IR as text (graph, kernel, linalg, llvm; for
/// the CUDA target gpu and the PTX text), an object file and its C header, or
/// a shared library.
enum class Emit { Graph, Kernel, Linalg, Gpu, Ptx, LLVM, Obj, So };

/// A training step's optimizer and loss (`dlc --train`), already validated:
/// the values are PyTorch's, with their defaults resolved.
struct TrainSettings {
  std::string optimizer = "sgd"; ///< sgd, adam, adamw, rmsprop, adagrad
  double lr = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999; ///< adam, adamw
  double alpha = 0.99;               ///< rmsprop
  double eps = -1.0;                 ///< < 0: 1e-10 for adagrad, 1e-8 otherwise
  double weightDecay = 0.0;
  double clipGradNorm = 0.0, clipGradValue = 0.0; ///< 0: off
  /// Empty: the model's first output is the loss (a float32 scalar).
  /// Otherwise the loss appended to it, which adds an input 'labels'.
  std::string loss;
  double huberDelta = 1.0;
  double labelSmoothing = 0.0;
  int64_t ignoreIndex = -100;
  std::vector<double> classWeights;
};

struct CompileOptions {
  Emit emit = Emit::So;
  /// Where to write; "-" is stdout (textual stages only).
  std::string output;
  /// With Emit::Obj, the C header (default: `output` with .h).
  std::string header;
  std::string symbolPrefix = "dlc";
  TargetSpec target;
  /// The pipeline's switches (fusions, Winograd, IR printing); the target's
  /// vector width, training and timing are filled in from the rest.
  PipelineOptions pipeline;
  std::optional<TrainSettings> training;
  /// Write the large constants to a weights file beside the library
  /// (weightsPathFor(output)) instead of into it; Emit::So only. The runtime
  /// reads the file when it loads the library.
  bool externalWeights = false;
  /// An embedded library whose large constants add up to this many bytes
  /// gets them from a data file at link time rather than through LLVM IR
  /// (compiler/DetachedWeights.h): a compile then holds its weights once,
  /// for an extra assembler run (about 0.2 s) that only pays off for big
  /// weights.
  uint64_t detachWeightsMinBytes = uint64_t(4) << 20;
  /// Where to nest the stages' timing (dlc --time-passes); may be null.
  mlir::TimingScope *timing = nullptr;
};

/// Reads a `--target=cuda[:sm_NN]` chip name ("" is sm_90) into `target`,
/// with the PTX version that chip needs and libdevice when it is installed
/// (findLibdevice). Errors name the bad chip.
mlir::LogicalResult parseCudaTarget(llvm::StringRef chip, CudaTarget &target,
                                    std::string &error);

/// libdevice's bitcode: $CUDA_HOME's, /usr/local/cuda's or Debian's
/// nvidia-cuda-toolkit's; "" when none is installed.
std::string findLibdevice();

/// The weights file of `library` with external weights: its path with the
/// extension replaced by `.weights` (model.so: model.weights).
std::string weightsPathFor(const std::string &library);

/// Lowers `module` (graph dialect, whose entry function `signature`
/// describes; `sourcePath` is recorded in the manifest) as `options` say and
/// writes the result. On failure returns failure with `error` set (also
/// when diagnostics were emitted on the way, which name the ops).
mlir::LogicalResult
compileModule(mlir::ModuleOp module,
              const onnx_frontend::ModelSignature &signature,
              const std::string &sourcePath, const CompileOptions &options,
              std::string &error);

} // namespace dlc

#endif // DLC_COMPILER_COMPILE_H
