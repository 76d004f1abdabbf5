//===- dlc.cpp - the dlc compiler driver ----------------------------------===//
//
//   dlc model.onnx -o model.so
//   dlc model.onnx --emit=graph|kernel|linalg|llvm|obj|so [-o FILE]
//
//===----------------------------------------------------------------------===//

#include "compiler/Compile.h"
#include "compiler/Registration.h"
#include "dialects/graph/GraphGradient.h"
#include "frontends/onnx/Importer.h"
#include "passes/graph/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/Timing.h"

#include "llvm/Pass.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

using dlc::Emit;

cl::OptionCategory dlcCategory("dlc options");
cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"), cl::cat(dlcCategory));
cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                cl::value_desc("file"), cl::cat(dlcCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::So),
    cl::values(
        clEnumValN(Emit::Graph, "graph", "graph dialect after graph passes"),
        clEnumValN(
            Emit::Kernel, "kernel",
            "kernel dialect after fusion and each conv's algorithm choice"),
        clEnumValN(Emit::Linalg, "linalg", "linalg on tensors"),
        clEnumValN(Emit::Gpu, "gpu",
                   "with --target=cuda: the gpu dialect, kernels outlined"),
        clEnumValN(Emit::Ptx, "ptx", "with --target=cuda: the kernels' PTX"),
        clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
        clEnumValN(Emit::Obj, "obj", "object file for static linking"),
        clEnumValN(Emit::So, "so", "standalone shared library (default)")),
    cl::cat(dlcCategory));
cl::opt<std::string> targetName(
    "target",
    cl::desc("Where the kernels run: host (the CPU; default) or cuda[:sm_NN] "
             "(an NVIDIA GPU; default sm_90)"),
    cl::init("host"), cl::cat(dlcCategory));
cl::opt<bool> emulateGpu(
    "emulate-gpu-on-host",
    cl::desc("With --target=cuda: compile the kernels' loops, mapped to GPU "
             "blocks and threads, for the host CPU instead of PTX (tests the "
             "GPU lowering against references without a GPU)"),
    cl::Hidden, cl::cat(dlcCategory));
cl::opt<uint64_t> detachWeightsMin(
    "detach-weights-min-bytes",
    cl::desc("Embedded weights adding up to this many bytes reach the library "
             "from a data file at link time, not through LLVM IR (default 4 "
             "MiB; 0: always)"),
    cl::init(uint64_t(4) << 20), cl::Hidden, cl::cat(dlcCategory));
cl::opt<std::string> mtriple("mtriple", cl::desc("Target triple (default: host)"), cl::cat(dlcCategory));
cl::opt<std::string> mcpu("mcpu", cl::desc("Target CPU (default: host)"), cl::cat(dlcCategory));
cl::opt<std::string> mattr("mattr", cl::desc("Target features, e.g. +avx2,-avx512f"), cl::cat(dlcCategory));
cl::opt<bool> noFoldBN("no-fold-bn", cl::desc("Keep batch_norm unfolded"), cl::cat(dlcCategory));
cl::opt<bool> noFuseBias("no-fuse-bias", cl::desc("Do not fuse bias adds into kernels"), cl::cat(dlcCategory));
cl::opt<bool> noFuseResidual("no-fuse-residual", cl::desc("Do not fuse residual adds into conv kernels"), cl::cat(dlcCategory));
cl::opt<bool> noFuseActivation("no-fuse-activation", cl::desc("Do not fuse activations into kernels"), cl::cat(dlcCategory));
cl::opt<std::string> winograd(
    "winograd",
    cl::desc("Which 3x3 stride-1 convolutions Winograd F(4x4, 3x3) computes "
             "(a quarter of the multiplications; results within the corpus' "
             "loose tolerance, rtol 1e-3, rather than a direct sum's): auto "
             "(default: where it is expected to be faster), all, off"),
    cl::value_desc("auto|all|off"), cl::init("auto"), cl::cat(dlcCategory));
cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Bake graph input NAME in as the constant in FILE.pb (an ONNX "
             "TensorProto), e.g. a Reshape's shape"),
    cl::value_desc("NAME=FILE.pb"), cl::cat(dlcCategory));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Pin the shape of an input with symbolic dims, e.g. "
             "x=1x3x224x224 (repeat or separate with commas for several); "
             "dims left unpinned take their size from each call"),
    cl::value_desc("NAME=DIMS"), cl::CommaSeparated, cl::cat(dlcCategory));
cl::list<std::string> dimValues(
    "dim",
    cl::desc("Pin every input dim named PARAM (its ONNX dim_param), e.g. "
             "batch=1"),
    cl::value_desc("PARAM=N"), cl::CommaSeparated, cl::cat(dlcCategory));
