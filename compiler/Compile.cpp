//===- Compile.cpp - from a graph-dialect module to an artifact -----------===//

#include "compiler/Compile.h"
#include "compiler/DetachedWeights.h"
#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SwapByteOrder.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <map>

using namespace mlir;

namespace dlc {

namespace {

void printModule(ModuleOp module, llvm::raw_ostream &os) {
  OpPrintingFlags flags;
  flags.elideLargeElementsAttrs(16);
  flags.elideLargeResourceString(16);
  module->print(os, flags);
}

/// Writes `print`'s text to `path` ("-": stdout).
LogicalResult writeText(const std::string &path,
                        llvm::function_ref<void(llvm::raw_ostream &)> print,
                        std::string &error) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = path + ": " + ec.message();
    return failure();
  }
  print(file.os());
  file.keep();
  return success();
}

std::string number(double v) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.17g", v);
  return text;
}

/// The training pipeline's optimizer and loss options, and the
/// hyperparameters the manifest lists.
void trainingPipeline(const TrainSettings &t, PipelineOptions &options,
                      std::vector<std::pair<std::string, double>> &hyper) {
  std::string o = "optimizer=" + t.optimizer;
  auto add = [&](const char *flag, double value) {
    o += std::string(" ") + flag + "=" + number(value);
    hyper.emplace_back(flag, value);
  };
  hyper.emplace_back("lr", t.lr);
  if (t.optimizer == "sgd") {
    add("momentum", t.momentum);
    if (t.nesterov) {
      o += " nesterov=true";
      hyper.emplace_back("nesterov", 1.0);
    }
  } else if (t.optimizer == "adam" || t.optimizer == "adamw") {
    add("beta1", t.beta1);
    add("beta2", t.beta2);
  } else if (t.optimizer == "rmsprop") {
    add("alpha", t.alpha);
  }
  if (t.optimizer != "sgd")
    add("eps", t.eps >= 0 ? t.eps : t.optimizer == "adagrad" ? 1e-10 : 1e-8);
  if (t.weightDecay != 0.0)
    add("weight-decay", t.weightDecay);
  if (t.clipGradNorm != 0.0)
    add("clip-grad-norm", t.clipGradNorm);
  if (t.clipGradValue != 0.0)
    add("clip-grad-value", t.clipGradValue);
  options.training = o;
  // The loss's settings, for --info.
  if (t.loss == "huber")
    hyper.emplace_back("delta", t.huberDelta);
  if (t.loss == "cross-entropy")
    hyper.emplace_back("label_smoothing", t.labelSmoothing);
  if (t.loss == "cross-entropy" || t.loss == "nll") {
    hyper.emplace_back("ignore_index", double(t.ignoreIndex));
    for (size_t i = 0; i < t.classWeights.size(); ++i)
      hyper.emplace_back("class_weight" + std::to_string(i), t.classWeights[i]);
  }
  if (!t.loss.empty()) {
    std::string l = "loss=" + t.loss + " delta=" + number(t.huberDelta) +
                    " label-smoothing=" + number(t.labelSmoothing) +
                    " ignore-index=" + std::to_string(t.ignoreIndex);
    if (!t.classWeights.empty()) {
      l += " class-weights=";
      for (size_t i = 0; i < t.classWeights.size(); ++i)
        l += (i ? "," : "") + number(t.classWeights[i]);
    }
    options.loss = l;
  }
}

/// The PTX text of the module's kernels; refuses PTX that calls functions
/// it does not define (libdevice's, when it was not linked): the driver
/// would reject it at load time.
LogicalResult readPtx(ModuleOp module, std::string &ptx, std::string &error) {
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1 || binaries.front().getObjects().size() != 1) {
    error = "expected one compiled GPU module with one PTX object";
    return failure();
  }
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  ptx = object.getObject().str();
  std::string undefined;
  llvm::StringRef rest = ptx;
  while (true) {
    size_t at = rest.find(".extern .func");
    if (at == llvm::StringRef::npos)
      break;
    rest = rest.drop_front(at + 13);
    llvm::StringRef line = rest.take_until([](char c) { return c == '\n'; });
    // `.extern .func (.param .b32 func_retval0) name` or `.extern .func name`
    if (line.contains(')'))
      line = line.rsplit(')').second;
    llvm::StringRef name = line.split('(').first.trim();
    undefined += (undefined.empty() ? "" : ", ") + name.str();
  }
  if (!undefined.empty()) {
    error = "the PTX calls functions it does not define (" + undefined +
            "): libdevice was not found to link them";
    return failure();
  }
  return success();
}

} // namespace

