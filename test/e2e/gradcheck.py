#!/usr/bin/env python3
"""Gradient check of every gradient rule of dlc's graph-autodiff.

Each case is one differentiable ONNX op (or a small variant of it: an
attribute, a broadcast, an optional input) alone in a graph whose float
inputs are initializers, followed by

    loss = sum_k ReduceSum(Mul(Y_k, R_k))        (R_k fixed random, frozen)

over the op's used outputs Y_k. Two libraries are compiled per case:

  * the float32 model with `dlc --train --freeze=R_k,...`: every float
    initializer not frozen is a trained parameter, and the runtime's
    dlc_model_compute_gradients gives d loss / d param (the analytic
    gradients, exactly what a training step applies);
  * the same graph with float64 tensors and the trained tensors as graph
    inputs, compiled without --train: the loss is evaluated at p + h e_i and
    p - h e_i (in-process, through libdlcrt with ctypes) for entry 0 and up
    to 7 random entries of every trained tensor, giving the central finite
    difference (loss(p + h e_i) - loss(p - h e_i)) / 2h.

Both models compute the same function (the float32 parameters are exact in
float64), so a wrong rule shows as a mismatch. The test also compiles every
case with `--emit=graph --train`, collects the graph ops of the function
@forward (the graph that graph-autodiff differentiates, less the ops of the
loss) and checks that every op of `dlc --list-gradient-rules` is exercised
by at least one case.

A case also fails when the two forwards disagree on the loss, or when the
forward model writes into one of its inputs (both forward bugs that would
make the comparison meaningless; the inputs are restored before every run).
Cases marked `unsupported` (variants dlc says it cannot differentiate yet)
and `pending_ok` (recurrent, when "no gradient rule") are reported, not
failed.

No numpy or onnx package: the models are ONNX textproto encoded by protoc
(as test/lit.cfg.py does), random values come from `random` with a fixed
seed, tensors are `array`s handed to the runtime through ctypes.

Usage: gradcheck.py --bin BUILD/tools --runtime BUILD/runtime/libdlcrt.so
--work DIR [--verbose] [CASE_REGEX ...]. Exit status 1 when a case fails or
a rule has no case."""
import argparse
import ctypes
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from array import array
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

SEED = 20240611

# ONNX TensorProto.DataType values.
FLOAT, INT64, BOOL_T, DOUBLE = 1, 7, 9, 11


class FT:
    """Placeholder for the model's float element type in an attribute
    (Cast's `to`): FLOAT in the float32 model, DOUBLE in the float64 one."""


# --- tolerances -------------------------------------------------------------
# The finite difference is computed in float64 with h = H_REL * max(1, |p_i|)
# (inputs are of magnitude ~1): its truncation error is ~h^2/6 * |L'''|, ~2e-9
# relative, and its rounding error ~eps64 * |L| / h, ~1e-12: it is exact to
# ~1e-8 for the purpose. The analytic gradient is computed in float32: each
# entry is a sum of at most a few hundred products of float32 values, so its
# error is at most a few hundred eps32 (6e-8) of the magnitude of its terms,
# ~1e-5 of the gradient's scale, and usually ~1e-7 (measured: every correct
# case stays below 0.002 of the tolerance below, most below 0.0003). A wrong
# rule (a missing term, a wrong factor, a misrouted element) is off by a
# sizable part of the gradient's scale. Hence
#     |g_analytic - g_fd| <= ATOL_REL * scale + RTOL * |g_fd|
# with RTOL = 1e-3, ATOL_REL = 1e-4 and scale = the largest |g_fd| among the
# checked entries of that tensor (never below 1e-6 of the case's largest, so
# that an entry whose gradient is legitimately ~0 is held to the float32
# rounding noise of the tensor's terms, not to 0).
H_REL = 1e-4
RTOL = 1e-3
ATOL_REL = 1e-4
# Cases whose forward dlc cannot compile in float64 (Case.fd32 says why) use
# float32 finite differences: their rounding error is ~eps32 * sum|terms of
# L| / 2h, which asks for a larger h (1e-2: ~1.5e-4 absolute for losses of
# ~50 terms of magnitude 1) and brings a truncation error ~h^2/6 * |L'''|
# (~2e-5 relative); RTOL32 = ATOL_REL32 = 1e-2 leave a margin of 10 or more
# over both.
H_REL32 = 1e-2
RTOL32 = 1e-2
ATOL_REL32 = 1e-2
# No input lies within KINK_MARGIN of a point where the op is not
# differentiable (relu/abs/elu/... at 0, clip at its bounds, hard_sigmoid and
# hard_swish at their corners, thresholded_relu at alpha): values drawn
# closer are moved to 1.5 KINK_MARGIN from it, on their side. Gen.distinct
# keeps the inputs of max/min and max pooling at least 0.05 apart (no ties).
# 0.05 is over 3h for every float64 FD (|p| < 160) and for float32 FD of
# |p| < 1.6 (whose cases have no kinks): both evaluations of an entry see the
# same branch.
KINK_MARGIN = 0.05
ENTRIES_PER_TENSOR = 8


# --- values -----------------------------------------------------------------
def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


class Tensor:
    """A tensor of a case. role: 'param' (trained; a graph input of the
    float64 model), 'const' (a frozen float initializer), 'int' (int64) or
    'bool'."""

    def __init__(self, name, dims, role, values):
        self.name, self.dims, self.role = name, list(dims), role
        self.values = list(values)
        assert len(self.values) == numel(dims), (name, dims, len(self.values))


class Gen:
    """Random values with the case's own seeded generator."""

    def __init__(self, rng):
        self.rng = rng

    def uniform(self, dims, lo=-1.0, hi=1.0, kinks=()):
        out = []
        for _ in range(numel(dims)):
            v = self.rng.uniform(lo, hi)
            for k in kinks:  # shift away from the kink, keeping the side
                if abs(v - k) < KINK_MARGIN:
                    v = k + (KINK_MARGIN if v >= k else -KINK_MARGIN) * 1.5
            out.append(f32(v))
        return out

    def signed(self, dims, lo, hi):
        """Magnitudes in [lo, hi], random signs (away from 0: denominators)."""
        return [f32(self.rng.choice((-1, 1)) * self.rng.uniform(lo, hi))
                for _ in range(numel(dims))]

    def distinct(self, *dims_list, step=0.05):
        """Tensors whose entries are all distinct, any two at least `step`
        apart (no ties, no near-ties: max/min, max pooling)."""
        total = sum(numel(d) for d in dims_list)
        grid = [(i - total / 2) * step for i in range(total)]
        self.rng.shuffle(grid)
        out, pos = [], 0
        for d in dims_list:
            out.append([f32(v) for v in grid[pos:pos + numel(d)]])
            pos += numel(d)
        return out if len(out) > 1 else out[0]


# --- cases ------------------------------------------------------------------
# A compile error naming one of these is a missing rule (or variant of one).
UNSUPPORTED_MARKERS = ("no gradient rule", "not supported")


class Case:
    """nodes: [(op_type, [inputs], [outputs], {attrs})]; tensors: [Tensor];
    outputs: [(name, dims)], the outputs in the loss.
    fd32: why the finite differences use float32 (None: float64).
    pending_ok: the rule is being added; "no gradient rule" reports the case
    as pending instead of failing.
    unsupported: a variant dlc says it cannot differentiate yet (why): its
    "not supported"/"no gradient rule" error is reported, not a failure, and
    a loud warning asks to remove the mark once it compiles.
    waits_for: the graph ops whose rule the pending/unsupported case would
    check."""

    def __init__(self, name, nodes, tensors, outputs, fd32=None, pending_ok=False,
                 unsupported=None, waits_for=()):
        self.name, self.nodes, self.tensors, self.outputs = name, nodes, tensors, outputs
        self.fd32, self.pending_ok, self.unsupported = fd32, pending_ok, unsupported
        self.waits_for = set(waits_for)


def node(op, inputs, outputs, **attrs):
    return (op, list(inputs), list(outputs), attrs)


CASES = []


def case(fn):
    """Registers a case builder: fn() -> [Case]. Each case draws its values
    from G(its name), so that adding a case changes no other case."""
    CASES.append(fn)
    return fn


def make_cases(only=None):
    cases = []
    for fn in CASES:
        for c in fn():
            if only and not any(re.fullmatch(p, c.name) for p in only):
                continue
            cases.append(c)
    return cases


def G(name):
    return Gen(random.Random(f"{SEED}:{name}"))


def P(name, dims, values):
    return Tensor(name, dims, "param", values)


def C(name, dims, values):
    return Tensor(name, dims, "const", values)


def I(name, dims, values):
    return Tensor(name, dims, "int", values)


