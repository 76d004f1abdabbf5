//===- TensorFiles.h - ONNX TensorProto files as host tensors ---*- C++ -*-===//

#ifndef DLC_TOOLS_DLC_RUN_TENSORFILES_H
#define DLC_TOOLS_DLC_RUN_TENSORFILES_H

#include "dlc/runtime.h"

#include <string>
#include <vector>

namespace dlc::tools {

/// A tensor that owns its storage.
struct HostTensor {
  std::string name;
  dlc_dtype dtype = DLC_FLOAT32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  /// The element count; -1 when it overflows int64 (a shape no file holds,
  /// from --random --dim).
  int64_t elements() const;
  dlc_tensor view();
};

/// An ONNX value that owns its storage: a tensor, a sequence of tensors, or
/// an optional of either.
struct HostValue {
  dlc_value_kind kind = DLC_VALUE_TENSOR;
  std::string name;
  dlc_dtype dtype = DLC_FLOAT32;    ///< a sequence's or optional's elements'
  bool present = true;              ///< false: an absent optional
  HostTensor tensor;                ///< a tensor's, an optional tensor's
  std::vector<HostTensor> elements; ///< a sequence's tensors

  HostValue() = default;
  explicit HostValue(HostTensor t)
      : name(t.name), dtype(t.dtype), tensor(std::move(t)) {}
  bool isSequence() const {
    return kind == DLC_VALUE_SEQUENCE || kind == DLC_VALUE_OPTIONAL_SEQUENCE;
  }
  /// The value as dlc_model_run takes it (runtime.h's rank sentinels for
  /// sequences and absent optionals); valid until the value changes or
  /// moves.
  dlc_tensor view();

private:
  std::vector<dlc_tensor> views;
  dlc_sequence sequence = {0, nullptr};
};

/// Reads a serialized onnx.TensorProto, onnx.SequenceProto of tensors or
/// onnx.OptionalProto (.pb) as a value of `kind` (the model's: the files do
/// not say which they are). False with `error` on failure.
bool readValueFile(const std::string &path, dlc_value_kind kind,
                   HostValue &value, std::string &error);
/// Writes `value` as a serialized onnx.TensorProto, SequenceProto or
/// OptionalProto.
bool writeValueFile(const std::string &path, const HostValue &value,
                    std::string &error);
/// A copy of an output of dlc_model_run_alloc of `kind` named `name`.
HostValue copyOutput(const dlc_tensor &output, const std::string &name,
                     dlc_value_kind kind);
/// The value's type as dlc-run shows it: "float32", "seq(float32)",
/// "optional(float32)", "optional(seq(float32))".
std::string valueTypeName(dlc_value_kind kind, dlc_dtype dtype);

/// Reads a serialized onnx.TensorProto (.pb). False with `error` on failure.
bool readTensorFile(const std::string &path, HostTensor &tensor,
                    std::string &error);
/// Parses the bytes of a serialized onnx.TensorProto; `path` (the file they
/// came from) starts the error message.
bool parseTensor(const std::string &bytes, const std::string &path,
                 HostTensor &tensor, std::string &error);
/// Writes `tensor` as a serialized onnx.TensorProto.
bool writeTensorFile(const std::string &path, const HostTensor &tensor,
                     std::string &error);

/// The file name (without .pb) of a training library's state tensor, as
/// `dlc-run --save-params` writes it: '/' and '%' escaped as %2F and %25, so
/// that every name has its own file.
std::string stateFileName(const std::string &name);

/// Writes every Parameter and Buffer state tensor of a training library, or
/// with `gradients` every Parameter's last gradient, as DIR/<name>.pb
/// (creating DIR). False with `error` on failure.
bool saveState(dlc_model *model, const std::string &dir, bool gradients,
               std::string &error);

/// Element `i` of a tensor as a double (any dtype).
double elementAsDouble(const HostTensor &tensor, int64_t i);

} // namespace dlc::tools

#endif // DLC_TOOLS_DLC_RUN_TENSORFILES_H
