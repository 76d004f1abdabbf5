#!/usr/bin/env python3
"""`dlc --train --loss=...` against PyTorch: for every loss dlc can append,
the loss and the gradient of every parameter of a small model, one step with
lr 0, compared with the references scripts/gen-loss-references.py made with
torch 1.13 (test/e2e/losses/references.json).

Tolerance: |dlc - torch| <= 1e-6 + 1e-4 * |torch|. Both compute in float32
on a 6-4-3 network with a batch of 5, so they differ by a few rounding errors
(about 1e-7 relative); 1e-4 leaves room for different summation orders, not
for a wrong formula (those are off by percents)."""
import argparse
import json
import os
import subprocess
import sys
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from training import FLOAT, INT64, encode_tensor, read_pb  # noqa: E402

RTOL, ATOL = 1e-4, 1e-6
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses")


def write_pb(path, name, values, shape, dtype):
    typecode, data_type = ("q", INT64) if dtype == "int64" else ("f", FLOAT)
    a = array(typecode, [int(v) if typecode == "q" else v for v in values])
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        f.write(encode_tensor(name, shape, data_type, a.tobytes()))


def close(got, want):
    return all(abs(g - w) <= ATOL + RTOL * abs(w) for g, w in zip(got, want)) \
        and len(got) == len(want)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    dlc = os.path.join(args.bin, "dlc", "dlc")
    dlc_run = os.path.join(args.bin, "dlc-run", "dlc-run")
    os.makedirs(args.work, exist_ok=True)
    with open(os.path.join(HERE, "references.json")) as f:
        refs = json.load(f)

    x_pb = os.path.join(args.work, "x.pb")
    write_pb(x_pb, "x", refs["x"], refs["x_shape"], "float32")
    failures = 0
    for i, case in enumerate(refs["cases"]):
        label = case["loss"] + "".join(" " + f for f in case["flags"])
        onnx_path = os.path.join(args.work, case["model"] + ".onnx")
        with open(os.path.join(HERE, case["model"])) as src, \
                open(onnx_path, "wb") as dst:
            subprocess.run(["protoc", "-I/usr/include",
                            "--encode=onnx.ModelProto", "onnx/onnx.proto"],
                           stdin=src, stdout=dst, check=True)
        lib = os.path.join(args.work, f"case{i}.so")
        r = subprocess.run([dlc, onnx_path, "--train", "--loss=" + case["loss"],
                            *case["flags"], "-o", lib],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"losses: {label}: FAIL (compile)\n{r.stderr}")
            failures += 1
            continue
        labels_pb = os.path.join(args.work, f"labels{i}.pb")
        write_pb(labels_pb, "labels", case["labels"], case["labels_shape"],
                 case["labels_dtype"])
        grads_dir = os.path.join(args.work, f"grads{i}")
        r = subprocess.run([dlc_run, lib, "--train", "--inputs", x_pb, labels_pb,
                            "--steps", "1", "--lr", "0", "--json",
                            "--save-grads", grads_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"losses: {label}: FAIL (run)\n{r.stdout}{r.stderr}")
            failures += 1
            continue
        loss = json.loads(r.stdout.splitlines()[0])["loss"]
        problems = []
        if not close([loss], [case["value"]]):
            problems.append(f"loss {loss:.9g}, torch {case['value']:.9g}")
        # The sigmoid model's initializers are "0.<name>"; match by suffix.
        files = os.listdir(grads_dir)
        for name, want in case["grads"].items():
            match = [f for f in files if f[:-3] == name or f[:-3].endswith("." + name)]
            if len(match) != 1:
                problems.append(f"no gradient file for {name} in {files}")
                continue
            _, _, _, got = read_pb(os.path.join(grads_dir, match[0]))
            if not close(list(got), want):
                worst = max(abs(g - w) for g, w in zip(got, want))
                problems.append(f"gradient of {name}: max abs err {worst:.3g}")
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print(f"losses: {label}: loss {loss:.9g} (torch {case['value']:.9g}), "
              f"{len(case['grads'])} gradients: {status}")
        failures += bool(problems)
    print(f"losses: {len(refs['cases']) - failures} of {len(refs['cases'])} "
          f"match PyTorch")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
