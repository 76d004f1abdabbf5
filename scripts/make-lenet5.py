#!/usr/bin/python3
"""Writes LeNet-5 for Fashion-MNIST as ONNX (opset 17), freshly initialized.

The architecture is the corpus' lenet5_b64 (torch export) without the no-op
Pad that torch puts before AveragePool. Weights and biases are drawn like
PyTorch's defaults for Conv2d/Linear: kaiming_uniform(a=sqrt(5)) is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases use the same bound. A fixed
seed makes the file reproducible byte for byte.

Usage: /usr/bin/python3 scripts/make-lenet5.py [OUT.onnx] [--batch N] [--seed S]
Needs only Debian's python3-onnx and python3-numpy (no torch).
"""
import argparse
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="build/examples/lenet5.onnx")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    initializers = []

    def param(name, shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        value = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        initializers.append(numpy_helper.from_array(value, name))
        return name

    def layer(name, weight_shape):
        # fan_in = everything but the output dimension.
        fan_in = int(np.prod(weight_shape[1:]))
        return (param(name + ".weight", weight_shape, fan_in),
                param(name + ".bias", weight_shape[:1], fan_in))

    conv1 = layer("conv1", [6, 1, 5, 5])
    conv2 = layer("conv2", [16, 6, 5, 5])
    fc1 = layer("fc1", [120, 400])
    fc2 = layer("fc2", [84, 120])
    fc3 = layer("fc3", [10, 84])

    # The model standardizes its input with the training set's pixel mean and
    # standard deviation (Constant nodes: never trained), so that it takes
    # raw [0, 1] pixels, trains well (about 86% after two epochs instead of
    # about 84% unnormalized) and exports as a model users can feed pixels.
    def constant(name, value):
        return helper.make_node(
            "Constant", [], [name], name=name,
            value=numpy_helper.from_array(np.array(value, np.float32), name))

    nodes = [
        constant("pixel_mean", 0.2860),
        constant("pixel_std", 0.3530),
        helper.make_node("Sub", ["x", "pixel_mean"], ["centered"], name="center"),
        helper.make_node("Div", ["centered", "pixel_std"], ["standardized"],
                         name="standardize"),
        helper.make_node("Conv", ["standardized", *conv1], ["conv1"], name="conv1",
                         kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        helper.make_node("Tanh", ["conv1"], ["tanh1"], name="tanh1"),
        helper.make_node("MaxPool", ["tanh1"], ["pool1"], name="pool1",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", *conv2], ["conv2"], name="conv2",
                         kernel_shape=[5, 5]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("AveragePool", ["relu2"], ["pool2"], name="pool2",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten",
                         axis=1),
        helper.make_node("Gemm", ["flat", *fc1], ["fc1"], name="fc1",
                         transB=1),
        helper.make_node("Relu", ["fc1"], ["relu3"], name="relu3"),
        helper.make_node("Gemm", ["relu3", *fc2], ["fc2"], name="fc2",
                         transB=1),
        helper.make_node("Relu", ["fc2"], ["relu4"], name="relu4"),
        helper.make_node("Gemm", ["relu4", *fc3], ["logits"], name="fc3",
                         transB=1),
    ]
    graph = helper.make_graph(
        nodes, "lenet5",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       [args.batch, 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [args.batch, 10])],
        initializers)
    model = helper.make_model(graph, producer_name="dlc make-lenet5.py",
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(model, args.out)
    count = sum(int(np.prod(t.dims)) for t in initializers)
    print(f"make-lenet5: wrote {args.out} (batch {args.batch}, "
          f"{count} parameters, seed {args.seed})")


if __name__ == "__main__":
    main()