def simple(name, op, params, out_dims, consts=(), ints=(), outputs=("Y",), fd32=None,
           **attrs):
    """One node `op` whose inputs are the params [(name, dims, values)], then
    the consts, then the ints, in that order; out_dims: the output's dims, or
    a list of them when there are several outputs."""
    tensors = [P(n, d, v) for n, d, v in params] + [C(n, d, v) for n, d, v in consts] + \
        [I(n, d, v) for n, d, v in ints]
    inputs = [t.name for t in tensors]
    if len(outputs) == 1:
        out_dims = [out_dims]
    return Case(name, [node(op, inputs, outputs, **attrs)], tensors,
                list(zip(outputs, out_dims)), fd32=fd32)


@case
def binary_cases():
    out = []
    variants = [("bcast_last", [2, 3, 4], [4], [2, 3, 4]),
                ("bcast_lhs_col", [3, 1], [2, 3, 4], [2, 3, 4]),
                ("same", [2, 3], [2, 3], [2, 3])]
    for op in ("Add", "Sub", "Mul", "Div", "Pow"):
        for tag, da, db, dy in variants:
            name = f"{op.lower()}_{tag}"
            g = G(name)
            if op == "Div":
                a, b = g.uniform(da), g.signed(db, 0.5, 1.5)
            elif op == "Pow":  # positive base: d/dexponent = x^p log x
                a, b = g.uniform(da, 0.5, 1.5), g.uniform(db, -1.5, 2.5)
            else:
                a, b = g.uniform(da), g.uniform(db)
            out.append(simple(name, op, [("A", da, a), ("B", db, b)], dy))
    # x^3 and x^2 with a constant exponent and a base of either sign (the
    # derivative p * x^(p-1) at a negative base).
    for p in (2.0, 3.0):
        name = f"pow_const{int(p)}_neg_base"
        g = G(name)
        out.append(simple(name, "Pow", [("A", [2, 3], g.signed([2, 3], 0.3, 1.5))], [2, 3],
                          consts=[("E", [], [p])]))
    for op in ("Max", "Min"):
        name = f"{op.lower()}_bcast"
        a, b = G(name).distinct([2, 3, 4], [4])
        out.append(simple(name, op, [("A", [2, 3, 4], a), ("B", [4], b)], [2, 3, 4]))
        name = f"{op.lower()}_3_inputs"
        a, b, c = G(name).distinct([3, 4], [4], [3, 1])
        out.append(simple(name, op, [("A", [3, 4], a), ("B", [4], b), ("C", [3, 1], c)],
                          [3, 4]))
    g = G("where_bcast")
    cond = [g.rng.random() < 0.5 for _ in range(12)]
    out.append(Case("where_bcast", [node("Where", ["cond", "A", "B"], ["Y"])],
                    [Tensor("cond", [3, 4], "bool", cond),
                     P("A", [2, 3, 4], g.uniform([2, 3, 4])), P("B", [4], g.uniform([4]))],
                    [("Y", [2, 3, 4])]))
    return out


# (op, attrs, value range, kinks)
UNARY = [
    ("Relu", {}, (-1, 1), (0,)),
    ("Sigmoid", {}, (-3, 3), ()),
    ("Tanh", {}, (-2, 2), ()),
    ("LeakyRelu", {"alpha": 0.1}, (-1, 1), (0,)),
    ("Neg", {}, (-1, 1), ()),
    ("Identity", {}, (-1, 1), ()),
    ("Exp", {}, (-2, 2), ()),
    ("Log", {}, (0.2, 2), ()),
    ("Sqrt", {}, (0.2, 2), ()),
    ("Reciprocal", {}, None, ()),  # signed, magnitudes [0.4, 1.5]
    ("Abs", {}, (-1, 1), (0,)),
    ("Sin", {}, (-3, 3), ()),
    ("Cos", {}, (-3, 3), ()),
    ("Erf", {}, (-2, 2), ()),
    ("Softplus", {}, (-3, 3), ()),
    ("Softsign", {}, (-2, 2), (0,)),
    ("Elu", {"alpha": 0.7}, (-2, 2), (0,)),
    ("Selu", {}, (-2, 2), (0,)),
    ("Celu", {"alpha": 1.5}, (-2, 2), (0,)),
    ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}, (-4, 4), (-1.6, 2.4)),
    ("HardSwish", {}, (-4.5, 4.5), (-3, 3)),
    ("ThresholdedRelu", {"alpha": 0.5}, (-1.5, 1.5), (0.5,)),
    ("Sinh", {}, (-2, 2), ()),
    ("Cosh", {}, (-2, 2), ()),
    ("Atan", {}, (-2, 2), ()),
]


@case
def unary_cases():
    out = []
    for op, attrs, rng, kinks in UNARY:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()
        g = G(name)
        dims = [3, 4]
        x = g.signed(dims, 0.4, 1.5) if rng is None else g.uniform(dims, *rng, kinks=kinks)
        out.append(simple(name, op, [("X", dims, x)], dims, **attrs))
    # Clip (opset 11+: min and max are inputs), both bounds and min only.
    g = G("clip_min_max")
    out.append(simple("clip_min_max", "Clip",
                      [("X", [3, 4], g.uniform([3, 4], -1, 1, kinks=(-0.5, 0.6)))], [3, 4],
                      consts=[("lo", [], [-0.5]), ("hi", [], [0.6])]))
    g = G("clip_min_only")
    out.append(Case("clip_min_only", [node("Clip", ["X", "lo"], ["Y"])],
                    [P("X", [3, 4], g.uniform([3, 4], -1, 1, kinks=(-0.25,))),
                     C("lo", [], [-0.25])], [("Y", [3, 4])]))
    # Cast to double and back (the float64 model casts double to double).
    g = G("cast_f64_roundtrip")
    out.append(Case("cast_f64_roundtrip",
                    [node("Cast", ["X"], ["D"], to=DOUBLE), node("Cast", ["D"], ["Y"], to=FT)],
                    [P("X", [3, 4], g.uniform([3, 4]))], [("Y", [3, 4])]))
    return out


@case
def matmul_cases():
    out = []
    for name, da, db, dy in [("matmul_2d", [3, 4], [4, 5], [3, 5]),
                             ("matmul_batched_bcast", [2, 1, 3, 4], [3, 4, 5], [2, 3, 3, 5]),
                             ("matmul_bcast_rhs_2d", [2, 3, 4], [4, 5], [2, 3, 5])]:
        g = G(name)
        out.append(simple(name, "MatMul", [("A", da, g.uniform(da)), ("B", db, g.uniform(db))],
                          dy))
    name = "gemm_transA_transB_alpha_beta"
    g = G(name)
    out.append(simple(name, "Gemm", [("A", [4, 3], g.uniform([4, 3])),
                                     ("B", [5, 4], g.uniform([5, 4])),
                                     ("C", [5], g.uniform([5]))], [3, 5],
                      transA=1, transB=1, alpha=0.7, beta=1.3))
    name = "gemm_plain_bias_col"
    g = G(name)
    out.append(simple(name, "Gemm", [("A", [3, 4], g.uniform([3, 4])),
                                     ("B", [4, 5], g.uniform([4, 5])),
                                     ("C", [3, 1], g.uniform([3, 1]))], [3, 5]))
    name = "gemm_transB_no_bias"
    g = G(name)
    out.append(simple(name, "Gemm", [("A", [3, 4], g.uniform([3, 4])),
                                     ("B", [5, 4], g.uniform([5, 4]))], [3, 5], transB=1))
    # Einsum: contractions (batched, to a scalar) and a letter only one input
    # has (j of "ij->i": summed out of A alone).
    for name, equation, dims, dy in [
            ("einsum_matmul", "ij,jk->ik", [[3, 4], [4, 5]], [3, 5]),
            ("einsum_batched_sum_only", "bij,bjk,k->bi", [[2, 3, 4], [2, 4, 5], [5]], [2, 3]),
            ("einsum_dot_scalar", "ij,ij->", [[3, 4], [3, 4]], []),
            ("einsum_row_sum", "ij->i", [[3, 4]], [3])]:
        g = G(name)
        names = ["A", "B", "C"][:len(dims)]
        out.append(simple(name, "Einsum", [(n, d, g.uniform(d)) for n, d in zip(names, dims)],
                          dy, equation=equation))
    return out


