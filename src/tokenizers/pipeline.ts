/**
 * A Hugging Face tokenizer.json pipeline run as HF tokenizers runs it: added tokens cut out,
 * normalizer, pre-tokenizer, model (WordPiece, Unigram or byte-level BPE), truncation,
 * post-processor (special tokens, type ids), padding; and decoding through the file's decoder.
 * Spec: https://huggingface.co/docs/tokenizers/pipeline
 */

import { type Decoder, decoderFromJSON } from "./decoders.js";
import { modelFromJSON, type PipelineModel } from "./models.js";
import { component, type Normalizer, normalizerFromJSON } from "./normalizers.js";
import {
  type Encoding,
  type PostProcessor,
  plainEncoding,
  postProcessorFromJSON,
} from "./post-processors.js";
import { type Piece, type PreTokenizer, preTokenizerFromJSON } from "./pre-tokenizers.js";
import type { Tokenizer } from "./tokenizer.js";
import {
  expectField,
  expectId,
  expectObject,
  type HFAddedToken,
  type HFTokenizerJSON,
  readAddedTokens,
  TokenizerFormatError,
  TokenizerInputError,
} from "./tokenizer-json.js";
import { BERT_CLASSES } from "./unicode.js";

export type { Encoding } from "./post-processors.js";

/**
 * Padding, as HF's `enable_padding` / tokenizer.json's `padding` section. `length: null` pads a
 * batch to its longest member (HF's BatchLongest); a number pads to that fixed length.
 *
 * @example
 * ```ts
 * tok.padding = { direction: "right", padId: 0, padTypeId: 0, padToken: "[PAD]", length: null, padToMultipleOf: 8 };
 * ```
 */
export interface PaddingOptions {
  direction: "left" | "right";
  padId: number;
  padTypeId: number;
  padToken: string;
  length: number | null;
  padToMultipleOf: number | null;
}

/**
 * Truncation, as HF's `enable_truncation` / tokenizer.json's `truncation` section (no stride:
 * overflowing pieces are dropped). `maxLength` counts the special tokens the post-processor adds.
 *
 * @example
 * ```ts
 * tok.truncation = { maxLength: 128, strategy: "longest_first", direction: "right" };
 * ```
 */
export interface TruncationOptions {
  maxLength: number;
  strategy: "longest_first" | "only_first" | "only_second";
  direction: "left" | "right";
}

/**
 * Options of {@link HFTokenizer.encode}.
 *
 * @example
 * ```ts
 * tok.encode("question?", { pair: "context.", addSpecialTokens: true });
 * ```
 */
export interface EncodeOptions {
  /** A second sequence: the pair is encoded as HF's `encode(a, b)` does. */
  pair?: string;
  /** Add the post-processor's special tokens. Default true, as in HF. */
  addSpecialTokens?: boolean;
}

interface AddedEntry extends HFAddedToken {
  /** What to look for: the content, or for `normalized` tokens the normalized content. */
  pattern: string;
}

