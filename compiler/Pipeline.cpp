//===- Pipeline.cpp - which passes run, in which order --------------------===//
//
// The whole compilation pipeline in one place, as textual pass pipelines so
// that each stage reads like what `dlc-opt` would be given.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipeline.h"
#include "compiler/Registration.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;

namespace dlc {

namespace {

std::string graphStage(const PipelineOptions &options) {
  std::string p = "func.func(graph-infer-shapes,canonicalize";
  if (options.foldBatchNorm)
    p += ",graph-fold-batch-norm,canonicalize";
  return p + ")";
}

std::string kernelStage(const PipelineOptions &options) {
  auto flag = [](bool on) { return on ? "true" : "false"; };
  return std::string("func.func(convert-graph-to-kernel,") +
         "kernel-fuse-epilogues{bias=" + flag(options.fuseBias) +
         " residual=" + flag(options.fuseResidual) +
         " activation=" + flag(options.fuseActivation) + "},canonicalize,cse)";
}

std::string linalgStage() {
  return "func.func(convert-kernel-to-linalg,convert-graph-to-linalg,"
         "canonicalize,cse)";
}

std::string llvmStage() {
  // Bufferize the whole module; results become caller-provided out-params so
  // that the C ABI is `void f(inputs..., outputs...)` on bare pointers.
  return "func.func(vectorize-matmul,approximate-math,canonicalize),"
         "one-shot-bufferize{bufferize-function-boundaries=1 "
         "allow-return-allocs-from-loops=1 "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params{modify-public-functions=1 "
         "hoist-static-allocs=1},plan-workspace,"
         "buffer-deallocation-pipeline,"
         "func.func(memref-copy-to-linalg,convert-linalg-to-loops,"
         "convert-vector-to-scf,canonicalize,cse),"
         "lower-affine,convert-scf-to-cf,expand-strided-metadata,"
         "lower-affine,convert-vector-to-llvm,convert-math-to-llvm,"
         "convert-math-to-libm,"
         "finalize-memref-to-llvm,convert-arith-to-llvm,"
         "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
         "convert-cf-to-llvm,convert-arith-to-llvm,"
         "reconcile-unrealized-casts,canonicalize";
}

} // namespace

LogicalResult lowerToStage(ModuleOp module, Stage stage,
                           const PipelineOptions &options,
                           ParameterStats *parameters) {
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
    return pm.run(module);
  };

  std::string first = graphStage(options);
  if (stage >= Stage::Kernel)
    first += "," + kernelStage(options);
  if (failed(run(first)))
    return failure();
  if (parameters && stage >= Stage::Kernel) {
    *parameters = {};
    module.walk([&](arith::ConstantOp constant) {
      auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
      if (!dense || !isa<FloatType>(dense.getElementType()))
        return;
      parameters->count += dense.getNumElements();
      parameters->bytes += dense.getNumElements() *
                           (dense.getElementType().getIntOrFloatBitWidth() / 8);
    });
  }
  if (stage < Stage::Linalg)
    return success();
  std::string rest = linalgStage();
  if (stage >= Stage::LLVM)
    rest += "," + llvmStage();
  return run(rest);
}

} // namespace dlc
