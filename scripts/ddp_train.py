"""Continues a qkv GPT run with PyTorch DistributedDataParallel, then hands it back to qkv.

    torchrun --standalone --nproc_per_node 2 scripts/ddp_train.py \
        --model runs/tiny/last --data data/tinyshakespeare.txt --out runs/tiny-ddp --steps 20

The qkv folder (config.json, model.safetensors, tokenizer.json: Hugging Face GPT-2 layout) loads
as transformers' GPT2LMHeadModel and is wrapped in DDP over the gloo backend (CPU). Every step each
rank draws the same seeded global batch of windows and trains on its own slice of it, so DDP's
gradient all-reduce is what keeps the ranks in step; the script checks that (identical gradients
from different data at the first step, identical parameters at the end) with all_gather. Rank 0
then writes an HF folder (save_pretrained, safetensors, tokenizer.json copied) that qkv loads
(`fromPretrained(GPT, dir)`, `qkv train --init-from dir`), plus reference_logits.json: PyTorch's
logits for a fixed token-id batch, for scripts/compare-logits.ts to check qkv against.
"""

import argparse
import json
import os
import re
import shutil
import sys

import torch
import torch.distributed as dist
from tokenizers import Tokenizer
from torch.nn.parallel import DistributedDataParallel as DDP
from transformers import GPT2LMHeadModel

# The biases qkv leaves out of a biasless GPT (config qkv_bias: false); HF's GPT-2 has them, so qkv
# saves them as zeros and refuses to load nonzero ones. They stay frozen at zero here.
GPT2_BIAS = re.compile(
    r"^(transformer\.)?(h\.\d+\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)|ln_f)\.bias$"
)


