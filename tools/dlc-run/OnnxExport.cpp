//===- OnnxExport.cpp - a trained model back to ONNX ----------------------===//

#include "OnnxExport.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <vector>

namespace dlc::tools {

bool exportTrainedOnnx(dlc_model *model, const std::string &path,
                       std::string &error) {
  size_t size = 0;
  const void *bytes = dlc_model_source_model(model, &size);
  if (!bytes) {
    error = "the library carries no source model to export (compile it with "
            "dlc --train)";
    return false;
  }
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes, static_cast<int>(size))) {
    error = "the library's source model is not a valid ONNX model";
    return false;
  }
  size_t filled = 0;
  for (auto &init : *proto.mutable_graph()->mutable_initializer()) {
    for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
      dlc_state_info info;
      if (dlc_model_state_info(model, i, &info) != DLC_OK ||
          info.name != init.name() ||
          (info.role != DLC_STATE_PARAMETER && info.role != DLC_STATE_BUFFER))
        continue;
      std::vector<char> data(info.bytes);
      if (dlc_model_read_state(model, info.name, data.data(), data.size()) !=
          DLC_OK) {
        error = dlc_last_error();
        return false;
      }
      init.clear_float_data();
      init.set_data_type(onnx::TensorProto::FLOAT);
      init.set_raw_data(data.data(), data.size());
      ++filled;
    }
  }
  // The export is for inference: BatchNormalization exported in training
  // mode is switched to its running statistics (what the library's forward
  // uses), unless its running-statistic outputs are model outputs; Dropout
  // loses its training_mode input, so it is the identity (as in the
  // library's forward) in every runtime.
  std::set<std::string> outputs;
  for (const auto &o : proto.graph().output())
    outputs.insert(o.name());
  for (auto &node : *proto.mutable_graph()->mutable_node()) {
    if (node.op_type() == "Dropout") {
      while (node.input_size() > 2)
        node.mutable_input()->RemoveLast();
      continue;
    }
    if (node.op_type() != "BatchNormalization")
      continue;
    bool exported = false;
    for (int i = 1; i < node.output_size(); ++i)
      exported |= outputs.count(node.output(i)) > 0;
    if (exported)
      continue;
    for (auto &a : *node.mutable_attribute())
      if (a.name() == "training_mode")
        a.set_i(0);
    while (node.output_size() > 1)
      node.mutable_output()->RemoveLast();
  }
  if (filled == 0) {
    error = "no initializer of the source model is trained state";
    return false;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !proto.SerializeToOstream(&out) || !out.flush()) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

} // namespace dlc::tools
