//===- FakeSequenceLibrary.cpp - a hand-written library of sequences ------===//
//
// Stands in for a model with ONNX sequence and optional inputs and outputs,
// so that the runtime's packing and unpacking of them (runtime.h,
// manifest.fbs ValueKind) is tested without the compiler:
//   inputs:  seq   sequence of float32
//            opt   optional tensor float32 [n, 2]
//            x     float32 [n]
//            oseq  optional sequence of int64
//   outputs: rev   sequence of float32: seq reversed
//            maybe optional tensor float32 [-1, 2]: opt, 1 added
//            oseq  optional sequence of int64: oseq as given
//            info  int64 [4]: seq's length, its values' count, opt's
//                  presence, x's size
// Its entry point follows the generated code's convention: one pointer per
// entry tensor, then the sizes of the inputs' dims of -1; outputs of
// run-time shapes are slots [data, dims...] whose data it allocates.
//
// FAKE_VARIANT selects a broken library: 0 none; 1 a manifest whose sequence
// input lacks its table; 2 a returned sequence whose table points past its
// values.
//
//===----------------------------------------------------------------------===//

#include "manifest_generated.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifndef FAKE_VARIANT
#define FAKE_VARIANT 0
#endif

#define EXPORT __attribute__((visibility("default")))

namespace {

constexpr int64_t kRow = 10; // offset, rank, 8 dims

/// A slot's buffer, as the generated code allocates it.
void *allocate(int64_t bytes) {
  return std::malloc(static_cast<size_t>(bytes > 0 ? bytes : 1));
}

} // namespace

extern "C" {

EXPORT alignas(16) unsigned char dlc_manifest[8192];
EXPORT uint64_t dlc_manifest_size;

// inputs: seq.values, seq.table, opt.present, opt.tensor, x, oseq.present,
//         oseq.values, oseq.table, dims (seq.values[0], seq.table[0],
//         opt.tensor[0], x[0], oseq.values[0], oseq.table[0]).
// outputs: rev.values, rev.table, maybe.present, maybe.tensor, oseq.present,
//          oseq.values, oseq.table, info.
EXPORT void dlc_forward(void **inputs, void **outputs, void *) {
  const auto *dims = static_cast<const int64_t *>(inputs[8]);
  int64_t count = dims[0], length = dims[1], n = dims[2];
  const float *values = static_cast<const float *>(inputs[0]);
  const int64_t *table = static_cast<const int64_t *>(inputs[1]);
  auto slot = [&](int i) { return static_cast<int64_t *>(outputs[i]); };

  // rev: the tensors in reverse order, laid out from the end of a values
  // buffer with a gap of 3 unused elements at its start (offsets matter).
  int64_t gap = 3;
  float *revValues =
      static_cast<float *>(allocate((count + gap) * sizeof(float)));
  auto *revTable =
      static_cast<int64_t *>(allocate(length * kRow * sizeof(int64_t)));
  for (int64_t i = 0; i < gap; ++i)
    revValues[i] = -999.0f;
  int64_t at = gap;
  for (int64_t k = 0; k < length; ++k) {
    const int64_t *row = table + (length - 1 - k) * kRow;
    int64_t elements = 1;
    for (int64_t d = 0; d < row[1]; ++d)
      elements *= row[2 + d];
    std::memcpy(revValues + at, values + row[0], elements * sizeof(float));
    std::memcpy(revTable + k * kRow, row, kRow * sizeof(int64_t));
    revTable[k * kRow] = at;
    at += elements;
  }
  if (FAKE_VARIANT == 2 && length > 0)
    revTable[0] = count + gap;
  slot(0)[0] = reinterpret_cast<int64_t>(revValues);
  slot(0)[1] = count + gap;
  slot(1)[0] = reinterpret_cast<int64_t>(revTable);
  slot(1)[1] = length;
  slot(1)[2] = kRow;

  // maybe: opt + 1, or absent (its tensor then [0, 2]).
  bool present = *static_cast<const uint8_t *>(inputs[2]);
  *static_cast<uint8_t *>(outputs[2]) = present;
  int64_t rows = present ? n : 0;
  float *maybe = static_cast<float *>(allocate(rows * 2 * sizeof(float)));
  for (int64_t i = 0; i < rows * 2; ++i)
    maybe[i] = static_cast<const float *>(inputs[3])[i] + 1.0f;
  slot(3)[0] = reinterpret_cast<int64_t>(maybe);
  slot(3)[1] = rows;
  slot(3)[2] = 2;

  // oseq: as given (an absent one's parts are empty).
  *static_cast<uint8_t *>(outputs[4]) =
      *static_cast<const uint8_t *>(inputs[5]);
  int64_t oCount = dims[4], oLength = dims[5];
  void *oValues = allocate(oCount * sizeof(int64_t));
  std::memcpy(oValues, inputs[6], oCount * sizeof(int64_t));
  void *oTable = allocate(oLength * kRow * sizeof(int64_t));
  std::memcpy(oTable, inputs[7], oLength * kRow * sizeof(int64_t));
  slot(5)[0] = reinterpret_cast<int64_t>(oValues);
  slot(5)[1] = oCount;
  slot(6)[0] = reinterpret_cast<int64_t>(oTable);
  slot(6)[1] = oLength;
  slot(6)[2] = kRow;

  int64_t *info = static_cast<int64_t *>(outputs[7]);
  info[0] = length;
  info[1] = count;
  info[2] = present;
  info[3] = dims[3];
}

} // extern "C"

