#!/usr/bin/env python3
"""Ops in the forms opsets 18 to 21 gave them (what PyTorch 2.x exporters
write), compiled by dlc and run by dlc-run against values computed here in
float64 from the ONNX specification (the installed ONNX test data stops at
opset 17). Compared at rtol 1e-4, atol 1e-5: a few float32 operations per
element, normalizations' sums over up to 24 elements.

- split_num_outputs (18): Split of 7 along axis 1 into num_outputs = 3:
  3, 3 and 1.
- pad_axes (18): constant Pad of axis 1 only (axes input, negative axis).
- pad_wrap (19): wrap Pad of both axes, pads larger than the dim.
- resize_not_larger (18): linear Resize of axes [2, 3] by sizes with
  keep_aspect_ratio_policy not_larger (one scale for both axes).
- resize_symmetric (19): linear Resize by scales, half_pixel_symmetric.
- group_norm_18 / group_norm_21: GroupNormalization, scale and bias per
  group (18) and per channel (21).
- mish (18), gelu and gelu_tanh (20).

Usage: opset18_21.py --bin BUILD/tools --work DIR"""
import argparse
import math
import os
import random
import sys

from control_flow import node, value_info
from model_check import F32, I64, compile_model, expect, tensor


def model(opset, nodes, inputs, outputs, initializers=()):
    return ('ir_version: 8 opset_import { domain: "" version: %d } graph { name: "m" %s %s %s %s }'
            % (opset, " ".join(nodes),
               " ".join("initializer { %s }" % tensor(*i) for i in initializers),
               " ".join("input { %s }" % value_info(n, F32, d) for n, d in inputs),
               " ".join("output { %s }" % value_info(n, F32, d) for n, d in outputs)))


def attr_int(name, v):
    return 'attribute { name: "%s" type: INT i: %d }' % (name, v)


def attr_str(name, v):
    return 'attribute { name: "%s" type: STRING s: "%s" }' % (name, v)


def attr_ints(name, vs):
    return 'attribute { name: "%s" type: INTS %s }' % (name, " ".join("ints: %d" % v for v in vs))


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def strides(dims):
    out, s = [], 1
    for d in reversed(dims):
        out.insert(0, s)
        s *= d
    return out


def at(x, dims, idx):
    return x[sum(i * s for i, s in zip(idx, strides(dims)))]


def indices(dims):
    if not dims:
        yield ()
        return
    for i in range(dims[0]):
        for rest in indices(dims[1:]):
            yield (i,) + rest


def rand(n, seed):
    r = random.Random(seed)
    return [round(r.uniform(-2, 2), 3) for _ in range(n)]


def split_num_outputs():
    dims = [2, 7]
    x = rand(numel(dims), 1)
    parts = [(0, 3), (3, 6), (6, 7)]
    outs = [("y%d" % k, [2, e - b], [at(x, dims, (i, j)) for i in range(2) for j in range(b, e)])
            for k, (b, e) in enumerate(parts)]
    text = model(18, [node("Split", ["x"], [o[0] for o in outs], attr_int("axis", 1)
                           + " " + attr_int("num_outputs", 3), "split")],
                 [("x", dims)], [(n, d) for n, d, _ in outs])
    return text, [("x", dims, x)], outs


def pad_axes():
    dims = [2, 3]
    x = rand(6, 2)
    out_dims = [2, 6]
    y = [0.5 if j < 1 or j >= 4 else at(x, dims, (i, j - 1)) for i, j in indices(out_dims)]
    text = model(18, [node("Pad", ["x", "pads", "value", "axes"], ["y"], "", "pad")],
                 [("x", dims)], [("y", out_dims)],
                 [("pads", I64, [2], [1, 2]), ("value", F32, [], [0.5]),
                  ("axes", I64, [1], [-1])])
    return text, [("x", dims, x)], [("y", out_dims, y)]


def pad_wrap():
    dims = [2, 3]
    x = rand(6, 3)
    pads = [1, 4, 2, 0]  # begin (axis 0, 1), end (axis 0, 1)
    out_dims = [2 + 1 + 2, 3 + 4 + 0]
    y = [at(x, dims, ((i - 1) % 2, (j - 4) % 3)) for i, j in indices(out_dims)]
    text = model(19, [node("Pad", ["x", "pads"], ["y"], attr_str("mode", "wrap"), "pad")],
                 [("x", dims)], [("y", out_dims)], [("pads", I64, [4], pads)])
    return text, [("x", dims, x)], [("y", out_dims, y)]


def linear_1d(values, n_out, coordinate):
    n_in = len(values)
    out = []
    for o in range(n_out):
        c = coordinate(o)
        i0 = math.floor(c)
        t = c - i0
        a = values[min(max(i0, 0), n_in - 1)]
        b = values[min(max(i0 + 1, 0), n_in - 1)]
        out.append(a * (1 - t) + b * t)
    return out


def resize_2d(x, dims, out_hw, coordinate_h, coordinate_w):
    n, c, h, w = dims
    oh, ow = out_hw
    y = []
    for b in range(n * c):
        plane = x[b * h * w:(b + 1) * h * w]
        rows = [linear_1d(plane[r * w:(r + 1) * w], ow, coordinate_w) for r in range(h)]
        cols = [linear_1d([rows[r][q] for r in range(h)], oh, coordinate_h) for q in range(ow)]
        y += [cols[q][p] for p in range(oh) for q in range(ow)]
    return y


