#!/usr/bin/env python3
"""The C++ DSL's example networks (examples/dsl/Models.cpp).

1. Their summaries count the published parameters: the Keras MNIST convnet
   93,322, VGG-16 138,357,544, ResNet-18 11,689,512 trainable (plus 9,600
   BatchNorm statistics), LeNet-5 61,706, the MLP 235,146; PyTorch's counts
   of the corpus models' twins; the others' counted from their definitions.
2. The XOR MLP (examples/dsl/xor.cpp), defined in C++ and compiled to a
   training step, trains from its seeded start until it classifies the four
   points.
3. Twins of corpus models: mlp (mlp_b64), lenet5 (lenet5_b64), resnet18,
   cnn-bn (cnn_bn), autoencoder, dcgan-generator (gan_generator_b8), lstm, bigru and
   transformer-encoder-layer (transformer_block), built in C++, load the
   corpus model's weights by initializer name (Model::load_onnx), compile,
   and reproduce the PyTorch reference outputs within the corpus manifest's
   tolerance of each output; and the C++ LeNet-5 (cross-entropy, SGD), conv
   net with batch norms (cross-entropy, SGD with momentum), LSTM (MSE, Adam)
   and transformer encoder layer (MSE, AdamW) compiled to training steps from the training cases' weights give their PyTorch
   losses, gradients and updated parameters over the cases' steps (checked
   by training.py, as the ONNX path's steps are). Skipped, with a message,
   where ../shared/corpus is absent.
4. save_onnx: every example written as ONNX passes onnx.checker (Debian's
   python3-onnx, run with /usr/bin/python3), and each twin's file, compiled
   back with dlc, reproduces the same PyTorch outputs.

Usage: dsl_examples.py --bin BUILD --corpus DIR --work DIR"""
import argparse
import json
import os
import re
import subprocess
import sys

