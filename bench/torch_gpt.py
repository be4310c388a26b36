#!/usr/bin/python3
"""PyTorch side of qkv's benchmarks: nanoGPT's small character-level Shakespeare GPT.

Run with Debian's torch (/usr/bin/python3, python3-torch + libopenblas0-openmp). Prints one JSON
line per measurement so bench/run.ts can put it beside qkv's figure from the same run.

  train-step  ms per optimizer step (forward, backward, AdamW) at a given thread count
  train-full  the whole 2000-iteration run: final val loss (200 batches) and wall time
  generate    tokens/s at batch 1 with a key/value cache
"""
import argparse, json, math, os, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(s, C, nh, bias):
        super().__init__()
        s.nh = nh
        s.ln_1 = nn.LayerNorm(C, elementwise_affine=True)
        s.c_attn = nn.Linear(C, 3 * C, bias=bias)
        s.c_proj = nn.Linear(C, C, bias=bias)
        s.ln_2 = nn.LayerNorm(C)
        s.c_fc = nn.Linear(C, 4 * C, bias=bias)
        s.mlp_proj = nn.Linear(4 * C, C, bias=bias)
        if not bias:
            s.ln_1.bias = None
            s.ln_2.bias = None

    def attn(s, x, cache=None):
        B, T, C = x.shape
        q, k, v = s.c_attn(x).split(C, dim=2)
        q = q.view(B, T, s.nh, C // s.nh).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, s.nh, C // s.nh).transpose(1, 2)
        v = v.view(B, T, s.nh, C // s.nh).transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return s.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(s, x, cache=None):
        x = x + s.attn(s.ln_1(x), cache)
        return x + s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(s, V, T, L, nh, C, bias=False):
        super().__init__()
        s.wte = nn.Embedding(V, C)
        s.wpe = nn.Embedding(T, C)
        s.h = nn.ModuleList([Block(C, nh, bias) for _ in range(L)])
        s.ln_f = nn.LayerNorm(C)
        if not bias:
            s.ln_f.bias = None
        s.lm_head = nn.Linear(C, V, bias=False)
        s.lm_head.weight = s.wte.weight
        for n, p in s.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if n.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(s, idx, targets=None, caches=None, pos0=0):
        B, T = idx.shape
        x = s.wte(idx) + s.wpe(torch.arange(pos0, pos0 + T))
        for i, b in enumerate(s.h):
            x = b(x, None if caches is None else caches[i])
        logits = s.lm_head(s.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def load_data(path):
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return data[:n], data[n:], len(chars)


def batch(data, B, T, g):
    ix = torch.randint(len(data) - T, (B,), generator=g)
    return torch.stack([data[i : i + T] for i in ix]), torch.stack([data[i + 1 : i + 1 + T] for i in ix])


def make(args, V):
    torch.manual_seed(args.seed)
    model = GPT(V, args.block, args.layers, args.heads, args.embd)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99)
    )
    return model, opt


def lr_at(it, warmup=100, decay_iters=2000, lr=1e-3, min_lr=1e-4):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    r = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr - min_lr)


def step(model, opt, x, y, it):
    for gr in opt.param_groups:
        gr["lr"] = lr_at(it)
    _, loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train-step", "train-full", "generate"])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "tinyshakespeare.txt"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--embd", type=int, default=128)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--eval-iters", type=int, default=200)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, val, V = load_data(a.data)
    g = torch.Generator().manual_seed(a.seed)
    model, opt = make(a, V)
    if a.mode == "train-step":
        for i in range(5):
            step(model, opt, *batch(train, a.batch, a.block, g), i)
        t0 = time.perf_counter()
        for i in range(a.steps):
            step(model, opt, *batch(train, a.batch, a.block, g), i)
        ms = (time.perf_counter() - t0) * 1000 / a.steps
        print(json.dumps({"mode": a.mode, "threads": a.threads, "msPerStep": ms, "torch": torch.__version__}))
    elif a.mode == "train-full":
        # nanoGPT's loop: evaluate both splits on eval_iters batches every 250 iterations and at the end.
        def estimate(split, g):
            model.eval()
            with torch.no_grad():
                losses = [model(*batch(split, a.batch, a.block, g))[1].item() for _ in range(a.eval_iters)]
            model.train()
            return sum(losses) / len(losses)

        t0 = time.perf_counter()
        evals = []
        for it in range(a.iters + 1):
            if it % 250 == 0 or it == a.iters:
                # The same fixed evaluation batches as qkv's trainer: generators seeded seed+1 and seed+2.
                evals.append([it, estimate(train, torch.Generator().manual_seed(a.seed + 1)), estimate(val, torch.Generator().manual_seed(a.seed + 2))])
            if it == a.iters:
                break
            step(model, opt, *batch(train, a.batch, a.block, g), it)
        total_s = time.perf_counter() - t0
        print(json.dumps({"mode": a.mode, "threads": a.threads, "valLoss": evals[-1][2], "seed": a.seed, "seconds": total_s, "evals": evals, "torch": torch.__version__}))
    else:
        model.eval()
        with torch.no_grad():
            idx = torch.zeros((1, 1), dtype=torch.long)
            caches = [dict() for _ in model.h]
            t0 = time.perf_counter()
            n = min(a.new_tokens, a.block - 1)
            for t in range(n):
                logits, _ = model(idx[:, -1:], caches=caches, pos0=t)
                idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
            tps = n / (time.perf_counter() - t0)
        print(json.dumps({"mode": a.mode, "threads": a.threads, "tokensPerSec": tps, "newTokens": n, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
