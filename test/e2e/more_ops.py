#!/usr/bin/env python3
"""Ops beyond the ONNX test data's single cases, compiled by dlc and run by
dlc-run against values computed here in float64 from the ONNX
specification (rtol 1e-4, atol 1e-4: float32 sums of up to 24 products of
magnitude <= 20).

- dft_*: DFT (17) of a real signal along axis 2 with dft_length padding it
  (12 of 10) and truncating it (6), onesided; of a complex signal along
  axis 1, forward and inverse; a complex input refused for onesided.
  Opset 20's axis input, and its default (the last signal dim).
- det_*: Det of a batch [2, 3, 4, 4], of a singular matrix (0) and of
  [1, 1].
- max_pool_int8 / max_pool_uint8: MaxPool (12) of 8-bit integers, values
  at both ends of their ranges, padding included.
- scan8: Scan (8) with a batch of 2, one input scanned in reverse; its
  sequence_lens given as the full length.
- nms_*: NonMaxSuppression (11) of 2 batches, 2 classes and 6 boxes,
  corner boxes given by either diagonal and center boxes, with and without a
  score threshold, a count cutting a class short, a box of no area; without
  the count input, no box.
- unique_*: Unique (11) of int64 and uint8 elements (sorted as unsigned:
  200 after 5), in order of first occurrence and sorted, and of float
  columns (axis 1) with repeats.
- tfidf_*: TfIdfVectorizer (9) of int64 tokens [2, 9] with uni-, bi- and
  trigrams, skips up to 2, in TF, IDF and TFIDF modes with weights, and with
  min_gram_length 2 (the unigrams' slots stay 0).
- roi_align_*: RoiAlign (16) of 2 images, 3 regions (one partly outside the
  image, one of image 1), avg and max, half_pixel and output_half_pixel,
  fixed and adaptive sampling, against onnxruntime's definition (samples
  over a pixel outside are 0; max of weighted corners); a batch index
  outside [0, N) fails the call by node.
- empty_mid_dim: a Trilu and a Relu of a [3, 0, 5] input (a zero-size dim
  after the first crosses the library's bare-pointer ABI).
- loop_sequence_concat*: a Loop of run-time trip count appending x * k to a
  sequence that starts empty, then ConcatFromSequence of the sequence built
  at run time, along axis 0 and stacked along a new axis 1.
- runtime_split*: SplitToSequence of a [2, n] input (n at run time) by sizes
  given at run time (one of them 0), SequenceLength, SequenceAt at a run-time
  position and ConcatFromSequence back; columns without the axis stacked
  back along a new axis; sizes that do not add up fail the call by node.

Usage: more_ops.py --bin BUILD/tools --work DIR"""
import argparse
import cmath
import itertools
import math
import os
import random
import subprocess
import sys

from control_flow import node
from model_check import F32, I64, compile_model, expect, tensor
from opset18_21 import at, attr_int, attr_ints, indices, numel

I8, U8 = 3, 2


def value_info(name, elem, dims):
    """A ValueInfoProto text; a str dim is a dim_param."""
    shape = " ".join('dim { dim_param: "%s" }' % d if isinstance(d, str)
                     else "dim { dim_value: %d }" % d for d in dims)
    return 'name: "%s" type { tensor_type { elem_type: %d shape { %s } } }' % (
        name, elem, shape)


def model(opset, nodes, inputs, outputs, initializers=()):
    """inputs/outputs: (name, elem, dims)."""
    return ('ir_version: 8 opset_import { domain: "" version: %d } graph { name: "m" %s %s %s %s }'
            % (opset, " ".join(nodes),
               " ".join("initializer { %s }" % tensor(*i) for i in initializers),
               " ".join("input { %s }" % value_info(*i) for i in inputs),
               " ".join("output { %s }" % value_info(*o) for o in outputs)))


def rand(n, seed, lo=-2.0, hi=2.0):
    r = random.Random(seed)
    return [round(r.uniform(lo, hi), 3) for _ in range(n)]


