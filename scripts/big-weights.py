#!/usr/bin/env python3
"""Compile time, peak memory and library size of a model with big weights,
with the weights embedded in the library and with --weights=external, for
docs/compile-time.md.

The model is VGG-16 (configuration D: 13 3x3 convolutions and three fully
connected layers, 138,357,544 parameters, 528 MiB of float32) on a
1x3x224x224 image, written with its initializers in ONNX's external-data
format (the form models over 2 GB must take). The weights are seeded
uniform values scaled by 1/sqrt(fan_in), as PyTorch initializes them; what
they are does not matter here beyond staying finite. Both libraries are run
on the same random input and must give bit-identical outputs. It times; it
checks nothing else.

Usage: scripts/big-weights.py --bin build/tools [--work DIR]"""
import argparse
import array
import os
import random
import re
import subprocess
import sys
import tempfile
import time

from onnx_text import encode

# (out_channels per conv, 'M' for a 2x2 max pool)
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"]




def write_vgg16(folder):
    """VGG-16 as model.onnx + weights.bin in `folder`; its parameter count."""
    rng = random.Random(16)
    block = array.array("f", (rng.uniform(-1.0, 1.0) for _ in range(1 << 16)))
    nodes, inits, offset, params = [], [], 0, 0
    data = open(os.path.join(folder, "weights.bin"), "wb")

    def initializer(name, dims, fan_in):
        nonlocal offset, params
        count = 1
        for d in dims:
            count *= d
        scale = fan_in ** -0.5
        scaled = array.array("f", (v * scale for v in block))
        left = count
        while left:
            n = min(left, len(scaled))
            data.write(scaled[:n].tobytes())
            left -= n
        inits.append(
            'initializer { name: "%s" %s data_type: 1 data_location: EXTERNAL '
            'external_data { key: "location" value: "weights.bin" } '
            'external_data { key: "offset" value: "%d" } '
            'external_data { key: "length" value: "%d" } }'
            % (name, " ".join("dims: %d" % d for d in dims), offset, 4 * count))
        offset += 4 * count
        params += count

    def node(op, inputs, output, attrs=""):
        nodes.append('node { %s output: "%s" op_type: "%s" name: "%s" %s }' % (
            " ".join('input: "%s"' % i for i in inputs), output, op, output, attrs))

    ints = lambda name, values: 'attribute { name: "%s" %s type: INTS }' % (
        name, " ".join("ints: %d" % v for v in values))
    x, channels, conv, pool = "x", 3, 0, 0
    for layer in VGG16:
        if layer == "M":
            pool += 1
            node("MaxPool", [x], "pool%d" % pool,
                 ints("kernel_shape", [2, 2]) + " " + ints("strides", [2, 2]))
            x = "pool%d" % pool
            continue
        conv += 1
        initializer("conv%d.weight" % conv, [layer, channels, 3, 3], channels * 9)
        initializer("conv%d.bias" % conv, [layer], channels * 9)
        node("Conv", [x, "conv%d.weight" % conv, "conv%d.bias" % conv], "conv%d" % conv,
             ints("pads", [1, 1, 1, 1]) + " " + ints("kernel_shape", [3, 3]))
        node("Relu", ["conv%d" % conv], "relu%d" % conv)
        x, channels = "relu%d" % conv, layer
    node("Flatten", [x], "flat")
    x, features = "flat", 512 * 7 * 7
    for i, out in enumerate([4096, 4096, 1000], start=1):
        initializer("fc%d.weight" % i, [out, features], features)
        initializer("fc%d.bias" % i, [out], features)
        node("Gemm", [x, "fc%d.weight" % i, "fc%d.bias" % i], "fc%d" % i,
             'attribute { name: "transB" i: 1 type: INT }')
        x, features = "fc%d" % i, out
        if i < 3:
            node("Relu", [x], "fc%d_relu" % i)
            x = "fc%d_relu" % i
    data.close()
    vtype = lambda dims: "type { tensor_type { elem_type: 1 shape { %s } } }" % " ".join(
        "dim { dim_value: %d }" % d for d in dims)
    text = ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "vgg16" %s %s '
            'input { name: "x" %s } output { name: "%s" %s } }'
            % (" ".join(nodes), " ".join(inits), vtype([1, 3, 224, 224]), x, vtype([1, 1000])))
    encode(text, os.path.join(folder, "model.onnx"))
    return params


def timed_compile(dlc, model, out, flags):
    """Wall seconds and peak resident MiB of one compile."""
    start = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss %M", dlc, model, "-o", out] + flags,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    text = r.stdout.decode()
    if r.returncode != 0:
        sys.exit("compile failed: " + text[-2000:])
    rss = int(re.search(r"maxrss (\d+)", text).group(1)) / 1024.0
    return seconds, rss


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work")
    a = p.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="dlc-big-weights-")
    os.makedirs(work, exist_ok=True)
    dlc = os.path.join(a.bin, "dlc", "dlc")
    run = os.path.join(a.bin, "dlc-run", "dlc-run")
    params = write_vgg16(work)
    model = os.path.join(work, "model.onnx")
    print("VGG-16: %d parameters, %.0f MiB of weights (%s)" % (
        params, params * 4 / 2**20, work))
    print("| weights | compile (s) | peak memory (MiB) | library (MiB) | weights file (MiB) |")
    print("|---|---:|---:|---:|---:|")
    outputs = {}
    for place in ("embedded", "external"):
        lib = os.path.join(work, "vgg16_%s.so" % place)
        seconds, rss = timed_compile(dlc, model, lib, ["--weights=" + place])
        weights = os.path.join(work, "vgg16_%s.weights" % place)
        wsize = os.path.getsize(weights) / 2**20 if os.path.exists(weights) else 0
        print("| %s | %.1f | %.0f | %.1f | %.1f |" % (
            place, seconds, rss, os.path.getsize(lib) / 2**20, wsize))
        save = os.path.join(work, "out_" + place)
        r = subprocess.run([run, lib, "--random", "--save", save],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            sys.exit("run failed: " + r.stdout.decode()[-2000:])
        with open(os.path.join(save, "output_0.pb"), "rb") as f:
            outputs[place] = f.read()
    same = outputs["embedded"] == outputs["external"]
    print("outputs on one random input: %s" % ("bit-identical" if same else "DIFFERENT"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
