#!/usr/bin/python3
"""Generate Hugging Face-format checkpoint fixtures for qkv's GPT and BERT loaders.

HF transformers cannot be installed here (no PyPI; Debian ships only torch 1.13), so this
script carries an independent PyTorch reference of the forward math of HF's GPT2LMHeadModel
and BertModel / BertForMaskedLM, written from the architecture as HF documents it:

  GPT-2   token + learned position embeddings; per block (pre-norm):
          x += c_proj(attn(ln_1(x))), x += c_proj(gelu_new(c_fc(ln_2(x)))), where every
          projection is HF's Conv1D (y = x @ W + b with W stored as (in, out)), attention is
          softmax(q k^T / sqrt(head_dim)) with future positions replaced by finfo(float32).min,
          gelu_new(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); then ln_f and logits
          against the tied token embedding. hidden_states = the input of every block, then
          ln_f's output (HF's convention).
  BERT    LayerNorm(word + position + token_type embeddings); per layer (post-norm):
          a = LayerNorm(dense(self_attention(x)) + x), x = LayerNorm(dense(gelu(dense(a))) + a),
          with the exact (erf) GELU and an extended attention mask (1 - mask) * finfo.min added
          to the scores; pooler = tanh(dense(x[:, 0])); MLM head = LayerNorm(gelu(dense(x)))
          @ word_embeddings^T + bias. hidden_states = embeddings output, then every layer's.

Each tiny random model is written as a folder laid out as HF's save_pretrained writes it:
config.json (HF field names with HF's defaults, keys sorted, 2-space indent) and
model.safetensors (written by the small spec-following writer below, with the
{"format": "pt"} metadata HF requires), keys named as HF names them. Next to each folder,
NAME.json holds the inputs and the float32 reference outputs.

  gpt2-tiny            GPT2LMHeadModel as saved today: transformer.* keys, tied lm_head omitted
  gpt2-tiny-noprefix   the older GPT2Model layout of the hub's gpt2: no transformer. prefix,
                       plus the h.N.attn.bias / h.N.attn.masked_bias buffers; config has n_ctx
  bert-tiny            BertForMaskedLM: bert.* and cls.predictions.* keys (no pooler, tied
                       decoder omitted)
  bert-tiny-legacy     BertModel with a pooler, unprefixed keys, TF-era LayerNorm.gamma/beta
                       names and the int64 embeddings.position_ids buffer

Run with Debian's interpreter; output is deterministic:

    /usr/bin/python3 scripts/gen_hf_fixtures.py
"""

import json
import math
import os
import struct

import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "hf")
NEG = torch.finfo(torch.float32).min


# ---------------------------------------------------------------- safetensors writer


def write_safetensors(path, tensors, metadata):
    """Spec-following writer: u64 LE header size, JSON header (sorted keys, space-padded to a
    multiple of 8), then the raw little-endian data in header order."""
    tags = {torch.float32: "F32", torch.int64: "I64"}
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": tags[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def write_folder(name, config, tensors):
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})


def dump(t):
    """A float32 tensor as {shape, data}; repr of the float64 value round-trips float32 exactly."""
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def write_expected(name, payload):
    payload = {"generator": "scripts/gen_hf_fixtures.py", "torch_version": torch.__version__, **payload}
    with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
        f.write(json.dumps(payload, indent=1) + "\n")


# ---------------------------------------------------------------- random weights


def rand(g, *shape, std=0.3, mean=0.0):
    return (torch.randn(*shape, generator=g) * std + mean).to(torch.float32)


def gpt2_weights(g, V, P, C, L):
    """GPT2Model weights under HF's names (without the transformer. prefix)."""
    w = {"wte.weight": rand(g, V, C), "wpe.weight": rand(g, P, C)}
    for i in range(L):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = rand(g, C, std=0.1, mean=1.0)
        w[p + "ln_1.bias"] = rand(g, C, std=0.1)
        w[p + "attn.c_attn.weight"] = rand(g, C, 3 * C)  # Conv1D: (in, out)
        w[p + "attn.c_attn.bias"] = rand(g, 3 * C, std=0.1)
        w[p + "attn.c_proj.weight"] = rand(g, C, C)
        w[p + "attn.c_proj.bias"] = rand(g, C, std=0.1)
        w[p + "ln_2.weight"] = rand(g, C, std=0.1, mean=1.0)
        w[p + "ln_2.bias"] = rand(g, C, std=0.1)
        w[p + "mlp.c_fc.weight"] = rand(g, C, 4 * C)
        w[p + "mlp.c_fc.bias"] = rand(g, 4 * C, std=0.1)
        w[p + "mlp.c_proj.weight"] = rand(g, 4 * C, C, std=0.15)
        w[p + "mlp.c_proj.bias"] = rand(g, C, std=0.1)
    w["ln_f.weight"] = rand(g, C, std=0.1, mean=1.0)
    w["ln_f.bias"] = rand(g, C, std=0.1)
    return w


