//===- GraphOps.td - ops of the graph dialect --------------*- tablegen -*-===//

#ifndef DLC_GRAPH_OPS
#define DLC_GRAPH_OPS

include "dialects/graph/GraphDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every graph op is pure and infers its result type from its operands and
// attributes; a less static declared type is accepted (shape inference refines
// it). Unary ops keep their operand's type.
class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic,
         !listconcat(traits, [Pure, InferTypeOpAdaptorWithIsCompatible])>;

def Graph_FloatTensor : RankedTensorOf<[F16, F32, F64]>;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// `unsigned_ints` makes integer division, remainder, max and min treat their
// (signless) integer operands as unsigned, as ONNX's uint types are.
class Graph_BinaryOp<string mnemonic, string what>
    : Graph_Op<mnemonic, []> {
  let summary = what # " with numpy-style broadcasting";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$unsigned_ints);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_AddOp : Graph_BinaryOp<"add", "Elementwise sum">;
def Graph_SubOp : Graph_BinaryOp<"sub", "Elementwise difference">;
def Graph_MulOp : Graph_BinaryOp<"mul", "Elementwise product">;
def Graph_DivOp : Graph_BinaryOp<"div", "Elementwise quotient (integers round toward zero)">;
def Graph_PowOp : Graph_BinaryOp<"pow", "Elementwise power">;
def Graph_MaxOp : Graph_BinaryOp<"max", "Elementwise maximum (NaN propagates)">;
def Graph_MinOp : Graph_BinaryOp<"min", "Elementwise minimum (NaN propagates)">;
def Graph_ModOp : Graph_BinaryOp<"mod", "Elementwise remainder; `fmod` takes the dividend's sign, else the divisor's"> {
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$unsigned_ints,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
  let hasFolder = 0;
}

def Graph_ShiftLeftOp : Graph_BinaryOp<"shift_left", "Bitwise shift left"> {
  let hasFolder = 0;
}
def Graph_ShiftRightOp : Graph_BinaryOp<"shift_right", "Logical (unsigned) shift right"> {
  let hasFolder = 0;
}

// Comparisons and logic: bool (i1) results, numpy broadcasting.
class Graph_CompareOp<string mnemonic, string what> : Graph_Op<mnemonic, []> {
  let summary = what;
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}
def Graph_EqualOp : Graph_CompareOp<"equal", "lhs == rhs">;
def Graph_LessOp : Graph_CompareOp<"less", "lhs < rhs">;
def Graph_LessEqualOp : Graph_CompareOp<"less_equal", "lhs <= rhs">;
def Graph_GreaterOp : Graph_CompareOp<"greater", "lhs > rhs">;
def Graph_GreaterEqualOp : Graph_CompareOp<"greater_equal", "lhs >= rhs">;
def Graph_AndOp : Graph_CompareOp<"and", "Logical and of bools">;
def Graph_OrOp : Graph_CompareOp<"or", "Logical or of bools">;
def Graph_XorOp : Graph_CompareOp<"xor", "Logical xor of bools">;

def Graph_WhereOp : Graph_Op<"where"> {
  let summary = "condition ? x : y, with broadcasting of all three";
  let arguments = (ins AnyRankedTensor:$condition, AnyRankedTensor:$x,
                       AnyRankedTensor:$y);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

// Elementwise math on one tensor, keeping its type. `fn` names the function
// (see the lowering's table): abs, neg, exp, log, sqrt, reciprocal, floor,
// ceil, round, sign, sin, cos, tan, asin, acos, atan, sinh, cosh, asinh,
// acosh, atanh, erf, softplus, softsign, elu, selu, celu, hard_sigmoid,
// hard_swish, thresholded_relu, shrink, not, identity. `alpha`, `beta` and
// `gamma` are the function's parameters where it has some.
def Graph_UnaryOp : Graph_Op<"unary"> {
  let summary = "A named elementwise function";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$fn,
                       DefaultValuedAttr<F32Attr, "0.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.0f">:$beta,
                       DefaultValuedAttr<F32Attr, "0.0f">:$gamma);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

class Graph_UnaryOp<string mnemonic, string what, dag attrs = (ins)>
    : Graph_Op<mnemonic, []> {
  let summary = what;
  let arguments = !con((ins Graph_FloatTensor:$input), attrs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_ReluOp : Graph_UnaryOp<"relu", "max(x, 0)">;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "Hyperbolic tangent">;
def Graph_LeakyReluOp
    : Graph_UnaryOp<"leaky_relu", "x if x >= 0 else alpha * x",
                    (ins F32Attr:$alpha)>;
def Graph_ClipOp
    : Graph_UnaryOp<"clip", "min(max(x, min), max)",
                    (ins F32Attr:$min, F32Attr:$max)> {
  let hasVerifier = 1;
}

def Graph_SoftmaxOp : Graph_Op<"softmax"> {
  let summary = "exp(x) / sum(exp(x)) along one axis";
  let arguments = (ins Graph_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

def Graph_MatmulOp : Graph_Op<"matmul"> {
  let summary = "Matrix product, batched over leading dims with broadcasting";
  let description = [{
    `lhs` is [..., M, K] (or [..., K, M] with `transpose_lhs`), `rhs` is
    [..., K, N] (or [..., N, K] with `transpose_rhs`). Leading (batch) dims
    broadcast as in numpy.
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasCanonicalizer = 1;
}

def Graph_Conv2dOp : Graph_Op<"conv2d"> {
  let summary = "2-D cross-correlation, NCHW input, FCHW filter, grouped";
  let description = [{
    `pads` is [top, left, bottom, right] (ONNX order). `bias`, when present,
    has one element per output channel.
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$filter,
                       Optional<Graph_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input `,` $filter (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
}

def Graph_Col2ImOp : Graph_Op<"col2im"> {
  let summary = "Sums the columns of a transposed convolution into its output";
  let description = [{
    `columns` is [F * KH * KW, N * H * W]: for every input pixel, what it
    contributes to each output channel through each kernel tap (the product
    W^T x X of a transposed convolution). Output [N, F, OH, OW] sums, at each
    position, the taps that land there: oy = iy * stride - pad + kh * dilation.
    Attributes: `batch` N, `input_size` [H, W], `kernel_shape`, `strides`,
    `dilations`, `pads` [top, left] and `output_size` [OH, OW].
  }];
  let arguments = (ins Graph_FloatTensor:$columns, I64Attr:$batch,
                       DenseI64ArrayAttr:$input_size,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$output_size);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$columns attr-dict `:` functional-type(operands, results)";
}

def Graph_BatchNormOp : Graph_Op<"batch_norm", [SameOperandsAndResultElementType]> {
  let summary = "Inference batch normalization over dim 1 (channels)";
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Graph_FloatTensor:$bias, Graph_FloatTensor:$mean,
                       Graph_FloatTensor:$variance, F32Attr:$epsilon);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

class Graph_Pool2dOp<string mnemonic, string what, dag extra>
    : Graph_Op<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = what;
  let description = [{
    NCHW input. `pads` is [top, left, bottom, right]; with `ceil_mode` the
    output size rounds up and windows may run past the bottom/right padding.
  }];
  let arguments = !con((ins Graph_FloatTensor:$input,
                            DenseI64ArrayAttr:$kernel_shape,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations,
                            DefaultValuedAttr<BoolAttr, "false">:$ceil_mode),
                       extra);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_MaxPool2dOp : Graph_Pool2dOp<"max_pool2d", "Max over windows", (ins)>;
def Graph_AvgPool2dOp
    : Graph_Pool2dOp<"avg_pool2d", "Mean over windows",
                     (ins DefaultValuedAttr<BoolAttr, "false">:$count_include_pad)>;

def Graph_MaxPool2dIndicesOp : Graph_Op<"max_pool2d_indices"> {
  let summary = "Where max_pool2d's maximum of each window is: its flat index (int64) in the input";
  let description = [{
    The window's first maximum in row-major order (padding never counts).
    Row major: ((n * C + c) * H + h) * W + w; with `column_major` (ONNX's
    storage_order 1): ((n * C + c) * W + w) * H + h.
  }];
  let arguments = (ins Graph_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$column_major);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_GlobalAvgPoolOp
    : Graph_Op<"global_avg_pool", [SameOperandsAndResultElementType]> {
  let summary = "Mean over every dim after the first two";
  let arguments = (ins Graph_FloatTensor:$input);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Graph_ReshapeOp : Graph_Op<"reshape", [SameOperandsAndResultElementType]> {
  let summary = "Same elements, new static shape";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose", [SameOperandsAndResultElementType]> {
  let summary = "Permutes dims: result dim i is input dim perm[i]";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_ConcatOp : Graph_Op<"concat", [SameOperandsAndResultElementType]> {
  let summary = "Joins tensors along one axis";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_PadOp : Graph_Op<"pad", [SameOperandsAndResultElementType]> {
  let summary = "Padding; pads = [begin_0.., end_0..] as in ONNX (negative crops)";
  let description = [{
    `mode` "constant" fills with `value`; "edge" repeats the border element;
    "reflect" mirrors the input without repeating the border (pads smaller
    than the dim); "wrap" continues periodically (the far border's elements).
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$pads,
                       F64Attr:$value,
                       DefaultValuedAttr<StrAttr, "\"constant\"">:$mode);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions and normalization
//===----------------------------------------------------------------------===//

def Graph_ReduceOp : Graph_Op<"reduce"> {
  let summary = "Reduction over `axes`: sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square";
  let arguments = (ins Graph_FloatTensor:$input, StrAttr:$kind,
                       DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_ArgReduceOp : Graph_Op<"arg_reduce"> {
  let summary = "Index (int64) of the max or min along `axis`";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind, I64Attr:$axis,
                       BoolAttr:$keepdims, BoolAttr:$select_last_index);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_LayerNormOp : Graph_Op<"layer_norm"> {
  let summary = "(x - mean) / sqrt(var + eps) * scale + bias over dims >= axis";
  let description = [{
    Also returns the mean and 1 / sqrt(var + eps), with the normalized dims
    kept as size 1.
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$scale,
                       Optional<Graph_FloatTensor>:$bias, I64Attr:$axis,
                       F32Attr:$epsilon);
  let results = (outs Graph_FloatTensor:$result, Graph_FloatTensor:$mean,
                      Graph_FloatTensor:$inv_std_dev);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_LogSoftmaxOp : Graph_Op<"log_softmax"> {
  let summary = "x - max - log(sum(exp(x - max))) along one axis";
  let arguments = (ins Graph_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Indexing and shape
//===----------------------------------------------------------------------===//

def Graph_GatherOp : Graph_Op<"gather"> {
  let summary = "Takes slices of `data` along `axis` at `indices` (negative from the end)";
  let arguments = (ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

// Not pure: it has an effect (a report) and no result, so nothing removes
// it as dead. Graph passes leave it where the importer put it.
def Graph_CheckIndicesOp
    : Op<Graph_Dialect, "check_indices", [MemoryEffects<[MemWrite]>]> {
  let summary = "Reports `message` at run time when an element of `indices` "
                "is outside [lower, upper)";
  let description = [{
    The precondition of an op that indexes with `indices` (Gather's), made
    explicit: the indexing op itself clamps so that it never reads out of
    bounds, and this op makes the call fail with `message` instead of
    returning the clamped result. `site` numbers the distinct messages of a
    module (graph-number-runtime-checks); the manifest lists them in that
    order, and the generated code reports the failing site's number.
  }];
  let arguments = (ins RankedTensorOf<[AnyInteger]>:$indices, I64Attr:$lower,
                       I64Attr:$upper, StrAttr:$message,
                       OptionalAttr<I32Attr>:$site);
  let assemblyFormat = "$indices attr-dict `:` type($indices)";
  let hasVerifier = 1;
}

def Graph_GatherElementsOp : Graph_Op<"gather_elements"> {
  let summary = "result[i] = data[i with dim `axis` replaced by indices[i]]";
  let arguments = (ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_ScatterElementsOp : Graph_Op<"scatter_elements"> {
  let summary = "data with data[i with dim `axis` = indices[i]] (reduction)= updates[i]";
  let description = [{
    `reduction` is none (overwrite; with repeated indices the last update
    wins), add, mul, max or min.
  }];
  let arguments = (ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                       AnyRankedTensor:$updates, I64Attr:$axis,
                       StrAttr:$reduction);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_GatherNDOp : Graph_Op<"gather_nd"> {
  let summary = "Slices of data addressed by index tuples (the last dim of indices)";
  let description = [{
    indices [b..., i..., q] addresses data [b..., d_0..d_q-1, rest...] after the
    first `batch_dims` dims, which both share: the result is
    [b..., i..., rest...].
  }];
  let arguments = (ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                       I64Attr:$batch_dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_ScatterNDOp : Graph_Op<"scatter_nd"> {
  let summary = "data with the slices addressed by index tuples replaced (or combined) by updates";
  let arguments = (ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                       AnyRankedTensor:$updates, StrAttr:$reduction);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_EinsumOp : Graph_Op<"einsum"> {
  let summary = "Einstein summation: the product of the inputs, summed over the letters the output lacks";
  let description = [{
    `equation` is explicit, without ellipses: "ab,bc->ac". A letter repeated
    within one input reads its diagonal.
  }];
  let arguments = (ins Variadic<Graph_FloatTensor>:$inputs, StrAttr:$equation);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def Graph_TopKOp : Graph_Op<"top_k"> {
  let summary = "The k largest (or smallest) elements along `axis`, sorted, and their int64 indices";
  let description = [{
    Equal values keep their order: the lower index comes first.
  }];
  let arguments = (ins Graph_FloatTensor:$input, I64Attr:$k, I64Attr:$axis,
                       BoolAttr:$largest);
  let results = (outs Graph_FloatTensor:$values, AnyRankedTensor:$indices);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_SliceOp : Graph_Op<"slice"> {
  let summary = "Strided slice: per dim, `sizes` elements from `starts` by `steps` (steps may be negative)";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_ResizeOp : Graph_Op<"resize"> {
  let summary = "Resizes to `sizes` by nearest, linear or cubic interpolation";
  let description = [{
    Output coordinate x maps to input coordinate by `coordinate_mode`
    (half_pixel, pytorch_half_pixel, align_corners, asymmetric,
    tf_half_pixel_for_nn, half_pixel_symmetric) with `scales` (output / input per dim). `mode`:
    nearest (rounded by `nearest_mode`: round_prefer_floor,
    round_prefer_ceil, floor, ceil), linear, or cubic (coefficient
    `cubic_a`; `exclude_outside` drops and renormalizes taps outside the
    input). Taps outside the input read its edge.
  }];
  let arguments = (ins Graph_FloatTensor:$input, DenseI64ArrayAttr:$sizes,
                       DenseF32ArrayAttr:$scales, StrAttr:$mode,
                       StrAttr:$coordinate_mode, StrAttr:$nearest_mode,
                       F32Attr:$cubic_a, BoolAttr:$exclude_outside);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_GridSampleOp : Graph_Op<"grid_sample"> {
  let summary = "Samples input [N, C, H, W] at grid [N, Ho, Wo, 2] positions in [-1, 1]";
  let description = [{
    `mode` bilinear, nearest or bicubic; `padding_mode` zeros, border or
    reflection; `align_corners` maps -1 and 1 to the corner pixels' centers
    (otherwise to their outer edges).
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$grid,
                       StrAttr:$mode, StrAttr:$padding_mode,
                       BoolAttr:$align_corners);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_TriluOp : Graph_Op<"trilu"> {
  let summary = "Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims";
  let description = [{
    `k` is the attribute, or the value of the rank-0 `k_value` operand when
    there is one (a diagonal given at run time).
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       Optional<0DTensorOf<[I64]>>:$k_value, BoolAttr:$upper,
                       I64Attr:$k);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input (`,` $k_value^ `:` type($k_value))? attr-dict `:` type($input)";
}

def Graph_ModeSelectOp : Graph_Op<"mode_select"> {
  let summary = "A value that differs between training and inference";
  let description = [{
    `training` in a training step, `inference` in the model's inference
    function (e.g. BatchNormalization exported in training mode: batch
    statistics while training, running statistics for inference).
    graph-autodiff resolves every one; none reaches the lowering.
  }];
  let arguments = (ins AnyRankedTensor:$training, AnyRankedTensor:$inference);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_DropoutMaskOp : Graph_Op<"dropout_mask"> {
  let summary = "Inverted-dropout mask: 0 or 1 / (1 - ratio) per element";
  let description = [{
    Element i keeps (1 / (1 - ratio)) when u(seed, counter, i) >= ratio, u
    uniform in [0, 1) from a counter-based hash (splitmix64 of the seed, the
    counter and the row-major index): the same seed and counter give the same
    mask on any machine and at any thread count. `counter` is the training
    step (float32 scalar, 0 when absent); graph-apply-optimizer wires in the
    step counter so that every step draws a new mask.
  }];
  let arguments = (ins Optional<Graph_FloatTensor>:$counter,
                       DenseI64ArrayAttr:$shape, F32Attr:$ratio, I64Attr:$seed);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "($counter^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_ExpandOp : Graph_Op<"expand"> {
  let summary = "Broadcasts to `shape` (numpy rules, both ways)";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Graph_CastOp : Graph_Op<"cast"> {
  let summary = "Converts elements to `to` (float <-> int truncates toward zero)";
  let description = [{
    Integers are read as signed, or as unsigned with `unsigned_source` (ONNX's
    uint types): zero-extended, converted to float as unsigned.
  }];
  let arguments = (ins AnyRankedTensor:$input, TypeAttr:$to,
                       DefaultValuedAttr<BoolAttr, "false">:$unsigned_source);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Shapes computed at run time
//===----------------------------------------------------------------------===//

// Ops whose result shape comes from the values of an operand that is known
// only at run time (a shape-like graph input, or one computed from data):
// their result dims are dynamic. Values the op's ONNX rules refuse make the
// generated code report `message` (numbered into `site` as check_indices'
// messages are) and produce a result of a safe shape instead.
class Graph_RuntimeShapeOp<string mnemonic, string what, dag operands>
    : Graph_Op<mnemonic> {
  let summary = what # ", with the shape operands read at run time";
  let arguments = !con(operands, (ins StrAttr:$message,
                                      OptionalAttr<I32Attr>:$site));
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeReshapeOp : Graph_RuntimeShapeOp<"runtime_reshape",
    "ONNX Reshape: a 0 copies the input dim (unless `allowzero`), one -1 is inferred",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$shape,
         DefaultValuedAttr<BoolAttr, "false">:$allowzero)>;

def Graph_RuntimeExpandOp : Graph_RuntimeShapeOp<"runtime_expand",
    "ONNX Expand: broadcasts to `shape` (numpy rules, both ways)",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$shape)>;

def Graph_RuntimeSqueezeOp : Graph_RuntimeShapeOp<"runtime_squeeze",
    "ONNX Squeeze (dims of 1 at `axes` dropped) or, with `unsqueeze`, "
    "Unsqueeze (dims of 1 inserted at `axes` of the result)",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$axes,
         BoolAttr:$unsqueeze)>;

def Graph_RuntimeFillOp : Graph_RuntimeShapeOp<"runtime_fill",
    "ONNX ConstantOfShape: a tensor of `shape` filled with `value`",
    (ins RankedTensorOf<[I64]>:$shape, TypedAttrInterface:$value)>;

def Graph_RuntimeRangeOp : Graph_RuntimeShapeOp<"runtime_range",
    "ONNX Range: start + i * delta for i < max(ceil((limit - start) / delta), 0)",
    (ins AnyRankedTensor:$start, AnyRankedTensor:$limit,
         AnyRankedTensor:$delta)>;

def Graph_RuntimeTileOp : Graph_RuntimeShapeOp<"runtime_tile",
    "ONNX Tile: the input repeated `repeats[d]` times along each dim d",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$repeats)>;

def Graph_RuntimeSliceOp : Graph_RuntimeShapeOp<"runtime_slice",
    "ONNX Slice (opset 10+): starts, ends clamped per axis, any step but 0",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$starts,
         RankedTensorOf<[I64]>:$ends, RankedTensorOf<[I64]>:$axes,
         RankedTensorOf<[I64]>:$steps)>;

def Graph_RuntimePadOp : Graph_RuntimeShapeOp<"runtime_pad",
    "ONNX Pad: `pads` = [begins..., ends...], negative crops; `mode` "
    "constant (`value`), edge, reflect or wrap (any pad length, as numpy.pad)",
    (ins AnyRankedTensor:$input, RankedTensorOf<[I64]>:$pads,
         AnyRankedTensor:$value,
         DefaultValuedAttr<StrAttr, "\"constant\"">:$mode)>;

def Graph_RuntimeOneHotOp : Graph_RuntimeShapeOp<"runtime_one_hot",
    "ONNX OneHot: `values`[1] where the index (negative from depth) is the "
    "position along `axis`, else `values`[0]",
    (ins AnyRankedTensor:$indices, AnyRankedTensor:$depth,
         AnyRankedTensor:$values, I64Attr:$axis)>;

def Graph_RuntimeResizeOp : Graph_RuntimeShapeOp<"runtime_resize",
    "ONNX Resize as graph.resize computes it, with `target` giving the "
    "output sizes (i64) or the scales (float) of the dims in `axes`; other "
    "dims keep their size. `policy` (not_larger, not_smaller) scales sizes "
    "by one common ratio, keeping the aspect ratio",
    (ins Graph_FloatTensor:$input, AnyRankedTensor:$target,
         DenseI64ArrayAttr:$axes, StrAttr:$policy, StrAttr:$mode,
         StrAttr:$coordinate_mode, StrAttr:$nearest_mode, F32Attr:$cubic_a,
         BoolAttr:$exclude_outside)>;

def Graph_RuntimeReduceOp : Graph_RuntimeShapeOp<"runtime_reduce",
    "graph.reduce over the (distinct, possibly negative) `axes` given as "
    "values; without `keepdims` the result has one dim less per axis",
    (ins Graph_FloatTensor:$input, RankedTensorOf<[I64]>:$axes,
         StrAttr:$kind, BoolAttr:$keepdims)>;

def Graph_RuntimeWindowOp : Graph_RuntimeShapeOp<"runtime_window",
    "ONNX Hann, Hamming and Blackman windows of `size` (a value of any "
    "integer type) elements: sum_k (-1)^k terms[k] cos(2 pi k i / D), D = "
    "size when `periodic`, else size - 1, converted to `element`",
    (ins AnyRankedTensor:$size, DenseF64ArrayAttr:$terms, BoolAttr:$periodic,
         TypeAttr:$element)>;

def Graph_RuntimeCompressOp : Graph_Op<"runtime_compress"> {
  let summary = "The slices of `input` along `axis` whose entry of the 1-D "
                "`condition` is true (entries past the axis' size ignored), "
                "in order; the condition is read at run time";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$condition,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeNonZeroOp : Graph_Op<"runtime_nonzero"> {
  let summary = "The indices (int64 [rank, count]) of the input's nonzero "
                "elements (NaN included), in row-major order";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeNmsOp : Graph_Op<"runtime_nms"> {
  let summary = "ONNX NonMaxSuppression: the [count, 3] int64 (batch, class, "
                "box) of the boxes chosen per batch and class";
  let description = [{
    `boxes` [B, N, 4] are corners (y1, x1, y2, x2 of either diagonal) or,
    with `center_point_box`, (x center, y center, width, height); `scores`
    [B, C, N]. For each batch, then each class: among the boxes whose score
    is above `score_threshold` (any score without `has_score_threshold`),
    the highest score is chosen (the lowest index on ties), and the boxes
    whose intersection over union with it is above `iou_threshold` are
    dropped, until `max_per_class` boxes are chosen (none when it is 0 or
    less) or none is left. The count and thresholds are one-element tensors
    read at run time.
  }];
  let arguments = (ins Graph_FloatTensor:$boxes, Graph_FloatTensor:$scores,
                       RankedTensorOf<[I64]>:$max_per_class,
                       Graph_FloatTensor:$iou_threshold,
                       Graph_FloatTensor:$score_threshold,
                       BoolAttr:$center_point_box,
                       BoolAttr:$has_score_threshold);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeUniqueOp : Graph_Op<"runtime_unique"> {
  let summary = "ONNX Unique: the distinct slices of `input` along `axis` "
                "(its elements with `flatten`), where each first occurs, each "
                "slice's position among them, and their counts";
  let description = [{
    The distinct slices come in order of first occurrence or, with
    `sorted`, in lexicographic order of their elements (row-major; integers
    compared as unsigned with `unsigned_ints`). Results, U the number of
    distinct slices and L the number of slices: `unique` (the input's shape
    with U along `axis`, or [U] with `flatten`), `indices` [U] (each one's
    first occurrence), `inverse` [L] (the position in `unique` of each
    slice), `counts` [U] (int64).
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       BoolAttr:$flatten, BoolAttr:$sorted,
                       DefaultValuedAttr<BoolAttr, "false">:$unsigned_ints);
  let results = (outs AnyRankedTensor:$unique,
                      RankedTensorOf<[I64]>:$indices,
                      RankedTensorOf<[I64]>:$inverse,
                      RankedTensorOf<[I64]>:$counts);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeTopKOp : Graph_Op<"runtime_top_k"> {
  let summary = "top_k with k read at run time (0 <= k <= the axis' size)";
  let arguments = (ins Graph_FloatTensor:$input, RankedTensorOf<[I64]>:$k,
                       I64Attr:$axis, BoolAttr:$largest, StrAttr:$message,
                       OptionalAttr<I32Attr>:$site);
  let results = (outs Graph_FloatTensor:$values, AnyRankedTensor:$indices);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Sequences
//
// An ONNX sequence of tensors of one dtype T is two tensors: `values`
// tensor<?xT>, the tensors flattened row-major one after the other, and
// `table` tensor<?x10xi64>, a row per tensor in sequence order: its offset
// in `values` (elements), its rank (at most 8) and its dims (unused dims
// 0). Rows may point anywhere in `values` (erasing leaves the values).
// Positions are int32 or int64 one-element tensors, negative ones counting
// from the end; a position outside the sequence reports the op's check site.
//===----------------------------------------------------------------------===//

def Graph_RuntimeSequenceConstructOp
    : Graph_Op<"runtime_sequence_construct"> {
  let summary = "a sequence of `tensors` in order (none: an empty sequence)";
  let arguments = (ins Variadic<AnyRankedTensor>:$tensors,
                       TypeAttr:$element_type);
  let results = (outs AnyRankedTensor:$values,
                      RankedTensorOf<[I64]>:$table);
  let assemblyFormat = "$tensors attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceInsertOp : Graph_Op<"runtime_sequence_insert"> {
  let summary = "the sequence with `tensor` inserted at `position` (at the "
                "end without one; 0 <= position <= length after wrapping)";
  let arguments = (ins AnyRankedTensor:$values, RankedTensorOf<[I64]>:$table,
                       AnyRankedTensor:$tensor,
                       Optional<RankedTensorOf<[I32, I64]>>:$position,
                       StrAttr:$message, OptionalAttr<I32Attr>:$site);
  let results = (outs AnyRankedTensor:$new_values,
                      RankedTensorOf<[I64]>:$new_table);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceEraseOp : Graph_Op<"runtime_sequence_erase"> {
  let summary = "the sequence without the tensor at `position` (the last "
                "without one)";
  let arguments = (ins AnyRankedTensor:$values, RankedTensorOf<[I64]>:$table,
                       Optional<RankedTensorOf<[I32, I64]>>:$position,
                       StrAttr:$message, OptionalAttr<I32Attr>:$site);
  let results = (outs AnyRankedTensor:$new_values,
                      RankedTensorOf<[I64]>:$new_table);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceAtOp : Graph_Op<"runtime_sequence_at"> {
  let summary = "the tensor at `position`, which must have rank `rank`";
  let description = [{
    The result has `rank` dims, all known at run time. A position outside
    the sequence, or a tensor of another rank there, reports the check site
    and gives a tensor of zero elements (rank 0: a 0).
  }];
  let arguments = (ins AnyRankedTensor:$values, RankedTensorOf<[I64]>:$table,
                       RankedTensorOf<[I32, I64]>:$position, I64Attr:$rank,
                       StrAttr:$message, OptionalAttr<I32Attr>:$site);
  let results = (outs AnyRankedTensor:$tensor);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceConcatOp : Graph_Op<"runtime_sequence_concat"> {
  let summary = "the sequence's tensors (each of rank `rank`) joined along "
                "`axis`, or stacked along a new `axis` with `new_axis`";
  let description = [{
    The tensors must have equal dims but along `axis` (all equal with
    `new_axis`); an empty sequence, or tensors that differ, report the check
    site and give a tensor of zero elements. All result dims are known at
    run time.
  }];
  let arguments = (ins AnyRankedTensor:$values, RankedTensorOf<[I64]>:$table,
                       I64Attr:$rank, I64Attr:$axis, BoolAttr:$new_axis,
                       StrAttr:$message, OptionalAttr<I32Attr>:$site);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceSplitOp : Graph_Op<"runtime_sequence_split"> {
  let summary = "the slices of `input` along `axis` as a sequence";
  let description = [{
    Without `split`, slices of 1, without the axis unless `keepdims`; with
    a one-element `split`, slices of that size (the last one shorter); with
    a 1-D `split`, slices of its sizes, which must add up to the axis' size.
    A split the rules refuse reports the check site and gives an empty
    sequence.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       Optional<RankedTensorOf<[I32, I64]>>:$split,
                       I64Attr:$axis, BoolAttr:$keepdims,
                       StrAttr:$message, OptionalAttr<I32Attr>:$site);
  let results = (outs AnyRankedTensor:$values,
                      RankedTensorOf<[I64]>:$table);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Graph_RuntimeSequenceLengthOp : Graph_Op<"runtime_sequence_length"> {
  let summary = "the number of tensors of a sequence, as an int64 scalar";
  let arguments = (ins RankedTensorOf<[I64]>:$table);
  let results = (outs RankedTensorOf<[I64]>:$length);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Recurrent networks
//===----------------------------------------------------------------------===//

def Graph_RecurrentOp : Graph_Op<"recurrent", [AttrSizedOperandSegments]> {
  let summary = "RNN, GRU or LSTM over a sequence, one or both directions";
  let description = [{
    `cell` is "rnn", "gru" or "lstm", with G = 1, 3 or 4 gates in ONNX order
    (LSTM: i, o, f, c; GRU: z, r, h). Shapes, with D directions (2 when
    `direction` is "bidirectional"):
      input [T, B, I] (sequence first), input_weights [D, I, G*H] and
      recurrent_weights [D, H, G*H] (transposed from ONNX's W and R),
      bias [D, G*H] (input and recurrence biases summed, except GRU's
      recurrence bias of the h gate with `linear_before_reset`, which is
      recurrent_h_bias [D, H]), initial_h / initial_c [D, B, H],
      peepholes [D, 3*H] (LSTM: i, o, f).
    Results: Y [T, D, B, H], the last hidden state [D, B, H] and (LSTM) the
    last cell state [D, B, H] (for RNN and GRU, the last hidden state again).
    `activations` are ONNX names, per direction (f, g, h for LSTM; f, g for
    GRU; f for RNN), with `activation_alpha`/`activation_beta`.
  }];
  let arguments = (ins Graph_FloatTensor:$input,
                       Graph_FloatTensor:$input_weights,
                       Graph_FloatTensor:$recurrent_weights,
                       Optional<Graph_FloatTensor>:$bias,
                       Optional<Graph_FloatTensor>:$recurrent_h_bias,
                       Optional<Graph_FloatTensor>:$initial_h,
                       Optional<Graph_FloatTensor>:$initial_c,
                       Optional<Graph_FloatTensor>:$peepholes,
                       StrAttr:$cell, StrAttr:$direction, I64Attr:$hidden_size,
                       StrArrayAttr:$activations,
                       F32ArrayAttr:$activation_alpha,
                       F32ArrayAttr:$activation_beta,
                       OptionalAttr<F32Attr>:$clip,
                       DefaultValuedAttr<BoolAttr, "false">:$linear_before_reset);
  let results = (outs Graph_FloatTensor:$y, Graph_FloatTensor:$y_h,
                      Graph_FloatTensor:$y_c);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_RecurrentGradOp
    : Graph_Op<"recurrent_grad", [AttrSizedOperandSegments]> {
  let summary = "backpropagation through time of graph.recurrent";
  let description = [{
    The vector-Jacobian product of the graph.recurrent with the same operands
    and attributes: given the gradients of its results, y_grad [T, D, B, H],
    y_h_grad and y_c_grad [D, B, H] (zeros where a result is unused; y_c_grad
    is ignored for RNN and GRU), it returns the gradients of input,
    input_weights, recurrent_weights, bias, recurrent_h_bias, initial_h,
    initial_c and peepholes. Every result is always there, with the shape the
    operand has when present: an absent operand is the zeros it defaults to,
    and its gradient is simply unused. Results that the cell has no use for
    (recurrent_h_bias without linear_before_reset, initial_c for RNN and GRU,
    peepholes but for LSTM) are zeros.

    Every activation of graph.recurrent is differentiated; where `clip`
    bounds an activation's input, the gradient is zero outside the bounds.
    The lowering recomputes the forward pass, keeping each step's state in
    [T, ...] tensors, then runs backwards through time.
  }];
  let arguments = (ins Graph_FloatTensor:$input,
                       Graph_FloatTensor:$input_weights,
                       Graph_FloatTensor:$recurrent_weights,
                       Optional<Graph_FloatTensor>:$bias,
                       Optional<Graph_FloatTensor>:$recurrent_h_bias,
                       Optional<Graph_FloatTensor>:$initial_h,
                       Optional<Graph_FloatTensor>:$initial_c,
                       Optional<Graph_FloatTensor>:$peepholes,
                       Graph_FloatTensor:$y_grad,
                       Graph_FloatTensor:$y_h_grad,
                       Graph_FloatTensor:$y_c_grad,
                       StrAttr:$cell, StrAttr:$direction, I64Attr:$hidden_size,
                       StrArrayAttr:$activations,
                       F32ArrayAttr:$activation_alpha,
                       F32ArrayAttr:$activation_beta,
                       OptionalAttr<F32Attr>:$clip,
                       DefaultValuedAttr<BoolAttr, "false">:$linear_before_reset);
  let results = (outs Graph_FloatTensor:$input_grad,
                      Graph_FloatTensor:$input_weights_grad,
                      Graph_FloatTensor:$recurrent_weights_grad,
                      Graph_FloatTensor:$bias_grad,
                      Graph_FloatTensor:$recurrent_h_bias_grad,
                      Graph_FloatTensor:$initial_h_grad,
                      Graph_FloatTensor:$initial_c_grad,
                      Graph_FloatTensor:$peepholes_grad);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Whether `name` is an ONNX recurrent activation the lowering
    /// differentiates (all those the forward lowering applies).
    static bool isDifferentiableActivation(::llvm::StringRef name);
  }];
}

#endif // DLC_GRAPH_OPS