def resize_not_larger():
    dims = [1, 2, 4, 6]
    x = rand(numel(dims), 4)
    # sizes [6, 12] along axes [2, 3]: ratios 1.5 and 2, not_larger takes 1.5:
    # output 6 x 9 (int(1.5 * 6 + 0.5)), both axes scaled by 1.5.
    scale = 1.5
    half_pixel = lambda o: (o + 0.5) / scale - 0.5
    y = resize_2d(x, dims, (6, 9), half_pixel, half_pixel)
    text = model(18, [node("Resize", ["x", "", "", "sizes"], ["y"],
                           attr_str("mode", "linear") + " " + attr_ints("axes", [2, 3]) + " "
                           + attr_str("keep_aspect_ratio_policy", "not_larger"), "resize")],
                 [("x", dims)], [("y", [1, 2, 6, 9])], [("sizes", I64, [2], [6, 12])])
    return text, [("x", dims, x)], [("y", [1, 2, 6, 9], y)]


def resize_symmetric():
    dims = [1, 1, 5, 4]
    x = rand(numel(dims), 5)
    sh, sw = 1.7, 0.6
    oh, ow = int(5 * sh), int(4 * sw)  # 8, 2

    def symmetric(n_in, n_out, s):
        adjustment = n_out / (n_in * s)
        offset = n_in / 2 * (1 - adjustment)
        return lambda o: offset + (o + 0.5) / s - 0.5
    y = resize_2d(x, dims, (oh, ow), symmetric(5, oh, sh), symmetric(4, ow, sw))
    text = model(19, [node("Resize", ["x", "", "scales"], ["y"],
                           attr_str("mode", "linear") + " "
                           + attr_str("coordinate_transformation_mode", "half_pixel_symmetric"),
                           "resize")],
                 [("x", dims)], [("y", [1, 1, oh, ow])],
                 [("scales", F32, [4], [1.0, 1.0, sh, sw])])
    return text, [("x", dims, x)], [("y", [1, 1, oh, ow], y)]


def group_norm(opset):
    dims = [2, 6, 2, 2]
    groups = 3
    x = rand(numel(dims), 6 + opset)
    count = 6 if opset < 21 else groups  # unused: keeps the seeds apart
    per = groups if opset < 21 else 6
    scale = rand(per, 40 + count)
    bias = rand(per, 50 + count)
    n, c, h, w = dims
    cg = c // groups
    y = [0.0] * len(x)
    for b in range(n):
        for g in range(groups):
            idx = [((b * c + ch) * h + i) * w + j
                   for ch in range(g * cg, (g + 1) * cg) for i in range(h) for j in range(w)]
            vals = [x[k] for k in idx]
            mean = sum(vals) / len(vals)
            var = sum((v - mean) ** 2 for v in vals) / len(vals)
            for k in idx:
                ch = (k // (h * w)) % c
                a = g if opset < 21 else ch
                y[k] = (x[k] - mean) / math.sqrt(var + 1e-5) * scale[a] + bias[a]
    text = model(opset, [node("GroupNormalization", ["x", "scale", "bias"], ["y"],
                              attr_int("num_groups", groups), "gn")],
                 [("x", dims)], [("y", dims)],
                 [("scale", F32, [per], scale), ("bias", F32, [per], bias)])
    return text, [("x", dims, x)], [("y", dims, y)]


def unary(name, opset, op, attrs, fn):
    dims = [3, 5]
    x = rand(15, 7) + []
    x[0], x[1] = 9.5, -9.5  # the tails of softplus and erf
    text = model(opset, [node(op, ["x"], ["y"], attrs, name)], [("x", dims)], [("y", dims)])
    return text, [("x", dims, x)], [("y", dims, [fn(v) for v in x])]


def softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


CASES = [
    ("split_num_outputs", split_num_outputs),
    ("pad_axes", pad_axes),
    ("pad_wrap", pad_wrap),
    ("resize_not_larger", resize_not_larger),
    ("resize_symmetric", resize_symmetric),
    ("group_norm_18", lambda: group_norm(18)),
    ("group_norm_21", lambda: group_norm(21)),
    ("mish", lambda: unary("mish", 18, "Mish", "", lambda v: v * math.tanh(softplus(v)))),
    ("gelu", lambda: unary("gelu", 20, "Gelu", "",
                           lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))),
    ("gelu_tanh", lambda: unary("gelu_tanh", 20, "Gelu", attr_str("approximate", "tanh"),
                                lambda v: 0.5 * v * (1 + math.tanh(
                                    math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))))),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    failed = 0
    for name, build in CASES:
        text, inputs, outputs = build()
        lib = compile_model(a.bin, a.work, name, text)
        if not lib:
            failed += 1
            continue
        as_f32 = lambda ts: [(n, F32, d, v) for n, d, v in ts]
        failed += expect(a.bin, a.work, lib, name, as_f32(inputs), as_f32(outputs),
                         1e-4, 1e-5)
    print("opset18_21: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
