#!/usr/bin/env python3
"""One loaded model run from many threads at once: compiles two corpus models
(lenet5_b64: convolutions with workspace; transformer_block: matrix products,
softmax, layer norm) and runs dlc-concurrent-runs on each, 8 threads x 500
runs on one instance, every output compared bit for bit with the same inputs
run alone (see test/unit/ConcurrentRuns.cpp). With --cases, also
../shared/cases' dyn_transformer_tokens with its token dim symbolic, run at
33 tokens: its buffers of run-time size come from the library's buffer
cache, shared by the threads.

Exits 77 (skipped) when the corpus is absent, 1 when a run differs."""
import argparse
import json
import os
import subprocess
import sys

MODELS = ["lenet5_b64", "transformer_block"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the build's tools directory")
    p.add_argument("--runner", required=True, help="dlc-concurrent-runs")
    p.add_argument("--corpus", required=True)
    p.add_argument("--cases", help="../shared/cases, for a model of symbolic dims")
    p.add_argument("--work", required=True)
    p.add_argument("--threads", default="8")
    p.add_argument("--runs", default="500")
    a = p.parse_args()
    manifest_path = os.path.join(a.corpus, "manifest.json")
    if not os.path.exists(manifest_path):
        print("concurrent_runs: SKIPPED: no shared corpus at " + a.corpus)
        return 77
    manifest = json.load(open(manifest_path))["models"]
    os.makedirs(a.work, exist_ok=True)
    failed = 0
    # (name, model, size of its symbolic dims)
    models = [(name, os.path.join(a.corpus, manifest[name]["model"]), [])
              for name in MODELS]
    if a.cases and os.path.exists(os.path.join(a.cases, "manifest.json")):
        models.append(("dyn_transformer_tokens",
                       os.path.join(a.cases, "dyn_transformer_tokens", "model.onnx"), ["33"]))
    for name, model, size in models:
        lib = os.path.join(a.work, name + ".so")
        c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"), model, "-o", lib],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if c.returncode != 0:
            print("%s: FAILED (compile): %s" % (name, c.stdout.decode()[-1000:]))
            failed += 1
            continue
        r = subprocess.run([a.runner, lib, a.threads, a.runs] + size,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        print("%s: %s %s" % (name, "ok" if r.returncode == 0 else "FAILED",
                             r.stdout.decode().strip()))
        failed += r.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
