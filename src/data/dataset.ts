/**
 * Token-id datasets for language modelling: one long stream of ids split into train and
 * validation parts the way nanoGPT's prepare scripts do (first 90% train, last 10% val).
 */

import type { Tokenizer } from "../tokenizers/tokenizer.js";

/**
 * Compact storage for token ids: uint16 when every id fits (vocabulary ≤ 65536), else int32.
 *
 * @example
 * ```ts
 * const ids: TokenIds = toTokenIds(tok.encode(text), tok.vocabSize);
 * ```
 */
export type TokenIds = Uint16Array | Int32Array;

/**
 * The two parts of a {@link TokenDataset}.
 *
 * @example
 * ```ts
 * const split: Split = "val";
 * ```
 */
export type Split = "train" | "val";

/**
 * Options for {@link TokenDataset.fromText} and {@link TokenDataset.fromIds}.
 *
 * @example
 * ```ts
 * const opts: TokenDatasetOptions = { valFraction: 0.05 };
 * ```
 */
export interface TokenDatasetOptions {
  /** Fraction of ids (taken from the end) held out for validation. Default 0.1, as nanoGPT. */
  valFraction?: number;
  /** Vocabulary size: ids must lie in [0, vocabSize). Default: one more than the largest id. */
  vocabSize?: number;
}

/**
 * Copies `ids` into the smallest array type that holds ids below `vocabSize`, checking every id.
 *
 * @example
 * ```ts
 * toTokenIds([1, 2, 3], 50257); // Uint16Array [1, 2, 3]
 * toTokenIds([70000], 100000); // Int32Array [70000]
 * ```
 */
export function toTokenIds(ids: ArrayLike<number>, vocabSize?: number): TokenIds {
  let max = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new Error(`token id at position ${i} is ${id}; ids must be non-negative 32-bit integers`);
    }
    if (vocabSize !== undefined && id >= vocabSize) {
      throw new Error(`token id ${id} at position ${i} is outside the vocabulary of size ${vocabSize}`);
    }
    if (id > max) max = id;
  }
  const limit = vocabSize ?? max + 1;
  const out = limit <= 0x10000 ? new Uint16Array(ids.length) : new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = ids[i];
  return out;
}

/**
 * A tokenized corpus split into `train` and `val` id streams.
 *
 * @example
 * ```ts
 * const tok = CharTokenizer.fromText(text);
 * const ds = TokenDataset.fromText(text, tok); // 90% / 10%
 * ds.train.length + ds.val.length === tok.encode(text).length; // true
 * ```
 */
export class TokenDataset {
  /**
   * Wraps existing id arrays (not copied). Prefer {@link TokenDataset.fromText}.
   *
   * @example
   * ```ts
   * const ds = new TokenDataset(new Uint16Array([1, 2, 3]), new Uint16Array([4, 5]), 6);
   * ```
   */
  constructor(
    /** Training ids: the first part of the stream. */
    readonly train: TokenIds,
    /** Validation ids: the last part of the stream. */
    readonly val: TokenIds,
    /** Vocabulary size the ids were checked against. */
    readonly vocabSize: number,
  ) {}

  /**
   * Splits one id stream: the first `floor(n · (1 − valFraction))` ids train, the rest validate,
   * exactly as nanoGPT's `data[:int(n*0.9)]` / `data[int(n*0.9):]`.
   *
   * @example
   * ```ts
   * const ds = TokenDataset.fromIds([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
   * ds.train.length; // 9
   * ds.val; // Uint16Array [9]
   * ```
   */
  static fromIds(ids: ArrayLike<number>, opts: TokenDatasetOptions = {}): TokenDataset {
    const valFraction = opts.valFraction ?? 0.1;
    if (!(valFraction >= 0 && valFraction <= 1)) {
      throw new Error(`TokenDataset: valFraction must be in [0, 1], got ${valFraction}`);
    }
    const all = toTokenIds(ids, opts.vocabSize);
    let vocabSize = opts.vocabSize;
    if (vocabSize === undefined) {
      vocabSize = 0;
      for (let i = 0; i < all.length; i++) if (all[i] >= vocabSize) vocabSize = all[i] + 1;
    }
    const cut = Math.floor(all.length * (1 - valFraction));
    return new TokenDataset(all.subarray(0, cut), all.subarray(cut), vocabSize);
  }

  /**
   * Encodes `text` with `tokenizer` and splits the ids (see {@link TokenDataset.fromIds}).
   * For a character tokenizer this equals splitting the text at 90% of its characters.
   *
   * @example
   * ```ts
   * const ds = TokenDataset.fromText("hello world", CharTokenizer.fromText("hello world"));
   * ```
   */
  static fromText(
    text: string,
    tokenizer: Pick<Tokenizer, "encode" | "vocabSize">,
    opts: Omit<TokenDatasetOptions, "vocabSize"> = {},
  ): TokenDataset {
    return TokenDataset.fromIds(tokenizer.encode(text), { ...opts, vocabSize: tokenizer.vocabSize });
  }

  /**
   * The ids of one split.
   *
   * @example
   * ```ts
   * ds.split("val") === ds.val; // true
   * ```
   */
  split(name: Split): TokenIds {
    if (name === "train") return this.train;
    if (name === "val") return this.val;
    throw new Error(`TokenDataset: unknown split ${JSON.stringify(name)} (expected "train" or "val")`);
  }
}
