//===- Pipeline.cpp - which passes run, in which order --------------------===//
//
// The whole compilation pipeline in one place, as textual pass pipelines so
// that each stage reads like what `dlc-opt` would be given.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipeline.h"
#include "compiler/Registration.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;

namespace dlc {

namespace {

/// MLIR's canonicalization without the scf.for pattern that moves a
/// tensor.cast of a loop's initial value into the loop: it gives the
/// carried value the initial value's static shape and casts each
/// iteration's value to it, which is wrong when the shape changes in the
/// loop (a sequence that grows from empty).
constexpr const char *kCanonicalize =
    "canonicalize{disable-patterns=\"(anonymous "
    "namespace)::ForOpTensorCastFolder\"}";

std::string graphStage(const PipelineOptions &options) {
  std::string p = "func.func(graph-infer-shapes," + std::string(kCanonicalize);
  if (options.training) {
    p += ")";
    if (options.loss)
      p += ",graph-append-loss{" + *options.loss +
           "},graph-autodiff{function=forward_loss}";
    else
      p += ",graph-autodiff";
    return p + ",graph-apply-optimizer{" + *options.training + "},func.func(" +
           std::string(kCanonicalize) + ",cse)";
  }
  if (options.foldBatchNorm)
    p += ",graph-fold-batch-norm," + std::string(kCanonicalize);
  return p + ")";
}

/// The state table of `train_step`, read from its arguments' graph.state.
LogicalResult readTrainingLayout(ModuleOp module, TrainingLayout &layout) {
  auto step = module.lookupSymbol<func::FuncOp>("train_step");
  if (!step)
    return module.emitError("the training pipeline made no train_step");
  layout = {};
  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    auto state = step.getArgAttrOfType<DictionaryAttr>(i, "graph.state");
    if (!state)
      continue;
    StateTensor t;
    t.name = cast<StringAttr>(state.get("name")).str();
    t.role = cast<StringAttr>(state.get("role")).str();
    if (auto owner = state.getAs<StringAttr>("parameter"))
      t.parameter = owner.str();
    auto type = cast<RankedTensorType>(step.getArgument(i).getType());
    t.shape.assign(type.getShape().begin(), type.getShape().end());
    layout.numParameters += t.role == "parameter";
    layout.numForwardState += t.role == "parameter" || t.role == "buffer";
    layout.state.push_back(std::move(t));
  }
  return success();
}

/// The matmul kernel's register tile for the target's vector registers:
/// rows x vectors accumulators, the vectors of B, a broadcast and (without
/// AVX-512's mask registers) the column masks must fit in the register file:
/// AVX-512 16 + 2 + 1 of 32 zmm; AVX2 and SSE 10 + 2 + 1 + 2 of 16 (6 rows
/// spill).
struct MatmulTile {
  int64_t lanes, rows, vectors;
  int64_t width() const { return lanes * vectors; }
  std::string options() const {
    return "lanes=" + std::to_string(lanes) + " rows=" + std::to_string(rows) +
           " vectors=" + std::to_string(vectors);
  }
};

MatmulTile matmulTile(unsigned vectorBits) {
  if (vectorBits >= 512)
    return {16, 8, 2};
  if (vectorBits >= 256)
    return {8, 5, 2};
  return {4, 5, 2};
}

/// Convolutions of one image with 256 or more filters whose pixels do not
/// fill whole tiles (7x7, 14x14) run their tiles along the filters
/// (measured on resnet18: with 64 and 128 filters the gather of the
/// transposed im2col costs more than the tiles save).
constexpr int64_t kFilterTilesMin = 256;

/// The target figures convolutions are chosen and built with, as the
/// options of a pass that names the tile and vector widths `tileOption` and
/// `vectorOption` (the kernel stage's choice and kernel-to-linalg take the
/// same figures).
std::string convTargetOptions(const PipelineOptions &options,
                              const char *tileOption,
                              const char *vectorOption) {
  // The GPU kernels are plain loops over the outputs for now: no register
  // tiles, no Winograd.
  if (options.cuda)
    return std::string(tileOption) + "=0 " + vectorOption +
           "=0 filter-tiles-min=0 winograd=off";
  MatmulTile tile = matmulTile(options.vectorBits);
  return std::string(tileOption) + "=" + std::to_string(tile.width()) + " " +
         vectorOption + "=" + std::to_string(tile.lanes) +
         " filter-tiles-min=" + std::to_string(kFilterTilesMin) +
         " winograd=" + options.winograd;
}

/// The decision of how each convolution is computed, for this target.
std::string chooseConvAlgorithm(const PipelineOptions &options) {
  return "kernel-choose-conv-algorithm{" +
         convTargetOptions(options, "tile-width", "vector-width") + "}";
}

std::string kernelStage(const PipelineOptions &options) {
  auto flag = [](bool on) { return on ? "true" : "false"; };
  // A batch known only at run time: loops with a matmul take tiles of four
  // register tiles' rows.
  return "func.func(graph-tile-dynamic-batch{rows=" +
         std::to_string(4 * matmulTile(options.vectorBits).rows) +
         "},convert-graph-to-kernel," +
         "kernel-fuse-epilogues{bias=" + flag(options.fuseBias) +
         " residual=" + flag(options.fuseResidual) +
         " activation=" + flag(options.fuseActivation) + "}," +
         chooseConvAlgorithm(options) + "," + std::string(kCanonicalize) +
         ",cse)";
}

/// Convolutions follow the algorithm the kernel stage chose; the target's
/// widths size their panels and vectors.
std::string linalgStage(const PipelineOptions &options) {
  // Matmul rows known only at run time: the tiles graph-tile-dynamic-batch
  // takes.
  std::string rowTile =
      "row-tile=" +
      std::to_string(options.cuda ? 0
                                  : 4 * matmulTile(options.vectorBits).rows);
  return "graph-number-runtime-checks,func.func(convert-kernel-to-linalg{" +
         convTargetOptions(options, "pack-width", "pack-vector-width") + " " +
         rowTile + "},convert-graph-to-linalg{" + rowTile + "}," +
         std::string(kCanonicalize) + ",cse,fuse-elementwise-chains," +
         std::string(kCanonicalize) + ",cse)";
}

/// The CPU's lowering of loops (parallel ones on the library's thread pool)
/// to the LLVM dialect, with the bare-pointer entry ABI. Heap buffers (sizes
/// known only at run time) come from the library's buffer cache
/// (runtime/ThreadPool.c) through MLIR's generic allocation functions.
std::string cpuLoopsToLLVM() {
  return "parallelize-loops,outline-kernels,"
         "lower-affine,convert-scf-to-cf,expand-strided-metadata,"
         "lower-affine,convert-vector-to-llvm,convert-ub-to-llvm,"
         "convert-math-to-llvm,convert-math-to-libm,"
         "finalize-memref-to-llvm{use-aligned-alloc=1 use-generic-functions=1},"
         "convert-arith-to-llvm,"
         "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
         "lower-parallel-launches,"
         "convert-cf-to-llvm,convert-arith-to-llvm,"
         "reconcile-unrealized-casts," +
         std::string(kCanonicalize);
}

/// Bufferization of the whole module, shared by both targets: results become
/// caller-provided out-params (the C ABI is `void f(inputs..., outputs...)`
/// on bare pointers), intermediate buffers views of one planned workspace.
/// Ends with a func.func pipeline that has turned linalg into loops and is
/// left open for the target's loop passes. The deallocation pipeline's
/// dealloc_helper (run-time alias checks of buffers a loop carries) is
/// inlined: the bare-pointer ABI cannot convert its memref<?xindex>
/// arguments. Empty tensors that end up inserted into a larger one (a row
/// tile's product) become slices of it first, so that tiles are computed in
/// place rather than copied in.
std::string bufferizeToLoops() {
  return "split-empty-tensors,copy-repeated-results),"
         "eliminate-empty-tensors,"
         "one-shot-bufferize{bufferize-function-boundaries=1 "
         "allow-return-allocs-from-loops=1 "
         "function-boundary-type-conversion=identity-layout-map},"
         "import-dynamic-inputs,buffer-results-to-out-params{modify-public-"
         "functions=1 "
         "hoist-static-allocs=1},"
         "export-dynamic-outputs{record-static-shapes=1},plan-workspace,"
         "buffer-deallocation-pipeline,inline,export-dynamic-outputs,zero-size-"
         "arguments,"
         "func.func(memref-copy-to-linalg,convert-linalg-to-parallel-loops,";
}

std::string llvmStage(const PipelineOptions &options) {
  MatmulTile tile = matmulTile(options.vectorBits);
  return "func.func(vectorize-matmul{" + tile.options() +
         "},vectorize-sliding-window{lanes=" + std::to_string(tile.lanes) +
         "},vectorize-row-reductions{lanes=" + std::to_string(tile.lanes) +
         "},collapse-contiguous-dims,approximate-math," +
         std::string(kCanonicalize) + "," + bufferizeToLoops() +
         "convert-vector-to-scf{full-unroll=1}," + std::string(kCanonicalize) +
         ",cse)," + cpuLoopsToLLVM();
}

/// The CUDA target after the linalg stage, up to each kernel's loops mapped
/// to blocks and threads: buffers (one workspace, as on the CPU), loops, the
/// mapping. Leaves a func.func pipeline open: nothing may fold the mapped
/// loops (a grid of one block is still a kernel) before they become launches.
std::string gpuLoops() {
  return "func.func(approximate-math," + std::string(kCanonicalize) + "," +
         bufferizeToLoops() + std::string(kCanonicalize) +
         ",cse,gpu-distribute-loops";
}

/// The kernels launched and outlined into one gpu.module.
std::string gpuStage() {
  return gpuLoops() + ",convert-parallel-loops-to-gpu,lower-affine," +
         std::string(kCanonicalize) +
         ",cse),"
         "gpu-launch-sink-index-computations,gpu-kernel-outlining,"
         "gpu-merge-kernel-modules," +
         std::string(kCanonicalize);
}

/// The gpu.module to PTX text (a gpu.binary) through NVVM and LLVM's NVPTX
/// backend.
std::string ptxStage(const CudaTarget &cuda) {
  std::string attach = "nvvm-attach-target{chip=" + cuda.chip +
                       " features=" + cuda.features + " O=3";
  if (!cuda.libdevice.empty())
    attach += " l=" + cuda.libdevice;
  return attach +
         "},gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,"
         "convert-gpu-to-nvvm," +
         std::string(kCanonicalize) +
         ",cse,reconcile-unrealized-casts),"
         "gpu-module-to-binary{format=isa}";
}

/// The CUDA target's host code: the entry functions launch the kernels
/// through the mgpu* functions (runtime/CudaDriver.c) and take bare
/// pointers, as on the CPU.
std::string cudaHostStage() {
  return "lower-affine,convert-scf-to-cf,expand-strided-metadata,lower-affine,"
         "gpu-to-llvm{use-bare-pointers-for-host=1},"
         "finalize-memref-to-llvm,convert-arith-to-llvm,"
         "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
         "convert-cf-to-llvm,reconcile-unrealized-casts," +
         std::string(kCanonicalize);
}

/// The graph stage's argument and result annotations (graph.parameter,
/// graph.state, ...) have been read; LLVM translation would reject them.
void dropGraphAnnotations(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto strip = [&](DictionaryAttr attrs) {
    SmallVector<NamedAttribute> kept;
    if (attrs)
      for (NamedAttribute a : attrs)
        if (!a.getName().strref().starts_with("graph."))
          kept.push_back(a);
    return DictionaryAttr::get(ctx, kept);
  };
  for (auto func : module.getOps<func::FuncOp>()) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttrs(i, strip(func.getArgAttrDict(i)));
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      func.setResultAttrs(i, strip(func.getResultAttrDict(i)));
  }
}

} // namespace

