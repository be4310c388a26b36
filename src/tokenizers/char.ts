/**
 * Character-level tokenizer: one id per Unicode code point seen in a training text, as in
 * nanoGPT's Shakespeare example. Saved as a Hugging Face `tokenizer.json` that the `tokenizers`
 * library can load too.
 */

import { SpecialTokenMatcher } from "./special-tokens.js";
import type { Tokenizer } from "./tokenizer.js";
import {
  addedTokenJSON,
  expectField,
  expectObject,
  expectString,
  type HFTokenizerJSON,
  readAddedTokens,
  readVocab,
  TokenizerFormatError,
  TokenizerInputError,
} from "./tokenizer-json.js";

/**
 * The pre-tokenizer regex written to `tokenizer.json`: every code point is its own piece.
 * (`.` would miss newlines in Oniguruma, which Hugging Face tokenizers uses.)
 */
const CHAR_SPLIT_REGEX = "[\\s\\S]";

/**
 * Options for {@link CharTokenizer.fromText}.
 *
 * @example
 * ```ts
 * const opts: CharTokenizerOptions = { specialTokens: ["<|endoftext|>"] };
 * ```
 */
export interface CharTokenizerOptions {
  /** Special tokens, matched verbatim in text, with ids after the characters. Default none. */
  specialTokens?: string[];
}

/**
 * Maps each Unicode code point (not UTF-16 unit: an emoji is one token, a flag is two) to an id.
 * `fromText` numbers the distinct code points of a text in code point order, then the special
 * tokens. Encoding a character outside the vocabulary throws; there is no unknown token.
 *
 * `toJSON()` writes Hugging Face `tokenizer.json` with a `WordLevel` model over the characters,
 * a `Split` pre-tokenizer that isolates every character, and a `Fuse` decoder. (HF's format
 * requires a `unk_token` for `WordLevel`; qkv writes `"<unk>"` and does not use it.)
 *
 * @example
 * ```ts
 * const tok = CharTokenizer.fromText("hello world");
 * tok.vocabSize; // 8: " ", "d", "e", "h", "l", "o", "r", "w"
 * tok.encode("hello"); // [3, 2, 4, 4, 5]
 * tok.decode([7, 5, 6, 4, 1]); // "world"
 * ```
 */
export class CharTokenizer implements Tokenizer {
  readonly type = "char";
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;

  private readonly charIds: ReadonlyMap<string, number>;
  private readonly idToString: (string | undefined)[] = [];
  private readonly matcher: SpecialTokenMatcher;

  /**
   * Build from explicit maps; every key of `chars` must be exactly one code point, and no two
   * entries may share an id. Prefer {@link CharTokenizer.fromText}.
   *
   * @example
   * ```ts
   * const tok = new CharTokenizer(new Map([["a", 0], ["b", 1]]), new Map([["<eot>", 2]]));
   * ```
   */
  constructor(chars: ReadonlyMap<string, number>, specialTokens: ReadonlyMap<string, number> = new Map()) {
    for (const [token, id] of [...chars, ...specialTokens]) {
      if (this.idToString[id] !== undefined) {
        throw new TokenizerFormatError(
          `id ${id} is used by both ${JSON.stringify(this.idToString[id])} and ${JSON.stringify(token)}`,
        );
      }
      this.idToString[id] = token;
    }
    for (const ch of chars.keys()) {
      if ([...ch].length !== 1) {
        throw new TokenizerFormatError(
          `char vocabulary entry ${JSON.stringify(ch)} is not a single code point`,
        );
      }
    }
    this.charIds = new Map(chars);
    this.specialTokens = new Map(specialTokens);
    this.matcher = new SpecialTokenMatcher(this.specialTokens);
    this.vocabSize = this.idToString.length;
  }

  /**
   * Vocabulary = the distinct code points of `text`, sorted by code point, ids from 0; special
   * tokens follow. Special tokens occurring in `text` do not contribute their characters.
   *
   * @example
   * ```ts
   * const tok = CharTokenizer.fromText(shakespeare, { specialTokens: ["<|endoftext|>"] });
   * ```
   */
  static fromText(text: string, options: CharTokenizerOptions = {}): CharTokenizer {
    const specials = options.specialTokens ?? [];
    if (new Set(specials).size !== specials.length) throw new Error("specialTokens contains duplicates");
    const seen = new Set<string>();
    const matcher = new SpecialTokenMatcher(new Map(specials.map((s, i) => [s, i])));
    for (const piece of matcher.split(text)) {
      if (typeof piece === "string") for (const ch of piece) seen.add(ch);
    }
    const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(
      new Map(chars.map((ch, i) => [ch, i])),
      new Map(specials.map((s, i) => [s, chars.length + i])),
    );
  }

