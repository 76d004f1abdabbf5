//===- OnnxExport.h - a trained model back to ONNX --------------*- C++ -*-===//

#ifndef DLC_TOOLS_DLC_RUN_ONNXEXPORT_H
#define DLC_TOOLS_DLC_RUN_ONNXEXPORT_H

#include "dlc/runtime.h"

#include <string>

namespace dlc::tools {

/// Writes to `path` the ONNX model a training library was compiled from (for
/// `dlc --train --loss`, the inference model; for a model that ends in its
/// loss, that model), with every parameter and buffer initializer set to the
/// loaded model's current state (float32, raw data), and BatchNormalization
/// in inference mode (running statistics). False with `error` when
/// the library carries no source model or a file cannot be written.
bool exportTrainedOnnx(dlc_model *model, const std::string &path,
                       std::string &error);

} // namespace dlc::tools

#endif // DLC_TOOLS_DLC_RUN_ONNXEXPORT_H