/** Thrown when truncation cannot satisfy its settings (HF's TruncationError). */
export class TruncationError extends TokenizerFormatError {
  constructor(message: string) {
    super(message, { field: "truncation" });
    this.name = "TruncationError";
  }
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Cut `text` around added tokens (HF's leftmost-longest match with lstrip/rstrip/single_word). */
function splitAdded(
  text: string,
  re: RegExp | null,
  byPattern: Map<string, AddedEntry>,
): Array<{ text: string; start: number } | AddedEntry> {
  if (re === null || text === "") return text === "" ? [] : [{ text, start: 0 }];
  const out: Array<{ text: string; start: number } | AddedEntry> = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    const token = byPattern.get(m[0])!;
    let start = m.index;
    let stop = start + m[0].length;
    if (token.single_word) {
      const before =
        start === 0
          ? ""
          : String.fromCodePoint(text.codePointAt(start - 1 - (isLowSurrogate(text, start - 1) ? 1 : 0))!);
      const after = stop >= text.length ? "" : String.fromCodePoint(text.codePointAt(stop)!);
      if ((before !== "" && WORD_CHAR.test(before)) || (after !== "" && WORD_CHAR.test(after))) continue;
    }
    if (token.lstrip) {
      let s = start;
      while (s > last && BERT_CLASSES.whitespace.has(text.charCodeAt(s - 1))) s--;
      start = s;
    }
    if (token.rstrip) {
      while (stop < text.length && BERT_CLASSES.whitespace.has(text.charCodeAt(stop))) stop++;
    }
    if (start < last) continue; // overlaps a stripped neighbour
    if (start > last) out.push({ text: text.slice(last, start), start: last });
    out.push(token);
    last = stop;
  }
  if (last < text.length) out.push({ text: text.slice(last), start: last });
  return out;
}

function isLowSurrogate(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff && i > 0;
}

function matcher(patterns: string[]): RegExp | null {
  if (patterns.length === 0) return null;
  const sorted = [...new Set(patterns)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map((s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")).join("|"), "gu");
}

function readPadding(value: unknown): PaddingOptions | null {
  if (value == null) return null;
  const p = expectObject(value, "padding");
  const strategy = p.strategy ?? "BatchLongest";
  let length: number | null = null;
  if (strategy !== "BatchLongest") {
    const fixed = expectObject(strategy, "padding.strategy");
    length = expectId(expectField(fixed, "Fixed", "padding.strategy"), "padding.strategy.Fixed");
  }
  const direction = p.direction === "Left" ? "left" : "right";
  return {
    direction,
    padId: expectId(p.pad_id ?? 0, "padding.pad_id"),
    padTypeId: expectId(p.pad_type_id ?? 0, "padding.pad_type_id"),
    padToken: typeof p.pad_token === "string" ? p.pad_token : "[PAD]",
    length,
    padToMultipleOf:
      p.pad_to_multiple_of == null ? null : expectId(p.pad_to_multiple_of, "padding.pad_to_multiple_of"),
  };
}

function readTruncation(value: unknown): TruncationOptions | null {
  if (value == null) return null;
  const t = expectObject(value, "truncation");
  const strategies = {
    LongestFirst: "longest_first",
    OnlyFirst: "only_first",
    OnlySecond: "only_second",
  } as const;
  const s = t.strategy ?? "LongestFirst";
  if (typeof s !== "string" || !(s in strategies))
    throw new TokenizerFormatError(
      `truncation.strategy ${JSON.stringify(s)} is not LongestFirst, OnlyFirst or OnlySecond`,
    );
  if (t.stride != null && t.stride !== 0)
    throw new TokenizerFormatError("truncation.stride is not supported (overflowing tokens are dropped)", {
      field: "truncation.stride",
    });
  return {
    maxLength: expectId(expectField(t, "max_length", "truncation"), "truncation.max_length"),
    strategy: strategies[s as keyof typeof strategies],
    direction: t.direction === "Left" ? "left" : "right",
  };
}

function truncateTo(e: Encoding, n: number, direction: "left" | "right"): void {
  if (e.ids.length <= n) return;
  const cut = <T>(xs: T[]) => (direction === "right" ? xs.slice(0, n) : xs.slice(xs.length - n));
  e.ids = cut(e.ids);
  e.typeIds = cut(e.typeIds);
  e.specialTokensMask = cut(e.specialTokensMask);
  e.attentionMask = cut(e.attentionMask);
}

function pad(e: Encoding, length: number, p: PaddingOptions): Encoding {
  const n = length - e.ids.length;
  if (n <= 0) return e;
  const fill = (v: number) => new Array<number>(n).fill(v);
  const join = (xs: number[], v: number) =>
    p.direction === "right" ? [...xs, ...fill(v)] : [...fill(v), ...xs];
  return {
    ids: join(e.ids, p.padId),
    typeIds: join(e.typeIds, p.padTypeId),
    specialTokensMask: join(e.specialTokensMask, 1),
    attentionMask: join(e.attentionMask, 0),
  };
}

function roundUp(n: number, multiple: number | null): number {
  return multiple !== null && multiple > 0 && n % multiple !== 0 ? n + multiple - (n % multiple) : n;
}

/**
 * A tokenizer.json pipeline with Hugging Face tokenizers' semantics. `encode(text)` returns
 * HF's `Tokenizer.encode(text).ids` (special tokens added, the file's truncation and padding
 * applied); `encode(a, { pair: b })` the pair encoding; `decode(ids)` HF's `decode(ids)`, which
 * skips special tokens unless `{ skipSpecialTokens: false }`. Loads WordPiece (BERT), Unigram
 * (T5, ALBERT, XLM-R) and byte-level BPE (GPT-2, RoBERTa, BART) files.
 *
 * @example
 * ```ts
 * const tok = HFTokenizer.fromJSON(JSON.parse(bertTokenizerJson));
 * tok.encode("Hello, world!"); // [101, 7592, 1010, 2088, 999, 102] with bert-base-uncased
 * const { ids, typeIds } = tok.encodeFull("Is it?", { pair: "It is." });
 * tok.decode(ids); // "is it? it is."
 * ```
 */
export class HFTokenizer implements Tokenizer {
  readonly type: string;
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Padding applied by encode / encodeBatch (null: none). Starts as the file's `padding`. */
  padding: PaddingOptions | null;
  /** Truncation applied by encode / encodeBatch (null: none). Starts as the file's `truncation`. */
  truncation: TruncationOptions | null;

  private readonly json: Record<string, unknown>;
  private readonly model: PipelineModel;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly postProcessor: PostProcessor;
  private readonly decoder: Decoder;
  private readonly added: AddedEntry[];
  private readonly addedById = new Map<number, AddedEntry>();
  private readonly addedByContent = new Map<string, AddedEntry>();
  private readonly addedByPattern = new Map<string, AddedEntry>();
  private readonly rawTokens: Map<string, AddedEntry>;
  private readonly normTokens: Map<string, AddedEntry>;
  private readonly rawRe: RegExp | null;
  private readonly normRe: RegExp | null;

  private constructor(json: Record<string, unknown>) {
    this.json = json;
    this.model = modelFromJSON(json, expectField(json, "model", ""));
    this.type = this.model.kind;
    this.normalizer =
      json.normalizer == null
        ? null
        : normalizerFromJSON(component(json.normalizer, "normalizer"), "normalizer");
    this.preTokenizer =
      json.pre_tokenizer == null
        ? null
        : preTokenizerFromJSON(component(json.pre_tokenizer, "pre_tokenizer"), "pre_tokenizer");
    if (this.model.kind === "bpe") {
      const pre = json.pre_tokenizer as Record<string, unknown> | null;
      const isByteLevel = (p: unknown): boolean => {
        const c = p as Record<string, unknown> | null;
        return (
          c != null &&
          (c.type === "ByteLevel" ||
            (c.type === "Sequence" && Array.isArray(c.pretokenizers) && c.pretokenizers.some(isByteLevel)))
        );
      };
      if (!isByteLevel(pre))
        throw new TokenizerFormatError(
          'pre_tokenizer: a BPE model needs a "ByteLevel" pre-tokenizer (qkv runs byte-level BPE only)',
          { field: "pre_tokenizer" },
        );
    }
    this.postProcessor = postProcessorFromJSON(
      json.post_processor == null ? null : component(json.post_processor, "post_processor"),
      "post_processor",
    );
    this.decoder = decoderFromJSON(
      json.decoder == null ? null : component(json.decoder, "decoder"),
      "decoder",
    );
    this.padding = readPadding(json.padding);
    this.truncation = readTruncation(json.truncation);

    const addedTokens =
      json.added_tokens === undefined ? [] : readAddedTokens(json.added_tokens, { allowStrip: true });
    this.added = addedTokens.map((t) => ({
      ...t,
      pattern: t.normalized && this.normalizer !== null ? this.normalizer(t.content) : t.content,
    }));
    const special = new Map<string, number>();
    let maxId = this.model.size - 1;
    for (const t of this.added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      this.addedByPattern.set(t.pattern, t);
      if (t.special) special.set(t.content, t.id);
      maxId = Math.max(maxId, t.id);
    }
    this.specialTokens = special;
    this.vocabSize = maxId + 1;
    const raw = this.added.filter((t) => !t.normalized || this.normalizer === null);
    const norm = this.added.filter((t) => t.normalized && this.normalizer !== null && t.pattern !== "");
    this.rawTokens = new Map(raw.map((t) => [t.pattern, t]));
    this.normTokens = new Map(norm.map((t) => [t.pattern, t]));
    this.rawRe = matcher(raw.map((t) => t.pattern));
    this.normRe = matcher(norm.map((t) => t.pattern));
  }

  /**
   * Load a parsed (or string) tokenizer.json. Throws {@link TokenizerFormatError} naming the
   * field for anything qkv does not implement.
   *
   * @example
   * ```ts
   * const tok = HFTokenizer.fromJSON(readFileSync("tokenizer.json", "utf8"));
   * ```
   */
  static fromJSON(json: unknown): HFTokenizer {
    if (typeof json === "string") {
      try {
        json = JSON.parse(json);
      } catch (e) {
        throw new TokenizerFormatError(`tokenizer.json is not valid JSON: ${(e as Error).message}`);
      }
    }
    return new HFTokenizer(structuredClone(expectObject(json, "tokenizer.json")));
  }

  /** Model ids of one sequence, before post-processing. */
  private encodeSequence(text: string, typeId: number): Encoding {
    const ids: number[] = [];
    const specialMask: number[] = [];
    for (const part of splitAdded(text, this.rawRe, this.rawTokens)) {
      if ("id" in part) {
        ids.push(part.id);
        specialMask.push(0);
        continue;
      }
      const normalized = this.normalizer === null ? part.text : this.normalizer(part.text);
      for (const sub of splitAdded(normalized, this.normRe, this.normTokens)) {
        if ("id" in sub) {
          ids.push(sub.id);
          specialMask.push(0);
          continue;
        }
        const first = part.start === 0 && sub.start === 0;
        const pieces: Piece[] =
          this.preTokenizer === null
            ? [{ text: sub.text, first }]
            : this.preTokenizer([{ text: sub.text, first }]);
        for (const piece of pieces) {
          if (piece.text === "") continue;
          for (const id of this.model.tokenize(piece.text)) {
            ids.push(id);
            specialMask.push(0);
          }
        }
      }
    }
    const e = plainEncoding(ids, typeId);
    e.specialTokensMask = specialMask;
    return e;
  }

  /** HF's post_process: truncate (leaving room for special tokens), add them, pad one sequence. */
  private postProcess(a: Encoding, b: Encoding | null, addSpecialTokens: boolean): Encoding {
    const t = this.truncation;
    if (t !== null) {
      const nAdded = addSpecialTokens ? this.postProcessor.addedTokens(b !== null) : 0;
      if (t.maxLength < nAdded)
        throw new TruncationError(
          `truncation.max_length ${t.maxLength} leaves no room beside the ${nAdded} special tokens`,
        );
      const max = t.maxLength - nAdded;
      const total = a.ids.length + (b?.ids.length ?? 0);
      if (total > max) {
        const toRemove = total - max;
        if (t.strategy === "longest_first") {
          if (b === null) {
            truncateTo(a, max, t.direction);
          } else {
            let n1 = a.ids.length;
            let n2 = b.ids.length;
            const swap = n1 > n2;
            if (swap) [n1, n2] = [n2, n1];
            n2 = n1 > max ? n1 : Math.max(n1, max - n1);
            if (n1 + n2 > max) {
              n1 = Math.floor(max / 2);
              n2 = n1 + (max % 2);
            }
            if (swap) [n1, n2] = [n2, n1];
            truncateTo(a, n1, t.direction);
            truncateTo(b, n2, t.direction);
          }
        } else {
          const target = t.strategy === "only_first" ? a : b;
          if (target === null) throw new TruncationError("truncation strategy only_second needs a pair");
          if (target.ids.length <= toRemove)
            throw new TruncationError(
              `truncation (${t.strategy}): the sequence to truncate is too short for max_length ${t.maxLength}`,
            );
          truncateTo(target, target.ids.length - toRemove, t.direction);
        }
      }
    }
    let out = this.postProcessor.process(a, b, addSpecialTokens);
    const p = this.padding;
    if (p !== null) out = pad(out, roundUp(p.length ?? out.ids.length, p.padToMultipleOf), p);
    return out;
  }

  /**
   * Encode text (and optionally its pair) to ids, as HF's `Tokenizer.encode(...).ids`.
   *
   * @example
   * ```ts
   * tok.encode("hello"); // [101, 7592, 102] with a BERT tokenizer
   * ```
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeFull(text, options).ids;
  }

  /**
   * Encode with every per-token field: ids, type ids, special-token mask and attention mask.
   *
   * @example
   * ```ts
   * tok.encodeFull("a", { pair: "b" }).typeIds; // [0, 0, 0, 1, 1] with a BERT tokenizer
   * ```
   */
  encodeFull(text: string, options: EncodeOptions = {}): Encoding {
    if (typeof text !== "string") throw new TypeError(`encode: text must be a string, got ${typeof text}`);
    const a = this.encodeSequence(text, 0);
    const b = options.pair === undefined ? null : this.encodeSequence(options.pair, 1);
    return this.postProcess(a, b, options.addSpecialTokens ?? true);
  }

  /**
   * Encode a batch (strings, or `[a, b]` pairs) as HF's `encode_batch`: each one encoded and
   * truncated, then all padded to the longest (or to the fixed length) when padding is set.
   *
   * @example
   * ```ts
   * tok.padding = { direction: "right", padId: 0, padTypeId: 0, padToken: "[PAD]", length: null, padToMultipleOf: null };
   * const batch = tok.encodeBatch(["short", ["a question", "and its context"]]);
   * batch.map((e) => e.attentionMask);
   * ```
   */
  encodeBatch(
    inputs: ReadonlyArray<string | readonly [string, string]>,
    options: { addSpecialTokens?: boolean } = {},
  ): Encoding[] {
    const out = inputs.map((x) =>
      typeof x === "string" ? this.encodeFull(x, options) : this.encodeFull(x[0], { ...options, pair: x[1] }),
    );
    const p = this.padding;
    if (p !== null && p.length === null) {
      const longest = roundUp(Math.max(0, ...out.map((e) => e.ids.length)), p.padToMultipleOf);
      return out.map((e) => pad(e, longest, p));
    }
    return out;
  }

  /**
   * Decode ids to text through the file's decoder, as HF's `decode(ids)`. Special tokens are
   * skipped unless `skipSpecialTokens: false`. Throws on an id outside the vocabulary (HF drops it).
   *
   * @example
   * ```ts
   * tok.decode(tok.encode("Hello there")); // "hello there" with an uncased BERT tokenizer
   * ```
   */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.idToToken(id);
      if (token === undefined)
        throw new TokenizerInputError(`decode: id ${id} (at position ${i}) is not in the vocabulary`, {
          field: `ids[${i}]`,
        });
      if (skip && this.addedById.get(id)?.special === true) continue;
      tokens.push(token);
    }
    return this.decoder(tokens).join("");
  }

  /**
   * Id of a token string (added tokens first, then the model's vocabulary).
   *
   * @example
   * ```ts
   * tok.tokenToId("[CLS]"); // 101 with bert-base-uncased
   * ```
   */
  tokenToId(token: string): number | undefined {
    return (
      this.addedByContent.get(token)?.id ?? this.addedByPattern.get(token)?.id ?? this.model.tokenToId(token)
    );
  }

  /**
   * Token string of an id.
   *
   * @example
   * ```ts
   * tok.idToToken(101); // "[CLS]" with bert-base-uncased
   * ```
   */
  idToToken(id: number): string | undefined {
    // A `normalized` added token is known by its normalized content, as in HF.
    return this.addedById.get(id)?.pattern ?? this.model.idToToken(id);
  }

  /**
   * The tokenizer.json it was loaded from, with the current padding and truncation settings.
   *
   * @example
   * ```ts
   * const same = HFTokenizer.fromJSON(JSON.stringify(tok.toJSON()));
   * ```
   */
  toJSON(): HFTokenizerJSON {
    const json = structuredClone(this.json) as unknown as HFTokenizerJSON;
    const p = this.padding;
    json.padding =
      p === null
        ? null
        : {
            strategy: p.length === null ? "BatchLongest" : { Fixed: p.length },
            direction: p.direction === "left" ? "Left" : "Right",
            pad_to_multiple_of: p.padToMultipleOf,
            pad_id: p.padId,
            pad_type_id: p.padTypeId,
            pad_token: p.padToken,
          };
    const t = this.truncation;
    const names = {
      longest_first: "LongestFirst",
      only_first: "OnlyFirst",
      only_second: "OnlySecond",
    } as const;
    json.truncation =
      t === null
        ? null
        : {
            direction: t.direction === "left" ? "Left" : "Right",
            max_length: t.maxLength,
            strategy: names[t.strategy],
            stride: 0,
          };
    return json;
  }
}
