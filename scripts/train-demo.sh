#!/usr/bin/env bash
# `make train-demo`: train LeNet-5 on Fashion-MNIST with a dlc-compiled training step, then check
# the exported ONNX model: compiled for inference by dlc, and run by a numpy reference, it must
# give the training library's logits and test accuracy. Exits non-zero when the accuracy is under
# 84% (MIN_ACCURACY).
#
# Extra trainer flags can be given in TRAIN_FLAGS (e.g. TRAIN_FLAGS="--seed 1 --normalize").
set -euo pipefail
build=${1:-build}
epochs=${EPOCHS:-2}
min_accuracy=${MIN_ACCURACY:-84}
data=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
read -r -a train_flags <<< "${TRAIN_FLAGS:-}"
python=/usr/bin/python3 # Debian's, with python3-onnx and python3-numpy
root=$(cd "$(dirname "$0")/.." && pwd)
out=$build/examples
dlc=$build/tools/dlc/dlc
trainer=$out/train-fashion-mnist/train-fashion-mnist
start=$(date +%s.%N)

# zlib may have been installed after the build was configured: configure again to pick it up.
configured() { grep -q '^build train-fashion-mnist:' "$build/build.ninja"; }
if ! configured; then
  cmake -S "$root" -B "$build" > /dev/null
fi
if ! configured; then
  echo "train-demo: error: the trainer is not configured (zlib missing? run scripts/install-demo-deps.sh)" >&2
  exit 1
fi
cmake --build "$build" --target dlc train-fashion-mnist
mkdir -p "$out"

echo "== make-lenet5.py $out/lenet5.onnx"
"$python" "$root/scripts/make-lenet5.py" "$out/lenet5.onnx"

echo "== dlc $out/lenet5.onnx --train --loss=cross-entropy --optimizer=adam --lr=1e-3 -o $out/lenet5-train.so"
time "$dlc" "$out/lenet5.onnx" --train --loss=cross-entropy --optimizer=adam --lr=1e-3 \
  -o "$out/lenet5-train.so"

echo "== train-fashion-mnist $out/lenet5-train.so --epochs $epochs --batch 64 --lr 1e-3 ${train_flags[*]}"
"$trainer" "$out/lenet5-train.so" --data "$data" --epochs "$epochs" --batch 64 --lr 1e-3 \
  --export "$out/lenet5-trained.onnx" --logits "$out/lenet5-train.logits" "${train_flags[@]}" \
  | tee "$out/train.log"
trained=$(sed -n 's/^final test accuracy: \(.*\)%$/\1/p' "$out/train.log")

# The exported model on its own: valid ONNX, compiled for inference, evaluated on the whole test
# set (with the trainer's preprocessing), its logits compared with the training library's.
echo "== checking $out/lenet5-trained.onnx"
"$python" - "$out/lenet5-trained.onnx" << 'EOF'
import sys
import onnx
model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
names = [t.name for t in model.graph.initializer]
print(f"onnx.checker: ok; {len(model.graph.node)} nodes, initializers {', '.join(names)}")
EOF
"$dlc" "$out/lenet5-trained.onnx" -o "$out/lenet5-trained.so"
eval_flags=()
for flag in "${train_flags[@]}"; do
  if [[ $flag == --normalize ]]; then eval_flags+=(--normalize); fi
done
"$trainer" --eval "$out/lenet5-trained.so" --data "$data" --logits "$out/lenet5-trained.logits" \
  "${eval_flags[@]}" | tee "$out/eval.log"
exported=$(sed -n 's/^.*: test accuracy \(.*\)% (.*$/\1/p' "$out/eval.log")
if [[ -z $trained || $trained != "$exported" ]]; then
  echo "train-demo: error: test accuracy ${trained:-?}% after training, ${exported:-?}% from the exported model" >&2
  exit 1
fi

"$python" - "$out/lenet5-train.logits" "$out/lenet5-trained.logits" << 'EOF'
import sys
import numpy as np
train, exported = (np.fromfile(f, dtype=np.float32).reshape(-1, 10) for f in sys.argv[1:])
if train.shape != exported.shape or train.size == 0:
    sys.exit(f"logits: {train.shape} from training vs {exported.shape} exported")
diff = np.abs(train - exported).max()
same = np.array_equal(train.argmax(1), exported.argmax(1))
print(f"logits of the first {train.shape[0]} test images: exported vs training library, "
      f"max abs diff {diff:.3g}{', same predictions' if same else ', PREDICTIONS DIFFER'}")
if not np.allclose(exported, train, rtol=1e-4, atol=1e-4) or not same:
    sys.exit("train-demo: error: the exported model does not compute the trained logits")
EOF

# Independently of dlc: numpy runs the exported graph on the whole test set.
"$python" "$root/examples/train-fashion-mnist/numpy-reference.py" "$out/lenet5-trained.onnx" \
  --data "$data" --logits "$out/lenet5-train.logits" --expect-accuracy "${trained:-0}" \
  "${eval_flags[@]}"

elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo
echo "== train-demo: test accuracy $trained% after $epochs epochs (exported model: $exported%), $elapsed s in all"
if ! awk -v a="$trained" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }'; then
  echo "train-demo: error: test accuracy $trained% is under $min_accuracy%" >&2
  exit 1
fi
