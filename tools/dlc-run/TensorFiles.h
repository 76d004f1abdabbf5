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
