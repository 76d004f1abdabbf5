#!/usr/bin/env python3
"""Cases of ../shared/cases (models as users bring them, with onnxruntime's
outputs as references) that dlc handles today, compiled with the flags given
here and compared with the reference of each data set.

- conv3x3_96to24_160 with --winograd=all: a 96-channel 160x160 image, whose
  Winograd transforms go in blocks of columns (the only case that large).
  Tolerance: the cases' rule with Winograd's allowance, rtol 1e-3 (the
  corpus' tol_loose) and atol 1e-4 (measured: 5.3e-5).
- conv3d_pool3d: 3-D Conv, MaxPool and AveragePool (as 2-D ones per depth
  tap), the cases' rule with atol 1e-5.
- opset6_legacy_broadcast: opset-6 Add and Mul with the legacy broadcast and
  axis attributes; the cases' rule (rtol 1e-4, atol 1e-5 * max(1, max|ref|),
  here 1e-5).
- if_const_condition (folded to its branch), if_data_condition (scf.if),
  loop_counter and scan_cumsum (scf.for): the cases' rule.
- clip_runtime_bounds, clip_input_bounds (Clip bounds computed or given at
  run time) and onehot_int64_depth (an int64 depth): the cases' rule.
- gather_runtime_oob: data set 0 matches; data set 1 (an index of 1e8) must
  fail: dlc-run exits non-zero naming the node, and saves no output.
- chain_2000 and conv_wide_stride2_compile: compile-time cases (10 s and 5 s
  in the manifest; about 0.2 s each today), checked here for their values;
  nothing here times them (the ctest timeout catches a return of minutes).
- runtime_reshape, _expand, _tile, _slice, _constantofshape, _range,
  _onehot, _pad, _topk, _resize: a shape operand given as a graph input, compiled once; each
  data set's output has the shape its values make (dlc-run compares shapes
  too); the cases' rule.
- dyn_batch_cnn, dyn_seq_lstm, dyn_transformer_tokens: their dims left
  symbolic, compiled once and run at each data set's sizes (the LSTM's
  sequence and batch, its initial states from ConstantOfShape of Shape
  arithmetic; the transformer's token count, its Reshapes by Shape
  arithmetic, attention over the tokens); the cases' rule.

Exits 77 (skipped) when the cases are absent, 1 when one fails.
Usage: shared_cases.py --bin BUILD/tools --cases ../shared/cases --work DIR"""
import argparse
import glob
import json
import os
import subprocess
import sys

# (case, extra dlc flags, rtol, atol, pin each data set's input shapes)
CASES = [
    ("conv3x3_96to24_160", ["--winograd=all"], 1e-3, 1e-4, False),
    ("opset6_legacy_broadcast", [], 1e-4, 1e-5, False),
    ("conv3d_pool3d", [], 1e-4, 1e-5, False),
    ("if_const_condition", [], 1e-4, 1e-5, False),
    ("if_data_condition", [], 1e-4, 1e-5, False),
    ("loop_counter", [], 1e-4, 1e-5, False),
    ("scan_cumsum", [], 1e-4, 1e-5, False),
    ("clip_runtime_bounds", [], 1e-4, 1e-5, False),
    ("clip_input_bounds", [], 1e-4, 1e-5, False),
    ("onehot_int64_depth", [], 1e-4, 1e-5, False),
    ("gather_runtime_oob", [], 1e-4, 1e-5, False),
    ("chain_2000", [], 1e-4, 1e-5, False),
    ("conv_wide_stride2_compile", [], 1e-4, 1e-5, False),
    ("runtime_reshape", [], 1e-4, 1e-5, False),
    ("runtime_expand", [], 1e-4, 1e-5, False),
    ("runtime_tile", [], 1e-4, 1e-5, False),
    ("runtime_slice", [], 1e-4, 1e-5, False),
    ("runtime_constantofshape", [], 1e-4, 1e-5, False),
    ("runtime_range", [], 1e-4, 1e-5, False),
    ("runtime_onehot", [], 1e-4, 1e-5, False),
    ("runtime_pad", [], 1e-4, 1e-5, False),
    ("runtime_topk", [], 1e-4, 1e-5, False),
    ("runtime_resize", [], 1e-4, 1e-5, False),
    ("dyn_batch_cnn", [], 1e-4, 1e-5, False),
    ("dyn_seq_lstm", [], 1e-4, 1e-5, False),
    ("dyn_transformer_tokens", [], 1e-4, 1e-5, False),
]


def compile_case(a, name, flags, lib):
    c = subprocess.run([os.path.join(a.bin, "dlc", "dlc"),
                        os.path.join(a.cases, name, "model.onnx"), "-o", lib] + flags,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if c.returncode != 0:
        print("%s: FAILED (compile %s): %s" % (name, " ".join(flags),
                                              c.stdout.decode()[-1000:]))
    return c.returncode == 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--cases", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    if not os.path.exists(os.path.join(a.cases, "manifest.json")):
        print("shared_cases: SKIPPED: no cases at %s (they live in ../shared/cases "
              "beside the checkout)" % a.cases)
        return 77
    os.makedirs(a.work, exist_ok=True)
    manifest = json.load(open(os.path.join(a.cases, "manifest.json")))["cases"]
    failed = 0
    for name, flags, rtol, atol, pin in CASES:
        lib = os.path.join(a.work, name + ".so")
        if not pin and not compile_case(a, name, flags, lib):
            failed += 1
            continue
        for k, data in enumerate(sorted(glob.glob(os.path.join(a.cases, name,
                                                               "test_data_set_*")))):
            if pin:
                case = manifest[name]
                shapes = ["--input-shape=%s=%s" % (n, "x".join(map(str, i["shape"])))
                          for n, i in zip(case["inputs"]["names"],
                                          case["data_sets"][k]["inputs"])]
                if not compile_case(a, name, flags + shapes, lib):
                    failed += 1
                    continue
            inputs = sorted(glob.glob(os.path.join(data, "input_*.pb")))
            outputs = sorted(glob.glob(os.path.join(data, "output_*.pb")))
            if manifest[name]["data_sets"][k]["expected"] == "error":
                saved = os.path.join(a.work, name + "_saved_%d" % k)
                r = subprocess.run([os.path.join(a.bin, "dlc-run", "dlc-run"), lib,
                                    "--inputs"] + inputs + ["--save", saved],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                text = r.stdout.decode().strip()
                ok = r.returncode not in (0, 1) and r.returncode > 0 and \
                    "node '" in text and not os.path.exists(saved)
                failed += not ok
                print("%s %s (must fail): %s\n  exit %d: %s" % (
                    name, os.path.basename(data), "ok" if ok else "FAILED",
                    r.returncode, text))
                continue
            for threads in ("1", "2"):
                r = subprocess.run([os.path.join(a.bin, "dlc-run", "dlc-run"), lib,
                                    "--threads", threads, "--inputs"] + inputs +
                                   ["--expect"] + outputs +
                                   ["--rtol", str(rtol), "--atol", str(atol)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                status = "ok" if r.returncode == 0 else "FAILED"
                failed += r.returncode != 0
                print("%s %s, %s thread(s): %s\n  %s" % (
                    name, os.path.basename(data), threads, status,
                    r.stdout.decode().strip().replace("\n", "\n  ")))
    print("shared_cases: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
