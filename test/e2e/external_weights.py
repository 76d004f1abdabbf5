#!/usr/bin/env python3
"""`dlc --weights=external`: the weights in a file beside the library.

y = relu(x @ W + b) with W [64, 128] (32 KiB: goes to the file) and b [128]
(512 bytes: stays in the library), compiled both ways; both libraries run
against y computed here, the external one also from a copy in another folder
(the file is found beside the library, not in the working folder), and its
.so is smaller by W's bytes (less a page: sections are page-aligned). A training step library (MSE loss, SGD)
with external weights gives the losses of two steps computed here. Then what
must fail, each with a message: a missing weights file, a truncated one, one
from another compile of the model, and --weights=external with --emit=obj.

Usage: external_weights.py --bin BUILD/tools --work DIR"""
import argparse
import os
import shutil
import subprocess
import sys

from model_check import F32, compile_model, expect, tensor
from conv_pool_reference import encode

N, K, M = 2, 64, 128
X = [((7 * i) % 13 - 6) * 0.125 for i in range(N * K)]
W = [((5 * i) % 17 - 8) * 0.01 for i in range(K * M)]
B = [0.05 * (j % 5 - 2) for j in range(M)]
T = [0.1 * ((3 * i) % 7 - 3) for i in range(N * M)]  # training targets
LR = 0.1


def model(w_values, loss=False):
    nodes = ('node { input: "x" input: "W" output: "m" op_type: "MatMul" name: "mm" } '
             'node { input: "m" input: "b" output: "a" op_type: "Add" name: "add" } '
             'node { input: "a" output: "y" op_type: "Relu" name: "relu" } ')
    return ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "ext" '
            + nodes
            + "initializer { %s } initializer { %s } " % (tensor("W", F32, [K, M], w_values),
                                                         tensor("b", F32, [M], B))
            + 'input { name: "x" type { tensor_type { elem_type: 1 shape { dim { dim_value: %d } '
            'dim { dim_value: %d } } } } } ' % (N, K)
            + 'output { name: "y" type { tensor_type { elem_type: 1 shape { dim { dim_value: %d } '
            'dim { dim_value: %d } } } } } }' % (N, M))


def forward(w, b):
    """relu(x @ w + b) and its pre-activation, row-major [N, M]."""
    pre = [sum(X[K * i + k] * w[M * k + j] for k in range(K)) + b[j]
           for i in range(N) for j in range(M)]
    return [max(v, 0.0) for v in pre], pre


def sgd_losses(steps):
    """The MSE loss before each of `steps` SGD steps (PyTorch's mean
    reduction; relu'(0) = 0)."""
    w, b, losses = list(W), list(B), []
    for _ in range(steps):
        y, pre = forward(w, b)
        losses.append(sum((y[i] - T[i]) ** 2 for i in range(N * M)) / (N * M))
        g = [2.0 * (y[i] - T[i]) / (N * M) * (pre[i] > 0) for i in range(N * M)]
        gw = [sum(X[K * i + k] * g[M * i + j] for i in range(N))
              for k in range(K) for j in range(M)]
        gb = [sum(g[M * i + j] for i in range(N)) for j in range(M)]
        w = [w[i] - LR * gw[i] for i in range(K * M)]
        b = [b[j] - LR * gb[j] for j in range(M)]
    return losses


def run(args):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    dlc_run = os.path.join(a.bin, "dlc-run", "dlc-run")
    failed = 0

    def check(label, ok, detail=""):
        nonlocal failed
        failed += not ok
        print("%s: %s%s" % (label, "ok" if ok else "FAILED",
                            ("\n  " + detail.strip().replace("\n", "\n  ")) if detail else ""))

    y, _ = forward(W, B)
    inputs = [("x", F32, [N, K], X)]
    outputs = [("y", F32, [N, M], y)]
    embedded = compile_model(a.bin, work, "embedded", model(W))
    external = compile_model(a.bin, work, "external", model(W), ["--weights=external"])
    if not embedded or not external:
        print("external_weights: compile failed")
        return 1
    weights = os.path.join(work, "external.weights")
    check("weights file written", os.path.isfile(weights))
    saved = os.path.getsize(embedded) - os.path.getsize(external)
    check("library smaller by W's %d bytes, less a page" % (4 * K * M),
          saved >= 4 * K * M - 4096,
          "embedded %d bytes, external %d" % (os.path.getsize(embedded),
                                              os.path.getsize(external)))
    for lib in (embedded, external):
        failed += expect(a.bin, work, lib, os.path.basename(lib), inputs, outputs,
                         1e-5, 1e-6)
    rc, out = run([dlc_run, external, "--info"])
    check("--info names the weights file", rc == 0 and "weights: " + weights in out, out)

    # A copy in another folder, run from a third: the file is found beside it.
    moved = os.path.join(work, "moved")
    os.makedirs(moved, exist_ok=True)
    shutil.copy(external, moved)
    shutil.copy(weights, moved)
    failed += expect(a.bin, work, os.path.join(moved, "external.so"), "moved", inputs,
                     outputs, 1e-5, 1e-6)

    # What must fail at load, each run on a fresh copy.
    def broken(label, prepare, message):
        folder = os.path.join(work, label)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        lib = os.path.join(folder, "external.so")
        shutil.copy(external, lib)
        prepare(os.path.join(folder, "external.weights"))
        rc, out = run([dlc_run, lib, "--random"])
        check(label + " (refused)", rc != 0 and message in out and "Stack dump" not in out,
              out)

    def truncate(path):
        with open(weights, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])

    other = compile_model(a.bin, work, "other", model([v + 1.0 for v in W]),
                          ["--weights=external"])
    broken("missing", lambda path: None,
           "cannot be read: No such file or directory (the library was compiled with "
           "--weights=external: keep external.weights beside it)")
    broken("truncated", truncate, "truncated, or written by another compile")
    broken("foreign", lambda path: shutil.copy(os.path.join(work, "other.weights"), path),
           "was written by another compile of the model")
    if not other:
        failed += 1

    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), os.path.join(work, "embedded.onnx"),
                        "--weights=external", "--emit=obj", "-o", os.path.join(work, "m.o")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check("--emit=obj (refused)", c.returncode != 0 and b"it needs --emit=so" in c.stdout,
          c.stdout.decode())

    # Training: the initial state (the parameters) is in the weights file.
    step = compile_model(a.bin, work, "step", model(W),
                         ["--weights=external", "--train", "--loss=mse", "--optimizer=sgd",
                          "--lr=%g" % LR])
    if not step:
        failed += 1
    else:
        files = []
        for name, dims, values in (("x", [N, K], X), ("labels", [N, M], T)):
            path = os.path.join(work, "step_%s.pb" % name)
            encode("TensorProto", tensor(name, F32, dims, values), path)
            files.append(path)
        rc, out = run([dlc_run, step, "--train", "--steps", "2", "--inputs"] + files)
        got = [float(line.split("loss")[1]) for line in out.splitlines()
               if line.startswith("step ")]
        want = sgd_losses(2)
        ok = rc == 0 and len(got) == 2 and all(
            abs(g - w) <= 1e-5 + 1e-4 * abs(w) for g, w in zip(got, want))
        check("training step with external weights: losses %s, expected %s"
              % (got, ["%.7g" % w for w in want]), ok, "" if ok else out)
    print("external_weights: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
