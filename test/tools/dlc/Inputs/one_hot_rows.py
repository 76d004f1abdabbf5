#!/usr/bin/env python3
"""Writes WORKDIR/x.pb (x [4, 16]: row i one-hot at column i) and WORKDIR/y.pb,
relu(x W + b) computed here from W and b of test/tools/models/gpu_weights.textproto:
row i is relu(W[i, :] + b).

Usage: one_hot_rows.py WORKDIR (protoc on PATH)."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", "models", "gpu_weights.textproto")


def initializer(text, name):
    m = re.search(r'initializer \{ name: "%s"[^\[]*dims: \[[^\]]*\]\s*float_data: \[([^\]]*)\]'
                  % name, text)
    return [float(v) for v in m.group(1).split(",")]


def write(path, name, dims, values):
    text = 'name: "%s" data_type: 1 %s float_data: [%s]' % (
        name, " ".join("dims: %d" % d for d in dims), ", ".join(repr(v) for v in values))
    encoded = subprocess.run(["protoc", "-I/usr/include", "--encode=onnx.TensorProto",
                              "onnx/onnx.proto"], input=text.encode(),
                             stdout=subprocess.PIPE, check=True).stdout
    with open(path, "wb") as f:
        f.write(encoded)


def main():
    work = sys.argv[1]
    with open(MODEL) as f:
        text = f.read()
    w, b = initializer(text, "W"), initializer(text, "b")
    assert len(w) == 16 * 24 and len(b) == 24
    x = [1.0 if c == r else 0.0 for r in range(4) for c in range(16)]
    y = [max(w[r * 24 + j] + b[j], 0.0) for r in range(4) for j in range(24)]
    write(os.path.join(work, "x.pb"), "x", [4, 16], x)
    write(os.path.join(work, "y.pb"), "y", [4, 24], y)


if __name__ == "__main__":
    main()
