#!/usr/bin/env python3
"""Convolutions and pooling compiled by dlc against a float64 reference.

The ONNX node tests have only tiny convolutions and pools; the kernels dlc
picks depend on the shape (im2col packed in panels when output rows are a
multiple of the matmul tile, unpacked otherwise; depthwise convolution and
pooling as vector code along output rows, with border rows and vectors
reading the padding in the kernel, a masked last vector, a strided read for
stride 2) and on the target's vector width. Each case here is one Conv
(optionally followed by the Relu / Clip / Add that dlc fuses into the
kernel's epilogue), MaxPool or AveragePool with random inputs, chosen to
reach those paths and their edges, compiled for the host and again with
AVX-512 and AVX2 off (8- and 4-lane vectors), run by dlc-run at 1 and 2
threads, and compared with the textbook definition evaluated in float64 in
this script. Max pools get a NaN input too: it must reach every window
that holds it. MaxPool's Indices output (the flat index of each window's
first maximum, row- or column-major) is compared exactly on inputs with
ties.

Tolerance: an output is a sum of at most C*KH*KW <= 200 products of values
in [-1, 1], accumulated in float32: its rounding error is at most ~200 *
2^-24 * sum|terms| < 2e-5 * (1 + |y|) for these sizes; a wrong tap, stride
or mask is off by a whole term (~0.1 or more).

No numpy or onnx package: models and tensors are ONNX textproto encoded by
protoc. Usage: conv_pool_reference.py --bin BUILD/tools --work DIR [NAME_REGEX].
Exit status 1 when a case fails."""
import argparse
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys

ATOL = RTOL = 2e-5
TARGETS = [("host", []), ("avx2", ["--mattr=-avx512f"]),
           ("sse", ["--mattr=-avx512f,-avx2"])]


def conv_ref(x, xd, w, wd, b, strides, pads, dilations, group):
    """y[n, f, oh, ow] = b[f] + sum_{c, kh, kw} x[n, g*C + c, ih, iw] *
    w[f, c, kh, kw] over taps inside the (zero-padded) input."""
    n_, c_, h, wi = xd
    f_, cg, kh_, kw_ = wd
    oh_ = (h + pads[0] + pads[2] - dilations[0] * (kh_ - 1) - 1) // strides[0] + 1
    ow_ = (wi + pads[1] + pads[3] - dilations[1] * (kw_ - 1) - 1) // strides[1] + 1
    fg = f_ // group
    y = []
    for n in range(n_):
        for f in range(f_):
            g = f // fg
            for oh in range(oh_):
                for ow in range(ow_):
                    s = b[f] if b else 0.0
                    for c in range(cg):
                        xc = ((n * c_) + g * cg + c) * h
                        wc = (f * cg + c) * kh_
                        for kh in range(kh_):
                            ih = oh * strides[0] - pads[0] + kh * dilations[0]
                            if ih < 0 or ih >= h:
                                continue
                            for kw in range(kw_):
                                iw = ow * strides[1] - pads[1] + kw * dilations[1]
                                if 0 <= iw < wi:
                                    s += x[(xc + ih) * wi + iw] * w[(wc + kh) * kw_ + kw]
                    y.append(s)
    return y, [n_, f_, oh_, ow_]


