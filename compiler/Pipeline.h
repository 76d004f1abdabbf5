//===- Pipeline.h - which passes run, in which order ------------*- C++ -*-===//

#ifndef DLC_COMPILER_PIPELINE_H
#define DLC_COMPILER_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "mlir/Support/Timing.h"

#include <optional>
#include <string>
#include <vector>

namespace dlc {

/// The stages a model passes through; `dlc --emit=<stage>` stops after one.
/// After Linalg the CPU target goes to LLVM; the CUDA target to Gpu (kernels
/// outlined into a gpu.module) and then Ptx (the module compiled to PTX).
enum class Stage { Graph, Kernel, Linalg, Gpu, Ptx, LLVM };

/// An NVIDIA GPU to compile for (`dlc --target=cuda[:sm_NN]`).
struct CudaTarget {
  std::string chip = "sm_90";
  /// The PTX ISA version, as NVPTX features (PTX 8.0 runs on CUDA 12 and
  /// newer drivers and knows every chip up to sm_90a).
  std::string features = "+ptx80";
  /// libdevice's bitcode, linked when math needs it; empty: not available
  /// (then PTX that still calls a libdevice function is refused).
  std::string libdevice;
  /// Testing without a GPU: compile the kernels' loops, mapped to blocks
  /// and threads exactly as for the GPU, for the host CPU instead (the grid
  /// and block loops run as loops), so that what the GPU lowering does to
  /// the loops is checked against reference outputs anywhere. The NVVM and
  /// PTX steps are not involved.
  bool emulateOnHost = false;
};

/// Switches of the pipeline; the fusion switches exist to measure what each
/// fusion buys.
struct PipelineOptions {
  bool foldBatchNorm = true;
  bool fuseBias = true;
  bool fuseResidual = true;
  bool fuseActivation = true;
  /// Print the IR after every pass that changed it (debugging).
  bool printIRAfterChange = false;
  /// Compile a training step: differentiate the entry function with respect
  /// to its `graph.parameter` arguments and apply the optimizer given by
  /// these graph-apply-optimizer options (e.g. "optimizer=adam beta1=0.9").
  std::optional<std::string> training;
  /// With `training`: append this loss to the model's first output first
  /// (graph-append-loss options, e.g. "loss=cross-entropy").
  std::optional<std::string> loss;
  /// Width of the target's vector registers (512: AVX-512, 32 registers;
  /// 256: AVX2, 16; 128: SSE or other), which sizes the matmul kernel's
  /// vectors and register tile (vectorRegisterBits in Codegen.h).
  unsigned vectorBits = 512;
  /// Which 3x3 stride-1 convolutions Winograd F(4x4, 3x3) computes
  /// (passes/conversion/WinogradConv.h): "off", "auto" (where it is
  /// expected to be faster) or "all" (every eligible one).
  std::string winograd = "auto";
  /// Set: the kernels run on this GPU (stages Gpu and Ptx); unset: the CPU.
  std::optional<CudaTarget> cuda;
  /// When set, each pass is timed under this scope (dlc --time-passes).
  mlir::TimingScope *timing = nullptr;
};

/// One tensor a training step keeps between calls, in `train_step`'s
/// argument order (parameters, then moments slot by slot, then the step).
struct StateTensor {
  std::string name, role, parameter; ///< role: parameter, buffer, moment, step
  std::vector<int64_t> shape;
};

/// What the graph stage made of a training step.
struct TrainingLayout {
  std::vector<StateTensor> state;
  /// Trained parameters (they have gradients), and parameters plus buffers:
  /// the state the forward function takes.
  size_t numParameters = 0, numForwardState = 0;
};

/// The model's weights as compiled: the float constants left after the graph
/// and kernel stages (batch norms folded, transposes done).
struct ParameterStats {
  int64_t count = 0, bytes = 0;
};

/// Runs the passes that take an imported graph-dialect module to `stage`;
/// fills `parameters` when given and the kernel stage is reached, and
/// `training` (for options.training) after the graph stage.
mlir::LogicalResult lowerToStage(mlir::ModuleOp module, Stage stage,
                                 const PipelineOptions &options,
                                 ParameterStats *parameters = nullptr,
                                 TrainingLayout *training = nullptr);

} // namespace dlc

#endif // DLC_COMPILER_PIPELINE_H
