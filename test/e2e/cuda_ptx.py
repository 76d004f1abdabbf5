#!/usr/bin/env python3
"""The CUDA target's PTX for the whole shared corpus: every model's inference
and every training case's step (forward, loss, backward, SGD) compiled with
`dlc --target=cuda --emit=ptx` and assembled by NVIDIA's ptxas for sm_90.
Also checked: the PTX calls no function it does not define (dlc refuses to
write such PTX; ptxas would accept it), and it carries no initialized array
of 1 KiB or more (the weights are uploaded at run time, not written into the
PTX as text).

With --fake-driver (test/unit/FakeCudaDriver.c, a test double of libcuda),
every inference model is also compiled to a library and run once through
it: the host path (PTX module, weight upload, tensors in and out, every
launch's grid and block sizes within CUDA's limits, every device allocation
freed) for each model.

This checks that the kernels compile, not what they compute: that needs a GPU
(scripts/gpu-check.sh). Skips with a message where ptxas or the corpus is
absent.

Usage: cuda_ptx.py --bin BUILD/tools --corpus DIR --work DIR [--ptxas PATH]
                   [--fake-driver LIB]"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

INITIALIZED = re.compile(r"^\s*(?:\.visible\s+)?\.global\s+\.align\s+\d+\s+\.b8\s+(\S+)\[(\d+)\]\s*=",
                         re.M)


def run_with_fake_driver(args, dlc, model, library):
    """Compiles `model` to a CUDA library and runs it once on the fake
    driver; the problems found."""
    run = subprocess.run([dlc, model, "--target=cuda", "-o", library],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        return ["dlc -o .so failed:\n" + run.stdout[-2000:]]
    env = dict(os.environ, DLC_CUDA_DRIVER=os.path.abspath(args.fake_driver),
               FAKE_CUDA_REPORT="1")
    dlc_run = os.path.join(args.bin, "dlc-run", "dlc-run")
    run = subprocess.run([dlc_run, library, "--random"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    report = re.search(r"fake-cuda: modules (\d+), uploads (\d+), launches (\d+), "
                       r"allocations held (-?\d+)", run.stdout)
    if run.returncode != 0 or not report:
        return ["the run on the fake driver failed:\n" + run.stdout[-2000:]]
    modules, _, launches, held = (int(g) for g in report.groups())
    problems = []
    if modules != 1 or launches == 0:
        problems.append("fake driver saw %d modules, %d launches" % (modules, launches))
    if held != 0:
        problems.append("%d device allocations not freed" % held)
    os.remove(library)
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--ptxas", default=shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas")
    parser.add_argument("--fake-driver")
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
        if args.fake_driver and not flags and not problems:
            problems += run_with_fake_driver(args, dlc, model, ptx[:-4] + ".so")
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
