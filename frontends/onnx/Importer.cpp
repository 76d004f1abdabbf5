//===- Importer.cpp - ONNX model to graph dialect -------------------------===//

#include "frontends/onnx/Importer.h"
#include "frontends/onnx/ImportContext.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <map>
#include <set>

using namespace mlir;

namespace dlc::onnx_frontend {

// Sequence inputs and outputs reach the runtime as the graph ops' tables.
static_assert(kSequenceRowWidth == graph::kSequenceRowWidth &&
                  kSequenceMaxRank == graph::kSequenceMaxRank,
              "the manifest's sequence table is the graph ops' table");

namespace {

const std::vector<OpImporter> &importerTable() {
  static const std::vector<OpImporter> table = [] {
    std::vector<OpImporter> t;
    addNNImporters(t);
    addMathImporters(t);
    addTensorImporters(t);
    addReduceImporters(t);
    addRNNImporters(t);
    addLossImporters(t);
    addQuantizationImporters(t);
    addTrainingImporters(t);
    addControlFlowImporters(t);
    addSequenceImporters(t);
    return t;
  }();
  return table;
}

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

const OpImporter *findImporter(const std::string &opType,
                               const std::string &domain) {
  std::string d = isDefaultDomain(domain) ? "" : domain;
  for (const OpImporter &imp : importerTable())
    if (opType == imp.opType && d == imp.domain)
      return &imp;
  return nullptr;
}

/// The shape of every graph input that becomes an argument, in file order:
/// the declared dims, with symbolic ones pinned by --input-shape (whole
/// shapes by input name) or --dim (one dim_param name everywhere). Equal
/// dim_param names are one size: pinning one input pins the others. Dims
/// left unpinned are dynamic.
LogicalResult
resolveInputShapes(const onnx::GraphProto &g,
                   const std::set<std::string> &skipped,
                   const ImportOptions &options,
                   std::map<std::string, SmallVector<int64_t>> &shapes,
                   std::string &message) {
  auto dimsText = [](ArrayRef<int64_t> dims) {
    std::string text;
    for (auto [i, d] : llvm::enumerate(dims))
      text += (i ? "x" : "") + std::to_string(d);
    return text;
  };
  std::map<std::string, int64_t> params(options.dimValues.begin(),
                                        options.dimValues.end());
  std::map<std::string, std::string> paramSource; // where a value came from
  for (const auto &[param, value] : options.dimValues)
    paramSource[param] = "--dim " + param + "=" + std::to_string(value);
  std::set<std::string> usedParams;
  std::set<std::string> pinnedInputs;
  for (const auto &input : g.input()) {
    if (skipped.count(input.name()))
      continue;
    if (!input.type().has_tensor_type()) {
      std::string why;
      if (!valueTypeOf(input.type(), why)) {
        message = "input '" + input.name() + "' " + why;
        return failure();
      }
      continue; // a sequence or optional: its parts' dims are the runtime's
    }
    for (const auto &dim : input.type().tensor_type().shape().dim())
      if (dim.has_dim_param())
        usedParams.insert(dim.dim_param());
  }
  for (const auto &[param, value] : options.dimValues)
    if (!usedParams.count(param)) {
      message = "--dim " + param + ": no input has a dim named '" + param + "'";
      return failure();
    }
  // Whole shapes first: they bind the dim_params they pin.
  for (const auto &pin : options.inputShapes) {
    const std::string &name = pin.first;
    const std::vector<int64_t> &dims = pin.second;
    auto it = llvm::find_if(g.input(), [&](const onnx::ValueInfoProto &in) {
      return in.name() == name && !skipped.count(name);
    });
    if (it == g.input().end()) {
      message = "--input-shape: the model has no input '" + name + "'";
      return failure();
    }
    const auto &declared = it->type().tensor_type().shape();
    std::string what = "--input-shape " + name + "=" + dimsText(dims);
    if (it->type().tensor_type().has_shape() &&
        declared.dim_size() != static_cast<int>(dims.size())) {
      message = what + ": the input has rank " +
                std::to_string(declared.dim_size()) + ", not " +
                std::to_string(dims.size());
      return failure();
    }
    for (auto [i, d] : llvm::enumerate(dims)) {
      if (!it->type().tensor_type().has_shape())
        break;
      const auto &dim = declared.dim(static_cast<int>(i));
      // A negative declared value is as unknown as a missing one.
      if (dim.has_dim_value() && dim.dim_value() >= 0 && dim.dim_value() != d) {
        message = what + ": dim " + std::to_string(i) + " is declared " +
                  std::to_string(dim.dim_value());
        return failure();
      }
      if (!dim.has_dim_param())
        continue;
      auto [p, inserted] = params.emplace(dim.dim_param(), d);
      if (!inserted && p->second != d) {
        message = what + ": dim " + std::to_string(i) + " is '" +
                  dim.dim_param() + "', which " + paramSource[dim.dim_param()] +
                  " makes " + std::to_string(p->second);
        return failure();
      }
      paramSource.emplace(dim.dim_param(), what);
    }
    shapes[name] = SmallVector<int64_t>(dims.begin(), dims.end());
    pinnedInputs.insert(name);
  }
  for (const auto &input : g.input()) {
    if (skipped.count(input.name()) || pinnedInputs.count(input.name()))
      continue;
    SmallVector<int64_t> shape;
    for (const auto &dim : input.type().tensor_type().shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() >= 0) {
        shape.push_back(dim.dim_value());
        continue;
      }
      if (dim.has_dim_param()) {
        if (auto p = params.find(dim.dim_param()); p != params.end()) {
          shape.push_back(p->second);
          continue;
        }
      }
      // Left symbolic: the library takes its size at run time (the ops
      // that cannot are refused by node, checkDynamicOperands).
      shape.push_back(ShapedType::kDynamic);
    }
    shapes[input.name()] = shape;
  }
  for (const auto &[name, shape] : shapes)
    if (exceedsMaxElements(shape)) {
      message = "input '" + name + "' has more than " +
                std::to_string(kMaxTensorElements) + " elements";
      return failure();
    }
  return success();
}

} // namespace

