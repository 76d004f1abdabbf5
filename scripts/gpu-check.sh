#!/usr/bin/env bash
# The device check of the CUDA target (docs/gpu.md): every corpus model
# compiled with --target=cuda, run on the GPU against its PyTorch references
# (the manifest's tolerances), and timed next to PyTorch eager on the same GPU.
#
# Two steps, because the GPU machine builds nothing and has none of dlc's
# packages:
#   here:  scripts/gpu-check.sh prepare BUNDLE [MODEL...]
#          compiles the libraries and gathers what the run needs into BUNDLE
#          (a folder inside the checkout that .git/info/exclude ignores, so
#          that the device tool can carry it): the libraries, dlc-run and its
#          shared libraries, each model's test data and tolerances, and for
#          the PyTorch side the corpus' manifest, inputs and model
#          definitions. BUILD (default build) and CORPUS (default
#          ../shared/corpus) say where dlc and the corpus are.
#   there: scripts/gpu-check.sh run BUNDLE
#          prints one line per model and output, then the timing table.
#          Exits 1 when a model fails its check.
#
# `prepare --emulate` compiles the same kernels for the CPU instead
# (--emulate-gpu-on-host), so that `run` can be tried anywhere: a check of
# this script, not of the GPU.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 2 ] || usage
step=$1
shift

prepare() {
  local flags=(--target=cuda)
  if [ "$1" = --emulate ]; then
    flags+=(--emulate-gpu-on-host)
    shift
  fi
  local bundle=$1
  shift
  local build=${BUILD:-$root/build} corpus=${CORPUS:-$root/../shared/corpus}
  [ -f "$corpus/manifest.json" ] || { echo "gpu-check: no corpus at $corpus" >&2; exit 2; }
  [ -x "$build/tools/dlc/dlc" ] || { echo "gpu-check: no dlc in $build (build it first)" >&2; exit 2; }
  local models=("$@")
  if [ ${#models[@]} -eq 0 ]; then
    mapfile -t models < <(python3 -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1]))["models"]))' "$corpus/manifest.json")
  fi
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/models" "$bundle/torch"
  cp "$build/tools/dlc-run/dlc-run" "$bundle/bin/"
  # dlc-run's libraries but the C library's own (the machine has those).
  ldd "$build/tools/dlc-run/dlc-run" | awk '/=> \// {print $3}' |
    grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$bundle/lib/"; done
  for m in "${models[@]}"; do
    "$build/tools/dlc/dlc" "$corpus/$m/model.onnx" "${flags[@]}" -o "$bundle/models/$m.so"
    mkdir -p "$bundle/models/$m"
    cp "$corpus/$m"/test_data_set_0/*.pb "$bundle/models/$m/"
  done
  # Each output's tolerance, and the PyTorch side's files.
  python3 - "$corpus" "$bundle" "${models[@]}" <<'EOF'
import json, os, shutil, sys
corpus, bundle, models = sys.argv[1], sys.argv[2], sys.argv[3:]
manifest = json.load(open(os.path.join(corpus, "manifest.json")))
for m in models:
    entry = manifest["models"][m]
    with open(os.path.join(bundle, "models", m, "tolerances"), "w") as f:
        for out in entry["outputs"]:
            f.write("%r %r\n" % (out["tol"]["rtol"], out["tol"]["atol"]))
    for t in entry["inputs"] + entry["outputs"]:
        dst = os.path.join(bundle, "torch", t["file"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.join(corpus, t["file"]), dst)
shutil.copy(os.path.join(corpus, "manifest.json"), os.path.join(bundle, "torch"))
shutil.copytree(os.path.join(corpus, "scripts"), os.path.join(bundle, "torch", "scripts"))
EOF
  du -sh "$bundle"
}

run() {
  local bundle
  bundle=$(cd "$1" && pwd)
  export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local dlcrun="$bundle/bin/dlc-run" failed=0
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  : >"$bundle/dlc-times.json"
  for lib in "$bundle"/models/*.so; do
    local m
    m=$(basename "$lib" .so)
    local data="$bundle/models/$m"
    local inputs=("$data"/input_*.pb) expects=("$data"/output_*.pb)
    local j=0 ok=1
    while read -r rtol atol; do
      local line
      line=$("$dlcrun" "$lib" --inputs "${inputs[@]}" --expect "${expects[@]}" \
        --rtol "$rtol" --atol "$atol" 2>&1 | grep -E "^output $j |error" | head -1) || true
      echo "$m: ${line:-no output}"
      case $line in *": ok") ;; *) ok=0 ;; esac
      j=$((j + 1))
    done <"$data/tolerances"
    [ $ok = 1 ] || failed=1
    "$dlcrun" "$lib" --random --repeat 100 --json >>"$bundle/dlc-times.json" 2>/dev/null ||
      echo "{\"model\": \"$m.so\", \"error\": \"timing failed\"}" >>"$bundle/dlc-times.json"
  done
  # PyTorch eager on the same GPU, same inputs.
  local torch_ok=1
  python3 - "$bundle" 2>"$bundle/torch.log" <<'EOF' || torch_ok=0
import json, os, sys, time
import numpy as np
import torch
bundle = sys.argv[1]
assert torch.cuda.is_available()
sys.path.insert(0, os.path.join(bundle, "torch", "scripts"))
import models
manifest = json.load(open(os.path.join(bundle, "torch", "manifest.json")))
dlc = {}
for line in open(os.path.join(bundle, "dlc-times.json")):
    rec = json.loads(line)
    dlc[os.path.basename(rec["model"])[:-3]] = rec
print("\n| model | dlc median ms | torch eager median ms | dlc / torch |\n|---|---:|---:|---:|")
for name in sorted(dlc):
    entry = manifest["models"][name]
    model, *_ = models.build(name, seed=manifest.get("seed", 0))
    model = model.eval().cuda()
    inputs = [torch.from_numpy(np.fromfile(os.path.join(bundle, "torch", i["file"]), np.float32)
                               .reshape(i["shape"])).cuda() for i in entry["inputs"]]
    with torch.inference_mode():
        for _ in range(10):
            model(*inputs)
        torch.cuda.synchronize()
        times = []
        for _ in range(100):
            start = time.perf_counter()
            model(*inputs)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    ours = dlc[name].get("median_ms")
    theirs = times[len(times) // 2]
    print("| %s | %s | %.4f | %s |" % (name, "%.4f" % ours if ours else "-", theirs,
                                       "%.2f" % (ours / theirs) if ours else "-"))
EOF
  [ $torch_ok = 1 ] || echo "(no PyTorch timing: $(tail -1 "$bundle/torch.log"))"
  return $failed
}

case $step in
prepare) prepare "$@" ;;
run) run "$1" ;;
*) usage ;;
esac