__attribute__((constructor)) static void buildManifest() {
  using namespace dlc::manifest;
  flatbuffers::FlatBufferBuilder fbb;
  auto tensor = [&](const char *name, DType dtype, std::vector<int64_t> shape,
                    ValueKind kind, ValuePart part,
                    std::vector<std::string> dimNames = {}) {
    std::vector<flatbuffers::Offset<flatbuffers::String>> names;
    for (const std::string &s : dimNames)
      names.push_back(fbb.CreateString(s));
    return CreateTensorInfoDirect(fbb, name, dtype, &shape, -1, 0, false, false,
                                  dimNames.empty() ? nullptr : &names, kind,
                                  part);
  };
  std::vector<flatbuffers::Offset<TensorInfo>> inputs = {
      tensor("seq", DType_Float32, {-1}, ValueKind_Sequence, ValuePart_Values)};
  if (FAKE_VARIANT != 1)
    inputs.push_back(tensor("seq", DType_Int64, {-1, kRow}, ValueKind_Sequence,
                            ValuePart_Table));
  inputs.insert(inputs.end(),
                {tensor("opt", DType_Bool, {}, ValueKind_OptionalTensor,
                        ValuePart_Present),
                 tensor("opt", DType_Float32, {-1, 2}, ValueKind_OptionalTensor,
                        ValuePart_Element, {"n", ""}),
                 tensor("x", DType_Float32, {-1}, ValueKind_Tensor,
                        ValuePart_Whole, {"n"}),
                 tensor("oseq", DType_Bool, {}, ValueKind_OptionalSequence,
                        ValuePart_Present),
                 tensor("oseq", DType_Int64, {-1}, ValueKind_OptionalSequence,
                        ValuePart_Values),
                 tensor("oseq", DType_Int64, {-1, kRow},
                        ValueKind_OptionalSequence, ValuePart_Table)});
  std::vector<flatbuffers::Offset<TensorInfo>> outputs = {
      tensor("rev", DType_Float32, {-1}, ValueKind_Sequence, ValuePart_Values),
      tensor("rev", DType_Int64, {-1, kRow}, ValueKind_Sequence,
             ValuePart_Table),
      tensor("maybe", DType_Bool, {}, ValueKind_OptionalTensor,
             ValuePart_Present),
      tensor("maybe", DType_Float32, {-1, 2}, ValueKind_OptionalTensor,
             ValuePart_Element),
      tensor("oseq_out", DType_Bool, {}, ValueKind_OptionalSequence,
             ValuePart_Present),
      tensor("oseq_out", DType_Int64, {-1}, ValueKind_OptionalSequence,
             ValuePart_Values),
      tensor("oseq_out", DType_Int64, {-1, kRow}, ValueKind_OptionalSequence,
             ValuePart_Table),
      tensor("info", DType_Int64, {4}, ValueKind_Tensor, ValuePart_Whole)};
  std::vector<flatbuffers::Offset<EntryPoint>> entries = {
      CreateEntryPointDirect(fbb, "forward", "dlc_forward", &inputs, &outputs)};
  fbb.Finish(CreateManifestDirect(fbb, "0.1.0", "x86_64-unknown-linux-gnu",
                                  "generic", "fake_sequence.onnx", "test",
                                  &entries, 0, 0, 0, 0, nullptr, 0, 4),
             ManifestIdentifier());
  std::memcpy(dlc_manifest, fbb.GetBufferPointer(), fbb.GetSize());
  dlc_manifest_size = fbb.GetSize();
}
