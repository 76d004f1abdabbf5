#!/usr/bin/env python3
"""Compile time and peak memory of dlc against graph size, for the table in
docs/compile-time.md. Two kinds of graph, each at 100 to 10,000 nodes:

- chain: Relu and Neg alternating on x [4] (elementwise: fused into few
  kernels; what stresses bufferization and LLVM's passes);
- mlp: blocks of MatMul (a 16 x 16 constant), Add (a bias) and Relu on
  x [8, 16], three nodes per block (a kernel and its epilogue per block).

Each point is the median wall-clock time of --runs compiles to a .so
(`dlc model.onnx -o model.so`) and the peak resident memory of the last one.
It times; it checks nothing (the long-chain test checks the numbers).

Usage: scripts/compile-time.py --dlc build/tools/dlc/dlc [--sizes 100,1000]"""
import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from onnx_text import encode


def vtype(dims):
    return "type { tensor_type { elem_type: 1 shape { %s } } }" % " ".join(
        "dim { dim_value: %d }" % d for d in dims)


def raw(values):
    return '"%s"' % "".join("\\%03o" % b for b in struct.pack("<%df" % len(values), *values))


def chain(nodes):
    body, prev = [], "x"
    for i in range(nodes):
        out = "y" if i == nodes - 1 else "t%d" % i
        body.append('node { input: "%s" output: "%s" op_type: "%s" name: "n%d" }'
                    % (prev, out, "Relu" if i % 2 == 0 else "Neg", i))
        prev = out
    return body, [], [4], [4]


def mlp(nodes):
    blocks = max(1, nodes // 3)
    body, inits, prev = [], [], "x"
    # Every block has weights of its own, as a real model's layers do (shared
    # constants would be folded into one, used by every block).
    for b in range(blocks):
        weight = [((i * 7919 + b * 104729) % 13 - 6) / 64.0 for i in range(256)]
        out = "y" if b == blocks - 1 else "h%d" % b
        body += ['node { input: "%s" input: "w%d" output: "m%d" op_type: "MatMul" name: "mm%d" }'
                 % (prev, b, b, b),
                 'node { input: "m%d" input: "b%d" output: "a%d" op_type: "Add" name: "add%d" }'
                 % (b, b, b, b),
                 'node { input: "a%d" output: "%s" op_type: "Relu" name: "relu%d" }' % (b, out, b)]
        inits += ['initializer { name: "w%d" dims: 16 dims: 16 data_type: 1 raw_data: %s }'
                  % (b, raw(weight)),
                  'initializer { name: "b%d" dims: 16 data_type: 1 raw_data: %s }'
                  % (b, raw([0.001 * b] * 16))]
        prev = out
    return body, inits, [8, 16], [8, 16]


def model(kind, nodes):
    body, inits, in_dims, out_dims = kind(nodes)
    return ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "g" %s %s '
            'input { name: "x" %s } output { name: "y" %s } }'
            % ("\n".join(body), "\n".join(inits), vtype(in_dims), vtype(out_dims)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--sizes", default="100,300,1000,3000,10000")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    print("| graph | nodes | compile s (median of %d) | s per 1,000 nodes | peak RSS MB |" % a.runs)
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for name, kind in (("chain", chain), ("mlp", mlp)):
            for n in sizes:
                path = os.path.join(work, "%s_%d.onnx" % (name, n))
                encode(model(kind, n), path)
                times, rss = [], 0
                for _ in range(a.runs):
                    start = time.perf_counter()
                    r = subprocess.run(["/usr/bin/time", "-f", "%M", a.dlc, path, "-o",
                                        os.path.join(work, "m.so")],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    times.append(time.perf_counter() - start)
                    if r.returncode != 0:
                        sys.exit("%s %d: dlc failed: %s" % (name, n, r.stderr[-1000:]))
                    rss = int(r.stderr.strip().splitlines()[-1]) // 1024
                t = statistics.median(times)
                print("| %s | %d | %.2f | %.2f | %d |" % (name, n, t, t * 1000 / n, rss),
                      flush=True)


if __name__ == "__main__":
    main()