def dft_ref(x, dims, axis, length, inverse, onesided):
    """x: [..., parts] flattened; returns the output values and dims."""
    parts = dims[-1]
    n = dims[axis]
    freqs = length // 2 + 1 if onesided else length
    out_dims = list(dims[:-1]) + [2]
    out_dims[axis] = freqs
    out = [0.0] * numel(out_dims)
    sign = 1 if inverse else -1
    for idx in indices(out_dims[:-1]):
        k = idx[axis]
        total = 0j
        for t in range(min(n, length)):
            src = list(idx)
            src[axis] = t
            re = at(x, dims, tuple(src) + (0,))
            im = at(x, dims, tuple(src) + (1,)) if parts == 2 else 0.0
            total += complex(re, im) * cmath.exp(sign * 2j * math.pi * k * t / length)
        if inverse:
            total /= length
        base = sum(i * s for i, s in zip(idx + (0,), strides_of(out_dims)))
        out[base], out[base + 1] = total.real, total.imag
    return out, out_dims


def strides_of(dims):
    out, s = [], 1
    for d in reversed(dims):
        out.insert(0, s)
        s *= d
    return out


def dft_case(dims, axis, length=None, inverse=0, onesided=0, seed=1, opset=17,
             axis_input=True):
    """Opset 20 takes the axis as input 2 (without it: -2, the last signal
    dim)."""
    x = rand(numel(dims), seed)
    y, out_dims = dft_ref(x, dims, axis, length or dims[axis], inverse, onesided)
    attrs = attr_int("inverse", inverse) + " " + attr_int("onesided", onesided)
    inputs = ["x"] + (["len"] if length else [""])
    inits = [("len", I64, [], [length])] if length else []
    if opset < 20:
        attrs += " " + attr_int("axis", axis)
    elif axis_input:
        inputs.append("ax")
        inits.append(("ax", I64, [], [axis - len(dims)]))
    while not inputs[-1]:
        inputs.pop()
    text = model(opset, [node("DFT", inputs, ["y"], attrs, "dft")], [("x", F32, dims)],
                 [("y", F32, out_dims)], inits)
    return text, [("x", F32, dims, x)], [("y", F32, out_dims, y)]