@case
def conv_cases():
    out = []
    # (name, x, w, bias?, y, attrs)
    specs = [
        ("conv_pad1_bias", [2, 3, 5, 5], [4, 3, 3, 3], True, [2, 4, 5, 5],
         dict(pads=[1, 1, 1, 1])),
        ("conv_stride2_pad1", [1, 2, 7, 7], [3, 2, 3, 3], False, [1, 3, 4, 4],
         dict(strides=[2, 2], pads=[1, 1, 1, 1])),
        ("conv_stride2_asym_pads", [1, 2, 7, 6], [3, 2, 3, 3], True, [1, 3, 4, 3],
         dict(strides=[2, 2], pads=[1, 0, 2, 1])),
        ("conv_dilation2", [1, 2, 7, 7], [2, 2, 3, 3], False, [1, 2, 5, 5],
         dict(dilations=[2, 2], pads=[1, 1, 1, 1])),
        ("conv_group2_stride2_bias", [2, 4, 5, 5], [6, 2, 3, 3], True, [2, 6, 3, 3],
         dict(group=2, strides=[2, 2], pads=[1, 1, 1, 1])),
        ("conv_depthwise", [1, 3, 5, 5], [3, 1, 3, 3], True, [1, 3, 3, 3], dict(group=3)),
        ("conv_stride2_dilation2_group2", [1, 4, 9, 8], [4, 2, 3, 2], True, [1, 4, 4, 4],
         dict(group=2, strides=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])),
        ("conv1d_stride2_pad1", [2, 3, 8], [4, 3, 3], True, [2, 4, 4],
         dict(strides=[2], pads=[1, 1])),
        ("conv_transpose_stride2_pads_outpad", [1, 2, 3, 3], [2, 3, 3, 3], True, [1, 3, 6, 6],
         dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])),
        ("conv_transpose_group2", [1, 4, 3, 3], [4, 1, 2, 2], False, [1, 2, 6, 6],
         dict(group=2, strides=[2, 2])),
        ("conv_transpose_asym", [1, 2, 3, 3], [2, 3, 3, 2], True, [1, 3, 7, 3],
         dict(strides=[2, 1], pads=[0, 1, 1, 0], output_padding=[1, 0])),
    ]
    for name, dx, dw, bias, dy, attrs in specs:
        g = G(name)
        params = [("X", dx, g.uniform(dx)), ("W", dw, g.uniform(dw))]
        if bias:
            nb = dw[1] * attrs.get("group", 1) if "transpose" in name else dw[0]
            params.append(("B", [nb], g.uniform([nb])))
        op = "ConvTranspose" if "transpose" in name else "Conv"
        out.append(simple(name, op, params, dy, **attrs))
    return out


@case
def pool_cases():
    out = []
    specs = [
        ("maxpool_k3_s2_pad1_ceil", "MaxPool", [1, 2, 6, 6], [1, 2, 4, 4],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
        ("maxpool_k2_s1_overlap", "MaxPool", [2, 1, 4, 5], [2, 1, 3, 4],
         dict(kernel_shape=[2, 2])),
        ("maxpool_k3_s2_ceil_nopad", "MaxPool", [1, 1, 6, 6], [1, 1, 3, 3],
         dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
        # Windows that tile the input (the laid-out gradient), one with a
        # leftover row and column that no window reads.
        ("maxpool_k2_s2_tiles", "MaxPool", [2, 3, 4, 6], [2, 3, 2, 3],
         dict(kernel_shape=[2, 2], strides=[2, 2])),
        ("maxpool_k2x3_tiles_leftover", "MaxPool", [1, 2, 5, 7], [1, 2, 2, 2],
         dict(kernel_shape=[2, 3], strides=[2, 3])),
        ("avgpool_k3_s2_pad1_include_pad", "AveragePool", [1, 2, 5, 5], [1, 2, 3, 3],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
        ("avgpool_k3_s2_pad1_exclude_pad", "AveragePool", [1, 2, 5, 5], [1, 2, 3, 3],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)),
        ("avgpool_k3_s2_pad1_ceil_exclude_pad", "AveragePool", [1, 1, 6, 6], [1, 1, 4, 4],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
              count_include_pad=0)),
        ("avgpool_k3_s2_pad1_ceil_include_pad", "AveragePool", [1, 1, 6, 6], [1, 1, 4, 4],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
              count_include_pad=1)),
        ("avgpool_k2_s2", "AveragePool", [2, 3, 4, 4], [2, 3, 2, 2],
         dict(kernel_shape=[2, 2], strides=[2, 2])),
        ("global_avgpool", "GlobalAveragePool", [2, 3, 4, 5], [2, 3, 1, 1], {}),
    ]
    for name, op, dx, dy, attrs in specs:
        g = G(name)
        x = g.distinct(dx) if op == "MaxPool" else g.uniform(dx)
        # dlc cannot compile AveragePool in float64 ("'arith.truncf' op operand
        # type 'tensor<...xf32>' and result type 'tensor<...xf64>' are cast
        # incompatible"): its finite differences use float32, with the larger
        # h and looser tolerance of H_REL32 (the op is linear, so the
        # float32 FD has no truncation error, only rounding).
        fd32 = "AveragePool does not compile in float64" if op == "AveragePool" else None
        out.append(simple(name, op, [("X", dx, x)], dy, fd32=fd32, **attrs))
    return out


@case
def norm_cases():
    out = []
    for name, op, axis, dims in [("softmax_axis1", "Softmax", 1, [2, 3, 4]),
                                 ("softmax_last", "Softmax", -1, [3, 5]),
                                 ("logsoftmax_last", "LogSoftmax", -1, [2, 3, 4]),
                                 ("logsoftmax_axis0", "LogSoftmax", 0, [3, 5])]:
        g = G(name)
        out.append(simple(name, op, [("X", dims, g.uniform(dims, -2, 2))], dims, axis=axis))
    # LayerNormalization (opset 17): Y, Mean, InvStdDev.
    g = G("layernorm_last")
    out.append(simple("layernorm_last", "LayerNormalization",
                      [("X", [2, 3, 4], g.uniform([2, 3, 4], -2, 2)),
                       ("S", [4], g.uniform([4], 0.5, 1.5)), ("B", [4], g.uniform([4]))],
                      [2, 3, 4], axis=-1))
    g = G("layernorm_axis1_eps_nobias")
    out.append(simple("layernorm_axis1_eps_nobias", "LayerNormalization",
                      [("X", [2, 3, 4], g.uniform([2, 3, 4], -2, 2)),
                       ("S", [3, 4], g.uniform([3, 4], 0.5, 1.5))],
                      [2, 3, 4], axis=1, epsilon=1e-3))
    g = G("layernorm_all_outputs")
    out.append(simple("layernorm_all_outputs", "LayerNormalization",
                      [("X", [2, 3, 4], g.uniform([2, 3, 4], -2, 2)),
                       ("S", [4], g.uniform([4], 0.5, 1.5)), ("B", [4], g.uniform([4]))],
                      [[2, 3, 4], [2, 3, 1], [2, 3, 1]], outputs=("Y", "Mean", "InvStd"),
                      axis=-1))
    # BatchNormalization in training mode: batch statistics; the running
    # mean/var inputs are frozen and only Y enters the loss (the running
    # statistics are buffers, not differentiated).
    for name, dx in [("batchnorm_training_4d", [4, 3, 2, 2]), ("batchnorm_training_2d", [6, 3])]:
        g = G(name)
        out.append(Case(name, [node("BatchNormalization", ["X", "S", "B", "mean", "var"],
                                    ["Y", "running_mean", "running_var"],
                                    training_mode=1, epsilon=1e-3, momentum=0.9)],
                        [P("X", dx, g.uniform(dx, -2, 2)), P("S", [3], g.uniform([3], 0.5, 1.5)),
                         P("B", [3], g.uniform([3])), C("mean", [3], g.uniform([3])),
                         C("var", [3], g.uniform([3], 0.5, 1.5))],
                        [("Y", dx)]))
    # Inference mode (graph.batch_norm, the running statistics). dlc never
    # trains BatchNorm's mean/var (they are not parameters even unfrozen), so
    # the rule's mean/var gradients cannot be reached from ONNX.
    g = G("batchnorm_inference")
    out.append(Case("batchnorm_inference",
                    [node("BatchNormalization", ["X", "S", "B", "mean", "var"], ["Y"],
                          epsilon=1e-3)],
                    [P("X", [2, 3, 2, 2], g.uniform([2, 3, 2, 2])),
                     P("S", [3], g.uniform([3], 0.5, 1.5)), P("B", [3], g.uniform([3])),
                     C("mean", [3], g.uniform([3])), C("var", [3], g.uniform([3], 0.5, 1.5))],
                    [("Y", [2, 3, 2, 2])]))
    return out


