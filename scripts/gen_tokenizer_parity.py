#!/usr/bin/env python3
"""Parity fixtures for qkv's Hugging Face tokenizer.json pipeline (test/fixtures/tokenizers/parity/).

Oracle: Hugging Face `tokenizers` (0.23 in /work/venv) and, for the SentencePiece-converted file,
`sentencepiece` + transformers' own SpmConverter/T5Converter. sentencepiece is not in /work/venv;
put it beside it from the local pip mirror:

    /work/venv/bin/pip install --no-index --find-links /opt/pypi/files --target /tmp/spmlib sentencepiece protobuf==6.33.6
    PYTHONPATH=/tmp/spmlib /work/venv/bin/python scripts/gen_tokenizer_parity.py

Everything is built locally (no hub): tokenizers trained on test/fixtures/tokenizers/corpus.txt
(Shakespeare + hostile lines), then each encodes the same seeded hostile strings. Writes:
  <name>.tokenizer.json   wordpiece, wordpiece-cased, unigram, unigram-bytefallback, spm-t5,
                          spm-bytefallback, bpe (GPT-2 style), roberta, llama-style, unigram-nfd,
                          wordpiece-padded (padding and truncation in the file), wordpiece-added
                          (added tokens with single_word/lstrip/rstrip/normalized); and qkv-wordpiece, which
                          qkv trains (test/tokenizers/export-wordpiece.ts, via npx tsx)
  cases.json.gz           (gzip) the strings; per tokenizer ids, decodings, pair ids/type ids;
                          batches with padding/truncation; the GPT-2 split probes
  wordpiece-train.json    HF WordPieceTrainer's vocabulary on the corpus (qkv compares its own).
                          HF's WordPiece training is not deterministic (hash-map order): rerun,
                          this script gives a slightly different wordpiece.tokenizer.json
"""

import gzip
import json
import pathlib
import random
import subprocess
import sys
import unicodedata

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "tokenizers" / "parity"
CORPUS = ROOT / "test" / "fixtures" / "tokenizers" / "corpus.txt"
SEED = 20261202
N_STRINGS = 2000
N_PAIRS = 400

# Code point pools for the generator: (weight, ranges or explicit list).
POOLS = [
    (8, [(0x61, 0x7A), (0x41, 0x5A)]),  # ASCII letters
    (3, [(0x30, 0x39)]),
    (3, [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)]),  # ASCII punctuation
    (4, [[0x20], [0x20], [0x20], [0x9], [0xA], [0xD], [0xA0], [0x3000], [0x2003], [0x85], [0x2028], [0x200B], [0xFEFF], [0x1680]]),
    (2, [(0x0, 0x1F), (0x7F, 0x9F)]),  # controls, C1
    (3, [(0xC0, 0x24F)]),  # Latin-1, Latin extended
    (2, [(0x370, 0x3FF), (0x400, 0x4FF)]),  # Greek, Cyrillic (case, final sigma)
    (3, [(0x300, 0x36F)]),  # combining marks
    (2, [(0x591, 0x5F4), (0x600, 0x6FF)]),  # Hebrew, Arabic
    (2, [(0x900, 0x97F), (0xE00, 0xE5B)]),  # Devanagari, Thai
    (3, [(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x1100, 0x11FF)]),  # CJK, kana, Hangul, jamo
    (1, [(0x20000, 0x2A6DF), (0x30000, 0x3134A), (0x31350, 0x323AF), (0x2EBF0, 0x2EE5D)]),  # CJK ext B, G, H, I
    (2, [(0xFF01, 0xFF5E), (0xFB00, 0xFB06), (0x2460, 0x24FF), (0x2150, 0x218B), (0x1D400, 0x1D7FF), (0x3300, 0x33FF)]),  # NFKC fodder
    (2, [(0x1F300, 0x1FAFF), (0x2600, 0x27BF)]),  # emoji, symbols
    (1, [(0x1F3FB, 0x1F3FF), (0xFE00, 0xFE0F), (0x1F1E6, 0x1F1FF), [0x200D], [0x20E3]]),  # skin tones, VS, flags, ZWJ, keycap
    (2, [[0x88F], (0x11DB0, 0x11DDB), (0x1E030, 0x1E08F), (0x10D40, 0x10D8F), (0x11F00, 0x11F59), (0x16D40, 0x16D79), (0x11380, 0x113E2), (0x105C0, 0x105F3), (0x1E5D0, 0x1E5FF), (0x1C89, 0x1C8A), (0xA7CB, 0xA7DC), [0x32FF], (0xA7F1, 0xA7F4), (0x10780, 0x107BA), (0x16100, 0x16139)]),  # new in Unicode 14-17
    (1, [(0x40000, 0x4FFFF), (0xE0000, 0xE007F), (0xE000, 0xF8FF), (0xFFF0, 0xFFFF), (0xFDD0, 0xFDEF), (0x10FFF0, 0x10FFFD)]),  # unassigned, tags, private use, specials
]

