//===- GraphGradient.h - gradient rules of graph ops ------------*- C++ -*-===//
//
// The op interface that reverse-mode differentiation (graph-autodiff) asks for
// each op's rule, and GradientBuilder, the small vocabulary rules are written
// in: graph ops with inferred types, constants, and the reductions that undo
// numpy broadcasting.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DIALECTS_GRAPH_GRAPHGRADIENT_H
#define DLC_DIALECTS_GRAPH_GRAPHGRADIENT_H

#include "dialects/graph/GraphDialect.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace dlc::graph {

/// Builds backward ops at one location (the forward op's, so diagnostics and
/// profiles name the ONNX node whose gradient they compute). Every method
/// takes and returns ranked tensors; shapes are the caller's responsibility.
class GradientBuilder {
public:
  GradientBuilder(mlir::OpBuilder &builder, mlir::Location loc)
      : b(builder), loc(loc) {}

  mlir::OpBuilder &b;
  mlir::Location loc;

  static mlir::RankedTensorType typeOf(mlir::Value v) {
    return mlir::cast<mlir::RankedTensorType>(v.getType());
  }

  /// A rank-0 constant of `elem` (float or integer).
  mlir::Value scalar(mlir::Type elem, double value);
  /// A constant of `type` with every element `value`.
  mlir::Value splat(mlir::RankedTensorType type, double value);
  mlir::Value zerosLike(mlir::Value v) { return splat(typeOf(v), 0.0); }
  /// An int64 constant of `shape` holding `values`.
  mlir::Value int64Constant(llvm::ArrayRef<int64_t> shape,
                            llvm::ArrayRef<int64_t> values);
  /// A constant of `shape` and element type `elem` holding `values`.
  mlir::Value floatConstant(llvm::ArrayRef<int64_t> shape, mlir::Type elem,
                            llvm::ArrayRef<double> values);

  // Elementwise, numpy broadcasting.
  mlir::Value add(mlir::Value l, mlir::Value r);
  mlir::Value sub(mlir::Value l, mlir::Value r);
  mlir::Value mul(mlir::Value l, mlir::Value r);
  mlir::Value div(mlir::Value l, mlir::Value r);
  mlir::Value pow(mlir::Value l, mlir::Value r);
  /// `x * c` for a float constant c (x unchanged when c == 1).
  mlir::Value scale(mlir::Value x, double c);
  mlir::Value unary(mlir::Value x, llvm::StringRef fn, float alpha = 0,
                    float beta = 0, float gamma = 0);
  mlir::Value neg(mlir::Value x) { return unary(x, "neg"); }
  mlir::Value greater(mlir::Value l, mlir::Value r);
  mlir::Value greaterEqual(mlir::Value l, mlir::Value r);
  mlir::Value lessEqual(mlir::Value l, mlir::Value r);
  mlir::Value equal(mlir::Value l, mlir::Value r);
  mlir::Value logicalAnd(mlir::Value l, mlir::Value r);
  mlir::Value where(mlir::Value cond, mlir::Value x, mlir::Value y);
  /// `g` where `cond` holds, zero elsewhere.
  mlir::Value mask(mlir::Value cond, mlir::Value g);

  // Data movement.
  mlir::Value reshape(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  mlir::Value transpose(mlir::Value x, llvm::ArrayRef<int64_t> perm);
  mlir::Value expand(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  mlir::Value slice(mlir::Value x, llvm::ArrayRef<int64_t> starts,
                    llvm::ArrayRef<int64_t> sizes,
                    llvm::ArrayRef<int64_t> steps);
  /// ONNX-order pads [begin_0.., end_0..] with a constant.
  mlir::Value pad(mlir::Value x, llvm::ArrayRef<int64_t> pads, double value);
  mlir::Value concat(mlir::ValueRange xs, int64_t axis);
  mlir::Value matmul(mlir::Value l, mlir::Value r, bool transposeLhs,
                     bool transposeRhs);

  // Reductions.
  mlir::Value reduce(mlir::Value x, llvm::StringRef kind,
                     llvm::ArrayRef<int64_t> axes, bool keepdims);
  mlir::Value sum(mlir::Value x, llvm::ArrayRef<int64_t> axes, bool keepdims) {
    return reduce(x, "sum", axes, keepdims);
  }
  /// Sums `grad` down to `type`'s shape: undoes numpy broadcasting (leading
  /// dims added, size-1 dims stretched).
  mlir::Value sumToShape(mlir::Value grad, mlir::RankedTensorType type);
  /// Stretches a reduction's gradient (reduced `axes` kept or dropped) back
  /// over the reduced input's shape.
  mlir::Value broadcastReduced(mlir::Value grad, mlir::RankedTensorType input,
                               llvm::ArrayRef<int64_t> axes, bool keepdims);
};

/// Reverse-mode differentiation: the gradients of `y`, seeded with `seed`
/// (y's type; ones for a scalar loss), with respect to each of `xs`, built at
/// the builder's insertion point from the ops of y's block that precede it.
/// Values that do not depend on an x carry no gradient; an x the output
/// does not depend on gets zeros. Every op between an x and y without a rule
/// is reported at its location and nothing is returned.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildReverseGradients(mlir::OpBuilder &builder, mlir::Value y, mlir::Value seed,
                      mlir::ValueRange xs);

/// The functions of graph.unary and the kinds of graph.reduce that have a
/// gradient (the others report themselves through hasGradientRule).
llvm::ArrayRef<llvm::StringLiteral> differentiableUnaryFunctions();
llvm::ArrayRef<llvm::StringLiteral> differentiableReductions();

/// Attaches the gradient rules of every op family to the graph dialect's ops.
void attachGradientRules(mlir::MLIRContext &context);
void attachElementwiseGradients(mlir::MLIRContext &context);
void attachNNGradients(mlir::MLIRContext &context);
void attachRecurrentGradients(mlir::MLIRContext &context);
void attachTensorGradients(mlir::MLIRContext &context);

} // namespace dlc::graph

#include "dialects/graph/GraphGradient.h.inc"

namespace dlc::graph {

/// A rule written as a function of the concrete op; attached with
/// `Op::attachInterface<GradientRule<Op, fn>>(context)`. `operandGrads`
/// arrives sized to the op's operands, all null.
template <typename OpT>
using GradientRuleFn = mlir::LogicalResult (*)(
    OpT, GradientBuilder &, llvm::ArrayRef<mlir::Value>,
    llvm::SmallVectorImpl<mlir::Value> &);

template <typename OpT, GradientRuleFn<OpT> Fn>
struct GradientRule
    : GradientOpInterface::ExternalModel<GradientRule<OpT, Fn>, OpT> {
  mlir::LogicalResult
  buildGradients(mlir::Operation *op, GradientBuilder &builder,
                 llvm::ArrayRef<mlir::Value> resultGrads,
                 llvm::SmallVectorImpl<mlir::Value> &operandGrads) const {
    return Fn(mlir::cast<OpT>(op), builder, resultGrads, operandGrads);
  }
};

} // namespace dlc::graph

#endif // DLC_DIALECTS_GRAPH_GRAPHGRADIENT_H
