/**
 * Byte-level byte-pair encoding as in GPT-2: text is cut by the GPT-2 regex, each chunk is
 * turned into UTF-8 bytes, and learned merges fuse adjacent tokens. Trains, encodes, decodes,
 * and reads/writes Hugging Face `tokenizer.json` and GPT-2 `vocab.json` + `merges.txt`.
 */

import { showValue } from "../util/json.js";
import { learnByteLevelMerges, MAX_TRAIN_VOCAB } from "./bpe-train.js";
import { bytesToUnicode, unicodeToBytes } from "./byte-unicode.js";
import { MinHeap } from "./heap.js";
import { gpt2PreTokenize } from "./pretokenize.js";
import { SpecialTokenMatcher } from "./special-tokens.js";
import type { Tokenizer } from "./tokenizer.js";
import {
  addedTokenJSON,
  expectField,
  expectObject,
  expectString,
  type HFAddedToken,
  type HFBPEModel,
  type HFComponent,
  type HFTokenizerJSON,
  readAddedTokens,
  readVocab,
  TokenizerFormatError,
  TokenizerInputError,
} from "./tokenizer-json.js";

/**
 * Options for {@link ByteLevelBPE.train}.
 *
 * @example
 * ```ts
 * const opts: BPETrainOptions = { vocabSize: 1000, specialTokens: ["<|endoftext|>"], minFrequency: 2 };
 * ```
 */
export interface BPETrainOptions {
  /** Total vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, given ids after the learned tokens in this order. Default none. */
  specialTokens?: string[];
  /** Stop merging once the most frequent pair occurs fewer times than this. Default 1. */
  minFrequency?: number;
}

/**
 * Everything a {@link ByteLevelBPE} is made of. The static constructors build this; use it
 * directly only to assemble a tokenizer by hand.
 *
 * @example
 * ```ts
 * const spec: ByteLevelBPESpec = { vocab, merges: [["Ġ", "t"]], addedTokens: [] };
 * ```
 */
export interface ByteLevelBPESpec {
  /** Model vocabulary: byte-level token string → id. */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order, as pairs of vocabulary strings. */
  merges: ReadonlyArray<readonly [string, string]>;
  /** Added tokens (special or not), matched verbatim in input text. */
  addedTokens: readonly HFAddedToken[];
  /** Prepend a space to each stretch of text that does not start with one. Default false. */
  addPrefixSpace?: boolean;
  /** Cut text with the GPT-2 regex before merging. Default true. */
  useRegex?: boolean;
  /** Use a pre-token's own id, if it is in the vocabulary, without running merges. Default false. */
  ignoreMerges?: boolean;
  /** Token used for a byte that has no token; without one such a byte is an error. Default null. */
  unkToken?: string | null;
  /** Collapse consecutive unknown tokens into one. Default false. */
  fuseUnk?: boolean;
}

/** Pre-token encodings kept before the cache is emptied. */
const CACHE_LIMIT = 50_000;

const utf8 = new TextEncoder();
/** `ignoreBOM: true` keeps a leading U+FEFF in the output instead of swallowing it. */
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

interface MergeCandidate {
  rank: number;
  pos: number;
  left: number;
  right: number;
}

const lowerRankFirst = (a: MergeCandidate, b: MergeCandidate): boolean =>
  a.rank < b.rank || (a.rank === b.rank && a.pos < b.pos);

