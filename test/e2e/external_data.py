#!/usr/bin/env python3
"""Initializers in ONNX's external-data format: y = x @ W + b with W [4, 3]
and b [3] stored in files beside the model (W at an offset inside a shared
file, b in a subfolder), compiled from another working folder and run
against y computed here. Then what must be refused, each with a message
naming the tensor: a location outside the model's folder (through "..",
absolute, or a symbolic link leading out), a missing file, and a file too
short for its offset and length.

Usage: external_data.py --bin BUILD/tools --work DIR"""
import argparse
import os
import struct
import subprocess
import sys

from conv_pool_reference import encode

X = [0.5, -1.0, 2.0, 0.25, 1.5, 0.0, -0.75, 3.0]  # [2, 4]
W = [0.1 * (i - 5) for i in range(12)]             # [4, 3]
B = [0.5, -0.5, 0.125]


def external(name, dims, location, offset=None, length=None):
    entries = ['external_data { key: "location" value: "%s" }' % location]
    if offset is not None:
        entries.append('external_data { key: "offset" value: "%d" }' % offset)
    if length is not None:
        entries.append('external_data { key: "length" value: "%d" }' % length)
    return ('initializer { name: "%s" %s data_type: 1 data_location: EXTERNAL %s }'
            % (name, " ".join("dims: %d" % d for d in dims), " ".join(entries)))


def model(w_location, b_location, w_offset=16, w_length=48):
    return ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "ext" '
            'node { input: "x" input: "W" output: "m" op_type: "MatMul" name: "mm" } '
            'node { input: "m" input: "b" output: "y" op_type: "Add" name: "add" } '
            + external("W", [4, 3], w_location, w_offset, w_length) + " "
            + external("b", [3], b_location) + " "
            'input { name: "x" type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } '
            'dim { dim_value: 4 } } } } } '
            'output { name: "y" type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } '
            'dim { dim_value: 3 } } } } } }')


def tensor_text(name, dims, values):
    raw = struct.pack("<%df" % len(values), *values)
    return '%s data_type: 1 name: "%s" raw_data: "%s"' % (
        " ".join("dims: %d" % d for d in dims), name, "".join("\\%03o" % c for c in raw))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    work = os.path.abspath(a.work)
    folder = os.path.join(work, "model")
    os.makedirs(os.path.join(folder, "weights"), exist_ok=True)
    os.makedirs(os.path.join(work, "outside"), exist_ok=True)
    os.makedirs(os.path.join(work, "elsewhere"), exist_ok=True)
    # W after 16 bytes of something else in one file; b alone in a subfolder.
    with open(os.path.join(folder, "shared.bin"), "wb") as f:
        f.write(b"\xff" * 16 + struct.pack("<12f", *W) + b"\xee" * 8)
    with open(os.path.join(folder, "weights", "b.bin"), "wb") as f:
        f.write(struct.pack("<3f", *B))
    with open(os.path.join(work, "outside", "b.bin"), "wb") as f:
        f.write(struct.pack("<3f", *B))
    link = os.path.join(folder, "escape")
    if not os.path.lexists(link):
        os.symlink(os.path.join(work, "outside"), link)
    dlc = os.path.abspath(os.path.join(a.bin, "dlc", "dlc"))
    run = os.path.abspath(os.path.join(a.bin, "dlc-run", "dlc-run"))
    failed = 0

    def compile_model(name, text):
        path = os.path.join(folder, name + ".onnx")
        encode("ModelProto", text, path)
        # From another folder: locations are relative to the model's.
        return subprocess.run([dlc, os.path.relpath(path, os.path.join(work, "elsewhere")),
                               "-o", os.path.join(work, name + ".so")],
                              cwd=os.path.join(work, "elsewhere"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    c = compile_model("good", model("shared.bin", "weights/b.bin"))
    if c.returncode != 0:
        print("good: FAILED (compile): " + c.stdout.decode()[-2000:])
        failed += 1
    else:
        y = [sum(X[4 * i + k] * W[3 * k + j] for k in range(4)) + B[j]
             for i in range(2) for j in range(3)]
        encode("TensorProto", tensor_text("x", [2, 4], X), os.path.join(work, "x.pb"))
        encode("TensorProto", tensor_text("y", [2, 3], y), os.path.join(work, "y.pb"))
        r = subprocess.run([run, os.path.join(work, "good.so"), "--inputs",
                            os.path.join(work, "x.pb"), "--expect", os.path.join(work, "y.pb"),
                            "--rtol", "1e-6", "--atol", "1e-6"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        failed += r.returncode != 0
        print("good: %s\n  %s" % ("ok" if r.returncode == 0 else "FAILED",
                                  r.stdout.decode().strip()))

    refused = [
        ("dotdot", model("shared.bin", "../outside/b.bin"),
         "tensor 'b': external data location '../outside/b.bin' is not inside the model's folder"),
        ("absolute", model("shared.bin", os.path.join(work, "outside", "b.bin")),
         "is not inside the model's folder"),
        ("symlink", model("shared.bin", "escape/b.bin"),
         "tensor 'b': external data location 'escape/b.bin' leads outside the model's folder"),
        ("missing", model("shared.bin", "weights/none.bin"),
         "tensor 'b': external data: cannot open"),
        ("short", model("shared.bin", "weights/b.bin", w_offset=40, w_length=48),
         "tensor 'W': external data: 'shared.bin' has 72 bytes, fewer than offset 40 + length 48"),
        ("length", model("shared.bin", "weights/b.bin", w_offset=16, w_length=44),
         "tensor 'W' holds 44 bytes of data, its shape needs 48"),
    ]
    for name, text, message in refused:
        c = compile_model(name, text)
        out = c.stdout.decode()
        ok = c.returncode == 1 and message in out and "Stack dump" not in out
        failed += not ok
        print("%s (refused): %s\n  %s" % (name, "ok" if ok else "FAILED", out.strip()))
    print("external_data: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