def pool_ref(x, xd, kind, kernel, strides, pads, dilations, ceil, include_pad):
    """MaxPool / AveragePool over the taps inside the input (padding is
    ignored by max; counted by average only with count_include_pad), output
    size rounded down or, with ceil_mode, up (a window must start inside
    the input or its left padding)."""
    n_, c_, h, w = xd
    out = []
    for i in range(2):
        size = (h, w)[i] + pads[i] + pads[i + 2] - dilations[i] * (kernel[i] - 1) - 1
        o = (-(-size // strides[i]) if ceil else size // strides[i]) + 1
        if ceil and (o - 1) * strides[i] >= (h, w)[i] + pads[i]:
            o -= 1
        out.append(o)
    y = []
    for n in range(n_):
        for c in range(c_):
            base = (n * c_ + c) * h
            for oh in range(out[0]):
                for ow in range(out[1]):
                    vals, counted = [], 0
                    for kh in range(kernel[0]):
                        ih = oh * strides[0] - pads[0] + kh * dilations[0]
                        for kw in range(kernel[1]):
                            iw = ow * strides[1] - pads[1] + kw * dilations[1]
                            inside = 0 <= ih < h and 0 <= iw < w
                            if inside:
                                vals.append(x[(base + ih) * w + iw])
                            if include_pad:
                                counted += (ih < h + pads[2] and iw < w + pads[3])
                            else:
                                counted += inside
                    if kind == "MaxPool":
                        y.append(float("nan") if any(math.isnan(v) for v in vals)
                                 else max(vals))
                    else:
                        y.append(sum(vals) / counted)
    return y, [n_, c_, out[0], out[1]]


# (name, op, x dims, attrs): pools; Max pools get one NaN input.
POOL_CASES = [
    ("maxpool_3x3_s2_p1", "MaxPool", [1, 3, 15, 37],
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("maxpool_2x2_s2_b2", "MaxPool", [2, 4, 8, 34],
     dict(kernel_shape=[2, 2], strides=[2, 2])),
    ("maxpool_3x3_s2_ceil", "MaxPool", [1, 2, 9, 35],
     dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ("maxpool_3x3_s1_d2_p2", "MaxPool", [1, 2, 10, 20],
     dict(kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 2, 2, 2])),
    ("maxpool_5x5_s1_p2_wide", "MaxPool", [1, 2, 6, 70],
     dict(kernel_shape=[5, 5], pads=[2, 2, 2, 2])),
    ("avgpool_3x3_s1_p1_include", "AveragePool", [1, 3, 9, 33],
     dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("avgpool_3x3_s2_p1_exclude", "AveragePool", [1, 3, 10, 36],
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("avgpool_2x2_s2_b2", "AveragePool", [2, 3, 8, 32],
     dict(kernel_shape=[2, 2], strides=[2, 2])),
]

def argmax_pool_ref(x, xd, kernel, strides, pads, dilations, ceil, column_major):
    """MaxPool's Indices: per window, the flat index of its first largest
    element inside the input in row-major tap order; row-major
    ((n*C + c)*H + h)*W + w, or with storage_order 1 ((n*C + c)*W + w)*H + h."""
    y, yd = pool_ref(x, xd, "MaxPool", kernel, strides, pads, dilations, ceil, 0)
    n_, c_, h, w = xd
    indices = []
    for n in range(n_):
        for c in range(c_):
            plane = (n * c_ + c) * h * w
            for oh in range(yd[2]):
                for ow in range(yd[3]):
                    best = None
                    for kh in range(kernel[0]):
                        ih = oh * strides[0] - pads[0] + kh * dilations[0]
                        for kw in range(kernel[1]):
                            iw = ow * strides[1] - pads[1] + kw * dilations[1]
                            if 0 <= ih < h and 0 <= iw < w:
                                v = x[plane + ih * w + iw]
                                if best is None or v > best[0]:
                                    best = (v, plane + (iw * h + ih if column_major
                                                        else ih * w + iw))
                    indices.append(best[1])
    return y, yd, indices


# (name, x dims, attrs): MaxPool with its Indices output; inputs rounded to
# quarters so that windows hold ties (the first one wins).
INDICES_CASES = [
    ("maxpool_indices_3x3_s2_p1", [2, 3, 9, 11],
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("maxpool_indices_ceil_d2", [1, 2, 10, 13],
     dict(kernel_shape=[2, 3], strides=[2, 2], dilations=[2, 1], ceil_mode=1)),
    ("maxpool_indices_column_major", [1, 2, 5, 7],
     dict(kernel_shape=[2, 2], pads=[1, 0, 0, 1], storage_order=1)),
]


# (name, x dims, w dims, bias, attrs, epilogue)
CASES = [
    # depthwise, stride 1: rows of 37 (two 16-lane vectors and a masked 5)
    ("dw_s1_pad1_relu", [1, 5, 9, 37], [5, 1, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "relu"),
    # depthwise, stride 2: even-lane reads, the last vector masked
    ("dw_s2_pad1_clip_b2", [2, 4, 17, 35], [4, 1, 3, 3], True,
     dict(strides=[2, 2], pads=[1, 1, 1, 1]), "clip6"),
    ("dw_s2_5x5_asym", [1, 3, 12, 40], [3, 1, 5, 5], False,
     dict(strides=[2, 2], pads=[0, 1, 1, 2]), None),
    ("dw_s2_rows_of_16", [1, 2, 8, 64], [2, 1, 3, 3], True,
     dict(strides=[2, 2], pads=[1, 1, 1, 1]), None),
    ("dw_dilation2", [1, 3, 10, 33], [3, 1, 3, 3], True,
     dict(dilations=[2, 2], pads=[2, 2, 2, 2]), "relu"),
    ("dw_residual", [1, 6, 8, 16], [6, 1, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "residual"),
    ("dw_7x7_b2", [2, 2, 14, 14], [2, 1, 7, 7], True,
     dict(pads=[3, 3, 3, 3]), None),
    ("dw_s1_narrow", [1, 3, 5, 4], [3, 1, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), None),
    ("dw_stride_h3_w1", [1, 2, 11, 20], [2, 1, 3, 3], False,
     dict(strides=[3, 1]), None),
    # grouped paths the depthwise kernel does not take
    ("dw_s3", [1, 2, 10, 10], [2, 1, 3, 3], True, dict(strides=[3, 3]), None),
    ("dw_multiplier2", [1, 3, 7, 9], [6, 1, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), None),
    ("group2", [2, 4, 6, 7], [6, 2, 3, 3], True, dict(pads=[1, 1, 1, 1]), None),
    # ordinary convolutions: im2col packed by tile rows (32), by vector rows
    # (16), unpacked; batch 2; 1x1 read directly
    ("conv_rows_of_32", [1, 3, 6, 32], [8, 3, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "relu"),
    ("conv_rows_of_16_s2", [1, 4, 9, 32], [5, 4, 3, 3], True,
     dict(strides=[2, 2], pads=[1, 1, 1, 1]), None),
    ("conv_rows_of_14_b2", [2, 3, 14, 14], [9, 3, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "residual_none"),
    ("conv_1x1", [1, 16, 5, 13], [10, 16, 1, 1], True, {}, "relu"),
    # implicit GEMM (rows of 16, stride 1 along rows): the input read in place
    ("conv_implicit_b2_sh2_dilated", [2, 3, 12, 16], [5, 3, 3, 3], True,
     dict(strides=[2, 1], dilations=[2, 2], pads=[1, 2, 1, 2]), "relu"),
    # a 5x5 window: implicit GEMM with the filter rows in a loop
    ("conv_implicit_5x5", [1, 2, 8, 16], [4, 2, 5, 5], True,
     dict(pads=[2, 2, 2, 2]), None),
    # stride 2 along rows: columns split by parity into channels (the
    # constant filter too), then implicit GEMM; 7x7 like resnet's conv1
    ("conv_parity_7x7_s2_relu", [1, 3, 8, 32], [8, 3, 7, 7], True,
     dict(strides=[2, 2], pads=[3, 3, 3, 3]), "relu"),
    ("conv_parity_3x3_s2_b2_residual", [2, 4, 8, 32], [6, 4, 3, 3], True,
     dict(strides=[2, 2], pads=[1, 1, 1, 1]), "residual_none"),
    # an inf in the last input column, which no window reads: every output
    # stays finite (a zero tap multiplying it would give NaN)
    ("conv_parity_inf_unread_column", [1, 3, 9, 34], [8, 3, 3, 3], False,
     dict(strides=[2, 2]), None),
    ("conv_7x7_s2", [1, 3, 20, 20], [4, 3, 7, 7], False,
     dict(strides=[2, 2], pads=[3, 3, 3, 3]), None),
    # 256 filters on 7x7 pixels: tiles along the filters (weights packed at
    # compile time), written back to NCHW from the registers
    ("conv_filter_tiles_relu", [1, 4, 7, 7], [256, 4, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "relu"),
    ("conv_filter_tiles_s2_residual_relu", [1, 3, 14, 13], [256, 3, 3, 3], True,
     dict(strides=[2, 2], pads=[1, 1, 1, 1]), "residual_relu"),
    # Winograd F(4x4, 3x3) (compiled with --winograd=all): tiles of an image in
    # vectors, the last one masked; several images; the epilogue in the
    # output transform
    ("winograd_relu", [1, 6, 8, 20], [5, 6, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "relu"),
    ("winograd_b2_residual_relu", [2, 4, 12, 16], [7, 4, 3, 3], True,
     dict(pads=[1, 1, 1, 1]), "residual_relu"),
    ("winograd_36_tiles", [1, 3, 24, 24], [4, 3, 3, 3], False,
     dict(pads=[1, 1, 1, 1]), None),
    ("winograd_unpadded", [1, 2, 10, 14], [3, 2, 3, 3], True, {}, "clip6"),
    # outputs of 7x9 and 4x3: the last row and column of tiles stick out
    # (their input padded with zeros, their outside outputs not written)
    ("winograd_partial_tiles_b2_residual_relu", [2, 3, 7, 9], [4, 3, 3, 3],
     True, dict(pads=[1, 1, 1, 1]), "residual_relu"),
    ("winograd_narrow", [1, 2, 6, 5], [3, 2, 3, 3], False, {}, None),
]

# Winograd's transforms scale inputs by up to 8 (B^T d B: |row sums| <= 10,
# applied twice) before the products and the output transform adds up 36
# of them with weights up to 8 * 8: its float32 rounding error is about
# 1000 times a direct sum's. For these sizes (<= 54 channel taps of values
# in [-1, 1]) that stays below 1e-4 (measured: under 2e-5); the corpus
# allows rtol 1e-3 for it (tol_loose). A wrong tile, tap or mask is off by
# a whole term, ~0.1.
WINOGRAD_ATOL, WINOGRAD_RTOL = 1e-4, 1e-3


def tensor_text(name, dims, values):
    return ('dims: %s\ndata_type: 1\nname: "%s"\nfloat_data: [%s]\n'
            % (" dims: ".join(map(str, dims)), name, ", ".join("%.9g" % v for v in values)))


def value_info(name, dims):
    shape = " ".join("dim { dim_value: %d }" % d for d in dims)
    return ('name: "%s" type { tensor_type { elem_type: 1 shape { %s } } }'
            % (name, shape))


def model_text(xd, wd, w, b, attrs, epilogue, yd):
    ints = lambda k, v: ('attribute { name: "%s" type: INTS %s }'
                         % (k, " ".join("ints: %d" % i for i in v)))
    conv_attrs = [ints(k, v) for k, v in attrs.items()]
    if wd[1] != xd[1]:
        conv_attrs.append('attribute { name: "group" type: INT i: %d }'
                          % (xd[1] // wd[1]))
    inputs = '"X", "W"' + (', "B"' if b else "")
    conv_out = "C" if epilogue else "Y"
    nodes = ['node { op_type: "Conv" name: "conv" input: [%s] output: "%s" %s }'
             % (inputs, conv_out, " ".join(conv_attrs))]
    if epilogue == "relu":
        nodes.append('node { op_type: "Relu" name: "act" input: "C" output: "Y" }')
    elif epilogue == "clip6":
        nodes.append('node { op_type: "Clip" name: "act" input: ["C", "lo", "hi"] '
                     'output: "Y" }')
    elif epilogue in ("residual", "residual_none"):
        nodes.append('node { op_type: "Add" name: "res" input: ["C", "R"] output: "Y" }')
    elif epilogue == "residual_relu":
        nodes.append('node { op_type: "Add" name: "res" input: ["C", "R"] output: "S" }')
        nodes.append('node { op_type: "Relu" name: "act" input: "S" output: "Y" }')
    inits = ["initializer { %s }" % tensor_text("W", wd, w)]
    if b:
        inits.append("initializer { %s }" % tensor_text("B", [wd[0]], b))
    if epilogue == "clip6":
        inits.append('initializer { data_type: 1 name: "lo" float_data: 0 }')
        inits.append('initializer { data_type: 1 name: "hi" float_data: 6 }')
    graph_inputs = ["input { %s }" % value_info("X", xd)]
    if epilogue and epilogue.startswith("residual"):
        graph_inputs.append("input { %s }" % value_info("R", yd))
    return ('ir_version: 8 opset_import { domain: "" version: 17 }\n'
            'graph { name: "g" %s %s %s output { %s } }\n'
            % ("\n".join(nodes), "\n".join(inits), "\n".join(graph_inputs),
               value_info("Y", yd)))


def pool_model_text(op, xd, attrs, yd):
    parts = []
    for k, v in attrs.items():
        if isinstance(v, list):
            parts.append('attribute { name: "%s" type: INTS %s }'
                         % (k, " ".join("ints: %d" % i for i in v)))
        else:
            parts.append('attribute { name: "%s" type: INT i: %d }' % (k, v))
    return ('ir_version: 8 opset_import { domain: "" version: 17 }\n'
            'graph { name: "g" node { op_type: "%s" name: "pool" input: "X" '
            'output: "Y" %s } input { %s } output { %s } }\n'
            % (op, " ".join(parts), value_info("X", xd), value_info("Y", yd)))


def encode(kind, text, path):
    r = subprocess.run(["protoc", "-I/usr/include", "--encode=onnx." + kind,
                        "onnx/onnx.proto"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("protoc: " + r.stderr.decode())
    with open(path, "wb") as f:
        f.write(r.stdout)


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def run_case(case, tools, work):
    name, xd, wd, bias, attrs, epilogue = case
    rng = random.Random(name)
    uniform = lambda n: [f32(rng.uniform(-1, 1)) for _ in range(n)]
    x, w = uniform(math.prod(xd)), uniform(math.prod(wd))
    if "inf_unread_column" in name:
        x[xd[3] - 1] = float("inf")  # image 0, channel 0, row 0, last column
    b = uniform(wd[0]) if bias else None
    group = xd[1] // wd[1]
    y, yd = conv_ref(x, xd, w, wd, b, attrs.get("strides", [1, 1]),
                     attrs.get("pads", [0, 0, 0, 0]),
                     attrs.get("dilations", [1, 1]), group)
    r = None
    if epilogue == "relu":
        y = [max(v, 0.0) for v in y]
    elif epilogue == "clip6":
        y = [min(max(v, 0.0), 6.0) for v in y]
    elif epilogue in ("residual", "residual_none", "residual_relu"):
        r = uniform(math.prod(yd))
        y = [a + c for a, c in zip(y, r)]
        if epilogue == "residual_relu":
            y = [max(v, 0.0) for v in y]
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    encode("ModelProto", model_text(xd, wd, w, b, attrs, epilogue, yd),
           os.path.join(d, "model.onnx"))
    inputs = [("X", xd, x)] + ([("R", yd, r)] if r is not None else [])
    if name.startswith("winograd"):
        return check(d, inputs, ("Y", yd, y), tools, ["--winograd=all"],
                     WINOGRAD_ATOL, WINOGRAD_RTOL)
    return check(d, inputs, ("Y", yd, y), tools)


def run_pool_case(case, tools, work):
    name, op, xd, attrs = case
    rng = random.Random(name)
    x = [f32(rng.uniform(-1, 1)) for _ in range(math.prod(xd))]
    if op == "MaxPool":
        x[rng.randrange(len(x))] = float("nan")
    y, yd = pool_ref(x, xd, op, attrs["kernel_shape"], attrs.get("strides", [1, 1]),
                     attrs.get("pads", [0, 0, 0, 0]), attrs.get("dilations", [1, 1]),
                     attrs.get("ceil_mode", 0), attrs.get("count_include_pad", 0))
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    encode("ModelProto", pool_model_text(op, xd, attrs, yd), os.path.join(d, "model.onnx"))
    return check(d, [("X", xd, x)], ("Y", yd, y), tools)


def run_indices_case(case, tools, work):
    """MaxPool with both outputs, compared exactly (a max and an index are
    selected, not computed) with argmax_pool_ref, on the host at 1 and 2
    threads."""
    name, xd, attrs = case
    rng = random.Random(name)
    x = [rng.randrange(-8, 8) / 4.0 for _ in range(math.prod(xd))]
    y, yd, indices = argmax_pool_ref(
        x, xd, attrs["kernel_shape"], attrs.get("strides", [1, 1]),
        attrs.get("pads", [0, 0, 0, 0]), attrs.get("dilations", [1, 1]),
        attrs.get("ceil_mode", 0), attrs.get("storage_order", 0))
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    text = pool_model_text("MaxPool", xd, attrs, yd).replace(
        'output: "Y"', 'output: "Y" output: "I"').replace(
        "output { %s }" % value_info("Y", yd),
        "output { %s } output { %s }" % (
            value_info("Y", yd), value_info("I", yd).replace("elem_type: 1", "elem_type: 7")))
    encode("ModelProto", text, os.path.join(d, "model.onnx"))
    files = {}
    for tensor_name, dims, values, elem in (("X", xd, x, "f"), ("Y", yd, y, "f"),
                                            ("I", yd, indices, "q")):
        raw = struct.pack("<%d%s" % (len(values), elem), *values)
        files[tensor_name] = os.path.join(d, tensor_name.lower() + ".pb")
        encode("TensorProto", '%s data_type: %d name: "%s" raw_data: "%s"' % (
            " ".join("dims: %d" % v for v in dims), 1 if elem == "f" else 7, tensor_name,
            "".join("\\%03o" % c for c in raw)), files[tensor_name])
    lib = os.path.join(d, "host.so")
    c = subprocess.run([os.path.join(tools, "dlc", "dlc"), os.path.join(d, "model.onnx"),
                        "-o", lib], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if c.returncode != 0:
        return ["dlc failed: " + c.stdout.decode().strip()]
    failures = []
    for threads in ("1", "2"):
        c = subprocess.run([os.path.join(tools, "dlc-run", "dlc-run"), lib, "--threads",
                            threads, "--inputs", files["X"], "--expect", files["Y"],
                            files["I"], "--rtol", "0", "--atol", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if c.returncode != 0:
            failures.append("%s thread(s): %s" % (threads, c.stdout.decode().strip()[-600:]))
    return failures


def check(d, inputs, expected, tools, flags=(), atol=ATOL, rtol=RTOL):
    """Compiles d/model.onnx for each target (with `flags`) and compares its
    output for `inputs` with `expected` at 1 and 2 threads; returns the
    failures."""
    files = []
    for name, dims, values in inputs:
        files.append(os.path.join(d, name.lower() + ".pb"))
        encode("TensorProto", tensor_text(name, dims, values), files[-1])
    encode("TensorProto", tensor_text(*expected), os.path.join(d, "y.pb"))
    failures = []
    for target, target_flags in TARGETS:
        lib = os.path.join(d, target + ".so")
        c = subprocess.run([os.path.join(tools, "dlc", "dlc"),
                            os.path.join(d, "model.onnx"), "-o", lib] +
                           target_flags + list(flags),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if c.returncode != 0:
            failures.append("%s: dlc failed: %s" % (target, c.stdout.decode().strip()))
            continue
        for threads in ("1", "2"):
            c = subprocess.run([os.path.join(tools, "dlc-run", "dlc-run"), lib,
                                "--threads", threads, "--inputs"] + files +
                               ["--expect", os.path.join(d, "y.pb"),
                                "--rtol", str(rtol), "--atol", str(atol)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if c.returncode != 0:
                failures.append("%s, %s thread(s): %s" % (
                    target, threads, c.stdout.decode().strip()[-600:]))
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the build's tools directory")
    p.add_argument("--work", required=True)
    p.add_argument("only", nargs="?", default="")
    a = p.parse_args()
    if not shutil.which("protoc"):
        print("conv_pool_reference: protoc not found")
        return 1
    os.makedirs(a.work, exist_ok=True)
    failed = 0
    for case in CASES + POOL_CASES + INDICES_CASES:
        if not re.search(a.only, case[0]):
            continue
        run = (run_case if case in CASES else
               run_pool_case if case in POOL_CASES else run_indices_case)
        failures = run(case, a.bin, a.work)
        print("%s: %s" % (case[0], "ok" if not failures else "FAILED"))
        for f in failures:
            print("  " + f)
        failed += bool(failures)
    print("conv_pool_reference: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
