#!/usr/bin/env python3
"""Cross-checks qkv's HF fixtures, and folders qkv saves, with the real Hugging Face transformers.

scripts/gen_hf_fixtures.py builds the fixtures with Debian's torch 1.13 and an independent
reimplementation of HF's GPT-2/BERT math (HF transformers is not a Debian package). This script
opens the same folders with transformers itself and compares its outputs with the stored ones,
so the fixtures, and the layout qkv writes, are confirmed by HF's own loader.

It needs transformers + torch, which are not Debian packages; on this machine they install
offline from the local wheel mirror:

  python3 -m venv /tmp/hfv
  /tmp/hfv/bin/pip install --no-index --find-links /opt/pypi/files torch transformers safetensors
  /tmp/hfv/bin/python scripts/check_hf_fixtures.py [extra HF folders saved by qkv ...]

For an extra folder it only checks that HF loads it without missing or unexpected keys and
prints its logits' shape.
"""
import json, os, subprocess, sys

import torch
import transformers
from transformers import AutoConfig, BertForMaskedLM, BertModel, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "test", "fixtures", "hf")
CLASSES = {"GPT2LMHeadModel": GPT2LMHeadModel, "BertForMaskedLM": BertForMaskedLM, "BertModel": BertModel}


def load(cls, folder):
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    # Legacy GPT-2 checkpoints carry the causal-mask buffers; HF ignores them, and so do we.
    legacy = lambda k: k.endswith(("attn.masked_bias", "attn.bias"))
    info["unexpected_keys"] = {k for k in info.get("unexpected_keys", []) if not legacy(k)}
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    model.eval()
    return model, bad


def tensor_of(d):
    return torch.tensor(d["data"], dtype=torch.float32).reshape(d["shape"])


def check_fixture(name):
    spec = json.load(open(os.path.join(FIX, f"{name}.json")))
    model, bad = load(CLASSES[spec["model_class"]], os.path.join(FIX, name))
    ids = torch.tensor(spec["input_ids"])
    kwargs = {"output_hidden_states": True}
    for k in ("token_type_ids", "attention_mask"):
        if k in spec:
            kwargs[k] = torch.tensor(spec[k])
    with torch.no_grad():
        out = model(ids, **kwargs)
    diffs = {}
    if "logits" in spec:
        diffs["logits"] = (out.logits - tensor_of(spec["logits"])).abs().max().item()
    if "last_hidden_state" in spec:
        diffs["last_hidden_state"] = (out.last_hidden_state - tensor_of(spec["last_hidden_state"])).abs().max().item()
    if "pooler_output" in spec:
        diffs["pooler_output"] = (out.pooler_output - tensor_of(spec["pooler_output"])).abs().max().item()
    # The fixture's hidden states compared where HF defines them the same way.
    hs = spec["hidden_states"]
    diffs["hidden_states"] = max((h - tensor_of(r)).abs().max().item() for h, r in zip(out.hidden_states[: len(hs)], hs))
    ok = not bad and all(v < 1e-4 for k, v in diffs.items() if k != "hidden_states")
    print(f"{name}: {'ok' if ok else 'MISMATCH'} {json.dumps({k: float(f'{v:.3g}') for k, v in diffs.items()})} {bad or ''}")
    return ok


def check_folder(folder):
    cfg = AutoConfig.from_pretrained(folder)
    cls = CLASSES.get((cfg.architectures or [""])[0], GPT2LMHeadModel)
    model, bad = load(cls, folder)
    ids = torch.arange(min(8, cfg.vocab_size)).unsqueeze(0)
    with torch.no_grad():
        out = model(ids)
    logits = out.logits if hasattr(out, "logits") else out.last_hidden_state
    # The same ids through qkv, for the same folder.
    r = subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "qkv-logits.ts"), folder, json.dumps(ids[0].tolist())],
                       capture_output=True, text=True, cwd=os.path.join(HERE, ".."))
    diff = float("nan")
    if r.returncode == 0:
        diff = (logits - tensor_of(json.loads(r.stdout))).abs().max().item()
    ok = not bad and diff < 1e-4
    print(f"{folder}: loaded as {cls.__name__}, output {tuple(logits.shape)}, max |HF - qkv| {diff:.3g}, {'ok' if ok else (bad or r.stderr[-300:])}")
    return ok


if __name__ == "__main__":
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    results = [check_fixture(n) for n in ("gpt2-tiny", "gpt2-tiny-noprefix", "bert-tiny", "bert-tiny-legacy")]
    results += [check_folder(f) for f in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
