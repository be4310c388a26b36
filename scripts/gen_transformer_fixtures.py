#!/usr/bin/python3
"""Generate the PyTorch parity fixtures for qkv's attention and transformer modules.

Run with Debian's interpreter (torch 1.13; no F.scaled_dot_product_attention there, but
nn.MultiheadAttention and nn.Transformer with batch_first / norm_first exist):

    /usr/bin/python3 scripts/gen_transformer_fixtures.py

It writes test/fixtures/transformer/parity.json, deterministically (fixed seeds, float32 values
printed with 9 significant digits, which round-trips float32 exactly):

  mha          torch.nn.MultiheadAttention cases: a state dict, inputs, masks, the output and
               the attention weights (averaged or per head)
  transformer  one nn.Transformer state dict (dModel 16, 2 heads, ff 32, 2+2 layers), batch-first
               inputs with a src key padding mask, a tgt key padding mask and the causal tgt mask,
               and the eval-mode outputs for a post-norm/relu and a pre-norm/gelu model; the
               post-norm case also carries input gradients of sum(out * w)

Every forward runs with autograd enabled and parameters requiring grad, which keeps PyTorch
off its inference fast paths (nested tensors would zero the padded positions of the encoder).
"""

import json
import math
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "transformer", "parity.json")


def num(v):
    return float("%.9g" % v)


