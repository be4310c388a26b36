"""Debug-state goldens in the style of llm.c's test_gpt2: one training step of a tiny GPT-2, BERT
and encoder-decoder, in float64 PyTorch, for test/models/debug-state.test.ts.

    .venv/bin/python scripts/gen_debug_state.py

For each model NAME it writes test/fixtures/debug-state/NAME.json (config, inputs, loss, the
optimizer settings, library versions) and NAME.safetensors (float64, qkv names and layouts):

  logits          the forward output on the fixed batch
  param/<name>    every parameter before the step
  grad/<name>     d loss / d parameter
  adamw/<name>    the parameter after one torch.optim.AdamW step

Names are qkv's `namedParameters()` names (tied weights once, under the first name); GPT-2's
Conv1D weights are stored transposed to qkv's (out, in). Every parameter is first perturbed so
that no LayerNorm weight is exactly 1 and no bias exactly 0. Dropout is 0 and attention is
HF's eager path, so the reference is deterministic.
"""

import json
import math
import os

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "debug-state")

# One AdamW step, identical on both sides. Non-default betas and eps so a hard-coded default
# shows. eps is large enough that float32 gradient noise (~1e-7 of the largest gradient) cannot
# flip the sign-like first step g / (|g| + eps) of a near-zero gradient.
ADAMW = {"lr": 1e-3, "betas": [0.8, 0.95], "eps": 1e-4, "weightDecay": 0.1}
DECAY_RULE = "parameters with ndim >= 2 get weightDecay; the others (biases, LayerNorm) get 0"


def perturb(model, gen, scale=0.02):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)


def adamw_step(named):
    decay = [p for _, p in named if p.dim() >= 2]
    no_decay = [p for _, p in named if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW["lr"],
        betas=tuple(ADAMW["betas"]),
        eps=ADAMW["eps"],
        foreach=False,
    )
    opt.step()


def run(name, model, named, forward, meta):
    """named: [(qkv name, parameter, transposed?)]; forward() -> (logits, loss)."""
    model.train()  # dropout is 0; train mode keeps torch off its inference fast paths
    params = {f"param/{k}": (p.detach().t() if tr else p.detach()).clone() for k, p, tr in named}
    logits, loss = forward()
    loss.backward()
    grads = {f"grad/{k}": (p.grad.t() if tr else p.grad).clone() for k, p, tr in named}
    adamw_step([(k, p) for k, p, _ in named])
    after = {f"adamw/{k}": (p.detach().t() if tr else p.detach()).clone() for k, p, tr in named}
    tensors = {"logits": logits.detach(), **params, **grads, **after}
    tensors = {k: v.contiguous().to(torch.float64) for k, v in tensors.items()}
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"))
    doc = {
        "generator": "scripts/gen_debug_state.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "dtype": "float64",
        "adamw": ADAMW,
        "decay_rule": DECAY_RULE,
        "loss": loss.item(),
        "parameters": [k for k, _, _ in named],
        **meta,
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    n = sum(p.numel() for _, p, _ in named)
    print(f"{name}: {len(named)} parameters ({n} values), loss {loss.item():.6f}")


def gpt2():
    torch.manual_seed(10)
    gen = torch.Generator().manual_seed(10)
    cfg = transformers.GPT2Config(
        vocab_size=64, n_positions=8, n_embd=16, n_layer=2, n_head=2, activation_function="gelu_new",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0,
    )
    cfg._attn_implementation = "eager"
    model = transformers.GPT2LMHeadModel(cfg).double()
    assert model.lm_head.weight is model.transformer.wte.weight
    perturb(model, gen)
    named = []
    for k, p in model.named_parameters():
        assert k.startswith("transformer."), k  # lm_head is tied to wte and listed once
        k = k[len("transformer."):]
        named.append((k, p, k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight"))))
    B, T, V = 2, 8, cfg.vocab_size
    idx = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.cat([idx[:, 1:], torch.randint(0, V, (B, 1), generator=gen)], dim=1)
    targets[0, 3] = -1  # ignored positions, as qkv's GPT.forward ignores −1
    targets[1, 7] = -1

    def forward():
        logits = model(input_ids=idx).logits  # (B, T, V)
        return logits, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)

    config = {"vocabSize": V, "blockSize": 8, "nLayer": 2, "nHead": 2, "nEmbd": 16, "dropout": 0, "bias": True,
              "layerNormEps": 1e-5}
    run("gpt2", model, named, forward, {
        "model_class": "transformers.GPT2LMHeadModel (gelu_new, eager attention)",
        "config": config, "input_ids": idx.tolist(), "targets": targets.tolist(), "ignore_index": -1,
    })


def bert():
    torch.manual_seed(11)
    gen = torch.Generator().manual_seed(11)
    cfg = transformers.BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        max_position_embeddings=16, type_vocab_size=2, layer_norm_eps=1e-12,
    )
    cfg._attn_implementation = "eager"
    model = transformers.BertForMaskedLM(cfg).double()
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    perturb(model, gen)
    named = [(k, p, False) for k, p in model.named_parameters()]
    B, T, V = 2, 8, cfg.vocab_size
    ids = torch.randint(0, V, (B, T), generator=gen)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 5:] = 0  # the second row is padded after 5 tokens
    types = torch.zeros(B, T, dtype=torch.long)
    types[0, 4:] = 1
    types[1, 3:5] = 1
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, t in ((0, 1), (0, 4), (0, 6), (1, 0), (1, 2), (1, 3)):
        labels[b, t] = int(torch.randint(0, V, (1,), generator=gen))

    def forward():
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits  # (B, T, V)
        return logits, F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)

    config = {"vocabSize": V, "hiddenSize": 16, "numHiddenLayers": 2, "numAttentionHeads": 2,
              "intermediateSize": 32, "hiddenAct": "gelu", "hiddenDropoutProb": 0, "attentionProbsDropoutProb": 0,
              "maxPositionEmbeddings": 16, "typeVocabSize": 2, "layerNormEps": 1e-12}
    run("bert", model, named, forward, {
        "model_class": "transformers.BertForMaskedLM (exact gelu, eager attention)",
        "config": config, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
        "token_type_ids": types.tolist(), "labels": labels.tolist(), "ignore_index": -100,
    })


