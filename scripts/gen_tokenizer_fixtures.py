#!/usr/bin/env python3
"""Generate Hugging Face parity fixtures for qkv's tokenizers (test/fixtures/tokenizers/).

Oracle: the Hugging Face `tokenizers` Python package. Debian has no package for it; on these
machines a wheel sits in the local pip mirror, so set up a throwaway venv once:

    /usr/bin/python3 -m venv /tmp/hfvenv
    /tmp/hfvenv/bin/pip install --no-index --find-links /opt/pypi/files tokenizers==0.22.2
    /tmp/hfvenv/bin/python scripts/gen_tokenizer_fixtures.py

What it writes:
  corpus.txt                   training text: first 50,000 chars of tinyshakespeare + hostile lines
  qkv-bpe.tokenizer.json       qkv ByteLevelBPE trained on corpus.txt (via `npx tsx`)
  qkv-char.tokenizer.json      qkv CharTokenizer built from corpus.txt (via `npx tsx`)
  hf-bpe.tokenizer.json        HF ByteLevel BPE trained on corpus.txt
  hf-bpe-vocab.json, hf-bpe-merges.txt   the same model in GPT-2's two-file form
  cases.json                   test strings and the ids / decodings HF produces for each tokenizer
"""

import json
import pathlib
import subprocess
import sys

try:
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
except ImportError:
    sys.exit("needs the `tokenizers` package; see the setup steps at the top of this file")

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "tokenizers"
SHAKESPEARE = pathlib.Path("/work/shared/data/tinyshakespeare.txt")

# Must match QKV_BPE_OPTIONS in test/tokenizers/fixture-config.ts.
VOCAB_SIZE = 1000
SPECIALS = ["<|endoftext|>", "<|pad|>"]

# Lines that stress byte-level BPE: multi-byte scripts, emoji sequences, odd whitespace.
HOSTILE_LINES = [
    "Family: 👨‍👩‍👧‍👦, couple: 👩‍❤️‍👨, flags: 🇯🇵🇫🇷🏳️‍🌈, thumbs: 👍🏽👍🏿",
    "Combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0359\u0332a\u0325\u0353l\u0354g\u0330o\u0326",
    "CJK: 日本語のテキスト、中文文本，한국어 텍스트. 𠀀𠀁 (astral ideographs)",
    "RTL: שלום עולם — مرحبا بالعالم",
    "Indic: नमस्ते दुनिया, Thai: สวัสดีชาวโลก",
    "Tabs\tand\t\ttabs, spaces:     five, newlines follow",
    "",
    "",
    "Odd spaces: a\u00a0b\u2003c\u3000d\u2028e\u0085f\u200bg\ufeffh",
    "Numbers: 3.14159 1,000,000 ١٢٣ ⅷ 42nd",
    "Contractions: it's we're they've I'm you'll he'd IT'S WE'RE",
    "Symbols: ∑∫√∞ ≠ ≤ ≥ «quotes» “curly” ‘single’ … © ® ™ € £ ¥",
    "<|endoftext|>",
]

# Strings whose encodings are compared. Some characters here never occur in the corpus.
TEST_STRINGS = [
    "",
    "Hello world",
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "ROMEO:\nBut, soft! what light through yonder window breaks?",
    "  leading spaces and trailing spaces   ",
    "tabs\there\t\tand\t\t\tthere",
    "line one\n\nline three\r\nwindows line\r\n",
    "          ten spaces then word",
    "x" * 300,
    "a" + " " * 40 + "b",
    "it's we're they've I'm you'll he'd IT'S We'Re 's",
    "3.14159 1,000,000 2024-01-01 0x1F ١٢٣",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨",
    "flags 🇯🇵🇫🇷🏳️‍🌈 skin 👍🏽👍🏿 keycap 1️⃣",
    "e\u0301 a\u0308 n\u0303 Z\u0351\u0359\u0332a\u0325l\u0354g\u0330o",
    "日本語のテキスト 中文文本 한국어 𠀀𠀁",
    "שלום עולם مرحبا بالعالم",
    "नमस्ते दुनिया สวัสดีชาวโลก",
    "a\u00a0b\u2003c\u3000d\u2028e\u0085f\u200bg\ufeffh",
    "\ufeffstarts with a byte order mark",
    "x\ufeff\ufeff! x\u0085\u0085! x\u00a0\u00a0!",
    # Which characters count as whitespace changes the chunks around a merged "\n\n".
    "line\n\n\ufeffnext line\n\n\u0085next",
    # Equal-rank overlaps: "lll" must merge leftmost first, giving "ll" + "l".
    "\n\n\n lll eee sss ooo ttt Ill-will, 'tis full. \n\n\n\n\n",
    "control \u0000\u0001\u001f\u007f chars",
    "private use \ue000\uf8ff and noncharacter \ufffe\uffff",
    "∑∫√∞ ≠ ≤ ≥ «quotes» “curly” ‘single’ … © ® ™ € £ ¥",
    "<|endoftext|>",
    "before<|endoftext|>after",
    "<|endoftext|><|endoftext|><|pad|>",
    " <|endoftext|> spaced <|pad|> ",
    "<|endoftext partial <|pad| <|",
    "mixed: café ☕ naïve 😀 <|endoftext|> 日本 \t\n end",
]


