#!/usr/bin/env bash
# Installs, with apt, exactly the Debian packages dlc needs that are missing. Idempotent: a second
# run installs nothing and takes well under a second. With arguments, installs those packages
# instead (scripts/install-demo-deps.sh uses it for what `make train-demo` needs).
set -euo pipefail

if [ $# -gt 0 ]; then
  packages=("$@")
else
packages=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libclang-rt-22-dev
  cmake ninja-build ccache
  libprotobuf-dev protobuf-compiler
  flatbuffers-compiler libflatbuffers-dev
  libgtest-dev libonnx-dev libonnx-testdata
  openmpi-bin libopenmpi-dev
  python3-onnx
)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
