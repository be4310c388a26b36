"""Golden attention probabilities for GPT.forward's `outputAttentions`, from Hugging Face.

Loads the tiny GPT-2 fixture (test/fixtures/hf/gpt2-tiny, written by gen_hf_fixtures.py) with
transformers' GPT2LMHeadModel, eager attention, in eval mode, and records
`output_attentions=True` for its inputs: one (B, n_head, T, T) tensor per layer, the softmax
of the causally masked, 1/sqrt(head_dim)-scaled scores. Also a second call that feeds the last
three tokens after a cached prefix, whose (B, n_head, 3, T) rows attend over the cache.

    /work/venv/bin/python scripts/gen_attention_fixtures.py
"""

import json
import os

import torch
import transformers
from transformers import GPT2LMHeadModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "hf")


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    src = os.path.join(ROOT, "gpt2-tiny")
    ref = json.load(open(os.path.join(ROOT, "gpt2-tiny.json")))
    model = GPT2LMHeadModel.from_pretrained(src, attn_implementation="eager").eval()
    ids = torch.tensor(ref["input_ids"], dtype=torch.long)
    with torch.no_grad():
        full = model(ids, output_attentions=True)
        T = ids.shape[1]
        prefix = model(ids[:, : T - 3], use_cache=True)
        tail = model(ids[:, T - 3 :], past_key_values=prefix.past_key_values, output_attentions=True)
    out = {
        "generator": "scripts/gen_attention_fixtures.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "model": "gpt2-tiny",
        "input_ids": ref["input_ids"],
        "logits": enc(full.logits),
        "attentions": [enc(a) for a in full.attentions],
        "cached_prefix": T - 3,
        "cached_attentions": [enc(a) for a in tail.attentions],
    }
    with open(os.path.join(ROOT, "gpt2-tiny-attentions.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
