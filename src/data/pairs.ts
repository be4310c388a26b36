/**
 * Sequence-to-sequence data: source/target text pairs read from TSV, tokenized, and collated
 * into padded int32 batches with teacher-forcing targets and key-padding masks.
 */

import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { tsvLines } from "./tsv.js";

/**
 * Label value that cross-entropy skips (PyTorch's default `ignore_index`).
 *
 * @example
 * ```ts
 * const padded = labels.map((id) => (id === padId ? IGNORE_INDEX : id));
 * ```
 */
export const IGNORE_INDEX = -100;

/**
 * One example as text.
 *
 * @example
 * ```ts
 * const p: TextPair = { source: "abc", target: "cba" };
 * ```
 */
export interface TextPair {
  source: string;
  target: string;
}

/**
 * One example as token ids (no BOS/EOS; {@link collate} adds them).
 *
 * @example
 * ```ts
 * const p: TokenPair = { source: [3, 4, 5], target: [5, 4, 3] };
 * ```
 */
export interface TokenPair {
  source: ArrayLike<number>;
  target: ArrayLike<number>;
}

/**
 * Special ids for {@link collate}.
 *
 * @example
 * ```ts
 * const ids: CollateOptions = { padId: 0, bosId: 1, eosId: 2 };
 * ```
 */
export interface CollateOptions {
  padId: number;
  bosId: number;
  eosId: number;
}

/**
 * A padded encoder-decoder batch. `src` (B, S), `tgtIn` = BOS + target (B, T), `tgtOut` =
 * target + EOS (B, T) with {@link IGNORE_INDEX} at padding, all int32; the masks are bool and
 * true at padding, as PyTorch's `key_padding_mask`.
 *
 * @example
 * ```ts
 * const { src, tgtIn, tgtOut, srcKeyPaddingMask } = collate(pairs, { padId: 0, bosId: 1, eosId: 2 });
 * ```
 */
export interface Seq2SeqBatch {
  src: Tensor;
  tgtIn: Tensor;
  tgtOut: Tensor;
  srcKeyPaddingMask: Tensor;
  tgtKeyPaddingMask: Tensor;
}

/**
 * Parses tab-separated `source<TAB>target` lines. A trailing `\r` is dropped and blank lines are
 * skipped; any other line must hold exactly one tab with text on both sides, or the error names
 * its 1-based line number (and `name`, when given).
 *
 * @example
 * ```ts
 * parseTsv("abc\tcba\nxy\tyx\n"); // [{ source: "abc", target: "cba" }, { source: "xy", target: "yx" }]
 * parseTsv("no tab here", "pairs.tsv"); // Error: pairs.tsv line 1: expected "source<TAB>target" …
 * ```
 */
export function parseTsv(text: string, name?: string): TextPair[] {
  const where = name ? `${name} line` : "line";
  const pairs: TextPair[] = [];
  for (const { text: line, line: n } of tsvLines(text)) {
    const parts = line.split("\t");
    if (parts.length !== 2) {
      const preview = line.length > 40 ? `${line.slice(0, 40)}…` : line;
      throw new Error(
        `${where} ${n}: expected "source<TAB>target" (exactly one tab), found ${parts.length - 1} tabs in ${JSON.stringify(preview)}`,
      );
    }
    if (parts[0] === "") throw new Error(`${where} ${n}: empty source before the tab`);
    if (parts[1] === "") throw new Error(`${where} ${n}: empty target after the tab`);
    pairs.push({ source: parts[0], target: parts[1] });
  }
  return pairs;
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id)) throw new Error(`collate: ${what} must be an integer, got ${id}`);
}

/**
 * Pads a list of token pairs into one batch. Sources are padded to the longest source (S);
 * targets get BOS prepended for the decoder input and EOS appended for the labels, then are
 * padded to the longest target + 1 (T).
 *
 * @example
 * ```ts
 * const b = collate([{ source: [5, 6, 7], target: [8] }], { padId: 0, bosId: 1, eosId: 2 });
 * b.tgtIn.tolist(); // [[1, 8]]
 * b.tgtOut.tolist(); // [[8, 2]]
 * ```
 */
export function collate(pairs: readonly TokenPair[], opts: CollateOptions): Seq2SeqBatch {
  const { padId, bosId, eosId } = opts;
  checkId("padId", padId);
  checkId("bosId", bosId);
  checkId("eosId", eosId);
  if (pairs.length === 0) throw new Error("collate: no pairs to collate");
  const b = pairs.length;
  let s = 0;
  let t = 0;
  for (const p of pairs) {
    if (p.source.length === 0) throw new Error("collate: a pair has an empty source");
    s = Math.max(s, p.source.length);
    t = Math.max(t, p.target.length + 1);
  }
  const src = new Int32Array(b * s).fill(padId);
  const srcMask = new Uint8Array(b * s).fill(1);
  const tgtIn = new Int32Array(b * t).fill(padId);
  const tgtOut = new Int32Array(b * t).fill(IGNORE_INDEX);
  const tgtMask = new Uint8Array(b * t).fill(1);
  for (let r = 0; r < b; r++) {
    const { source, target } = pairs[r];
    for (let i = 0; i < source.length; i++) {
      src[r * s + i] = source[i];
      srcMask[r * s + i] = 0;
    }
    tgtIn[r * t] = bosId;
    for (let i = 0; i < target.length; i++) {
      tgtIn[r * t + i + 1] = target[i];
      tgtOut[r * t + i] = target[i];
    }
    tgtOut[r * t + target.length] = eosId;
    for (let i = 0; i <= target.length; i++) tgtMask[r * t + i] = 0;
  }
  return {
    src: tensor(src, { shape: [b, s] }),
    tgtIn: tensor(tgtIn, { shape: [b, t] }),
    tgtOut: tensor(tgtOut, { shape: [b, t] }),
    srcKeyPaddingMask: tensor(srcMask, { shape: [b, s], dtype: "bool" }),
    tgtKeyPaddingMask: tensor(tgtMask, { shape: [b, t], dtype: "bool" }),
  };
}

