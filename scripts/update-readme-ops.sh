#!/usr/bin/env bash
# Regenerates the supported-op table of README.md from the importer's own
# table (`dlc --list-ops`). test/tools/dlc/readme-ops.test fails when stale.
set -euo pipefail
dlc=${1:-build/tools/dlc/dlc}
readme=$(dirname "$0")/../README.md
table=$("$dlc" --list-ops)
python3 - "$readme" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- BEGIN SUPPORTED OPS (scripts/update-readme-ops.sh) -->", "<!-- END SUPPORTED OPS -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + "\n" + table.rstrip("\n") + "\n" + end + tail)
PY
