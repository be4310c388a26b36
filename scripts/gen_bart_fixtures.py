#!/work/venv/bin/python
"""Tiny BART folders and Hugging Face reference outputs for qkv's BartForConditionalGeneration.

Builds, with no hub access, two small BartForConditionalGeneration models from BartConfig and
writes each as HF's save_pretrained does (config.json, model.safetensors, generation_config.json)
under test/fixtures/bart/<name>/, plus a byte-level BPE tokenizer.json (ByteLevel pre-tokenizer and
decoder, RobertaProcessing post-processor, as BART's) trained here with `tokenizers`.

  tiny         d_model 64, 2+2 layers, 4 heads, gelu, no embedding scale; briefly trained (copy
               task) so generation sees real EOS decisions and beams that disagree with greedy
  tiny-scaled  d_model 32, 1 encoder + 3 decoder layers, 2/4 heads, relu, scale_embedding,
               different encoder/decoder ffn sizes; random, with a raised EOS logit bias

expected.json holds, per model: the inputs, the float32 logits of a padded batch (teacher forced),
the loss with -100 labels, and HF generate()'s sequences for many settings (greedy, beam search with
each early_stopping mode, length penalties, n-gram blocking, forced BOS/EOS, min/max lengths,
num_return_sequences). Torch and transformers versions are recorded. Deterministic on CPU:

    /work/venv/bin/python scripts/gen_bart_fixtures.py
"""

import json
import os

import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "bart")

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a small model learns to copy short sentences",
    "beam search keeps the best partial hypotheses",
    "greedy decoding picks the most likely token",
    "summaries should be short and faithful",
    "the cat sat on the mat and looked at the dog",
    "encoder decoder models read a source and write a target",
    "tokens are bytes merged into frequent pairs",
    "hello world, this is qkv speaking",
    "Numbers like 42 and 1999 appear too.",
    "Ünïcödé text: café, naïve, 東京, emoji 🙂",
]

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS[:4],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
    )
    return tok