COUNTS = {  # model: (total, trainable)
    "mnist-convnet": (93322, 93322),
    "vgg16": (138357544, 138357544),
    "resnet18": (11699112, 11689512),
    "lenet5": (61706, 61706),
    "mlp": (235146, 235146),
    # PyTorch's parameters (+ BatchNorm's running statistics) of the corpus'
    # models (../shared/corpus/scripts/models.py): the corpus manifest's
    # `params` for the first four; the transformer layer's 198,272 is what
    # PyTorch counts (the manifest's 197,888 counts the ONNX file, whose
    # export stored the two LayerNorms' equal parameters once).
    "autoencoder": (111521, 111521),
    "cnn-bn": (392426, 391466),
    "dcgan-generator": (370048, 369600),
    "lstm": (99328, 99328),
    "bigru": (148992, 148992),
    "transformer-encoder-layer": (198272, 198272),
    # Counted from their definitions (examples/dsl/Models.h): weights and
    # biases; BatchNorm's two running statistics per channel not trained.
    "transformer-encoder": (198272, 198272),  # the encoding is a constant
    "perceptron": (3, 3),
    "dense-autoencoder": (209968, 209968),  # 100480 + 4128 + 4224 + 101136
    # 12352 + 18528 + 110720 + 3088 + 12832 + 6176
    "inception-block": (163696, 163696),
    # convolutions 512 + 32768 + 131072 + 2048, norms 2 x (64 + 128)
    "dcgan-discriminator": (167168, 166784),
}
# DSL example: (corpus model, batch, the ONNX file its parameters load from,
# the prefix of their initializer names there). The recurrent and attention
# layers' ONNX exports store reordered or transposed weights under generated
# names; the training cases of the same models (same weights, checked bit for
# bit by the corpus) keep PyTorch's names and layouts.
TWINS = {
    "mlp": ("mlp_b64", 64, "mlp_b64/model.onnx", ""),
    "lenet5": ("lenet5_b64", 64, "lenet5_b64/model.onnx", ""),
    "resnet18": ("resnet18", 1, "resnet18/model.onnx", ""),
    "autoencoder": ("autoencoder", 1, "autoencoder/model.onnx", ""),
    "dcgan-generator": ("gan_generator_b8", 8, "gan_generator_b8/model.onnx", ""),
    "cnn-bn": ("cnn_bn", 1, "cnn_bn/model.onnx", ""),
    "lstm": ("lstm", 4, "training/lstm_adam/model_loss.onnx", "net."),
    "bigru": ("bigru", 4, "training/bigru_clip/model_loss.onnx", "net."),
    "transformer-encoder-layer": ("transformer_block", 2,
                                  "training/transformer_adamw/model_loss.onnx", "net."),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the build folder")
    p.add_argument("--corpus", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    a.examples = os.path.join(a.bin, "examples", "dsl", "dlc-dsl-examples")
    a.dlc_run = os.path.join(a.bin, "tools", "dlc-run", "dlc-run")
    failed = 0
    r = subprocess.run([os.path.join(a.bin, "examples", "dsl", "dlc-dsl-xor"), "--work",
                        a.work], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    failed += r.returncode != 0
    print("xor trained: %s\n  %s" % ("ok" if r.returncode == 0 else "FAILED",
                                     "\n  ".join(r.stdout.decode().strip().splitlines()[-5:])))
    checker = ("import onnx, sys\n"
               "for path in sys.argv[1:]:\n"
               "    onnx.checker.check_model(onnx.load(path))\n"
               "    print(path + ': onnx.checker ok')\n")
    saved = []
    for model, (total, trainable) in COUNTS.items():
        path = os.path.join(a.work, model + ".onnx")
        r = subprocess.run([a.examples, model, "--summary"]
                           + ([] if model == "vgg16" else ["--save-onnx", path]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if model != "vgg16":
            saved.append(path)
        out = r.stdout.decode()
        got_total = re.search(r"^Total parameters: (\d+)$", out, re.M)
        got_trainable = re.search(r"^Trainable parameters: (\d+)$", out, re.M)
        ok = (r.returncode == 0 and got_total and got_trainable
              and int(got_total.group(1)) == total
              and int(got_trainable.group(1)) == trainable)
        failed += not ok
        print("%s summary: %s (total %s, trainable %s; published %d, %d)" % (
            model, "ok" if ok else "FAILED", got_total and got_total.group(1),
            got_trainable and got_trainable.group(1), total, trainable))
        if not ok:
            print("  " + out.strip().replace("\n", "\n  ")[-3000:])

    r = subprocess.run(["/usr/bin/python3", "-c", checker] + saved, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    failed += r.returncode != 0
    print("save_onnx files (%d) against onnx.checker: %s\n  %s" % (
        len(saved), "ok" if r.returncode == 0 else "FAILED",
        r.stdout.decode().strip().replace("\n", "\n  ")[-3000:]))

    manifest_path = os.path.join(a.corpus, "manifest.json")
    if not os.path.exists(manifest_path):
        print("dsl twins: SKIPPED: no shared corpus at " + a.corpus)
    else:
        with open(manifest_path) as f:
            manifest = json.load(f)["models"]
        for model, (corpus_name, batch, source, prefix) in TWINS.items():
            entry = manifest[corpus_name]
            folder = os.path.join(a.corpus, corpus_name)
            lib = os.path.join(a.work, model + ".so")
            exported = os.path.join(a.work, model + "_twin.onnx")
            r = subprocess.run([a.examples, model, "--batch", str(batch), "--load",
                                os.path.join(a.corpus, source), "--load-prefix", prefix,
                                "--save-onnx", exported, "-o", lib],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                failed += 1
                print("%s twin: FAILED (build): %s" % (model, r.stdout.decode()[-2000:]))
                continue
            # The same model through its ONNX export and dlc.
            back = os.path.join(a.work, model + "_twin_onnx.so")
            r = subprocess.run([os.path.join(a.bin, "tools", "dlc", "dlc"), exported, "-o", back],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                failed += 1
                print("%s twin's ONNX export: FAILED (dlc): %s" % (model, r.stdout.decode()[-2000:]))
                continue
            data = os.path.join(folder, "test_data_set_0")
            expects = [os.path.join(data, "output_%d.pb" % j)
                       for j in range(len(entry["outputs"]))]
            for what, library in (("twin", lib), ("twin's ONNX export through dlc", back)):
                # Each output has its own tolerance: checked one at a time.
                for j, out in enumerate(entry["outputs"]):
                    tol = out["tol"]
                    r = subprocess.run([a.dlc_run, library, "--inputs",
                                        os.path.join(data, "input_0.pb"), "--expect", *expects,
                                        "--rtol", str(tol["rtol"]), "--atol", str(tol["atol"])],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    text = r.stdout.decode()
                    line = [l for l in text.splitlines() if l.startswith("output %d " % j)]
                    # 0: all outputs within tolerance, 1: one is not (this
                    # one's line says which); anything else is a failure.
                    ok = r.returncode in (0, 1) and line and line[0].endswith(": ok")
                    failed += not ok
                    print("%s %s of %s, output %d (corpus weights, rtol %g atol %g): %s\n  %s" % (
                        model, what, corpus_name, j, tol["rtol"], tol["atol"],
                        "ok" if ok else "FAILED", line[0] if line and ok else text.strip()))
        # Training steps of C++ twins against PyTorch's: (example, training
        # case, batch, loss, optimizer flag). The flags' optimizers use
        # torch.optim's defaults (Adam betas 0.9, 0.999, eps 1e-8; AdamW also
        # weight decay 0.01), which the cases must have; SGD takes the
        # case's momentum. The conv net's batch norms train with batch
        # statistics and update their running ones (checked as buffers).
        defaults = {"adam": {"betas": [0.9, 0.999], "eps": 1e-08},
                    "adamw": {"betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.01}}
        training = json.load(open(manifest_path))["training"]
        for model, case_name, batch, loss, flag in (
                ("lenet5", "lenet5_b64", 64, "cross-entropy", "--sgd"),
                ("cnn-bn", "cnn_bn_momentum", 4, "cross-entropy", "--sgd"),
                ("lstm", "lstm_adam", 4, "mse", "--adam"),
                ("transformer-encoder-layer", "transformer_adamw", 2, "mse", "--adamw")):
            case = training[case_name]
            params = case.get("optimizer_params") or {}
            kind = flag[2:]
            extra = ["--momentum", repr(params.get("momentum", 0))] if kind == "sgd" else []
            if kind == "sgd" and any(params.get(k) for k in ("nesterov", "weight_decay",
                                                            "dampening")):
                failed += 1
                print("%s training step: FAILED: %s's SGD %s is not plain or momentum SGD" % (
                    model, case_name, params))
                continue
            if any(params.get(k) != v for k, v in defaults.get(kind, {}).items()):
                failed += 1
                print("%s training step: FAILED: %s's optimizer %s is not %s's defaults" % (
                    model, case_name, params, flag))
                continue
            lib = os.path.join(a.work, model + "_step.so")
            r = subprocess.run([a.examples, model, "--batch", str(batch), "--load",
                                os.path.join(a.corpus, case["model_loss"]), "--load-prefix",
                                "net.", "--train", loss, *extra, flag, repr(case["lr"]),
                                "-o", lib],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                failed += 1
                print("%s training step: FAILED (build): %s" % (model, r.stdout.decode()[-2000:]))
                continue
            r = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__),
                                                             "training.py"),
                                "--bin", os.path.join(a.bin, "tools"), "--corpus", a.corpus,
                                "--work", os.path.join(a.work, "training"),
                                "--library", case_name + "=" + lib, "--state-names", "torch",
                                case_name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            failed += r.returncode != 0
            print("%s training step (C++ twin of %s against PyTorch): %s\n  %s" % (
                model, case_name, "ok" if r.returncode == 0 else "FAILED",
                r.stdout.decode().strip().replace("\n", "\n  ")))
    print("dsl_examples: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