LogicalResult parseCudaTarget(llvm::StringRef chip, CudaTarget &target,
                              std::string &error) {
  target = CudaTarget();
  if (chip.empty())
    chip = "sm_90";
  unsigned number = 0;
  llvm::StringRef digits = chip;
  bool valid = digits.consume_front("sm_");
  digits.consume_back("a"); // the architecture-specific variant (sm_90a)
  valid = valid && !digits.getAsInteger(10, number) && number >= 50 &&
          number <= 121;
  if (!valid) {
    error = "--target=cuda:" + chip.str() +
            ": expected an NVIDIA chip such as sm_80, sm_90 or sm_90a "
            "(sm_50 to sm_121)";
    return failure();
  }
  target.chip = chip.str();
  // The oldest PTX ISA that knows the chip, and at least PTX 8.0.
  target.features = number >= 120   ? "+ptx87"
                    : number >= 100 ? "+ptx86"
                                    : "+ptx80";
  target.libdevice = findLibdevice();
  return success();
}

std::string findLibdevice() {
  std::vector<std::string> candidates;
  if (const char *home = std::getenv("CUDA_HOME"))
    candidates.push_back(std::string(home) + "/nvvm/libdevice/libdevice.10.bc");
  candidates.push_back("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc");
  candidates.push_back(
      "/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc");
  for (const std::string &path : candidates)
    if (llvm::sys::fs::exists(path))
      return path;
  return "";
}

std::string weightsPathFor(const std::string &library) {
  llvm::SmallString<128> path(library);
  llvm::sys::path::replace_extension(path, "weights");
  return path.str().str();
}

