#!/usr/bin/env python3
"""Writes WORKDIR/m.onnx, a model whose weights are big enough (64 KiB or
more, as raw data) to be imported as weight blobs, with its input and the
outputs computed here in double precision:

  x [2, 32, 4, 4] -> Conv W [64, 32, 3, 3] (pads 1; 73,728 bytes)
    -> BatchNormalization (folded into the filter at compile time)
    -> Relu -> Flatten [2, 1024]
    -> Gemm W2 [128, 1024] (transB = 1: transposed at compile time;
       524,288 bytes) + b2 [128] -> y [2, 128]

Usage: weight_blobs.py WORKDIR (protoc on PATH)."""
import math
import os
import random
import struct
import subprocess
import sys

N, C, H, W, F, K, OUT = 2, 32, 4, 4, 64, 3, 128
EPS = 1e-5


def raw(values):
    data = struct.pack("<%df" % len(values), *values)
    return '"' + "".join("\\%03o" % b for b in data) + '"'


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def tensor_text(name, dims, values):
    return 'name: "%s" data_type: 1 %s raw_data: %s' % (
        name, " ".join("dims: %d" % d for d in dims), raw(values))


def encode(kind, text, path):
    out = subprocess.run(["protoc", "-I/usr/include", "--encode=onnx.%s" % kind,
                          "onnx/onnx.proto"], input=text.encode(),
                         stdout=subprocess.PIPE, check=True).stdout
    with open(path, "wb") as f:
        f.write(out)


def main():
    work = sys.argv[1]
    rng = random.Random(7)
    u = lambda n, s: [f32(rng.uniform(-s, s)) for _ in range(n)]
    x = u(N * C * H * W, 1.0)
    w = u(F * C * K * K, 0.1)
    scale, bias = u(F, 1.0), u(F, 0.5)
    mean, var = u(F, 0.3), [f32(rng.uniform(0.5, 1.5)) for _ in range(F)]
    w2, b2 = u(OUT * F * H * W, 0.05), u(OUT, 0.2)

    # Reference, in double.
    flat = []
    for n in range(N):
        row = []
        for f in range(F):
            s = scale[f] / math.sqrt(var[f] + EPS)
            for i in range(H):
                for j in range(W):
                    acc = 0.0
                    for c in range(C):
                        for a in range(K):
                            for b in range(K):
                                ii, jj = i + a - 1, j + b - 1
                                if 0 <= ii < H and 0 <= jj < W:
                                    acc += (x[((n * C + c) * H + ii) * W + jj]
                                            * w[((f * C + c) * K + a) * K + b])
                    row.append(max((acc - mean[f]) * s + bias[f], 0.0))
        flat.append(row)
    y = [sum(flat[n][k] * w2[o * F * H * W + k] for k in range(F * H * W)) + b2[o]
         for n in range(N) for o in range(OUT)]

    init = "".join("initializer { %s } " % tensor_text(*t) for t in [
        ("W", [F, C, K, K], w), ("scale", [F], scale), ("bias", [F], bias),
        ("mean", [F], mean), ("var", [F], var), ("W2", [OUT, F * H * W], w2),
        ("b2", [OUT], b2)])
    dims = lambda ds: " ".join("dim { dim_value: %d }" % d for d in ds)
    model = (
        'ir_version: 8 opset_import { version: 17 } graph { name: "blobs" '
        'node { name: "conv" op_type: "Conv" input: "x" input: "W" output: "c" '
        'attribute { name: "pads" type: INTS ints: [1, 1, 1, 1] } } '
        'node { name: "bn" op_type: "BatchNormalization" input: "c" input: "scale" '
        'input: "bias" input: "mean" input: "var" output: "b" } '
        'node { name: "relu" op_type: "Relu" input: "b" output: "r" } '
        'node { name: "flat" op_type: "Flatten" input: "r" output: "v" } '
        'node { name: "fc" op_type: "Gemm" input: "v" input: "W2" input: "b2" output: "y" '
        'attribute { name: "transB" type: INT i: 1 } } '
        + init +
        'input { name: "x" type { tensor_type { elem_type: 1 shape { %s } } } } '
        'output { name: "y" type { tensor_type { elem_type: 1 shape { %s } } } } }'
        % (dims([N, C, H, W]), dims([N, OUT])))
    encode("ModelProto", model, os.path.join(work, "m.onnx"))
    encode("TensorProto", tensor_text("x", [N, C, H, W], x), os.path.join(work, "x.pb"))
    encode("TensorProto", tensor_text("y", [N, OUT], y), os.path.join(work, "y.pb"))


if __name__ == "__main__":
    main()
