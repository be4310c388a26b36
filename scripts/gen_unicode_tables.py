#!/usr/bin/env python3
"""Probe Hugging Face tokenizers for the character classes its Rust code uses, and write them as
compact range tables to src/tokenizers/unicode-tables.ts.

Why probe instead of reading a Unicode database: tokenizers' classes come from the Rust crates it
was built with (onig's tables for the GPT-2 regex, Rust's std `char` methods, the
`unicode_categories` and `unicode-normalization-alignments` crates), each pinned to some Unicode
version that is not the JavaScript engine's. Asking tokenizers itself, code point by code point,
gives exactly its answer. Run with /work/venv/bin/python (tokenizers 0.23); takes about a minute.

Classes written (each a sorted list of inclusive [lo, hi] ranges):
  GPT2_LETTER, GPT2_NUMBER, GPT2_WHITESPACE  the ByteLevel regex's \\p{L}, \\p{N}, \\s
  BERT_WHITESPACE, BERT_PUNCTUATION          BertPreTokenizer's split and isolate classes
  BERT_CONTROL, BERT_SPACE                   BertNormalizer clean_text: removed / turned into " "
  BERT_CHINESE                               BertNormalizer handle_chinese_chars
  COMBINING_MARK                             what StripAccents removes (Mn, Mc, Me)
  BERT_NONSPACING_MARK                       what BertNormalizer's strip_accents removes after NFD (Mn)
  LOWERCASE                                  the Lowercase normalizer's map, as [lo, hi, delta] runs
                                             plus LOWERCASE_SPECIAL for multi-character results
  NORMALIZATION_KNOWN                        code points whose NFD/NFKD/NFC/NFKC behaviour (single
                                             character and canonical combining class) in tokenizers
                                             equals this Python's Unicode database; tokenizers'
                                             normalization crate is older, so the rest (newer
                                             characters, and unassigned ones) are "frozen": qkv
                                             normalizes the text between them and leaves them as is
"""

import json
import pathlib
import sys
import unicodedata

import tokenizers
from tokenizers import normalizers, pre_tokenizers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "tokenizers" / "unicode-tables.ts"

# Planes 4-13 have no assigned characters in any Unicode version yet, and 15-16 are private use;
# they are probed at a stride only, to confirm they are "other" everywhere.
DENSE = list(range(0, 0x40000)) + list(range(0xE0000, 0xE1000))
SPARSE = list(range(0x40000, 0xE0000, 0x101)) + list(range(0xF0000, 0x110000, 0x101))


def code_points():
    for cp in DENSE:
        if not 0xD800 <= cp <= 0xDFFF:
            yield cp


def offsets(pre, s):
    return [o for _, o in pre.pre_tokenize_str(s)]


def ranges(cps):
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def normalization_known():
    """Assigned code points (in this Python's Unicode) on which tokenizers' normalizers agree with
    unicodedata: same single-character result in all four forms, and the same canonical
    combining class as seen through reordering against U+0334 (class 1) and U+0301 (class 230)."""
    forms = {f: getattr(normalizers, f)() for f in ["NFD", "NFKD", "NFC", "NFKC"]}
    known = set()
    frozen_starters = set()
    for cp in code_points():
        c = chr(cp)
        if unicodedata.category(c) == "Cn":
            continue
        same = all(n.normalize_str(c) == unicodedata.normalize(f, c) for f, n in forms.items())
        for probe in (c + "\u0334", "\u0301" + c):
            if forms["NFD"].normalize_str(probe) != unicodedata.normalize("NFD", probe):
                same = False
        if same:
            known.add(cp)
        else:
            # A character tokenizers does not decompose must not be recomposed from its parts
            # either: freeze the starter of its canonical decomposition too.
            d = unicodedata.decomposition(c)
            if d and not d.startswith("<"):
                frozen_starters.add(int(d.split()[0], 16))
    return known - frozen_starters


