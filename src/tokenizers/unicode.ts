/**
 * Character classes and Unicode normalization as Hugging Face tokenizers computes them, from the
 * probed tables in unicode-tables.ts, so that qkv's ids do not depend on which Unicode version
 * the JavaScript engine ships (Node 20 has Unicode 17; tokenizers 0.23's classes are Unicode 16's,
 * its normalization crate's older still).
 */

import {
  BERT_CHINESE,
  BERT_CONTROL,
  BERT_NONSPACING_MARK,
  BERT_PUNCTUATION,
  BERT_SPACE,
  BERT_WHITESPACE,
  COMBINING_MARK,
  GPT2_LETTER,
  GPT2_NUMBER,
  GPT2_WHITESPACE,
  LOWERCASE_RUNS,
  LOWERCASE_SPECIAL,
  NORMALIZATION_KNOWN,
} from "./unicode-tables.js";

/**
 * A set of code points given as inclusive ranges, with an O(1) table for the BMP and binary
 * search above it.
 *
 * @example
 * ```ts
 * const digits = new CodePointSet([0x30, 0x39]);
 * digits.has(0x35); // true
 * ```
 */
export class CodePointSet {
  private bmp: Uint8Array | null = null;
  private astral: Int32Array = new Int32Array(0);

  constructor(private readonly flatRanges: readonly number[]) {}

  /** Build the lookup tables on first use, so importing qkv costs nothing. */
  private build(): Uint8Array {
    const bmp = new Uint8Array(0x10000);
    const astral: number[] = [];
    const r = this.flatRanges;
    for (let i = 0; i < r.length; i += 2) {
      const lo = r[i];
      const hi = r[i + 1];
      if (lo <= 0xffff) bmp.fill(1, lo, Math.min(hi, 0xffff) + 1);
      if (hi > 0xffff) astral.push(Math.max(lo, 0x10000), hi);
    }
    this.astral = Int32Array.from(astral);
    this.bmp = bmp;
    return bmp;
  }

  /** Whether `cp` is in the set. */
  has(cp: number): boolean {
    const bmp = this.bmp ?? this.build();
    if (cp <= 0xffff) return bmp[cp] === 1;
    const r = this.astral;
    let lo = 0;
    let hi = r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < r[2 * mid]) hi = mid - 1;
      else if (cp > r[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

/** The GPT-2 split's `\p{L}`, `\p{N}` and `\s`, pinned to tokenizers' Unicode version. */
export const GPT2_CLASSES = {
  letter: new CodePointSet(GPT2_LETTER),
  number: new CodePointSet(GPT2_NUMBER),
  whitespace: new CodePointSet(GPT2_WHITESPACE),
};

/** BertPreTokenizer and BertNormalizer's classes (Rust `char` methods as compiled into tokenizers). */
export const BERT_CLASSES = {
  whitespace: new CodePointSet(BERT_WHITESPACE),
  punctuation: new CodePointSet(BERT_PUNCTUATION),
  control: new CodePointSet(BERT_CONTROL),
  space: new CodePointSet(BERT_SPACE),
  chinese: new CodePointSet(BERT_CHINESE),
  combiningMark: new CodePointSet(COMBINING_MARK),
  nonspacingMark: new CodePointSet(BERT_NONSPACING_MARK),
};

const NORMALIZATION_KNOWN_SET = new CodePointSet(NORMALIZATION_KNOWN);

let lowerMap: Map<number, string> | null = null;

function lowerTable(): Map<number, string> {
  if (lowerMap !== null) return lowerMap;
  const map = new Map<number, string>();
  for (let i = 0; i < LOWERCASE_RUNS.length; i += 3) {
    for (let cp = LOWERCASE_RUNS[i]; cp <= LOWERCASE_RUNS[i + 1]; cp++) {
      map.set(cp, String.fromCodePoint(cp + LOWERCASE_RUNS[i + 2]));
    }
  }
  for (const [cp, s] of Object.entries(LOWERCASE_SPECIAL)) map.set(Number(cp), s);
  lowerMap = map;
  return map;
}

/**
 * Lowercase as tokenizers' `Lowercase` normalizer does: each code point on its own (Rust's
 * `char::to_lowercase`, so no context-dependent final sigma), with tokenizers' Unicode tables.
 *
 * @example
 * ```ts
 * hfLowercase("ΣΑΣ İ"); // "σασ i̇"
 * ```
 */
export function hfLowercase(text: string): string {
  const table = lowerTable();
  let out = "";
  for (const ch of text) {
    const mapped = table.get(ch.codePointAt(0)!);
    out += mapped ?? ch;
  }
  return out;
}

/**
 * A Unicode normalization form as tokenizers applies it. Its normalization crate knows an older
 * Unicode than the engine, so code points it does not know (newer or unassigned ones) are left
 * untouched and act as barriers: the text between them goes through `String.normalize`, which
 * agrees with tokenizers on every code point it does know (checked by the table generator).
 *
 * @example
 * ```ts
 * hfNormalize("ﬁ é", "NFKC"); // "fi é"
 * ```
 */
export function hfNormalize(text: string, form: "NFC" | "NFD" | "NFKC" | "NFKD"): string {
  let out = "";
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (!NORMALIZATION_KNOWN_SET.has(cp)) {
      if (i > start) out += text.slice(start, i).normalize(form);
      out += text.slice(i, i + width);
      start = i + width;
    }
    i += width;
  }
  if (start === 0) return text.normalize(form);
  return out + text.slice(start).normalize(form);
}