cl::opt<std::string> symbolPrefix(
    "symbol-prefix",
    cl::desc("Prefix of the exported symbols (default dlc; the runtime loads "
             "libraries with the default)"),
    cl::init("dlc"), cl::cat(dlcCategory));
enum class WeightsPlace { Embedded, External };
cl::opt<WeightsPlace> weightsPlace(
    "weights", cl::desc("Where the weights go (with --emit=so)"),
    cl::init(WeightsPlace::Embedded),
    cl::values(clEnumValN(WeightsPlace::Embedded, "embedded",
                          "into the library (default)"),
               clEnumValN(WeightsPlace::External, "external",
                          "into <output without extension>.weights beside "
                          "the library, read when it is loaded: keep them "
                          "together")),
    cl::cat(dlcCategory));
cl::opt<std::string> headerPath(
    "header", cl::desc("With --emit=obj: where to write the C header "
                       "(default: the object's path with .h)"),
    cl::value_desc("file"), cl::cat(dlcCategory));
cl::OptionCategory trainCategory("Training (dlc --train)");
cl::opt<bool> train("train", cl::desc("Compile a training step: the model's first output is the loss"),
                    cl::cat(trainCategory));
cl::opt<std::string> optimizer("optimizer", cl::desc("sgd, adam, adamw, rmsprop or adagrad"),
                               cl::init("sgd"), cl::cat(trainCategory));
cl::opt<double> learningRate(
    "lr",
    cl::desc("Learning rate (the default of every step; also a run-time "
             "argument). Default: 1e-3 for adam and adamw, 0.01 otherwise"),
    cl::init(0.01), cl::cat(trainCategory));
cl::opt<double> momentum("momentum", cl::desc("SGD momentum"), cl::init(0.0), cl::cat(trainCategory));
cl::opt<bool> nesterov("nesterov", cl::desc("SGD with Nesterov momentum"), cl::cat(trainCategory));
cl::opt<double> beta1("beta1", cl::desc("Adam/AdamW beta1"), cl::init(0.9), cl::cat(trainCategory));
cl::opt<double> beta2("beta2", cl::desc("Adam/AdamW beta2"), cl::init(0.999), cl::cat(trainCategory));
cl::opt<double> epsilon("eps", cl::desc("Denominator epsilon (default 1e-8; Adagrad 1e-10)"),
                        cl::init(-1.0), cl::cat(trainCategory));
cl::opt<double> rmsAlpha("alpha", cl::desc("RMSprop smoothing constant"), cl::init(0.99),
                         cl::cat(trainCategory));
cl::opt<double> weightDecay("weight-decay",
                            cl::desc("L2 penalty (decoupled for adamw, whose "
                                     "default is 0.01 as in PyTorch; 0 otherwise)"),
                            cl::init(0.0), cl::cat(trainCategory));
cl::opt<double> clipGradNorm("clip-grad-norm", cl::desc("Clip gradients to this global L2 norm"),
                             cl::init(0.0), cl::cat(trainCategory));
cl::opt<double> clipGradValue("clip-grad-value", cl::desc("Clamp gradients to [-V, V]"),
                              cl::init(0.0), cl::cat(trainCategory));
cl::opt<std::string> lossKind(
    "loss",
    cl::desc("Append this loss to the model's first output (adds an input "
             "'labels'): mse, l1, huber, bce, bce-with-logits, cross-entropy, "
             "nll, kl-div, hinge"),
    cl::cat(trainCategory));
cl::opt<double> huberDelta("delta", cl::desc("Huber loss delta"), cl::init(1.0),
                           cl::cat(trainCategory));
cl::opt<double> labelSmoothing("label-smoothing",
                               cl::desc("Cross-entropy label smoothing"),
                               cl::init(0.0), cl::cat(trainCategory));
cl::opt<int64_t> ignoreIndex("ignore-index",
                             cl::desc("Class index that contributes no loss"),
                             cl::init(-100), cl::cat(trainCategory));
cl::list<double> classWeights("class-weights", cl::CommaSeparated,
                              cl::desc("Per-class loss weights"),
                              cl::value_desc("W0,W1,..."), cl::cat(trainCategory));
cl::list<std::string> freezePatterns(
    "freeze", cl::CommaSeparated,
    cl::desc("Initializers not to train: names or globs (e.g. D.*)"),
    cl::value_desc("PATTERN,..."), cl::cat(trainCategory));