  /**
   * Load what {@link CharTokenizer.toJSON} wrote: a `tokenizer.json` object with a `WordLevel`
   * model whose entries are single characters plus the `added_tokens`. Throws
   * {@link TokenizerFormatError} naming the field that is missing or not char-level.
   *
   * @example
   * ```ts
   * const tok = CharTokenizer.fromJSON(JSON.parse(saved));
   * ```
   */
  static fromJSON(json: unknown): CharTokenizer {
    const root = expectObject(json, "tokenizer.json");
    const model = expectObject(expectField(root, "model", ""), "model");
    const type = expectString(expectField(model, "type", "model"), "model.type");
    if (type !== "WordLevel") {
      throw new TokenizerFormatError(
        `model.type is ${JSON.stringify(type)}; CharTokenizer needs "WordLevel"`,
      );
    }
    const vocab = readVocab(expectField(model, "vocab", "model"), "model.vocab");
    const pre = expectObject(expectField(root, "pre_tokenizer", ""), "pre_tokenizer");
    const pattern = pre.pattern as { Regex?: unknown } | undefined;
    if (pre.type !== "Split" || pattern?.Regex !== CHAR_SPLIT_REGEX) {
      throw new TokenizerFormatError(
        `pre_tokenizer must split every character (type "Split", pattern {"Regex": ${JSON.stringify(CHAR_SPLIT_REGEX)}})`,
      );
    }
    if (root.normalizer != null)
      throw new TokenizerFormatError("normalizer must be null for a char tokenizer");

    const specials = new Map<string, number>();
    for (const token of root.added_tokens === undefined ? [] : readAddedTokens(root.added_tokens)) {
      specials.set(token.content, token.id);
    }
    const chars = new Map([...vocab].filter(([token]) => !specials.has(token)));
    return new CharTokenizer(chars, specials);
  }

  /**
   * Encode text; throws if a character is not in the vocabulary, naming it and its index.
   *
   * @example
   * ```ts
   * CharTokenizer.fromText("ab").encode("ba"); // [1, 0]
   * CharTokenizer.fromText("ab").encode("abc"); // throws: unknown character "c" (U+0063) at index 2
   * ```
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    let index = 0; // UTF-16 offset of the current piece in `text`
    for (const piece of this.matcher.split(text)) {
      if (typeof piece === "number") {
        ids.push(piece);
        index += this.idToString[piece]!.length;
        continue;
      }
      for (const ch of piece) {
        const id = this.charIds.get(ch);
        if (id === undefined) {
          const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
          throw new TokenizerInputError(
            `CharTokenizer.encode: unknown character ${JSON.stringify(ch)} (U+${code}) at index ${index}; it was not in the training text`,
            { field: "text" },
          );
        }
        ids.push(id);
        index += ch.length;
      }
    }
    return ids;
  }

  /**
   * Concatenate the characters (and special tokens) of the ids.
   *
   * @example
   * ```ts
   * CharTokenizer.fromText("ab").decode([1, 0, 1]); // "bab"
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    let text = "";
    for (let i = 0; i < ids.length; i++) {
      const token = this.idToString[ids[i]];
      if (token === undefined)
        throw new TokenizerInputError(`decode: id ${ids[i]} (at position ${i}) is not in the vocabulary`, {
          field: `ids[${i}]`,
        });
      text += token;
    }
    return text;
  }

  /**
   * Id of a character or special token, or `undefined`.
   *
   * @example
   * ```ts
   * CharTokenizer.fromText("ab").tokenToId("b"); // 1
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.specialTokens.get(token) ?? this.charIds.get(token);
  }

  /**
   * Character or special token of an id, or `undefined`.
   *
   * @example
   * ```ts
   * CharTokenizer.fromText("ab").idToToken(0); // "a"
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.idToString[id];
  }

  /**
   * Serialize as Hugging Face `tokenizer.json` (see the class description for the layout).
   *
   * @example
   * ```ts
   * const saved = JSON.stringify(tok.toJSON());
   * CharTokenizer.fromJSON(JSON.parse(saved)).encode("hello"); // same ids as tok.encode("hello")
   * ```
   */
  toJSON(): HFTokenizerJSON {
    const vocab: Array<[string, number]> = [...this.charIds, ...this.specialTokens];
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [...this.specialTokens].map(([content, id]) => addedTokenJSON(content, id)),
      normalizer: null,
      pre_tokenizer: {
        type: "Split",
        pattern: { Regex: CHAR_SPLIT_REGEX },
        behavior: "Isolated",
        invert: false,
      },
      post_processor: null,
      decoder: { type: "Fuse" },
      model: {
        type: "WordLevel",
        vocab: Object.fromEntries(vocab.sort((a, b) => a[1] - b[1])),
        unk_token: "<unk>",
      },
    };
  }
}
