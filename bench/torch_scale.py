#!/usr/bin/env python3
"""PyTorch / Hugging Face side of bench/scale.ts: one configuration per process, one JSON line out.

GPT-2 models are built locally from a transformers GPT2Config (nothing is downloaded), with
dropout 0 and HF's own initialisation (N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)),
zero biases), the scheme qkv's GPT uses. Token batches come from the same 32-bit LCG as
bench/scale.ts's, so both sides see identical ids.

  train     forward + cross-entropy + backward + AdamW, eager or --anchor compile (torch.compile)
  load      GPT2LMHeadModel.from_pretrained(--dir) (a folder written by `save`)
  generate  greedy HF generate of --new-tokens tokens after an 8-token prompt, from --dir
  save      writes the gpt2-size model (seeded) with save_pretrained (safetensors) to --dir

Times are medians over --steps after --warmup; peakRssMiB is this process's ru_maxrss.

  python bench/torch_scale.py train --size gpt2 --seq 128 --batch 4 --threads 2 --steps 5
"""
import argparse, gc, json, os, resource, statistics, sys, time

SIZES = {
    # nanoGPT's small character-level model of bench/train.ts (vocab 65, block 64), with biases.
    "tiny": dict(n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=16),
    "small": dict(n_layer=4, n_head=4, n_embd=128, vocab_size=65, n_positions=64),
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, vocab_size=50257, n_positions=1024),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024, vocab_size=50257, n_positions=1024),
}


def lcg_tokens(n, vocab, seed):
    """n ids in [0, vocab): s <- 1664525 s + 1013904223 (mod 2^32), id = s mod vocab; bench/scale.ts's lcgTokens."""
    s = seed & 0xFFFFFFFF
    out = []
    for _ in range(n):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out.append(s % vocab)
    return out


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(size, seq, seed):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    kw = dict(SIZES[size])
    kw["n_positions"] = max(kw["n_positions"], seq)
    if kw["vocab_size"] <= 50256:  # GPT-2's bos/eos id 50256 lies outside a small vocabulary
        kw.update(bos_token_id=kw["vocab_size"] - 1, eos_token_id=kw["vocab_size"] - 1)
    cfg = GPT2Config(**kw, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True)
    torch.manual_seed(seed)
    return GPT2LMHeadModel(cfg), cfg


def median_ms(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=["train", "load", "generate", "save"])
    ap.add_argument("--size", default="small", choices=sorted(SIZES))
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--anchor", default="eager", choices=["eager", "compile"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--dir", default="")
    ap.add_argument("--new-tokens", type=int, default=32)
    a = ap.parse_args()
    t_import = time.perf_counter()
    import torch
    import torch.nn.functional as F
    import transformers

    torch.set_num_threads(a.threads)
    out = {"side": "torch", "workload": a.workload, "size": a.size, "threads": a.threads, "anchor": a.anchor,
           "torch": torch.__version__, "transformers": transformers.__version__,
           "importMs": (time.perf_counter() - t_import) * 1000}

    if a.workload == "save":
        model, _ = build(a.size, a.seq, a.seed)
        model.save_pretrained(a.dir, safe_serialization=True)
        out["dir"] = a.dir
    elif a.workload == "train":
        model, cfg = build(a.size, a.seq, a.seed)
        model.train()
        V = cfg.vocab_size
        ids = torch.tensor(lcg_tokens(a.batch * (a.seq + 1), V, a.seed), dtype=torch.long).view(a.batch, a.seq + 1)
        x, y = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
        fwd = torch.compile(model) if a.anchor == "compile" else model
        losses = []

        def step():
            logits = fwd(input_ids=x).logits  # (B, T, V); the loss outside, as qkv's GPT computes it
            loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())

        t0 = time.perf_counter()
        step()  # the first step (it compiles, with --anchor compile) is timed on its own
        out["firstStepMs"] = (time.perf_counter() - t0) * 1000
        ms = median_ms(step, max(0, a.warmup - 1), a.steps)
        out.update(msMedian=statistics.median(ms), ms=ms, firstLoss=losses[0], lastLoss=losses[-1],
                   params=sum(p.numel() for p in model.parameters()))
    elif a.workload == "load":
        from transformers import GPT2LMHeadModel

        def load():
            m = GPT2LMHeadModel.from_pretrained(a.dir)
            del m
            gc.collect()

        ms = median_ms(load, a.warmup, a.steps)
        out.update(msMedian=statistics.median(ms), ms=ms)
    else:
        from transformers import GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(a.dir).eval()
        model.generation_config.eos_token_id = None  # never stop early: exactly --new-tokens, as qkv's side
        prompt = torch.tensor([lcg_tokens(8, model.config.vocab_size, a.seed)], dtype=torch.long)
        ids = []

        def gen():
            with torch.no_grad():
                r = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=a.new_tokens,
                                   do_sample=False, num_beams=1, pad_token_id=0)
            ids[:] = r[0, prompt.shape[1]:].tolist()

        ms = median_ms(gen, a.warmup, a.steps)
        out.update(msMedian=statistics.median(ms), ms=ms, msPerToken=statistics.median(ms) / a.new_tokens, ids=ids,
                   prompt=prompt[0].tolist())
    out["peakRssMiB"] = peak_rss_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
