#!/usr/bin/env python3
"""Soak and memory figures for docs/robustness.md: every model of the shared
corpus compiled, then run --runs times on one loaded instance.

Per model it prints: the weights' bytes (as the library's manifest counts
them); the compile's wall time and peak resident memory, and what that peak
adds to the fixed overhead (the peak of compiling a one-node model: the
compiler's own code and data) as a multiple of the weights; the run's peak resident memory; the resident memory
after 100 calls and after all of them (flat: no growth after warm-up); and
whether every call's outputs were bit-identical to the first call's on the
same inputs (test/unit/ConcurrentRuns.cpp with one thread). Exit status 1
when a model's outputs differ, or its memory grows by more than --growth-kib.

Usage: scripts/soak.py --build build [--corpus ../shared/corpus] [--runs 1000]
                       [--models a,b]"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from onnx_text import encode

ONE_NODE = ('ir_version: 8 opset_import { version: 17 } graph { name: "relu" '
            'node { input: "x" output: "y" op_type: "Relu" } '
            'input { name: "x" type { tensor_type { elem_type: 1 shape { dim { dim_value: 4 } } } } } '
            'output { name: "y" type { tensor_type { elem_type: 1 shape { dim { dim_value: 4 } } } } } }')


def timed(args):
    """(exit status, output, wall seconds, peak resident MiB) of `args`."""
    start = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss %M"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    text = r.stdout.decode(errors="replace")
    peak = re.findall(r"maxrss (\d+)", text)
    return r.returncode, text, seconds, int(peak[-1]) / 1024.0 if peak else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True)
    p.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "shared", "corpus"))
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--models", default="")
    p.add_argument("--growth-kib", type=int, default=0)
    a = p.parse_args()
    with open(os.path.join(a.corpus, "manifest.json")) as f:
        models = sorted(json.load(f)["models"])
    if a.models:
        models = [m for m in models if m in a.models.split(",")]
    dlc = os.path.join(a.build, "tools", "dlc", "dlc")
    info = os.path.join(a.build, "tools", "dlc-run", "dlc-run")
    soak = os.path.join(a.build, "test", "unit", "dlc-concurrent-runs")
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "relu.onnx")
        encode(ONE_NODE, path)
        _, _, _, fixed = timed([dlc, path, "-o", os.path.join(work, "relu.so")])
    print("Fixed overhead of a compile (a one-node model): %.0f MB peak resident." % fixed)
    print()
    print("| model | weights (MB) | compile (s) | compile peak (MB) | (peak - fixed) / weights "
          "| run peak (MB) "
          "| resident after 100 / %d calls (KiB) | outputs |" % a.runs)
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        for name in models:
            lib = os.path.join(work, name + ".so")
            rc, out, seconds, compile_peak = timed(
                [dlc, os.path.join(a.corpus, name, "model.onnx"), "-o", lib])
            if rc != 0:
                failed += 1
                print("| %s | compile failed: %s |" % (name, out.strip()[-300:]))
                continue
            text = subprocess.run([info, lib, "--info"], stdout=subprocess.PIPE).stdout.decode()
            weights = int(re.search(r"params: \d+ \((\d+) bytes\)", text).group(1)) / 1e6
            rc, out, _, run_peak = timed([soak, lib, "1", str(a.runs)])
            resident = re.search(r"resident memory: (\d+) KiB .* (\d+) KiB after", out)
            same = rc == 0 and "identical" in out
            warm, end = (int(resident.group(1)), int(resident.group(2))) if resident else (0, 0)
            grew = end - warm > a.growth_kib
            failed += (not same) or grew
            print("| %s | %.2f | %.1f | %.0f | %.1f | %.0f | %d / %d%s | %s |" % (
                name, weights, seconds, compile_peak,
                (compile_peak - fixed) / weights if weights else 0, run_peak, warm, end,
                " GREW" if grew else "", "bit-identical" if same else "DIFFER: " + out.strip()))
    print("soak: %d model(s) failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
