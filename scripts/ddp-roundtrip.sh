#!/usr/bin/env bash
# The round trip qkv → PyTorch DDP → qkv, from a checkout with node_modules installed:
#   1. qkv trains a tiny GPT on the bundled Tiny Shakespeare (a few iterations);
#   2. torchrun continues it with DistributedDataParallel on 2 processes (gloo, CPU);
#   3. qkv loads the result and compares its logits with PyTorch's (fails above 1e-4);
#   4. qkv fine-tunes further from it (--init-from), and its first evaluation must start where
#      DDP left off, below where step 1 ended.
#
#   PYTHON=/path/to/venv/bin/python scripts/ddp-roundtrip.sh [work-dir]
# Env: PYTHON (needs torch, transformers, tokenizers; default python3), QKV_ITERS (20), DDP_STEPS
# (20), NPROC (2), BIAS (false: the tiny preset's biasless GPT; true: GPT-2's biases), TOL (1e-4).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/qkv-ddp-XXXXXX")}"
QKV_ITERS="${QKV_ITERS:-20}"
DDP_STEPS="${DDP_STEPS:-20}"
NPROC="${NPROC:-2}"
BIAS="${BIAS:-false}"
TOL="${TOL:-1e-4}"
DATA="$ROOT/data/tinyshakespeare.txt"

qkv() { node --import tsx "$ROOT/cli/entry.ts" "$@"; }
# The last eval's val loss (or the first, with "first") in a qkv run's metrics.jsonl.
val_loss() {
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    const evals = rows.filter((r) => r.type === "eval");
    console.log((process.argv[2] === "first" ? evals[0] : evals.at(-1)).valLoss.toFixed(4));
  ' "$1" "${2:-last}"
}

"$PYTHON" -c "import torch, transformers, tokenizers" 2>/dev/null || {
  echo "ddp-roundtrip: $PYTHON cannot import torch, transformers and tokenizers (set PYTHON)" >&2
  exit 2
}
mkdir -p "$WORK"
cd "$ROOT"
echo "== work dir $WORK"

echo "== 1. qkv trains a tiny GPT ($QKV_ITERS iterations, bias $BIAS)"
qkv train --model gpt --preset tiny --bias "$BIAS" --max-iters "$QKV_ITERS" --eval-interval "$QKV_ITERS" \
  --eval-iters 4 --sample-tokens 0 --overwrite --out-dir "$WORK/qkv"

echo "== 2. torchrun: DDP on $NPROC processes, $DDP_STEPS steps"
OMP_NUM_THREADS=1 "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" \
  scripts/ddp_train.py --model "$WORK/qkv/last" --data "$DATA" --out "$WORK/ddp" --steps "$DDP_STEPS"

echo "== 3. qkv loads the DDP result and compares logits with PyTorch's"
node --import tsx scripts/compare-logits.ts "$WORK/ddp" --tol "$TOL"

echo "== 4. qkv fine-tunes from the DDP folder"
qkv train --model gpt --init-from "$WORK/ddp" --max-iters 5 --eval-interval 5 --eval-iters 4 \
  --sample-tokens 0 --overwrite --out-dir "$WORK/qkv2"
before="$(val_loss "$WORK/qkv/metrics.jsonl")"
after="$(val_loss "$WORK/qkv2/metrics.jsonl" first)"
echo "val loss: qkv step 1 ended at $before; qkv from the DDP folder starts at $after"
node -e 'process.exit(Number(process.argv[2]) < Number(process.argv[1]) ? 0 : 1)' "$before" "$after" || {
  echo "ddp-roundtrip: the fine-tune did not start below step 1's val loss; were the DDP weights loaded?" >&2
  exit 1
}
echo "== round trip OK"