LogicalResult lowerToStage(ModuleOp module, Stage stage,
                           const PipelineOptions &options,
                           ParameterStats *parameters,
                           TrainingLayout *training) {
  // The textual pipeline names passes; register them once per process.
  static const bool registered = (registerAllPasses(), true);
  (void)registered;

  auto run = [&](const std::string &pipeline) -> LogicalResult {
    auto pm = PassManager::on<ModuleOp>(module.getContext());
    if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
      return failure();
    if (options.printIRAfterChange) {
      module.getContext()->disableMultithreading();
      pm.enableIRPrinting(
          [](Pass *, Operation *) { return false; },
          [](Pass *, Operation *) { return true; },
          /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/true);
    }
    if (options.timing)
      pm.enableTiming(*options.timing);
    return pm.run(module);
  };

  // After each stage that transforms weights, the versions it replaced go
  // (dialects/graph/Weights.h).
  std::string first = graphStage(options) + ",release-unused-weights";
  if (stage >= Stage::Kernel)
    first += "," + kernelStage(options) + ",release-unused-weights";
  if (failed(run(first)))
    return failure();
  if (options.training && training &&
      failed(readTrainingLayout(module, *training)))
    return failure();
  if (parameters && stage >= Stage::Kernel) {
    *parameters = {};
    module.walk([&](arith::ConstantOp constant) {
      auto elements = dyn_cast<ElementsAttr>(constant.getValue());
      if (!elements || !isa<FloatType>(elements.getElementType()))
        return;
      parameters->count += elements.getNumElements();
      parameters->bytes +=
          elements.getNumElements() *
          (elements.getElementType().getIntOrFloatBitWidth() / 8);
    });
  }
  if (stage < Stage::Linalg)
    return success();
  dropGraphAnnotations(module);
  std::string rest = linalgStage(options) + ",release-unused-weights";
  if (options.cuda && options.cuda->emulateOnHost) {
    if (stage != Stage::LLVM)
      return module.emitError("emulating the GPU kernels on the host "
                              "writes host code only");
    // Nothing between the mapping and the CPU's lowering that the GPU path
    // does not also run.
    rest += "," + gpuLoops() + ",lower-affine)," + cpuLoopsToLLVM();
  } else if (options.cuda) {
    if (stage >= Stage::Gpu)
      rest += "," + gpuStage();
    if (stage >= Stage::Ptx)
      rest += "," + ptxStage(*options.cuda);
    if (stage == Stage::LLVM)
      rest += "," + cudaHostStage();
  } else if (stage == Stage::LLVM) {
    rest += "," + llvmStage(options);
  } else if (stage != Stage::Linalg) {
    return module.emitError("the gpu and ptx stages need the CUDA target");
  }
  return run(rest);
}

} // namespace dlc