/**
 * A byte-level BPE tokenizer, compatible with GPT-2 and with Hugging Face tokenizers'
 * `ByteLevel` + `BPE` pipeline.
 *
 * - **Ids.** A trained tokenizer has ids 0–255 for the single bytes (id = byte value), then one
 *   id per learned merge, then the special tokens. Loaded tokenizers keep the file's ids.
 * - **Encoding** cuts out special tokens first (longest match), then applies the GPT-2 regex to
 *   the text between them; each chunk's bytes are merged lowest rank first, leftmost first.
 * - **Decoding** concatenates the tokens' bytes and reads them as UTF-8 (`TextDecoder`, so byte
 *   sequences that are not valid UTF-8, e.g. when decoding half of a character, become U+FFFD).
 *   Special tokens decode to their text.
 * - **Round trip.** `decode(encode(s)) === s` for every well-formed string. A lone surrogate
 *   is not well-formed: UTF-8 cannot carry it, `TextEncoder` writes U+FFFD for it, and so it
 *   comes back as U+FFFD.
 * - **Versus Hugging Face.** Ids match HF tokenizers for the pipelines qkv loads (checked against
 *   fixtures from tokenizers 0.22). Decoding differs in two deliberate ways: special tokens are
 *   never skipped (HF's Python `decode` skips them by default), and an added token always
 *   decodes to its exact text (HF pushes added tokens made only of Latin-1 letters such as
 *   `"wörld"` through the byte table, which garbles them).
 *
 * @example
 * ```ts
 * const tok = ByteLevelBPE.train(text, { vocabSize: 1000, specialTokens: ["<|endoftext|>"] });
 * const ids = tok.encode("Hello world<|endoftext|>");
 * tok.decode(ids); // "Hello world<|endoftext|>"
 * const again = ByteLevelBPE.fromTokenizerJSON(JSON.parse(JSON.stringify(tok.toJSON())));
 * ```
 */
export class ByteLevelBPE implements Tokenizer {
  readonly type = "bpe";
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;

  private readonly vocab: ReadonlyMap<string, number>;
  private readonly idToString: (string | undefined)[];
  private readonly idToBytes: (Uint8Array | undefined)[];
  private readonly byteIds: Int32Array;
  private readonly mergeList: ReadonlyArray<readonly [string, string]>;
  /** pair key `left * vocabSize + right` → merge rank; `mergedIds[rank]` is the result. */
  private readonly mergeRanks = new Map<number, number>();
  private readonly mergedIds: number[] = [];
  private readonly addedTokens: readonly HFAddedToken[];
  private readonly addedIds: ReadonlyMap<string, number>;
  private readonly matcher: SpecialTokenMatcher;
  private readonly addPrefixSpace: boolean;
  private readonly useRegex: boolean;
  private readonly ignoreMerges: boolean;
  private readonly unkToken: string | null;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private cache = new Map<string, number[]>();