LogicalResult importNode(ImportContext &ctx, const onnx::NodeProto &node,
                         int index) {
  ctx.node = &node;
  ctx.nodeIndex = index;
  const OpImporter *imp = findImporter(node.op_type(), node.domain());
  if (!imp)
    return ctx.error("dlc has no importer of this op");
  // Tensors of dims known only at run time reach the ops lowered for
  // them. Shapes computed from values (graph.runtime_* results) reach graph
  // outputs only, for now: the importers keep such results off other nodes
  // (isRuntimeValue); this catches those that leave a subgraph (an If
  // branch's output).
  // Sequences and optionals go to their ops' importers as they are.
  bool composite = llvm::any_of(node.input(), [&](const std::string &name) {
    return !name.empty() && !ctx.lookup(name) && ctx.lookupValue(name);
  });
  if (!composite && importShapeArithmetic(ctx, node))
    return success(ctx.errors.empty());
  ctx.operandOverrides.clear();
  if (failed(checkDynamicOperands(ctx, node)))
    return failure();
  LogicalResult imported = success();
  if (ctx.operandOverrides.empty()) {
    imported = imp->import(ctx);
  } else {
    // The node sees its operands as overridden; its outputs stay defined.
    SmallVector<std::optional<OnnxValue>> outputs;
    {
      ImportContext::NameScope scope(ctx);
      for (const auto &[name, value] : ctx.operandOverrides)
        ctx.define(name, value);
      imported = imp->import(ctx);
      for (const auto &out : node.output())
        outputs.push_back(out.empty() ? std::nullopt : ctx.lookupValue(out));
    }
    for (auto [out, value] : llvm::zip(node.output(), outputs))
      if (value)
        ctx.defineValue(out, *value);
    ctx.operandOverrides.clear();
  }
  if (failed(imported)) {
    if (ctx.errors.empty())
      (void)ctx.error("import failed");
    return failure();
  }
  propagateDimSymbols(ctx, node);
  for (const auto &out : node.output())
    if (!out.empty() && !ctx.lookupValue(out))
      return ctx.error("output '" + out +
                       "' is not produced by dlc's importer of this op");
  return success(ctx.errors.empty());
}

LogicalResult importGraphNodes(ImportContext &ctx,
                               const onnx::GraphProto &graph) {
  // Nodes are counted: a RepeatedPtrField's elements are not contiguous, so
  // pointer differences do not give positions.
  int position = 0;
  for (const auto &node : graph.node())
    if (failed(importNode(ctx, node, position++)))
      return failure();
  return success();
}

