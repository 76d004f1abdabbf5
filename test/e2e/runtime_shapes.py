#!/usr/bin/env python3
"""Shape operands known only at run time: ops whose output shape depends on
the values of a graph input compile once and run for every value, with the
output's shape decided by the call (dlc-run allocates it through
dlc_model_run_alloc). References follow the ONNX specification, computed
here in plain Python; invalid values must fail the call with the node's
message (dlc-run exits 2, saves nothing).

- reshape: [2, 3, 4] to a shape input: 0 copies the input dim, -1 takes the
  rest; a shape of another count, two -1s, a dim below -1 fail.
- constant_of_shape (int64 7): an empty [2, 0] result; a negative dim and
  2^80 elements fail.
- range (int64): downward, empty; a delta of 0 fails.
- expand [3, 1]: both ways; a 4 against the input's 3 fails.
- tile: a repeat of 0 (empty result); a negative repeat fails.
- slice: int32 starts and ends only (axes and steps default), counted from
  the end, clamped; a reversing slice with INT64_MIN ends; a repeated axis
  and a step of 0 fail.
- pad: the pad value a graph input too, a negative pad crops; cropping
  below 0 fails.
- one_hot: a float depth given at run time, axis 0, an index outside
  [-depth, depth) makes a column of off values; a depth of 0 fails.
- top_k: k at run time, largest and smallest along axis 1, ties by the
  lower index, k of 0 (empty); k above the axis' size fails.
- range at the ends of int64 (no overflow: counts of 4 and 2; 2^63
  elements refused) and float (a delta of 0 refused whatever the limits).
- one_hot of uint8 indices: 255 is out of range (all off), not -1.
- cumsum with the axis a graph input (the shape does not change): each axis,
  negative too; an axis outside [-2, 1] fails.
- squeeze, unsqueeze with axes given at run time: negative and unsorted
  axes; a dim other than 1, an axis twice or out of range fail.
- reduce_sum (opset 13), reduce_max and reduce_prod (opset 18) with the
  axes a graph input, kept and dropped dims, negative axes, an axis twice
  (reduced once with keepdims, refused without); an axis out of range fails.
- split with the sizes a graph input (empty parts too); a negative size
  or sizes that do not add up to the dim fail.
- compress with the condition a graph input, along an axis (all false:
  empty) and flattened (a condition longer than the input: the rest
  ignored); nonzero of float32 (-0 is zero, NaN is not; none, all) and
  uint8 inputs.
- pad in edge, reflect (mirrored again where a pad is longer than the
  input) and wrap modes, pads at run time, a negative pad cropping before the
  other side pads (as onnxruntime does); padding a dim cropped to nothing,
  or an empty one, fails.
- hann_window of a size given at run time (values exact in float32: 0,
  0.5, 1), an empty one; a negative size fails.
- reverse_sequence with the lengths a graph input (the shape does not
  change); a length outside [0, T] fails.
- resize: scales at run time (nearest, asymmetric, floor; an empty
  result), sizes at run time (linear, half_pixel), opset 18's axes with
  keep_aspect_ratio_policy not_larger (sizes rounded from one ratio); scales
  of 0, NaN, below 0, infinite or too large and a negative size fail. The
  values are chosen so that float32 computes them exactly.
- results of run-time shapes taken by other nodes: a Relu of a Reshape to
  a run-time shape, a float Range scaled, cast and offset (the ONNX window
  functions' expanded form), a Loop whose trip count and first condition are
  graph inputs stacking a scan output of that many slices (the condition
  false: none), an If whose branches reshape to a run-time shape; refused by
  name where the consumer needs a size it cannot know to be equal (an Add
  with a static tensor, naming the graph input that decides the size, as the
  node-test runner's --freeze-input retry reads it: a Reshape's shape, a
  Loop's trip count), and a trip count that
  would make a scan output too large fails at run time.

Usage: runtime_shapes.py --bin BUILD/tools --work DIR"""
import argparse
import itertools
import math
import os
import subprocess
import sys

from conv_pool_reference import encode
from control_flow import node
from model_check import F32, I64, tensor
from opset18_21 import at, strides
from opset18_21 import numel as product

I32 = 6
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def vtype(elem, dims):
    shape = " ".join("dim { dim_param: \"%s\" }" % d if isinstance(d, str)
                     else "dim { dim_value: %d }" % d for d in dims)
    return "type { tensor_type { elem_type: %d shape { %s } } }" % (elem, shape)


def model(nodes, inputs, outputs, opset=17):
    return ('ir_version: 8 opset_import { domain: "" version: %d } graph { name: "rs" ' % opset
            + " ".join(nodes)
            + " ".join(' input { name: "%s" %s }' % (n, vtype(e, d)) for n, e, d in inputs)
            + " ".join(' output { name: "%s" %s }' % (n, vtype(e, d)) for n, e, d in outputs)
            + " }")