def main():
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bert_pre = pre_tokenizers.BertPreTokenizer()
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = normalizers.StripAccents()
    bert_strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = normalizers.Lowercase()

    cls = {k: set() for k in ["gl", "gn", "gw", "bw", "bp", "bc", "bs", "zh", "mn", "bmn"]}
    lower_map = {}

    def probe(cp):
        c = chr(cp)
        p1 = offsets(byte_level, "a" + c + "1")
        if cp == 0x20:
            cls["gw"].add(cp)
        elif p1 == [(0, 2), (2, 3)]:
            cls["gl"].add(cp)
        elif p1 == [(0, 1), (1, 3)]:
            cls["gn"].add(cp)
        elif offsets(byte_level, "!" + c) == [(0, 1), (1, 2)]:
            cls["gw"].add(cp)
        b = offsets(bert_pre, "a" + c + "a")
        if b == [(0, 1), (2, 3)]:
            cls["bw"].add(cp)
        elif b == [(0, 1), (1, 2), (2, 3)]:
            cls["bp"].add(cp)
        n = clean.normalize_str("a" + c + "a")
        if n == "aa":
            cls["bc"].add(cp)
        elif n == "a a" and c != " ":
            cls["bs"].add(cp)
        if chinese.normalize_str(c) == " " + c + " ":
            cls["zh"].add(cp)
        if strip.normalize_str(c) == "":
            cls["mn"].add(cp)
        if bert_strip.normalize_str("a" + c) == "a":
            cls["bmn"].add(cp)
        lo = lower.normalize_str(c)
        if lo != c:
            lower_map[cp] = lo

    for cp in code_points():
        probe(cp)
    known = normalization_known()
    sparse_hits = []
    for cp in SPARSE:
        before = sum(len(v) for v in cls.values()) + len(lower_map)
        probe(cp)
        if sum(len(v) for v in cls.values()) + len(lower_map) != before:
            sparse_hits.append(cp)
    if sparse_hits and any(not 0xF0000 <= cp for cp in sparse_hits):
        sys.exit(f"unexpected classes in the sparsely probed planes: {sparse_hits[:10]}")
    # Planes 15-16 (private use) behave as the BMP's private use area; give them whole ranges.
    for key, s in cls.items():
        if any(0xF0000 <= cp for cp in s):
            s.update(range(0xF0000, 0xFFFFE))
            s.update(range(0x100000, 0x10FFFE))

    # Which Unicode version do the GPT-2 classes follow? Compare with this Python's database.
    py_letters = {cp for cp in code_points() if unicodedata.category(chr(cp)).startswith("L")}
    only_hf = sorted(cls["gl"] - py_letters)
    only_py = sorted(py_letters - cls["gl"])
    probes = {
        "U+1E030 (Unicode 15.0, Lm)": 0x1E030,
        "U+11F04 (Unicode 15.0, Kawi)": 0x11F04,
        "U+31350 (Unicode 15.0, CJK Ext H)": 0x31350,
        "U+2EBF0 (Unicode 15.1, CJK Ext I)": 0x2EBF0,
        "U+10D4A (Unicode 16.0, Garay)": 0x10D4A,
        "U+088F (Unicode 17.0)": 0x088F,
        "U+11DB0 (Unicode 17.0)": 0x11DB0,
    }
    report = {name: cp in cls["gl"] or cp in cls["gn"] for name, cp in probes.items()}

    runs = []  # [lo, hi, delta] where every cp in lo..hi maps to the single cp + delta
    special = {}
    for cp in sorted(lower_map):
        lo = lower_map[cp]
        if len(lo) != 1:
            special[cp] = lo
            continue
        d = ord(lo) - cp
        if runs and runs[-1][1] == cp - 1 and runs[-1][2] == d:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, d])

    def table(name, doc, cps):
        flat = ",".join(f"{a},{b}" for a, b in ranges(cps))
        return f"/** {doc} */\nexport const {name}: readonly number[] = [{flat}];\n"

    header = (
        "/**\n"
        " * Character classes of Hugging Face tokenizers "
        f"{tokenizers.__version__}, probed code point by code point by\n"
        " * scripts/gen_unicode_tables.py (do not edit). Each table is a flat list of inclusive\n"
        " * [lo, hi] code point ranges, so qkv's answers do not depend on the engine's Unicode version.\n"
        f" * The GPT-2 letter class agrees with Unicode {unicodedata.unidata_version} except at "
        f"{len(only_hf)} + {len(only_py)} code points.\n"
        " */\n\n"
        "// Generated by scripts/gen_unicode_tables.py. Do not edit.\n\n"
    )
    body = [
        f'/** Version of Hugging Face tokenizers the tables were probed from. */\nexport const UNICODE_TABLES_SOURCE = "tokenizers {tokenizers.__version__}";\n',
        table("GPT2_LETTER", "The GPT-2 split's `\\p{L}` (onig, as compiled into tokenizers).", cls["gl"]),
        table("GPT2_NUMBER", "The GPT-2 split's `\\p{N}`.", cls["gn"]),
        table("GPT2_WHITESPACE", "The GPT-2 split's `\\s`.", cls["gw"]),
        table("BERT_WHITESPACE", "What BertPreTokenizer splits on and drops (Rust's `char::is_whitespace`).", cls["bw"]),
        table("BERT_PUNCTUATION", "What BertPreTokenizer isolates as single-character tokens.", cls["bp"]),
        table("BERT_CONTROL", "What BertNormalizer's clean_text removes.", cls["bc"]),
        table("BERT_SPACE", "What BertNormalizer's clean_text turns into a space (besides the space itself).", cls["bs"]),
        table("BERT_CHINESE", "What BertNormalizer's handle_chinese_chars pads with spaces.", cls["zh"]),
        table("COMBINING_MARK", "What StripAccents removes (combining marks: Mn, Mc, Me).", cls["mn"]),
        table("BERT_NONSPACING_MARK", "What BertNormalizer's strip_accents removes after NFD (nonspacing marks, Mn).", cls["bmn"]),
        table(
            "NORMALIZATION_KNOWN",
            "Code points tokenizers' Unicode normalization treats as the Unicode "
            f"{unicodedata.unidata_version} database does; others are left untouched.",
            known,
        ),
        "/** Lowercase normalizer: [lo, hi, delta] runs; every code point in lo..hi maps to itself + delta. */\n"
        f"export const LOWERCASE_RUNS: readonly number[] = [{','.join(f'{a},{b},{d}' for a, b, d in runs)}];\n",
        "/** Lowercase normalizer results longer than one code point. */\n"
        f"export const LOWERCASE_SPECIAL: Readonly<Record<number, string>> = {json.dumps(special, ensure_ascii=True)};\n",
    ]
    OUT.write_text(header + "\n".join(body))
    print(f"tokenizers {tokenizers.__version__}; Python unicodedata {unicodedata.unidata_version}")
    print(f"GPT-2 letters: {len(cls['gl'])}; only in HF: {len(only_hf)} {[hex(c) for c in only_hf[:8]]}; only in Python's: {len(only_py)} {[hex(c) for c in only_py[:8]]}")
    for name, hit in report.items():
        print(f"  {name}: {'letter/number' if hit else 'other'}")
    print({k: len(v) for k, v in cls.items()}, "lowercase", len(lower_map), "runs", len(runs))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