def fail(msg):
    print(f"ddp_train: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="qkv or HF GPT-2 folder (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--data", required=True, help="text file to train on (encoded with the folder's tokenizer.json)")
    p.add_argument("--out", required=True, help="folder for the trained HF folder and reference_logits.json")
    p.add_argument("--steps", type=int, required=True, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per rank per step")
    p.add_argument("--block-size", type=int, default=0, help="tokens per sequence (0: the model's n_positions)")
    # Defaults follow the folder's train_config.json (a qkv run) where it has the field.
    p.add_argument("--lr", type=float, default=None, help="AdamW learning rate (constant)")
    p.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay on matrices")
    p.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm (0: off)")
    p.add_argument("--seed", type=int, default=1337, help="seed of the batch order (the same on every rank)")
    p.add_argument("--ids", default="", help="JSON token-id batch [[...], ...] for reference_logits.json")
    p.add_argument("--log-interval", type=int, default=5)
    a = p.parse_args()
    if a.steps < 1:
        fail(f"--steps must be at least 1, got {a.steps}")
    if a.batch_size < 1:
        fail(f"--batch-size must be at least 1, got {a.batch_size}")
    for flag, path in (("--model", os.path.join(a.model, "config.json")), ("--data", a.data)):
        if not os.path.isfile(path):
            fail(f"{flag}: {path} not found")
    if not os.path.isfile(os.path.join(a.model, "tokenizer.json")):
        fail(f"--model: {a.model} has no tokenizer.json")
    return a


def train_defaults(folder):
    path = os.path.join(folder, "train_config.json")
    tc = json.load(open(path)) if os.path.isfile(path) else {}
    return {
        "lr": tc.get("lr", 1e-3),
        "weight_decay": tc.get("weightDecay", 0.1),
        "grad_clip": tc.get("gradClip", 1.0),
        "betas": (tc.get("beta1", 0.9), tc.get("beta2", 0.99)),
    }


def reference_batch(ids_json, cfg):
    """The (B, T) token ids whose logits go into reference_logits.json: --ids, or seeded random ids."""
    if not ids_json:
        g = torch.Generator().manual_seed(0)
        return torch.randint(cfg.vocab_size, (2, min(16, cfg.n_positions)), generator=g).tolist()
    try:
        batch = json.loads(ids_json)
        x = torch.tensor(batch, dtype=torch.long)
    except (ValueError, TypeError) as e:
        fail(f"--ids: not a JSON batch of token ids ({e})")
    if x.dim() != 2 or x.numel() == 0 or int(x.min()) < 0 or int(x.max()) >= cfg.vocab_size or x.size(1) > cfg.n_positions:
        fail(f"--ids must be a (B, T) batch of ids in [0, {cfg.vocab_size}) with T ≤ {cfg.n_positions}")
    return batch


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def gather(vec, world):
    out = [torch.empty_like(vec) for _ in range(world)]
    dist.all_gather(out, vec)
    return out


def main():
    a = parse_args()
    if "RANK" not in os.environ:
        fail("run me under torchrun, e.g. torchrun --standalone --nproc_per_node 2 scripts/ddp_train.py ...")
    dist.init_process_group(backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    print(f"rank {rank} of world size {world} (backend {dist.get_backend()}, pid {os.getpid()})", flush=True)
    torch.manual_seed(a.seed + rank)  # dropout masks differ per rank, as they would on separate GPUs

    d = train_defaults(a.model)
    lr = d["lr"] if a.lr is None else a.lr
    wd = d["weight_decay"] if a.weight_decay is None else a.weight_decay
    clip = d["grad_clip"] if a.grad_clip is None else a.grad_clip

    model = GPT2LMHeadModel.from_pretrained(a.model, dtype=torch.float32)
    cfg = model.config
    biasless = getattr(cfg, "qkv_bias", True) is False
    if biasless:
        for name, p in model.named_parameters():
            if GPT2_BIAS.match(name):
                if p.detach().abs().max().item() != 0:
                    fail(f"--model: config says qkv_bias false but {name} is not all zeros")
                p.requires_grad_(False)
    batch = reference_batch(a.ids, cfg)  # checked before training, not after
    T = a.block_size or cfg.n_positions
    if T > cfg.n_positions:
        fail(f"--block-size {T} exceeds the model's n_positions {cfg.n_positions}")

    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    text = open(a.data, encoding="utf-8").read()
    ids = torch.tensor(tok.encode(text).ids, dtype=torch.long)
    if ids.numel() and int(ids.max()) >= cfg.vocab_size:
        fail(f"--data: token id {int(ids.max())} is outside the model's vocabulary ({cfg.vocab_size})")
    n_train = int(0.9 * ids.numel())  # the first 90% trains, the rest is a held-out check, as in qkv
    train_ids, val_ids = ids[:n_train], ids[n_train:]
    if train_ids.numel() <= T + 1 or val_ids.numel() <= T + 1:
        fail(f"--data: {ids.numel()} tokens are too few for windows of {T + 1}")

    ddp = DDP(model)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2 and ".wte." not in n and ".wpe." not in n]
    decay_ids = {id(p) for p in decay}
    no_decay = [p for p in params if id(p) not in decay_ids]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=d["betas"]
    )

    def windows(src, offsets):
        x = torch.stack([src[o : o + T] for o in offsets.tolist()])  # (B, T)
        y = torch.stack([src[o + 1 : o + T + 1] for o in offsets.tolist()])
        return x, y

    # Same generator on every rank: all ranks agree on the global batch and each takes its slice.
    g = torch.Generator().manual_seed(a.seed)
    val_x, val_y = windows(val_ids, torch.randint(val_ids.numel() - T - 1, (16,), generator=torch.Generator().manual_seed(0)))

    def val_loss():
        model.eval()
        with torch.no_grad():
            loss = model(input_ids=val_x, labels=None).logits
            loss = torch.nn.functional.cross_entropy(loss.reshape(-1, loss.size(-1)), val_y.reshape(-1))
        model.train()
        return loss.item()

    v0 = val_loss()
    if rank == 0:
        print(f"start: val loss {v0:.4f}; {world} ranks × {a.batch_size} sequences × {T} tokens per step, lr {lr}", flush=True)
    model.train()
    for step in range(a.steps):
        offsets = torch.randint(train_ids.numel() - T - 1, (world * a.batch_size,), generator=g)
        x, y = windows(train_ids, offsets[rank * a.batch_size : (rank + 1) * a.batch_size])
        logits = ddp(input_ids=x).logits  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP averages the gradients over the ranks here
        if step == 0:
            # Different local batches (different losses) but identical gradients: the all-reduce ran.
            losses = gather(loss.detach().reshape(1), world)
            grads = gather(flat(p.grad for p in params), world)
            spread = max((gr - grads[0]).abs().max().item() for gr in grads)
            if world > 1:
                assert len({round(v.item(), 7) for v in losses}) == world, f"ranks saw the same batch: {losses}"
                assert spread == 0, f"gradients differ across ranks by {spread}: no all-reduce?"
            if rank == 0:
                print(f"step 0: local losses {[round(v.item(), 4) for v in losses]}, gradient spread across ranks {spread}", flush=True)
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if rank == 0 and (step % a.log_interval == 0 or step == a.steps - 1):
            print(f"step {step}: loss {loss.item():.4f}", flush=True)

    # Every rank must hold the same weights after training.
    ws = gather(flat(model.state_dict().values()), world)
    pspread = max((w - ws[0]).abs().max().item() for w in ws)
    assert pspread == 0, f"parameters differ across ranks by {pspread} after training"
    v1 = val_loss()
    if rank == 0:
        print(f"end: val loss {v0:.4f} → {v1:.4f}; parameters identical on all {world} ranks (max spread {pspread})", flush=True)
        save(a, model, batch, world, T, v0, v1)
    dist.barrier()
    dist.destroy_process_group()


def save(a, model, batch, world, T, v0, v1):
    os.makedirs(a.out, exist_ok=True)
    model.save_pretrained(a.out, safe_serialization=True)
    shutil.copyfile(os.path.join(a.model, "tokenizer.json"), os.path.join(a.out, "tokenizer.json"))
    x = torch.tensor(batch, dtype=torch.long)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=x).logits  # (B, T, V)
    ref = {
        "ids": batch,
        "shape": list(logits.shape),
        "logits": logits.reshape(-1).tolist(),
        "torch": torch.__version__,
        "world_size": world,
        "steps": a.steps,
        "block_size": T,
        "val_loss": [v0, v1],
    }
    with open(os.path.join(a.out, "reference_logits.json"), "w") as f:
        json.dump(ref, f)
    print(f"saved {a.out} (config.json, model.safetensors, tokenizer.json, reference_logits.json)", flush=True)


if __name__ == "__main__":
    main()