LogicalResult compileModule(ModuleOp module,
                            const onnx_frontend::ModelSignature &signature,
                            const std::string &sourcePath,
                            const CompileOptions &options, std::string &error) {
  auto fail = [&](const std::string &message) {
    error = message;
    return failure();
  };
  const std::optional<TrainSettings> &train = options.training;
  for (const auto &input : signature.inputs) {
    if (!input.hasRuntimeShape())
      continue;
    std::string names;
    for (const std::string &name : input.dimNames)
      if (!name.empty() && names.find("'" + name + "'") == std::string::npos)
        names += (names.empty() ? " '" : ", '") + name + "'";
    if (train)
      return fail(sourcePath + ": --train: input '" + input.name +
                  "' has dims known only at run time" + names +
                  "; training steps compile for static shapes: pin them "
                  "with --dim or --input-shape");
    if (options.pipeline.cuda)
      return fail(sourcePath + ": --target=cuda: input '" + input.name +
                  "' has dims known only at run time" + names +
                  ", which the CUDA target does not support yet: pin them "
                  "with --dim or --input-shape");
  }
  // Without a training step, what differs between training and inference
  // (a DSL model's dropout) is the inference side; the pipeline's
  // canonicalization drops what only the training side used.
  if (!train)
    graph::resolveModeSelects(module, /*training=*/false);
  if (train && !train->loss.empty() &&
      llvm::any_of(signature.inputs,
                   [](const auto &t) { return t.name == "labels"; }))
    return fail(sourcePath + ": --loss adds an input 'labels', and the model "
                             "already has one");
  if (train && train->loss.empty()) {
    const auto &loss = signature.outputs.front();
    int64_t elements = 1;
    for (int64_t d : loss.shape)
      elements *= d;
    if (elements != 1 || loss.dtype != "float32") {
      std::string shape;
      for (int64_t d : loss.shape)
        shape += (shape.empty() ? "" : ",") + std::to_string(d);
      return fail(sourcePath + ": --train: the first output '" + loss.name +
                  "' (" + loss.dtype + " [" + shape +
                  "]) is not a float32 scalar loss");
    }
  }

  if (options.externalWeights) {
    if (options.emit != Emit::So)
      return fail("--weights=external writes a library and a weights file "
                  "beside it: it needs --emit=so");
    if (weightsPathFor(options.output) == options.output)
      return fail("--weights=external: the library '" + options.output +
                  "' would be overwritten by its weights file");
  }

  bool gpuStage = options.emit == Emit::Gpu || options.emit == Emit::Ptx;
  if (gpuStage && !options.pipeline.cuda)
    return fail("--emit=gpu and --emit=ptx need the CUDA target "
                "(--target=cuda)");
  if (options.pipeline.cuda && !options.pipeline.cuda->emulateOnHost &&
      (options.emit == Emit::Obj || options.emit == Emit::So ||
       options.emit == Emit::LLVM)) {
    // Not yet: the wrappers of a training step and the weights file.
    if (train)
      return fail("--target=cuda: training libraries are not written yet "
                  "(--emit=ptx shows a training step's kernels)");
    if (options.externalWeights)
      return fail("--target=cuda: --weights=external is not supported yet");
    if (options.emit == Emit::Obj)
      return fail("--target=cuda with --emit=obj: not supported yet");
  }
  // Outputs of run-time shapes are allocated by the host code.
  if (options.pipeline.cuda)
    for (const auto &t : signature.outputs)
      if (t.hasRuntimeShape())
        return fail("--target=cuda: output '" + t.name +
                    "' has a shape known only at run time, which the CUDA "
                    "target does not support yet");

  PipelineOptions pipeline = options.pipeline;
  std::vector<std::pair<std::string, double>> hyperparameters;
  if (train)
    trainingPipeline(*train, pipeline, hyperparameters);
  static const std::map<Emit, Stage> stageOf = {
      {Emit::Graph, Stage::Graph},   {Emit::Kernel, Stage::Kernel},
      {Emit::Linalg, Stage::Linalg}, {Emit::Gpu, Stage::Gpu},
      {Emit::Ptx, Stage::Ptx},       {Emit::LLVM, Stage::LLVM},
      {Emit::Obj, Stage::LLVM},      {Emit::So, Stage::LLVM}};
  // The target decides the matmul kernel's vector width and register tile.
  TargetSpec target = options.target;
  auto tm = createTargetMachine(target, error);
  if (!tm)
    return failure();
  pipeline.vectorBits = vectorRegisterBits(*tm);
  std::optional<TimingScope> passTiming;
  if (options.timing) {
    passTiming = options.timing->nest("MLIR passes");
    pipeline.timing = &*passTiming;
  }
  ParameterStats parameters;
  TrainingLayout layout;
  if (failed(lowerToStage(module, stageOf.at(options.emit), pipeline,
                          &parameters, &layout)))
    return fail(sourcePath + ": compilation failed");
  if (passTiming)
    passTiming->stop();

  Emit emit = options.emit;
  bool textual = emit == Emit::Graph || emit == Emit::Kernel ||
                 emit == Emit::Linalg || emit == Emit::Gpu ||
                 emit == Emit::Ptx || emit == Emit::LLVM;
  std::string out = options.output;
  if (out.empty())
    out = textual ? "-"
                  : llvm::sys::path::stem(sourcePath).str() +
                        (emit == Emit::Obj ? ".o" : ".so");
  if (emit == Emit::Ptx) {
    std::string ptx;
    if (failed(readPtx(module, ptx, error)))
      return fail(sourcePath + ": " + error);
    return writeText(
        out, [&](llvm::raw_ostream &os) { os << ptx; }, error);
  }
  if (emit != Emit::LLVM && textual)
    return writeText(
        out, [&](llvm::raw_ostream &os) { printModule(module, os); }, error);

  llvm::LLVMContext llvmContext;
  ExportSpec exports;
  exports.symbolPrefix = options.symbolPrefix;
  if (pipeline.cuda && !pipeline.cuda->emulateOnHost)
    exports.cudaChip = pipeline.cuda->chip;
  exports.parameterCount = parameters.count;
  exports.parameterBytes = parameters.bytes;
  if (options.externalWeights)
    exports.weightsPath = weightsPathFor(options.output);
  if (train) {
    // Trained parameters are state, not constants: count them as weights.
    for (const auto &p : signature.parameters) {
      exports.parameterCount += static_cast<int64_t>(p.data.size() / 4);
      exports.parameterBytes += static_cast<int64_t>(p.data.size());
    }
    std::vector<onnx_frontend::TensorSignature> stepInputs = signature.inputs;
    if (!train->loss.empty()) {
      // labels: class indices [N, d...] or the first output's shape.
      onnx_frontend::TensorSignature labels = signature.outputs.front();
      labels.name = "labels";
      if (train->loss == "cross-entropy" || train->loss == "nll") {
        labels.dtype = "int64";
        labels.indexLimit = labels.shape[1];
        labels.indexExempt = train->ignoreIndex;
        labels.shape.erase(labels.shape.begin() + 1);
      }
      labels.signLabels = train->loss == "hinge";
      stepInputs.push_back(labels);
    }
    exports.training = ExportSpec::Training{
        layout, train->loss.empty() ? std::string("model") : train->loss,
        train->optimizer, hyperparameters, stepInputs};
  }
  std::optional<TimingScope> llvmTiming;
  if (options.timing)
    llvmTiming = options.timing->nest("LLVM IR (translate, optimize)");
  // An embedded library's weights go from the MLIR attributes straight to a
  // data file the link includes: neither LLVM IR nor the code generator
  // copies them (compiler/DetachedWeights.h).
  llvm::SmallString<128> weightsDataPath;
  std::optional<llvm::FileRemover> removeWeightsData;
  DetachedWeights detached;
  // Beside the library, not in a temporary folder that may be memory
  // (tmpfs). Where it cannot be written the weights go through LLVM IR.
  if (emit == Emit::So && !options.externalWeights &&
      tm->getTargetTriple().isOSBinFormatELF() &&
      tm->createDataLayout().isLittleEndian() &&
      llvm::sys::IsLittleEndianHost &&
      !llvm::sys::fs::createUniqueFile(out + ".weights-%%%%%%.tmp",
                                       weightsDataPath)) {
    removeWeightsData.emplace(weightsDataPath);
    llvm::sys::RemoveFileOnSignal(weightsDataPath);
    std::string detachError;
    if (failed(detachWeights(module, weightsDataPath.str().str(),
                             options.detachWeightsMinBytes, detached,
                             detachError)))
      detached = {};
    // Their bytes are in the file: the module's copy goes before LLVM IR and
    // code generation take their memory.
    graph::releaseUnusedWeights(module);
  }
  auto llvmModule = buildLLVMModule(module, llvmContext, *tm, target, signature,
                                    sourcePath, exports, error);
  if (llvmTiming)
    llvmTiming->stop();
  if (!llvmModule)
    return fail(sourcePath + ": " + error);
  if (!detached.arrays.empty() &&
      !bindDetachedWeights(*llvmModule, exports.symbolPrefix, detached, error))
    return fail(sourcePath + ": " + error);
  if (emit == Emit::LLVM)
    return writeText(
        out, [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); },
        error);

  std::optional<TimingScope> objectTiming;
  if (options.timing)
    objectTiming = options.timing->nest("object code");
  if (emit == Emit::Obj) {
    if (!emitObjectFile(*llvmModule, *tm, out, error))
      return failure();
    if (objectTiming)
      objectTiming->stop();
    std::string header = options.header;
    if (header.empty()) {
      llvm::SmallString<128> path(out);
      llvm::sys::path::replace_extension(path, "h");
      header = path.str().str();
    }
    return writeText(
        header,
        [&](llvm::raw_ostream &os) {
          os << buildEmbeddingHeader(signature, exports);
        },
        error);
  }

  // A shared library: object to a temporary file, then link.
  llvm::SmallString<128> objectPath;
  if (auto ec =
          llvm::sys::fs::createTemporaryFile("dlc-model", "o", objectPath))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeObject(objectPath);
  if (!emitObjectFile(*llvmModule, *tm, objectPath.str().str(), error))
    return failure();
  if (objectTiming)
    objectTiming->stop();
  std::optional<TimingScope> linkTiming;
  if (options.timing)
    linkTiming = options.timing->nest("link");
  std::vector<std::string> assembly;
  llvm::SmallString<128> weightsAssemblyPath;
  std::optional<llvm::FileRemover> removeWeightsAssembly;
  if (!detached.arrays.empty()) {
    if (auto ec = llvm::sys::fs::createTemporaryFile("dlc-weights", "s",
                                                     weightsAssemblyPath))
      return fail("cannot create a temporary file: " + ec.message());
    removeWeightsAssembly.emplace(weightsAssemblyPath);
    llvm::sys::RemoveFileOnSignal(weightsAssemblyPath);
    std::string text =
        detachedWeightsAssembly(detached, weightsDataPath.str().str());
    if (failed(writeText(
            weightsAssemblyPath.str().str(),
            [&](llvm::raw_ostream &os) { os << text; }, error)))
      return failure();
    assembly.push_back(weightsAssemblyPath.str().str());
  }
  if (!linkSharedLibrary(objectPath.str().str(), out, error, assembly))
    return failure();
  return success();
}

} // namespace dlc
