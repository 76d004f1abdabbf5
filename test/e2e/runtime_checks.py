#!/usr/bin/env python3
"""Run-time checks of the generated code: indices given at run time that lie
outside their tensor make the call fail with a message naming the node,
never a clamped result.

- gather: Gather rows of data [3, 4] (an initializer) at indices [2, 2]
  (int64, a graph input); in range, negatives included, the rows must match
  the values taken here; an index of 3 or -4 must fail: dlc-run exits 2,
  names node 'rows' (Gather) and saves no output.
- gather_elements: GatherElements along axis 1 with int32 indices; same.
- gather_nd: GatherND of (row, column) pairs; a column of 4 must fail
  naming the component.
- scatter_elements: ScatterElements of two updates into rows given at run
  time; a row of 3 must fail.
- embedding training: Gather of a trained table by a label-like input, a
  training library; a step with a bad index fails naming the node.

Usage: runtime_checks.py --bin BUILD/tools --work DIR [--dlc-run PATH]"""
import argparse
import os
import subprocess
import sys

import model_check
from control_flow import model, node, value_info
from conv_pool_reference import encode
from model_check import F32, I64, tensor

I32 = 6
DATA = [float(v) for v in range(12)]  # [3, 4], row r = 4r .. 4r+3


def initializer(name, dims, values):
    return 'initializer { %s }' % tensor(name, F32, dims, values)


def gather_model(train=False):
    text = model([node("Gather", ["data", "idx"], ["y"], "", "rows")],
                 [value_info("idx", I64, [2, 2])], [value_info("y", F32, [2, 2, 4])])
    return text.replace(" input {", " %s input {" % initializer("data", [3, 4], DATA), 1)


def gather_elements_model():
    text = model([node("GatherElements", ["data", "idx"], ["y"],
                       'attribute { name: "axis" type: INT i: 1 }', "pick")],
                 [value_info("idx", I32, [3, 2])], [value_info("y", F32, [3, 2])])
    return text.replace(" input {", " %s input {" % initializer("data", [3, 4], DATA), 1)


def gather_nd_model():
    text = model([node("GatherND", ["data", "idx"], ["y"], "", "pick_nd")],
                 [value_info("idx", I64, [2, 2])], [value_info("y", F32, [2])])
    return text.replace(" input {", " %s input {" % initializer("data", [3, 4], DATA), 1)


def gather_nd_ref(idx):
    return [DATA[4 * (r % 3) + (c % 4)] for r, c in zip(idx[0::2], idx[1::2])]


def scatter_model():
    text = model([node("ScatterElements", ["data", "idx", "upd"], ["y"], "", "put")],
                 [value_info("idx", I64, [1, 2])], [value_info("y", F32, [3, 4])])
    return text.replace(" input {", " %s %s input {" % (
        initializer("data", [3, 4], DATA), initializer("upd", [1, 2], [-1.0, -2.0])), 1)


def scatter_ref(idx):
    out = list(DATA)
    for col, (row, value) in enumerate(zip(idx, [-1.0, -2.0])):
        out[4 * (row % 3) + col] = value
    return out


def gather_ref(idx):
    rows = [i + 3 if i < 0 else i for i in idx]
    return sum((DATA[4 * r:4 * r + 4] for r in rows), [])


def gather_elements_ref(idx):
    out = []
    for r in range(3):
        for k in range(2):
            c = idx[2 * r + k]
            out.append(DATA[4 * r + (c + 4 if c < 0 else c)])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--dlc-run", help="the dlc-run to use (default: the build's; "
                   "make check also runs the one built with ASan and UBSan)")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    run = a.dlc_run or os.path.join(a.bin, "dlc-run", "dlc-run")
    failed = 0
    compile_model = lambda name, text, flags=(): model_check.compile_model(
        a.bin, a.work, name, text, flags)

    def pb(name, label, elem, dims, values):
        path = os.path.join(a.work, "%s_%s.pb" % (name, label))
        encode("TensorProto", tensor(label.split("_")[0], elem, dims, values), path)
        return path

    cases = [("gather", gather_model(), I64, [2, 2], gather_ref, [2, 2, 4], "node 'rows' (Gather)",
              [[0, 2, -1, -3]], [[0, 3, 1, 1], [-4, 0, 0, 0]]),
             ("gather_elements", gather_elements_model(), I32, [3, 2], gather_elements_ref, [3, 2],
              "node 'pick' (GatherElements)", [[0, 3, -1, 2, -4, 1]],
              [[0, 4, 0, 0, 0, 0], [0, 0, 0, 0, -5, 0]]),
             ("gather_nd", gather_nd_model(), I64, [2, 2], gather_nd_ref, [2],
              "node 'pick_nd' (GatherND): input 'idx' (component 1) holds an index outside "
              "[-4, 3]", [[0, 3, -1, -4]], [[0, 4, 1, 1]]),
             ("scatter_elements", scatter_model(), I64, [1, 2], scatter_ref, [3, 4],
              "node 'put' (ScatterElements)", [[2, -3]], [[3, 0]])]
    for name, text, elem, dims, ref, out_dims, who, good, bad in cases:
        lib = compile_model(name, text)
        if not lib:
            failed += 1
            continue
        for k, idx in enumerate(good):
            inp = pb(name, "idx_good%d" % k, elem, dims, idx)
            exp = pb(name, "y_good%d" % k, F32, out_dims, ref(idx))
            r = subprocess.run([run, lib, "--inputs", inp, "--expect", exp,
                                "--rtol", "0", "--atol", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            failed += r.returncode != 0
            print("%s indices %s: %s\n  %s" % (name, idx, "ok" if r.returncode == 0 else "FAILED",
                                             r.stdout.decode().strip()))
        for k, idx in enumerate(bad):
            inp = pb(name, "idx_bad%d" % k, elem, dims, idx)
            saved = os.path.join(a.work, "%s_saved_bad%d" % (name, k))
            r = subprocess.run([run, lib, "--inputs", inp, "--save", saved],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            text_out = r.stdout.decode().strip()
            ok = r.returncode == 2 and who in text_out and not os.path.exists(saved)
            failed += not ok
            print("%s indices %s (must fail): %s\n  exit %d: %s" % (
                name, idx, "ok" if ok else "FAILED", r.returncode, text_out))

    # A training step whose embedding lookup gets a bad index fails by name.
    lib = compile_model("embedding_train", gather_model(), ["--train", "--loss", "mse"])
    if not lib:
        failed += 1
    else:
        for label, idx, must_fail in (("good", [0, 1, 2, -1], False), ("bad", [0, 1, 7, 0], True)):
            inp = pb("embedding_train", "idx_%s" % label, I64, [2, 2], idx)
            labels = pb("embedding_train", "labels_%s" % label, F32, [2, 2, 4], [0.5] * 16)
            r = subprocess.run([run, lib, "--train", "--steps", "1", "--inputs", inp, labels],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            text_out = r.stdout.decode().strip()
            ok = (r.returncode == 2 and "node 'rows' (Gather)" in text_out
                  and "the update was not applied" in text_out) if must_fail \
                else r.returncode == 0
            failed += not ok
            print("embedding training step, indices %s%s: %s\n  exit %d: %s" % (
                idx, " (must fail)" if must_fail else "", "ok" if ok else "FAILED",
                r.returncode, text_out))
    print("runtime_checks: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
