#!/usr/bin/env python3
"""dlc-bench: time dlc-compiled models, measure what each fusion buys, and
compare with onnxruntime measured in the same run.

  dlc-bench --corpus ../shared/corpus [--models resnet18 cnn_bn ...]
            [--threads 1,2] [--mattr=-avx512f] [--dlc-flag=--winograd=off]
            [--ablation] [--ort] [--repeat N] [--markdown FILE]
  dlc-bench --corpus ../shared/corpus --train [--torch] [--repeat N]
  dlc-bench --dynamic MODEL.onnx --sizes NAME=N1,N2,... [--threads 1,2]

For every model: compile with dlc, time with dlc-run (median/min/p90 over
--repeat runs after warm-up) at each of the --threads counts (default 1), one
table per count, with dlc's GFLOP/s and its share of the machine's FMA peak
(fma-peak.c, compiled for this CPU and run first); the FLOPs are those of
the direct computation, so with Winograd convolutions (fewer multiplications)
they are effective FLOPs. --dlc-flag passes a flag to every compile.
--ablation also compiles with each optimization switched off. --symbolic-dim
NAME:D also compiles each model with dim D of every input made the symbolic
dim NAME (a copy of the model, rewritten through protoc's text format) and
runs it at the model's own size: the cost of one compile for every size. --ort runs ../shared/peers/ort_bench.js (the
onnxruntime-node package installed by ../shared/peers/install-ort.sh) on the
same models in the same run and reports dlc's median relative to it.
--train times training steps instead (dlc --train --loss=... --optimizer=sgd
--momentum=0.9 of mlp_b64, lenet5_b64, cnn_bn, lstm, transformer_block),
and --torch PyTorch 1.13 eager on the same models in the same run
(torch-train-step.py, Debian's python3-torch).
--dynamic times one model whose inputs have the symbolic dim NAME (its
dim_param): compiled once as it is, and once per size with --dim NAME=N, both
run at each size of --sizes in the same run (symbolic over static: the cost
of one compile for every size).
Prints a Markdown table; --markdown also writes it to a file."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

VARIANTS = {
    "default": [],
    "no-fold-bn": ["--no-fold-bn"],
    "no-fuse-bias": ["--no-fuse-bias"],
    "no-fuse-residual": ["--no-fuse-residual"],
    "no-fuse-activation": ["--no-fuse-activation"],
    "no-fusion": ["--no-fold-bn", "--no-fuse-bias", "--no-fuse-residual",
                  "--no-fuse-activation"],
    "no-winograd": ["--winograd=off"],
}


def tool(bin_dir, name):
    for candidate in (os.path.join(bin_dir, name, name), os.path.join(bin_dir, name)):
        if os.path.exists(candidate):
            return candidate
    sys.exit(f"dlc-bench: error: no {name} under {bin_dir}")


def symbolic_copy(model, name, dim, work):
    """A copy of `model` whose graph inputs (not initializers) have dim `dim`
    as dim_param `name`, and the size it had; (None, error) if it has none."""
    proto = ["protoc", "-I/usr/include", "onnx/onnx.proto"]
    with open(model, "rb") as f:
        r = subprocess.run(proto + ["--decode=onnx.ModelProto"], stdin=f,
                           capture_output=True)
    if r.returncode != 0:
        return None, "protoc: " + r.stderr.decode().strip()
    lines = r.stdout.decode().split("\n")
    # Older exports list initializers as inputs too: those stay as they are.
    initializers, block = set(), None
    for line in lines:
        if line.startswith("  ") and line.endswith(" {") and not line.startswith("   "):
            block = line.strip()[:-2]
        elif block == "initializer" and line.startswith("    name: "):
            initializers.add(line.strip()[7:-1])
    out, size, block, input_name, dims = [], None, None, None, 0
    for line in lines:
        if line.startswith("  ") and line.endswith(" {") and not line.startswith("   "):
            block, input_name, dims = line.strip()[:-2], None, 0
        elif block == "input" and line.startswith("    name: "):
            input_name = line.strip()[7:-1]
        elif block == "input" and line.strip().startswith(("dim_value:", "dim_param:")):
            if dims == dim and input_name and input_name not in initializers:
                value = line.strip().split(": ", 1)[1]
                if value.isdigit():
                    size = size or int(value)
                line = line[:len(line) - len(line.lstrip())] + 'dim_param: "%s"' % name
            dims += 1
        out.append(line)
    if size is None:
        return None, "no input has a static dim %d" % dim
    path = os.path.join(work, "symbolic.onnx")
    with open(path, "wb") as f:
        r = subprocess.run(proto + ["--encode=onnx.ModelProto"],
                           input="\n".join(out).encode(), stdout=f, stderr=subprocess.PIPE)
    if r.returncode != 0:
        return None, "protoc: " + r.stderr.decode().strip()
    return (path, size), None


def compile_dlc(dlc, model, flags, lib):
    """None, or {"error": ..., "detail": ...} when `model` does not compile."""
    r = subprocess.run([dlc, model, "-o", lib, *flags], capture_output=True, text=True)
    if r.returncode != 0:
        kind = "unsupported" if "unsupported node" in r.stderr else "compile error"
        return {"error": kind, "detail": r.stderr.strip().splitlines()[-1]}
    return None


def time_dlc(dlc, run, model, flags, repeat, work, threads, run_flags=()):
    """{threads: dlc-run's JSON or {"error": ...}} for one compile of `model`."""
    lib = os.path.join(work, "model.so")
    error = compile_dlc(dlc, model, flags, lib)
    if error:
        return {t: error for t in threads}
    return time_lib(run, lib, repeat, threads, run_flags)


def time_lib(run, lib, repeat, threads, run_flags=()):
    """{threads: dlc-run's JSON or {"error": ...}} for the library `lib`."""
    results = {}
    for t in threads:
        r = subprocess.run([run, lib, "--random", *run_flags, "--repeat", str(repeat),
                            "--json", "--threads", str(t)], capture_output=True, text=True)
        results[t] = ({"error": "run error", "detail": r.stderr.strip()} if r.returncode != 0
                      else json.loads(r.stdout.strip().splitlines()[-1]))
    return results


# Training benchmark: model -> the loss appended to its first output.
TRAIN_MODELS = {"mlp_b64": "cross-entropy", "lenet5_b64": "cross-entropy",
                "cnn_bn": "cross-entropy", "lstm": "mse",
                "transformer_block": "mse"}


def time_dlc_train(dlc, run, model, loss, steps, work):
    lib = os.path.join(work, "step.so")
    r = subprocess.run([dlc, model, "--train", "--loss=" + loss, "--optimizer=sgd",
                        "--momentum=0.9", "--lr=0.01", "-o", lib],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": "compile error", "detail": r.stderr.strip().splitlines()[-1]}
    # One thread, as the PyTorch peer runs.
    r = subprocess.run([run, lib, "--train", "--random", "--steps", str(steps + 3),
                        "--time", "--json", "--threads", "1"], capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": "run error", "detail": r.stderr.strip()}
    return json.loads(r.stdout.strip().splitlines()[-1])


def time_torch_train(here, corpus, models, steps):
    script = os.path.join(here, "torch-train-step.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    r = subprocess.run(["/usr/bin/python3", script, "--corpus", corpus, "--steps", str(steps),
                        *[f"{m}:{TRAIN_MODELS[m]}" for m in models]],
                       capture_output=True, text=True, env=env)
    results = {}
    for line in r.stdout.splitlines():
        entry = json.loads(line)
        results[entry["model"]] = entry
    version = next(iter(results.values()))["torch"] if results else "?"
    note = (f"PyTorch {version} eager (1 thread, SGD momentum 0.9, model in eval mode)"
            if results else "PyTorch not measured: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    return results, note


def train_main(args, here, dlc, run):
    models = args.models or list(TRAIN_MODELS)
    manifest = json.load(open(os.path.join(args.corpus, "manifest.json")))["models"]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for model in models:
            path = os.path.join(args.corpus, manifest[model]["model"])
            results[model] = time_dlc_train(dlc, run, path, TRAIN_MODELS[model],
                                            args.repeat, work)
            print(f"dlc-bench: {model}: train step {results[model].get('median_ms', results[model].get('error'))}",
                  file=sys.stderr)
    torch_results, note = time_torch_train(here, args.corpus, models, args.repeat) \
        if args.torch else ({}, "")
    header = ["model", "loss", "dlc step median ms", "dlc min ms"]
    if args.torch:
        header += ["PyTorch median ms", "dlc / PyTorch"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in models:
        d = results[model]
        row = [model, TRAIN_MODELS[model]]
        row += [f"{d['median_ms']:.3f}", f"{d['min_ms']:.3f}"] if "median_ms" in d else [d["error"], ""]
        if args.torch:
            t = torch_results.get(model)
            row += [f"{t['median_ms']:.3f}", f"{d['median_ms'] / t['median_ms']:.2f}"] \
                if t and "median_ms" in d else ["-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    notes = [f"Training step (forward, loss, backward, SGD momentum 0.9 update): medians over "
             f"{args.repeat} steps after 3 warm-up, 1 thread, random inputs, labels 0."]
    if note:
        notes.append(note + "; ratio < 1 means dlc is faster.")
    text = "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text)
    return 0


def dynamic_main(args, dlc, run, threads):
    name, _, values = args.sizes.partition("=")
    try:
        sizes = [int(v) for v in values.split(",")]
        if not name or not sizes or min(sizes) < 1:
            raise ValueError
    except ValueError:
        sys.exit(f"dlc-bench: error: --sizes takes NAME=N1,N2,..., got '{args.sizes}'")
    flags = ["--mattr=" + args.mattr] if args.mattr else []
    flags += args.dlc_flag
    results = {}
    with tempfile.TemporaryDirectory() as work:
        symbolic_lib = os.path.join(work, "symbolic.so")
        symbolic_error = compile_dlc(dlc, args.dynamic, flags, symbolic_lib)
        for size in sizes:
            dim = ["--dim", f"{name}={size}"]
            results[size] = {
                "static": time_dlc(dlc, run, args.dynamic, flags + dim, args.repeat, work,
                                   threads, dim),
                "symbolic": ({t: symbolic_error for t in threads} if symbolic_error else
                             time_lib(run, symbolic_lib, args.repeat, threads, dim)),
            }
            print(f"dlc-bench: {name}={size}: " + "; ".join(
                f"{t} thread(s): " + ", ".join(
                    f"{v} {r[t]['median_ms']:.4f} ms" if "median_ms" in r[t]
                    else f"{v} {r[t]['error']}" for v, r in results[size].items())
                for t in threads), file=sys.stderr)
    lines = []
    for t in threads:
        lines += [f"| {name} | static median ms | static min ms | symbolic median ms | "
                  "symbolic min ms | symbolic / static |", "|---|---|---|---|---|---|"]
        for size in sizes:
            st, sy = results[size]["static"][t], results[size]["symbolic"][t]
            row = [str(size)]
            for r in (st, sy):
                row += ([f"{r['median_ms']:.4f}", f"{r['min_ms']:.4f}"] if "median_ms" in r
                        else [r["error"], ""])
            row.append(f"{sy['median_ms'] / st['median_ms']:.2f}"
                       if "median_ms" in st and "median_ms" in sy else "-")
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", f"{os.path.basename(args.dynamic)}: compiled with --dim {name}=N (static) "
                  f"and as it is ({name} symbolic), dlc-run medians over {args.repeat} runs "
                  f"after warm-up, {t} thread(s), random inputs.", ""]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text)
    return 0


def time_ort(peers, corpus, models, threads):
    script = os.path.join(peers, "ort_bench.js")
    if not shutil.which("node") or not os.path.exists(script):
        return {}, "onnxruntime not measured: node or ../shared/peers/ort_bench.js missing"
    r = subprocess.run(["node", script, corpus, str(threads), *models], capture_output=True,
                       text=True)
    results = {}
    for line in r.stdout.splitlines():
        try:
            entry = json.loads(line)
            results[entry["model"]] = entry
        except (json.JSONDecodeError, KeyError):
            pass
    if not results:
        return {}, "onnxruntime not measured: " + (r.stderr.strip().splitlines() or ["no output"])[-1]
    version = next(iter(results.values())).get("ort", "?")
    return results, (f"onnxruntime {version} (onnxruntime-node, {threads} thread(s), "
                     "graph optimizations on)")


def fma_peak(here, work, mattr=""):
    """(GFLOP/s of one core's fused multiply-adds, vector lanes) measured by
    fma-peak.c compiled for this machine, with `mattr`'s features (LLVM's
    spelling, e.g. -avx512f: the peak of the code dlc generates for it)
    turned on and off, or (None, reason)."""
    source = os.path.join(here, "fma-peak.c")
    compiler = os.environ.get("CC") or shutil.which("clang") or shutil.which("cc")
    if not os.path.exists(source) or not compiler:
        return None, "no fma-peak.c or C compiler"
    exe = os.path.join(work, "fma-peak")
    features = []
    for f in filter(None, mattr.split(",")):
        features.append(("-mno-" if f[0] == "-" else "-m") + f.lstrip("+-"))
    r = subprocess.run([compiler, "-O2", "-march=native", "-ffp-contract=fast"] + features +
                       [source, "-o", exe],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, "fma-peak.c did not compile: " + r.stderr.strip()[-200:]
    out = subprocess.run([exe], capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def table(models, manifest, results, variants, args, threads, ort, peak):
    """Markdown rows for one thread count; `peak` is one core's FMA GFLOP/s."""
    lines = []
    header = ["model", "MFLOP", "dlc median ms", "dlc min ms", "dlc GFLOP/s"]
    if peak:
        header += ["% of peak"]
    if args.ort:
        header += ["ORT median ms", "dlc / ORT"]
    if args.ablation:
        header += [f"{v} (x)" for v in variants if v != "default"]
    if args.symbolic_dim:
        header += ["symbolic median ms", "symbolic / static"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    ratios = []
    for model in models:
        d = results[model]["default"][threads]
        flops = manifest[model].get("flops", 0)
        row = [model, f"{flops / 1e6:.1f}"]
        if "median_ms" in d:
            gflops = flops / d["median_ms"] / 1e6
            row += [f"{d['median_ms']:.4f}", f"{d['min_ms']:.4f}", f"{gflops:.1f}"]
            if peak:
                row += [f"{100 * gflops / (peak * threads):.0f}"]
        else:
            row += [d["error"], "", ""] + ([""] if peak else [])
        if args.ort:
            o = ort.get(model)
            if o and "median_ms" in d:
                ratios.append(d["median_ms"] / o["median_ms"])
                row += [f"{o['median_ms']:.4f}", f"{ratios[-1]:.2f}"]
            else:
                row += ["-", "-"]
        if args.ablation:
            for v in variants:
                if v == "default":
                    continue
                r = results[model][v][threads]
                row.append(f"{r['median_ms'] / d['median_ms']:.2f}"
                           if "median_ms" in r and "median_ms" in d else r.get("error", "-"))
        if args.symbolic_dim:
            s = results[model]["symbolic"][threads]
            row += ([f"{s['median_ms']:.4f}", f"{s['median_ms'] / d['median_ms']:.2f}"]
                    if "median_ms" in s and "median_ms" in d else [s.get("error", "-"), "-"])
        lines.append("| " + " | ".join(row) + " |")
    if ratios:
        geomean = 1.0
        for r in ratios:
            geomean *= r
        geomean **= 1.0 / len(ratios)
        lines.append("")
        lines.append(f"Geometric mean of dlc / ORT over {len(ratios)} models: {geomean:.2f}.")
    return lines


def parse_threads(ap, text):
    try:
        threads = [int(t) for t in text.split(",")]
        if not threads or min(threads) < 1:
            raise ValueError
    except ValueError:
        ap.error(f"--threads takes positive integers separated by commas, got '{text}'")
    return threads


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--bin", default=os.path.dirname(here))
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--mattr", default="",
                    help="target features for every compile, e.g. -avx512f (AVX2 code)")
    ap.add_argument("--dlc-flag", action="append", default=[],
                    help="an extra flag for every compile (repeatable), e.g. --winograd=off")
    ap.add_argument("--threads", default="1",
                    help="comma-separated thread counts, e.g. 1,2 (default 1)")
    ap.add_argument("--ablation", action="store_true")
    ap.add_argument("--ort", action="store_true")
    ap.add_argument("--peers", default=None)
    ap.add_argument("--markdown")
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--symbolic-dim", metavar="NAME:D",
                    help="also time each model with dim D of its inputs symbolic")
    ap.add_argument("--dynamic", metavar="MODEL",
                    help="time MODEL, whose inputs have a symbolic dim, against static compiles")
    ap.add_argument("--sizes", metavar="NAME=N1,N2",
                    help="with --dynamic: the symbolic dim and the sizes to run it at")
    args = ap.parse_args()
    if not args.corpus and not args.dynamic:
        ap.error("give --corpus (or --dynamic MODEL --sizes NAME=N,...)")
    if args.dynamic and not args.sizes:
        ap.error("--dynamic needs --sizes NAME=N1,N2,...")
    symbolic = None
    if args.symbolic_dim:
        name, _, dim = args.symbolic_dim.partition(":")
        if not name or not dim.isdigit():
            ap.error(f"--symbolic-dim takes NAME:D, got '{args.symbolic_dim}'")
        symbolic = (name, int(dim))
    if args.train:
        return train_main(args, here, tool(args.bin, "dlc"), tool(args.bin, "dlc-run"))
    if args.dynamic:
        return dynamic_main(args, tool(args.bin, "dlc"), tool(args.bin, "dlc-run"),
                            parse_threads(ap, args.threads))
    manifest = json.load(open(os.path.join(args.corpus, "manifest.json")))["models"]
    models = args.models or [m for m in manifest if not m.startswith("training")]
    dlc, run = tool(args.bin, "dlc"), tool(args.bin, "dlc-run")
    variants = VARIANTS if args.ablation else {"default": []}
    if args.mattr:
        variants = {v: flags + ["--mattr=" + args.mattr] for v, flags in variants.items()}
    if args.dlc_flag:
        variants = {v: flags + args.dlc_flag for v, flags in variants.items()}
    peers = args.peers or os.path.join(os.path.dirname(os.path.abspath(args.corpus)), "peers")

    threads = parse_threads(ap, args.threads)

    results = {}
    with tempfile.TemporaryDirectory() as work:
        peak, lanes = fma_peak(here, work, args.mattr)
        print(f"dlc-bench: FMA peak {peak} GFLOP/s per core" if peak else
              f"dlc-bench: FMA peak not measured: {lanes}", file=sys.stderr)
        for model in models:
            path = os.path.join(args.corpus, manifest[model]["model"])
            results[model] = {v: time_dlc(dlc, run, path, flags, args.repeat, work, threads)
                              for v, flags in variants.items()}
            if symbolic:
                copy, error = symbolic_copy(path, symbolic[0], symbolic[1], work)
                results[model]["symbolic"] = (
                    {t: {"error": "no symbolic copy", "detail": error} for t in threads}
                    if error else
                    time_dlc(dlc, run, copy[0], variants["default"], args.repeat, work,
                             threads, ["--dim", "%s=%d" % (symbolic[0], copy[1])]))
            print(f"dlc-bench: {model}: " + "; ".join(
                f"{t} thread(s): " + ", ".join(
                    f"{v} {r[t]['median_ms']:.4f} ms" if "median_ms" in r[t] else f"{v} {r[t]['error']}"
                    for v, r in results[model].items())
                for t in threads), file=sys.stderr)
    ort = {t: time_ort(peers, args.corpus, models, t) if args.ort else ({}, "") for t in threads}

    lines = []
    for t in threads:
        lines += table(models, manifest, results, variants, args, t, ort[t][0], peak)
        lines.append("")
        lines.append(f"dlc-run medians over {args.repeat} runs after warm-up, {t} thread(s), "
                     "random inputs" + (f", code for --mattr={args.mattr}" if args.mattr else "") +
                     (f", dlc flags {' '.join(args.dlc_flag)}" if args.dlc_flag else "") + ".")
        if ort[t][1]:
            lines.append(ort[t][1] + "; ratio < 1 means dlc is faster.")
        lines.append("")
    if peak:
        lines.append(f"FMA peak (tools/dlc-bench/fma-peak.c, {lanes}-lane vectors): {peak:.0f} "
                     "GFLOP/s per core; % of peak is dlc's GFLOP/s over the peak times the "
                     "thread count. FLOPs are the direct computation's: Winograd convolutions "
                     "(dlc's default for 3x3 stride-1 ones that gain) do fewer multiplications, "
                     "so their GFLOP/s are effective and can exceed the peak.")
    if symbolic:
        lines.append(f"Symbolic columns: each model compiled once more with dim {symbolic[1]} "
                     f"of its inputs the symbolic dim '{symbolic[0]}', run at the model's own "
                     "size (its median over the static compile's: < 1.2 is the aim).")
    if args.ablation:
        lines.append("Ablation columns: median with that optimization off / default median "
                     "(> 1: the optimization helps).")
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