EMOJI_SEQUENCES = ["👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨", "🏳️‍🌈", "🇯🇵🇫🇷", "👍🏽", "1️⃣", "🧑🏿‍🚀", "❤️‍🔥", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]
WORDS = ["the", "Citizen", "ROMEO", "thou", "art", "don't", "I'm", "we'll", "they've", "it's", "café", "naïve", "Straße", "ǅemal", "ΣΟΦΟΣ", "İstanbul", "ﬁne", "Ｆｕｌｌ", "①②", "x²", "ℌ", "㍻", "e\u0301", "a\u0308\u0323", "Z\u0351\u0359\u0332"]
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "<s>", "</s>", "<mask>", "<pad>", "<unk>", "<|endoftext|>", "<|im-start|>", "New-Word", "[X]", "hello", "HELLO"]


def random_string(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.03:  # very long word
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(95, 320)))
    n = rng.randint(0, 40)
    out = []
    weights = [w for w, _ in POOLS]
    for _ in range(n):
        r = rng.random()
        if r < 0.04:
            out.append(rng.choice(EMOJI_SEQUENCES))
        elif r < 0.12:
            out.append(rng.choice(WORDS))
        elif r < 0.14:
            out.append(rng.choice(SPECIALS) if rng.random() < 0.8 else " " + rng.choice(SPECIALS) + " ")
        else:
            ranges = rng.choices(POOLS, weights=weights)[0][1]
            pick = rng.choice(ranges)
            cp = pick[0] if len(pick) == 1 else rng.randint(pick[0], pick[1])
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0x41
            out.append(chr(cp))
    return "".join(out)


def bert_wordpiece(corpus_lines):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def unigram(corpus_lines, byte_fallback):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(tokenizers.Regex(" {2,}"), " "), normalizers.Strip(right=True, left=False)])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first" if byte_fallback else "always")
    trainer = trainers.UnigramTrainer(vocab_size=900, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    if byte_fallback:
        # The Python trainer has no byte_fallback option: add the 256 byte pieces and switch it on.
        j = json.loads(tok.to_str())
        j["model"]["vocab"] += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
        j["model"]["byte_fallback"] = True
        tok = Tokenizer.from_str(json.dumps(j))
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    else:
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 2)])
    return tok


def spm_converted(corpus_lines, byte_fallback):
    """Train a real SentencePiece model (nmt_nfkc charsmap) and convert it with transformers."""
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import SpmConverter, T5Converter

    path = OUT / f"_spm{'_bf' if byte_fallback else ''}"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines), model_prefix=str(path), vocab_size=800, model_type="unigram",
        character_coverage=0.9995, byte_fallback=byte_fallback, minloglevel=2,
    )

    class Slow:  # the attributes the converters read from a slow tokenizer
        vocab_file = str(path) + ".model"
        legacy = True
        add_prefix_space = True
        _extra_ids = 0
        eos_token = "</s>"
        unk_token = "<unk>"

        def convert_tokens_to_ids(self, t):
            return 2

    tok = (SpmConverter if byte_fallback else T5Converter)(Slow()).converted()
    if byte_fallback:
        # transformers' generic SpmConverter leaves byte fallback off; switch it on as LLaMA-style
        # files have it, with the decoder such files carry.
        j = json.loads(tok.to_str())
        j["model"]["byte_fallback"] = True
        j["decoder"] = json.loads(decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]).__getstate__())
        tok = Tokenizer.from_str(json.dumps(j))
    for suffix in (".model", ".vocab"):
        pathlib.Path(str(path) + suffix).unlink()
    return tok


