#!/usr/bin/env python3
"""Builds the seed corpora of dlc's libFuzzer targets and runs each target
for a while; fails when one finds a crash (its input is kept as
WORK/<target>/crash-*, and the target's log is printed).

Seeds (generated, never committed):
- importer: the ONNX node test models, and the shared corpus' models under
  1 MB (libFuzzer mutates every seed: big ones would slow it to a crawl);
- tensor-file: the node tests' input and output tensors, and the corpus';
- manifest: the manifests of libraries compiled here (inference with a
  run-time check, a training step, external weights), cut out of each .so
  by its dlc_manifest symbol.

Each target first runs the inputs of regressions/<target>/ (crashes found
before, fixed since), then --seconds (wall clock) over its seeds plus what
earlier runs found (WORK/<target>/corpus), and prints how many inputs it
executed.

Usage: run.py --bin BUILD --work DIR [--seconds N] [--node-data DIR]
              [--corpus DIR] [--targets importer,manifest,tensor-file]"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from model_check import F32, I64, tensor  # noqa: E402
from conv_pool_reference import encode  # noqa: E402


def small_models(node_data, corpus):
    models = sorted(glob.glob(os.path.join(node_data, "*", "model.onnx")))
    models += [m for m in sorted(glob.glob(os.path.join(corpus, "*", "model.onnx")))
               if os.path.getsize(m) < 1 << 20]
    return models


def tensors(node_data, corpus):
    return (sorted(glob.glob(os.path.join(node_data, "*", "test_data_set_0", "*.pb")))
            + sorted(glob.glob(os.path.join(corpus, "*", "test_data_set_0", "*.pb"))))


def manifest_bytes(library):
    """The bytes of `library`'s dlc_manifest symbol, found through readelf."""
    symbols = subprocess.run(["readelf", "-sW", library], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
    m = re.search(r"^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+OBJECT\s+\S+\s+\S+\s+\S+\s+dlc_manifest$",
                  symbols, re.M)
    sections = subprocess.run(["readelf", "-SW", library], stdout=subprocess.PIPE,
                              check=True).stdout.decode()
    address, size = int(m.group(1), 16), int(m.group(2))
    for line in sections.splitlines():
        f = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if not f:
            continue
        start, offset, length = (int(g, 16) for g in f.groups())
        if start <= address < start + length:
            with open(library, "rb") as lib:
                lib.seek(offset + address - start)
                return lib.read(size)
    raise RuntimeError("%s: dlc_manifest is in no section" % library)


def manifest_seeds(bin_dir, work, out):
    """Compiles three small libraries and writes their manifests to `out`."""
    model = ('ir_version: 8 opset_import { version: 17 } graph { name: "seed" '
             'node { input: "W" input: "idx" output: "g" op_type: "Gather" name: "rows" } '
             'node { input: "x" input: "g" output: "y" op_type: "MatMul" name: "mm" } '
             'initializer { %s } '
             'input { name: "x" type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } '
             'dim { dim_value: 3 } } } } } '
             'input { name: "idx" type { tensor_type { elem_type: 7 shape { dim { dim_value: 3 } '
             '} } } } '
             'output { name: "y" type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } '
             'dim { dim_value: 300 } } } } } }' % tensor("W", F32, [4, 300],
                                                        [0.01 * i for i in range(1200)]))
    path = os.path.join(work, "seed.onnx")
    encode("ModelProto", model, path)
    dlc = os.path.join(bin_dir, "tools", "dlc", "dlc")
    for name, flags in (("inference", []), ("external", ["--weights=external"]),
                        ("training", ["--train", "--loss=mse", "--optimizer=adam"])):
        lib = os.path.join(work, "seed_%s.so" % name)
        subprocess.run([dlc, path, "-o", lib] + flags, check=True)
        with open(os.path.join(out, name), "wb") as f:
            f.write(manifest_bytes(lib))


def copy_seeds(files, out):
    for i, f in enumerate(files):
        shutil.copy(f, os.path.join(out, "%05d_%s" % (i, os.path.basename(f))))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the build folder")
    p.add_argument("--work", required=True)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--node-data", default="/usr/share/libonnx-testdata/data/node")
    p.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "..", "shared", "corpus"))
    p.add_argument("--targets", default="importer,manifest,tensor-file")
    a = p.parse_args()
    work = os.path.abspath(a.work)
    failed = 0
    for target in a.targets.split(","):
        binary = os.path.join(os.path.abspath(a.bin), "test", "fuzz", "dlc-fuzz-" + target)
        folder = os.path.join(work, target)
        seeds, found = os.path.join(folder, "seeds"), os.path.join(folder, "corpus")
        shutil.rmtree(seeds, ignore_errors=True)
        os.makedirs(seeds)
        os.makedirs(found, exist_ok=True)
        if target == "importer":
            copy_seeds(small_models(a.node_data, a.corpus), seeds)
        elif target == "tensor-file":
            copy_seeds(tensors(a.node_data, a.corpus), seeds)
        else:
            manifest_seeds(a.bin, folder, seeds)
        # What earlier runs found, fixed since: each must run clean.
        regressions = sorted(glob.glob(os.path.join(HERE, "regressions", target, "*")))
        if regressions:
            r = subprocess.run([binary] + regressions, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, cwd=folder)
            if r.returncode != 0:
                failed += 1
                print("%s: FAILED on a regression input:\n%s" % (
                    target, r.stdout.decode(errors="replace")[-6000:]))
                continue
        log = os.path.join(folder, "fuzz.log")
        with open(log, "w") as out:
            r = subprocess.run([binary, "-max_total_time=%d" % a.seconds, "-timeout=60",
                                "-rss_limit_mb=4096", "-print_final_stats=1",
                                "-artifact_prefix=" + folder + "/", found, seeds],
                               stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        text = open(log, errors="replace").read()
        runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
        seeds_count = len(os.listdir(seeds))
        if r.returncode != 0:
            failed += 1
            print("%s: FAILED (exit %d) after %s inputs; log %s:\n%s" % (
                target, r.returncode, runs.group(1) if runs else "?", log, text[-6000:]))
        else:
            print("%s: ok, %d regression input(s), then %s inputs in %d s from %d seeds, "
                  "corpus now %d" % (target, len(regressions), runs.group(1) if runs else "?",
                                     a.seconds, seeds_count, len(os.listdir(found))))
    print("fuzz: %d target(s) failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
