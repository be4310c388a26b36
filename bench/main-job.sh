#!/usr/bin/env bash
# The main job side by side with PyTorch, in one run: `qkv train` with its defaults (nanoGPT's
# small character-level Shakespeare GPT, 2000 iterations, val loss on 200 batches) and the same
# model and recipe in PyTorch (bench/torch_gpt.py), at the same thread count.
#   bash bench/main-job.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
out="$(mktemp -d)"
start=$(date +%s.%N)
QKV_NUM_THREADS="$threads" node --import tsx cli/entry.ts train --out-dir "$out/qkv" --backend native --sample-tokens 0 2>&1 |
  grep -E "^(step|done)" || true
end=$(date +%s.%N)
echo "qkv: wall $(echo "$end - $start" | bc) s (training + 9 evaluations of 2×200 batches + checkpoints)"
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  start=$(date +%s.%N)
  /usr/bin/python3 bench/torch_gpt.py train-full --threads "$threads"
  end=$(date +%s.%N)
  echo "torch: wall $(echo "$end - $start" | bc) s (training + 9 evaluations of 2×200 batches)"
else
  echo "torch: n/a (no torch at /usr/bin/python3)"
fi
rm -rf "$out"
