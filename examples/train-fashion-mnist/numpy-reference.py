#!/usr/bin/python3
"""Evaluates an exported ONNX classifier on the Fashion-MNIST test set in numpy.

An independent check of `make train-demo`: the graph is executed node by node
as the ONNX specification defines its ops (only those LeNet-5 uses), without
dlc. Prints the test accuracy and, with --logits, compares the logits of the
first test images with a raw float32 file the trainer wrote.

Usage: /usr/bin/python3 numpy-reference.py MODEL.onnx [--data DIR]
           [--normalize] [--logits FILE] [--expect-accuracy PERCENT]
"""
import argparse
import gzip
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def read_idx(path, dims):
    with gzip.open(path) as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x800 | dims:
        sys.exit(f"{path}: not an idx file of {dims}-D unsigned bytes")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
             for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def windows(x, kh, kw, stride):
    """x [N,C,H,W] -> [N,C,OH,OW,kh,kw] views of every kernel window."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw),
        (s[0], s[1], s[2] * stride, s[3] * stride, s[2], s[3]),
        writeable=False)


def conv(x, w, b, a):
    assert a.get("group", 1) == 1 and set(a.get("dilations", [1, 1])) == {1}
    strides = a.get("strides", [1, 1])
    assert strides[0] == strides[1]
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    cols = windows(x, w.shape[2], w.shape[3], strides[0])
    y = np.einsum("ncijkl,ockl->noij", cols, w, optimize=True)
    return y + b.reshape(1, -1, 1, 1) if b is not None else y


def pool(x, a, reduce):
    assert not any(a.get("pads", [])) and not a.get("ceil_mode", 0)
    kh, kw = a["kernel_shape"]
    strides = a.get("strides", [1, 1])
    assert strides[0] == strides[1]
    return reduce(windows(x, kh, kw, strides[0]), axis=(4, 5))


def gemm(x, w, b, a):
    x = x.T if a.get("transA", 0) else x
    w = w.T if a.get("transB", 0) else w
    y = a.get("alpha", 1.0) * (x @ w)
    return y + a.get("beta", 1.0) * b if b is not None else y


def run(graph, inputs):
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values.update(inputs)
    for node in graph.node:
        x = [values[i] if i else None for i in node.input]
        a = attrs(node)
        op = node.op_type
        if op == "Conv":
            y = conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "Gemm":
            y = gemm(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "MaxPool":
            y = pool(x[0], a, np.max)
        elif op == "AveragePool":
            y = pool(x[0], a, np.mean)
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Constant":
            y = numpy_helper.to_array(next(t.t for t in node.attribute if t.name == "value"))
        elif op == "Sub":
            y = x[0] - x[1]
        elif op == "Div":
            y = x[0] / x[1]
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
        else:
            sys.exit(f"numpy-reference: op {op} ({node.name}) not supported")
        values[node.output[0]] = y.astype(np.float32)
    return values[graph.output[0].name]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--normalize", action="store_true")
    parser.add_argument("--logits")
    parser.add_argument("--expect-accuracy", type=float)
    args = parser.parse_args()

    model = onnx.load(args.model)
    graph = model.graph
    x_info = graph.input[0]
    x_shape = [d.dim_value for d in x_info.type.tensor_type.shape.dim]
    images = read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz", 3)
    labels = read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz", 1)
    x = images.astype(np.float32) / np.float32(255)
    if args.normalize:  # the trainer's statistics: training pixels in [0,1]
        train = read_idx(f"{args.data}/train-images-idx3-ubyte.gz", 3) / 255.0
        mean, std = train.mean(), train.std()
        x = ((x - np.float32(mean)) / np.float32(std)).astype(np.float32)

    # The graph's batch size is fixed: pad the last batch like the trainer.
    batch = x_shape[0]
    logits = []
    for first in range(0, len(x), batch):
        chunk = x[first:first + batch]
        real = len(chunk)
        chunk = np.concatenate(
            [chunk, np.zeros((batch - real,) + chunk.shape[1:], np.float32)])
        y = run(graph, {x_info.name: chunk.reshape(x_shape)})
        logits.append(y[:real])
    logits = np.concatenate(logits)
    accuracy = 100.0 * np.mean(logits.argmax(1) == labels)
    print(f"numpy reference: test accuracy {accuracy:.2f}% "
          f"({len(labels)} images)")

    ok = True
    if args.logits:
        theirs = np.fromfile(args.logits, np.float32).reshape(-1, logits.shape[1])
        ours = logits[:len(theirs)]
        diff = np.abs(ours - theirs).max()
        print(f"numpy reference: logits of the first {len(theirs)} test images, "
              f"max abs diff {diff:.3g} from the trainer's")
        ok &= bool(np.allclose(ours, theirs, rtol=1e-3, atol=1e-4))
    if args.expect_accuracy is not None:
        # float32 rounding may flip a near tie or two.
        ok &= abs(accuracy - args.expect_accuracy) <= 0.05
    if not ok:
        sys.exit("numpy-reference: error: the exported model does not "
                 "reproduce the trainer's results")


if __name__ == "__main__":
    main()
