#!/usr/bin/env bash
# qkv's `--task classify` against transformers' Trainer, fine-tuning the same qkv-pretrained BERT
# folder on the same data (data/classify) with the same settings, over several seeds.
#
#   PYTHON=/path/to/venv/python SEEDS="0 1 2" bash scripts/compare-classify.sh [OUT]
#
# qkv first pretrains a small BERT by masked-LM on the training texts (as test/learning does), or
# reuses PRE=<folder>. Per seed, qkv fine-tunes (600 iterations, batch 32, lr 5e-4, 50 warmup,
# cosine to 1e-4, AdamW β2 0.99, weight decay 0.01, clip 1) and Trainer does the same from the same
# folder. It prints a table of test accuracy and macro-F1 and writes OUT/summary.json. Needs torch,
# transformers, tokenizers and accelerate (bench/setup-torch.sh, plus accelerate).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SEEDS=${SEEDS:-"0 1 2"}
OUT=${1:-/tmp/qkv-compare-classify}
TRAIN=data/classify/train.tsv
TEST=data/classify/test.tsv
mkdir -p "$OUT"
qkv() { node --import tsx cli/entry.ts "$@"; }

PRE=${PRE:-}
if [ -z "$PRE" ]; then
  cut -f1 "$TRAIN" > "$OUT/texts.txt"
  qkv train --model bert --data "$OUT/texts.txt" --n-layer 2 --n-head 4 --n-embd 64 --block-size 80 \
    --batch-size 32 --max-iters 800 --lr-decay-iters 800 --eval-interval 400 --eval-iters 10 \
    --out-dir "$OUT/pre" --overwrite --quiet >&2
  PRE="$OUT/pre/last"
fi

rows=()
for s in $SEEDS; do
  q=$(qkv train --model bert --task classify --init-from "$PRE" --data "$TRAIN" --val-data "$TEST" \
    --batch-size 32 --max-iters 600 --lr-decay-iters 600 --warmup-iters 50 --lr 5e-4 --min-lr 1e-4 \
    --beta2 0.99 --weight-decay 0.01 --grad-clip 1 --eval-interval 600 --eval-iters 4 --seed "$s" \
    --out-dir "$OUT/qkv-$s" --overwrite --quiet)
  qline=$(grep -E "validation accuracy: " <<<"$q" | tail -1)
  qacc=$(sed -E 's/.*validation accuracy: ([0-9.]+)%.*/\1/' <<<"$qline")
  qf1=$(sed -E 's/.*macro-F1: ([0-9.]+).*/\1/' <<<"$qline")
  base=$(sed -E 's/.*baseline: ([0-9.]+)%.*/\1/' <<<"$qline")
  "$PY" scripts/hf_trainer_classify.py --trainer hf --model "$PRE" --train "$TRAIN" --test "$TEST" \
    --max-steps 600 --warmup-steps 50 --lr 5e-4 --min-lr 1e-4 --adam-beta2 0.99 --weight-decay 0.01 \
    --max-grad-norm 1 --batch-size 32 --max-length 80 --seed "$s" > "$OUT/hf-$s.json"
  hacc=$("$PY" -c "import json,sys; print(round(100*json.load(open(sys.argv[1]))['accuracy'], 2))" "$OUT/hf-$s.json")
  hf1=$("$PY" -c "import json,sys; print(round(json.load(open(sys.argv[1]))['macro_f1'], 4))" "$OUT/hf-$s.json")
  hsteps=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['steps'])" "$OUT/hf-$s.json")
  rows+=("$s $qacc $qf1 $hacc $hf1 $base $hsteps")
  echo "seed $s: qkv $qacc% / $qf1, HF Trainer $hacc% / $hf1 ($hsteps steps), majority $base%" >&2
done

printf '%s\n' "${rows[@]}" | "$PY" -c '
import json, sys
rows = [l.split() for l in sys.stdin if l.strip()]
print("| seed | qkv accuracy | qkv macro-F1 | HF Trainer accuracy | HF Trainer macro-F1 |")
print("|---|---|---|---|---|")
for s, qa, qf, ha, hf, base, steps in rows:
    print(f"| {s} | {qa}% | {qf} | {ha}% | {hf} |")
mean = lambda k: sum(float(r[k]) for r in rows) / len(rows)
print(f"| mean | {mean(1):.1f}% | {mean(2):.3f} | {mean(3):.1f}% | {mean(4):.3f} |")
print(f"majority-class baseline: {rows[0][5]}%")
summary = {"seeds": [int(r[0]) for r in rows], "qkv_accuracy": [float(r[1]) for r in rows],
           "qkv_macro_f1": [float(r[2]) for r in rows], "hf_accuracy": [float(r[3]) for r in rows],
           "hf_macro_f1": [float(r[4]) for r in rows], "majority_accuracy": float(rows[0][5]),
           "hf_mean_accuracy": mean(3), "qkv_mean_accuracy": mean(1)}
json.dump(summary, open(sys.argv[1], "w"), indent=2)
' "$OUT/summary.json"
