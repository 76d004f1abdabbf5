//===- GraphGradient.td - the gradient rule of a graph op --*- tablegen -*-===//
//
// Reverse-mode differentiation asks each op for its rule: given the gradients
// of the loss with respect to the op's results, build the gradients with
// respect to its operands, in graph ops, so that the backward graph is fused,
// tiled and lowered like the forward one. Rules are attached per op family
// (dialects/graph/gradients/).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_GRAPH_GRADIENT
#define DLC_GRAPH_GRADIENT

include "mlir/IR/OpBase.td"

def Graph_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::dlc::graph";
  let description = [{
    The vector-Jacobian product of an op. `resultGrads` has one entry per
    result, null where no gradient flows back (an unused result).
    `operandGrads` receives one entry per operand, null for operands that take
    no gradient (integer indices, attributes passed as tensors). Each operand
    gradient has exactly the operand's type: broadcasting is undone by the
    rule.
  }];
  let methods = [
    InterfaceMethod<[{
        Whether this op has a rule (some ops of a family have none, e.g. a
        graph.unary function without a derivative); `why` says what is
        missing when it has not.
      }], "bool", "hasGradientRule", (ins "std::string &":$why), [{}], [{
        return true;
      }]>,
    InterfaceMethod<[{
        Builds the operand gradients at the builder's insertion point.
      }], "::mlir::LogicalResult", "buildGradients",
      (ins "::dlc::graph::GradientBuilder &":$builder,
           "::mlir::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // DLC_GRAPH_GRADIENT
