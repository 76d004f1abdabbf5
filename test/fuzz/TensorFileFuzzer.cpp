//===- TensorFileFuzzer.cpp - libFuzzer target: tensor files --------------===//
//
// Bytes as a tensor file of dlc-run (a serialized onnx.TensorProto): parse,
// then read every element as dlc-run's comparison does. Errors are fine; a
// crash or a sanitizer report is a finding.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc-run/TensorFiles.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dlc::tools::HostTensor tensor;
  std::string error;
  if (!dlc::tools::parseTensor(
          std::string(reinterpret_cast<const char *>(data), size), "fuzz.pb",
          tensor, error))
    return 0;
  double sum = 0;
  for (int64_t i = 0; i < tensor.elements(); ++i)
    sum += dlc::tools::elementAsDouble(tensor, i);
  // Keep the reads.
  volatile double sink = sum;
  (void)sink;
  return 0;
}
