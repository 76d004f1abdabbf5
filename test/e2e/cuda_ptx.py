#!/usr/bin/env python3
"""The CUDA target's PTX for the whole shared corpus: every model's inference
and every training case's step (forward, loss, backward, SGD) compiled with
`dlc --target=cuda --emit=ptx` and assembled by NVIDIA's ptxas for sm_90.
Also checked: the PTX calls no function it does not define (dlc refuses to
write such PTX; ptxas would accept it), and it carries no initialized array
of 1 KiB or more (the weights are uploaded at run time, not written into the
PTX as text).

This checks that the kernels compile, not what they compute: that needs a GPU
(scripts/gpu-check.sh). Skips with a message where ptxas or the corpus is
absent.

Usage: cuda_ptx.py --bin BUILD/tools --corpus DIR --work DIR [--ptxas PATH]"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

INITIALIZED = re.compile(r"^\s*(?:\.visible\s+)?\.global\s+\.align\s+\d+\s+\.b8\s+(\S+)\[(\d+)\]\s*=",
                         re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--ptxas", default=shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas")
    args = parser.parse_args()
    if not os.access(args.ptxas, os.X_OK):
        print("SKIP: no ptxas (CUDA is not installed here; looked for %s)" % args.ptxas)
        return 0
    if not os.path.isfile(os.path.join(args.corpus, "manifest.json")):
        print("SKIP: no shared corpus at %s" % args.corpus)
        return 0
    os.makedirs(args.work, exist_ok=True)
    dlc = os.path.join(args.bin, "dlc", "dlc")

    jobs = []
    for model in sorted(glob.glob(os.path.join(args.corpus, "*", "model.onnx"))):
        jobs.append((os.path.basename(os.path.dirname(model)), model, []))
    for model in sorted(glob.glob(os.path.join(args.corpus, "training", "*", "model_loss.onnx"))):
        name = "train/" + os.path.basename(os.path.dirname(model))
        jobs.append((name, model, ["--train", "--optimizer=sgd"]))
    if not jobs:
        print("FAIL: no models under %s" % args.corpus)
        return 1

    failures = []
    print("%-34s %10s %8s  %s" % ("model", "PTX KiB", "kernels", "result"))
    for name, model, flags in jobs:
        ptx = os.path.join(args.work, name.replace("/", "_") + ".ptx")
        run = subprocess.run([dlc, model, "--target=cuda", "--emit=ptx", "-o", ptx] + flags,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            failures.append((name, "dlc failed:\n" + run.stdout[-2000:]))
            print("%-34s %10s %8s  dlc failed" % (name, "-", "-"))
            continue
        text = open(ptx).read()
        problems = []
        if ".extern .func" in text:
            problems.append("calls undefined functions")
        for symbol, size in INITIALIZED.findall(text):
            if int(size) >= 1024:
                problems.append("initialized array %s of %s bytes" % (symbol, size))
        assemble = subprocess.run([args.ptxas, "-arch=sm_90", ptx, "-o", ptx + ".cubin"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if assemble.returncode != 0:
            problems.append("ptxas failed:\n" + assemble.stdout[-2000:])
        kernels = text.count(".entry ")
        print("%-34s %10.1f %8d  %s" % (name, len(text) / 1024.0, kernels,
                                        "ok" if not problems else "FAILED"))
        if problems:
            failures.append((name, "; ".join(problems)))
    for name, why in failures:
        print("FAIL %s: %s" % (name, why))
    print("%d of %d accepted by ptxas for sm_90" % (len(jobs) - len(failures), len(jobs)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
