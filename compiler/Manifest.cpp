//===- Manifest.cpp - the manifest embedded in every model ----------------===//

#include "compiler/Manifest.h"
#include "compiler/Version.h"

#include "runtime/manifest_generated.h"

#include <map>

namespace dlc {

namespace fb = flatbuffers;
namespace mf = dlc::manifest;

namespace {
/// The dtypes a manifest can name, with their element sizes.
struct DTypeInfo {
  mf::DType dtype;
  uint64_t bytes;
};
const std::map<std::string, DTypeInfo> &dtypeTable() {
  static const std::map<std::string, DTypeInfo> table = {
      {"float32", {mf::DType_Float32, 4}}, {"float64", {mf::DType_Float64, 8}},
      {"float16", {mf::DType_Float16, 2}}, {"int64", {mf::DType_Int64, 8}},
      {"int32", {mf::DType_Int32, 4}},     {"int16", {mf::DType_Int16, 2}},
      {"int8", {mf::DType_Int8, 1}},       {"uint8", {mf::DType_UInt8, 1}},
      {"bool", {mf::DType_Bool, 1}},       {"uint16", {mf::DType_UInt16, 2}},
      {"uint32", {mf::DType_UInt32, 4}},   {"uint64", {mf::DType_UInt64, 8}}};
  return table;
}
} // namespace

/// The manifest's spelling of TensorSignature::valueKind and ::part.
static bool valueKindOf(const onnx_frontend::TensorSignature &t,
                        mf::ValueKind &kind, mf::ValuePart &part) {
  static const std::map<std::string, mf::ValueKind> kinds = {
      {"tensor", mf::ValueKind_Tensor},
      {"sequence", mf::ValueKind_Sequence},
      {"optional_tensor", mf::ValueKind_OptionalTensor},
      {"optional_sequence", mf::ValueKind_OptionalSequence}};
  static const std::map<std::string, mf::ValuePart> parts = {
      {"", mf::ValuePart_Whole},
      {"present", mf::ValuePart_Present},
      {"tensor", mf::ValuePart_Element},
      {"values", mf::ValuePart_Values},
      {"table", mf::ValuePart_Table}};
  auto k = kinds.find(t.valueKind);
  auto p = parts.find(t.part);
  if (k == kinds.end() || p == parts.end())
    return false;
  kind = k->second;
  part = p->second;
  return (kind == mf::ValueKind_Tensor) == (part == mf::ValuePart_Whole);
}

static bool dtypeOf(const std::string &name, mf::DType &dtype) {
  auto it = dtypeTable().find(name);
  if (it == dtypeTable().end())
    return false;
  dtype = it->second.dtype;
  return true;
}

uint64_t tensorBytes(const onnx_frontend::TensorSignature &t) {
  auto it = dtypeTable().find(t.dtype);
  if (it == dtypeTable().end())
    return UINT64_MAX;
  uint64_t bytes = it->second.bytes;
  for (int64_t d : t.shape) {
    if (d < 0)
      return UINT64_MAX;
    bytes *= static_cast<uint64_t>(d);
  }
  return bytes;
}

bool buildManifest(const onnx_frontend::ModelSignature &signature,
                   const ManifestFields &fields, std::vector<uint8_t> &bytes,
                   std::string &error) {
  fb::FlatBufferBuilder b;
  auto tensors = [&](const std::vector<onnx_frontend::TensorSignature> &list)
      -> std::optional<std::vector<fb::Offset<mf::TensorInfo>>> {
    std::vector<fb::Offset<mf::TensorInfo>> out;
    for (const auto &t : list) {
      mf::DType dtype;
      if (!dtypeOf(t.dtype, dtype)) {
        error = "tensor '" + t.name + "' has dtype " + t.dtype +
                ", which the manifest cannot describe";
        return std::nullopt;
      }
      mf::ValueKind kind;
      mf::ValuePart part;
      if (!valueKindOf(t, kind, part)) {
        error = "tensor '" + t.name + "' is the part '" + t.part +
                "' of a value of kind '" + t.valueKind +
                "', which the manifest cannot describe";
        return std::nullopt;
      }
      out.push_back(mf::CreateTensorInfo(
          b, b.CreateString(t.name), dtype, b.CreateVector(t.shape),
          t.indexLimit, t.indexExempt.value_or(0), t.indexExempt.has_value(),
          t.signLabels,
          t.dimNames.empty() ? 0 : b.CreateVectorOfStrings(t.dimNames), kind,
          part));
    }
    return out;
  };
  // Outputs of run-time shapes (dims of -1) need a runtime that allocates
  // them: format 2; older runtimes refuse such a library by its version.
  bool runtimeShapes = llvm::any_of(
      signature.outputs, [](const auto &t) { return t.hasRuntimeShape(); });
  // Inputs of dynamic dims need a runtime that passes their sizes: 3.
  bool dynamicInputs = signature.hasDynamicInputs();
  // Sequences and optionals need a runtime that packs and unpacks them: 4.
  auto notTensor = [](const onnx_frontend::TensorSignature &t) {
    return t.valueKind != "tensor";
  };
  bool sequences = llvm::any_of(signature.inputs, notTensor) ||
                   llvm::any_of(signature.outputs, notTensor);
  auto inputs = tensors(signature.inputs);
  auto outputs = tensors(signature.outputs);
  if (!inputs || !outputs)
    return false;
  auto entry = mf::CreateEntryPoint(
      b, b.CreateString(signature.entryName),
      b.CreateString(fields.entrySymbol), b.CreateVector(*inputs),
      b.CreateVector(*outputs));
  std::vector<fb::Offset<mf::EntryPoint>> entries = {entry};
  fb::Offset<mf::Training> training = 0;
  if (const auto &t = fields.training) {
    static const std::map<std::string, mf::StateRole> roles = {
        {"parameter", mf::StateRole_Parameter},
        {"buffer", mf::StateRole_Buffer},
        {"moment", mf::StateRole_Moment},
        {"step", mf::StateRole_Step}};
    std::vector<fb::Offset<mf::Hyperparameter>> hyper;
    for (const auto &[name, value] : t->hyperparameters)
      hyper.push_back(mf::CreateHyperparameter(b, b.CreateString(name), value));
    std::vector<fb::Offset<mf::StateTensor>> state;
    for (const auto &s : t->state)
      state.push_back(mf::CreateStateTensor(
          b, b.CreateString(s.name), roles.at(s.role), mf::DType_Float32,
          b.CreateVector(s.shape), s.offset, b.CreateString(s.parameter)));
    auto frozen = tensors(t->frozen);
    auto stepInputs = tensors(t->inputs);
    if (!frozen || !stepInputs)
      return false;
    training = mf::CreateTraining(
        b, b.CreateString(t->stepSymbol), b.CreateString(t->loss),
        b.CreateString(t->optimizer), b.CreateVector(hyper),
        b.CreateVector(state), t->stateBytes, b.CreateVector(*frozen),
        t->stepWorkspaceBytes, b.CreateVector(*stepInputs),
        b.CreateString(t->applySymbol));
  }
  fb::Offset<mf::Weights> weights = 0;
  if (const auto &w = fields.weights) {
    std::vector<mf::WeightSlot> slots;
    for (const auto &slot : w->slots)
      slots.emplace_back(slot.offset, slot.bytes);
    weights = mf::CreateWeights(b, b.CreateString(w->file), w->id, w->bytes,
                                b.CreateVectorOfStructs(slots));
  }
  auto manifest = mf::CreateManifest(
      b, b.CreateString(kVersion), b.CreateString(fields.targetTriple),
      b.CreateString(fields.targetCpu), b.CreateString(fields.source),
      b.CreateString(signature.producer), b.CreateVector(entries),
      fields.parameterCount, fields.parameterBytes, fields.workspaceBytes,
      training, b.CreateVectorOfStrings(fields.runtimeChecks), weights,
      /*format_version=*/
      sequences       ? 4
      : dynamicInputs ? 3
      : runtimeShapes ? 2
                      : 1,
      fields.device.empty() ? 0 : b.CreateString(fields.device));
  mf::FinishManifestBuffer(b, manifest);
  bytes.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  return true;
}

} // namespace dlc
