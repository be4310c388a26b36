#!/work/venv/bin/python
"""Fine-tunes a BART folder in qkv (scripts/bart-finetune.ts), then opens the saved folder with
transformers and checks: no missing or unexpected keys, logits and label loss equal to qkv's, and
generate() (greedy; beam search with 2 returned sequences) giving qkv's tokens.

    /work/venv/bin/python scripts/check_bart_reload.py [bart folder] [steps]
"""
import json, os, subprocess, sys, tempfile

import torch
from transformers import BartForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "test", "fixtures", "bart", "tiny")
steps = sys.argv[2] if len(sys.argv) > 2 else "20"
out = tempfile.mkdtemp(prefix="qkv-bart-ft-")
res = subprocess.run(
    ["node", "--import", "tsx", os.path.join(HERE, "bart-finetune.ts"), src, out, steps],
    check=True, capture_output=True, text=True, cwd=os.path.join(HERE, ".."),
)
q = json.loads(res.stdout)
model, info = BartForConditionalGeneration.from_pretrained(out, output_loading_info=True)
model.eval()
bad = {k: v for k, v in info.items() if v and k != "mismatched_keys" or (k == "mismatched_keys" and v)}
ids = torch.tensor(q["input_ids"])
mask = torch.tensor(q["attention_mask"])
labels = torch.tensor(q["labels"])
with torch.no_grad():
    o = model(input_ids=ids, attention_mask=mask, labels=labels)
    greedy = model.generate(input_ids=ids, attention_mask=mask, num_beams=1, max_length=12).tolist()
    beam = model.generate(input_ids=ids, attention_mask=mask, num_beams=3, max_length=12, num_return_sequences=2).tolist()
diff = (o.logits.flatten() - torch.tensor(q["logits"])).abs().max().item()
print(f"loading info problems: {bad or 'none'}")
print(f"qkv losses over {steps} AdamW steps: {q['losses'][0]:.4f} -> {q['losses'][-1]:.4f}; after: {q['loss']:.4f}")
print(f"HF loss on the reloaded folder: {o.loss.item():.4f} (|diff| {abs(o.loss.item() - q['loss']):.2e})")
print(f"max |logits HF - qkv| on the reloaded folder: {diff:.2e}")
print(f"greedy tokens identical: {greedy == q['greedy']}; beam tokens identical: {beam == q['beam']}")
ok = not bad and diff < 1e-4 and greedy == q["greedy"] and beam == q["beam"]
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
