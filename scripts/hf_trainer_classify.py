"""A PyTorch baseline for `qkv train --model bert --task classify`: fine-tunes transformers'
BertForSequenceClassification on a `text<TAB>label` TSV and prints test accuracy, macro-F1 and the
majority-class baseline as JSON.

    python scripts/hf_trainer_classify.py --model <HF BERT folder> --train train.tsv --test test.tsv \
        --epochs 3 --lr 5e-5 --batch-size 16 --seed 0

The folder needs config.json, model.safetensors and tokenizer.json (a qkv BERT run folder is one;
a masked-LM checkpoint gets a fresh pooler and classifier). Texts are tokenized with the folder's
tokenizer.json; [CLS] … [SEP] are added when its post-processor does not add them.

--trainer hf uses transformers' Trainer, which needs the `accelerate` package; --trainer loop is a
plain PyTorch loop with Trainer's defaults (AdamW, betas 0.9/0.999, eps 1e-8, linear decay to 0, no
warmup, gradient clipping at 1.0, a reshuffle per epoch). The default, auto, takes hf when
accelerate imports and loop otherwise; the JSON says which ran.
"""

import argparse
import contextlib
import importlib.util
import json
import math
import os
import sys
import tempfile

import torch
import transformers
from tokenizers import Tokenizer
from transformers import BertForSequenceClassification


def fail(msg):
    print(f"hf_trainer_classify: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="HF BERT folder (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--train", required=True, help="TSV of text<TAB>label (a 'text<TAB>label' header is skipped)")
    p.add_argument("--test", required=True, help="TSV of text<TAB>label")
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-length", type=int, default=0, help="tokens per text, [CLS]/[SEP] included (0: max_position_embeddings)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-steps", type=int, default=0, help="optimizer steps (0: --epochs decides)")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--min-lr", type=float, default=-1.0,
                   help="cosine decay from --lr to this after warmup, as qkv's schedule (default: linear decay to 0, Trainer's default)")
    p.add_argument("--adam-beta2", type=float, default=0.999)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--trainer", choices=["auto", "hf", "loop"], default="auto")
    a = p.parse_args()
    if not a.epochs > 0:
        fail(f"--epochs must be positive, got {a.epochs}")
    if not a.lr > 0:
        fail(f"--lr must be positive, got {a.lr}")
    if a.max_steps < 0 or a.warmup_steps < 0:
        fail("--max-steps and --warmup-steps must be non-negative")
    if a.min_lr >= 0 and a.trainer == "loop":
        fail("--min-lr needs --trainer hf (the plain loop has only the linear schedule)")
    if a.batch_size < 1:
        fail(f"--batch-size must be at least 1, got {a.batch_size}")
    for name in ("config.json", "tokenizer.json"):
        if not os.path.isfile(os.path.join(a.model, name)):
            fail(f"--model: {a.model} has no {name}")
    if a.trainer == "hf" and importlib.util.find_spec("accelerate") is None:
        fail("--trainer hf: transformers' Trainer needs the accelerate package (pip install accelerate), or use --trainer loop")
    return a


def read_tsv(path, flag):
    if not os.path.isfile(path):
        fail(f"{flag}: {path} not found")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if n == 1 and line.lower() == "text\tlabel":
                continue
            if "\t" not in line:
                fail(f"{flag}: {path} line {n} has no tab (expected text<TAB>label)")
            text, label = line.rsplit("\t", 1)
            if not label.strip():
                fail(f"{flag}: {path} line {n} has an empty label")
            rows.append((text, label.strip()))
    if not rows:
        fail(f"{flag}: {path} has no rows")
    return rows


class Encoder:
    """The folder's tokenizer.json, with BERT's [CLS] … [SEP] framing where its post-processor lacks it."""

    def __init__(self, folder, max_length):
        self.tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        self.cls, self.sep = self.tok.token_to_id("[CLS]"), self.tok.token_to_id("[SEP]")
        self.pad = self.tok.token_to_id("[PAD]") or 0
        probe = self.tok.encode("a").ids
        self.frame = self.cls is not None and self.sep is not None and not (probe and probe[0] == self.cls)
        self.max_length = max_length

    def __call__(self, text):
        ids = self.tok.encode(text).ids
        if self.frame:
            ids = [self.cls] + ids[: self.max_length - 2] + [self.sep]
        return ids[: self.max_length]


def collate(items, pad):
    T = max(len(ids) for ids, _ in items)
    input_ids = torch.full((len(items), T), pad, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(items), T), dtype=torch.long)
    for i, (ids, _) in enumerate(items):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
    labels = torch.tensor([y for _, y in items], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def macro_f1(pred, gold, k):
    f1s = []
    for c in range(k):
        tp = sum(1 for p, g in zip(pred, gold) if p == c and g == c)
        fp = sum(1 for p, g in zip(pred, gold) if p == c and g != c)
        fn = sum(1 for p, g in zip(pred, gold) if p != c and g == c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / k


def train_loop(model, train, a, pad):
    g = torch.Generator().manual_seed(a.seed)
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = a.max_steps or math.ceil(steps_per_epoch * a.epochs)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=a.lr, betas=(0.9, 0.999), eps=1e-8,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (total - s) / total))
    model.train()
    step = 0
    while step < total:
        for idx in torch.randperm(len(train), generator=g).split(a.batch_size):
            if step == total:
                break
            loss = model(**collate([train[i] for i in idx.tolist()], pad)).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
    return step


