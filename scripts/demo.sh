#!/usr/bin/env bash
# `make demo`: compile an example model to a standalone library, run it, print
# its outputs and time. With the shared corpus beside the checkout, also
# compiles resnet18 and checks it against PyTorch's output.
set -euo pipefail
build=${1:-build}
model=${2:-examples/tiny_cnn.textproto}
tools=$build/tools
out=$build/examples
mkdir -p "$out"

name=$(basename "$model" .textproto)
name=${name%.onnx}
if [[ $model == *.textproto ]]; then
  protoc -I/usr/include --encode=onnx.ModelProto onnx/onnx.proto < "$model" > "$out/$name.onnx"
  onnx=$out/$name.onnx
else
  onnx=$model
fi

echo "== dlc $onnx -o $out/$name.so"
time "$tools/dlc/dlc" "$onnx" -o "$out/$name.so"
echo "== dlc-run $out/$name.so --info"
"$tools/dlc-run/dlc-run" "$out/$name.so" --info
echo "== dlc-run $out/$name.so --random"
"$tools/dlc-run/dlc-run" "$out/$name.so" --random
echo "== dlc-run $out/$name.so --random --repeat 100"
"$tools/dlc-run/dlc-run" "$out/$name.so" --random --repeat 100

corpus=$(dirname "$0")/../../shared/corpus
if [[ -d $corpus/resnet18 ]]; then
  echo "== resnet18 from the shared corpus"
  time "$tools/dlc/dlc" "$corpus/resnet18/model.onnx" -o "$out/resnet18.so"
  "$tools/dlc-run/dlc-run" "$out/resnet18.so" \
    --inputs "$corpus/resnet18/test_data_set_0/input_0.pb" \
    --expect "$corpus/resnet18/test_data_set_0/output_0.pb" --rtol 1e-4 --atol 3e-5
  "$tools/dlc-run/dlc-run" "$out/resnet18.so" --random --repeat 10
else
  echo "(no shared corpus at $corpus: skipping resnet18)"
fi
