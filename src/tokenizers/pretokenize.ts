/**
 * GPT-2's pre-tokenization: the regex that cuts text into word-like chunks before byte-pair
 * merging, so that merges never cross a chunk boundary (e.g. never fuse a word with the
 * punctuation after it).
 */

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

const GPT2_SPLIT = new RegExp(GPT2_SPLIT_PATTERN, "gu");

/**
 * Cut text into GPT-2 pre-tokens. The chunks concatenate back to `text` exactly: every code
 * point is a letter, a number, whitespace or "other", and each class has an alternative.
 *
 * @example
 * ```ts
 * gpt2PreTokenize("I'm here  now!"); // ["I", "'m", " here", " ", " now", "!"]
 * ```
 */
export function gpt2PreTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}
