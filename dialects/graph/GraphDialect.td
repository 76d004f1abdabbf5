//===- GraphDialect.td - the graph dialect -----------------*- tablegen -*-===//
//
// The graph dialect says what a model computes: value-semantic tensor ops with
// static shapes, one op per model-level operation (conv2d, matmul, softmax...).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_GRAPH_DIALECT
#define DLC_GRAPH_DIALECT

include "mlir/IR/OpBase.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let summary = "What a neural network computes, op by op, on value tensors";
  let description = [{
    Ops of this dialect are imported from ONNX (or built by the C++ DSL). They
    carry the model's attributes as given, verify them, infer their result
    shapes and fold when their operands are constants. Constants are
    `arith.constant` ops.
  }];
  let cppNamespace = "::dlc::graph";
  let hasConstantMaterializer = 1;
}

#endif // DLC_GRAPH_DIALECT
