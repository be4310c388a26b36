#!/bin/bash
# Makes the Python that bench/scale.ts (and the other torch twins) run: a venv at $VENV
# (default .venv in the repository) with torch and transformers from this machine's local pip
# mirror, never PyPI. Without the mirror it falls back to Debian's python3-torch (torch 1.13, no
# transformers: the HF columns of bench/scale.ts then read n/a) and says so. Prints the python to
# use last, on a line of its own:
#
#   bash bench/setup-torch.sh                 # → .venv/bin/python
#   VENV=/tmp/x bash bench/setup-torch.sh
#   node --import tsx bench/scale.ts --python "$(bash bench/setup-torch.sh | tail -1)"
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$root/.venv}"
MIRROR="${PIP_INDEX_URL:-file:///opt/pypi/simple}"
mirror_dir="${MIRROR#file://}"

has() { "$1" -c 'import torch, transformers' 2>/dev/null; }

if [ -x "$VENV/bin/python" ] && has "$VENV/bin/python"; then
  echo "setup-torch: $VENV already has torch and transformers" >&2
elif [ -d "$mirror_dir" ]; then
  echo "setup-torch: making $VENV from the local mirror $MIRROR (pip config: $(pip config list 2>/dev/null | tr '\n' ' '))" >&2
  python3 -m venv "$VENV"
  # The index is the local mirror only, so pip never waits on an unreachable PyPI; the machine's
  # pip config adds its other local indexes and find-links (where the torch wheel lies).
  PIP_INDEX_URL="$MIRROR" "$VENV/bin/pip" install --quiet torch transformers safetensors >&2
else
  echo "setup-torch: no local pip mirror at $mirror_dir; falling back to Debian's python3-torch (torch 1.13," >&2
  echo "setup-torch: no transformers): bench/scale.ts's torch columns will read n/a, bench/train.ts still works" >&2
  if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    apt-get install -y python3-torch libopenblas0-openmp >&2
  fi
  echo /usr/bin/python3
  exit 0
fi
"$VENV/bin/python" -c 'import torch, transformers; print("setup-torch: torch", torch.__version__, "transformers", transformers.__version__)' >&2
echo "$VENV/bin/python"
