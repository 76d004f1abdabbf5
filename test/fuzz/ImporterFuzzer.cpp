//===- ImporterFuzzer.cpp - libFuzzer target: the ONNX importer -----------===//
//
// Bytes as an ONNX model file: parse, import to the graph dialect, verify,
// and lower to the kernel stage (shape inference, fusion, each
// convolution's algorithm). Errors are fine; a crash, a sanitizer report, or
// an imported module that does not verify is a finding.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipeline.h"
#include "compiler/Registration.h"
#include "frontends/onnx/Importer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry;
    dlc::registerAllDialects(*r);
    return r;
  }();
  // A context per input: uniqued attributes (the weights) would otherwise
  // pile up over millions of inputs.
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  // Diagnostics are the expected outcome of most inputs: kept quiet, except
  // the verifier's on what the importer built.
  bool verifying = false;
  mlir::ScopedDiagnosticHandler quiet(&context, [&](mlir::Diagnostic &d) {
    if (verifying)
      std::fprintf(stderr, "%s\n", d.str().c_str());
    return mlir::success();
  });
  dlc::onnx_frontend::ModelSignature signature;
  std::string errors;
  auto module = dlc::onnx_frontend::importOnnxBytes(
      context, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz.onnx", signature, errors);
  if (!module)
    return 0;
  verifying = true;
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "the importer built a module that does not verify\n");
    std::abort();
  }
  verifying = false;
  (void)dlc::lowerToStage(*module, dlc::Stage::Kernel, dlc::PipelineOptions());
  return 0;
}