  /**
   * Assemble a tokenizer from its parts; throws {@link TokenizerFormatError} if a merge or an
   * added token does not fit the vocabulary. Prefer the static constructors.
   *
   * @example
   * ```ts
   * const tok = new ByteLevelBPE({ vocab: new Map([["a", 0], ["b", 1], ["ab", 2]]), merges: [["a", "b"]], addedTokens: [] });
   * ```
   */
  constructor(spec: ByteLevelBPESpec) {
    this.vocab = new Map(spec.vocab);
    this.addPrefixSpace = spec.addPrefixSpace ?? false;
    this.useRegex = spec.useRegex ?? true;
    this.ignoreMerges = spec.ignoreMerges ?? false;
    this.unkToken = spec.unkToken ?? null;
    this.fuseUnk = spec.fuseUnk ?? false;

    // Id → string and id → bytes, model vocabulary first, then added tokens on top.
    this.idToString = [];
    this.idToBytes = [];
    for (const [token, id] of this.vocab) {
      this.idToString[id] = token;
      this.idToBytes[id] = unicodeToBytes(token) ?? utf8.encode(token);
    }
    const added = new Map<string, number>();
    const special = new Map<string, number>();
    for (const token of spec.addedTokens) {
      const existing = this.idToString[token.id];
      if (existing !== undefined && existing !== token.content) {
        throw new TokenizerFormatError(
          `added token ${JSON.stringify(token.content)} has id ${token.id}, which the vocabulary gives to ${JSON.stringify(existing)}`,
        );
      }
      if (added.has(token.content)) {
        throw new TokenizerFormatError(`added token ${JSON.stringify(token.content)} is listed twice`);
      }
      this.idToString[token.id] = token.content;
      this.idToBytes[token.id] = utf8.encode(token.content);
      added.set(token.content, token.id);
      if (token.special) special.set(token.content, token.id);
    }
    this.addedTokens = [...spec.addedTokens].sort((a, b) => a.id - b.id);
    this.addedIds = added;
    this.specialTokens = special;
    this.matcher = new SpecialTokenMatcher(added);
    this.vocabSize = this.idToString.length;

    this.byteIds = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(bytesToUnicode([b]));
      if (id !== undefined) this.byteIds[b] = id;
    }
    if (this.unkToken === null) {
      this.unkId = -1;
    } else {
      const unkId = this.vocab.get(this.unkToken) ?? added.get(this.unkToken);
      if (unkId === undefined) {
        throw new TokenizerFormatError(`unk_token ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
      }
      this.unkId = unkId;
    }

    this.mergeList = spec.merges.map(([l, r]) => [l, r] as const);
    spec.merges.forEach(([left, right], rank) => {
      const where = `merges[${rank}] (${JSON.stringify(left)} ${JSON.stringify(right)})`;
      const leftId = this.vocab.get(left);
      const rightId = this.vocab.get(right);
      const mergedId = this.vocab.get(left + right);
      if (leftId === undefined)
        throw new TokenizerFormatError(`${where}: ${JSON.stringify(left)} is not in the vocabulary`);
      if (rightId === undefined)
        throw new TokenizerFormatError(`${where}: ${JSON.stringify(right)} is not in the vocabulary`);
      if (mergedId === undefined) {
        throw new TokenizerFormatError(
          `${where}: the merged token ${JSON.stringify(left + right)} is not in the vocabulary`,
        );
      }
      const key = leftId * this.vocabSize + rightId;
      if (!this.mergeRanks.has(key)) this.mergeRanks.set(key, rank);
      this.mergedIds[rank] = mergedId;
    });
  }

  /**
   * Train on `text`: ids 0–255 are the bytes, then merges of the most frequent adjacent pair
   * (counted within GPT-2 pre-tokens, never across them) until the vocabulary holds
   * `vocabSize - specialTokens.length` tokens, then the special tokens. Ties between equally
   * frequent pairs go to the pair with the smaller left id, then the smaller right id, so
   * training is deterministic. Special tokens occurring in `text` are cut out before counting.
   * If the text runs out of pairs first, the vocabulary is smaller than `vocabSize`.
   *
   * @example
   * ```ts
   * const tok = ByteLevelBPE.train("the cat sat on the mat", { vocabSize: 260 });
   * // merges learned: "a"+"t" → 256, "h"+"e" → 257, "t"+"he" → 258, "Ġ"+"c" → 259
   * tok.encode("the mat"); // [258, 32, 109, 256]
   * ```
   */
  static train(text: string, options: BPETrainOptions): ByteLevelBPE {
    const specials = options.specialTokens ?? [];
    const minFrequency = options.minFrequency ?? 1;
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length || vocabSize > MAX_TRAIN_VOCAB) {
      throw new RangeError(
        `vocabSize must be an integer in [${256 + specials.length}, ${MAX_TRAIN_VOCAB}] (256 bytes + ${specials.length} special tokens), got ${vocabSize}`,
      );
    }
    if (new Set(specials).size !== specials.length) throw new Error("specialTokens contains duplicates");

    const matcher = new SpecialTokenMatcher(new Map(specials.map((s, i) => [s, i])));
    const wordCounts = new Map<string, number>();
    for (const piece of matcher.split(text)) {
      if (typeof piece === "number") continue;
      for (const word of gpt2PreTokenize(piece)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
    const { tokens, merges } = learnByteLevelMerges(wordCounts, vocabSize - specials.length, minFrequency);

    const vocab = new Map(tokens.map((t, id) => [t, id]));
    const addedTokens = specials.map((s, i) => addedTokenJSON(s, tokens.length + i));
    return new ByteLevelBPE({
      vocab,
      merges: merges.map(([l, r]) => [tokens[l], tokens[r]] as const),
      addedTokens,
    });
  }

  /**
   * Load a Hugging Face `tokenizer.json` (parsed) whose model is byte-level BPE, such as GPT-2's
   * or one written by {@link ByteLevelBPE.toJSON}. Merges may be `[left, right]` pairs or
   * `"left right"` strings. Throws {@link TokenizerFormatError} naming the field that is missing
   * or that asks for something qkv does not implement (a normalizer, another pre-tokenizer,
   * dropout, a subword prefix, byte fallback, truncation...). Padding settings are ignored.
   *
   * @example
   * ```ts
   * const tok = ByteLevelBPE.fromTokenizerJSON(JSON.parse(fs.readFileSync("tokenizer.json", "utf8")));
   * ```
   */
  static fromTokenizerJSON(json: unknown): ByteLevelBPE {
    const root = expectObject(json, "tokenizer.json");
    const model = expectObject(expectField(root, "model", ""), "model");
    const type = expectString(expectField(model, "type", "model"), "model.type");
    if (type !== "BPE")
      throw new TokenizerFormatError(`model.type is ${JSON.stringify(type)}; ByteLevelBPE needs "BPE"`);
    const vocab = readVocab(expectField(model, "vocab", "model"), "model.vocab");
    const merges = readMerges(expectField(model, "merges", "model"));

    if (model.dropout != null && model.dropout !== 0)
      unsupported("model.dropout", model.dropout, "BPE dropout is not supported");
    for (const field of ["continuing_subword_prefix", "end_of_word_suffix"]) {
      if (model[field] != null && model[field] !== "")
        unsupported(`model.${field}`, model[field], "not used by byte-level BPE");
    }
    if (model.byte_fallback === true)
      unsupported("model.byte_fallback", true, "byte fallback is not supported");
    if (model.unk_token != null) expectString(model.unk_token, "model.unk_token");
    if (root.normalizer != null) unsupported("normalizer", root.normalizer, "normalizers are not supported");
    if (root.truncation != null) unsupported("truncation", root.truncation, "truncation is not supported");

    const pre = root.pre_tokenizer == null ? null : component(root.pre_tokenizer, "pre_tokenizer");
    if (pre === null || pre.type !== "ByteLevel") {
      unsupported(
        "pre_tokenizer",
        root.pre_tokenizer ?? null,
        'ByteLevelBPE needs a "ByteLevel" pre-tokenizer',
      );
    }
    for (const field of ["decoder", "post_processor"]) {
      const part = root[field] == null ? null : component(root[field], field);
      if (part !== null && part.type !== "ByteLevel") {
        unsupported(field, root[field], 'only "ByteLevel" (or null) is supported here');
      }
    }

    return new ByteLevelBPE({
      vocab,
      merges,
      addedTokens: root.added_tokens === undefined ? [] : readAddedTokens(root.added_tokens),
      addPrefixSpace: pre?.add_prefix_space === true,
      useRegex: pre?.use_regex !== false,
      ignoreMerges: model.ignore_merges === true,
      unkToken: (model.unk_token as string | null | undefined) ?? null,
      fuseUnk: model.fuse_unk === true,
    });
  }

  /**
   * Load GPT-2-style `vocab.json` (parsed: token → id) and `merges.txt` (text: an optional
   * `#version` line, then one `left right` merge per line). `specialTokens` names vocabulary
   * entries to match verbatim in input text, e.g. `["<|endoftext|>"]`; by default there are
   * none, so such strings are encoded as ordinary text, as GPT-2's own encoder did.
   *
   * @example
   * ```ts
   * const tok = ByteLevelBPE.fromVocabMerges(JSON.parse(vocabJson), mergesTxt, {
   *   specialTokens: ["<|endoftext|>"],
   * });
   * ```
   */
  static fromVocabMerges(
    vocabJson: Record<string, number>,
    mergesTxt: string,
    options: { specialTokens?: string[] } = {},
  ): ByteLevelBPE {
    const vocab = readVocab(vocabJson, "vocab.json");
    const merges: Array<[string, string]> = [];
    const lines = mergesTxt.split(/\r?\n/);
    lines.forEach((line, i) => {
      if (line === "" || (i === 0 && line.startsWith("#version"))) return;
      const parts = line.split(" ");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        throw new TokenizerFormatError(
          `merges.txt line ${i + 1}: expected two tokens separated by one space, got ${JSON.stringify(line)}`,
        );
      }
      merges.push([parts[0], parts[1]]);
    });
    const addedTokens = (options.specialTokens ?? []).map((s) => {
      const id = vocab.get(s);
      if (id === undefined)
        throw new TokenizerFormatError(`special token ${JSON.stringify(s)} is not in vocab.json`);
      return addedTokenJSON(s, id);
    });
    return new ByteLevelBPE({ vocab, merges, addedTokens });
  }

  /**
   * Encode text to ids. Added/special tokens in `text` become their single id.
   *
   * @example
   * ```ts
   * tok.encode("Hello, world!"); // e.g. [15496, 11, 995, 0] with GPT-2's vocabulary
   * ```
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.matcher.split(text)) {
      if (typeof piece === "number") {
        ids.push(piece);
        continue;
      }
      const segment = this.addPrefixSpace && !piece.startsWith(" ") ? ` ${piece}` : piece;
      const chunks = this.useRegex ? gpt2PreTokenize(segment) : [segment];
      for (const chunk of chunks) {
        for (const id of this.encodeChunk(chunk)) ids.push(id);
      }
    }
    return ids;
  }

  /**
   * Decode ids to text. Special tokens are included (there is no skipping).
   *
   * @example
   * ```ts
   * tok.decode(tok.encode("naïve café ☕")); // "naïve café ☕"
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.idToBytes[ids[i]];
      if (bytes === undefined)
        throw new TokenizerInputError(`decode: id ${ids[i]} (at position ${i}) is not in the vocabulary`, {
          field: `ids[${i}]`,
        });
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const bytes of parts) {
      all.set(bytes, offset);
      offset += bytes.length;
    }
    return utf8Decoder.decode(all);
  }

  /**
   * Id of a vocabulary string (byte-level form, e.g. `"Ġthe"`) or of an added token's text.
   *
   * @example
   * ```ts
   * tok.tokenToId("Ġthe"); // 262 with GPT-2's vocabulary
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.vocab.get(token);
  }

  /**
   * Vocabulary string of an id (byte-level form), or `undefined` for an unused id.
   *
   * @example
   * ```ts
   * tok.idToToken(262); // "Ġthe" with GPT-2's vocabulary
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.idToString[id];
  }

  /**
   * Serialize as a Hugging Face `tokenizer.json` object (merges written as `[left, right]`
   * pairs, the format of tokenizers ≥ 0.20). Special tokens appear in `added_tokens` and in the
   * model vocabulary, as Hugging Face's trainer writes them.
   *
   * @example
   * ```ts
   * const text = JSON.stringify(tok.toJSON());
   * const same = ByteLevelBPE.fromTokenizerJSON(JSON.parse(text));
   * ```
   */
  toJSON(): HFTokenizerJSON {
    const vocab = new Map(this.vocab);
    for (const token of this.addedTokens) if (!vocab.has(token.content)) vocab.set(token.content, token.id);
    const byteLevel = (addPrefixSpace: boolean): HFComponent => ({
      type: "ByteLevel",
      add_prefix_space: addPrefixSpace,
      trim_offsets: true,
      use_regex: true,
    });
    const model: HFBPEModel = {
      type: "BPE",
      dropout: null,
      unk_token: this.unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: this.fuseUnk,
      byte_fallback: false,
      ignore_merges: this.ignoreMerges,
      vocab: Object.fromEntries([...vocab].sort((a, b) => a[1] - b[1])),
      merges: this.mergeList.map(([l, r]): [string, string] => [l, r]),
    };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.addedTokens.map((t) => ({ ...t })),
      normalizer: null,
      pre_tokenizer: { ...byteLevel(this.addPrefixSpace), use_regex: this.useRegex },
      post_processor: byteLevel(true),
      decoder: byteLevel(true),
      model,
    };
  }

  /**
   * Ids of one pre-token, its UTF-8 bytes merged as one word (no special tokens, no GPT-2 split):
   * what a Hugging Face pipeline's BPE model does with a ByteLevel pre-token.
   *
   * @example
   * ```ts
   * tok.encodeWord(" world"); // e.g. [995] with GPT-2's vocabulary
   * ```
   */
  encodeWord(word: string): number[] {
    return this.encodeChunk(word);
  }

  /** Ids for one pre-token (memoized). */
  private encodeChunk(chunk: string): number[] {
    const cached = this.cache.get(chunk);
    if (cached !== undefined) return cached;
    const bytes = utf8.encode(chunk);
    let ids: number[] | undefined;
    if (this.ignoreMerges) {
      const whole = this.vocab.get(bytesToUnicode(bytes));
      if (whole !== undefined) ids = [whole];
    }
    if (ids === undefined) ids = this.mergeSymbols(this.byteSymbols(bytes, chunk));
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(chunk, ids);
    return ids;
  }

  /** The single-byte token of each byte; unknown bytes become the unk token or an error. */
  private byteSymbols(bytes: Uint8Array, chunk: string): number[] {
    const symbols: number[] = [];
    for (const b of bytes) {
      const id = this.byteIds[b];
      if (id >= 0) {
        symbols.push(id);
      } else if (this.unkId >= 0) {
        if (!(this.fuseUnk && symbols[symbols.length - 1] === this.unkId)) symbols.push(this.unkId);
      } else {
        throw new TokenizerInputError(
          `ByteLevelBPE.encode: byte 0x${b.toString(16).padStart(2, "0")} of ${JSON.stringify(chunk)} has no token in the vocabulary and there is no unk_token`,
          { field: "text" },
        );
      }
    }
    return symbols;
  }

  /**
   * Apply merges to a list of token ids: repeatedly fuse the adjacent pair with the lowest merge
   * rank (leftmost first among equal ranks). A heap of candidate pairs over a linked list of
   * symbols keeps this O(n log n) even for very long pre-tokens.
   */
  private mergeSymbols(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap<MergeCandidate>(lowerRankFirst);
    const consider = (pos: number) => {
      const after = next[pos];
      if (pos < 0 || after < 0) return;
      const rank = this.mergeRanks.get(symbols[pos] * this.vocabSize + symbols[after]);
      if (rank !== undefined) heap.push({ rank, pos, left: symbols[pos], right: symbols[after] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);

    const removed = new Uint8Array(n);
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
      const after = next[c.pos];
      // Skip candidates made stale by earlier merges: the pair at `pos` must still be (left, right).
      if (removed[c.pos] || after < 0 || symbols[c.pos] !== c.left || symbols[after] !== c.right) continue;
      symbols[c.pos] = this.mergedIds[c.rank];
      removed[after] = 1;
      next[c.pos] = next[after];
      if (next[after] >= 0) prev[next[after]] = c.pos;
      consider(prev[c.pos]);
      consider(c.pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(symbols[i]);
    return out;
  }
}

/** Read `model.merges` in either Hugging Face form: `[left, right]` pairs or `"left right"` strings. */
function readMerges(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) throw new TokenizerFormatError("model.merges must be an array");
  return value.map((entry, i) => {
    if (typeof entry === "string") {
      const parts = entry.split(" ");
      if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return [parts[0], parts[1]];
    } else if (
      Array.isArray(entry) &&
      entry.length === 2 &&
      typeof entry[0] === "string" &&
      typeof entry[1] === "string"
    ) {
      return [entry[0], entry[1]];
    }
    throw new TokenizerFormatError(
      `model.merges[${i}] must be a "left right" string or a [left, right] pair of strings, got ${showValue(entry)}`,
    );
  });
}

/** Throw for a field whose value asks for something qkv does not implement. */
function unsupported(field: string, value: unknown, why: string): never {
  throw new TokenizerFormatError(`${field} is ${showValue(value)}: ${why}`);
}

/** Check that a pipeline component is an object with a string `type`. */
function component(value: unknown, path: string): HFComponent {
  const obj = expectObject(value, path);
  expectString(expectField(obj, "type", path), `${path}.type`);
  return obj as HFComponent;
}