def index_of(flat, dims):
    """The multi-index of a flat position in a row-major shape."""
    return [(flat // st) % d for st, d in zip(strides(dims), dims)]


def generate(dims, fn):
    return [fn(index_of(k, dims)) for k in range(product(dims))]


def reshape_ref(shape, in_dims=(2, 3, 4)):
    dims = [in_dims[i] if d == 0 else d for i, d in enumerate(shape)]
    if -1 in dims:
        known = product([d for d in dims if d != -1])
        dims = [product(in_dims) // known if d == -1 else d for d in dims]
    return dims


X234 = [float(v) for v in range(24)]
X31 = [1.5, -2.0, 4.25]
X68 = [float(10 * r + c) for r in range(6) for c in range(8)]
X23 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def slice_ref(starts, ends, axes, steps, dims=(6, 8), values=X68):
    start, size, step = [0] * len(dims), list(dims), [1] * len(dims)
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = dims[a]
        s = s + n if s < 0 else s
        e = e + n if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), n), min(max(e, 0), n)
            count = max(0, (e - s + st - 1) // st)
        else:
            s, e = min(max(s, 0), n - 1), min(max(e, -1), n - 1)
            count = max(0, (s - e - st - 1) // -st)
        start[a], size[a], step[a] = s, count, st
    return size, generate(size, lambda i: at(values, dims, [
        start[k] + i[k] * step[k] for k in range(len(dims))]))


def pad_ref(pads, value, dims=(2, 3), values=X23, mode="constant"):
    """Negative pads crop first (onnxruntime's order); the cropped extent
    is then padded as numpy.pad does: reflect mirrors without repeating the
    edge, as often as the pad needs; wrap repeats the extent."""
    r = len(dims)
    out = [dims[k] + pads[k] + pads[k + r] for k in range(r)]
    lo = [max(-pads[k], 0) for k in range(r)]
    extent = [dims[k] - lo[k] - max(-pads[k + r], 0) for k in range(r)]

    def source(s, n):
        if mode == "edge":
            return min(max(s, 0), n - 1)
        if mode == "wrap":
            return s % n
        if n == 1:  # reflect of a single element
            return 0
        while not 0 <= s < n:  # reflect
            s = -s if s < 0 else 2 * (n - 1) - s
        return s

    def pick(i):
        if mode == "constant":
            src = [i[k] - pads[k] for k in range(r)]
            inside = all(0 <= s < d for s, d in zip(src, dims))
            return at(values, dims, src) if inside else value
        rel = [i[k] - max(pads[k], 0) for k in range(r)]
        return at(values, dims, [source(s, n) + o for s, n, o in zip(rel, extent, lo)])
    return out, generate(out, pick)


def pad_mode_case(mode):
    attr = 'attribute { name: "mode" type: STRING s: "%s" }' % mode
    return ("pad_" + mode,
            model([node("Pad", ["x", "pads"], ["y"], attr, "border")],
                  [("x", F32, [2, 3]), ("pads", I64, [4])], [("y", F32, ["a", "b"])]),
            [("pads %s" % (p,), [("x", F32, [2, 3], X23), ("pads", I64, [4], p)],
              [(F32,) + tuple(pad_ref(p, 0.0, mode=mode))])
             for p in ([1, 2, 1, 2], [3, -1, 4, 7], [0, 0, 0, 0], [0, -1, 0, 5],
                       [-1, 2, 1, -2])]
            + [("pads (0, -3, 0, 1)", [("x", F32, [2, 3], X23),
                                       ("pads", I64, [4], [0, -3, 0, 1])],
                "node 'border' (Pad): input 'pads' crops a dim below 0, or pads a dim "
                "cropped to nothing")])


def reverse_sequence_ref(lens, dims=(3, 2, 2), values=[float(v) for v in range(12)]):
    """time_axis 0, batch_axis 1: each batch entry's first lens[b] steps
    reversed."""
    return list(dims), generate(list(dims), lambda i: at(values, dims, [
        lens[i[1]] - 1 - i[0] if i[0] < lens[i[1]] else i[0], i[1], i[2]]))


def one_hot_ref(indices, depth, off, on):
    out = [depth, len(indices)]  # axis 0
    return out, generate(out, lambda i: on if (
        indices[i[1]] + depth if indices[i[1]] < 0 else indices[i[1]]) == i[0] else off)


def reduce_ref(axes, keepdims, combine, dims=(2, 3, 4), values=X234):
    """`combine` over the elements whose indices differ only along `axes`."""
    reduced = {a % len(dims) for a in axes}
    keep = [1 if d in reduced else n for d, n in enumerate(dims)]
    groups = {}
    for k, v in enumerate(values):
        i = index_of(k, dims)
        key = tuple(0 if d in reduced else i[d] for d in range(len(dims)))
        groups.setdefault(key, []).append(v)
    out = generate(keep, lambda i: combine(groups[tuple(i)]))
    return (keep if keepdims else [n for d, n in enumerate(dims) if d not in reduced]), out


def reduce_case(name, op, keepdims, opset, combine, good, bad, msg):
    attr = 'attribute { name: "keepdims" type: INT i: %d }' % keepdims
    return (name,
            model([node(op, ["x", "axes"], ["y"], attr, "fold")],
                  [("x", F32, [2, 3, 4]), ("axes", I64, [len(good[0])])],
                  [("y", F32, ["a", "b", "c"][:3 if keepdims else 3 - len(good[0])])],
                  opset=opset),
            [("axes %s" % (ax,), [("x", F32, [2, 3, 4], X234), ("axes", I64, [len(ax)], ax)],
              [(F32,) + tuple(reduce_ref(ax, keepdims, combine))]) for ax in good]
            + [("axes %s" % (ax,), [("x", F32, [2, 3, 4], X234), ("axes", I64, [len(ax)], ax)],
                "node 'fold' (%s): input 'axes' holds an axis outside [-3, 2]%s" % (op, msg))
               for ax in bad])


def resize_ref(values, dims, out, scales, mode, coordinates, rounding="round_prefer_floor"):
    """ONNX Resize (nearest or linear, no antialias) of a row-major tensor:
    per dim the output coordinate maps to an input one, whose taps (1 or 2,
    clamped into the input) are weighted and summed over all dims."""
    def taps(o, d):
        s, n = scales[d], dims[d]
        x = o / s if coordinates == "asymmetric" else (o + 0.5) / s - 0.5
        if mode == "nearest":
            r = {"floor": math.floor(x), "ceil": math.ceil(x),
                 "round_prefer_floor": math.ceil(x - 0.5),
                 "round_prefer_ceil": math.floor(x + 0.5)}[rounding]
            return [(min(max(r, 0), n - 1), 1.0)]
        x0 = math.floor(x)
        return [(min(max(x0, 0), n - 1), 1 - (x - x0)),
                (min(max(x0 + 1, 0), n - 1), x - x0)]

    def value(i):
        total = 0.0
        for pick in itertools.product(*[taps(i[d], d) for d in range(len(dims))]):
            weight = 1.0
            for _, w in pick:
                weight *= w
            total += weight * at(values, dims, [t for t, _ in pick])
        return total
    return out, generate(out, value)


def resize_node(inputs, attrs, name):
    return node("Resize", inputs, ["y"], " ".join(
        'attribute { name: "%s" type: %s %s }' % (
            k, "INTS" if isinstance(v, list) else "STRING",
            " ".join("ints: %d" % i for i in v) if isinstance(v, list) else 's: "%s"' % v)
        for k, v in attrs.items()), name)


X12 = [0.0, 8.0]
RESIZE_SCALES_MSG = ("node 'grow' (Resize): input 'scales' holds a scale that is not "
                     "above 0 or not finite")

# Rows with a tie (row 1: 4.0 twice) to check the lower index comes first.
XTOP = [3.0, -1.0, 7.5, 0.0, 2.0,
        4.0, 9.0, 4.0, -3.0, 1.0,
        -2.0, -2.5, -0.5, -8.0, 6.0]


def top_k_ref(k, largest):
    values, indices = [], []
    for r in range(3):
        row = XTOP[5 * r:5 * r + 5]
        order = sorted(range(5), key=lambda i: (-row[i] if largest else row[i], i))[:k]
        values += [row[i] for i in order]
        indices += order
    return [(F32, [3, k], values), (I64, [3, k], indices)]


LOOP_ROWS = [1.0, 2.0, 4.0, 8.0, 16.0]
LOOP_BODY = (
    'attribute { name: "body" type: GRAPH g { name: "body" '
    + node("Identity", ["cond_in"], ["cond_out"])
    + node("Constant", [], ["rows"], 'attribute { name: "value" type: TENSOR t { dims: 5 '
           'data_type: 1 %s } }' % " ".join("float_data: %g" % v for v in LOOP_ROWS))
    + node("Constant", [], ["one"], 'attribute { name: "value" type: TENSOR t { '
           'data_type: 7 int64_data: 1 } }')
    + node("Add", ["i", "one"], ["end"])
    + node("Constant", [], ["axis0"], 'attribute { name: "value" type: TENSOR t { dims: 1 '
           'data_type: 7 int64_data: 0 } }')
    + node("Unsqueeze", ["i", "axis0"], ["start1"])
    + node("Unsqueeze", ["end", "axis0"], ["end1"])
    + node("Slice", ["rows", "start1", "end1"], ["row"])
    + node("Add", ["y_in", "row"], ["y_out"])
    + node("Identity", ["y_out"], ["scan"])
    + ' input { name: "i" %s } input { name: "cond_in" %s } input { name: "y_in" %s }'
    % (vtype(I64, []), vtype(9, []), vtype(F32, [1]))
    + ' output { name: "cond_out" %s } output { name: "y_out" %s } output { name: "scan" %s }'
    % (vtype(9, []), vtype(F32, [1]), vtype(F32, [1]))
    + ' } }')
LOOP_MODEL = model([node("Loop", ["trips", "go", "y0"], ["y", "stacked"], LOOP_BODY, "repeat")],
                   [("trips", I64, []), ("go", 9, []), ("y0", F32, [1])],
                   [("y", F32, [1]), ("stacked", F32, ["t", 1])])

# (name, model text, [(label, [(input, elem, dims, values)], expected)]):
# expected is [(elem, dims, values)] per output, or the message to fail with.
RESHAPE_MSG = "node 'to' (Reshape): input 'shape' is not a shape of the input's 24 elements"
def range_add_case(name, operands):
    """An Add of a Range of run-time length n and an input x ["m"], in the
    order of `operands`: n = 3 adds, n = 2 against 3 fails by node."""
    text = model([node("Cast", ["n"], ["nf"], 'attribute { name: "to" type: INT i: 1 }',
                       "size"),
                  node("Range", ["zero", "nf", "one"], ["i"], "", "steps"),
                  node("Add", operands, ["y"], "", "plus")],
                 [("n", I32, []), ("zero", F32, []), ("one", F32, []), ("x", F32, ["m"])],
                 [("y", F32, ["m"])])

    def inputs(n):
        return [("n", I32, [], [n]), ("zero", F32, [], [0.0]), ("one", F32, [], [1.0]),
                ("x", F32, [3], [10.0, 20.0, 30.0])]
    first, second = operands
    return (name, text,
            [("size 3", inputs(3), [(F32, [3], [10.0, 21.0, 32.0])]),
             ("size 2 against 3", inputs(2),
              "node 'plus' (Add): dim 0 of input '%s' and dim 0 of input '%s' differ "
              "(dlc does not broadcast dims known only at run time)" % (first, second))])


CASES = [
    ("reshape",
     model([node("Reshape", ["x", "shape"], ["y"], "", "to")],
           [("x", F32, [2, 3, 4]), ("shape", I64, [3])], [("y", F32, ["a", "b", "c"])]),
     [("shape %s" % (s,), [("x", F32, [2, 3, 4], X234), ("shape", I64, [3], s)],
       [(F32, reshape_ref(s), X234)])
      for s in ([4, 3, 2], [0, -1, 2], [0, 0, 0], [-1, 1, 1])]
     + [("shape %s" % (s,), [("x", F32, [2, 3, 4], X234), ("shape", I64, [3], s)], RESHAPE_MSG)
        for s in ([5, 5, -1], [-1, -1, 2], [2, -3, -4], [2, 3, 5], [1 << 40, 1 << 40, 0])]),
    ("constant_of_shape",
     model([node("ConstantOfShape", ["shape"], ["y"],
                 'attribute { name: "value" type: TENSOR t { dims: 1 data_type: 7 int64_data: 7 } }',
                 "fill")],
           [("shape", I64, [2])], [("y", I64, ["a", "b"])]),
     [("shape (3, 2)", [("shape", I64, [2], [3, 2])], [(I64, [3, 2], [7] * 6)]),
      ("shape (2, 0)", [("shape", I64, [2], [2, 0])], [(I64, [2, 0], [])]),
      ("shape (-1, 2)", [("shape", I64, [2], [-1, 2])], "node 'fill' (ConstantOfShape)"),
      ("shape (2^40, 2^40)", [("shape", I64, [2], [1 << 40, 1 << 40])],
       "node 'fill' (ConstantOfShape): input 'shape' holds a negative dim or a shape of more than")]),
    ("range",
     model([node("Range", ["s", "l", "d"], ["y"], "", "steps")],
           [("s", I64, []), ("l", I64, []), ("d", I64, [])], [("y", I64, ["n"])]),
     [("10 to 2 by -3", [("s", I64, [], [10]), ("l", I64, [], [2]), ("d", I64, [], [-3])],
       [(I64, [3], [10, 7, 4])]),
      ("0 to 0 by 1", [("s", I64, [], [0]), ("l", I64, [], [0]), ("d", I64, [], [1])],
       [(I64, [0], [])]),
      ("delta 0", [("s", I64, [], [0]), ("l", I64, [], [5]), ("d", I64, [], [0])],
       "node 'steps' (Range): delta is 0")]),
    ("expand",
     model([node("Expand", ["x", "shape"], ["y"], "", "grow")],
           [("x", F32, [3, 1]), ("shape", I64, [3])], [("y", F32, ["a", "b", "c"])]),
     [("shape (2, 1, 4)", [("x", F32, [3, 1], X31), ("shape", I64, [3], [2, 1, 4])],
       [(F32, [2, 3, 4], generate([2, 3, 4], lambda i: X31[i[1]]))]),
      ("shape (1, 3, 1)", [("x", F32, [3, 1], X31), ("shape", I64, [3], [1, 3, 1])],
       [(F32, [1, 3, 1], X31)]),
      ("shape (2, 4, 4)", [("x", F32, [3, 1], X31), ("shape", I64, [3], [2, 4, 4])],
       "node 'grow' (Expand): input 'shape' is a shape the input does not broadcast to")]),
    ("tile",
     model([node("Tile", ["x", "r"], ["y"], "", "tiles")],
           [("x", F32, [2, 3]), ("r", I64, [2])], [("y", F32, ["a", "b"])]),
     [("repeats (2, 2)", [("x", F32, [2, 3], X23), ("r", I64, [2], [2, 2])],
       [(F32, [4, 6], generate([4, 6], lambda i: X23[(i[0] % 2) * 3 + i[1] % 3]))]),
      ("repeats (0, 2)", [("x", F32, [2, 3], X23), ("r", I64, [2], [0, 2])], [(F32, [0, 6], [])]),
      ("repeats (-1, 1)", [("x", F32, [2, 3], X23), ("r", I64, [2], [-1, 1])],
       "node 'tiles' (Tile): input 'r' holds a negative repeat")]),
    ("slice_starts_ends",
     model([node("Slice", ["x", "starts", "ends"], ["y"], "", "cut")],
           [("x", F32, [6, 8]), ("starts", I32, [2]), ("ends", I32, [2])],
           [("y", F32, ["a", "b"])], opset=13),
     [("starts %s ends %s" % (s, e),
       [("x", F32, [6, 8], X68), ("starts", I32, [2], s), ("ends", I32, [2], e)],
       [(F32,) + tuple(slice_ref(s, e, [0, 1], [1, 1]))])
      for s, e in (([1, -3], [100, -1]), ([-100, 0], [2, 8]), ([4, 5], [2, 3]))]),
    ("slice_reverse",
     model([node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], "", "flip")],
           [("x", F32, [6, 8]), ("starts", I64, [2]), ("ends", I64, [2]),
            ("axes", I64, [2]), ("steps", I64, [2])], [("y", F32, ["a", "b"])]),
     [("reversed", [("x", F32, [6, 8], X68), ("starts", I64, [2], [-1, -1]),
                    ("ends", I64, [2], [INT64_MIN, INT64_MIN]), ("axes", I64, [2], [1, 0]),
                    ("steps", I64, [2], [-1, -2])],
       [(F32,) + tuple(slice_ref([-1, -1], [INT64_MIN, INT64_MIN], [1, 0], [-1, -2]))]),
      ("axis repeated", [("x", F32, [6, 8], X68), ("starts", I64, [2], [0, 0]),
                         ("ends", I64, [2], [2, 2]), ("axes", I64, [2], [0, -2]),
                         ("steps", I64, [2], [1, 1])],
       "node 'flip' (Slice): an axis is out of range or repeated, or a step is 0"),
      ("step 0", [("x", F32, [6, 8], X68), ("starts", I64, [2], [0, 0]),
                  ("ends", I64, [2], [2, 2]), ("axes", I64, [2], [0, 1]),
                  ("steps", I64, [2], [1, 0])],
       "node 'flip' (Slice): an axis is out of range or repeated, or a step is 0")]),
    ("pad",
     model([node("Pad", ["x", "pads", "v"], ["y"], "", "border")],
           [("x", F32, [2, 3]), ("pads", I64, [4]), ("v", F32, [])], [("y", F32, ["a", "b"])]),
     [("pads %s" % (p,), [("x", F32, [2, 3], X23), ("pads", I64, [4], p), ("v", F32, [], [2.5])],
       [(F32,) + tuple(pad_ref(p, 2.5))])
      for p in ([1, -1, 0, 2], [0, 0, 0, 0], [-2, 0, 1, 0])]
     + [("pads (-3, 0, 0, 0)", [("x", F32, [2, 3], X23), ("pads", I64, [4], [-3, 0, 0, 0]),
                                ("v", F32, [], [2.5])],
         "node 'border' (Pad): input 'pads' crops a dim below 0")]),
    ("top_k_largest",
     model([node("TopK", ["x", "k"], ["values", "indices"], "", "best")],
           [("x", F32, [3, 5]), ("k", I64, [1])],
           [("values", F32, [3, "k"]), ("indices", I64, [3, "k"])]),
     [("k %d" % k, [("x", F32, [3, 5], XTOP), ("k", I64, [1], [k])], top_k_ref(k, True))
      for k in (2, 5, 0)]
     + [("k 6", [("x", F32, [3, 5], XTOP), ("k", I64, [1], [6])],
         "node 'best' (TopK): input 'k' is not in [0, 5] (the size of axis 1)")]),
    ("top_k_smallest",
     model([node("TopK", ["x", "k"], ["values", "indices"],
                 'attribute { name: "largest" type: INT i: 0 }', "least")],
           [("x", F32, [3, 5]), ("k", I64, [1])],
           [("values", F32, [3, "k"]), ("indices", I64, [3, "k"])]),
     [("k 3", [("x", F32, [3, 5], XTOP), ("k", I64, [1], [3])], top_k_ref(3, False))]),
    ("range_int64_ends",
     model([node("Range", ["s", "l", "d"], ["y"], "", "ends")],
           [("s", I64, []), ("l", I64, []), ("d", I64, [])], [("y", I64, ["n"])]),
     [("min to max by 2^62",
       [("s", I64, [], [INT64_MIN]), ("l", I64, [], [INT64_MAX]), ("d", I64, [], [1 << 62])],
       [(I64, [4], [INT64_MIN, -(1 << 62), 0, 1 << 62])]),
      ("min to 0 by max",
       [("s", I64, [], [INT64_MIN]), ("l", I64, [], [0]), ("d", I64, [], [INT64_MAX])],
       [(I64, [2], [INT64_MIN, -1])]),
      ("0 to min by -1", [("s", I64, [], [0]), ("l", I64, [], [INT64_MIN]), ("d", I64, [], [-1])],
       "node 'ends' (Range): delta is 0, or the range has more than"),
      ("-1 to max by 1", [("s", I64, [], [-1]), ("l", I64, [], [INT64_MAX]), ("d", I64, [], [1])],
       "node 'ends' (Range): delta is 0, or the range has more than")]),
    ("range_float",
     model([node("Range", ["s", "l", "d"], ["y"], "", "steps")],
           [("s", F32, []), ("l", F32, []), ("d", F32, [])], [("y", F32, ["n"])]),
     [("1 to -1 by -0.5", [("s", F32, [], [1.0]), ("l", F32, [], [-1.0]), ("d", F32, [], [-0.5])],
       [(F32, [4], [1.0, 0.5, 0.0, -0.5])]),
      ("5 to 1 by 0", [("s", F32, [], [5.0]), ("l", F32, [], [1.0]), ("d", F32, [], [0.0])],
       "node 'steps' (Range): delta is 0")]),
    ("one_hot_uint8",
     model([node("OneHot", ["i", "depth", "values"], ["y"], "", "hot")],
           [("i", 2, [3]), ("depth", I64, []), ("values", F32, [2])], [("y", F32, [3, "d"])]),
     [("255 of depth 4", [("i", 2, [3], [1, 255, 3]), ("depth", I64, [], [4]),
                          ("values", F32, [2], [0.0, 1.0])],
       [(F32, [3, 4], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])])]),
    ("cumsum_axis",
     model([node("CumSum", ["x", "axis"], ["y"], "", "running")],
           [("x", F32, [2, 3]), ("axis", I32, [])], [("y", F32, [2, 3])]),
     [("axis 0", [("x", F32, [2, 3], X23), ("axis", I32, [], [0])],
       [(F32, [2, 3], [1.0, 2.0, 3.0, 5.0, 7.0, 9.0])]),
      ("axis 1", [("x", F32, [2, 3], X23), ("axis", I32, [], [1])],
       [(F32, [2, 3], [1.0, 3.0, 6.0, 4.0, 9.0, 15.0])]),
      ("axis -2", [("x", F32, [2, 3], X23), ("axis", I32, [], [-2])],
       [(F32, [2, 3], [1.0, 2.0, 3.0, 5.0, 7.0, 9.0])]),
      ("axis 2", [("x", F32, [2, 3], X23), ("axis", I32, [], [2])],
       "node 'running' (CumSum): input 'axis' is an axis outside [-2, 1]")]),
    ("squeeze",
     model([node("Squeeze", ["x", "axes"], ["y"], "", "drop")],
           [("x", F32, [1, 3, 1]), ("axes", I64, [1])], [("y", F32, ["a", "b"])]),
     [("axes (0)", [("x", F32, [1, 3, 1], X31), ("axes", I64, [1], [0])], [(F32, [3, 1], X31)]),
      ("axes (-1)", [("x", F32, [1, 3, 1], X31), ("axes", I64, [1], [-1])], [(F32, [1, 3], X31)]),
      ("axes (1)", [("x", F32, [1, 3, 1], X31), ("axes", I64, [1], [1])],
       "node 'drop' (Squeeze): input 'axes' holds an axis out of range or twice, or one of a "
       "dim other than 1")]),
    ("unsqueeze",
     model([node("Unsqueeze", ["x", "axes"], ["y"], "", "lift")],
           [("x", F32, [2, 3]), ("axes", I64, [2])], [("y", F32, ["a", "b", "c", "d"])]),
     [("axes (0, 3)", [("x", F32, [2, 3], X23), ("axes", I64, [2], [0, 3])],
       [(F32, [1, 2, 3, 1], X23)]),
      ("axes (-1, 1)", [("x", F32, [2, 3], X23), ("axes", I64, [2], [-1, 1])],
       [(F32, [2, 1, 3, 1], X23)]),
      ("axes (0, 0)", [("x", F32, [2, 3], X23), ("axes", I64, [2], [0, 0])],
       "node 'lift' (Unsqueeze): input 'axes' holds an axis out of range or twice"),
      ("axes (4, 0)", [("x", F32, [2, 3], X23), ("axes", I64, [2], [4, 0])],
       "node 'lift' (Unsqueeze): input 'axes' holds an axis out of range or twice")]),
    reduce_case("reduce_sum_keepdims", "ReduceSum", 1, 13, sum,
                [[0, 2], [-1, 1], [2, 2]], [[3, 0], [0, -4]], ""),
    reduce_case("reduce_sum_keepdims_repeated", "ReduceSum", 1, 13, sum,
                [[0, 0, 1, 1], [2, -1, 2, -1]], [], ""),
    reduce_case("reduce_sum", "ReduceSum", 0, 13, sum,
                [[1], [-3], [2]], [[5]], ", or one twice"),
    reduce_case("reduce_sum_all", "ReduceSum", 0, 13, sum,
                [[2, 0, 1], [-1, -2, -3]], [[0, 1, 0]], ", or one twice"),
    reduce_case("reduce_max", "ReduceMax", 0, 18, max,
                [[0, 2], [1, -1]], [[1, 1]], ", or one twice"),
    reduce_case("reduce_prod_keepdims", "ReduceProd", 1, 18,
                math.prod, [[0], [2]], [], ""),
    ("split",
     model([node("Split", ["x", "sizes"], ["a", "b", "c"],
                 'attribute { name: "axis" type: INT i: -1 }', "parts")],
           [("x", F32, [2, 3]), ("sizes", I64, [3])],
           [("a", F32, [2, "p"]), ("b", F32, [2, "q"]), ("c", F32, [2, "r"])]),
     [("sizes %s" % (sz,), [("x", F32, [2, 3], X23), ("sizes", I64, [3], sz)],
       [(F32,) + tuple(slice_ref([sum(sz[:i])], [sum(sz[:i + 1])], [1], [1], (2, 3), X23))
        for i in range(3)])
      for sz in ([1, 0, 2], [0, 3, 0], [1, 1, 1])]
     + [("sizes %s" % (sz,), [("x", F32, [2, 3], X23), ("sizes", I64, [3], sz)],
         "node 'parts' (Split): input 'sizes' holds a size below 0, or sizes that do not "
         "add up to 3 (dim 1)") for sz in ([1, 1, 2], [4, -1, 0], [0, 0, 0])]),
    ("compress",
     model([node("Compress", ["x", "keep"], ["y"],
                 'attribute { name: "axis" type: INT i: 1 }', "pick")],
           [("x", F32, [2, 3]), ("keep", 9, [2])], [("y", F32, [2, "k"])]),
     [("keep %s" % (k,), [("x", F32, [2, 3], X23), ("keep", 9, [2], k)],
       [(F32, [2, sum(k)], [X23[3 * r + c] for r in range(2) for c in range(2) if k[c]])])
      for k in ([1, 0], [0, 1], [1, 1], [0, 0])]),
    ("compress_flat",
     model([node("Compress", ["x", "keep"], ["y"], "", "pick")],
           [("x", F32, [2, 3]), ("keep", 9, [8])], [("y", F32, ["k"])]),
     [("keep %s" % (k,), [("x", F32, [2, 3], X23), ("keep", 9, [8], k)],
       [(F32, [sum(k[:6])], [X23[i] for i in range(6) if k[i]])])
      for k in ([1, 0, 0, 1, 1, 0, 1, 1], [0] * 8)]),
    ("nonzero",
     model([node("NonZero", ["x"], ["y"], "", "where")],
           [("x", F32, [2, 3])], [("y", I64, [2, "n"])], opset=13),
     [("x %s" % (x,), [("x", F32, [2, 3], x)],
       [(I64, [2, len(nz)], [i // 3 for i in nz] + [i % 3 for i in nz])])
      for x, nz in (([0.0, 1.5, -0.0, float("nan"), 0.0, -2.0], [1, 3, 5]),
                    ([0.0] * 6, []), ([1.0] * 6, list(range(6))))]),
    # Results that fold to an empty static shape at compile time: the
    # caller still gets that shape ([1, 0], [2, 0]), not zeros.
    ("nonzero_empty",
     model([node("NonZero", ["x"], ["y"], "", "where")],
           [("x", F32, [0])], [("y", I64, [1, "n"])], opset=13),
     [("x []", [("x", F32, [0], [])], [(I64, [1, 0], [])])]),
    ("compress_empty_condition",
     model([node("Compress", ["x", "keep"], ["y"],
                 'attribute { name: "axis" type: INT i: 1 }', "pick")],
           [("x", F32, [2, 3]), ("keep", 9, [0])], [("y", F32, [2, "k"])]),
     [("keep []", [("x", F32, [2, 3], X23), ("keep", 9, [0], [])], [(F32, [2, 0], [])])]),
    ("nonzero_uint8",
     model([node("NonZero", ["x"], ["y"], "", "where")],
           [("x", 2, [4])], [("y", I64, [1, "n"])], opset=13),
     [("x (0, 255, 0, 1)", [("x", 2, [4], [0, 255, 0, 1])], [(I64, [1, 2], [1, 3])])]),
    ("resize_scales",
     model([resize_node(["x", "", "scales"], {"mode": "nearest",
                                              "coordinate_transformation_mode": "asymmetric",
                                              "nearest_mode": "floor"}, "grow")],
           [("x", F32, [1, 1, 2, 3]), ("scales", F32, [4])], [("y", F32, [1, 1, "h", "w"])]),
     [("scales %s" % (sc,), [("x", F32, [1, 1, 2, 3], X23), ("scales", F32, [4], sc)],
       [(F32,) + tuple(resize_ref(X23, [1, 1, 2, 3], out, sc, "nearest", "asymmetric",
                                  "floor"))])
      for sc, out in (([1, 1, 2, 1.5], [1, 1, 4, 4]), ([1, 1, 0.5, 1], [1, 1, 1, 3]),
                      ([1, 1, 0.25, 1], [1, 1, 0, 3]))]
     + [("scales %s" % (sc,), [("x", F32, [1, 1, 2, 3], X23), ("scales", F32, [4], sc)],
         RESIZE_SCALES_MSG)
        for sc in ([1, 1, 0, 1], [1, 1, float("nan"), 1], [1, 1, -2, 1],
                   [1, 1, float("inf"), 1], [1, 1, 1e30, 1e30])]),
    ("resize_sizes_linear",
     model([resize_node(["x", "", "", "sizes"], {"mode": "linear"}, "smooth")],
           [("x", F32, [1, 1, 1, 2]), ("sizes", I64, [4])], [("y", F32, [1, 1, "h", "w"])]),
     [("sizes %s" % (sz,), [("x", F32, [1, 1, 1, 2], X12), ("sizes", I64, [4], sz)],
       [(F32,) + tuple(resize_ref(X12, [1, 1, 1, 2], sz,
                                  [o / i for o, i in zip(sz, [1, 1, 1, 2])],
                                  "linear", "half_pixel"))])
      for sz in ([1, 1, 1, 4], [1, 1, 2, 2], [1, 1, 3, 8])]
     + [("sizes (1, 1, 1, -1)", [("x", F32, [1, 1, 1, 2], X12),
                                 ("sizes", I64, [4], [1, 1, 1, -1])],
         "node 'smooth' (Resize): input 'sizes' holds a negative size")]),
    # Opset 18: sizes for axes (2, 3) only, one ratio for both (the smaller).
    ("resize_not_larger",
     model([resize_node(["x", "", "", "sizes"],
                        {"mode": "nearest", "axes": [2, 3],
                         "keep_aspect_ratio_policy": "not_larger"}, "fit")],
           [("x", F32, [1, 1, 2, 3]), ("sizes", I64, [2])], [("y", F32, [1, 1, "h", "w"])],
           opset=18),
     [("sizes %s" % (sz,), [("x", F32, [1, 1, 2, 3], X23), ("sizes", I64, [2], sz)],
       [(F32,) + tuple(resize_ref(X23, [1, 1, 2, 3], out, [1, 1, r, r], "nearest",
                                  "half_pixel"))])
      for sz, out, r in (([6, 12], [1, 1, 6, 9], 3), ([5, 3], [1, 1, 2, 3], 1))]),
    pad_mode_case("edge"),
    pad_mode_case("reflect"),
    pad_mode_case("wrap"),
    ("pad_reflect_empty",
     model([node("Pad", ["x", "pads"], ["y"],
                 'attribute { name: "mode" type: STRING s: "reflect" }', "mirror")],
           [("x", F32, [0, 3]), ("pads", I64, [4])], [("y", F32, ["a", "b"])]),
     [("pads (0, 1, 0, 1)", [("x", F32, [0, 3], []), ("pads", I64, [4], [0, 1, 0, 1])],
       [(F32, [0, 5], [])]),
      ("pads (1, 0, 0, 0)", [("x", F32, [0, 3], []), ("pads", I64, [4], [1, 0, 0, 0])],
       "node 'mirror' (Pad): input 'pads' crops a dim below 0, or pads a dim cropped to "
       "nothing")]),
    ("hann_window",
     model([node("HannWindow", ["n"], ["y"], "", "taper")],
           [("n", I32, [])], [("y", F32, ["n"])]),
     [("size 4", [("n", I32, [], [4])], [(F32, [4], [0.0, 0.5, 1.0, 0.5])]),
      ("size 0", [("n", I32, [], [0])], [(F32, [0], [])]),
      ("size -1", [("n", I32, [], [-1])],
       "node 'taper' (HannWindow): input 'n' is a negative size")]),
    ("reverse_sequence",
     model([node("ReverseSequence", ["x", "lens"], ["y"], "", "back")],
           [("x", F32, [3, 2, 2]), ("lens", I64, [2])], [("y", F32, [3, 2, 2])]),
     [("lens %s" % (n,), [("x", F32, [3, 2, 2], [float(v) for v in range(12)]),
                          ("lens", I64, [2], n)],
       [(F32,) + tuple(reverse_sequence_ref(n))])
      for n in ([3, 1], [0, 2])]
     + [("lens %s" % (n,), [("x", F32, [3, 2, 2], [float(v) for v in range(12)]),
                            ("lens", I64, [2], n)],
         "node 'back' (ReverseSequence): input 'lens' holds a length outside [0, 3]")
        for n in ([4, 1], [1, -1])]),
    ("one_hot",
     model([node("OneHot", ["i", "depth", "values"], ["y"],
                 'attribute { name: "axis" type: INT i: 0 }', "hot")],
           [("i", I32, [3]), ("depth", F32, []), ("values", F32, [2])],
           [("y", F32, ["d", 3])]),
     [("depth 4", [("i", I32, [3], [2, -1, 7]), ("depth", F32, [], [4.0]),
                   ("values", F32, [2], [-1.0, 5.0])],
       [(F32,) + tuple(one_hot_ref([2, -1, 7], 4, -1.0, 5.0))]),
      ("depth 0", [("i", I32, [3], [2, -1, 7]), ("depth", F32, [], [0.0]),
                   ("values", F32, [2], [-1.0, 5.0])],
       "node 'hot' (OneHot): depth is below 1")]),
    ("reshape_relu",
     model([node("Reshape", ["x", "shape"], ["r"], "", "to"),
            node("Relu", ["r"], ["y"], "", "act")],
           [("x", F32, [2, 3, 4]), ("shape", I64, [3])], [("y", F32, ["a", "b", "c"])]),
     [("shape %s" % (s,), [("x", F32, [2, 3, 4], [float(v - 12) for v in range(24)]),
                           ("shape", I64, [3], s)],
       [(F32, reshape_ref(s), [float(max(v - 12, 0)) for v in range(24)])])
      for s in ([4, 3, 2], [-1, 1, 2])]
     + [("shape (5, 5, -1)", [("x", F32, [2, 3, 4], X234), ("shape", I64, [3], [5, 5, -1])],
         RESHAPE_MSG)]),
    # The expanded form of the ONNX window functions: a float Range of a
    # size given at run time, scaled and offset (exact in float32).
    ("range_scaled",
     model([node("Cast", ["n"], ["nf"], 'attribute { name: "to" type: INT i: 1 }', "size"),
            node("Range", ["zero", "nf", "one"], ["i"], "", "steps"),
            node("Mul", ["i", "half"], ["h"], "", "scale"),
            node("Sub", ["one", "h"], ["y"], "", "offset")],
           [("n", I32, []), ("zero", F32, []), ("one", F32, []), ("half", F32, [])],
           [("y", F32, ["n"])]),
     [("size %d" % n, [("n", I32, [], [n]), ("zero", F32, [], [0.0]), ("one", F32, [], [1.0]),
                       ("half", F32, [], [0.5])],
       [(F32, [n], [1.0 - 0.5 * k for k in range(n)])])
      for n in (5, 0)]),
    # A size read from values (Range's) meeting an input's named dim: dlc
    # does not broadcast them, so the sizes are checked equal at run time;
    # in either order both operands are cut to the smaller size, so the
    # report is all that happens.
    range_add_case("range_plus_input", ["i", "x"]),
    range_add_case("input_plus_range", ["x", "i"]),
    # A Loop run `trips` times when `go` is true (its body passes the
    # condition on), each iteration adding the iteration's row of a constant
    # to the carried sum and stacking the sum.
    ("loop_runtime_trips", LOOP_MODEL,
     [("%d trips, cond %d" % (m, c), [("trips", I64, [], [m]), ("go", 9, [], [c]),
                                      ("y0", F32, [1], [0.5])],
       [(F32, [1], [0.5 + sum(LOOP_ROWS[:t])]),
        (F32, [t, 1], [0.5 + sum(LOOP_ROWS[:k + 1]) for k in range(t)])])
      for m, c, t in ((3, 1, 3), (5, 1, 5), (4, 0, 0), (-2, 1, 0))]
     + [("7 trips: past the rows", [("trips", I64, [], [7]), ("go", 9, [], [1]),
                                    ("y0", F32, [1], [0.5])],
         "node 'repeat' (Loop): loop-carried value 0 of tensor<1xf32> changes its shape"),
        ("2^40 trips", [("trips", I64, [], [1 << 40]), ("go", 9, [], [1]),
                        ("y0", F32, [1], [0.5])],
         "node 'repeat' (Loop): the trip count would make scan outputs of more than")]),
]


def run_case(a, name, text, data_sets):
    path = os.path.join(a.work, name + ".onnx")
    encode("ModelProto", text, path)
    lib = os.path.join(a.work, name + ".so")
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), path, "-o", lib],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if c.returncode != 0:
        print("%s: FAILED (compile): %s" % (name, c.stdout.decode()[-2000:]))
        return 1
    failed = 0
    for k, (label, inputs, expected) in enumerate(data_sets):
        files = []
        for i, (n, elem, dims, values) in enumerate(inputs):
            files.append(os.path.join(a.work, "%s_%d_in%d.pb" % (name, k, i)))
            encode("TensorProto", tensor(n, elem, dims, values), files[-1])
        cmd = [os.path.join(a.bin, "dlc-run", "dlc-run"), lib, "--inputs"] + files
        if isinstance(expected, str):
            saved = os.path.join(a.work, "%s_%d_saved" % (name, k))
            r = subprocess.run(cmd + ["--save", saved], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            text_out = r.stdout.decode().strip()
            ok = r.returncode == 2 and expected in text_out and not os.path.exists(saved)
        else:
            outs = []
            for j, (elem, dims, values) in enumerate(expected):
                outs.append(os.path.join(a.work, "%s_%d_out%d.pb" % (name, k, j)))
                encode("TensorProto", tensor("y", elem, dims, values), outs[-1])
            ok = True
            text_out = ""
            for threads in ("1", "2"):
                r = subprocess.run(cmd + ["--threads", threads, "--expect"] + outs +
                                   ["--rtol", "0", "--atol", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                ok &= r.returncode == 0
                text_out += r.stdout.decode().strip() + " "
        failed += not ok
        print("%s %s: %s\n  %s" % (name, label, "ok" if ok else "FAILED", text_out))
    return failed


def refused_downstream(a):
    """An Add of a run-time Reshape and a static tensor: refused by name."""
    text = model([node("Reshape", ["x", "shape"], ["r"], "", "to"),
                  node("Add", ["r", "x"], ["y"], "", "plus")],
                 [("x", F32, [2, 3, 4]), ("shape", I64, [3])], [("y", F32, ["a", "b", "c"])])
    path = os.path.join(a.work, "downstream.onnx")
    encode("ModelProto", text, path)
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), path, "-o",
                        os.path.join(a.work, "downstream.so")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = c.stdout.decode()
    ok = c.returncode == 1 and ("node 'plus' (Add): input 'r' has dims known only at run "
                                "time [?, ?, ?], and it meets a static dim") in out \
        and ("its size comes from the values of input 'shape', so input 'shape' must be a "
             "compile-time constant here (--freeze-input shape=FILE.pb makes it one)") in out
    print("downstream op refused: %s\n  %s" % ("ok" if ok else "FAILED", out.strip()))
    # An op with no run-time form gets no hint that a graph output would do.
    text = model([node("MaxUnpool", ["x", "i", "shape"], ["r"],
                       'attribute { name: "kernel_shape" type: INTS ints: 2 ints: 2 }',
                       "unpool"),
                  node("Relu", ["r"], ["y"], "", "act")],
                 [("x", F32, [1, 1, 2, 2]), ("i", I64, [1, 1, 2, 2]), ("shape", I64, [4])],
                 [("y", F32, ["a", "b", "c", "d"])])
    encode("ModelProto", text, path)
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), path, "-o",
                        os.path.join(a.work, "downstream.so")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = c.stdout.decode()
    plain = c.returncode == 1 and \
        "node 'unpool' (MaxUnpool): input 'shape' must be a compile-time constant" in out and \
        "known only at run time" not in out
    print("no run-time form, no hint: %s\n  %s" % ("ok" if plain else "FAILED", out.strip()))
    # A Loop's scan output (as long as its run-time trip count) meeting a
    # static dim: the hint names the trip count, not the condition.
    text = model([node("Loop", ["trips", "go", "y0"], ["y", "stacked"], LOOP_BODY, "repeat"),
                  node("Add", ["stacked", "c"], ["z"], "", "plus")],
                 [("trips", I64, []), ("go", 9, []), ("y0", F32, [1]), ("c", F32, [3, 1])],
                 [("z", F32, ["t", 1])])
    encode("ModelProto", text, path)
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), path, "-o",
                        os.path.join(a.work, "downstream.so")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = c.stdout.decode()
    trips = c.returncode == 1 and "node 'plus' (Add): input 'stacked'" in out and \
        "input 'trips' must be a compile-time constant here" in out
    print("loop scan output refused, naming the trip count: %s\n  %s" % (
        "ok" if trips else "FAILED", out.strip()))
    return (not ok) + (not plain) + (not trips)


def if_branch_case():
    """An If whose branches reshape to a run-time shape, into a Relu."""
    def branch(name):
        return ('attribute { name: "%s" type: GRAPH g { name: "%s" %s output { name: "%s_r" %s } } }'
                % (name, name, node("Reshape", ["x", "shape"], [name + "_r"]), name,
                   vtype(F32, ["a", "b", "c"])))
    text = model([node("If", ["c"], ["r"], branch("then_branch") + " " + branch("else_branch"),
                       "choose"),
                  node("Relu", ["r"], ["y"], "", "act")],
                 [("x", F32, [2, 3, 4]), ("shape", I64, [3]), ("c", 9, [])],
                 [("y", F32, ["a", "b", "c"])])
    xs = [float(v - 12) for v in range(24)]
    return ("if_runtime_shape", text,
            [("shape %s" % (s,), [("x", F32, [2, 3, 4], xs), ("shape", I64, [3], s),
                                  ("c", 9, [], [c])],
              [(F32, reshape_ref(s), [max(v, 0.0) for v in xs])])
             for s, c in (([4, 3, 2], 1), ([0, -1, 1], 0))])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    failed = sum(run_case(a, *case) for case in CASES + [if_branch_case()]) \
        + refused_downstream(a)
    print("runtime_shapes: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
