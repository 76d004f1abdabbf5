//===- KernelOps.td - the kernel dialect -------------------*- tablegen -*-===//
//
// The kernel dialect says how a model runs: one op is one kernel, with the
// work fused into it (bias, activation) and its data layout explicit.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_KERNEL_OPS
#define DLC_KERNEL_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kernel_Dialect : Dialect {
  let name = "kernel";
  let summary = "The execution plan: one op per fused kernel";
  let cppNamespace = "::dlc::kernel";
}

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Kernel_FloatTensor : RankedTensorOf<[F16, F32, F64]>;

// The activation applied to a kernel's result before it is stored:
// none | relu | leaky_relu (alpha) | clip (alpha = min, beta = max) |
// sigmoid | tanh.
defvar Kernel_ActivationAttrs = (ins
    DefaultValuedAttr<StrAttr, "\"none\"">:$activation,
    DefaultValuedAttr<F32Attr, "0.0f">:$alpha,
    DefaultValuedAttr<F32Attr, "0.0f">:$beta);

def Kernel_Conv2dOp : Kernel_Op<"conv2d", [AttrSizedOperandSegments]> {
  let summary = "Grouped 2-D convolution with bias, residual and activation fused";
  let description = [{
    out = activation(conv(input, filter) + bias + residual). `layout` names the
    input/output layout ("nchw"); the filter is FCHW. `pads` is
    [top, left, bottom, right]. `algorithm`, when set (by
    kernel-choose-conv-algorithm, or by hand), says how the convolution is
    computed: winograd, implicit_gemm, implicit_gemm_parity, filter_tiles,
    im2col_packed, im2col, pointwise, depthwise_rows or grouped
    (dialects/kernel/ConvAlgorithm.h).
  }];
  let arguments = !con((ins Kernel_FloatTensor:$input,
                            Kernel_FloatTensor:$filter,
                            Optional<Kernel_FloatTensor>:$bias,
                            Optional<Kernel_FloatTensor>:$residual,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations,
                            I64Attr:$group,
                            DefaultValuedAttr<StrAttr, "\"nchw\"">:$layout,
                            OptionalAttr<StrAttr>:$algorithm),
                       Kernel_ActivationAttrs);
  let results = (outs Kernel_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $filter (`bias` $bias^)? (`residual` $residual^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kernel_MatmulOp : Kernel_Op<"matmul"> {
  let summary = "Batched matrix product with bias and activation fused";
  let description = [{
    out = activation(lhs x rhs + bias). `rhs` is [K, N], or [N, K] with
    `transpose_rhs` (the layout Gemm weights come in). `bias` broadcasts to the
    result.
  }];
  let arguments = !con((ins Kernel_FloatTensor:$lhs, Kernel_FloatTensor:$rhs,
                            Optional<Kernel_FloatTensor>:$bias,
                            DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                            DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs),
                       Kernel_ActivationAttrs);
  let results = (outs Kernel_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kernel_Pool2dOp : Kernel_Op<"pool2d"> {
  let summary = "Max or average pooling over NCHW windows";
  let arguments = (ins Kernel_FloatTensor:$input, StrAttr:$kind,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Kernel_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // DLC_KERNEL_OPS