std::vector<SupportedOp> supportedOps() {
  std::vector<SupportedOp> ops;
  for (const OpImporter &imp : importerTable())
    ops.push_back({*imp.domain ? std::string(imp.opType) + " (" + imp.domain + ")"
                               : std::string(imp.opType),
                   imp.family, imp.sinceOpset, imp.notes});
  return ops;
}

/// Reads a serialized TensorProto file as a constant for graph input `name`.
static FailureOr<DenseElementsAttr>
readFrozenInput(MLIRContext &context, const std::string &name,
                const std::string &file, std::string &message) {
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false);
  if (!buffer) {
    message = file + ": cannot read file: " + buffer.getError().message();
    return failure();
  }
  onnx::TensorProto tensor;
  if (!tensor.ParseFromArray((*buffer)->getBufferStart(),
                             static_cast<int>((*buffer)->getBufferSize()))) {
    message = file + ": not a serialized onnx.TensorProto";
    return failure();
  }
  tensor.set_name(name);
  return tensorProtoToAttr(&context, tensor, message,
                           llvm::sys::path::parent_path(file));
}

/// The trained parameters of a model: float32 initializers not matched by a
/// freeze glob and not only BatchNormalization's running statistics (state,
/// not parameters). Frozen float initializers are listed in the signature.
static LogicalResult
selectTrainedParameters(const onnx::GraphProto &g,
                        const std::vector<std::string> &freezePatterns,
                        std::set<std::string> &trained,
                        std::set<std::string> &buffers,
                        ModelSignature &signature, std::string &errors) {
  std::vector<llvm::GlobPattern> globs;
  for (const std::string &pattern : freezePatterns) {
    auto glob = llvm::GlobPattern::create(pattern);
    if (!glob) {
      errors += "--freeze: bad pattern '" + pattern + "': " +
                llvm::toString(glob.takeError()) + "\n";
      return failure();
    }
    globs.push_back(std::move(*glob));
  }
  // Float inputs the importers read as compile-time settings, not data:
  // initializers used only there stay constants.
  static const std::map<std::string, std::set<int>> settings = {
      {"Dropout", {1}},          {"Clip", {1, 2}},
      {"Pad", {2}},              {"Resize", {1, 2}},
      {"Upsample", {1}},         {"Range", {0, 1, 2}},
      {"OneHot", {1, 2}},        {"QuantizeLinear", {1, 2}},
      {"DequantizeLinear", {1, 2}}, {"MatMulInteger", {2, 3}},
      {"ConvInteger", {2, 3}},   {"QLinearMatMul", {1, 2, 4, 5, 6, 7}},
      {"QLinearConv", {1, 2, 4, 5, 6, 7}}};
  std::set<size_t> matched; // the globs that froze something
  std::map<std::string, int> statisticUses, otherUses;
  std::set<std::string> trainingStatistics;
  // Uses in subgraphs (an If's branch, a Loop's body) count too.
  std::function<void(const onnx::GraphProto &)> countUses =
      [&](const onnx::GraphProto &graph) {
        for (const auto &node : graph.node()) {
          bool batchNorm = node.op_type() == "BatchNormalization";
          bool trainingMode = false;
          for (const auto &a : node.attribute()) {
            if (a.name() == "training_mode")
              trainingMode = a.i() != 0;
            if (a.has_g())
              countUses(a.g());
          }
          auto setting = settings.find(node.op_type());
          for (int i = 0; i < node.input_size(); ++i) {
            if (setting != settings.end() && setting->second.count(i))
              continue;
            bool statistic = batchNorm && (i == 3 || i == 4);
            ++(statistic ? statisticUses : otherUses)[node.input(i)];
            if (statistic && trainingMode)
              trainingStatistics.insert(node.input(i));
          }
        }
      };
  countUses(g);
  for (const auto &init : g.initializer()) {
    if (init.data_type() != onnx::TensorProto::FLOAT &&
        init.data_type() != onnx::TensorProto::DOUBLE &&
        init.data_type() != onnx::TensorProto::FLOAT16)
      continue;
    const std::string &name = init.name();
    bool frozen = false;
    for (auto [i, glob] : llvm::enumerate(globs))
      if (glob.match(name)) {
        frozen = true;
        matched.insert(i);
      }
    bool statistic = statisticUses.count(name) && !otherUses.count(name);
    bool float32 = init.data_type() == onnx::TensorProto::FLOAT;
    if (!frozen && !statistic && otherUses.count(name) && float32) {
      trained.insert(name);
      continue;
    }
    if (statistic && trainingStatistics.count(name) && float32 && !frozen) {
      buffers.insert(name);
      continue;
    }
    std::vector<int64_t> dims(init.dims().begin(), init.dims().end());
    signature.frozen.push_back({name, dtypeName(init.data_type()), dims});
  }
  // A pattern that freezes nothing is most likely a typo.
  for (auto [i, pattern] : llvm::enumerate(freezePatterns))
    if (!matched.count(i)) {
      errors += "--freeze: '" + pattern + "' matches no float initializer\n";
      return failure();
    }
  return success();
}