class TokenEmbedding(nn.Module):
    """The PyTorch translation tutorial's embedding scaled by sqrt(d_model)."""

    def __init__(self, vocab, d):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.d = d

    def forward(self, ids):
        return self.embedding(ids) * math.sqrt(self.d)


class Seq2Seq(nn.Module):
    """The torch twin of qkv's Seq2SeqTransformer: same module names, post-norm, relu, batch-first."""

    def __init__(self, src_vocab, tgt_vocab, d, nhead, layers, ff, max_len):
        super().__init__()
        self.transformer = nn.Transformer(d_model=d, nhead=nhead, num_encoder_layers=layers,
                                          num_decoder_layers=layers, dim_feedforward=ff, dropout=0.0,
                                          batch_first=True)
        self.generator = nn.Linear(d, tgt_vocab)
        self.src_tok_emb = TokenEmbedding(src_vocab, d)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab, d)
        # PE[pos, j] = sin / cos(pos / 10000^((j - j % 2) / d)), as qkv's sinusoidalTable.
        pe = torch.zeros(max_len, d, dtype=torch.float64)
        for pos in range(max_len):
            for j in range(d):
                angle = pos / 10000 ** ((j - j % 2) / d)
                pe[pos, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, src, tgt, src_kpm, tgt_kpm):
        S, T = src.shape[1], tgt.shape[1]
        s = self.src_tok_emb(src) + self.pe[:S]
        t = self.tgt_tok_emb(tgt) + self.pe[:T]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # true = not allowed
        h = self.transformer(s, t, tgt_mask=causal, src_key_padding_mask=src_kpm, tgt_key_padding_mask=tgt_kpm,
                             memory_key_padding_mask=src_kpm)
        return self.generator(h)


def seq2seq():
    torch.manual_seed(12)
    gen = torch.Generator().manual_seed(12)
    SV, TV, D, PAD = 40, 48, 16, 1
    model = Seq2Seq(SV, TV, D, 2, 2, 32, 16).double()
    perturb(model, gen, scale=0.05)
    named = [(k, p, False) for k, p in model.named_parameters()]
    B, S, T = 2, 7, 6
    src = torch.randint(3, SV, (B, S), generator=gen)
    src[1, 5:] = PAD
    tgt = torch.randint(3, TV, (B, T + 1), generator=gen)
    tgt[:, 0] = 2  # bos
    tgt[0, 5:] = PAD
    tgt_in, tgt_out = tgt[:, :-1].clone(), tgt[:, 1:].clone()
    src_kpm, tgt_kpm = src == PAD, tgt_in == PAD

    def forward():
        logits = model(src, tgt_in, src_kpm, tgt_kpm)  # (B, T, TV)
        return logits, F.cross_entropy(logits.reshape(-1, TV), tgt_out.reshape(-1), ignore_index=PAD)

    config = {"srcVocabSize": SV, "tgtVocabSize": TV, "dModel": D, "nhead": 2, "numEncoderLayers": 2,
              "numDecoderLayers": 2, "dimFeedforward": 32, "dropout": 0, "maxLen": 16}
    run("seq2seq", model, named, forward, {
        "model_class": "torch.nn.Transformer twin of Seq2SeqTransformer (post-norm, relu, sinusoidal positions)",
        "config": config, "src": src.tolist(), "tgt_in": tgt_in.tolist(), "tgt_out": tgt_out.tolist(),
        "pad_id": PAD, "ignore_index": PAD,
        "masks": "src/tgt key padding = ids == pad_id; memory key padding = src's; causal target self-attention",
    })


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT, exist_ok=True)
    gpt2()
    bert()
    seq2seq()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
