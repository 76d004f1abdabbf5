//===- TensorFiles.cpp - ONNX TensorProto files as host tensors -----------===//

#include "TensorFiles.h"

#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dlc::tools {

int64_t HostTensor::elements() const {
  // An empty dim empties the tensor whatever the others are (parseTensor
  // bounds the product of shapes without one).
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return 0;
  // Dims given on the command line (--random --dim) may overflow: -1.
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

dlc_tensor HostTensor::view() {
  return dlc_tensor{bytes.data(), dtype, static_cast<int32_t>(shape.size()),
                    shape.data()};
}

static bool toDlcDType(int32_t onnxType, dlc_dtype &dtype) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: dtype = DLC_FLOAT32; return true;
  case onnx::TensorProto::DOUBLE: dtype = DLC_FLOAT64; return true;
  case onnx::TensorProto::FLOAT16: dtype = DLC_FLOAT16; return true;
  case onnx::TensorProto::INT64: dtype = DLC_INT64; return true;
  case onnx::TensorProto::INT32: dtype = DLC_INT32; return true;
  case onnx::TensorProto::INT16: dtype = DLC_INT16; return true;
  case onnx::TensorProto::INT8: dtype = DLC_INT8; return true;
  case onnx::TensorProto::UINT8: dtype = DLC_UINT8; return true;
  case onnx::TensorProto::BOOL: dtype = DLC_BOOL; return true;
  case onnx::TensorProto::UINT16: dtype = DLC_UINT16; return true;
  case onnx::TensorProto::UINT32: dtype = DLC_UINT32; return true;
  case onnx::TensorProto::UINT64: dtype = DLC_UINT64; return true;
  default: return false;
  }
}

static int32_t toOnnxDType(dlc_dtype dtype) {
  switch (dtype) {
  case DLC_FLOAT32: return onnx::TensorProto::FLOAT;
  case DLC_FLOAT64: return onnx::TensorProto::DOUBLE;
  case DLC_FLOAT16: return onnx::TensorProto::FLOAT16;
  case DLC_INT64: return onnx::TensorProto::INT64;
  case DLC_INT32: return onnx::TensorProto::INT32;
  case DLC_INT16: return onnx::TensorProto::INT16;
  case DLC_INT8: return onnx::TensorProto::INT8;
  case DLC_UINT8: return onnx::TensorProto::UINT8;
  case DLC_BOOL: return onnx::TensorProto::BOOL;
  case DLC_UINT16: return onnx::TensorProto::UINT16;
  case DLC_UINT32: return onnx::TensorProto::UINT32;
  case DLC_UINT64: return onnx::TensorProto::UINT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

template <typename T, typename Field>
static void copyField(const Field &field, std::vector<unsigned char> &bytes) {
  bytes.resize(field.size() * sizeof(T));
  T *out = reinterpret_cast<T *>(bytes.data());
  for (int i = 0; i < field.size(); ++i)
    out[i] = static_cast<T>(field.Get(i));
}

/// The bytes of the file at `path`.
static bool readFileBytes(const std::string &path, std::string &bytes,
                          std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  bytes = buffer.str();
  return true;
}

bool readTensorFile(const std::string &path, HostTensor &tensor,
                    std::string &error) {
  std::string bytes;
  return readFileBytes(path, bytes, error) &&
         parseTensor(bytes, path, tensor, error);
}

bool parseTensor(const std::string &bytes, const std::string &path,
                 HostTensor &tensor, std::string &error) {
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    error = path + ": not a serialized onnx.TensorProto";
    return false;
  }
  if (!toDlcDType(proto.data_type(), tensor.dtype)) {
    error = path + ": unsupported dtype " + std::to_string(proto.data_type());
    return false;
  }
  tensor.name = proto.name();
  // The element count is bounded before anything trusts it: every element
  // takes at least a byte of the file (a dim of 0 empties the tensor).
  bool empty = false;
  for (int64_t d : proto.dims()) {
    if (d < 0) {
      error = path + ": has a negative dim (" + std::to_string(d) + ")";
      return false;
    }
    empty |= d == 0;
  }
  uint64_t elements = empty ? 0 : 1;
  for (int64_t d : proto.dims()) {
    if (empty)
      break;
    if (elements > bytes.size() / static_cast<uint64_t>(d)) {
      error = path + ": its shape has more elements than the file has bytes";
      return false;
    }
    elements *= static_cast<uint64_t>(d);
  }
  tensor.shape.assign(proto.dims().begin(), proto.dims().end());
  size_t expected = elements * dlc_dtype_size(tensor.dtype);
  if (proto.has_raw_data()) {
    tensor.bytes.assign(proto.raw_data().begin(), proto.raw_data().end());
  } else {
    switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT:
      copyField<float>(proto.float_data(), tensor.bytes); break;
    case onnx::TensorProto::DOUBLE:
      copyField<double>(proto.double_data(), tensor.bytes); break;
    case onnx::TensorProto::INT64:
      copyField<int64_t>(proto.int64_data(), tensor.bytes); break;
    case onnx::TensorProto::UINT32:
      copyField<uint32_t>(proto.uint64_data(), tensor.bytes); break;
    case onnx::TensorProto::UINT64:
      copyField<uint64_t>(proto.uint64_data(), tensor.bytes); break;
    case onnx::TensorProto::INT32:
      copyField<int32_t>(proto.int32_data(), tensor.bytes); break;
    case onnx::TensorProto::INT16:
      copyField<int16_t>(proto.int32_data(), tensor.bytes); break;
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
      copyField<uint16_t>(proto.int32_data(), tensor.bytes); break;
    case onnx::TensorProto::INT8:
      copyField<int8_t>(proto.int32_data(), tensor.bytes); break;
    default: // UINT8, BOOL
      copyField<uint8_t>(proto.int32_data(), tensor.bytes); break;
    }
  }
  if (tensor.bytes.size() != expected) {
    error = path + ": holds " + std::to_string(tensor.bytes.size()) +
            " bytes, its shape needs " + std::to_string(expected);
    return false;
  }
  return true;
}