@case
def shape_cases():
    out = []
    g = G("reshape")
    out.append(simple("reshape", "Reshape", [("X", [2, 3, 4], g.uniform([2, 3, 4]))], [4, 6],
                      ints=[("shape", [2], [4, -1])]))
    g = G("flatten_axis2")
    out.append(simple("flatten_axis2", "Flatten", [("X", [2, 3, 4, 5], g.uniform([2, 3, 4, 5]))],
                      [6, 20], axis=2))
    g = G("transpose")
    out.append(simple("transpose", "Transpose", [("X", [2, 3, 4], g.uniform([2, 3, 4]))],
                      [4, 2, 3], perm=[2, 0, 1]))
    g = G("squeeze")
    out.append(simple("squeeze", "Squeeze", [("X", [2, 1, 4], g.uniform([2, 1, 4]))], [2, 4],
                      ints=[("axes", [1], [1])]))
    g = G("unsqueeze")
    out.append(simple("unsqueeze", "Unsqueeze", [("X", [2, 4], g.uniform([2, 4]))], [2, 1, 4, 1],
                      ints=[("axes", [2], [1, -1])]))
    g = G("concat_axis1")
    out.append(simple("concat_axis1", "Concat",
                      [("A", [2, 1, 4], g.uniform([2, 1, 4])), ("B", [2, 3, 4], g.uniform([2, 3, 4])),
                       ("C", [2, 2, 4], g.uniform([2, 2, 4]))], [2, 6, 4], axis=1))
    g = G("concat_last")
    out.append(simple("concat_last", "Concat",
                      [("A", [3, 2], g.uniform([3, 2])), ("B", [3, 3], g.uniform([3, 3]))], [3, 5],
                      axis=-1))
    g = G("split_sizes")
    out.append(simple("split_sizes", "Split", [("X", [2, 6, 3], g.uniform([2, 6, 3]))],
                      [[2, 1, 3], [2, 2, 3], [2, 3, 3]], ints=[("split", [3], [1, 2, 3])],
                      outputs=("Y0", "Y1", "Y2"), axis=1))
    g = G("split_even_last")
    out.append(simple("split_even_last", "Split", [("X", [2, 3, 4], g.uniform([2, 3, 4]))],
                      [[2, 3, 2], [2, 3, 2]], outputs=("Y0", "Y1"), axis=-1))
    g = G("slice_axes_neg_start")
    out.append(simple("slice_axes_neg_start", "Slice", [("X", [4, 5, 6], g.uniform([4, 5, 6]))],
                      [2, 5, 4], ints=[("starts", [2], [1, -4]), ("ends", [2], [3, 100]),
                                       ("axes", [2], [0, 2]), ("steps", [2], [1, 1])]))
    g = G("slice_default_axes")
    out.append(simple("slice_default_axes", "Slice", [("X", [4, 5, 6], g.uniform([4, 5, 6]))],
                      [2, 3, 3], ints=[("starts", [3], [0, 1, 2]), ("ends", [3], [2, 4, 5])]))
    g = G("pad_constant")
    out.append(simple("pad_constant", "Pad", [("X", [2, 3], g.uniform([2, 3]))], [5, 4],
                      consts=[("value", [], [0.5])], ints=[("pads", [4], [1, 0, 2, 1])],
                      mode="constant"))
    # Pad's inputs are data, pads, constant_value: reorder (consts come before ints).
    out[-1].nodes = [node("Pad", ["X", "pads", "value"], ["Y"], mode="constant")]
    g = G("pad_constant_4d")
    out.append(simple("pad_constant_4d", "Pad", [("X", [1, 2, 3, 3], g.uniform([1, 2, 3, 3]))],
                      [1, 2, 6, 4], ints=[("pads", [8], [0, 0, 1, 0, 0, 0, 2, 1])]))
    # Variants the rules of graph.slice and graph.pad refuse for now.
    g = G("slice_step2")
    out.append(simple("slice_step2", "Slice", [("X", [4, 5], g.uniform([4, 5]))], [4, 2],
                      ints=[("starts", [1], [0]), ("ends", [1], [4]), ("axes", [1], [1]),
                            ("steps", [1], [2])]))
    g = G("pad_negative_crop")
    out.append(simple("pad_negative_crop", "Pad", [("X", [3, 4], g.uniform([3, 4]))], [4, 2],
                      ints=[("pads", [4], [1, -1, 0, -1])]))
    g = G("pad_reflect")
    out.append(simple("pad_reflect", "Pad", [("X", [3, 4], g.uniform([3, 4]))], [3, 6],
                      ints=[("pads", [4], [0, 1, 0, 1])], mode="reflect"))
    g = G("pad_reflect_2d")
    out.append(simple("pad_reflect_2d", "Pad", [("X", [1, 4, 5], g.uniform([1, 4, 5]))],
                      [1, 7, 8], ints=[("pads", [6], [0, 2, 1, 0, 1, 2])], mode="reflect"))
    g = G("pad_edge")
    out.append(simple("pad_edge", "Pad", [("X", [3, 4], g.uniform([3, 4]))], [6, 5],
                      ints=[("pads", [4], [2, 0, 1, 1])], mode="edge"))
    g = G("slice_step3_neg_step")
    out.append(simple("slice_step3_neg_step", "Slice", [("X", [7, 6], g.uniform([7, 6]))],
                      [3, 2], ints=[("starts", [2], [0, 5]), ("ends", [2], [7, 0]),
                                    ("axes", [2], [0, 1]), ("steps", [2], [3, -3])]))
    # Resize: every interpolation, scales as a constant input (roi empty).
    for name, mode, extra, out_hw in [
            ("resize_nearest_x2", "nearest", {}, [6, 8]),
            ("resize_linear_half_pixel", "linear", {}, [6, 8]),
            ("resize_linear_align_corners", "linear",
             {"coordinate_transformation_mode": "align_corners"}, [6, 8]),
            ("resize_cubic", "cubic", {}, [6, 8]),
            ("resize_linear_down", "linear", {}, [1, 2])]:
        g = G(name)
        scale = [out_hw[0] / 3, out_hw[1] / 4]
        out.append(simple(name, "Resize", [("X", [1, 2, 3, 4], g.uniform([1, 2, 3, 4]))],
                          [1, 2] + out_hw, consts=[("scales", [4], [1.0, 1.0] + scale)],
                          fd32="Resize does not compile in float64"))
        out[-1].nodes = [node("Resize", ["X", "", "scales"], ["Y"], mode=mode, **extra)]
    g = G("expand")
    out.append(simple("expand", "Expand", [("X", [3, 1], g.uniform([3, 1]))], [2, 3, 4],
                      ints=[("shape", [3], [2, 3, 4])]))
    g = G("expand_bidirectional")
    out.append(simple("expand_bidirectional", "Expand", [("X", [1, 4], g.uniform([1, 4]))],
                      [3, 4], ints=[("shape", [2], [3, 1])]))
    # Gather: repeated and negative indices (their gradients add up).
    g = G("gather_axis0")
    out.append(simple("gather_axis0", "Gather", [("X", [5, 4], g.uniform([5, 4]))], [2, 3, 4],
                      ints=[("idx", [2, 3], [0, -1, 2, 2, 4, 0])], axis=0))
    g = G("gather_axis1")
    out.append(simple("gather_axis1", "Gather", [("X", [3, 5], g.uniform([3, 5]))], [3, 4],
                      ints=[("idx", [4], [-1, 1, 1, 0])], axis=1))
    g = G("gather_scalar_index")
    out.append(simple("gather_scalar_index", "Gather", [("X", [3, 4], g.uniform([3, 4]))], [4],
                      ints=[("idx", [], [-2])], axis=0))
    g = G("gather_elements_axis0")
    out.append(simple("gather_elements_axis0", "GatherElements",
                      [("X", [3, 4], g.uniform([3, 4]))], [2, 4],
                      ints=[("idx", [2, 4], [0, 2, 1, 0, 0, 2, 2, 1])], axis=0))
    g = G("gather_elements_axis1_neg")
    out.append(simple("gather_elements_axis1_neg", "GatherElements",
                      [("X", [3, 4], g.uniform([3, 4]))], [3, 3],
                      ints=[("idx", [3, 3], [3, -1, 0, 1, 1, 2, -4, 0, 0])], axis=1))
    return out


@case
def reduce_cases():
    out = []
    specs = [  # (name, op, axes, keepdims, out dims); ReduceSum takes axes as an input
        ("reduce_sum_axis1_keep", "ReduceSum", [1], 1, [2, 1, 4]),
        ("reduce_sum_axes02", "ReduceSum", [0, 2], 0, [3]),
        ("reduce_sum_all", "ReduceSum", None, 0, []),
        ("reduce_mean_last", "ReduceMean", [-1], 0, [2, 3]),
        ("reduce_mean_axes02_keep", "ReduceMean", [0, 2], 1, [1, 3, 1]),
        ("reduce_sum_square_axis1", "ReduceSumSquare", [1], 0, [2, 4]),
        ("reduce_l2_last_keep", "ReduceL2", [2], 1, [2, 3, 1]),
        ("reduce_l2_all", "ReduceL2", None, 0, []),
        ("reduce_log_sum_exp_axes01", "ReduceLogSumExp", [0, 1], 0, [4]),
        ("reduce_log_sum_exp_keep", "ReduceLogSumExp", [1], 1, [2, 1, 4]),
    ]
    for name, op, axes, keep, dy in specs:
        g = G(name)
        params = [("X", [2, 3, 4], g.uniform([2, 3, 4], -2, 2))]
        if op == "ReduceSum":
            ints = [("axes", [len(axes)], axes)] if axes else []
            out.append(simple(name, op, params, dy, ints=ints, keepdims=keep))
        elif axes is None:
            out.append(simple(name, op, params, dy, keepdims=keep))
        else:
            out.append(simple(name, op, params, dy, axes=axes, keepdims=keep))
    return out


