#!/usr/bin/python3
"""Writes test/e2e/losses/: a small model (Linear 6->4, ReLU, Linear 4->3 on a
batch of 5) as an ONNX textproto, and for every loss `dlc --train --loss`
offers, PyTorch 1.13's loss and gradients at the model's weights
(references.json). Run with Debian's python3-torch and python3-onnx; the test
(test/e2e/losses.py) needs neither."""
import json
import os

import onnx
import torch
import torch.nn.functional as F
from google.protobuf import text_format

torch.manual_seed(7)
out_dir = os.path.join(os.path.dirname(__file__), "..", "test", "e2e", "losses")
net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(),
                          torch.nn.Linear(4, 3))
x = torch.randn(5, 6)
# bce takes probabilities: its model ends in a sigmoid (same parameters).
models = {"model": net, "model_sigmoid": torch.nn.Sequential(net, torch.nn.Sigmoid())}
for name, module in models.items():
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(module, x, path, input_names=["x"], output_names=["y"],
                      opset_version=17)
    model = onnx.load(path)
    os.remove(path)
    with open(os.path.join(out_dir, name + ".textproto"), "w") as f:
        f.write(text_format.MessageToString(model))

classes = torch.tensor([0, 2, 1, 2, 0])
probs = torch.softmax(torch.randn(5, 3), 1)
binary = torch.rand(5, 3).round()
signs = binary * 2 - 1
dense = torch.randn(5, 3)
cases = [
    ("mse", [], dense, lambda y, t: F.mse_loss(y, t)),
    ("l1", [], dense, lambda y, t: F.l1_loss(y, t)),
    ("huber", ["--delta=0.5"], dense, lambda y, t: F.huber_loss(y, t, delta=0.5)),
    ("bce", [], binary, lambda y, t: F.binary_cross_entropy(y, t)),
    ("bce-with-logits", [], binary,
     lambda y, t: F.binary_cross_entropy_with_logits(y, t)),
    ("cross-entropy", [], classes, lambda y, t: F.cross_entropy(y, t)),
    ("cross-entropy", ["--label-smoothing=0.1"], classes,
     lambda y, t: F.cross_entropy(y, t, label_smoothing=0.1)),
    ("cross-entropy", ["--class-weights=0.2,1.0,3.0", "--ignore-index=1"], classes,
     lambda y, t: F.cross_entropy(y, t, weight=torch.tensor([0.2, 1.0, 3.0]),
                                  ignore_index=1)),
    ("cross-entropy", ["--class-weights=0.2,1.0,3.0", "--label-smoothing=0.2"],
     classes, lambda y, t: F.cross_entropy(
         y, t, weight=torch.tensor([0.2, 1.0, 3.0]), label_smoothing=0.2)),
    ("nll", [], classes, lambda y, t: F.nll_loss(y, t)),
    ("kl-div", [], probs, lambda y, t: F.kl_div(y, t, reduction="mean")),
    ("hinge", [], signs, lambda y, t: torch.clamp(1 - y * t, min=0).mean()),
]
refs = {"x": x.flatten().tolist(), "x_shape": list(x.shape), "cases": []}
for loss, flags, target, fn in cases:
    net.zero_grad()
    model = "model_sigmoid" if loss == "bce" else "model"
    y = models[model](x)
    value = fn(y, target)
    value.backward()
    refs["cases"].append({
        "loss": loss, "flags": flags, "model": model + ".textproto",
        "labels": target.flatten().tolist(), "labels_shape": list(target.shape),
        "labels_dtype": "int64" if target.dtype == torch.int64 else "float32",
        "value": value.item(),
        # Initializer names in the export: the Sequential's "0.weight", ...
        "grads": {n: p.grad.flatten().tolist() for n, p in net.named_parameters()},
    })
with open(os.path.join(out_dir, "references.json"), "w") as f:
    json.dump(refs, f, indent=1)
    f.write("\n")
