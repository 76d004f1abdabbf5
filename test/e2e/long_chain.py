#!/usr/bin/env python3
"""A 10,000-node chain (Relu and Neg alternating on x [4]) compiled by dlc and
run by dlc-run against its value computed here.

Compile time must grow linearly with the graph: before elementwise chains
were fused and shared destinations split, this graph took minutes and
gigabytes to compile (one-shot bufferization's conflict analysis and LLVM's
dominator updates were quadratic in it). The ctest entry's timeout guards
against that coming back; nothing here times anything.

Usage: long_chain.py --bin BUILD/tools --work DIR [--nodes N]"""
import argparse
import os
import subprocess
import sys

# protoc text-to-binary encoding, shared with the convolution test.
from conv_pool_reference import encode


def tensor_text(name, values):
    return ('dims: %d data_type: 1 name: "%s" float_data: [%s]'
            % (len(values), name, ", ".join("%.9g" % v for v in values)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--nodes", type=int, default=10000)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    x = [1.5, -2.0, 0.25, -0.0]
    y = list(x)
    nodes, prev = [], "x"
    for i in range(a.nodes):
        op = "Relu" if i % 2 == 0 else "Neg"
        y = [max(v, 0.0) for v in y] if op == "Relu" else [-v for v in y]
        out = "y" if i == a.nodes - 1 else "t%d" % i
        nodes.append('node { input: "%s" output: "%s" op_type: "%s" name: "n%d" }'
                     % (prev, out, op, i))
        prev = out
    shape = "shape { dim { dim_value: 4 } }"
    model = ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "chain" '
             '%s input { name: "x" type { tensor_type { elem_type: 1 %s } } } '
             'output { name: "y" type { tensor_type { elem_type: 1 %s } } } }'
             % ("\n".join(nodes), shape, shape))
    onnx_path = os.path.join(a.work, "chain.onnx")
    encode("ModelProto", model, onnx_path)
    encode("TensorProto", tensor_text("x", x), os.path.join(a.work, "x.pb"))
    encode("TensorProto", tensor_text("y", y), os.path.join(a.work, "y.pb"))
    lib = os.path.join(a.work, "chain.so")
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), onnx_path, "-o", lib],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if c.returncode != 0:
        print("long_chain: dlc failed: " + c.stdout.decode()[-2000:])
        return 1
    r = subprocess.run([os.path.join(a.bin, "dlc-run", "dlc-run"), lib,
                        "--inputs", os.path.join(a.work, "x.pb"),
                        "--expect", os.path.join(a.work, "y.pb"),
                        "--rtol", "0", "--atol", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(r.stdout.decode().strip())
    print("long_chain: %d nodes %s" % (a.nodes, "ok" if r.returncode == 0 else "FAILED"))
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