@case
def loss_cases():
    out = []
    g = G("sce_mean")
    out.append(simple("sce_mean", "SoftmaxCrossEntropyLoss",
                      [("X", [4, 5], g.uniform([4, 5], -2, 2))], [],
                      ints=[("labels", [4], [1, 4, 0, 1])]))
    g = G("sce_sum_weights")
    out.append(Case("sce_sum_weights",
                    [node("SoftmaxCrossEntropyLoss", ["X", "labels", "w"], ["Y"],
                          reduction="sum")],
                    [P("X", [4, 5], g.uniform([4, 5], -2, 2)), I("labels", [4], [3, 2, 2, 0]),
                     C("w", [5], g.uniform([5], 0.5, 1.5))], [("Y", [])]))
    g = G("sce_nd_ignore_logprob")
    out.append(Case("sce_nd_ignore_logprob",
                    [node("SoftmaxCrossEntropyLoss", ["X", "labels"], ["Y", "LogProb"],
                          ignore_index=1)],
                    [P("X", [2, 4, 3], g.uniform([2, 4, 3], -2, 2)),
                     I("labels", [2, 3], [0, 1, 3, 2, 2, 1])],
                    [("Y", []), ("LogProb", [2, 4, 3])]))
    g = G("sce_none")
    out.append(Case("sce_none",
                    [node("SoftmaxCrossEntropyLoss", ["X", "labels"], ["Y"], reduction="none")],
                    [P("X", [3, 4], g.uniform([3, 4], -2, 2)), I("labels", [3], [2, 0, 3])],
                    [("Y", [3])]))
    return out


# ONNX's recurrent activations (as dlc applies them, alpha and beta resolved
# per activation) and the inputs where they are not differentiable, or not
# twice (Elu, Softsign at 0: a finite difference straddling such a point
# errs by ~h); activation_alpha/_beta list the parameters of the
# activations that take them, in order.
# The activations' inputs are computed, not drawn: a draw is kept when none
# lies within RNN_KINK_MARGIN of a kink or of +-clip. Perturbing one entry by
# h moves an input by |d input / d entry| h, of order h (inputs, states and
# weights are below 1 in magnitude), so 0.01 is still over 30 h (KINK_MARGIN
# would leave hardly any draw of a clipped LSTM's 90 inputs).
RNN_KINK_MARGIN = 0.01
RNN_ALPHA = {"LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Affine"}
RNN_BETA = {"ScaledTanh", "HardSigmoid", "Affine"}


def rnn_activation(name, a, b, x):
    if name == "Sigmoid":
        return 1 / (1 + math.exp(-x))
    if name == "Tanh":
        return math.tanh(x)
    if name == "Relu":
        return max(x, 0.0)
    if name == "LeakyRelu":
        return x if x >= 0 else a * x
    if name == "ThresholdedRelu":
        return x if x > a else 0.0
    if name == "ScaledTanh":
        return a * math.tanh(b * x)
    if name == "HardSigmoid":
        return min(max(a * x + b, 0.0), 1.0)
    if name == "Elu":
        return x if x > 0 else a * (math.exp(x) - 1)
    if name == "Softsign":
        return x / (1 + abs(x))
    if name == "Softplus":
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    if name == "Affine":
        return a * x + b
    raise ValueError(name)


def rnn_kinks(name, a, b):
    if name in ("Relu", "LeakyRelu", "Elu", "Softsign"):
        return (0.0,)
    if name == "ThresholdedRelu":
        return (a,)
    if name == "HardSigmoid":
        return (-b / a, (1 - b) / a)
    return ()


def rnn_activation_inputs(op, H, direction, lbr, clip, acts, v, T, N, In):
    """Every activation input (before the clip) of the forward of ONNX's
    RNN/GRU/LSTM, in float64, as (activation, value): the values `v` by
    tensor name (W [D, G*H, In], R [D, G*H, H], B, h0, c0, peep as in the
    ONNX op)."""
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    per = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
    D = 2 if direction == "bidirectional" else 1
    seen = []
    for d in range(D):
        def act(k, x):
            spec = acts[d * per + k]
            seen.append((spec, x))
            if clip is not None:
                x = min(max(x, -clip), clip)
            return rnn_activation(*spec, x)

        def w(row, i):
            return v["X_W"][(d * G * H + row) * In + i]

        def r(row, j):
            return v["R"][(d * G * H + row) * H + j]

        def wb(row):
            return v["B"][d * 2 * G * H + row] if "B" in v else 0.0

        def rb(row):
            return v["B"][d * 2 * G * H + G * H + row] if "B" in v else 0.0

        def p(k, j):
            return v["peep"][d * 3 * H + k * H + j] if "peep" in v else 0.0

        def state(key):
            return [[v[key][(d * N + n) * H + j] if key in v else 0.0 for j in range(H)]
                    for n in range(N)]

        hs, cs = state("h0"), state("c0")
        for step in range(T):
            t = T - 1 - step if direction == "reverse" or d == 1 else step
            for n in range(N):
                x = v["X"][(t * N + n) * In:(t * N + n + 1) * In]
                hp, cp = hs[n], cs[n]
                xw = [sum(x[i] * w(row, i) for i in range(In)) + wb(row) for row in range(G * H)]
                hr = [sum(hp[j] * r(row, j) for j in range(H)) + rb(row) for row in range(G * H)]
                if op == "RNN":
                    hs[n] = [act(0, xw[j] + hr[j]) for j in range(H)]
                elif op == "LSTM":  # gates i, o, f, c; peepholes i, o, f
                    hn, cn = [], []
                    for j in range(H):
                        i_ = act(0, xw[j] + hr[j] + p(0, j) * cp[j])
                        f_ = act(0, xw[2 * H + j] + hr[2 * H + j] + p(2, j) * cp[j])
                        c_ = f_ * cp[j] + i_ * act(1, xw[3 * H + j] + hr[3 * H + j])
                        o_ = act(0, xw[H + j] + hr[H + j] + p(1, j) * c_)
                        hn.append(o_ * act(2, c_))
                        cn.append(c_)
                    hs[n], cs[n] = hn, cn
                else:  # gates z, r, h
                    z = [act(0, xw[j] + hr[j]) for j in range(H)]
                    rr = [act(0, xw[H + j] + hr[H + j]) for j in range(H)]
                    hn = []
                    for j in range(H):
                        if lbr:
                            pre = xw[2 * H + j] + rr[j] * hr[2 * H + j]
                        else:
                            pre = xw[2 * H + j] + rb(2 * H + j) + \
                                sum(rr[k] * hp[k] * r(2 * H + j, k) for k in range(H))
                        hn.append((1 - z[j]) * act(1, pre) + z[j] * hp[j])
                    hs[n] = hn
    return seen


