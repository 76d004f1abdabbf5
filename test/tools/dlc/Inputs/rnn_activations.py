#!/usr/bin/env python3
"""Compiles a one-layer RNN once per ONNX recurrent activation and compares
its outputs with the recurrence computed here in double precision:
H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), with explicit alpha and beta.

Usage: rnn_activations.py WORKDIR (dlc, dlc-run and protoc on PATH)."""
import math
import os
import subprocess
import sys

HIDDEN, INPUT, STEPS = 2, 2, 3
W = [[0.9, -0.7], [0.4, 1.3]]
R = [[0.5, -0.6], [-0.8, 0.3]]
WB, RB = [0.2, -0.4], [0.1, 0.3]
X = [[1.5, -2.0], [0.3, 2.5], [-1.2, 0.7]]

# name: (alpha, beta, f)
ACTIVATIONS = {
    "Relu": (0, 0, lambda v, a, b: max(v, 0.0)),
    "Tanh": (0, 0, lambda v, a, b: math.tanh(v)),
    "Sigmoid": (0, 0, lambda v, a, b: 1 / (1 + math.exp(-v))),
    "Affine": (0.7, -0.2, lambda v, a, b: a * v + b),
    "LeakyRelu": (0.1, 0, lambda v, a, b: v if v >= 0 else a * v),
    "ThresholdedRelu": (0.25, 0, lambda v, a, b: v if v > a else 0.0),
    "ScaledTanh": (1.5, 0.6, lambda v, a, b: a * math.tanh(b * v)),
    "HardSigmoid": (0.3, 0.4, lambda v, a, b: min(max(a * v + b, 0.0), 1.0)),
    "Elu": (0.8, 0, lambda v, a, b: v if v >= 0 else a * (math.exp(v) - 1)),
    "Softsign": (0, 0, lambda v, a, b: v / (1 + abs(v))),
    "Softplus": (0, 0, lambda v, a, b: math.log1p(math.exp(v))),
}


def floats(values):
    return ", ".join(repr(float(v)) for v in values)


def model_text(name, alpha, beta):
    def init(label, dims, values):
        return (f'  initializer {{ name: "{label}" {" ".join(f"dims: {d}" for d in dims)} '
                f'data_type: 1 float_data: [{floats(values)}] }}\n')

    def value(label, dims):
        shape = " ".join(f"dim {{ dim_value: {d} }}" for d in dims)
        return f'{{ name: "{label}" type {{ tensor_type {{ elem_type: 1 shape {{ {shape} }} }} }} }}'

    return (
        'ir_version: 8\nopset_import { domain: "" version: 14 }\ngraph {\n  name: "rnn"\n'
        '  node { name: "rnn" op_type: "RNN" input: "x" input: "w" input: "r" input: "b"\n'
        '         output: "y" output: "y_h"\n'
        f'         attribute {{ name: "hidden_size" type: INT i: {HIDDEN} }}\n'
        f'         attribute {{ name: "activations" type: STRINGS strings: "{name}" }}\n'
        f'         attribute {{ name: "activation_alpha" type: FLOATS floats: {float(alpha)} }}\n'
        f'         attribute {{ name: "activation_beta" type: FLOATS floats: {float(beta)} }} }}\n'
        + init("w", [1, HIDDEN, INPUT], sum(W, []))
        + init("r", [1, HIDDEN, HIDDEN], sum(R, []))
        + init("b", [1, 2 * HIDDEN], WB + RB)
        + f"  input {value('x', [STEPS, 1, INPUT])}\n"
        + f"  output {value('y', [STEPS, 1, 1, HIDDEN])}\n"
        + f"  output {value('y_h', [1, 1, HIDDEN])}\n}}\n")


def tensor_text(dims, values):
    return " ".join(f"dims: {d}" for d in dims) + f" data_type: 1 float_data: [{floats(values)}]\n"


def encode(message, text, path):
    with open(path, "wb") as f:
        subprocess.run(["protoc", "-I/usr/include", f"--encode=onnx.{message}", "onnx/onnx.proto"],
                       input=text.encode(), stdout=f, check=True)


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    encode("TensorProto", tensor_text([STEPS, 1, INPUT], sum(X, [])), os.path.join(work, "x.pb"))
    failures = 0
    for name, (alpha, beta, f) in ACTIVATIONS.items():
        h, ys = [0.0] * HIDDEN, []
        for x in X:
            h = [f(sum(W[i][k] * x[k] for k in range(INPUT)) +
                   sum(R[i][k] * h[k] for k in range(HIDDEN)) + WB[i] + RB[i], alpha, beta)
                 for i in range(HIDDEN)]
            ys += h
        model, lib = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".so")
        encode("ModelProto", model_text(name, alpha, beta), model)
        encode("TensorProto", tensor_text([STEPS, 1, 1, HIDDEN], ys), os.path.join(work, "y.pb"))
        encode("TensorProto", tensor_text([1, 1, HIDDEN], h), os.path.join(work, "y_h.pb"))
        subprocess.run(["dlc", model, "-o", lib], check=True)
        r = subprocess.run(["dlc-run", lib, "--inputs", os.path.join(work, "x.pb"),
                            "--expect", os.path.join(work, "y.pb"), os.path.join(work, "y_h.pb"),
                            "--rtol", "1e-5", "--atol", "1e-6"], capture_output=True, text=True)
        print(f"{name}: {'ok' if r.returncode == 0 else 'FAIL'}")
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
