#!/usr/bin/env python3
"""Generate test/fixtures/hf/gpt2-tiny-sharded: the gpt2-tiny fixture as Hugging Face
transformers' save_pretrained writes it with a small max_shard_size, so qkv's sharded reader is
checked against HF's own files (model-0000i-of-0000N.safetensors + model.safetensors.index.json)
and qkv's sharded writer against HF's split and index. Run: /work/venv/bin/python scripts/gen_sharded_fixture.py
"""
import json
import pathlib

import torch
import transformers
from transformers import GPT2LMHeadModel

root = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "hf"
src = root / "gpt2-tiny"
out = root / "gpt2-tiny-sharded"
MAX_SHARD_SIZE = "6KB"

model = GPT2LMHeadModel.from_pretrained(src, torch_dtype=torch.float32)
for p in out.glob("*"):
    p.unlink()
model.save_pretrained(out, max_shard_size=MAX_SHARD_SIZE, safe_serialization=True)
(out / "versions.json").write_text(
    json.dumps(
        {"torch": torch.__version__, "transformers": transformers.__version__, "max_shard_size": MAX_SHARD_SIZE},
        indent=2,
    )
    + "\n"
)
print(sorted(p.name for p in out.iterdir()))
