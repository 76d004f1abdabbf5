//===- Passes.td - graph-stage passes ----------------------*- tablegen -*-===//

#ifndef DLC_PASSES_GRAPH
#define DLC_PASSES_GRAPH

include "mlir/Pass/PassBase.td"

def InferShapes : Pass<"graph-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Refines every dynamic or stale result type to the inferred one";
  let description = [{
    Graph ops infer their result types from their operands. After an input
    type has been made static (e.g. a batch size fixed on the command line),
    this pass propagates the static shapes through the function, op by op, and
    updates the function's signature.
  }];
}

def FoldBatchNorm : Pass<"graph-fold-batch-norm", "mlir::func::FuncOp"> {
  let summary = "Folds inference batch_norm into the preceding conv2d";
  let description = [{
    batch_norm(conv(x, W) + b) = conv(x, W * s) + (b - mean) * s + beta with
    s = gamma / sqrt(var + eps), when W and the BN parameters are constants and
    the conv has no other user. Weights are rewritten at compile time.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def TileDynamicBatch : Pass<"graph-tile-dynamic-batch", "mlir::func::FuncOp"> {
  let summary = "Runs batch-parallel ops on a batch known only at run time a sample at a time";
  let description = [{
    Convolutions, pools, global pools, batch norms, reshapes that keep dim 0
    and the elementwise ops after them compute each sample of dim 0 from that
    sample alone. Where dim 0 is the only dynamic dim of their tensors, each
    connected run of them becomes one scf.for over the batch: the body slices
    one sample of each input, runs the same ops on static [1, ...] tensors
    and inserts the sample of each result used after the loop. Later passes
    see only static ops in the body; elementwise ops join a loop but do not
    start one (on their own they lower for dynamic sizes directly). Loops
    with a matmul (rows against a static matrix), or whose convolutions do
    under 2^24 FLOPs per sample, take tiles of `rows` samples while whole
    ones remain, then tiles of `samples`, then the rest one at a time; the
    others run a sample at a time.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", "16",
           "Samples per tile of a loop with a matmul (a multiple of the "
           "register tile's rows)">,
    Option<"samples", "samples", "int64_t", "8",
           "Samples per tile after the tiles of `rows` (1: none)">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def Autodiff : Pass<"graph-autodiff", "mlir::ModuleOp"> {
  let options = [
    Option<"function", "function", "std::string", "\"\"",
           "Differentiate only this function (default: every function with "
           "graph.parameter arguments)">,
  ];
  let summary = "Reverse-mode differentiation: the gradient of the loss with "
                "respect to every parameter";
  let description = [{
    For every function whose arguments carry `graph.parameter` (the name of a
    trained tensor), adds `<name>_grad` with the same arguments. It returns
    the function's first result, which must be a float scalar (the loss),
    then d loss / d parameter for each parameter argument in order, each
    result marked `graph.gradient_of`, then the function's results marked
    `graph.buffer_update` (new values of `graph.buffer` arguments, e.g.
    BatchNorm running statistics), which leave the forward function.
    Gradients come from each op's
    GradientOpInterface rule, in graph ops; fan-out gradients are summed and
    values that do not depend on a parameter (integer paths, constants) carry
    none. Every op between a parameter and the loss without a rule is
    reported, all at once, and nothing is built.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def AppendLoss : Pass<"graph-append-loss", "mlir::ModuleOp"> {
  let summary = "Adds `<function>_loss`: a loss of the function's first "
                "result against a new `labels` argument";
  let description = [{
    For `dlc model.onnx --train --loss=...`: `@forward` stays the inference
    model; `@forward_loss` takes its inputs, then `labels` (int64 class
    indices for cross-entropy and nll, the first result's type otherwise),
    then its parameters, and returns the mean loss (PyTorch's definitions
    and default reduction), followed by the buffer updates of `@forward`.
  }];
  let options = [
    Option<"loss", "loss", "std::string", "\"mse\"",
           "mse, l1, huber, bce, bce-with-logits, cross-entropy, nll, "
           "kl-div or hinge">,
    Option<"function", "function", "std::string", "\"forward\"",
           "The model function">,
    Option<"delta", "delta", "double", "1.0", "Huber's delta">,
    Option<"labelSmoothing", "label-smoothing", "double", "0.0",
           "Cross-entropy label smoothing">,
    Option<"ignoreIndex", "ignore-index", "int64_t", "-100",
           "Class index that contributes nothing (cross-entropy, nll)">,
    ListOption<"classWeights", "class-weights", "double",
               "Per-class weights (cross-entropy, nll)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def ApplyOptimizer : Pass<"graph-apply-optimizer", "mlir::ModuleOp"> {
  let summary = "Turns `<name>_grad` into `train_step`: loss, gradients and "
                "the optimizer's update of parameters and state";
  let description = [{
    Takes the function graph-autodiff made and gives it the learning rate (a
    float32 scalar argument after the model inputs), the optimizer's state
    (moments per parameter, then a float32 step counter, appended to the
    arguments) and returns: the loss, every updated state tensor (parameters
    and buffers first, in argument order), then the raw gradients (before
    clipping and weight decay). State arguments and results carry `graph.state` = {name,
    role, parameter}. Update rules follow PyTorch's optimizers (torch.optim
    SGD with momentum/nesterov, Adam, AdamW, RMSprop, Adagrad) and
    clip_grad_norm_ / clip_grad_value_.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "sgd, adam, adamw, rmsprop or adagrad">,
    Option<"momentum", "momentum", "double", "0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", "false", "SGD Nesterov momentum">,
    Option<"beta1", "beta1", "double", "0.9", "Adam's first-moment decay">,
    Option<"beta2", "beta2", "double", "0.999", "Adam's second-moment decay">,
    Option<"eps", "eps", "double", "-1.0",
           "Denominator epsilon (default: 1e-8, Adagrad 1e-10)">,
    Option<"alpha", "alpha", "double", "0.99", "RMSprop's smoothing constant">,
    Option<"weightDecay", "weight-decay", "double", "0.0",
           "L2 penalty added to the gradient (decoupled for adamw)">,
    Option<"clipGradNorm", "clip-grad-norm", "double", "0.0",
           "Scale gradients to this global L2 norm when above it (0: off)">,
    Option<"clipGradValue", "clip-grad-value", "double", "0.0",
           "Clamp gradients to [-v, v] (0: off)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def NumberRuntimeChecks : Pass<"graph-number-runtime-checks", "mlir::ModuleOp"> {
  let summary = "Numbers the run-time checks of a module for its manifest";
  let description = [{
    Gives every graph.check_indices a `site`: 1 + the position of its message
    among the module's distinct messages (copies of one check, as in a
    training library's forward and step functions, share it). The messages,
    in that order, become the module's `dlc.runtime_checks` (an array of
    strings), which the manifest carries so that the runtime can say which
    check failed; and it declares `dlc_report_error(i32)`, which the lowered
    checks call.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

#endif // DLC_PASSES_GRAPH
