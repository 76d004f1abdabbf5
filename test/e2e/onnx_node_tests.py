#!/usr/bin/env python3
"""Runs the ONNX backend node tests: each case's model.onnx is compiled by dlc
and run by dlc-run on test_data_set_0, and its outputs are compared with the
reference output_*.pb (rtol 1e-3, atol 1e-7 as in ONNX's own backend runner).

The expected-pass list is enforced: a listed case that fails fails the run; a
case that passes but is not listed is reported so that the list can grow."""
import argparse
import concurrent.futures
import functools
import os
import re
import subprocess
import sys

RTOL, ATOL = 1e-3, 1e-7
CONSTANT_INPUT = re.compile(r"input '([^']+)' must be a compile-time constant")


@functools.lru_cache(maxsize=None)
def tensor_name(path):
    """The name field of a serialized onnx.TensorProto (decoded once per file:
    a case that freezes several inputs asks again after each recompile). None
    for the onnx.SequenceProto and OptionalProto files of sequence and
    optional inputs (never frozen): they have no field 8, a TensorProto's
    name, and protoc may fail on them (garbage dims from their name)."""
    with open(path, "rb") as f:
        r = subprocess.run(["protoc", "-I/usr/include", "--decode=onnx.TensorProto",
                            "onnx/onnx.proto"], stdin=f, capture_output=True, text=True)
    m = re.search(r'^name: "(.*)"$', r.stdout, re.M)
    return m.group(1) if m else None


# Every case runs at these thread counts.
THREADS = [1, 2]


def run_case(case_dir, bin_dir, work, dlc_flags=()):
    name = os.path.basename(case_dir)
    lib = os.path.join(work, name + ".so")
    dlc = os.path.join(bin_dir, "dlc", "dlc")
    run = os.path.join(bin_dir, "dlc-run", "dlc-run")
    data = os.path.join(case_dir, "test_data_set_0")
    files = sorted(os.listdir(data))
    inputs = sorted((f for f in files if f.startswith("input_")),
                    key=lambda f: int(f[6:-3]))
    outputs = sorted((f for f in files if f.startswith("output_")),
                     key=lambda f: int(f[7:-3]))
    # dlc compiles static shapes: an input that is really a parameter (a
    # Reshape's shape, a Clip's bound) is baked in with --freeze-input, and
    # only when dlc says it must be a compile-time constant.
    frozen = []
    while True:
        cmd = [dlc, os.path.join(case_dir, "model.onnx"), "-o", lib, *dlc_flags]
        for input_name, f in frozen:
            cmd.append(f"--freeze-input={input_name}={os.path.join(data, f)}")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return name, "compile-timeout", ""
        m = CONSTANT_INPUT.search(r.stderr) if r.returncode != 0 else None
        candidates = [f for f in inputs if f not in (g for _, g in frozen)]
        match = [f for f in candidates if m and tensor_name(os.path.join(data, f)) == m.group(1)]
        if not match:
            break
        frozen.append((m.group(1), match[0]))
    if r.returncode < 0 or "Stack dump" in r.stderr:
        return name, "crash", f"dlc died (signal {-r.returncode})"
    if r.returncode != 0:
        kind = "unsupported" if "unsupported node" in r.stderr else "compile-error"
        return name, kind, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    inputs = [f for f in inputs if f not in (g for _, g in frozen)]
    try:
        # Within tolerance at each thread count (the corpus test also checks
        # that outputs are identical across counts).
        for threads in THREADS:
            r = subprocess.run([run, lib, "--threads", str(threads),
                                "--inputs", *[os.path.join(data, f) for f in inputs],
                                "--expect", *[os.path.join(data, f) for f in outputs],
                                "--rtol", str(RTOL), "--atol", str(ATOL)],
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                break
    except subprocess.TimeoutExpired:
        return name, "run-timeout", ""
    finally:
        if os.path.exists(lib):
            os.remove(lib)
    if r.returncode == 0:
        return name, "pass", "frozen" if frozen else ""
    if r.returncode < 0:
        return name, "crash", f"signal {-r.returncode} on {threads} thread(s)"
    detail = (r.stdout + r.stderr).strip().splitlines()[-1] if (r.stdout + r.stderr).strip() else ""
    return name, "mismatch" if r.returncode == 1 else "run-error", \
        f"{detail} (on {threads} thread(s))"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--filter", default="", help="only cases whose name contains this")
    ap.add_argument("--dlc-flag", action="append", default=[],
                    help="an extra dlc flag for every case (repeat for several)")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        msg = f"onnx node tests: SKIPPED: no test data at {args.data} (apt-get install libonnx-testdata)"
        print(msg)
        open(args.summary, "w").write(msg + "\n")
        return 77
    os.makedirs(args.work, exist_ok=True)
    expected = set()
    for line in open(args.expected):
        line = line.split("#", 1)[0].strip()
        if line:
            expected.add(line)
    cases = sorted(d for d in os.listdir(args.data)
                   if os.path.isdir(os.path.join(args.data, d)) and args.filter in d)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_case, os.path.join(args.data, c), args.bin, args.work,
                               args.dlc_flag)
                   for c in cases]
        for f in concurrent.futures.as_completed(futures):
            name, status, detail = f.result()
            results[name] = (status, detail)
    passed = sorted(n for n, (s, _) in results.items() if s == "pass")
    regressions = sorted(n for n in expected if n in results and results[n][0] != "pass")
    missing = sorted(n for n in expected if n not in results and not args.filter)
    new = sorted(n for n in passed if n not in expected)
    crashes = sorted(n for n, (s, _) in results.items() if s in ("crash", "compile-timeout", "run-timeout"))
    counts = {}
    for s, _ in results.values():
        counts[s] = counts.get(s, 0) + 1
    for n in regressions:
        print(f"REGRESSION: {n}: {results[n][0]}: {results[n][1]}")
    for n in missing:
        print(f"MISSING: {n} is in the expected-pass list but not in the test data")
    for n in crashes:
        print(f"CRASH: {n}: {results[n][0]}: {results[n][1]}")
    if new:
        print(f"newly passing ({len(new)}), add them to {os.path.basename(args.expected)}:")
        for n in new:
            print(f"  {n}")
    breakdown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    frozen = sum(1 for n in passed if results[n][1] == "frozen")
    summary = (f"ONNX node tests: {len(passed)} of {len(results)} pass, "
               f"{len(passed) - frozen} without --freeze-input "
               f"({len(expected)} expected, {len(regressions)} regressions; {breakdown})")
    print(summary)
    open(args.summary, "w").write(summary + "\n")
    # Crashes are defects even when the case is not expected to pass.
    return 1 if regressions or missing or crashes else 0


if __name__ == "__main__":
    sys.exit(main())
