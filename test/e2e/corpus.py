#!/usr/bin/env python3
"""Compiles every model of the shared corpus with dlc, runs it with dlc-run on
1 and on 2 threads and compares with the PyTorch references within the
tolerances of manifest.json; the outputs of both thread counts must be
bit-identical. Extra dlc flags (--dlc-flag) compile another variant, e.g.
--winograd=off for the direct convolutions that Winograd replaces by default.

Tolerance: always the strict `tol` (rtol 1e-4). With the default
--winograd=auto the 3x3 convolutions of cnn_bn, vgg_small_b8 and resnet18
run Winograd F(4x4, 3x3), for which the corpus would allow `tol_loose`
(rtol 1e-3); they stay within `tol` (max abs err 1.7e-6, 1.1e-5 and 5.4e-6
when added), so the strict tolerance stays.

Exits 77 (skipped) when the corpus is absent, 1 when any model fails."""
import argparse
import filecmp
import json
import os
import subprocess
import sys
import time

# Every model of the corpus: MLPs and CNNs, sequence models, attention,
# autoencoder, GAN generator.
MODELS = ["mlp_b1", "mlp_b64", "lenet5_b1", "lenet5_b64", "cnn_bn",
          "vgg_small_b8", "resnet18", "depthwise", "lstm", "bigru",
          "transformer_block", "transformer_block_op14", "autoencoder",
          "gan_generator_b8"]
# Thread counts every model runs at; their outputs must be bit-identical.
THREADS = [1, 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--dlc-flag", action="append", default=[],
                    help="an extra dlc flag (repeatable)")
    ap.add_argument("models", nargs="*", default=MODELS)
    args = ap.parse_args()
    manifest_path = os.path.join(args.corpus, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"corpus: SKIPPED: no shared corpus at {args.corpus} "
              "(it lives in ../shared/corpus beside the checkout)")
        return 77
    manifest = json.load(open(manifest_path))["models"]
    os.makedirs(args.work, exist_ok=True)
    dlc = os.path.join(args.bin, "dlc", "dlc")
    run = os.path.join(args.bin, "dlc-run", "dlc-run")
    failed = []
    for name in args.models:
        info = manifest[name]
        model_dir = os.path.join(args.corpus, info["dir"])
        lib = os.path.join(args.work, name + ".so")
        start = time.time()
        r = subprocess.run([dlc, os.path.join(args.corpus, info["model"]), "-o", lib,
                            *args.dlc_flag],
                           capture_output=True, text=True)
        compile_s = time.time() - start
        if r.returncode != 0:
            print(f"{name}: FAIL (compile)\n{r.stderr}")
            failed.append(name)
            continue
        ok = True
        data = os.path.join(model_dir, "test_data_set_0")
        inputs = [os.path.join(data, f"input_{i}.pb") for i in range(len(info["inputs"]))]
        expects = [os.path.join(data, f"output_{k}.pb") for k in range(len(info["outputs"]))]
        saved = {}
        for threads in THREADS:
            saved[threads] = os.path.join(args.work, f"{name}.out{threads}")
            # Each output has its own tolerance; check them one at a time.
            for j, out in enumerate(info["outputs"]):
                tol = out["tol"]
                r = subprocess.run([run, lib, "--threads", str(threads), "--inputs", *inputs,
                                    "--expect", *expects, "--save", saved[threads],
                                    "--rtol", str(tol["rtol"]), "--atol", str(tol["atol"])],
                                   capture_output=True, text=True)
                line = [l for l in r.stdout.splitlines() if l.startswith(f"output {j} ")]
                status_ok = line and line[0].endswith(": ok")
                if r.returncode == 2 or not status_ok:
                    ok = False
                    print(f"{name}: output {j} on {threads} thread(s) FAIL "
                          f"(rtol {tol['rtol']}, atol {tol['atol']})\n{r.stdout}{r.stderr}")
                    break
                detail = line[0].split(": ", 1)[1]
            if not ok:
                break
        # Only iterations that write disjoint data are split: every thread
        # count computes each element with the same operations.
        for k in range(len(info["outputs"]) if ok else 0):
            files = [os.path.join(saved[t], f"output_{k}.pb") for t in THREADS]
            if not all(filecmp.cmp(files[0], f, shallow=False) for f in files[1:]):
                ok = False
                print(f"{name}: output {k} differs between {THREADS} threads")
        if ok:
            print(f"{name}: ok (compiled in {compile_s:.1f} s; {detail}; "
                  f"identical on {', '.join(map(str, THREADS))} threads)")
        else:
            failed.append(name)
    passed = len(args.models) - len(failed)
    print(f"corpus: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