def byte_level_bpe(corpus_lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    return tok


def roberta(corpus_lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    return tok


def packed(ids):
    """Ids as one space-separated string (keeps the fixture small)."""
    return " ".join(map(str, ids))


def record(tok, strings, pairs):
    """Per string: ids, and the decoding (null where it equals the input); ids without special
    tokens and the decoding that keeps them are stored only where they differ."""
    # One encode() per string, not encode_batch: with padding on, a batch pads to its longest.
    ids = [tok.encode(s).ids for s in strings]
    decoded = tok.decode_batch(ids)
    with_special = tok.decode_batch(ids, skip_special_tokens=False)
    plain = [tok.encode(s, add_special_tokens=False).ids for s in strings]
    penc = [tok.encode(a, b) for a, b in pairs]
    return {
        "ids": [packed(x) for x in ids],
        "decoded": [None if d == s else d for d, s in zip(decoded, strings)],
        "decoded_with_special": {str(i): w for i, (w, d) in enumerate(zip(with_special, decoded)) if w != d},
        "plain_ids": {str(i): packed(p) for i, (p, x) in enumerate(zip(plain, ids)) if p != x},
        "pair_ids": [packed(e.ids) for e in penc],
        "pair_type_ids": [packed(e.type_ids) for e in penc],
    }


def batches(tok, strings, pairs):
    """encode_batch under several padding/truncation settings."""
    configs = [
        {"padding": {"direction": "right"}, "truncation": None},
        {"padding": {"direction": "left", "pad_to_multiple_of": 8}, "truncation": {"max_length": 12, "strategy": "longest_first"}},
        {"padding": {"direction": "right", "length": 24}, "truncation": {"max_length": 24, "strategy": "longest_first", "direction": "left"}},
        {"padding": None, "truncation": {"max_length": 16, "strategy": "only_second"}},
        {"padding": {"direction": "right", "pad_to_multiple_of": 5}, "truncation": {"max_length": 9, "strategy": "only_first"}},
    ]
    out = []
    for cfg in configs:
        t = Tokenizer.from_str(tok.to_str())
        pad_id = t.token_to_id("[PAD]") if t.token_to_id("[PAD]") is not None else (t.token_to_id("<pad>") or 0)
        if cfg["padding"]:
            t.enable_padding(pad_id=pad_id, pad_type_id=0, **cfg["padding"])
        if cfg["truncation"]:
            t.enable_truncation(**cfg["truncation"])
        inputs = [(a, b) for a, b in pairs] if cfg["truncation"] and cfg["truncation"]["strategy"] != "longest_first" else strings[:6] + [list(p) for p in pairs[:6]]
        inputs = [tuple(x) if isinstance(x, list) else x for x in inputs]
        try:
            enc = t.encode_batch(inputs)
            result = {"ids": [e.ids for e in enc], "type_ids": [e.type_ids for e in enc], "attention_mask": [e.attention_mask for e in enc], "error": None}
        except Exception as e:
            result = {"error": str(e)}
        out.append({"config": cfg, "pad_id": pad_id, "inputs": [list(x) if isinstance(x, tuple) else x for x in inputs], **result})
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = CORPUS.read_text(encoding="utf-8")
    lines = corpus.splitlines()
    rng = random.Random(SEED)
    strings = ["", " ", "Hello, World!", "First Citizen:\nBefore we proceed any further, hear me speak.", "unaffable [MASK] re-entry", "<s>a</s> <mask> b"] + [random_string(rng) for _ in range(N_STRINGS)]
    # Pairs: short neighbours, so truncation settings have something to do.
    pairs = [(strings[i][:30], strings[i + 1][:30]) for i in range(6, 6 + N_PAIRS)]
    batch_strings = [s for s in strings[6:200] if 3 < len(s) < 40][:40]
    batch_pairs = [(a, b) for a, b in pairs if a and b][:20]

    built = {
        "wordpiece": bert_wordpiece(lines),
        "unigram": unigram(lines, False),
        "unigram-bytefallback": unigram(lines, True),
        "spm-t5": spm_converted(lines, False),
        "spm-bytefallback": spm_converted(lines, True),
        "bpe": byte_level_bpe(lines),
        "roberta": roberta(lines),
    }
    # qkv's own WordPiece training output, encoded by HF (qkv must agree on its own file).
    subprocess.run(["npx", "tsx", "test/tokenizers/export-wordpiece.ts"], cwd=ROOT, check=True)
    built["qkv-wordpiece"] = Tokenizer.from_file(str(OUT / "qkv-wordpiece.tokenizer.json"))
    cased = Tokenizer.from_str(built["wordpiece"].to_str())
    cased.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    cased.post_processor = processors.BertProcessing(("[SEP]", cased.token_to_id("[SEP]")), ("[CLS]", cased.token_to_id("[CLS]")))
    built["wordpiece-cased"] = cased

    # Older LLaMA-style files: no pre-tokenizer, the normalizer prepends ▁ and replaces spaces.
    llama = Tokenizer.from_str(built["unigram-bytefallback"].to_str())
    llama.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    llama.pre_tokenizer = None
    built["llama-style"] = llama
    # The other Unicode normalizers, and Metaspace without prepending or splitting.
    nfd = Tokenizer.from_str(built["unigram"].to_str())
    nfd.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(), normalizers.NFC(), normalizers.Strip()])
    nfd.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=False)
    nfd.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="never", split=False)
    built["unigram-nfd"] = nfd
    # Added tokens with every matching flag: regex characters in the content, single_word,
    # lstrip/rstrip, normalized (matched after lowercasing) and not.
    added = Tokenizer.from_str(built["wordpiece"].to_str())
    added.add_special_tokens([tokenizers.AddedToken("<|im-start|>", normalized=False), tokenizers.AddedToken("[X]", lstrip=True, rstrip=True, normalized=False)])
    added.add_tokens([tokenizers.AddedToken("New-Word", single_word=True, normalized=True), tokenizers.AddedToken("hello", normalized=True), tokenizers.AddedToken("HELLO", normalized=False)])
    built["wordpiece-added"] = added
    # Padding and truncation given in the file itself: HF applies them in encode().
    padded = Tokenizer.from_str(built["wordpiece"].to_str())
    padded.enable_padding(direction="left", pad_id=0, pad_token="[PAD]", pad_to_multiple_of=8)
    padded.enable_truncation(max_length=20, strategy="longest_first")
    built["wordpiece-padded"] = padded

    cases = {"oracle": f"huggingface tokenizers {tokenizers.__version__} (Python), seed {SEED}", "strings": strings, "pairs": [list(p) for p in pairs], "tokenizers": {}}
    for name, tok in built.items():
        if name != "qkv-wordpiece":
            tok.save(str(OUT / f"{name}.tokenizer.json"))
        rec = record(tok, strings, pairs)
        if name in ("wordpiece", "roberta", "spm-t5"):
            rec["batches"] = batches(tok, batch_strings, batch_pairs)
        cases["tokenizers"][name] = rec
        roundtrip = sum(d is None for d in rec["decoded"])
        print(f"{name}: {len(strings)} strings, HF round-trips {roundtrip}; decoder {json.loads(tok.to_str())['decoder']['type'] if json.loads(tok.to_str())['decoder'] else None}")

    # The GPT-2 split around code points whose class the engine's Unicode may see differently.
    split = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    probe_cps = [0x88F, *range(0x11DB0, 0x11DDC), 0x1E030, 0x10D4A, 0x2EBF0, 0x31350, 0x1C89, 0xA7CB]
    probes = ["a" + chr(cp) + "b" for cp in probe_cps]
    cases["split_probes"] = [{"cp": cp, "pieces": [s[a:b] for _, (a, b) in split.pre_tokenize_str(s)]} for cp, s in zip(probe_cps, probes)]

    # HF's WordPiece training vocabulary (its `##x` ids vary between runs: hash-map order).
    cases_text = json.dumps(cases, ensure_ascii=False)
    for old in OUT.glob("cases.json*"):
        old.unlink()
    (OUT / "cases.json.gz").write_bytes(gzip.compress(cases_text.encode("utf-8"), mtime=0))
    wp_vocab = json.loads(built["wordpiece"].to_str())["model"]["vocab"]
    (OUT / "wordpiece-train.json").write_text(json.dumps({"vocab_size": 2000, "vocab": sorted(wp_vocab)}, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {OUT} ({len(cases_text) / 1e6:.1f} MB of cases)")


if __name__ == "__main__":
    main()