static constexpr const char *kOverTwoGigabytes =
    "not a valid ONNX model (over 2 GB: a protobuf message cannot be; big "
    "weights go in external data)";
static constexpr const char *kTruncatedOrCorrupt =
    "not a valid ONNX model (truncated or corrupt protobuf)";

/// The bytes of a float32 constant, splats expanded.
static std::vector<uint8_t> rawFloat32Data(ElementsAttr attr) {
  std::optional<std::vector<float>> values = graph::float32Values(attr);
  assert(values && "a trained parameter is a float32 constant");
  const auto *bytes = reinterpret_cast<const uint8_t *>(values->data());
  return std::vector<uint8_t>(bytes, bytes + values->size() * sizeof(float));
}

static OwningOpRef<ModuleOp>
importModel(MLIRContext &context, onnx::ModelProto &model, StringRef path,
            ModelSignature &signature, std::string &errors,
            const ImportOptions &options);

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &context, StringRef path,
                                     ModelSignature &signature,
                                     std::string &errors,
                                     const ImportOptions &options) {
  auto fail = [&](const Twine &message) {
    errors += (path + ": " + message + "\n").str();
    return OwningOpRef<ModuleOp>();
  };
  // Parsed from the file in blocks rather than from a mapping of all of it:
  // the weights are held once by protobuf while the import copies them, not
  // also by the file's pages.
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd))
    return fail("cannot read file: " + ec.message());
  llvm::scope_exit closeFile(
      [&] { llvm::sys::Process::SafelyCloseFileDescriptor(fd); });
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(fd, status))
    return fail("cannot read file: " + ec.message());
  if (status.type() == llvm::sys::fs::file_type::directory_file)
    return fail("cannot read file: " +
                std::make_error_code(std::errc::is_a_directory).message());
  if (status.getSize() > static_cast<uint64_t>(INT32_MAX))
    return fail(kOverTwoGigabytes);
  onnx::ModelProto model;
  {
    google::protobuf::io::FileInputStream file(fd);
    google::protobuf::io::CodedInputStream stream(&file);
    stream.SetTotalBytesLimit(INT32_MAX);
    if (!model.ParseFromCodedStream(&stream) ||
        !stream.ConsumedEntireMessage() || file.GetErrno() != 0)
      return fail(
          file.GetErrno() != 0
              ? "cannot read file: " +
                    std::error_code(file.GetErrno(), std::generic_category())
                        .message()
              : std::string(kTruncatedOrCorrupt));
  }
  return importModel(context, model, path, signature, errors, options);
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &context, StringRef bytes,
                                      StringRef path, ModelSignature &signature,
                                      std::string &errors,
                                      const ImportOptions &options) {
  auto fail = [&](const Twine &message) {
    errors += message.str() + "\n";
    return OwningOpRef<ModuleOp>();
  };

  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    return fail(path + ": " + kOverTwoGigabytes);
  onnx::ModelProto model;
  {
    google::protobuf::io::CodedInputStream stream(
        reinterpret_cast<const uint8_t *>(bytes.data()),
        static_cast<int>(bytes.size()));
    stream.SetTotalBytesLimit(INT32_MAX);
    if (!model.ParseFromCodedStream(&stream) ||
        !stream.ConsumedEntireMessage())
      return fail(path + ": " + kTruncatedOrCorrupt);
  }
  return importModel(context, model, path, signature, errors, options);
}

