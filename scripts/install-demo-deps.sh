#!/usr/bin/env bash
# Installs, with apt, what `make train-demo` needs beyond scripts/install-deps.sh: Debian's python3
# with onnx and numpy (writes the model, checks the export), the Fashion-MNIST data set and zlib
# (the trainer reads the .gz files). Idempotent, like install-deps.sh.
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" python3 python3-onnx python3-numpy dataset-fashion-mnist \
  zlib1g-dev