/**
 * Options for {@link PairDataset.batches}.
 *
 * @example
 * ```ts
 * const opts: PairBatchOptions = { shuffle: true, generator: new Generator(0) };
 * ```
 */
export interface PairBatchOptions {
  /** Visit examples in a random order (Fisher–Yates with `generator`). Default false. */
  shuffle?: boolean;
  /** Generator for shuffling. Default: the global default generator. */
  generator?: Generator;
  /** Drop a last batch smaller than `batchSize`. Default false. */
  dropLast?: boolean;
}

/**
 * Tokenized source/target pairs for an encoder-decoder, with random and sequential batching.
 *
 * @example
 * ```ts
 * const tok = CharTokenizer.fromText("abc", { specialTokens: ["<pad>", "<s>", "</s>"] });
 * const ds = PairDataset.fromTsv("abc\tcba\n", tok);
 * const batch = ds.collate([0], { padId: 3, bosId: 4, eosId: 5 });
 * ```
 */
export class PairDataset {
  /**
   * Wraps already tokenized pairs.
   *
   * @example
   * ```ts
   * const ds = new PairDataset([{ source: [1, 2], target: [2, 1] }]);
   * ```
   */
  constructor(readonly pairs: readonly TokenPair[]) {}

  /**
   * Tokenizes text pairs; `targetTokenizer` defaults to the source tokenizer.
   *
   * @example
   * ```ts
   * const ds = PairDataset.fromPairs(reverseTask({ count: 100 }), tok);
   * ```
   */
  static fromPairs(
    pairs: readonly TextPair[],
    sourceTokenizer: Pick<Tokenizer, "encode">,
    targetTokenizer: Pick<Tokenizer, "encode"> = sourceTokenizer,
  ): PairDataset {
    return new PairDataset(
      pairs.map((p) => ({
        source: sourceTokenizer.encode(p.source),
        target: targetTokenizer.encode(p.target),
      })),
    );
  }

  /**
   * Parses TSV text (see {@link parseTsv}) and tokenizes it.
   *
   * @example
   * ```ts
   * const ds = PairDataset.fromTsv(await loadTextSource("pairs.tsv"), tok, tok, "pairs.tsv");
   * ```
   */
  static fromTsv(
    text: string,
    sourceTokenizer: Pick<Tokenizer, "encode">,
    targetTokenizer: Pick<Tokenizer, "encode"> = sourceTokenizer,
    name?: string,
  ): PairDataset {
    return PairDataset.fromPairs(parseTsv(text, name), sourceTokenizer, targetTokenizer);
  }

  /**
   * Number of pairs.
   *
   * @example
   * ```ts
   * ds.length; // 100
   * ```
   */
  get length(): number {
    return this.pairs.length;
  }

  /**
   * Collates the pairs at `indices` (see {@link collate}).
   *
   * @example
   * ```ts
   * const batch = ds.collate([0, 5, 9], { padId: 0, bosId: 1, eosId: 2 });
   * ```
   */
  collate(indices: readonly number[], opts: CollateOptions): Seq2SeqBatch {
    return collate(
      indices.map((i) => {
        const p = this.pairs[i];
        if (p === undefined) throw new Error(`PairDataset: index ${i} out of range for ${this.length} pairs`);
        return p;
      }),
      opts,
    );
  }

  /**
   * A batch of `batchSize` pairs drawn uniformly with replacement.
   *
   * @example
   * ```ts
   * const batch = ds.sampleBatch(32, { padId: 0, bosId: 1, eosId: 2 }, generator);
   * ```
   */
  sampleBatch(
    batchSize: number,
    opts: CollateOptions,
    generator: Generator = defaultGenerator,
  ): Seq2SeqBatch {
    if (this.length === 0) throw new Error("PairDataset: cannot sample from an empty dataset");
    const idx: number[] = [];
    for (let i = 0; i < batchSize; i++) idx.push(generator.randint(0, this.length));
    return this.collate(idx, opts);
  }

  /**
   * One pass over the data in batches of `batchSize`, in order or shuffled.
   *
   * @example
   * ```ts
   * for (const b of ds.batches(32, ids, { shuffle: true, generator })) trainStep(b);
   * ```
   */
  *batches(
    batchSize: number,
    opts: CollateOptions,
    batchOpts: PairBatchOptions = {},
  ): IterableIterator<Seq2SeqBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`PairDataset.batches: batchSize must be a positive integer, got ${batchSize}`);
    }
    const order = Array.from({ length: this.length }, (_, i) => i);
    if (batchOpts.shuffle) {
      const g = batchOpts.generator ?? defaultGenerator;
      for (let i = order.length - 1; i > 0; i--) {
        const j = g.randint(0, i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      if (batchOpts.dropLast && idx.length < batchSize) break;
      yield this.collate(idx, opts);
    }
  }
}
