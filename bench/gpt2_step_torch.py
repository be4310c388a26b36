"""PyTorch twin of bench/gpt2-step.ts: one GPT-2 small training step (transformers GPT2LMHeadModel
from GPT2Config, tied LM head, dropout off), AdamW, random tokens. Prints ms per step after warmup
and the process's peak RSS (VmHWM) as one JSON line.

  flock /tmp/bench.lock /work/venv/bin/python bench/gpt2_step_torch.py [--batch 4] [--seq 128] [--steps 3] [--threads 2]
"""
import argparse, json, re, time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=4)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1337)


def hwm_mib():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


cfg = GPT2Config(n_positions=1024, n_embd=768, n_layer=12, n_head=12, vocab_size=50257,
                 resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
model = GPT2LMHeadModel(cfg)
model.train()
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n and "wpe" not in n]
no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "wte" not in n and "wpe" not in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-4, betas=(0.9, 0.95))
after_init = hwm_mib()
V = cfg.vocab_size


def step():
    x = torch.randint(0, V, (a.batch, a.seq))
    out = model(input_ids=x, labels=x)
    out.loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return out.loss.item()


for _ in range(a.warmup):
    step()
times = []
loss = 0.0
for _ in range(a.steps):
    t0 = time.perf_counter()
    loss = step()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"impl": f"torch {torch.__version__}", "B": a.batch, "T": a.seq, "threads": a.threads,
                  "msPerStep": round(sum(times) / len(times)), "steps": [round(t) for t in times],
                  "peakRssMiB": round(hwm_mib()), "rssAfterInitMiB": round(after_init), "loss": round(loss, 4)}))