def bert_weights(g, V, P, TV, H, I, L, pooler):
    """BertModel weights under HF's names (without the bert. prefix)."""
    w = {
        "embeddings.word_embeddings.weight": rand(g, V, H),
        "embeddings.position_embeddings.weight": rand(g, P, H),
        "embeddings.token_type_embeddings.weight": rand(g, TV, H),
        "embeddings.LayerNorm.weight": rand(g, H, std=0.1, mean=1.0),
        "embeddings.LayerNorm.bias": rand(g, H, std=0.1),
    }
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            w[p + f"attention.self.{n}.weight"] = rand(g, H, H)  # nn.Linear: (out, in)
            w[p + f"attention.self.{n}.bias"] = rand(g, H, std=0.1)
        w[p + "attention.output.dense.weight"] = rand(g, H, H)
        w[p + "attention.output.dense.bias"] = rand(g, H, std=0.1)
        w[p + "attention.output.LayerNorm.weight"] = rand(g, H, std=0.1, mean=1.0)
        w[p + "attention.output.LayerNorm.bias"] = rand(g, H, std=0.1)
        w[p + "intermediate.dense.weight"] = rand(g, I, H)
        w[p + "intermediate.dense.bias"] = rand(g, I, std=0.1)
        w[p + "output.dense.weight"] = rand(g, H, I, std=0.2)
        w[p + "output.dense.bias"] = rand(g, H, std=0.1)
        w[p + "output.LayerNorm.weight"] = rand(g, H, std=0.1, mean=1.0)
        w[p + "output.LayerNorm.bias"] = rand(g, H, std=0.1)
    if pooler:
        w["pooler.dense.weight"] = rand(g, H, H)
        w["pooler.dense.bias"] = rand(g, H, std=0.1)
    return w


# ---------------------------------------------------------------- reference forward passes


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, w, b):
    return b + x @ w  # HF Conv1D: weight (in, out)


def heads(x, nh):
    B, T, C = x.shape
    return x.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)


def merge(x):
    B, nh, T, hs = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hs)