def enc(t):
    """A tensor as {shape, data}: row-major float32 values (bools as 0/1)."""
    t = t.detach()
    if t.dtype == torch.bool:
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [num(v) for v in t.to(torch.float32).reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def state(module):
    return {k: enc(v) for k, v in module.state_dict().items()}


def perturb(module, scale=0.2):
    """Makes every parameter non-trivial (PyTorch starts biases at 0 and norms at 1)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


def weights_for(shape):
    """The fixed output weighting sin(1.3 i + 0.7) + 0.1 the gradient case uses."""
    n = math.prod(shape)
    return torch.tensor([math.sin(1.3 * i + 0.7) + 0.1 for i in range(n)], dtype=torch.float32).reshape(shape)


def mha_case(name, cfg, L, S, N, self_attn, attn_mask=None, kpm=None, average=True):
    E, H = cfg["embedDim"], cfg["numHeads"]
    kdim = cfg.get("kdim") or E
    vdim = cfg.get("vdim") or E
    m = nn.MultiheadAttention(E, H, bias=cfg["bias"], kdim=kdim, vdim=vdim, batch_first=cfg["batchFirst"])
    perturb(m)
    m.eval()

    def shaped(length, dim):
        return torch.randn(N, length, dim) if cfg["batchFirst"] else torch.randn(length, N, dim)

    query = shaped(L, E)
    if self_attn:
        key = value = query
    else:
        key, value = shaped(S, kdim), shaped(S, vdim)
    out, weights = m(query, key, value, key_padding_mask=kpm, attn_mask=attn_mask, need_weights=True,
                     average_attn_weights=average)
    case = {
        "name": name,
        "config": cfg,
        "selfAttention": self_attn,
        "averageAttnWeights": average,
        "state": state(m),
        "query": enc(query),
        "output": enc(out),
        "weights": enc(weights),
    }
    if not self_attn:
        case["key"] = enc(key)
        case["value"] = enc(value)
    if attn_mask is not None:
        case["attnMask"] = {"dtype": "bool" if attn_mask.dtype == torch.bool else "float", **enc(attn_mask)}
    if kpm is not None:
        case["keyPaddingMask"] = {"dtype": "bool" if kpm.dtype == torch.bool else "float", **enc(kpm)}
    return case


def mha_cases():
    torch.manual_seed(1)
    N, H, L, S = 2, 2, 5, 7
    kpm_self = torch.zeros(N, L, dtype=torch.bool)
    kpm_self[1, 3:] = True
    kpm_cross = torch.zeros(N, S, dtype=torch.bool)
    kpm_cross[0, 6:] = True
    kpm_cross[1, 4:] = True
    # Bool masks are true where attention is NOT allowed; no row is fully masked.
    causal_bool = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    band_bool = torch.zeros(L, S, dtype=torch.bool)
    band_bool[0, 5:] = True
    band_bool[3, :2] = True
    cases = [
        mha_case("self, batch-first, bool causal attnMask + bool keyPaddingMask, averaged",
                 {"embedDim": 16, "numHeads": H, "bias": True, "batchFirst": True},
                 L, L, N, True, attn_mask=causal_bool, kpm=kpm_self),
        mha_case("self, batch-first, float 3-D attnMask, per-head weights",
                 {"embedDim": 16, "numHeads": H, "bias": True, "batchFirst": True},
                 L, L, N, True, attn_mask=torch.randn(N * H, L, L), average=False),
        mha_case("cross, seq-first, bool 2-D attnMask + keyPaddingMask, per-head weights",
                 {"embedDim": 16, "numHeads": H, "bias": True, "batchFirst": False},
                 L, S, N, False, attn_mask=band_bool, kpm=kpm_cross, average=False),
        mha_case("cross, batch-first, kdim 6 / vdim 10 (separate projections), float keyPaddingMask",
                 {"embedDim": 16, "numHeads": 4, "bias": True, "batchFirst": True, "kdim": 6, "vdim": 10},
                 L, S, N, False, kpm=torch.randn(N, S)),
        mha_case("cross, batch-first, no bias, float 2-D attnMask",
                 {"embedDim": 16, "numHeads": H, "bias": False, "batchFirst": True},
                 L, S, N, False, attn_mask=torch.randn(L, S)),
    ]
    return cases


def transformer_fixture():
    torch.manual_seed(2)
    cfg = {"dModel": 16, "nhead": 2, "numEncoderLayers": 2, "numDecoderLayers": 2, "dimFeedforward": 32,
           "dropout": 0.0, "batchFirst": True}
    N, S, T = 2, 7, 5
    base = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=32,
                          dropout=0.0, batch_first=True)
    perturb(base)
    sd = base.state_dict()
    src = torch.randn(N, S, 16)
    tgt = torch.randn(N, T, 16)
    src_kpm = torch.zeros(N, S, dtype=torch.bool)
    src_kpm[1, 5:] = True
    tgt_kpm = torch.zeros(N, T, dtype=torch.bool)
    tgt_kpm[0, 4:] = True
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T)
    w = weights_for((N, T, 16))
    cases = []
    for norm_first, activation in ((False, "relu"), (True, "gelu")):
        m = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=32,
                           dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
        m.load_state_dict(sd)
        m.eval()
        s = src.clone().requires_grad_(True)
        t = tgt.clone().requires_grad_(True)
        out = m(s, t, tgt_mask=tgt_mask, src_key_padding_mask=src_kpm, tgt_key_padding_mask=tgt_kpm,
                memory_key_padding_mask=src_kpm)
        case = {"normFirst": norm_first, "activation": activation, "output": enc(out)}
        if not norm_first:
            (out * w).sum().backward()
            pname = "decoder.layers.0.multihead_attn.in_proj_weight"
            case["grads"] = {"src": enc(s.grad), "tgt": enc(t.grad), pname: enc(dict(m.named_parameters())[pname].grad)}
        cases.append(case)
    return {
        "config": cfg,
        "state": {k: enc(v) for k, v in sd.items()},
        "src": enc(src),
        "tgt": enc(tgt),
        "srcKeyPaddingMask": enc(src_kpm),
        "tgtKeyPaddingMask": enc(tgt_kpm),
        "tgtMask": "generateSquareSubsequentMask(5)",
        "memoryKeyPaddingMask": "srcKeyPaddingMask",
        "gradWeights": "sin(1.3 i + 0.7) + 0.1 over the flattened output",
        "cases": cases,
    }


def main():
    torch.set_grad_enabled(True)
    fixture = {
        "generator": "scripts/gen_transformer_fixtures.py",
        "torch": torch.__version__,
        "mha": mha_cases(),
        "transformer": transformer_fixture(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