static OwningOpRef<ModuleOp>
importModel(MLIRContext &context, onnx::ModelProto &model, StringRef path,
            ModelSignature &signature, std::string &errors,
            const ImportOptions &options) {
  context
      .loadDialect<graph::GraphDialect, arith::ArithDialect, func::FuncDialect,
                   scf::SCFDialect, tensor::TensorDialect>();
  auto fail = [&](const Twine &message) {
    errors += message.str() + "\n";
    return OwningOpRef<ModuleOp>();
  };
  if (!model.has_graph() || model.graph().node_size() == 0 ||
      model.graph().output_size() == 0)
    return fail(path + ": not a valid ONNX model (no graph, nodes or "
                       "outputs)");

  // The version of each operator set the model imports ("" = ONNX's).
  std::map<std::string, int> opsets;
  for (const auto &imp : model.opset_import())
    opsets[isDefaultDomain(imp.domain()) ? "" : imp.domain()] =
        static_cast<int>(imp.version());
  int opset = opsets.count("") ? opsets[""] : -1;
  if (opset < 0 && llvm::any_of(model.graph().node(), [](const auto &node) {
        return isDefaultDomain(node.domain());
      }))
    return fail(path + ": the model imports no version of the default ONNX "
                       "operator set");
  const onnx::GraphProto &g = model.graph();
  signature.producer = model.producer_name() + " " + model.producer_version();

  // Every unsupported node, listed at once, before anything is built (those
  // of subgraphs too: an If's branches, a Loop's or Scan's body).
  std::vector<std::string> unsupported;
  std::function<void(const onnx::GraphProto &)> listUnsupported =
      [&](const onnx::GraphProto &graph) {
        int index = 0;
        for (const auto &node : graph.node()) {
          int nodeIndex = index++;
          const OpImporter *imp = findImporter(node.op_type(), node.domain());
          std::string domain =
              isDefaultDomain(node.domain()) ? "" : node.domain();
          int version = opsets.count(domain) ? opsets[domain] : -1;
          std::string why;
          if (!imp && !domain.empty() &&
              llvm::none_of(importerTable(), [&](const OpImporter &i) {
                return domain == i.domain;
              }))
            why = "domain '" + node.domain() + "' is not supported";
          else if (!imp)
            why = "op type is not supported";
          else if (version < imp->sinceOpset)
            why = "supported from opset " + std::to_string(imp->sinceOpset) +
                  (domain.empty() ? "" : " of " + domain);
          if (!why.empty()) {
            // "node 'conv1' (Conv)" -> "node 'conv1' (Conv, opset 17)"
            std::string label = describeNode(node, nodeIndex);
            label.insert(label.size() - 1,
                         ", opset " +
                             std::to_string(version >= 0 ? version : opset));
            unsupported.push_back("  " + label + ": " + why);
          }
          for (const auto &a : node.attribute()) {
            if (a.has_g())
              listUnsupported(a.g());
            for (const auto &sub : a.graphs())
              listUnsupported(sub);
          }
        }
      };
  listUnsupported(g);
  if (!unsupported.empty()) {
    errors += path.str() + ": " + std::to_string(unsupported.size()) +
              " unsupported node(s):\n";
    for (const auto &line : unsupported)
      errors += line + "\n";
    return {};
  }

  OpBuilder builder(&context);
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  ImportContext ctx(builder, path.str(), opset);

  // Initializers become constants; inputs that are not initializers become
  // the entry function's arguments.
  std::set<std::string> initializerNames;
  for (const auto &init : g.initializer())
    initializerNames.insert(init.name());
  std::map<std::string, DenseElementsAttr> frozen;
  for (const auto &[frozenName, file] : options.frozenInputs) {
    const std::string &name = frozenName;
    bool isInput = llvm::any_of(g.input(), [&](const auto &input) {
      return input.name() == name && !initializerNames.count(name);
    });
    if (!isInput)
      return fail(path + ": --freeze-input: the model has no input '" + name +
                  "'");
    std::string message;
    auto value = readFrozenInput(context, name, file, message);
    if (failed(value))
      return fail("--freeze-input " + name + ": " + message);
    frozen[name] = *value;
  }
  std::set<std::string> notArguments = initializerNames;
  for (const auto &[name, value] : frozen)
    notArguments.insert(name);
  std::map<std::string, SmallVector<int64_t>> inputShapes;
  {
    std::string message;
    if (failed(resolveInputShapes(g, notArguments, options, inputShapes,
                                  message)))
      return fail(path + ": " + message);
  }
  SmallVector<Type> argTypes;
  std::vector<std::string> argNames;
  SmallVector<int32_t> argDTypes;
  // Sequence and optional inputs: their kind, element rank and first
  // argument; their parts are arguments of their own.
  std::vector<std::tuple<std::string, OnnxValue, size_t>> compositeInputs;
  for (const auto &input : g.input()) {
    if (notArguments.count(input.name()))
      continue;
    if (!input.type().has_tensor_type()) {
      std::string why;
      auto info = valueTypeOf(input.type(), why);
      if (!info)
        return fail(path + ": input '" + input.name() + "' " + why);
      Type elem = elementTypeOf(&context, info->dtype);
      if (!elem)
        return fail(path + ": input '" + input.name() + "' has dtype " +
                    dtypeName(info->dtype) + ", which dlc does not support");
      bool optional = info->kind == ValueKind::OptionalTensor ||
                      info->kind == ValueKind::OptionalSequence;
      bool sequence = info->kind != ValueKind::OptionalTensor;
      if (!sequence && info->rank() < 0)
        return fail(path + ": optional input '" + input.name() +
                    "' has no shape: dlc needs its rank");
      OnnxValue like;
      like.kind = info->kind;
      like.elementRank = sequence ? info->rank() : OnnxValue::kMixedRanks;
      compositeInputs.emplace_back(input.name(), like, argTypes.size());
      std::string kindName = info->kind == ValueKind::Sequence ? "sequence"
                             : sequence ? "optional_sequence"
                                        : "optional_tensor";
      auto addPart = [&](const char *part, Type type, int32_t dtype) {
        auto ranked = cast<RankedTensorType>(type);
        argTypes.push_back(type);
        argNames.push_back(input.name());
        argDTypes.push_back(dtype);
        onnx_frontend::TensorSignature tensor(input.name(), dtypeName(dtype),
                                              {});
        for (int64_t d : ranked.getShape())
          tensor.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
        tensor.valueKind = kindName;
        tensor.part = part;
        signature.inputs.push_back(std::move(tensor));
      };
      Type i64 = IntegerType::get(&context, 64);
      int64_t dyn = ShapedType::kDynamic;
      if (optional)
        addPart("present",
                RankedTensorType::get({}, IntegerType::get(&context, 1)),
                onnx::TensorProto::BOOL);
      if (sequence) {
        addPart("values", RankedTensorType::get({dyn}, elem), info->dtype);
        addPart("table", RankedTensorType::get({dyn, kSequenceRowWidth}, i64),
                onnx::TensorProto::INT64);
      } else {
        // Every dim at run time: an absent optional's tensor has dims of 0
        // whatever the declared ones.
        SmallVector<int64_t> shape(info->rank(), dyn);
        addPart("tensor", RankedTensorType::get(shape, elem), info->dtype);
      }
      continue;
    }
    const SmallVector<int64_t> *shape = &inputShapes[input.name()];
    int32_t dtype = input.type().tensor_type().elem_type();
    Type elem = elementTypeOf(&context, dtype);
    if (!elem)
      return fail(path + ": input '" + input.name() + "' has dtype " +
                  dtypeName(dtype) + ", which dlc does not support");
    argTypes.push_back(RankedTensorType::get(*shape, elem));
    argNames.push_back(input.name());
    argDTypes.push_back(dtype);
    onnx_frontend::TensorSignature tensor(input.name(), dtypeName(dtype), {});
    const auto &declared = input.type().tensor_type().shape();
    for (auto [d, size] : llvm::enumerate(*shape)) {
      bool dynamic = ShapedType::isDynamic(size);
      tensor.shape.push_back(dynamic ? -1 : size);
      std::string name;
      if (dynamic && static_cast<int>(d) < declared.dim_size() &&
          declared.dim(static_cast<int>(d)).has_dim_param())
        name = declared.dim(static_cast<int>(d)).dim_param();
      tensor.dimNames.push_back(name);
    }
    signature.inputs.push_back(std::move(tensor));
  }

  auto func = func::FuncOp::create(
      builder, fileLoc, signature.entryName,
      builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  std::map<std::string, int64_t> symbolOfParam;
  for (auto [name, dtype, arg, tensor] :
       llvm::zip(argNames, argDTypes, body->getArguments(), signature.inputs)) {
    ctx.define(name, arg);
    if (tensor.hasRuntimeShape()) {
      SmallVector<int64_t> symbols;
      for (auto [size, param] : llvm::zip(tensor.shape, tensor.dimNames)) {
        if (size >= 0) {
          symbols.push_back(-1);
          continue;
        }
        auto [it, inserted] = symbolOfParam.try_emplace(
            param, static_cast<int64_t>(ctx.dimSymbolNames.size()));
        if (param.empty() || inserted) {
          symbols.push_back(ctx.newDimSymbol(
              arg, static_cast<int64_t>(symbols.size()), param));
        } else {
          symbols.push_back(it->second);
        }
      }
      ctx.dimSymbols[arg] = symbols;
    }
    if (isUnsignedDType(dtype))
      ctx.unsignedValues.insert(arg);
  }

  for (auto &[name, like, first] : compositeInputs) {
    unsigned count = OnnxValue::numParts(like.kind);
    OnnxValue value =
        unflattenValues(like, body->getArguments().slice(first, count))[0];
    // The optional tensor's part takes one type whatever it holds.
    if (value.kind == ValueKind::OptionalTensor) {
      auto wrapped =
          coerceValue(ctx, OnnxValue{ValueKind::Tensor, {value.parts[1]}},
                      ValueKind::OptionalTensor, name);
      value.parts[1] = wrapped->parts[1];
    }
    ctx.defineValue(name, value);
  }
  for (const auto &[name, value] : frozen) {
    Location loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
    ctx.define(name, arith::ConstantOp::create(builder, loc, value));
  }
  std::set<std::string> trained;
  std::vector<std::pair<unsigned, std::string>> parameterArgs, bufferArgs;
  ctx.training = options.trainParameters;
  if (options.trainParameters &&
      failed(selectTrainedParameters(g, options.freezePatterns, trained,
                                     ctx.stateBuffers, signature, errors)))
    return {};
  for (auto &init : *model.mutable_graph()->mutable_initializer()) {
    std::string message;
    // The attribute holds the weights now: protobuf's copy goes (a weight
    // blob takes it), so that the import holds them once, not twice. A
    // training import keeps it for the stripped model below.
    auto attr = initializerToAttr(&context, init, !options.trainParameters,
                                  message, ctx.modelDir());
    if (failed(attr))
      return fail(path + ": initializer " + message);
    if (!options.trainParameters && init.has_raw_data())
      std::string().swap(*init.mutable_raw_data());
    auto type = cast<RankedTensorType>(attr->getShapedType());
    Location loc = NameLoc::get(builder.getStringAttr(init.name()), fileLoc);
    bool buffer = ctx.stateBuffers.count(init.name());
    if (trained.count(init.name()) || buffer) {
      BlockArgument arg = body->addArgument(type, loc);
      argTypes.push_back(type);
      (buffer ? bufferArgs : parameterArgs)
          .emplace_back(arg.getArgNumber(), init.name());
      ctx.define(init.name(), arg);
      signature.parameters.push_back(
          {{init.name(), "float32",
            std::vector<int64_t>(type.getShape().begin(),
                                 type.getShape().end())},
           rawFloat32Data(*attr),
           buffer});
      continue;
    }
    Value value =
        arith::ConstantOp::create(builder, loc, cast<TypedAttr>(*attr));
    ctx.define(init.name(), value);
    if (isUnsignedDType(init.data_type()))
      ctx.unsignedValues.insert(value);
  }

  (void)importGraphNodes(ctx, g);
  if (!ctx.errors.empty()) {
    for (const auto &e : ctx.errors)
      errors += e + "\n";
    return {};
  }

  ctx.node = nullptr;
  SmallVector<Value> results;
  for (const auto &output : g.output()) {
    if (!output.type().has_tensor_type()) {
      // A sequence or optional: its parts, as the declared kind has them.
      std::string why;
      auto info = valueTypeOf(output.type(), why);
      if (!info)
        return fail(path + ": graph output '" + output.name() + "' " + why);
      auto v = ctx.lookupValue(output.name());
      if (!v)
        return fail(path + ": graph output '" + output.name() +
                    "' is not produced by any node");
      ctx.node = nullptr;
      Type declared = elementTypeOf(&context, info->dtype);
      Type actual = ImportContext::typeOf(v->parts.back()).getElementType();
      if (v->kind == ValueKind::Sequence ||
          v->kind == ValueKind::OptionalSequence)
        actual = ImportContext::typeOf(v->values()).getElementType();
      if (declared != actual) {
        std::string text;
        llvm::raw_string_ostream os(text);
        os << actual;
        return fail(path + ": graph output '" + output.name() +
                    "' is declared of dtype " + dtypeName(info->dtype) +
                    ", but its tensors hold " + text);
      }
      auto coerced = coerceValue(ctx, *v, info->kind,
                                 "graph output '" + output.name() + "'");
      if (!coerced) {
        for (const auto &e : ctx.errors)
          errors += e + "\n";
        return {};
      }
      bool sequence = info->kind != ValueKind::OptionalTensor;
      std::string kindName = info->kind == ValueKind::Sequence ? "sequence"
                             : sequence ? "optional_sequence"
                                        : "optional_tensor";
      SmallVector<const char *> parts;
      if (coerced->isOptional())
        parts.push_back("present");
      if (sequence)
        parts.append({"values", "table"});
      else
        parts.push_back("tensor");
      for (auto [part, value] : llvm::zip(parts, coerced->parts)) {
        results.push_back(value);
        auto type = cast<RankedTensorType>(value.getType());
        std::vector<int64_t> shape;
        for (int64_t d : type.getShape())
          shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
        StringRef p(part);
        int32_t dtype = p == "present" ? int32_t(onnx::TensorProto::BOOL)
                        : p == "table" ? int32_t(onnx::TensorProto::INT64)
                                       : info->dtype;
        signature.outputs.push_back({output.name(), dtypeName(dtype), shape});
        signature.outputs.back().valueKind = kindName;
        signature.outputs.back().part = part;
      }
      continue;
    }
    Value v = ctx.lookup(output.name());
    if (!v) {
      if (auto composite = ctx.lookupValue(output.name()))
        return fail(path + ": graph output '" + output.name() + "' is " +
                    valueKindName(composite->kind) +
                    ", but the model declares a tensor");
      return fail(path + ": graph output '" + output.name() +
                  "' is not produced by any node");
    }
    results.push_back(v);
    auto type = cast<RankedTensorType>(v.getType());
    int32_t dtype = output.type().tensor_type().elem_type();
    // Dims known only at run time are -1 in the signature and manifest.
    std::vector<int64_t> shape;
    for (int64_t d : type.getShape())
      shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    signature.outputs.push_back({output.name(), dtypeName(dtype), shape});
    // A dim that is an input's symbolic dim carries its name.
    if (auto it = ctx.dimSymbols.find(v); it != ctx.dimSymbols.end()) {
      for (auto [size, symbol] : llvm::zip(shape, it->second))
        signature.outputs.back().dimNames.push_back(
            size < 0 && symbol >= 0 ? ctx.dimSymbolNames[symbol] : "");
      if (llvm::all_of(signature.outputs.back().dimNames,
                       [](const std::string &n) { return n.empty(); }))
        signature.outputs.back().dimNames.clear();
    }
  }
  for (auto &input : signature.inputs)
    if (auto it = ctx.indexInputs.find(input.name); it != ctx.indexInputs.end()) {
      input.indexLimit = it->second.first;
      input.indexExempt = it->second.second;
    }
  // Training: the buffers' updated values are results after the outputs.
  std::vector<std::string> updated;
  for (const auto &[index, name] : bufferArgs) {
    Value update = ctx.bufferUpdates[name];
    if (!update)
      return fail(path + ": --train: nothing updates the state buffer '" +
                  name + "'");
    results.push_back(update);
    updated.push_back(name);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (const auto &[index, name] : parameterArgs)
    func.setArgAttr(index, "graph.parameter", builder.getStringAttr(name));
  if (options.trainParameters) {
    onnx::ModelProto stripped = model;
    for (auto &init : *stripped.mutable_graph()->mutable_initializer())
      if (trained.count(init.name()) || ctx.stateBuffers.count(init.name())) {
        init.clear_raw_data();
        init.clear_float_data();
      }
    signature.strippedModel = stripped.SerializeAsString();
  }
  for (const auto &[index, name] : bufferArgs)
    func.setArgAttr(index, "graph.buffer", builder.getStringAttr(name));
  for (auto [i, name] : llvm::enumerate(updated))
    func.setResultAttr(signature.outputs.size() + i, "graph.buffer_update",
                       builder.getStringAttr(name));
  if (options.trainParameters && signature.parameters.empty())
    return fail(path + ": --train: the model has no float32 initializer to "
                       "train (all frozen, or none)");
  return module;
}

} // namespace dlc::onnx_frontend