@case
def recurrent_cases():
    out = []
    T, N, In = 3, 2, 4

    def rnn(name, op, gates, H, direction, with_bias=True, init_h=True, init_c=False,
            outputs=("Y", "Y_h"), peepholes=False, acts=None, clip=None, **attrs):
        """acts: (name, alpha, beta) per activation, both directions (default:
        ONNX's). With kinked activations or a clip, the values are drawn again
        (from G(name:attempt)) until every activation input is RNN_KINK_MARGIN
        from a kink and from +-clip, and the clip is active for some."""
        D = 2 if direction == "bidirectional" else 1
        default = {"RNN": [("Tanh", 0, 0)], "GRU": [("Sigmoid", 0, 0), ("Tanh", 0, 0)],
                   "LSTM": [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)]}[op]
        specs = [(n, f32(a), f32(b)) for n, a, b in acts] if acts else default * D
        if acts:
            attrs["activations"] = [n for n, _, _ in acts]
            alphas = [a for n, a, _ in acts if n in RNN_ALPHA]
            betas = [b for n, _, b in acts if n in RNN_BETA]
            if alphas:
                attrs["activation_alpha"] = [float(a) for a in alphas]
            if betas:
                attrs["activation_beta"] = [float(b) for b in betas]
        if clip is not None:
            attrs["clip"] = float(clip)
        kinked = clip is not None or any(rnn_kinks(*sp) for sp in specs)
        for attempt in range(1000):
            g = G(name if attempt == 0 else f"{name}:{attempt}")
            params = [P("X", [T, N, In], g.uniform([T, N, In])),
                      P("W", [D, gates * H, In], g.uniform([D, gates * H, In], -0.6, 0.6)),
                      P("R", [D, gates * H, H], g.uniform([D, gates * H, H], -0.6, 0.6))]
            if with_bias:
                params.append(P("B", [D, 2 * gates * H],
                                g.uniform([D, 2 * gates * H], -0.5, 0.5)))
            if init_h:
                params.append(P("h0", [D, N, H], g.uniform([D, N, H])))
            if init_c:
                params.append(P("c0", [D, N, H], g.uniform([D, N, H])))
            if peepholes:
                params.append(P("peep", [D, 3 * H], g.uniform([D, 3 * H], -0.5, 0.5)))
            if not kinked:
                break
            v = {t.name: t.values for t in params}
            v["X_W"] = v["W"]
            seen = rnn_activation_inputs(op, H, direction, attrs.get("linear_before_reset", 0),
                                         f32(clip) if clip is not None else None, specs, v,
                                         T, N, In)
            clear = all(
                (clip is None or abs(abs(x) - clip) >= RNN_KINK_MARGIN) and
                all(abs((x if clip is None else min(max(x, -clip), clip)) - k) >=
                    RNN_KINK_MARGIN
                    for k in rnn_kinks(*sp))
                for sp, x in seen)
            if clear and (clip is None or any(abs(x) > clip for _, x in seen)):
                break
        else:
            raise RuntimeError(f"{name}: no draw keeps the activations' inputs off their kinks")
        inputs = ["X", "W", "R", "B" if with_bias else "",
                  "",  # sequence_lens (dlc supports full-length sequences only)
                  "h0" if init_h else "", "c0" if init_c else ""]
        if peepholes:
            inputs.append("peep")
        while inputs and inputs[-1] == "":
            inputs.pop()
        dims = {"Y": [T, D, N, H], "Y_h": [D, N, H], "Y_c": [D, N, H]}
        all_outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
        onames = [o if o in outputs else "" for o in all_outputs]
        while onames[-1] == "":
            onames.pop()
        return Case(name, [node(op, inputs, onames, hidden_size=H, direction=direction,
                                **attrs)],
                    params, [(o, dims[o]) for o in outputs], pending_ok=True,
                    waits_for={"graph.recurrent"})

    out.append(rnn("rnn_forward", "RNN", 1, 5, "forward"))
    out.append(rnn("rnn_bidirectional_no_bias", "RNN", 1, 3, "bidirectional",
                   with_bias=False))
    out.append(rnn("gru_forward", "GRU", 3, 3, "forward"))
    out.append(rnn("gru_bidirectional_linear_before_reset", "GRU", 3, 3, "bidirectional",
                   linear_before_reset=1))
    out.append(rnn("lstm_forward_init_hc", "LSTM", 4, 3, "forward", init_c=True,
                   outputs=("Y", "Y_h", "Y_c")))
    out.append(rnn("lstm_reverse_no_init", "LSTM", 4, 3, "reverse", init_h=False))
    out.append(rnn("lstm_bidirectional_yh_only", "LSTM", 4, 2, "bidirectional",
                   outputs=("Y_h",)))
    out.append(rnn("lstm_peepholes", "LSTM", 4, 3, "forward", peepholes=True))
    # Other activations: derivatives from their outputs, or (negative alphas:
    # the output does not tell the side of the kink) from their inputs.
    out.append(rnn("rnn_relu", "RNN", 1, 4, "forward", acts=[("Relu", 0, 0)]))
    out.append(rnn("rnn_bidirectional_elu_clip", "RNN", 1, 3, "bidirectional",
                   acts=[("Relu", 0, 0), ("Elu", -0.5, 0)], clip=0.8))
    out.append(rnn("gru_leakyrelu_scaledtanh", "GRU", 3, 3, "forward",
                   acts=[("LeakyRelu", 0.1, 0), ("ScaledTanh", 1.3, 0.7)]))
    out.append(rnn("gru_clip", "GRU", 3, 3, "reverse", clip=0.5))
    out.append(rnn("gru_bidirectional_lbr_activations", "GRU", 3, 3, "bidirectional",
                   linear_before_reset=1,
                   acts=[("Sigmoid", 0, 0), ("Softplus", 0, 0),
                         ("Affine", 0.4, 0.5), ("ThresholdedRelu", -0.2, 0)]))
    out.append(rnn("lstm_activations", "LSTM", 4, 3, "forward", init_c=True,
                   outputs=("Y", "Y_h", "Y_c"),
                   acts=[("HardSigmoid", 0.2, 0.5), ("Softsign", 0, 0), ("Elu", 0.7, 0)]))
    out.append(rnn("lstm_clip", "LSTM", 4, 3, "forward", init_c=True,
                   outputs=("Y", "Y_h", "Y_c"), clip=0.6))
    out.append(rnn("lstm_bidirectional_peepholes_clip_activations", "LSTM", 4, 2,
                   "bidirectional", init_c=True, peepholes=True, clip=0.9,
                   outputs=("Y", "Y_h", "Y_c"),
                   acts=[("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0),
                         ("HardSigmoid", 0.8, 0.45), ("LeakyRelu", -0.05, 0),
                         ("Softplus", 0, 0)]))
    return out


# --- ONNX textproto ----------------------------------------------------------
def _attr(name, value, float_type):
    if value is FT:
        value = float_type
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return f'attribute {{ name: "{name}" type: INT i: {value} }}'
    if isinstance(value, float):
        return f'attribute {{ name: "{name}" type: FLOAT f: {value!r} }}'
    if isinstance(value, str):
        return f'attribute {{ name: "{name}" type: STRING s: "{value}" }}'
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return f'attribute {{ name: "{name}" type: STRINGS ' + \
            " ".join(f'strings: "{v}"' for v in value) + " }"
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return f'attribute {{ name: "{name}" type: INTS ' + \
            " ".join(f"ints: {v}" for v in value) + " }"
    if isinstance(value, (list, tuple)):
        return f'attribute {{ name: "{name}" type: FLOATS ' + \
            " ".join(f"floats: {float(v)!r}" for v in value) + " }"
    raise ValueError(f"attribute {name}: {value!r}")


def _raw(fmt, values):
    data = struct.pack("<" + fmt * len(values), *values)
    return '"' + "".join(f"\\{b:03o}" for b in data) + '"'


def _tensor_type(elem, dims):
    shape = " ".join(f"dim {{ dim_value: {d} }}" for d in dims)
    return f"type {{ tensor_type {{ elem_type: {elem} shape {{ {shape} }} }} }}"


def textproto(c, ftype, forward):
    """The case's model with the loss, its float tensors of type `ftype`.
    forward: the trained tensors are graph inputs and the used outputs are
    graph outputs too (the model of the finite differences); otherwise every
    tensor is an initializer (the model compiled with --train)."""
    lines = ['ir_version: 8', 'producer_name: "dlc-gradcheck"',
             'opset_import { domain: "" version: 17 }', "graph {", f'  name: "{c.name}"']
    for i, (op, inputs, outputs, attrs) in enumerate(c.nodes):
        ins = " ".join(f'input: "{x}"' for x in inputs)
        outs = " ".join(f'output: "{x}"' for x in outputs)
        at = " ".join(_attr(k, v, ftype) for k, v in attrs.items())
        lines.append(f'  node {{ name: "op{i}" op_type: "{op}" {ins} {outs} {at} }}')
    sums = []
    for k, (y, dims) in enumerate(c.outputs):
        last = len(c.outputs) == 1
        s = "loss" if last else f"loss_{k}"
        lines.append(f'  node {{ name: "loss_mul_{k}" op_type: "Mul" input: "{y}" '
                     f'input: "R_{k}" output: "loss_m_{k}" }}')
        lines.append(f'  node {{ name: "loss_sum_{k}" op_type: "ReduceSum" input: "loss_m_{k}" '
                     f'output: "{s}" attribute {{ name: "keepdims" type: INT i: 0 }} }}')
        sums.append(s)
    acc = sums[0] if sums else None
    for k in range(1, len(sums)):
        nxt = "loss" if k == len(sums) - 1 else f"loss_acc_{k}"
        lines.append(f'  node {{ name: "loss_add_{k}" op_type: "Add" input: "{acc}" '
                     f'input: "{sums[k]}" output: "{nxt}" }}')
        acc = nxt
    fmt = "d" if ftype == DOUBLE else "f"
    tensors = list(c.tensors) + loss_weights(c)
    for t in tensors:
        dims = " ".join(f"dims: {d}" for d in t.dims)
        if t.role == "param" and forward:
            continue
        if t.role in ("param", "const"):
            raw = _raw(fmt, t.values)
            lines.append(f'  initializer {{ name: "{t.name}" {dims} data_type: {ftype} '
                         f'raw_data: {raw} }}')
        elif t.role == "int":
            lines.append(f'  initializer {{ name: "{t.name}" {dims} data_type: {INT64} '
                         f'raw_data: {_raw("q", t.values)} }}')
        elif t.role == "bool":
            lines.append(f'  initializer {{ name: "{t.name}" {dims} data_type: {BOOL_T} '
                         f'raw_data: {_raw("B", [int(v) for v in t.values])} }}')
    if forward:
        for t in c.tensors:
            if t.role == "param":
                lines.append(f'  input {{ name: "{t.name}" {_tensor_type(ftype, t.dims)} }}')
    lines.append(f'  output {{ name: "loss" {_tensor_type(ftype, [])} }}')
    if forward:  # the used outputs too: their shapes are checked against the case's
        for y, dims in c.outputs:
            lines.append(f'  output {{ name: "{y}" {_tensor_type(ftype, dims)} }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


_weights = {}


def loss_weights(c):
    if c.name not in _weights:
        g = G(c.name + ":R")
        _weights[c.name] = [C(f"R_{k}", dims, g.uniform(dims))
                            for k, (_, dims) in enumerate(c.outputs)]
    return _weights[c.name]


# --- the runtime through ctypes ----------------------------------------------
class DlcTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64))]


class DlcTensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64))]


DLC_FLOAT32, DLC_FLOAT64 = 0, 1


class RuntimeError_(Exception):
    pass


class Runtime:
    def __init__(self, path):
        lib = ctypes.CDLL(path)
        vp = ctypes.c_void_p
        lib.dlc_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        lib.dlc_model_free.argtypes = [vp]
        lib.dlc_last_error.restype = ctypes.c_char_p
        for f in ("dlc_model_num_inputs", "dlc_model_num_outputs"):
            getattr(lib, f).argtypes = [vp]
            getattr(lib, f).restype = ctypes.c_size_t
        for f in ("dlc_model_input_info", "dlc_model_output_info"):
            getattr(lib, f).argtypes = [vp, ctypes.c_size_t, ctypes.POINTER(DlcTensorInfo)]
        lib.dlc_model_run.argtypes = [vp, ctypes.POINTER(DlcTensor), ctypes.c_size_t,
                                      ctypes.POINTER(DlcTensor), ctypes.c_size_t]
        lib.dlc_model_compute_gradients.argtypes = [vp, ctypes.POINTER(DlcTensor),
                                                    ctypes.c_size_t,
                                                    ctypes.POINTER(ctypes.c_float)]
        for f in ("dlc_model_read_gradient", "dlc_model_read_state"):
            getattr(lib, f).argtypes = [vp, ctypes.c_char_p, vp, ctypes.c_size_t]
        self.lib = lib

    def check(self, status, what):
        if status != 0:
            raise RuntimeError_(f"{what}: {self.lib.dlc_last_error().decode()}")

    def load(self, path):
        model = ctypes.c_void_p()
        self.check(self.lib.dlc_model_load(path.encode(), ctypes.byref(model)), "load " + path)
        return model

    def infos(self, model, outputs):
        n = (self.lib.dlc_model_num_outputs if outputs else self.lib.dlc_model_num_inputs)(model)
        get = self.lib.dlc_model_output_info if outputs else self.lib.dlc_model_input_info
        out = []
        for i in range(n):
            info = DlcTensorInfo()
            self.check(get(model, i, ctypes.byref(info)), "info")
            out.append((info.name.decode(), info.dtype,
                        [info.shape[d] for d in range(info.rank)]))
        return out


def tensor_array(dtype, shape, buf):
    shp = (ctypes.c_int64 * max(1, len(shape)))(*shape)
    t = DlcTensor(buf.buffer_info()[0], dtype, len(shape), shp)
    return t, shp


class Forward:
    """The forward model of the finite differences (float64, or float32 for
    the cases marked fd32): the loss as a function of the trained tensors.
    `values[name]` holds the point to evaluate at; every run copies it into
    the buffers handed to the model and checks afterwards that the model
    left them alone (inputs are the caller's: a model writing into one is a
    bug of its own, reported as such, and must not skew the next run)."""

    def __init__(self, rt, path, case, f64):
        self.rt, self.model = rt, rt.load(path)
        code, dtype = ("d", DLC_FLOAT64) if f64 else ("f", DLC_FLOAT32)
        self.size = 8 if f64 else 4
        params = {t.name: t for t in case.tensors if t.role == "param"}
        self.values, self.bufs, self.keep = {}, {}, []
        self.clobbered = set()
        ins = []
        for name, dt, shape in rt.infos(self.model, outputs=False):
            if name not in params or dt != dtype or shape != params[name].dims:
                raise RuntimeError_(f"forward input {name} {shape}: not a trained tensor")
            self.values[name] = array(code, params[name].values)
            buf = self.bufs[name] = array(code, params[name].values)
            t, shp = tensor_array(dtype, shape, buf)
            ins.append(t)
            self.keep.append(shp)
        if set(self.values) != set(params):
            raise RuntimeError_(f"forward inputs {sorted(self.values)}, trained tensors "
                                f"{sorted(params)}")
        outs, self.out_bufs = [], []
        want = [("loss", [])] + [(y, list(d)) for y, d in case.outputs]
        got = rt.infos(self.model, outputs=True)
        if [(n, s) for n, _, s in got] != want:
            raise RuntimeError_(f"forward outputs {[(n, s) for n, _, s in got]}, the case "
                                f"says {want}")
        for name, dt, shape in got:
            buf = array(code, [0.0] * numel(shape))
            t, shp = tensor_array(dt, shape, buf)
            outs.append(t)
            self.keep.append(shp)
            self.out_bufs.append(buf)
        self.ins = (DlcTensor * max(1, len(ins)))(*ins)
        self.n_in = len(ins)
        self.outs = (DlcTensor * len(outs))(*outs)

    def loss(self):
        for name, buf in self.bufs.items():
            src = self.values[name]
            ctypes.memmove(buf.buffer_info()[0], src.buffer_info()[0], len(src) * self.size)
        self.rt.check(self.rt.lib.dlc_model_run(self.model, self.ins, self.n_in, self.outs,
                                                len(self.out_bufs)), "run")
        for name, buf in self.bufs.items():
            if buf != self.values[name]:
                self.clobbered.add(name)
        return self.out_bufs[0][0]

    def free(self):
        self.rt.lib.dlc_model_free(self.model)


# --- one case ---------------------------------------------------------------
# The tools run without what this process was started with to load an
# instrumented runtime (make check-sanitize preloads the sanitizers' shared
# run time for ctypes; the tools carry their own).
TOOL_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def run_tool(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=TOOL_ENV)


def forward_summary(graph_text):
    """Of the function @forward of `dlc --emit=graph --train` (the graph that
    graph-autodiff differentiates): its graph ops as a Counter, the
    functions of its graph.unary ops and the kinds of its graph.reduce ops."""
    m = re.search(r"func\.func @forward\b(.*?)(?=\n\s*func\.func |\Z)", graph_text, re.S)
    body = m.group(1) if m else ""
    ops = Counter(re.findall(r'(?:=\s*|^\s*)"?(graph\.[a-z_0-9]+)', body, re.M))
    fns = set(re.findall(r'graph\.unary\b[^\n]*fn = "([a-z_0-9]+)"', body))
    kinds = set(re.findall(r'graph\.reduce\b[^\n]*kind = "([a-z_0-9]+)"', body))
    return ops, fns, kinds