def save_model(name, model, gen_config, tok=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    gen_config.save_pretrained(d)
    if tok is not None:
        tok.save(os.path.join(d, "tokenizer.json"))
    return d


def pad_batch(rows, pad):
    T = max(len(r) for r in rows)
    ids = [r + [pad] * (T - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (T - len(r)) for r in rows]
    return torch.tensor(ids), torch.tensor(mask)


def train_copy(model, rows, pad, steps=40):
    """A short AdamW run on copying: gives the model opinions (and EOS), not mastery."""
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        pick = torch.randint(0, len(rows), (8,), generator=g).tolist()
        ids, mask = pad_batch([rows[i] for i in pick], pad)
        labels = ids.masked_fill(mask == 0, -100)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


# Settings passed to generate() as keyword arguments on top of the folder's generation_config.json.
SETTINGS = [
    {},  # the folder's generation_config.json as it is
    {"num_beams": 1},
    {"num_beams": 1, "no_repeat_ngram_size": 2, "min_length": 6},
    {"num_beams": 1, "forced_bos_token_id": None, "forced_eos_token_id": None, "max_new_tokens": 7},
    {"num_beams": 1, "min_new_tokens": 4, "max_length": 12},
    {"num_beams": 2, "early_stopping": True},
    {"num_beams": 3, "early_stopping": False, "length_penalty": 1.0},
    {"num_beams": 4, "early_stopping": "never", "length_penalty": 2.0},
    {"num_beams": 4, "early_stopping": "never", "length_penalty": -0.5},
    {"num_beams": 4, "early_stopping": False, "length_penalty": 0.0, "no_repeat_ngram_size": 3},
    {"num_beams": 5, "num_return_sequences": 3, "early_stopping": True, "length_penalty": 0.8},
    {"num_beams": 3, "num_return_sequences": 3, "early_stopping": False, "min_length": 8, "max_length": 14},
    {"num_beams": 4, "forced_bos_token_id": None, "no_repeat_ngram_size": 0, "max_new_tokens": 9, "min_new_tokens": 3},
    # Boundaries: min lengths right at the natural EOS, and the whole finished set returned so
    # that the stopping heuristic of each early_stopping mode shows in the output.
    {"num_beams": 1, "min_length": 2},
    {"num_beams": 1, "min_new_tokens": 1, "max_new_tokens": 5},
    {"num_beams": 4, "num_return_sequences": 4, "early_stopping": False, "length_penalty": 1.5},
    {"num_beams": 4, "num_return_sequences": 4, "early_stopping": False, "length_penalty": 0.5, "min_length": 2},
    {"num_beams": 3, "num_return_sequences": 3, "early_stopping": True, "length_penalty": 1.0, "min_length": 2},
    {"num_beams": 6, "num_return_sequences": 6, "early_stopping": "never", "length_penalty": 1.0},
    {"num_beams": 4, "num_return_sequences": 4, "early_stopping": False, "length_penalty": 3.0, "max_length": 10},
    {"num_beams": 4, "num_return_sequences": 4, "early_stopping": "never", "length_penalty": 0.0, "no_repeat_ngram_size": 2},
]


def generations(model, ids, mask):
    out = []
    for s in SETTINGS:
        with torch.no_grad():
            seqs = model.generate(input_ids=ids, attention_mask=mask, **s)
        out.append({"settings": s, "sequences": seqs.tolist()})
    return out


def main():
    torch.manual_seed(0)
    tok = build_tokenizer(400)
    V = tok.get_vocab_size()
    specials = {t: tok.token_to_id(t) for t in SPECIALS}
    assert specials == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": V - 1}, specials

    texts = ["the quick brown fox", "beam search keeps the best", "hello world, café 🙂", "a"]
    encoded = [tok.encode(t).ids for t in texts]
    pair = tok.encode("summaries should be short", "and faithful").ids
    decoded = [tok.decode(e) for e in encoded]

    common = dict(
        vocab_size=V,
        max_position_embeddings=128,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    configs = {
        "tiny": BartConfig(
            d_model=64,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            activation_function="gelu",
            scale_embedding=False,
            **common,
        ),
        "tiny-scaled": BartConfig(
            d_model=32,
            encoder_layers=1,
            decoder_layers=3,
            encoder_attention_heads=2,
            decoder_attention_heads=4,
            encoder_ffn_dim=48,
            decoder_ffn_dim=80,
            activation_function="relu",
            scale_embedding=True,
            init_std=0.15,
            **common,
        ),
    }
    gen_configs = {
        "tiny": GenerationConfig(
            decoder_start_token_id=2,
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            forced_bos_token_id=0,
            forced_eos_token_id=2,
            num_beams=4,
            length_penalty=2.0,
            early_stopping=True,
            no_repeat_ngram_size=3,
            min_length=3,
            max_length=20,
        ),
        "tiny-scaled": GenerationConfig(
            decoder_start_token_id=2,
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            forced_eos_token_id=2,
            num_beams=3,
            length_penalty=1.0,
            early_stopping=False,
            max_length=16,
        ),
    }

    src_rows = [
        encoded[0],
        encoded[1],
        encoded[2],
        tok.encode("the cat sat on the mat").ids,
    ]
    train_rows = [tok.encode(t).ids for t in CORPUS]

    expected = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "tokenizer": {"texts": texts, "ids": encoded, "pair": ["summaries should be short", "and faithful"], "pair_ids": pair, "decoded": decoded},
        "models": {},
    }
    for name, cfg in configs.items():
        torch.manual_seed(1)
        model = BartForConditionalGeneration(cfg)
        if name == "tiny":
            train_copy(model, train_rows, 1)
        else:
            with torch.no_grad():
                model.final_logits_bias[0, 2] = 2.5
                model.final_logits_bias.add_(torch.randn(V, generator=torch.Generator().manual_seed(3)) * 0.5)
        model.eval()
        d = save_model(name, model, gen_configs[name], tok if name == "tiny" else None)
        # Reload from the folder: the reference is what from_pretrained gives.
        model = BartForConditionalGeneration.from_pretrained(d).eval()

        ids, mask = pad_batch(src_rows[:3], 1)
        dec_rows = [[2, 0, 31, 45, 7], [2, 0, 100, 2, 1], [2, 0, 5, 6, 9]]
        dec = torch.tensor(dec_rows)
        dec_mask = (dec != 1).long()
        labels_rows = [[0, 31, 45, 7, 2], [0, 100, 2, -100, -100], [0, 5, 6, 9, 2]]
        labels = torch.tensor(labels_rows)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, decoder_attention_mask=dec_mask).logits
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            enc = model.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        gb_ids, gb_mask = pad_batch(src_rows, 1)
        expected["models"][name] = {
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "decoder_input_ids": dec_rows,
            "decoder_attention_mask": dec_mask.tolist(),
            "logits_shape": list(logits.shape),
            "logits": [round(v, 7) for v in logits.flatten().tolist()],
            "encoder_last_hidden_state": [round(v, 7) for v in enc.flatten().tolist()],
            "labels": labels_rows,
            "loss": loss.item(),
            "generate_input_ids": gb_ids.tolist(),
            "generate_attention_mask": gb_mask.tolist(),
            "generate": generations(model, gb_ids, gb_mask),
            "generate_single": [
                {"settings": s, "sequences": model.generate(input_ids=torch.tensor([r]), **s).tolist()}
                for s in SETTINGS[:8]
                for r in src_rows[:2]
            ],
        }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