def byte_level_bpe() -> Tokenizer:
    """An untrained HF tokenizer wired as GPT-2: ByteLevel pre-tokenizer, post-processor, decoder."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def encode_all(tok: Tokenizer, strings: list[str]) -> list[dict]:
    """Ids and decoded text for each string (decode keeps special tokens, as qkv does)."""
    out = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        out.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    return out


def write_cases(name: str, cases: dict) -> None:
    """JSON with one line per top-level entry, or per list item where the value is a list."""
    lines = []
    for key, value in cases.items():
        if isinstance(value, list) and value and not isinstance(value[0], int):
            items = ",\n  ".join(json.dumps(v, ensure_ascii=True) for v in value)
            lines.append(f"{json.dumps(key)}: [\n  {items}\n ]")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=True)}")
    (OUT / name).write_text("{\n " + ",\n ".join(lines) + "\n}\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = SHAKESPEARE.read_text(encoding="utf-8")[:50_000] + "\n" + "\n".join(HOSTILE_LINES) + "\n"
    (OUT / "corpus.txt").write_text(corpus, encoding="utf-8")

    # 1. qkv trains its tokenizers on the same corpus and saves them as tokenizer.json.
    subprocess.run(["npx", "tsx", "test/tokenizers/export-fixtures.ts"], cwd=ROOT, check=True)

    # 2. HF trains its own byte-level BPE on the corpus.
    hf = byte_level_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator([corpus], trainer=trainer)
    hf.save(str(OUT / "hf-bpe.tokenizer.json"))
    hf.model.save(str(OUT), "hf-bpe")  # hf-bpe-vocab.json + hf-bpe-merges.txt

    # The same model with add_prefix_space on (qkv reads this flag from tokenizer.json).
    hf_prefix = Tokenizer.from_str(hf.to_str())
    hf_prefix.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)

    # 3. HF loads qkv's files and encodes with them.
    qkv_bpe = Tokenizer.from_file(str(OUT / "qkv-bpe.tokenizer.json"))
    qkv_char = Tokenizer.from_file(str(OUT / "qkv-char.tokenizer.json"))
    char_alphabet = set(corpus.replace("<|endoftext|>", ""))  # qkv cuts special tokens out first
    char_strings = [s for s in TEST_STRINGS if set(s.replace("<|endoftext|>", "")) <= char_alphabet]
    char_unknown = []
    for s in TEST_STRINGS:
        if s in char_strings:
            continue
        try:
            qkv_char.encode(s)
            char_unknown.append({"text": s, "hf_error": None})
        except Exception as e:  # HF WordLevel raises when a character has no id and no unk token
            char_unknown.append({"text": s, "hf_error": str(e)})

    # HF's GPT-2 regex split of each string, as substrings of the original (offsets count code points).
    splitter = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    pretokenized = [[s[a:b] for _, (a, b) in splitter.pre_tokenize_str(s)] for s in TEST_STRINGS + HOSTILE_LINES]

    cases = {
        "oracle": f"huggingface tokenizers {tokenizers.__version__} (Python)",
        "strings": TEST_STRINGS,
        "pretokenize_strings": TEST_STRINGS + HOSTILE_LINES,
        "hf_pretokenize": pretokenized,
        "hf_bpe": encode_all(hf, TEST_STRINGS),
        "hf_bpe_add_prefix_space": encode_all(hf_prefix, TEST_STRINGS),
        "hf_on_qkv_bpe": encode_all(qkv_bpe, TEST_STRINGS),
        "hf_on_qkv_bpe_corpus_ids": qkv_bpe.encode(corpus, add_special_tokens=False).ids,
        "char_strings": char_strings,
        "hf_on_qkv_char": encode_all(qkv_char, char_strings),
        "hf_on_qkv_char_unknown": char_unknown,
    }
    write_cases("cases.json", cases)

    # Summary for whoever runs this: does HF round-trip every string through qkv's tokenizer?
    bad = [r["decoded"] for r, s in zip(cases["hf_on_qkv_bpe"], TEST_STRINGS) if r["decoded"] != s]
    print(f"{cases['oracle']}: wrote fixtures to {OUT}")
    print(f"HF decodes {len(TEST_STRINGS) - len(bad)}/{len(TEST_STRINGS)} strings back exactly with qkv-bpe")


if __name__ == "__main__":
    main()