def compile_case(c, dlc, work):
    """Writes and compiles the case's models; returns a dict of results."""
    d = os.path.join(work, c.name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    res = {"dir": d}
    for tag, ftype, forward in (("f32", FLOAT, False),
                                ("f64", FLOAT if c.fd32 else DOUBLE, True)):
        text = textproto(c, ftype, forward)
        with open(os.path.join(d, f"{tag}.textproto"), "w") as f:
            f.write(text)
        r = subprocess.run(["protoc", "-I/usr/include", "--encode=onnx.ModelProto",
                            "onnx/onnx.proto"], input=text.encode(), capture_output=True,
                           timeout=60, env=TOOL_ENV)
        if r.returncode != 0:
            res["error"] = f"protoc ({tag}): {r.stderr.decode().strip()}"
            return res
        with open(os.path.join(d, f"{tag}.onnx"), "wb") as f:
            f.write(r.stdout)
    frozen = [t.name for t in c.tensors if t.role == "const"] + \
        [t.name for t in loss_weights(c)]
    train_flags = ["--train", "--freeze=" + ",".join(frozen)]
    f32_onnx, f64_onnx = os.path.join(d, "f32.onnx"), os.path.join(d, "f64.onnx")
    r = run_tool([dlc, f32_onnx, *train_flags, "--emit=graph", "-o", os.path.join(d, "train.mlir")])
    if r.returncode != 0:
        res["error"] = "dlc --train --emit=graph: " + r.stderr.strip()
        return res
    with open(os.path.join(d, "train.mlir")) as f:
        res["ops"], res["fns"], res["kinds"] = forward_summary(f.read())
    r = run_tool([dlc, f32_onnx, *train_flags, "-o", os.path.join(d, "train.so")])
    if r.returncode != 0:
        res["error"] = "dlc --train: " + r.stderr.strip()
        return res
    r = run_tool([dlc, f64_onnx, "-o", os.path.join(d, "forward.so")])
    if r.returncode != 0:
        res["error"] = ("dlc (float32 forward): " if c.fd32 else "dlc (float64 forward): ") + \
            r.stderr.strip()
        return res
    return res


def check_case(c, res, rt, verbose):
    """Compares the analytic gradients with the finite differences; returns
    (ok, line, detail lines)."""
    d = res["dir"]
    f64 = not c.fd32
    h_rel, rtol, atol_rel = (H_REL, RTOL, ATOL_REL) if f64 else (H_REL32, RTOL32, ATOL_REL32)
    rnd = (lambda v: v) if f64 else f32
    params = [t for t in c.tensors if t.role == "param"]
    train = rt.load(os.path.join(d, "train.so"))
    fwd = None
    try:
        loss32 = ctypes.c_float()
        rt.check(rt.lib.dlc_model_compute_gradients(train, None, 0, ctypes.byref(loss32)),
                 "compute_gradients")
        grads = {}
        for t in params:
            buf = array("f", [0.0] * numel(t.dims))
            state = array("f", [0.0] * numel(t.dims))
            rt.check(rt.lib.dlc_model_read_gradient(train, t.name.encode(), buf.buffer_info()[0],
                                                    len(buf) * 4), "read_gradient " + t.name)
            rt.check(rt.lib.dlc_model_read_state(train, t.name.encode(), state.buffer_info()[0],
                                                 len(state) * 4), "read_state " + t.name)
            if list(state) != t.values:
                return False, f"FAIL (the trained state of {t.name} is not the case's values)", []
            grads[t.name] = buf
        fwd = Forward(rt, os.path.join(d, "forward.so"), c, f64)
        loss_ref = fwd.loss()
        problems, notes = [], []
        # The two forwards compute the same function: a float32 loss off by
        # more than float32 rounding means they do not (a forward bug).
        if not abs(loss32.value - loss_ref) <= 1e-4 * (1 + abs(loss_ref)):
            problems.append(f"forward: the float32 training library's loss is "
                            f"{loss32.value:.9g}, the {'float64' if f64 else 'float32'} "
                            f"forward's {loss_ref:.12g}")
        rng = random.Random(f"{SEED}:{c.name}:entries")
        results = []  # (tensor, index, analytic, fd)
        for t in params:
            n = numel(t.dims)
            picks = [0] + sorted(rng.sample(range(1, n), min(n - 1, ENTRIES_PER_TENSOR - 1)))
            values = fwd.values[t.name]
            for i in picks:
                v = values[i]
                h = h_rel * max(1.0, abs(v))
                hi, lo = rnd(v + h), rnd(v - h)  # the points the forward really sees
                values[i] = hi
                up = fwd.loss()
                values[i] = lo
                down = fwd.loss()
                values[i] = v
                results.append((t.name, i, grads[t.name][i], (up - down) / (hi - lo)))
        if fwd.clobbered:
            problems.append(f"forward: the model writes into its graph input(s) "
                            f"{', '.join(sorted(fwd.clobbered))} (a bug of the forward, not "
                            f"of a gradient rule; the finite differences restore them "
                            f"before every run)")
        case_scale = max((abs(fd) for *_, fd in results), default=0.0)
        worst = 0.0
        per_tensor = {}
        for name, i, an, fd in results:
            per_tensor.setdefault(name, []).append((i, an, fd))
        for name, entries in per_tensor.items():
            scale = max(max(abs(fd) for _, _, fd in entries), 1e-6 * case_scale, 1e-12)
            for i, an, fd in entries:
                bound = atol_rel * scale + rtol * abs(fd)
                err = abs(an - fd)
                ratio = err / bound if err == err else float("inf")
                worst = max(worst, ratio)
                text = (f"{name}[{i}]: analytic {an:.9g}, finite difference {fd:.9g}, "
                        f"err {err:.3g}, tolerance {bound:.3g}")
                if not err <= bound:
                    problems.append(text + ": MISMATCH")
                elif verbose:
                    notes.append(text)
        ok = not problems
        line = (f"{len(params)} tensors, {len(results)} entries, max err {worst:.2g} of "
                f"tolerance{'' if f64 else ' (float32 finite differences)'}: "
                f"{'ok' if ok else 'FAIL'}")
        return ok, line, problems + notes
    finally:
        rt.lib.dlc_model_free(train)
        if fwd:
            fwd.free()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the build's tools directory")
    ap.add_argument("--runtime", required=True, help="libdlcrt.so")
    ap.add_argument("--work", required=True)
    ap.add_argument("--jobs", type=int, default=2, help="cases compiled in parallel")
    ap.add_argument("--verbose", action="store_true", help="print every checked entry")
    ap.add_argument("cases", nargs="*", help="regexes of case names (default: all; the "
                    "coverage check needs all)")
    args = ap.parse_args()
    dlc = os.path.join(args.bin, "dlc", "dlc")
    start = time.time()
    r = run_tool([dlc, "--list-gradient-rules"])
    if r.returncode != 0:
        print(f"gradcheck: FAIL: dlc --list-gradient-rules: {r.stderr.strip()}")
        return 1
    # One op per line; graph.unary and graph.reduce list their differentiable
    # functions and kinds in parentheses: each needs a case too.
    rules, subrules = [], {}
    for line in r.stdout.splitlines():
        op, _, rest = line.partition(" (")
        rules.append(op.strip())
        if rest:
            subrules[op.strip()] = [x.strip() for x in rest.rstrip(")").split(",")]
    rules = sorted(set(rules))
    cases = make_cases(args.cases)
    os.makedirs(args.work, exist_ok=True)
    try:
        rt = Runtime(args.runtime)
    except OSError as e:
        print(f"gradcheck: FAIL: cannot load the runtime {args.runtime}: {e}")
        return 1
    failed, pending, unsupported, passed = [], [], [], []
    checked = Counter()      # graph op -> cases that checked it
    waiting = set()          # graph ops of pending/unsupported cases
    fns, kinds = set(), set()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(compile_case, c, dlc, args.work) for c in cases]
        for c, fut in zip(cases, futures):
            try:
                res = fut.result()
            except (OSError, subprocess.TimeoutExpired) as e:
                res = {"error": f"{type(e).__name__}: {e}"}
            details = []
            err = res.get("error", "")
            missing_rule = any(m in err for m in UNSUPPORTED_MARKERS)
            first = next((l.split(": ")[-1] for l in err.splitlines()
                          if any(m in l for m in UNSUPPORTED_MARKERS)), "")
            if err and c.pending_ok and "no gradient rule" in err:
                line = f"pending (no gradient rule yet: {first})"
                pending.append(c.name)
                waiting.update(c.waits_for)
            elif err and c.unsupported and missing_rule:
                line = f"not yet supported ({first})"
                unsupported.append(c.name)
                waiting.update(c.waits_for)
            elif err:
                line = "FAIL (compile)"
                details = err.splitlines()
                failed.append(c.name)
            else:
                # The ops of the case less those of the loss (a Mul and a
                # ReduceSum per output, an Add per output after the first).
                k = len(c.outputs)
                ops = res["ops"] - Counter({"graph.mul": k, "graph.reduce": k,
                                            "graph.add": k - 1})
                try:
                    ok, line, details = check_case(c, res, rt, args.verbose)
                except RuntimeError_ as e:
                    ok, line, details = False, f"FAIL (runtime: {e})", []
                (passed if ok else failed).append(c.name)
                checked.update(set(ops))
                fns |= res["fns"]
                kinds |= res["kinds"]
                if c.unsupported:
                    bar = "!" * 78
                    details.append(f"{bar}\nWARNING: {c.name} is marked unsupported "
                                   f"({c.unsupported}) but now compiles: remove the mark in "
                                   f"test/e2e/gradcheck.py\n{bar}")
            print(f"gradcheck: {c.name}: {line}")
            for x in details:
                print("    " + x.replace("\n", "\n    "))
            sys.stdout.flush()
    covered = sorted(op for op in rules if op in checked)
    print(f"gradcheck: rules: {len(rules)} ops: {' '.join(rules)}")
    print(f"gradcheck: checked: {len(covered)} ops: {' '.join(covered)}")
    print(f"gradcheck: graph.unary functions checked: {' '.join(sorted(fns))}")
    print(f"gradcheck: graph.reduce kinds checked: {' '.join(sorted(kinds))}")
    extra = sorted(op for op in checked if op not in rules)
    if extra:
        print(f"gradcheck: ops without a rule of their own in the checked forwards "
              f"(not differentiated): {' '.join(extra)}")
    no_check = [] if args.cases else [op for op in rules if op not in checked]
    if not args.cases:
        # graph.unary identity has a rule (the gradient passes through) but no
        # ONNX importer emits it, so no ONNX case can reach it.
        unreachable = {"graph.unary identity"}
        for op, got in (("graph.unary", fns), ("graph.reduce", kinds)):
            no_check += [f"{op} {x}" for x in subrules.get(op, [])
                         if x not in got and f"{op} {x}" not in unreachable]
    uncovered = []
    for op in no_check:
        if op in waiting:
            print(f"gradcheck: rule without a check: {op} (its cases are pending)")
        else:
            print(f"gradcheck: FAIL: rule without a check: {op} (no case exercises it)")
            uncovered.append(op)
    summary = f"gradcheck: {len(passed)} passed, {len(failed)} failed"
    if pending:
        summary += f", {len(pending)} pending ({', '.join(pending)})"
    if unsupported:
        summary += f", {len(unsupported)} not yet supported ({', '.join(unsupported)})"
    summary += f" of {len(cases)} cases"
    if failed:
        summary += f"; failed: {', '.join(failed)}"
    if uncovered:
        summary += f"; rules without a check: {', '.join(uncovered)}"
    print(f"{summary}; {time.time() - start:.1f} s")
    return 1 if failed or uncovered else 0


if __name__ == "__main__":
    sys.exit(main())
