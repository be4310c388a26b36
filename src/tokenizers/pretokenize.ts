/**
 * GPT-2's pre-tokenization: the regex that cuts text into word-like chunks before byte-pair
 * merging, so that merges never cross a chunk boundary (e.g. never fuse a word with the
 * punctuation after it).
 */

import { GPT2_CLASSES } from "./unicode.js";

/**
 * The GPT-2 split pattern. It is the familiar
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 * with `\s` spelled `\p{White_Space}`: JavaScript's `\s` also matches U+FEFF and misses U+0085,
 * while Hugging Face tokenizers (Oniguruma) and tiktoken use the Unicode White_Space property.
 * Spelling it out makes qkv split exactly as they do.
 *
 * @example
 * ```ts
 * "Hello world".match(new RegExp(GPT2_SPLIT_PATTERN, "gu")); // ["Hello", " world"]
 * ```
 */
export const GPT2_SPLIT_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

/** Character class of one code point in the GPT-2 split. */
enum Cls {
  Letter,
  Number,
  Space,
  Other,
}

function classOf(cp: number): Cls {
  if (GPT2_CLASSES.letter.has(cp)) return Cls.Letter;
  if (GPT2_CLASSES.number.has(cp)) return Cls.Number;
  if (GPT2_CLASSES.whitespace.has(cp)) return Cls.Space;
  return Cls.Other;
}

/**
 * Cut text into GPT-2 pre-tokens. The chunks concatenate back to `text` exactly: every code
 * point is a letter, a number, whitespace or "other", and each class has an alternative.
 *
 * This is {@link GPT2_SPLIT_PATTERN} run as a hand-written scanner whose classes come from
 * tables probed out of Hugging Face tokenizers (unicode-tables.ts) rather than the engine's
 * `\p{L}` and `\p{N}`, so the chunks are the same on every JavaScript engine. A lone surrogate
 * counts as "other", as in a unicode-mode regex.
 *
 * @example
 * ```ts
 * gpt2PreTokenize("I'm here  now!"); // ["I", "'m", " here", " ", " now", "!"]
 * ```
 */
export function gpt2PreTokenize(text: string): string[] {
  const n = text.length;
  const out: string[] = [];
  const cpAt = (i: number) => text.codePointAt(i)!;
  const width = (cp: number) => (cp > 0xffff ? 2 : 1);
  /** End of the run of class `c` starting at `i`. */
  const runEnd = (i: number, c: Cls): number => {
    while (i < n) {
      const cp = cpAt(i);
      if (classOf(cp) !== c) break;
      i += width(cp);
    }
    return i;
  };
  let i = 0;
  while (i < n) {
    const ch = text.charCodeAt(i);
    // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2's pattern)
    if (ch === 0x27 && i + 1 < n) {
      const a = text[i + 1];
      if (a === "s" || a === "t" || a === "m" || a === "d") {
        out.push(text.slice(i, i + 2));
        i += 2;
        continue;
      }
      const ab = text.slice(i + 1, i + 3);
      if (ab === "re" || ab === "ve" || ab === "ll") {
        out.push(text.slice(i, i + 3));
        i += 3;
        continue;
      }
    }
    // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an optional single space, then a run of one class.
    const j = ch === 0x20 && i + 1 < n ? i + 1 : i;
    const cls = classOf(cpAt(j));
    if (cls !== Cls.Space) {
      const end = runEnd(j, cls);
      out.push(text.slice(i, end));
      i = end;
      continue;
    }
    // `\s+(?!\S)|\s+`: a whitespace run, leaving its last character to the next chunk when a
    // non-space follows (that character may then start " word"). Whitespace is all in the BMP.
    const end = runEnd(i, Cls.Space);
    const stop = end < n && end - 1 > i ? end - 1 : end;
    out.push(text.slice(i, stop));
    i = stop;
  }
  return out;
}
