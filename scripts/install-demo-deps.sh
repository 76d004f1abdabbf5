#!/usr/bin/env bash
# Installs, with apt, what `make train-demo` needs beyond scripts/install-deps.sh: Debian's python3
# with onnx and numpy (writes the model, checks the export), the Fashion-MNIST data set and zlib
# (the trainer reads the .gz files). Idempotent, like install-deps.sh.
set -euo pipefail

packages=(python3 python3-onnx python3-numpy dataset-fashion-mnist zlib1g-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-demo-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