cl::opt<bool> listOps("list-ops", cl::desc("Print the supported ONNX ops as a Markdown table and exit"), cl::cat(dlcCategory));
cl::opt<bool> listGradientRules(
    "list-gradient-rules",
    cl::desc("Print the graph ops that have a gradient rule, one per line, and exit"), cl::cat(dlcCategory));
cl::opt<bool> printIR("print-ir-after-change", cl::desc("Print the IR after every pass that changed it"), cl::cat(dlcCategory));

int fail(const llvm::Twine &message) {
  llvm::errs() << "dlc: error: " << message << "\n";
  return 1;
}

/// "node 'conv1'" for an imported op's location, the plain location otherwise.
void describeLocation(Location loc, llvm::raw_ostream &os) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    if (auto file = dyn_cast<FileLineColLoc>(name.getChildLoc()))
      os << file.getFilename().getValue() << ": ";
    os << "node '" << name.getName().getValue() << "'";
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    os << "fused ";
    llvm::interleave(fused.getLocations(), os,
                     [&](Location l) { describeLocation(l, os); }, " + ");
    return;
  }
  os << loc;
}

int printSupportedOps() {
  llvm::outs() << "| ONNX op | since opset | importer | notes |\n"
               << "|---|---|---|---|\n";
  auto ops = dlc::onnx_frontend::supportedOps();
  std::sort(ops.begin(), ops.end(), [](const auto &a, const auto &b) {
    return a.opType < b.opType;
  });
  for (const auto &op : ops)
    llvm::outs() << "| " << op.opType << " | " << op.sinceOpset
                 << " | frontends/onnx/" << op.family << ".cpp | " << op.notes
                 << " |\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // dlc's own options only in --help (LLVM registers hundreds).
  // LLVM's own --time-passes, listed with dlc's: it times dlc's stages and
  // MLIR passes too.
  if (auto *timePasses = cl::getRegisteredOptions().lookup("time-passes")) {
    timePasses->addCategory(dlcCategory);
    timePasses->setHiddenFlag(cl::NotHidden);
    timePasses->setDescription(
        "Print where compile time goes: each stage (import, MLIR passes, "
        "LLVM IR, object code, link) and each pass, to stderr");
  }
  cl::HideUnrelatedOptions({&dlcCategory, &trainCategory});
  cl::ParseCommandLineOptions(argc, argv, "dlc: ahead-of-time compiler for neural networks\n");
  if (listOps)
    return printSupportedOps();
  if (inputPath.empty() && !listGradientRules)
    return fail("no input model (usage: dlc model.onnx -o model.so)");
  if (!llvm::all_of(symbolPrefix, [](char c) {
        return llvm::isAlnum(c) || c == '_';
      }) || symbolPrefix.empty() || llvm::isDigit(symbolPrefix[0]))
    return fail("--symbol-prefix must be a C identifier, got '" +
                symbolPrefix + "'");

  auto given = [](const cl::Option &o) { return o.getNumOccurrences() > 0; };
  const std::pair<const cl::Option *, const char *> trainingFlags[] = {
      {&lossKind, "--loss"}, {&optimizer, "--optimizer"},
      {&learningRate, "--lr"}, {&momentum, "--momentum"},
      {&nesterov, "--nesterov"}, {&beta1, "--beta1"}, {&beta2, "--beta2"},
      {&epsilon, "--eps"}, {&rmsAlpha, "--alpha"},
      {&weightDecay, "--weight-decay"}, {&clipGradNorm, "--clip-grad-norm"},
      {&clipGradValue, "--clip-grad-value"}, {std::addressof(freezePatterns), "--freeze"},
      {&huberDelta, "--delta"}, {&labelSmoothing, "--label-smoothing"},
      {&ignoreIndex, "--ignore-index"}, {std::addressof(classWeights), "--class-weights"}};
  if (!train)
    for (auto [option, flag] : trainingFlags)
      if (given(*option))
        return fail(std::string(flag) + " needs --train");
  if (train) {
    ArrayRef<StringRef> optimizers = dlc::graph::trainingOptimizers(),
                        losses = dlc::graph::trainingLosses();
    if (!llvm::is_contained(optimizers, optimizer))
      return fail("unknown optimizer '" + optimizer + "' (" +
                  llvm::join(optimizers, ", ") + ")");
    if (!lossKind.empty() && !llvm::is_contained(losses, lossKind))
      return fail("unknown loss '" + lossKind + "' (" +
                  llvm::join(losses, ", ") + ")");
    // A setting the chosen optimizer or loss does not read is a mistake to
    // report, not to ignore; values are checked as PyTorch checks them.
    bool adam = optimizer == "adam" || optimizer == "adamw";
    auto only = [&](const cl::Option &o, const char *flag, bool applies,
                    const char *what) -> std::optional<int> {
      if (given(o) && !applies)
        return fail(std::string(flag) + " applies to " + what + " only");
      return std::nullopt;
    };
    bool classLoss = lossKind == "cross-entropy" || lossKind == "nll";
    for (auto check :
         {only(momentum, "--momentum", optimizer == "sgd", "--optimizer=sgd"),
          only(nesterov, "--nesterov", optimizer == "sgd", "--optimizer=sgd"),
          only(beta1, "--beta1", adam, "adam and adamw"),
          only(beta2, "--beta2", adam, "adam and adamw"),
          only(rmsAlpha, "--alpha", optimizer == "rmsprop", "rmsprop"),
          only(epsilon, "--eps", optimizer != "sgd",
               "adam, adamw, rmsprop and adagrad"),
          only(huberDelta, "--delta", lossKind == "huber", "--loss=huber"),
          only(labelSmoothing, "--label-smoothing", lossKind == "cross-entropy",
               "--loss=cross-entropy"),
          only(ignoreIndex, "--ignore-index", classLoss,
               "--loss=cross-entropy and nll"),
          only(classWeights, "--class-weights", classLoss,
               "--loss=cross-entropy and nll")})
      if (check)
        return *check;
    auto range = [&](bool ok, const std::string &message) {
      return ok ? std::optional<int>() : std::optional<int>(fail(message));
    };
    if (!given(learningRate) && adam)
      learningRate = 1e-3;
    if (!given(weightDecay) && optimizer == "adamw")
      weightDecay = 0.01;
    for (auto check :
         {range(std::isfinite(learningRate) && learningRate >= 0,
                "--lr must be >= 0"),
          range(momentum >= 0, "--momentum must be >= 0"),
          range(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                "--beta1 and --beta2 must be in [0, 1)"),
          range(!given(epsilon) || epsilon >= 0, "--eps must be >= 0"),
          range(rmsAlpha >= 0, "--alpha must be >= 0"),
          range(weightDecay >= 0, "--weight-decay must be >= 0"),
          range(!given(clipGradNorm) || clipGradNorm > 0,
                "--clip-grad-norm must be > 0"),
          range(!given(clipGradValue) || clipGradValue > 0,
                "--clip-grad-value must be > 0"),
          range(huberDelta > 0, "--delta must be > 0"),
          range(labelSmoothing >= 0 && labelSmoothing <= 1,
                "--label-smoothing must be in [0, 1]"),
          range(llvm::all_of(classWeights, [](double w) { return w >= 0; }),
                "--class-weights must be >= 0")})
      if (check)
        return *check;
  }

  DialectRegistry registry;
  dlc::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  if (listGradientRules) {
    std::vector<std::string> names;
    for (RegisteredOperationName op : context.getRegisteredOperations())
      if (op.getDialectNamespace() == "graph" &&
          op.hasInterface<dlc::graph::GradientOpInterface>())
        names.push_back(op.getStringRef().str());
    std::sort(names.begin(), names.end());
    // The two ops of many functions name the ones that differentiate.
    for (const std::string &name : names) {
      llvm::outs() << name;
      if (name == "graph.unary" || name == "graph.reduce") {
        llvm::outs() << " (";
        llvm::interleaveComma(name == "graph.unary"
                                  ? dlc::graph::differentiableUnaryFunctions()
                                  : dlc::graph::differentiableReductions(),
                              llvm::outs());
        llvm::outs() << ")";
      }
      llvm::outs() << "\n";
    }
    return 0;
  }
  // Diagnostics name the ONNX node they are about.
  ScopedDiagnosticHandler diagnostics(&context, [](Diagnostic &diag) {
    llvm::errs() << "dlc: "
                 << (diag.getSeverity() == DiagnosticSeverity::Error
                         ? "error: "
                     : diag.getSeverity() == DiagnosticSeverity::Warning
                         ? "warning: "
                         : "note: ");
    describeLocation(diag.getLocation(), llvm::errs());
    llvm::errs() << ": " << diag.str() << "\n";
    return success();
  });

  dlc::onnx_frontend::ImportOptions importOptions;
  importOptions.trainParameters = train;
  importOptions.freezePatterns.assign(freezePatterns.begin(), freezePatterns.end());
  for (const std::string &spec : freezeInputs) {
    auto [name, file] = llvm::StringRef(spec).split('=');
    if (name.empty() || file.empty())
      return fail("--freeze-input wants NAME=FILE.pb, got '" + spec + "'");
    importOptions.frozenInputs.emplace_back(name.str(), file.str());
  }
  auto parseSize = [](llvm::StringRef text, int64_t &value) {
    return !text.getAsInteger(10, value) && value >= 0;
  };
  for (const std::string &spec : inputShapes) {
    auto [name, dimsText] = llvm::StringRef(spec).split('=');
    SmallVector<llvm::StringRef> parts;
    dimsText.split(parts, 'x');
    std::vector<int64_t> dims;
    for (llvm::StringRef part : parts)
      if (!parseSize(part, dims.emplace_back()))
        return fail("--input-shape wants NAME=DIMS with DIMS like 1x3x224x224, "
                    "got '" + spec + "'");
    if (name.empty() || dimsText.empty() ||
        !importOptions.inputShapes.emplace(name.str(), dims).second)
      return fail("--input-shape wants NAME=DIMS once per input, got '" + spec +
                  "'");
  }
  for (const std::string &spec : dimValues) {
    auto [name, valueText] = llvm::StringRef(spec).split('=');
    int64_t value;
    if (name.empty() || !parseSize(valueText, value) ||
        !importOptions.dimValues.emplace(name.str(), value).second)
      return fail("--dim wants PARAM=N once per dim name, got '" + spec + "'");
  }
  // --time-passes: a report of the stages and MLIR passes at exit.
  mlir::DefaultTimingManager timing;
  timing.setEnabled(llvm::TimePassesIsEnabled);
  mlir::TimingScope rootTiming = timing.getRootScope();
  dlc::onnx_frontend::ModelSignature signature;
  std::string errors;
  mlir::TimingScope importTiming = rootTiming.nest("import ONNX");
  OwningOpRef<ModuleOp> module = dlc::onnx_frontend::importOnnxFile(
      context, inputPath, signature, errors, importOptions);
  importTiming.stop();
  if (!module) {
    llvm::errs() << "dlc: error: " << errors;
    return 1;
  }
  if (failed(verify(*module)))
    return fail(inputPath + ": the imported graph does not verify");


  if (winograd != "auto" && winograd != "all" && winograd != "off") {
    llvm::errs() << "dlc: --winograd must be auto, all or off, not '"
                 << winograd << "'\n";
    return 1;
  }
  dlc::CompileOptions options;
  options.emit = emit;
  options.output = outputPath;
  options.header = headerPath;
  options.externalWeights = weightsPlace == WeightsPlace::External;
  options.detachWeightsMinBytes = detachWeightsMin;
  options.symbolPrefix = symbolPrefix;
  options.target = {mtriple, mcpu, mattr};
  llvm::StringRef target = targetName;
  if (target == "cuda" || target.starts_with("cuda:")) {
    dlc::CudaTarget cuda;
    std::string error;
    if (failed(dlc::parseCudaTarget(
            target.drop_front(4).drop_front(target.size() > 4 ? 1 : 0), cuda,
            error))) {
      llvm::errs() << "dlc: " << error << "\n";
      return 1;
    }
    cuda.emulateOnHost = emulateGpu;
    options.pipeline.cuda = cuda;
  } else if (emulateGpu) {
    llvm::errs() << "dlc: --emulate-gpu-on-host needs --target=cuda\n";
    return 1;
  } else if (target != "host") {
    llvm::errs() << "dlc: --target must be host or cuda[:sm_NN], not '"
                 << target << "'\n";
    return 1;
  }
  options.pipeline.foldBatchNorm = !noFoldBN;
  options.pipeline.fuseBias = !noFuseBias;
  options.pipeline.fuseResidual = !noFuseResidual;
  options.pipeline.fuseActivation = !noFuseActivation;
  options.pipeline.winograd = winograd;
  options.pipeline.printIRAfterChange = printIR;
  if (train) {
    dlc::TrainSettings t;
    t.optimizer = optimizer;
    t.lr = learningRate;
    t.momentum = momentum;
    t.nesterov = nesterov;
    t.beta1 = beta1;
    t.beta2 = beta2;
    t.alpha = rmsAlpha;
    t.eps = epsilon;
    t.weightDecay = weightDecay;
    t.clipGradNorm = clipGradNorm;
    t.clipGradValue = clipGradValue;
    t.loss = lossKind;
    t.huberDelta = huberDelta;
    t.labelSmoothing = labelSmoothing;
    t.ignoreIndex = ignoreIndex;
    t.classWeights.assign(classWeights.begin(), classWeights.end());
    options.training = t;
  }
  options.timing = &rootTiming;
  std::string error;
  if (failed(dlc::compileModule(*module, signature, inputPath, options, error)))
    return fail(error);
  return 0;
}
