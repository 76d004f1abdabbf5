//===- Importer.h - ONNX model to graph dialect -----------------*- C++ -*-===//

#ifndef DLC_FRONTENDS_ONNX_IMPORTER_H
#define DLC_FRONTENDS_ONNX_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlc::onnx_frontend {

/// A model input or output as the user sees it.
struct TensorSignature {
  TensorSignature() = default;
  TensorSignature(std::string name, std::string dtype,
                  std::vector<int64_t> shape)
      : name(std::move(name)), dtype(std::move(dtype)),
        shape(std::move(shape)) {}

  std::string name;
  std::string dtype; ///< ONNX spelling: "float32", "int64", ...
  std::vector<int64_t> shape; ///< -1: a dim known only at run time
  /// Per dim: the ONNX dim_param naming a dim known only at run time (equal
  /// names are one size, checked by the runtime; an output's dim of an
  /// input's name is that size); "" for static and unnamed dims, and for an
  /// output's dims of other run-time sizes. Empty when none is named.
  std::vector<std::string> dimNames;
  bool hasRuntimeShape() const {
    return std::find(shape.begin(), shape.end(), -1) != shape.end();
  }
  /// Integer inputs that index (class labels): every value must be in
  /// [0, indexLimit), or equal `indexExempt` when set; -1: unchecked.
  int64_t indexLimit = -1;
  std::optional<int64_t> indexExempt;
  /// float32 labels of the hinge loss: every value must be +1 or -1.
  bool signLabels = false;
  /// An ONNX sequence or optional value is several entry tensors in a row,
  /// all named after it: `valueKind` "sequence", "optional_tensor" or
  /// "optional_sequence" ("tensor" for a plain tensor), `part` which one:
  ///  - "present": bool [], 1 when the optional holds a value (first part of
  ///    an optional);
  ///  - "tensor": the optional's tensor (its dims -1 where not static; all
  ///    dims 0 when absent);
  ///  - "values": dtype T, [-1]: the sequence's tensors, each flattened
  ///    row-major, at the offsets the table gives;
  ///  - "table": int64 [-1, kSequenceRowWidth]: per tensor in order, its
  ///    offset in `values` (elements), its rank (<= kSequenceMaxRank) and
  ///    its dims (unused dims 0).
  /// Orders: sequence [values, table]; optional tensor [present, tensor];
  /// optional sequence [present, values, table].
  std::string valueKind = "tensor";
  std::string part;
};

/// Sequence tables (see TensorSignature::part): rows of offset, rank and up
/// to kSequenceMaxRank dims.
inline constexpr int64_t kSequenceMaxRank = 8;
inline constexpr int64_t kSequenceRowWidth = 2 + kSequenceMaxRank;

/// A trained parameter: an initializer that became an argument of the entry
/// function (after the inputs), with its starting value.
struct ParameterSignature {
  TensorSignature tensor;
  std::vector<uint8_t> data; ///< little-endian, row-major, tensor.dtype
  /// A state buffer (BatchNormalization's running statistics in training
  /// mode): an argument marked `graph.buffer`, updated, not differentiated.
  bool buffer = false;
};

/// What an imported model takes and returns, in the order of the entry
/// function's arguments and results.
struct ModelSignature {
  std::string entryName = "forward";
  std::vector<TensorSignature> inputs, outputs;
  /// Whether an input has a dim each call gives (the entry point then takes
  /// their sizes after the inputs).
  bool hasDynamicInputs() const {
    return std::any_of(inputs.begin(), inputs.end(),
                       [](const TensorSignature &t) {
                         return t.hasRuntimeShape();
                       });
  }
  std::string producer; ///< producer_name + version from the file
  /// With ImportOptions::trainParameters: the arguments after the inputs.
  std::vector<ParameterSignature> parameters;
  /// Float initializers kept constant (frozen, or only BatchNormalization's
  /// running statistics).
  std::vector<TensorSignature> frozen;
  /// With ImportOptions::trainParameters: the serialized ModelProto with the
  /// data of `parameters` left out (names, dtypes and dims kept), so that a
  /// training library can write the model back with trained values.
  std::string strippedModel;
};

/// Options of the import.
struct ImportOptions {
  /// Graph inputs to bake in as constants: name -> serialized TensorProto
  /// file. For inputs that are really parameters (a Reshape's shape, a Clip's
  /// bounds), which a static-shape compiler needs at compile time.
  std::vector<std::pair<std::string, std::string>> frozenInputs;
  /// Shapes pinned at compile time for inputs with symbolic dims: input
  /// name -> dims (--input-shape), and dim_param name -> size (--dim, every
  /// dim of that name). Each must agree with the declared dims and with each
  /// other; a symbolic dim left unpinned is an error.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  std::map<std::string, int64_t> dimValues;
  /// For training: float32 initializers become arguments of the entry
  /// function (after the inputs, marked `graph.parameter` with their name),
  /// except those matching a glob of `freezePatterns` and those that only
  /// feed BatchNormalization's running mean and variance: those are
  /// `graph.buffer` arguments when the BatchNormalization is in training mode
  /// (its updated value becomes an extra result marked
  /// `graph.buffer_update`), constants otherwise.
  bool trainParameters = false;
  std::vector<std::string> freezePatterns;
};

/// Reads `path` and builds one func.func in the graph dialect. On failure
/// returns null and writes every problem found to `errors`: a file that cannot
/// be read or parsed, every unsupported node (name, op_type, opset) at once,
/// or a node whose attributes dlc cannot honour.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &context,
                                                 llvm::StringRef path,
                                                 ModelSignature &signature,
                                                 std::string &errors,
                                                 const ImportOptions &options = {});

/// importOnnxFile for a model already in memory: `bytes` is the serialized
/// ModelProto; `path` names it in messages, and its folder is where external
/// data is looked up.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxBytes(mlir::MLIRContext &context, llvm::StringRef bytes,
                llvm::StringRef path, ModelSignature &signature,
                std::string &errors, const ImportOptions &options = {});

/// One row of the supported-op table: op type and the opset range handled.
struct SupportedOp {
  std::string opType;
  std::string family; ///< the importer file: NN, Math, Tensor, ...
  int sinceOpset;
  std::string notes;
};
std::vector<SupportedOp> supportedOps();

} // namespace dlc::onnx_frontend

#endif // DLC_FRONTENDS_ONNX_IMPORTER_H