def det(m):
    """Laplace expansion (exact for these small matrices)."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** c * m[0][c] * det([row[:c] + row[c + 1:] for row in m[1:]])
               for c in range(len(m)))


def det_case(dims, values):
    mm = dims[-1]
    batch = numel(dims[:-2])
    y = []
    for b in range(batch):
        flat = values[b * mm * mm:(b + 1) * mm * mm]
        y.append(det([flat[r * mm:(r + 1) * mm] for r in range(mm)]))
    text = model(11, [node("Det", ["x"], ["y"], "", "det")], [("x", F32, dims)],
                 [("y", F32, dims[:-2])])
    return text, [("x", F32, dims, values)], [("y", F32, dims[:-2], y)]


def max_pool_case(elem, values):
    dims = [1, 1, 3, 4]
    pads = [1, 0, 0, 1]  # top, left, bottom, right
    out_dims = [1, 1, 3, 2]  # kernel 2x2, strides 1x2 over [4, 5]
    y = []
    for i, j in itertools.product(range(3), range(2)):
        window = [at(values, dims, (0, 0, i + di - 1, 2 * j + dj))
                  for di in range(2) for dj in range(2)
                  if 0 <= i + di - 1 < 3 and 2 * j + dj < 4]
        y.append(max(window))
    attrs = attr_ints("kernel_shape", [2, 2]) + " " + attr_ints("strides", [1, 2]) + " " + \
        attr_ints("pads", pads)
    text = model(12, [node("MaxPool", ["x"], ["y"], attrs, "pool")], [("x", elem, dims)],
                 [("y", elem, out_dims)])
    return text, [("x", elem, dims, values)], [("y", elem, out_dims, y)]


def scan8_case():
    # Per sample: state s [2] += x_t (forward) - r_t (reverse); scan output
    # the state after each step.
    batch, steps = 2, 3
    s0 = rand(batch * 2, 5)
    xs = rand(batch * steps * 2, 6)
    rs = rand(batch * steps * 2, 7)
    final, scanned = [], []
    for b in range(batch):
        s = s0[2 * b:2 * b + 2]
        for t in range(steps):
            x = xs[(b * steps + t) * 2:(b * steps + t) * 2 + 2]
            r = rs[(b * steps + steps - 1 - t) * 2:(b * steps + steps - 1 - t) * 2 + 2]
            s = [s[k] + x[k] - r[k] for k in range(2)]
            scanned += s
        final += s
    body = ('attribute { name: "body" type: GRAPH g { name: "body" %s %s '
            'input { %s } input { %s } input { %s } output { %s } output { %s } } }'
            % (node("Add", ["s_in", "x_t"], ["a"]), node("Sub", ["a", "r_t"], ["s_out"])
               + node("Identity", ["s_out"], ["scan_out"]),
               value_info("s_in", F32, [2]), value_info("x_t", F32, [2]),
               value_info("r_t", F32, [2]), value_info("s_out", F32, [2]),
               value_info("scan_out", F32, [2])))
    attrs = body + " " + attr_int("num_scan_inputs", 2) + " " + attr_ints("directions", [0, 1])
    text = model(8, [node("Scan", ["lens", "s0", "xs", "rs"], ["s", "ys"], attrs, "scan")],
                 [("s0", F32, [batch, 2]), ("xs", F32, [batch, steps, 2]),
                  ("rs", F32, [batch, steps, 2])],
                 [("s", F32, [batch, 2]), ("ys", F32, [batch, steps, 2])],
                 [("lens", I64, [batch], [steps] * batch)])
    return text, [("s0", F32, [batch, 2], s0), ("xs", F32, [batch, steps, 2], xs),
                  ("rs", F32, [batch, steps, 2], rs)], \
        [("s", F32, [batch, 2], final), ("ys", F32, [batch, steps, 2], scanned)]


def seq_type(name, elem):
    """A ValueInfoProto text of a sequence of `elem` tensors."""
    return ('name: "%s" type { sequence_type { elem_type { tensor_type { elem_type: %d } } } }'
            % (name, elem))


def loop_sequence_concat_case(trips):
    """A Loop (run-time trip count) appending x * k to a sequence, then
    ConcatFromSequence along axis 0 and stacked along a new axis 1."""
    body = ('attribute { name: "body" type: GRAPH g { name: "body" %s %s %s %s '
            'input { %s } input { %s } input { %s } output { %s } output { %s } } }'
            % (node("Identity", ["cond_in"], ["cond_out"]),
               node("Cast", ["iter"], ["k"], 'attribute { name: "to" type: INT i: 1 }'),
               node("Mul", ["x", "k"], ["t"]),
               node("SequenceInsert", ["seq_in", "t"], ["seq_out"]),
               value_info("iter", I64, []), value_info("cond_in", 9, []),
               seq_type("seq_in", F32), value_info("cond_out", 9, []),
               seq_type("seq_out", F32)))
    text = model(17, [node("SequenceEmpty", [], ["empty"],
                           'attribute { name: "dtype" type: INT i: 1 }'),
                      node("Loop", ["m", "", "empty"], ["seq"], body, "collect"),
                      node("ConcatFromSequence", ["seq"], ["y"], attr_int("axis", 0), "cat"),
                      node("ConcatFromSequence", ["seq"], ["z"],
                           attr_int("axis", 1) + " " + attr_int("new_axis", 1), "stack")],
                 [("m", I64, []), ("x", F32, [2, 3])],
                 [("y", F32, ["r", 3]), ("z", F32, [2, "n", 3])])
    x = rand(6, 8)
    y = [x[i] * k for k in range(trips) for i in range(6)]
    z = [x[i * 3 + j] * k for i in range(2) for k in range(trips) for j in range(3)]
    return text, [("m", I64, [], [trips]), ("x", F32, [2, 3], x)], \
        [("y", F32, [2 * trips, 3], y), ("z", F32, [2, trips, 3], z)]


def runtime_split_case(n, splits):
    """SplitToSequence of x [2, n] (n at run time) by sizes given at run
    time, its length, its tensor at a position given at run time and its
    concatenation (x again); and split into columns without the axis,
    stacked back along a new axis."""
    text = model(17, [node("SplitToSequence", ["x", "s"], ["seq"], attr_int("axis", 1),
                           "split"),
                      node("SequenceLength", ["seq"], ["len"]),
                      node("SequenceAt", ["seq", "at"], ["mid"]),
                      node("ConcatFromSequence", ["seq"], ["y"], attr_int("axis", 1)),
                      node("SplitToSequence", ["x"], ["cols"],
                           attr_int("axis", 1) + " " + attr_int("keepdims", 0)),
                      node("ConcatFromSequence", ["cols"], ["z"],
                           attr_int("axis", 1) + " " + attr_int("new_axis", 1))],
                 [("x", F32, [2, "n"]), ("s", I64, [len(splits)]), ("at", I64, [])],
                 [("len", I64, []), ("mid", F32, [2, "k"]), ("y", F32, [2, "n"]),
                  ("z", F32, [2, "n"])])
    x = rand(2 * n, 9)
    start = splits[0]
    mid = [x[i * n + j] for i in range(2) for j in range(start, start + splits[1])]
    return text, [("x", F32, [2, n], x), ("s", I64, [len(splits)], splits),
                  ("at", I64, [], [1])], \
        [("len", I64, [], [len(splits)]), ("mid", F32, [2, splits[1]], mid),
         ("y", F32, [2, n], x), ("z", F32, [2, n], x)]


def empty_mid_dim_case():
    dims = [3, 0, 5]
    text = model(14, [node("Trilu", ["x"], ["t"], attr_int("upper", 0), "tril"),
                      node("Relu", ["t"], ["y"], "", "act")],
                 [("x", F32, dims)], [("y", F32, dims)])
    return text, [("x", F32, dims, [])], [("y", F32, dims, [])]


def nms_ref(boxes, scores, dims, count, iou_limit, score_limit, center):
    batch, classes, n = dims
    rows = []
    def corners(b, i):
        c = boxes[(b * n + i) * 4:(b * n + i) * 4 + 4]
        if center:
            x, y, w, h = c
            return (y - h / 2, x - w / 2, y + h / 2, x + w / 2)
        return (min(c[0], c[2]), min(c[1], c[3]), max(c[0], c[2]), max(c[1], c[3]))
    def area(c):
        return (c[2] - c[0]) * (c[3] - c[1])
    for b in range(batch):
        for k in range(classes):
            sc = scores[(b * classes + k) * n:(b * classes + k + 1) * n]
            live = [score_limit is None or v > score_limit for v in sc]
            chosen = 0
            while chosen < count:
                left = [i for i in range(n) if live[i]]
                if not left:
                    break
                pick = max(left, key=lambda i: (sc[i], -i))
                rows += [b, k, pick]
                chosen += 1
                live[pick] = False
                p = corners(b, pick)
                for i in left:
                    o = corners(b, i)
                    inter = max(min(p[2], o[2]) - max(p[0], o[0]), 0) * \
                        max(min(p[3], o[3]) - max(p[1], o[1]), 0)
                    union = area(p) + area(o) - inter
                    if inter > 0 and union > 0 and area(p) > 0 and area(o) > 0 and \
                            inter / union > iou_limit:
                        live[i] = False
    return rows


def nms_case(center, count, score_limit, with_count=True):
    dims = [2, 2, 6]
    if center:
        boxes = [0.5, 0.5, 1.0, 1.0, 0.6, 0.5, 1.0, 1.0, 3.0, 3.0, 2.0, 1.0,
                 3.1, 3.0, 2.0, 1.2, 0.5, 0.5, 0.0, 1.0, 8.0, 8.0, 1.0, 1.0] * 2
    else:
        # Box 1 is box 0 given by its other diagonal; box 4 has no area.
        boxes = [0.0, 0.0, 1.0, 1.0, 1.0, 0.1, 0.0, 1.1, 2.0, 2.0, 3.0, 4.0,
                 2.1, 2.0, 3.2, 4.0, 5.0, 5.0, 5.0, 6.0, 0.0, 0.5, 1.0, 1.5,
                 0.0, 0.0, 2.0, 2.0, 0.5, 0.5, 1.5, 1.5, 3.0, 3.0, 4.0, 4.0,
                 3.5, 3.5, 4.5, 4.5, 0.0, 0.0, 0.1, 0.1, 9.0, 9.0, 9.5, 9.5]
    scores = [0.9, 0.8, 0.75, 0.7, 0.95, 0.3,
              0.1, 0.2, 0.6, 0.6, 0.5, 0.9,
              0.5, 0.6, 0.7, 0.8, 0.9, 0.4,
              0.9, 0.9, 0.9, 0.1, 0.05, 0.2]
    iou_limit = 0.3
    rows = nms_ref(boxes, scores, dims, count if with_count else 0, iou_limit,
                   score_limit, center)
    inputs = ["boxes", "scores", "count" if with_count else "", "iou",
              "score" if score_limit is not None else ""]
    while inputs and not inputs[-1]:
        inputs.pop()
    inits = [("iou", F32, [1], [iou_limit])]
    if with_count:
        inits.append(("count", I64, [1], [count]))
    if score_limit is not None:
        inits.append(("score", F32, [1], [score_limit]))
    text = model(11, [node("NonMaxSuppression", inputs, ["y"],
                           attr_int("center_point_box", center), "nms")],
                 [("boxes", F32, [2, 6, 4]), ("scores", F32, dims)],
                 [("y", I64, ["n", 3])], inits)
    return text, [("boxes", F32, [2, 6, 4], boxes), ("scores", F32, dims, scores)], \
        [("y", I64, [len(rows) // 3, 3], rows)]


def unique_ref(values, dims, axis, is_sorted):
    """Slices along `axis` (None: elements) -> (unique dims, unique values,
    indices, inverse, counts)."""
    if axis is None:
        slices = [(v,) for v in values]
    else:
        slices = []
        for k in range(dims[axis]):
            sl = []
            for idx in indices(dims):
                if idx[axis] == k:
                    sl.append(at(values, dims, idx))
            slices.append(tuple(sl))
    firsts = []
    for k, sl in enumerate(slices):
        if all(slices[j] != sl for j in firsts):
            firsts.append(k)
    if is_sorted:
        firsts.sort(key=lambda k: slices[k])
    rank = {slices[k]: r for r, k in enumerate(firsts)}
    inverse = [rank[sl] for sl in slices]
    counts = [inverse.count(r) for r in range(len(firsts))]
    if axis is None:
        return [len(firsts)], [slices[k][0] for k in firsts], firsts, inverse, counts
    out_dims = list(dims)
    out_dims[axis] = len(firsts)
    out = [at(values, dims, tuple(firsts[i] if d == axis else i for d, i in enumerate(idx)))
           for idx in indices(out_dims)]
    return out_dims, out, firsts, inverse, counts


def unique_case(elem, dims, values, axis, is_sorted):
    out_dims, out, firsts, inverse, counts = unique_ref(values, dims, axis, is_sorted)
    attrs = attr_int("sorted", is_sorted) + (" " + attr_int("axis", axis) if axis is not None
                                             else "")
    n = len(firsts)
    sym = ["u" if axis is None or d == axis else v for d, v in
           enumerate(dims if axis is not None else [0])]
    text = model(11, [node("Unique", ["x"], ["y", "first", "inverse", "counts"], attrs, "uniq")],
                 [("x", elem, dims)],
                 [("y", elem, sym), ("first", I64, ["u"]), ("inverse", I64, [len(inverse)]),
                  ("counts", I64, ["u"])])
    return text, [("x", elem, dims, values)], \
        [("y", elem, out_dims, out), ("first", I64, [n], firsts),
         ("inverse", I64, [len(inverse)], inverse), ("counts", I64, [n], counts)]


def tfidf_ref(tokens, dims, pool, starts, slots, min_gram, max_gram, max_skip, mode,
              weights):
    rows = dims[0] if len(dims) == 2 else 1
    width = dims[-1]
    grams = []  # (tokens, slot, weight) in pool order
    e = 0
    for k, begin in enumerate(starts):
        n = k + 1
        end = starts[k + 1] if k + 1 < len(starts) else len(pool)
        for at in range(begin, end, n):
            grams.append((tuple(pool[at:at + n]), slots[e], weights[e] if weights else 1.0))
            e += 1
    outputs = max(slots) + 1
    out = [0.0] * (rows * outputs)
    for r in range(rows):
        row = tokens[r * width:(r + 1) * width]
        for gram, slot, w in grams:
            n = len(gram)
            if not min_gram <= n <= max_gram:
                continue
            count = 0
            for d in ([1] if n == 1 else range(1, max_skip + 2)):
                for i in range(width - (n - 1) * d):
                    count += all(row[i + j * d] == gram[j] for j in range(n))
            out[r * outputs + slot] = {"TF": count, "IDF": w if count else 0.0,
                                       "TFIDF": count * w}[mode]
    return out, ([rows, outputs] if len(dims) == 2 else [outputs])


def tfidf_case(mode, min_gram, weights=None):
    dims = [2, 9]
    tokens = [4, 1, 4, 2, 1, 4, 2, 3, 4,
              2, 3, 1, 2, 3, 9, 4, 1, 1]
    pool = [1, 2, 4, 9, 4, 1, 2, 3, 1, 4, 4, 1, 2]
    starts = [0, 4, 10]  # unigrams 1 2 4 9; bigrams (4 1) (2 3) (1 4); trigram (4 1 2)
    slots = [6, 0, 3, 7, 1, 2, 4, 5]
    y, ydims = tfidf_ref(tokens, dims, pool, starts, slots, min_gram, 3, 2, mode, weights)
    attrs = " ".join([attr_int("min_gram_length", min_gram), attr_int("max_gram_length", 3),
                      attr_int("max_skip_count", 2),
                      'attribute { name: "mode" type: STRING s: "%s" }' % mode,
                      attr_ints("pool_int64s", pool), attr_ints("ngram_counts", starts),
                      attr_ints("ngram_indexes", slots)])
    if weights:
        attrs += ' attribute { name: "weights" type: FLOATS %s }' % " ".join(
            "floats: %g" % w for w in weights)
    text = model(9, [node("TfIdfVectorizer", ["x"], ["y"], attrs, "tfidf")],
                 [("x", I64, dims)], [("y", F32, ydims)])
    return text, [("x", I64, dims, tokens)], [("y", F32, ydims, y)]


def roi_align_ref(x, xdims, rois, batch, out_h, out_w, ratio, scale, aligned, mode):
    n, c, h, w = xdims
    offset = 0.5 if aligned else 0.0
    out = []
    for r in range(len(batch)):
        x1, y1, x2, y2 = [v * scale - offset for v in rois[4 * r:4 * r + 4]]
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / out_h, rw / out_w
        gh = ratio if ratio > 0 else max(1, math.ceil(bh))
        gw = ratio if ratio > 0 else max(1, math.ceil(bw))
        for ch in range(c):
            for ph in range(out_h):
                for pw in range(out_w):
                    acc = 0.0 if mode == "avg" else -math.inf
                    for iy in range(gh):
                        y = y1 + ph * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            xx = x1 + pw * bw + (ix + 0.5) * bw / gw
                            if y < -1.0 or y > h or xx < -1.0 or xx > w:
                                s = 0.0
                            else:
                                def corners(p, size):
                                    p = max(p, 0.0)
                                    lo = int(p)
                                    if lo >= size - 1:
                                        return size - 1, size - 1, 0.0
                                    return lo, lo + 1, p - lo
                                yl, yh, ly = corners(y, h)
                                xl, xh, lx = corners(xx, w)
                                v = lambda yy, xq: at(x, xdims, (batch[r], ch, yy, xq))
                                terms = [(1 - ly) * (1 - lx) * v(yl, xl), (1 - ly) * lx * v(yl, xh),
                                         ly * (1 - lx) * v(yh, xl), ly * lx * v(yh, xh)]
                                s = sum(terms) if mode == "avg" else max(terms)
                            acc = acc + s if mode == "avg" else max(acc, s)
                    out.append(acc / (gh * gw) if mode == "avg" else acc)
    return out


def roi_align_case(mode, aligned, ratio, batch=(0, 1, 0)):
    """Regions of images `batch`, the last one partly outside."""
    xdims = [2, 2, 6, 7]
    x = rand(numel(xdims), 8, 0.0, 4.0)
    rois = [0.5, 0.5, 4.0, 3.5,  1.0, 2.0, 6.5, 5.5,  -2.0, 3.0, 3.0, 9.0]
    out_h, out_w, scale = 3, 2, 0.9
    y = roi_align_ref(x, xdims, rois, list(batch), out_h, out_w, ratio, scale, aligned, mode)
    attrs = " ".join([attr_int("output_height", out_h), attr_int("output_width", out_w),
                      attr_int("sampling_ratio", ratio),
                      'attribute { name: "spatial_scale" type: FLOAT f: %g }' % scale,
                      'attribute { name: "mode" type: STRING s: "%s" }' % mode,
                      'attribute { name: "coordinate_transformation_mode" type: STRING s: "%s" }'
                      % ("half_pixel" if aligned else "output_half_pixel")])
    text = model(16, [node("RoiAlign", ["x", "rois", "batch"], ["y"], attrs, "align")],
                 [("x", F32, xdims), ("rois", F32, [3, 4]), ("batch", I64, [3])],
                 [("y", F32, [3, 2, out_h, out_w])])
    return text, [("x", F32, xdims, x), ("rois", F32, [3, 4], rois),
                  ("batch", I64, [3], list(batch))], [("y", F32, [3, 2, out_h, out_w], y)]


SINGULAR = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 0.5, -1.0, 7.0]
CASES = [
    ("dft_real_pad", lambda: dft_case([2, 3, 10, 1], 2, length=12)),
    ("dft_real_truncate_onesided", lambda: dft_case([2, 3, 10, 1], 2, length=6, onesided=1)),
    ("dft_complex", lambda: dft_case([1, 8, 3, 2], 1, seed=2)),
    ("dft_complex_inverse", lambda: dft_case([1, 8, 3, 2], 1, inverse=1, seed=3)),
    ("dft_20_default_axis", lambda: dft_case([1, 4, 6, 1], 2, seed=4, opset=20,
                                             axis_input=False)),
    ("dft_20_axis_input", lambda: dft_case([1, 4, 6, 2], 1, length=5, seed=5, opset=20)),
    ("det_batch", lambda: det_case([2, 3, 4, 4], rand(96, 4))),
    ("det_singular", lambda: det_case([3, 3], SINGULAR)),
    ("det_1x1", lambda: det_case([1, 1], [-2.5])),
    ("max_pool_int8", lambda: max_pool_case(I8, [-128, 127, -5, 3, 0, -1, -128, 7,
                                                 100, -100, 2, -2])),
    ("max_pool_uint8", lambda: max_pool_case(U8, [255, 0, 128, 127, 1, 254, 3, 200,
                                                  0, 0, 129, 7])),
    ("scan8", scan8_case),
    ("nms_corners", lambda: nms_case(0, 6, None)),
    ("nms_corners_scored_short", lambda: nms_case(0, 2, 0.35)),
    ("nms_centers", lambda: nms_case(1, 3, 0.15)),
    ("nms_no_count", lambda: nms_case(0, 0, None, with_count=False)),
    ("tfidf_tf", lambda: tfidf_case("TF", 1)),
    ("tfidf_idf", lambda: tfidf_case("IDF", 1, [0.5, 1.5, 2.0, 3.0, 0.25, 4.0, 5.0, 6.0])),
    ("tfidf_tfidf_no_unigrams", lambda: tfidf_case("TFIDF", 2,
                                                   [0.5, 1.5, 2.0, 3.0, 0.25, 4.0, 5.0, 6.0])),
    ("roi_align_avg", lambda: roi_align_case("avg", True, 2)),
    ("roi_align_avg_adaptive", lambda: roi_align_case("avg", False, 0)),
    ("roi_align_max", lambda: roi_align_case("max", True, 0)),
    ("unique_int64", lambda: unique_case(I64, [2, 5], [7, -3, 7, 0, -3, 9, 0, 7, 11, -3],
                                         None, 0)),
    ("unique_int64_sorted", lambda: unique_case(I64, [2, 5], [7, -3, 7, 0, -3, 9, 0, 7, 11,
                                                              -3], None, 1)),
    ("unique_uint8_sorted", lambda: unique_case(U8, [6], [200, 5, 200, 0, 255, 5], None, 1)),
    ("unique_columns", lambda: unique_case(F32, [2, 5], [1.5, 0.0, 1.5, 2.0, 0.0,
                                                         -1.0, 3.0, -1.0, 2.0, 3.0], 1, 0)),
    ("unique_columns_sorted", lambda: unique_case(F32, [2, 5], [1.5, 0.0, 1.5, 2.0, 0.0,
                                                                -1.0, 3.0, -1.0, 2.0, 3.0],
                                                  1, 1)),
    ("empty_mid_dim", empty_mid_dim_case),
    ("loop_sequence_concat", lambda: loop_sequence_concat_case(4)),
    ("loop_sequence_concat_once", lambda: loop_sequence_concat_case(1)),
    ("runtime_split", lambda: runtime_split_case(6, [1, 3, 2])),
    ("runtime_split_empty_slice", lambda: runtime_split_case(4, [4, 0])),
]


def refused(a):
    """A onesided DFT of a complex signal: refused by node."""
    text = model(17, [node("DFT", ["x"], ["y"], attr_int("onesided", 1), "dft")],
                 [("x", F32, [1, 4, 2])], [("y", F32, [1, 3, 2])])
    path = os.path.join(a.work, "refused.onnx")
    from conv_pool_reference import encode
    encode("ModelProto", text, path)
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), path, "-o",
                        os.path.join(a.work, "refused.so")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = c.stdout.decode()
    ok = c.returncode == 1 and "node 'dft' (DFT): onesided needs a real input" in out
    print("complex onesided DFT refused: %s\n  %s" % ("ok" if ok else "FAILED", out.strip()))
    return not ok


def call_fails(a, name, text, inputs, message, label):
    """Compiles `text`, runs it on `inputs`: the call must fail (status 2)
    with `message`."""
    lib = compile_model(a.bin, a.work, name, text)
    if not lib:
        return 1
    from conv_pool_reference import encode
    files = []
    for input_name, elem, dims, values in inputs:
        files.append(os.path.join(a.work, "%s_%s.pb" % (name, input_name)))
        encode("TensorProto", tensor(input_name, elem, dims, values), files[-1])
    r = subprocess.run([os.path.join(a.bin, "dlc-run", "dlc-run"), lib, "--inputs"] + files,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode()
    ok = r.returncode == 2 and message in out
    print("%s: %s\n  %s" % (label, "ok" if ok else "FAILED", out.strip()))
    return not ok


def bad_batch_index(a):
    """A RoiAlign batch index outside [0, N): the call fails by node."""
    text, inputs, _ = roi_align_case("avg", True, 2)
    inputs[2] = ("batch", I64, [3], [0, 2, 0])
    return call_fails(a, "roi_align_bad", text, inputs,
                      "node 'align' (RoiAlign): input 'batch' holds a batch index outside "
                      "[0, 2)", "RoiAlign batch index 2 of 2 images refused")


def empty_sequence_concat(a):
    """ConcatFromSequence of a sequence a Loop of 0 trips left empty: the
    call fails by node."""
    text, inputs, _ = loop_sequence_concat_case(0)
    return call_fails(a, "concat_empty", text, inputs,
                      "node 'cat' (ConcatFromSequence): the sequence is empty",
                      "ConcatFromSequence of an empty sequence refused")


def bad_runtime_split(a):
    """Split sizes that do not add up to the axis: the call fails by node."""
    text, inputs, _ = runtime_split_case(6, [1, 1, 1])
    return call_fails(a, "split_bad", text, inputs,
                      "node 'split' (SplitToSequence): the split is not",
                      "SplitToSequence sizes adding up to 3 of 6 refused")


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
        failed += expect(a.bin, a.work, lib, name, inputs, outputs, 1e-4, 1e-4,
                         threads=("1", "2"))
    failed += refused(a) + bad_batch_index(a) + empty_sequence_concat(a) + \
        bad_runtime_split(a)
    print("more_ops: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