static void toTensorProto(const HostTensor &tensor, onnx::TensorProto &proto);

bool writeTensorFile(const std::string &path, const HostTensor &tensor,
                     std::string &error) {
  onnx::TensorProto proto;
  toTensorProto(tensor, proto);
  std::ofstream out(path, std::ios::binary);
  if (!out || !proto.SerializeToOstream(&out)) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

dlc_tensor HostValue::view() {
  if (kind != DLC_VALUE_TENSOR && !present)
    return dlc_tensor{nullptr, dtype, DLC_RANK_ABSENT, nullptr};
  if (!isSequence())
    return tensor.view();
  views.clear();
  for (HostTensor &t : elements)
    views.push_back(t.view());
  sequence = {static_cast<int64_t>(views.size()), views.data()};
  return dlc_tensor{&sequence, dtype, DLC_RANK_SEQUENCE, nullptr};
}

std::string valueTypeName(dlc_value_kind kind, dlc_dtype dtype) {
  std::string name = dlc_dtype_name(dtype);
  switch (kind) {
  case DLC_VALUE_TENSOR:
    return name;
  case DLC_VALUE_SEQUENCE:
    return "seq(" + name + ")";
  case DLC_VALUE_OPTIONAL_TENSOR:
    return "optional(" + name + ")";
  case DLC_VALUE_OPTIONAL_SEQUENCE:
    return "optional(seq(" + name + "))";
  }
  return name;
}

/// The tensors of a SequenceProto as `value`'s elements.
static bool parseSequence(const onnx::SequenceProto &proto,
                          const std::string &path, HostValue &value,
                          std::string &error) {
  if (proto.elem_type() != onnx::SequenceProto::TENSOR &&
      !(proto.elem_type() == onnx::SequenceProto::UNDEFINED &&
        proto.tensor_values_size() == 0)) {
    error = path + ": a sequence of element type " +
            std::to_string(proto.elem_type()) +
            " (dlc-run reads sequences of tensors)";
    return false;
  }
  for (int k = 0; k < proto.tensor_values_size(); ++k) {
    HostTensor t;
    if (!parseTensor(proto.tensor_values(k).SerializeAsString(),
                     path + " (tensor " + std::to_string(k) + ")", t, error))
      return false;
    if (k > 0 && t.dtype != value.elements[0].dtype) {
      error = path + ": tensor " + std::to_string(k) + " is " +
              dlc_dtype_name(t.dtype) + ", tensor 0 " +
              dlc_dtype_name(value.elements[0].dtype);
      return false;
    }
    value.elements.push_back(std::move(t));
  }
  if (!value.elements.empty())
    value.dtype = value.elements[0].dtype;
  return true;
}

bool readValueFile(const std::string &path, dlc_value_kind kind,
                   HostValue &value, std::string &error) {
  value = HostValue();
  value.kind = kind;
  if (kind == DLC_VALUE_TENSOR) {
    if (!readTensorFile(path, value.tensor, error))
      return false;
    value.name = value.tensor.name;
    value.dtype = value.tensor.dtype;
    return true;
  }
  std::string bytes;
  if (!readFileBytes(path, bytes, error))
    return false;
  if (kind == DLC_VALUE_SEQUENCE) {
    onnx::SequenceProto proto;
    if (!proto.ParseFromString(bytes)) {
      error = path + ": not a serialized onnx.SequenceProto";
      return false;
    }
    value.name = proto.name();
    return parseSequence(proto, path, value, error);
  }
  onnx::OptionalProto proto;
  if (!proto.ParseFromString(bytes)) {
    error = path + ": not a serialized onnx.OptionalProto";
    return false;
  }
  value.name = proto.name();
  bool sequence = kind == DLC_VALUE_OPTIONAL_SEQUENCE;
  int32_t expected =
      sequence ? onnx::OptionalProto::SEQUENCE : onnx::OptionalProto::TENSOR;
  value.present = proto.elem_type() != onnx::OptionalProto::UNDEFINED &&
                  (proto.has_tensor_value() || proto.has_sequence_value());
  if (!value.present)
    return true;
  if (proto.elem_type() != expected) {
    error = path + ": an optional of element type " +
            std::to_string(proto.elem_type()) + ", the model takes " +
            (sequence ? "an optional sequence" : "an optional tensor");
    return false;
  }
  if (sequence)
    return parseSequence(proto.sequence_value(), path, value, error);
  if (!parseTensor(proto.tensor_value().SerializeAsString(), path, value.tensor,
                   error))
    return false;
  value.dtype = value.tensor.dtype;
  return true;
}

static void toTensorProto(const HostTensor &tensor, onnx::TensorProto &proto) {
  proto.set_name(tensor.name);
  proto.set_data_type(toOnnxDType(tensor.dtype));
  for (int64_t d : tensor.shape)
    proto.add_dims(d);
  proto.set_raw_data(tensor.bytes.data(), tensor.bytes.size());
}

static void toSequenceProto(const HostValue &value,
                            onnx::SequenceProto &proto) {
  proto.set_name(value.name);
  proto.set_elem_type(onnx::SequenceProto::TENSOR);
  for (const HostTensor &t : value.elements)
    toTensorProto(t, *proto.add_tensor_values());
}

bool writeValueFile(const std::string &path, const HostValue &value,
                    std::string &error) {
  if (value.kind == DLC_VALUE_TENSOR)
    return writeTensorFile(path, value.tensor, error);
  std::string bytes;
  if (value.kind == DLC_VALUE_SEQUENCE) {
    onnx::SequenceProto proto;
    toSequenceProto(value, proto);
    bytes = proto.SerializeAsString();
  } else {
    onnx::OptionalProto proto;
    proto.set_name(value.name);
    if (!value.present) {
      proto.set_elem_type(onnx::OptionalProto::UNDEFINED);
    } else if (value.isSequence()) {
      proto.set_elem_type(onnx::OptionalProto::SEQUENCE);
      toSequenceProto(value, *proto.mutable_sequence_value());
    } else {
      proto.set_elem_type(onnx::OptionalProto::TENSOR);
      toTensorProto(value.tensor, *proto.mutable_tensor_value());
    }
    bytes = proto.SerializeAsString();
  }
  std::ofstream out(path, std::ios::binary);
  if (!out ||
      !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

static HostTensor copyTensor(const dlc_tensor &t, const std::string &name) {
  HostTensor h;
  h.name = name;
  h.dtype = t.dtype;
  h.shape.assign(t.shape, t.shape + t.rank);
  const auto *data = static_cast<const unsigned char *>(t.data);
  int64_t elements = h.elements();
  if (elements > 0)
    h.bytes.assign(data, data + elements * dlc_dtype_size(t.dtype));
  return h;
}

HostValue copyOutput(const dlc_tensor &output, const std::string &name,
                     dlc_value_kind kind) {
  HostValue v;
  v.kind = kind;
  v.name = name;
  v.dtype = output.dtype;
  if (output.rank == DLC_RANK_ABSENT) {
    v.present = false;
  } else if (output.rank == DLC_RANK_SEQUENCE) {
    const auto *sequence = static_cast<const dlc_sequence *>(output.data);
    for (int64_t k = 0; k < sequence->length; ++k)
      v.elements.push_back(copyTensor(sequence->tensors[k], name));
  } else {
    v.tensor = copyTensor(output, name);
  }
  return v;
}

static double halfToDouble(uint16_t h) {
  int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double v;
  if (exponent == 0)
    v = std::ldexp(mantissa, -24);
  else if (exponent == 31)
    v = mantissa ? NAN : INFINITY;
  else
    v = std::ldexp(mantissa + 1024, exponent - 25);
  return sign ? -v : v;
}

double elementAsDouble(const HostTensor &t, int64_t i) {
  const unsigned char *p = t.bytes.data();
  switch (t.dtype) {
  case DLC_FLOAT32: return reinterpret_cast<const float *>(p)[i];
  case DLC_FLOAT64: return reinterpret_cast<const double *>(p)[i];
  case DLC_FLOAT16: return halfToDouble(reinterpret_cast<const uint16_t *>(p)[i]);
  case DLC_INT64: return reinterpret_cast<const int64_t *>(p)[i];
  case DLC_INT32: return reinterpret_cast<const int32_t *>(p)[i];
  case DLC_INT16: return reinterpret_cast<const int16_t *>(p)[i];
  case DLC_INT8: return reinterpret_cast<const int8_t *>(p)[i];
  case DLC_UINT8: case DLC_BOOL: return p[i];
  case DLC_UINT16: return reinterpret_cast<const uint16_t *>(p)[i];
  case DLC_UINT32: return reinterpret_cast<const uint32_t *>(p)[i];
  case DLC_UINT64: return static_cast<double>(reinterpret_cast<const uint64_t *>(p)[i]);
  }
  return 0;
}

std::string stateFileName(const std::string &name) {
  std::string file;
  for (char c : name)
    file += c == '/' ? "%2F" : c == '%' ? "%25" : std::string(1, c);
  return file;
}

bool saveState(dlc_model *model, const std::string &dir, bool gradients,
               std::string &error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = dir + ": cannot create: " + ec.message();
    return false;
  }
  for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
    dlc_state_info info;
    dlc_model_state_info(model, i, &info);
    bool wanted = gradients ? info.role == DLC_STATE_PARAMETER
                            : info.role == DLC_STATE_PARAMETER ||
                                  info.role == DLC_STATE_BUFFER;
    if (!wanted)
      continue;
    HostTensor t;
    t.name = info.name;
    t.dtype = info.dtype;
    t.shape.assign(info.shape, info.shape + info.rank);
    t.bytes.resize(info.bytes);
    dlc_status s = (gradients ? dlc_model_read_gradient : dlc_model_read_state)(
        model, info.name, t.bytes.data(), t.bytes.size());
    if (s != DLC_OK) {
      error = dlc_last_error();
      return false;
    }
    if (!writeTensorFile(dir + "/" + stateFileName(info.name) + ".pb", t,
                         error))
      return false;
  }
  return true;
}

} // namespace dlc::tools
