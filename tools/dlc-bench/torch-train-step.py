#!/usr/bin/python3
"""PyTorch 1.13 eager training steps on corpus models, the peer of
`dlc-bench --train`: the same model (../shared/corpus/scripts/models.py),
loss, optimizer and batch, one thread; prints one JSON line per model with
the median/min/p90 step time.

usage: OMP_NUM_THREADS=1 /usr/bin/python3 torch-train-step.py --corpus DIR
           --steps N MODEL:LOSS ...     (LOSS: cross-entropy or mse)

The model runs in eval mode (BatchNorm uses its running statistics, as a
dlc --train compile of the inference model does) and the gradients flow to
every parameter. Inputs are uniform in [-1, 1] and labels 0, as dlc-run
--random makes them; SGD with momentum 0.9, lr 0.01."""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("specs", nargs="+")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.corpus, "scripts"))
    import models  # noqa: E402  (the corpus' model definitions)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    for spec in a.specs:
        name, loss_kind = spec.split(":")
        model, inputs, _, _, _ = models.build(name, seed=0)
        model.eval()
        g = torch.Generator().manual_seed(0)
        inputs = [torch.rand(i.shape, generator=g) * 2 - 1 if i.is_floating_point() else i
                  for i in inputs]
        with torch.no_grad():
            first = model(*inputs)
            first = first[0] if isinstance(first, (tuple, list)) else first
        if loss_kind == "cross-entropy":
            target = torch.zeros(first.shape[0], dtype=torch.int64)
            loss_fn = F.cross_entropy
        else:
            target = torch.rand(first.shape, generator=g) * 2 - 1
            loss_fn = F.mse_loss
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad(set_to_none=True)
            out = model(*inputs)
            out = out[0] if isinstance(out, (tuple, list)) else out
            loss = loss_fn(out, target)
            loss.backward()
            opt.step()

        times = []
        for i in range(a.steps + 3):
            t0 = time.perf_counter()
            step()
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        print(json.dumps({"model": name, "torch": torch.__version__,
                          "median_ms": times[len(times) // 2], "min_ms": times[0],
                          "p90_ms": times[int(len(times) * 0.9)]}), flush=True)


if __name__ == "__main__":
    main()