def gpt2_forward(w, ids, nh, eps):
    B, T = ids.shape
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    hidden = []
    L = len({k.split(".")[1] for k in w if k.startswith("h.")})
    for i in range(L):
        p = f"h.{i}."
        hidden.append(x)
        a = F.layer_norm(x, x.shape[-1:], w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = conv1d(a, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"]).split(x.shape[-1], dim=2)
        q, k, v = heads(q, nh), heads(k, nh), heads(v, nh)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        s = torch.where(causal, s, torch.tensor(NEG, dtype=s.dtype))
        y = merge(torch.softmax(s, dim=-1) @ v)
        x = x + conv1d(y, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])
        m = F.layer_norm(x, x.shape[-1:], w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = conv1d(gelu_new(conv1d(m, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"])), w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        x = x + m
    x = F.layer_norm(x, x.shape[-1:], w["ln_f.weight"], w["ln_f.bias"], eps)
    hidden.append(x)
    return x @ w["wte.weight"].t(), hidden


def bert_forward(w, ids, types, mask, nh, eps, L):
    B, T = ids.shape
    ln = lambda x, n: F.layer_norm(x, x.shape[-1:], w[n + ".weight"], w[n + ".bias"], eps)  # noqa: E731
    lin = lambda x, n: F.linear(x, w[n + ".weight"], w[n + ".bias"])  # noqa: E731
    e = "embeddings."
    x = w[e + "word_embeddings.weight"][ids] + w[e + "token_type_embeddings.weight"][types] + w[e + "position_embeddings.weight"][torch.arange(T)]
    x = ln(x, e + "LayerNorm")
    ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * NEG  # (B, 1, 1, T)
    hidden = [x]
    for i in range(L):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(lin(x, p + f"attention.self.{n}"), nh) for n in ("query", "key", "value"))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + ext
        ctx = merge(torch.softmax(s, dim=-1) @ v)
        a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inter = F.gelu(lin(a, p + "intermediate.dense"))  # exact erf GELU
        x = ln(lin(inter, p + "output.dense") + a, p + "output.LayerNorm")
        hidden.append(x)
    pooled = torch.tanh(lin(x[:, 0], "pooler.dense")) if "pooler.dense.weight" in w else None
    return x, pooled, hidden


# ---------------------------------------------------------------- configs as HF writes them


def gpt2_config(V, P, C, L, nh, extra=None):
    cfg = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": 50256,
        "embd_pdrop": 0.1,
        "eos_token_id": 50256,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_embd": C,
        "n_head": nh,
        "n_inner": None,
        "n_layer": L,
        "n_positions": P,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": V,
    }
    cfg.update(extra or {})
    return cfg


def bert_config(arch, V, P, TV, H, I, L, nh):
    return {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": I,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": P,
        "model_type": "bert",
        "num_attention_heads": nh,
        "num_hidden_layers": L,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": TV,
        "use_cache": True,
        "vocab_size": V,
    }


# ---------------------------------------------------------------- fixtures


def make_gpt2(name, seed, prefixed):
    V, P, C, L, nh = 50, 16, 16, 2, 2
    g = torch.Generator().manual_seed(seed)
    w = gpt2_weights(g, V, P, C, L)
    ids = torch.randint(0, V, (2, 8), generator=g)
    with torch.no_grad():
        logits, hidden = gpt2_forward(w, ids, nh, 1e-5)
        # nanoGPT-style targets: the next token, -1 (ignored) at the last position. This equals
        # HF's GPT2LMHeadModel loss with labels = input_ids (it shifts internally).
        targets = torch.cat([ids[:, 1:], torch.full((2, 1), -1, dtype=ids.dtype)], dim=1)
        loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    if prefixed:
        saved = {"transformer." + k: v for k, v in w.items()}
        config = gpt2_config(V, P, C, L, nh)
    else:
        saved = dict(w)
        for i in range(L):  # the causal-mask buffers old checkpoints carry
            saved[f"h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
            saved[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
        config = gpt2_config(V, P, C, L, nh, {"n_ctx": P})
    write_folder(name, config, saved)
    write_expected(name, {
        "model_class": "GPT2LMHeadModel",
        "input_ids": ids.tolist(),
        "targets": targets.tolist(),
        "loss": float(loss),
        "logits": dump(logits),
        "hidden_states": [dump(h) for h in hidden],
    })


def make_bert_mlm(name, seed):
    V, P, TV, H, I, L, nh = 50, 16, 2, 16, 32, 2, 2
    g = torch.Generator().manual_seed(seed)
    w = bert_weights(g, V, P, TV, H, I, L, pooler=False)
    head = {
        "cls.predictions.transform.dense.weight": rand(g, H, H),
        "cls.predictions.transform.dense.bias": rand(g, H, std=0.1),
        "cls.predictions.transform.LayerNorm.weight": rand(g, H, std=0.1, mean=1.0),
        "cls.predictions.transform.LayerNorm.bias": rand(g, H, std=0.1),
        "cls.predictions.bias": rand(g, V, std=0.1),
    }
    ids = torch.randint(1, V, (2, 8), generator=g)
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0]])
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    ids[1, 5:] = 0  # padding
    labels = torch.full((2, 8), -100)
    labels[0, 2], labels[0, 6], labels[1, 1], labels[1, 3] = 7, 11, 3, 42
    with torch.no_grad():
        x, _, hidden = bert_forward(w, ids, types, mask, nh, 1e-12, L)
        t = F.linear(x, head["cls.predictions.transform.dense.weight"], head["cls.predictions.transform.dense.bias"])
        t = F.layer_norm(F.gelu(t), (H,), head["cls.predictions.transform.LayerNorm.weight"], head["cls.predictions.transform.LayerNorm.bias"], 1e-12)
        logits = t @ w["embeddings.word_embeddings.weight"].t() + head["cls.predictions.bias"]
        loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
    saved = {"bert." + k: v for k, v in w.items()}
    saved.update(head)
    write_folder(name, bert_config("BertForMaskedLM", V, P, TV, H, I, L, nh), saved)
    write_expected(name, {
        "model_class": "BertForMaskedLM",
        "input_ids": ids.tolist(),
        "token_type_ids": types.tolist(),
        "attention_mask": mask.tolist(),
        "labels": labels.tolist(),
        "loss": float(loss),
        "logits": dump(logits),
        "hidden_states": [dump(h) for h in hidden],
    })


def make_bert_legacy(name, seed):
    V, P, TV, H, I, L, nh = 50, 16, 2, 16, 32, 2, 2
    g = torch.Generator().manual_seed(seed)
    w = bert_weights(g, V, P, TV, H, I, L, pooler=True)
    ids = torch.randint(1, V, (2, 8), generator=g)
    types = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 1]])
    mask = torch.tensor([[1] * 6 + [0] * 2, [1] * 8])
    with torch.no_grad():
        x, pooled, hidden = bert_forward(w, ids, types, mask, nh, 1e-12, L)
    saved = {}
    for k, v in w.items():  # TF-era LayerNorm parameter names
        if ".LayerNorm." in k:
            k = k.replace(".LayerNorm.weight", ".LayerNorm.gamma").replace(".LayerNorm.bias", ".LayerNorm.beta")
        saved[k] = v
    saved["embeddings.position_ids"] = torch.arange(P, dtype=torch.int64).view(1, P)
    write_folder(name, bert_config("BertModel", V, P, TV, H, I, L, nh), saved)
    write_expected(name, {
        "model_class": "BertModel",
        "input_ids": ids.tolist(),
        "token_type_ids": types.tolist(),
        "attention_mask": mask.tolist(),
        "last_hidden_state": dump(x),
        "pooler_output": dump(pooled),
        "hidden_states": [dump(h) for h in hidden],
    })


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    make_gpt2("gpt2-tiny", 1, prefixed=True)
    make_gpt2("gpt2-tiny-noprefix", 2, prefixed=False)
    make_bert_mlm("bert-tiny", 3)
    make_bert_legacy("bert-tiny-legacy", 4)
    print(f"wrote {OUT_DIR} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
