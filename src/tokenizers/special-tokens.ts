/**
 * Finding special (added) tokens such as `<|endoftext|>` in raw text, so that they become one
 * id each instead of being split by the ordinary tokenizer.
 */

/**
 * Splits text around occurrences of a fixed set of token strings. At any position the longest
 * token that matches wins, and the scan goes left to right, so `<a><ab>` style overlaps are
 * resolved the same way Hugging Face's added-token matcher resolves them.
 *
 * @example
 * ```ts
 * const m = new SpecialTokenMatcher(new Map([["<|eot|>", 9]]));
 * m.split("hi<|eot|>yo"); // ["hi", 9, "yo"]
 * ```
 */
export class SpecialTokenMatcher {
  private readonly pattern: RegExp | null;
  private readonly ids: ReadonlyMap<string, number>;

  constructor(tokens: ReadonlyMap<string, number>) {
    this.ids = tokens;
    for (const content of tokens.keys()) {
      if (content === "") throw new Error("special tokens must be non-empty strings");
    }
    // Longest first, so that regex alternation (which takes the first alternative that matches)
    // picks the longest token at a given position.
    const sorted = [...tokens.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
    this.pattern = sorted.length === 0 ? null : new RegExp(sorted.map(escapeRegExp).join("|"), "gu");
  }

  /**
   * Cut `text` into ordinary text pieces (strings, never empty) and special token ids
   * (numbers), in order.
   *
   * @example
   * ```ts
   * new SpecialTokenMatcher(new Map([["<s>", 0]])).split("<s>a"); // [0, "a"]
   * ```
   */
  split(text: string): Array<string | number> {
    if (this.pattern === null) return text === "" ? [] : [text];
    const pieces: Array<string | number> = [];
    let last = 0;
    for (const match of text.matchAll(this.pattern)) {
      const start = match.index;
      if (start > last) pieces.push(text.slice(last, start));
      pieces.push(this.ids.get(match[0])!);
      last = start + match[0].length;
    }
    if (last < text.length) pieces.push(text.slice(last));
    return pieces;
  }
}

/** Escape the characters that are syntax in a unicode-mode regular expression. */
function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
