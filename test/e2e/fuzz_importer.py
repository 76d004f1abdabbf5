#!/usr/bin/env python3
"""Bad input never crashes dlc: mutated models (random bytes, and random
integer attribute / dim values re-encoded with protoc) must give either a
library or an error message with exit status 1 -- never a signal, a stack
dump or an out-of-memory kill. Fixed seeds: the same models every run."""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

SEEDS = ["test_conv_with_strides_padding", "test_maxpool_2d_ceil", "test_gemm_all_attributes",
         "test_lstm_defaults", "test_gru_with_initial_bias", "test_resize_upsample_scales_cubic",
         "test_einsum_batch_matmul", "test_sce_mean_weight_ii", "test_convtranspose_pads",
         "test_gridsample_bicubic", "test_scatternd_add", "test_top_k", "test_averagepool_1d_default",
         "test_layer_normalization_2d_axis0", "test_slice_neg_steps", "test_gather_elements_0"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--iterations", type=int, default=120)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        print(f"fuzz: SKIPPED: no test data at {args.data}")
        return 77
    rng = random.Random(20261121)
    seeds = [s for s in SEEDS if os.path.exists(os.path.join(args.data, s, "model.onnx"))]
    texts = {}
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        model, lib = os.path.join(work, "m.onnx"), os.path.join(work, "m.so")
        for i in range(args.iterations):
            case = rng.choice(seeds)
            source = os.path.join(args.data, case, "model.onnx")
            if i % 2 == 0:
                data = bytearray(open(source, "rb").read())
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(min(len(data), 2048))] = rng.randrange(256)
                open(model, "wb").write(data)
            else:
                if case not in texts:
                    with open(source, "rb") as f:
                        texts[case] = subprocess.run(
                            ["protoc", "-I/usr/include", "--decode=onnx.ModelProto", "onnx/onnx.proto"],
                            stdin=f, capture_output=True, text=True).stdout
                text = texts[case]
                for _ in range(rng.randint(1, 3)):
                    numbers = list(re.finditer(r"(\n\s+(?:i|ints|dim_value): )(-?\d+)", text))
                    if not numbers:
                        break
                    m = rng.choice(numbers)
                    value = rng.choice([-3, -1, 0, 1, 2, 5, 17, 100000, 2 ** 31])
                    text = text[:m.start(2)] + str(value) + text[m.end(2):]
                with open(model, "wb") as f:
                    if subprocess.run(["protoc", "-I/usr/include", "--encode=onnx.ModelProto",
                                       "onnx/onnx.proto"], input=text.encode(), stdout=f,
                                      stderr=subprocess.DEVNULL).returncode != 0:
                        continue
            try:
                r = subprocess.run([args.dlc, model, "-o", lib], capture_output=True, text=True,
                                   errors="replace", timeout=120)
            except subprocess.TimeoutExpired:
                print(f"FAIL {i} ({case}): dlc took longer than 120 s")
                failures += 1
                continue
            bad = r.returncode < 0 or r.returncode > 1 or "Stack dump" in r.stderr or \
                (r.returncode == 1 and "error" not in r.stderr)
            if bad:
                failures += 1
                print(f"FAIL {i} ({case}): exit {r.returncode}: {r.stderr[-300:]}")
    print(f"fuzz: {args.iterations - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