def train_hf(model, train, a, pad):
    from transformers import Trainer, TrainingArguments

    with tempfile.TemporaryDirectory() as out:
        schedule = {}
        if a.min_lr >= 0:
            schedule = {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr": a.min_lr}}
        args = TrainingArguments(
            output_dir=out, num_train_epochs=a.epochs, max_steps=a.max_steps or -1, learning_rate=a.lr,
            weight_decay=a.weight_decay, warmup_steps=a.warmup_steps, adam_beta2=a.adam_beta2,
            max_grad_norm=a.max_grad_norm, per_device_train_batch_size=a.batch_size, seed=a.seed,
            data_seed=a.seed, save_strategy="no", report_to=[], logging_strategy="no",
            use_cpu=not torch.cuda.is_available(), disable_tqdm=True, remove_unused_columns=False,
            **schedule,
        )
        trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=lambda b: collate(b, pad))
        with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its metrics; stdout is the JSON
            return trainer.train().global_step


def main():
    a = parse_args()
    transformers.set_seed(a.seed)
    train_rows, test_rows = read_tsv(a.train, "--train"), read_tsv(a.test, "--test")
    labels = sorted({y for _, y in train_rows})
    if len(labels) < 2:
        fail(f"--train: {a.train} has a single label ({labels[0]}); classification needs at least two")
    index = {y: i for i, y in enumerate(labels)}
    unseen = sorted({y for _, y in test_rows} - set(labels))
    if unseen:
        fail(f"--test: labels {unseen} do not occur in --train")

    config = transformers.AutoConfig.from_pretrained(a.model)
    enc = Encoder(a.model, a.max_length or config.max_position_embeddings)
    train = [(enc(t), index[y]) for t, y in train_rows]
    test = [(enc(t), index[y]) for t, y in test_rows]
    model = BertForSequenceClassification.from_pretrained(
        a.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=index
    )
    kind = a.trainer if a.trainer != "auto" else ("hf" if importlib.util.find_spec("accelerate") else "loop")
    steps = (train_hf if kind == "hf" else train_loop)(model, train, a, enc.pad)

    model.eval()
    pred = []
    with torch.no_grad():
        for i in range(0, len(test), 64):
            logits = model(**{k: v for k, v in collate(test[i : i + 64], enc.pad).items() if k != "labels"}).logits
            pred += logits.argmax(-1).tolist()
    gold = [y for _, y in test]
    counts = [sum(1 for _, y in train if y == c) for c in range(len(labels))]
    majority = max(range(len(labels)), key=lambda c: counts[c])
    print(json.dumps({
        "trainer": "transformers.Trainer" if kind == "hf" else "plain PyTorch loop (Trainer defaults)",
        "accuracy": sum(p == g for p, g in zip(pred, gold)) / len(gold),
        "macro_f1": macro_f1(pred, gold, len(labels)),
        "majority_label": labels[majority],
        "majority_accuracy": sum(g == majority for g in gold) / len(gold),
        "majority_macro_f1": macro_f1([majority] * len(gold), gold, len(labels)),
        "labels": labels,
        "n_train": len(train),
        "n_test": len(test),
        "steps": steps,
        "epochs": a.epochs,
        "max_steps": a.max_steps,
        "warmup_steps": a.warmup_steps,
        "min_lr": a.min_lr,
        "adam_beta2": a.adam_beta2,
        "weight_decay": a.weight_decay,
        "lr": a.lr,
        "batch_size": a.batch_size,
        "seed": a.seed,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
